//! The static side of a policy set: manifest grants and imported operations checked against
//! every rule, then the waivers. A finding points at what breaks the rule (the manifest entry,
//! or the import in the binary) and, as a secondary label, at the rule in its policy file.
//!
//! Waivers are applied last. An active waiver that matches a finding marks it waived; an expired one
//! waives nothing and is itself a finding (`expired-waiver`); one that matched nothing of a
//! component it applies to is a finding too (`unused-waiver`), pointing at its table.

use std::ops::Range;

use super::eval::{host_overlaps, path_within, paths_overlap, port_allowed};
use super::rules as rule;
use super::{Date, FsDeny, Policy, PolicySet, RuleRef, Waiver, WaiverTarget};
use crate::analyze::{ImportedFunction, Mapping};
use crate::diagnostics::{Diagnostic, SourceId};
use crate::manifest::{ComponentInfo, Entry, Manifest};
use crate::policy::{FsGrant, HostPattern, NetAction, PathPattern, ProcGrant};

/// A policy finding before waivers, with the operation it is about (for operation waivers).
#[derive(Clone, Debug)]
pub struct Finding {
    pub diagnostic: Diagnostic,
    pub operation: Option<String>,
}

/// Which waivers of a set matched a finding during a run, and which applied to a component
/// the run checked (one flag each per waiver, in set order).
#[derive(Clone, Debug)]
pub struct WaiverUse {
    used: Vec<bool>,
    applicable: Vec<bool>,
}

/// Codes a waiver may name: the findings of policy rules about a component, and the analyzer's
/// findings an organisation may accept for one component for a while (an unused grant kept for
/// the next release, a risky operation under review, an import outside the catalogue that a
/// custom host provides). Findings that must be fixed (an invalid binary, an undeclared
/// permission: declare it instead) are not waivable.
pub const WAIVABLE: &[&str] = &[
    "POL003", "POL004", "POL005", "POL006", "POL007", "POL008", "POL009", "POL010", "POL011", "POL012", "POL013",
    "CMP003", "CMP004", "CMP006", "CMP010", "WIT002", "WIT005",
];

impl PolicySet {
    fn waivers(&self) -> impl Iterator<Item = &Waiver> {
        self.policies.iter().flat_map(|p| p.waivers.iter())
    }

    /// A fresh record of waiver use for one run.
    pub fn waiver_use(&self) -> WaiverUse {
        let n = self.waivers().count();
        WaiverUse {
            used: vec![false; n],
            applicable: vec![false; n],
        }
    }

    /// Grant and hygiene findings for a manifest, before waivers.
    pub fn manifest_findings(&self, m: &Manifest) -> Vec<Finding> {
        let mut out = Vec::new();
        self.fs_findings(m, &mut out);
        self.net_findings(m, &mut out);
        self.proc_findings(m, &mut out);
        self.hygiene_findings(m, &mut out);
        out.into_iter()
            .map(|diagnostic| Finding {
                diagnostic,
                operation: None,
            })
            .collect()
    }

    fn fs_findings(&self, m: &Manifest, out: &mut Vec<Diagnostic>) {
        for p in &self.policies {
            for e in &m.filesystem {
                let (action, pattern) = (e.grant.action, &e.grant.pattern);
                for d in overlapped_denials(p, &e.grant) {
                    let grant = format!("{} {pattern}", action.as_str());
                    let denied = d.pattern.to_string();
                    out.push(rule::denied_path(m, e.value_span.clone(), &grant, &denied, &d.at));
                }
                if let Some((roots, at)) = roots_left(p, pattern) {
                    let list = roots.iter().map(|r| format!("`{r}`")).collect::<Vec<_>>().join(", ");
                    let pattern = pattern.to_string();
                    out.push(rule::grant_outside_roots(m, e.value_span.clone(), &pattern, &list, at));
                }
            }
        }
    }

    /// Whether the policies would let a manifest hold this filesystem grant: it overlaps no
    /// path a rule denies for its action and stays within the roots (what [`Self::check_manifest`]
    /// would otherwise report about it).
    pub fn permits_fs_grant(&self, grant: &FsGrant) -> bool {
        self.policies
            .iter()
            .all(|p| overlapped_denials(p, grant).next().is_none() && roots_left(p, &grant.pattern).is_none())
    }

    fn net_findings(&self, m: &Manifest, out: &mut Vec<Diagnostic>) {
        for p in &self.policies {
            for e in &m.network {
                let g = &e.grant;
                let what = g
                    .host
                    .as_ref()
                    .map_or_else(|| "any host".to_string(), |h| format!("`{h}`"));
                for d in p.net_deny.iter().filter(|d| d.actions.contains(&g.action)) {
                    if host_overlaps(g.host.as_ref(), &d.target) {
                        let denied = d.target.to_string();
                        let span = e.value_span.clone();
                        out.push(rule::denied_host(m, span, g.action.as_str(), &what, &denied, &d.at));
                    }
                }
                if let Some(at) = &p.forbid_any_host
                    && g.host == Some(HostPattern::Any)
                {
                    out.push(rule::any_host_forbidden(m, e.value_span.clone(), g.action.as_str(), at));
                }
                if let (Some((ports, at)), Some(port)) = (&p.ports, g.port)
                    && g.action != NetAction::Resolve
                    && !port_allowed(ports, port)
                {
                    out.push(rule::port_not_allowed(m, entry_port_span(e), port, at));
                }
            }
        }
    }

    fn proc_findings(&self, m: &Manifest, out: &mut Vec<Diagnostic>) {
        for p in &self.policies {
            for e in &m.process {
                match &e.grant {
                    ProcGrant::Spawn { executable } => {
                        if let Some(at) = &p.forbid_spawn {
                            out.push(rule::spawn_forbidden(m, e.value_span.clone(), executable, at));
                        }
                        for (_, at) in p.deny_executables.iter().filter(|(x, _)| x == executable) {
                            out.push(rule::denied_executable(m, e.value_span.clone(), executable, at));
                        }
                    }
                    ProcGrant::Signal { signal } => {
                        if let Some((allowed, at)) = &p.signals
                            && !allowed.contains(signal)
                        {
                            let signal = signal.to_string();
                            out.push(rule::signal_not_allowed(m, e.value_span.clone(), &signal, at));
                        }
                    }
                }
            }
        }
    }

    fn hygiene_findings(&self, m: &Manifest, out: &mut Vec<Diagnostic>) {
        let c = &m.component;
        for p in &self.policies {
            for (field, at) in &p.require {
                let present = match *field {
                    "description" => c.description.is_some(),
                    "author" => c.author.is_some(),
                    "license" => c.license.is_some(),
                    "repository" => c.repository.is_some(),
                    _ => c.version.is_some(),
                };
                if !present {
                    out.push(rule::missing_policy_field(m, field, at));
                }
            }
            if let Some((max, at)) = &p.max_grants {
                let n = m.filesystem.len() + m.network.len() + m.process.len();
                if n > *max {
                    let span = m.spans.permissions.clone().unwrap_or(0..0);
                    out.push(rule::too_many_grants(m, span, n, *max, at));
                }
            }
        }
    }

    /// Forbidden-operation findings for a component's imports, before waivers.
    pub fn import_findings(&self, imports: &[ImportedFunction], binary: SourceId) -> Vec<Finding> {
        let mut out = Vec::new();
        for f in imports {
            let Mapping::Catalogue { operation } = &f.source else {
                continue;
            };
            for p in &self.policies {
                for (forbidden, at) in &p.forbid_operations {
                    if operation_matches(forbidden, operation) {
                        out.push(Finding {
                            diagnostic: rule::forbidden_operation(binary, f, operation, at),
                            operation: Some(operation.clone()),
                        });
                    }
                }
            }
        }
        out
    }

    /// Findings for a component whose kind a policy's `[components] kinds` does not accept,
    /// before waivers: `WIT005` when the policy accepts only airssys components, else `CMP010`.
    pub fn kind_findings(&self, kind: crate::analyze::ComponentKind, binary: SourceId) -> Vec<Finding> {
        self.policies
            .iter()
            .filter_map(|p| p.kinds.as_ref())
            .filter_map(|(kinds, at)| {
                crate::analyze::kind_finding(kind, kinds, &format!("{} (line {})", at.file, at.line), binary)
                    .map(|d| d.also(at.source, at.span.clone(), format!("the kinds {} accepts", at.file)))
            })
            .map(|diagnostic| Finding {
                diagnostic,
                operation: None,
            })
            .collect()
    }

    /// Marks the findings that an active waiver for this component names as waived (with the
    /// waiver's reason and place), recording use. Waived findings stay in the output so that
    /// reviewers see what was accepted, but count towards no exit code.
    pub fn waive(
        &self,
        component: &ComponentInfo,
        findings: Vec<Finding>,
        today: Date,
        used: &mut WaiverUse,
    ) -> Vec<crate::diagnostics::Diagnostic> {
        for (i, w) in self.waivers().enumerate() {
            if applies(w, component) {
                used.applicable[i] = true;
            }
        }
        let mut out = Vec::new();
        for f in findings {
            let hit = self
                .waivers()
                .enumerate()
                .find(|(_, w)| w.expires >= today && applies(w, component) && names(w, &f));
            let mut d = f.diagnostic;
            if let Some((i, w)) = hit {
                used.used[i] = true;
                d.waived = Some(waived_by(w));
            }
            out.push(d);
        }
        out
    }

    /// Expired waivers, and (unexpired) waivers that matched nothing: a warning when the run
    /// checked a component they apply to, a note when it did not (such a waiver is not stale,
    /// only out of this run's sight). Operation waivers are only reported unused when imports
    /// were checked.
    pub fn waiver_findings(&self, used: &WaiverUse, today: Date, imports_checked: bool) -> Vec<Diagnostic> {
        let mut out = Vec::new();
        for ((w, used), applicable) in self.waivers().zip(&used.used).zip(&used.applicable) {
            if w.expires < today {
                out.push(rule::expired_waiver(w));
            } else if !used && (imports_checked || matches!(w.target, WaiverTarget::Code(_))) {
                out.push(if *applicable {
                    rule::unused_waiver(w)
                } else {
                    rule::waiver_out_of_sight(w)
                });
            }
        }
        out
    }

    /// Every policy finding about one manifest, waivers applied, plus the waiver findings.
    pub fn check_manifest(&self, m: &Manifest, today: Date) -> Vec<Diagnostic> {
        let mut used = self.waiver_use();
        let mut out = self.waive(&m.component, self.manifest_findings(m), today, &mut used);
        out.extend(self.waiver_findings(&used, today, false));
        out
    }

    /// [`PolicySet::check_manifest`] plus the forbidden imports of the component.
    pub fn check_imports(
        &self,
        m: &Manifest,
        imports: &[ImportedFunction],
        binary: SourceId,
        today: Date,
    ) -> Vec<Diagnostic> {
        let mut used = self.waiver_use();
        let mut findings = self.manifest_findings(m);
        findings.extend(self.import_findings(imports, binary));
        let mut out = self.waive(&m.component, findings, today, &mut used);
        out.extend(self.waiver_findings(&used, today, true));
        out
    }
}

/// The span of a network grant's port value when written, else the whole entry.
/// The path denials of `p` for the grant's action that its pattern overlaps.
fn overlapped_denials<'p>(p: &'p Policy, grant: &FsGrant) -> impl Iterator<Item = &'p FsDeny> {
    p.fs_deny
        .iter()
        .filter(move |d| d.actions.contains(&grant.action) && paths_overlap(&grant.pattern, &d.pattern))
}

/// `p`'s roots with their rule, when `pattern` leaves every one of them.
fn roots_left<'p>(p: &'p Policy, pattern: &PathPattern) -> Option<&'p (Vec<PathPattern>, RuleRef)> {
    p.fs_roots
        .as_ref()
        .filter(|(roots, _)| !roots.iter().any(|root| path_within(root, pattern)))
}

fn entry_port_span<G>(e: &Entry<G>) -> Range<usize> {
    e.span.clone()
}

fn waived_by(w: &Waiver) -> crate::diagnostics::Waived {
    crate::diagnostics::Waived {
        reason: w.reason.clone(),
        expires: w.expires.to_string(),
        at: crate::diagnostics::Label {
            source: w.at.source,
            span: w.at.span.clone(),
            message: "waived here".to_string(),
        },
        file: w.at.file.clone(),
        line: w.at.line,
    }
}

fn operation_matches(rule: &str, operation: &str) -> bool {
    match rule.strip_suffix('*') {
        Some(prefix) => operation.starts_with(prefix),
        None => rule == operation,
    }
}

fn applies(w: &Waiver, c: &ComponentInfo) -> bool {
    w.component == c.name
        && match (&w.version, &c.version) {
            (None, _) => true,
            (Some(req), Some(v)) => req.matches(v),
            (Some(_), None) => false,
        }
}

fn names(w: &Waiver, f: &Finding) -> bool {
    match &w.target {
        WaiverTarget::Code(rule) => rule.code == f.diagnostic.rule.code,
        WaiverTarget::Operation(op) => f.operation.as_deref().is_some_and(|o| operation_matches(op, o)),
    }
}
