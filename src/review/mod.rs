//! `airssys-wasm report`: one review of many components, for a security reviewer. For each
//! component: what it can reach (its grants as paths with their actions, hosts and ports,
//! executables, signals), how risky each grant is and why, which imported operations use it,
//! the policies' verdict on it, and the component's findings with their explanations and
//! waivers; for the batch, counts and the riskiest grants.
//!
//! Nothing here decides what `check` decides: the batch is [`check::check`] with
//! [`check::Options::keep`] (which hands back the parsed manifests and classified imports), the
//! operations are [`diff::Capabilities`]', the grants an import could use are
//! [`analyze::grant_users`]', breadth is the `overly-broad-grant` rule's, and the explanations
//! come from the rule registry. This module groups and ranks; [`html`] and [`markdown`] render,
//! and [`Document`] is the JSON document (docs/json-output.md).

pub mod html;
pub mod markdown;

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::analyze::{self, ComponentKind, ImportedFunction};
use crate::catalogue::Catalogue;
use crate::check::{self, Origin};
use crate::diagnostics::{Counts, Diagnostic, Levels, Severity, Sources, count};
use crate::diff::Capabilities;
use crate::manifest::Manifest;
use crate::orgpolicy::{Date, PolicySet};
use crate::policy::{Action, FsAction, GrantRef, NetAction, ProcAction, ProcGrant};
use crate::report::json::{JsonDiagnostic, SCHEMA_VERSION, Tool};

/// How many grants the summary ranks as the riskiest.
pub const RISKIEST: usize = 10;

/// What `report` was given: components (files as given, directories searched as `check`
/// searches them) and manifests given alone (`.toml` files, reviewed without a component).
#[derive(Clone, Debug, Default)]
pub struct Inputs {
    pub components: Vec<PathBuf>,
    pub manifests: Vec<PathBuf>,
}

impl Inputs {
    /// Splits the command line's paths. A path that does not exist is the error naming it.
    pub fn discover(paths: &[PathBuf]) -> crate::Result<Self> {
        let (manifests, others): (Vec<PathBuf>, Vec<PathBuf>) = paths
            .iter()
            .cloned()
            .partition(|p| p.extension().is_some_and(|e| e == "toml") && !p.is_dir());
        for m in &manifests {
            std::fs::metadata(m).map_err(|e| crate::Error::read(m, e))?;
        }
        Ok(Inputs {
            components: check::discover(&others)?,
            manifests,
        })
    }

    pub fn is_empty(&self) -> bool {
        self.components.is_empty() && self.manifests.is_empty()
    }
}

/// How to review.
#[derive(Clone, Debug)]
pub struct Options<'a> {
    /// One manifest for every component (`--manifest`).
    pub manifest: Option<PathBuf>,
    pub policies: &'a PolicySet,
    /// The day waivers are judged against.
    pub today: Date,
    /// Severity levels (the policies' `[levels]`).
    pub levels: Levels,
}

/// How much harm a grant can do; ordered from least to most.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Risk {
    #[default]
    Low,
    Medium,
    High,
}

impl Risk {
    pub fn as_str(self) -> &'static str {
        match self {
            Risk::Low => "low",
            Risk::Medium => "medium",
            Risk::High => "high",
        }
    }
}

/// A component's verdict: what `check` would make of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// At least one error-level finding in force: `check` fails.
    Fail,
    /// Warnings, no error.
    Warn,
    Pass,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Fail => "fail",
            Verdict::Warn => "warn",
            Verdict::Pass => "pass",
        }
    }
}

/// What the policies make of a grant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PolicyVerdict {
    /// No policy finding points at it.
    Allowed,
    /// A policy finding in force points at it: `check` fails and the runtime refuses what
    /// the policy denies.
    Denied,
    /// Every policy finding about it is waived.
    Waived,
}

/// How risky a resource is: the highest risk of the grants that name it, and whether a policy
/// denies one of them.
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct Mark {
    pub risk: Risk,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub denied: bool,
}

impl Mark {
    fn raise(&mut self, g: &GrantReview) {
        self.risk = self.risk.max(g.risk);
        self.denied |= g.policy == PolicyVerdict::Denied;
    }
}

/// A path the grants name, with the actions granted on it.
#[derive(Clone, Debug, Serialize)]
pub struct PathReach {
    pub path: String,
    pub actions: Vec<&'static str>,
    #[serde(flatten)]
    pub mark: Mark,
}

/// A host (or any address, for `bind`/`listen` without one), with what may be done with it.
#[derive(Clone, Debug, Serialize)]
pub struct HostReach {
    /// The host pattern (`api.example.com`, `*.example.com`, `**`); absent: any address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// `resolve`, `connect 443`, `bind 8080`, `connect any port`.
    pub access: Vec<String>,
    #[serde(flatten)]
    pub mark: Mark,
}

/// An executable or a signal the grants name.
#[derive(Clone, Debug, Serialize)]
pub struct NamedReach {
    pub name: String,
    #[serde(flatten)]
    pub mark: Mark,
}

/// What a component can reach: its manifest's grants, by resource.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Reach {
    pub paths: Vec<PathReach>,
    pub hosts: Vec<HostReach>,
    pub executables: Vec<NamedReach>,
    pub signals: Vec<NamedReach>,
}

/// One grant of the manifest, reviewed.
#[derive(Clone, Debug, Serialize)]
pub struct GrantReview {
    /// `filesystem`, `network` or `process`.
    pub domain: &'static str,
    /// The grant as findings name it (``read `/data/**` ``).
    pub grant: String,
    /// Its 1-based line in the manifest.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    pub risk: Risk,
    /// Why it has that risk, and what else a reviewer should know about it.
    pub why: Vec<String>,
    /// The imported operations that could use it (absent when the imports are not known: a
    /// manifest reviewed alone, an invalid component).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub used_by: Option<Vec<String>>,
    pub policy: PolicyVerdict,
    /// The codes of the findings that point at it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub findings: Vec<&'static str>,
}

/// An imported operation that needs a permission, with what it needs.
#[derive(Clone, Debug, Serialize)]
pub struct OperationNeed {
    pub operation: String,
    pub requires: String,
}

/// One component (or manifest reviewed alone): what it is, what it can reach, its verdict.
#[derive(Clone, Debug, Serialize)]
pub struct Reviewed {
    /// The manifest's component name, else the file's stem.
    pub name: String,
    /// The component file, or the manifest for a manifest reviewed alone.
    pub file: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub manifest: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Absent when the file is not valid WebAssembly, or for a manifest alone.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<ComponentKind>,
    /// The file's size in bytes, as stored.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// The file's SHA-256, `sha256:` and 64 hexadecimal digits.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    pub verdict: Verdict,
    pub counts: Counts,
    pub reach: Reach,
    pub grants: Vec<GrantReview>,
    /// The imported operations that need a permission (absent when the imports are not known).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub operations: Option<Vec<OperationNeed>>,
}

/// A grant among the riskiest of the batch.
#[derive(Clone, Debug, Serialize)]
pub struct RiskyGrant {
    /// The component's position in `components`.
    pub component: usize,
    pub name: String,
    pub grant: String,
    pub risk: Risk,
    pub why: Vec<String>,
}

/// The batch in numbers.
#[derive(Clone, Debug, Serialize)]
pub struct Summary {
    pub components: usize,
    /// Components by verdict.
    pub failing: usize,
    pub warning: usize,
    pub passing: usize,
    /// Components by kind (`airssys`, `wasi-command`, ...; those without a kind are not counted).
    pub kinds: std::collections::BTreeMap<&'static str, usize>,
    /// Grants by risk.
    pub grants: GrantCounts,
    /// Every finding in force once (a finding about a manifest shared by several components
    /// counts once), by severity, and the waived ones.
    pub findings: Counts,
    /// At most [`RISKIEST`] grants of risk `high` or `medium`, riskiest first.
    pub riskiest: Vec<RiskyGrant>,
}

#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct GrantCounts {
    pub high: usize,
    pub medium: usize,
    pub low: usize,
}

/// A review: the components, their findings, the batch's own findings and the summary.
#[derive(Debug)]
pub struct Review {
    /// The files the findings point into.
    pub sources: Sources,
    /// The policy files in force, as named.
    pub policies: Vec<String>,
    pub components: Vec<Reviewed>,
    /// Each component's findings (levels applied, sorted), in the order of `components`.
    pub findings: Vec<Vec<Diagnostic>>,
    /// Findings about the batch as a whole (waivers expired or unused).
    pub batch: Vec<Diagnostic>,
    pub summary: Summary,
}

/// Reviews the inputs: `check` of the batch (with the policies, whose files are in
/// `sources`), then each component's reach, grants and findings.
///
/// # Errors
/// An input cannot be read.
pub fn review(
    catalogue: &Catalogue,
    inputs: &Inputs,
    options: &Options<'_>,
    sources: Sources,
) -> crate::Result<Review> {
    let check_options = check::Options {
        manifest: options.manifest.clone(),
        policies: Some((options.policies, options.today)),
        keep: true,
        manifests: inputs.manifests.clone(),
        ..check::Options::default()
    };
    let report = check::check_with_progress(catalogue, &inputs.components, &check_options, sources, None)?;
    let subjects = subjects(&report, &inputs.manifests);
    let (mut by_component, by_manifest, batch) = split(&report, &options.levels);
    let mut all: Vec<Diagnostic> = batch.clone();
    all.extend(by_component.iter().flatten().cloned());
    all.extend(by_manifest.iter().flatten().cloned());
    let mut components = Vec::with_capacity(subjects.len());
    let mut findings = Vec::with_capacity(subjects.len());
    for s in &subjects {
        let mut found: Vec<Diagnostic> = s.manifest.map(|j| by_manifest[j].clone()).unwrap_or_default();
        if let Some(i) = s.component {
            found.append(&mut by_component[i]);
        }
        crate::diagnostics::sort(&mut found, &report.sources);
        components.push(reviewed(&report, s, &found));
        findings.push(found);
    }
    let summary = summarise(&components, count(&all));
    Ok(Review {
        policies: options.policies.policies.iter().map(|p| p.name.clone()).collect(),
        sources: report.sources,
        components,
        findings,
        batch,
        summary,
    })
}

/// One row of the review: a component (with its manifest, when it has one), or a manifest
/// given alone.
struct Subject {
    file: PathBuf,
    component: Option<usize>,
    manifest: Option<usize>,
}

/// The components in the order checked, then the manifests given alone that are no
/// component's manifest.
fn subjects(report: &check::Report, alone: &[PathBuf]) -> Vec<Subject> {
    let mut out: Vec<Subject> = (report.components.iter().zip(&report.manifest_of))
        .enumerate()
        .map(|(i, (c, m))| Subject {
            file: c.clone(),
            component: Some(i),
            manifest: *m,
        })
        .collect();
    let same = |a: &Path, b: &Path| a == b || std::fs::canonicalize(a).ok() == std::fs::canonicalize(b).ok();
    for path in alone {
        let used = report
            .manifest_of
            .iter()
            .flatten()
            .any(|&j| same(&report.manifests[j], path));
        let listed = out.iter().any(|s| s.component.is_none() && same(&s.file, path));
        if !used && !listed {
            out.push(Subject {
                file: path.clone(),
                component: None,
                manifest: report.manifests.iter().position(|m| m == path),
            });
        }
    }
    out
}

/// The batch's findings with `levels` applied, by where they came from: each component's,
/// each manifest's, and the batch's own.
#[allow(clippy::type_complexity, reason = "three lists, named where they are used")]
fn split(report: &check::Report, levels: &Levels) -> (Vec<Vec<Diagnostic>>, Vec<Vec<Diagnostic>>, Vec<Diagnostic>) {
    let mut by_component = vec![Vec::new(); report.components.len()];
    let mut by_manifest = vec![Vec::new(); report.manifests.len()];
    let mut batch = Vec::new();
    for (d, origin) in report.diagnostics.iter().zip(&report.origins) {
        let Some(severity) = levels.apply(d.rule, d.severity) else {
            continue;
        };
        let d = Diagnostic { severity, ..d.clone() };
        match origin {
            Origin::Component(i) => by_component[*i].push(d),
            Origin::Manifest(j) => by_manifest[*j].push(d),
            Origin::Batch => batch.push(d),
        }
    }
    (by_component, by_manifest, batch)
}

/// One subject reviewed.
fn reviewed(report: &check::Report, s: &Subject, findings: &[Diagnostic]) -> Reviewed {
    let manifest = s.manifest.and_then(|j| report.parsed_manifests.get(j)?.as_deref());
    let loaded = s.component.map(|i| &report.loaded[i]);
    let imports = loaded.and_then(|l| l.imports.as_deref());
    let grants = manifest.map_or_else(Vec::new, |m| review_grants(m, imports, findings, &report.sources));
    let counts = count(findings);
    Reviewed {
        name: manifest
            .map(|m| m.component.name.clone())
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| stem(&s.file)),
        file: s.file.display().to_string(),
        manifest: s.manifest.map(|j| report.manifests[j].display().to_string()),
        version: manifest.and_then(|m| Some(m.component.version.as_ref()?.to_string())),
        kind: s.component.and_then(|i| report.kinds[i]),
        size: loaded.and_then(|l| l.file).map(|(size, _)| size),
        digest: loaded.and_then(|l| l.file).map(|(_, digest)| format!("{digest:?}")),
        verdict: verdict(counts),
        counts,
        reach: manifest.map_or_else(Reach::default, |m| reach(m, &grants)),
        operations: imports.map(|f| operations(manifest, f)),
        grants,
    }
}

fn stem(path: &Path) -> String {
    path.file_stem()
        .map_or_else(|| path.display().to_string(), |s| s.to_string_lossy().into_owned())
}

fn verdict(c: Counts) -> Verdict {
    if c.errors > 0 {
        Verdict::Fail
    } else if c.warnings > 0 {
        Verdict::Warn
    } else {
        Verdict::Pass
    }
}

/// The imported operations that need a permission, as `diff` sees them.
fn operations(manifest: Option<&Manifest>, imports: &[ImportedFunction]) -> Vec<OperationNeed> {
    Capabilities::new(manifest, Some(imports))
        .operations
        .into_iter()
        .filter(|(_, requires)| requires != "none")
        .map(|(operation, requires)| OperationNeed { operation, requires })
        .collect()
}

/// Each grant of the manifest with its risk, users, policy verdict and findings.
fn review_grants(
    m: &Manifest,
    imports: Option<&[ImportedFunction]>,
    findings: &[Diagnostic],
    sources: &Sources,
) -> Vec<GrantReview> {
    let users = imports.map(|f| analyze::grant_users(f, m));
    m.grant_refs()
        .enumerate()
        .map(|(i, g)| {
            let span = m.span_of(g).unwrap_or(0..0);
            let about: Vec<&Diagnostic> = findings.iter().filter(|d| points_at(d, m, &span)).collect();
            let (risk, why) = assess(m, g, &about);
            let mut codes: Vec<&'static str> = about.iter().map(|d| d.rule.code).collect();
            codes.sort_unstable();
            codes.dedup();
            GrantReview {
                domain: g.domain.as_str(),
                grant: m.describe(g),
                line: sources
                    .try_get(m.source)
                    .and_then(|f| f.line_col(span.start))
                    .map(|(l, _)| l),
                risk,
                why,
                used_by: users.as_ref().map(|u| {
                    let mut ops: Vec<String> = u[i].iter().map(|f| analyze::operation_label(f)).collect();
                    ops.dedup();
                    ops
                }),
                policy: policy_verdict(&about),
                findings: codes,
            }
        })
        .collect()
}

/// Whether a finding's place is within a grant's entry of the manifest.
fn points_at(d: &Diagnostic, m: &Manifest, entry: &std::ops::Range<usize>) -> bool {
    d.primary
        .as_ref()
        .is_some_and(|l| l.source == m.source && entry.start <= l.span.start && l.span.end <= entry.end)
}

fn is_policy(d: &Diagnostic) -> bool {
    d.rule.code.starts_with("POL")
}

fn policy_verdict(about: &[&Diagnostic]) -> PolicyVerdict {
    let policy: Vec<&&Diagnostic> = about.iter().filter(|d| is_policy(d)).collect();
    if policy
        .iter()
        .any(|d| d.waived.is_none() && d.severity == Severity::Error)
    {
        PolicyVerdict::Denied
    } else if !policy.is_empty() && policy.iter().all(|d| d.waived.is_some()) {
        PolicyVerdict::Waived
    } else {
        PolicyVerdict::Allowed
    }
}

/// A grant's risk and the reasons for it (docs/report.md, "Risk"):
/// - high: a policy denies it; it spawns a shell or interpreter; or it is overly broad and
///   writes, deletes, connects, binds, listens or spawns;
/// - medium: overly broad otherwise; or it writes, deletes, binds, listens or spawns;
/// - low: the rest (reads and metadata of narrow paths, resolving and connecting to named
///   hosts, signals to the component's own children).
fn assess(m: &Manifest, g: GrantRef, about: &[&Diagnostic]) -> (Risk, Vec<String>) {
    let action = m.action_of(g);
    let mut risk = Risk::Low;
    let mut why = Vec::new();
    let mut raise = |to: Risk, reason: String| {
        risk = risk.max(to);
        why.push(reason);
    };
    let acts = matches!(
        action,
        Action::Fs(FsAction::Write | FsAction::Delete)
            | Action::Net(NetAction::Connect | NetAction::Bind | NetAction::Listen)
            | Action::Proc(ProcAction::Spawn)
    );
    if let Some(reason) = m.overly_broad(g) {
        raise(
            if acts { Risk::High } else { Risk::Medium },
            format!("overly broad: {reason}"),
        );
    }
    let shell = g.domain == crate::policy::Domain::Process
        && matches!(&m.process[g.index].grant, ProcGrant::Spawn { executable } if analyze::is_shell(executable));
    if shell {
        raise(
            Risk::High,
            "a shell or interpreter runs whatever it is given".to_string(),
        );
    }
    if let Some(what) = action_risk(action) {
        raise(Risk::Medium, what.to_string());
    }
    let denials: Vec<&Diagnostic> = about
        .iter()
        .copied()
        .filter(|d| d.waived.is_none() && is_policy(d) && d.severity == Severity::Error)
        .collect();
    if let Some(first) = denials.first() {
        risk = Risk::High;
        why.push(denied_by_policy(first, denials.len() - 1));
    }
    for d in about {
        match &d.waived {
            Some(w) => why.push(format!("{} waived until {}: {}", d.rule.code, w.expires, w.reason)),
            None if d.rule.code == "CMP003" => why.push("no imported operation uses it".to_string()),
            None => {}
        }
    }
    (risk, why)
}

/// `denied by policy (POL003): ... (and 10 more)`: a broad grant can break one rule many times.
fn denied_by_policy(first: &Diagnostic, more: usize) -> String {
    let mut reason = format!("denied by policy ({}): {}", first.rule.code, first.message);
    if more > 0 {
        reason.push_str(&format!(" (and {more} more)"));
    }
    reason
}

/// What an action lets a component do that deserves a second look, if anything.
fn action_risk(action: Action) -> Option<&'static str> {
    match action {
        Action::Fs(FsAction::Write) => Some("it can change files"),
        Action::Fs(FsAction::Delete) => Some("it can delete files"),
        Action::Net(NetAction::Bind | NetAction::Listen) => Some("it accepts connections from the network"),
        Action::Proc(ProcAction::Spawn) => Some("it starts programs on the host"),
        _ => None,
    }
}

/// The grants by resource, in manifest order of first appearance; each resource marked with its
/// riskiest grant's risk, and denied when a policy denies one of its grants.
fn reach(m: &Manifest, grants: &[GrantReview]) -> Reach {
    use crate::policy::Domain;
    let mut r = Reach::default();
    for (g, review) in m.grant_refs().zip(grants) {
        match g.domain {
            Domain::Filesystem => {
                let grant = &m.filesystem[g.index].grant;
                let path = grant.pattern.to_string();
                let e = entry(
                    &mut r.paths,
                    |p| p.path == path,
                    || PathReach {
                        path: path.clone(),
                        actions: Vec::new(),
                        mark: Mark::default(),
                    },
                );
                add(&mut e.actions, grant.action.as_str());
                e.mark.raise(review);
            }
            Domain::Network => {
                let grant = &m.network[g.index].grant;
                let host = grant.host.as_ref().map(|h| h.to_string());
                let e = entry(
                    &mut r.hosts,
                    |h| h.host == host,
                    || HostReach {
                        host: host.clone(),
                        access: Vec::new(),
                        mark: Mark::default(),
                    },
                );
                add(&mut e.access, access(grant));
                e.mark.raise(review);
            }
            Domain::Process => {
                let (list, name) = match &m.process[g.index].grant {
                    ProcGrant::Spawn { executable } => (&mut r.executables, executable.clone()),
                    ProcGrant::Signal { signal } => (&mut r.signals, signal.as_str().to_string()),
                };
                let e = entry(
                    list,
                    |n| n.name == name,
                    || NamedReach {
                        name: name.clone(),
                        mark: Mark::default(),
                    },
                );
                e.mark.raise(review);
            }
        }
    }
    r
}

/// The item of `list` that `found` picks, or `new()` added at its end.
fn entry<T>(list: &mut Vec<T>, found: impl Fn(&T) -> bool, new: impl FnOnce() -> T) -> &mut T {
    match list.iter().position(found) {
        Some(i) => &mut list[i],
        None => {
            list.push(new());
            list.last_mut().expect("just pushed")
        }
    }
}

fn add<T: PartialEq>(list: &mut Vec<T>, item: T) {
    if !list.contains(&item) {
        list.push(item);
    }
}

/// What a network grant allows with its host: `resolve`, `connect 443`, `bind any port`.
fn access(g: &crate::policy::NetGrant) -> String {
    match (g.action, g.port) {
        (NetAction::Resolve, _) => "resolve".to_string(),
        (action, Some(port)) => format!("{} {port}", action.as_str()),
        (action, None) => format!("{} any port", action.as_str()),
    }
}

fn summarise(components: &[Reviewed], findings: Counts) -> Summary {
    let by = |v: Verdict| components.iter().filter(|c| c.verdict == v).count();
    let mut kinds = std::collections::BTreeMap::new();
    for k in components.iter().filter_map(|c| c.kind) {
        *kinds.entry(k.as_str()).or_insert(0) += 1;
    }
    let mut grants = GrantCounts::default();
    let mut ranked = Vec::new();
    for (i, c) in components.iter().enumerate() {
        for g in &c.grants {
            *match g.risk {
                Risk::High => &mut grants.high,
                Risk::Medium => &mut grants.medium,
                Risk::Low => &mut grants.low,
            } += 1;
            if g.risk > Risk::Low {
                ranked.push(RiskyGrant {
                    component: i,
                    name: c.name.clone(),
                    grant: g.grant.clone(),
                    risk: g.risk,
                    why: g.why.clone(),
                });
            }
        }
    }
    // Riskiest first; among equals, the grant with more reasons, then in report order.
    ranked.sort_by_key(|g| (std::cmp::Reverse(g.risk), std::cmp::Reverse(g.why.len()), g.component));
    ranked.truncate(RISKIEST);
    Summary {
        components: components.len(),
        failing: by(Verdict::Fail),
        warning: by(Verdict::Warn),
        passing: by(Verdict::Pass),
        kinds,
        grants,
        findings,
        riskiest: ranked,
    }
}

/// The JSON document of `report --format json` (docs/json-output.md), which the HTML and
/// Markdown renderers read too.
#[derive(Debug, Serialize)]
pub struct Document<'a> {
    pub version: u32,
    pub tool: Tool,
    pub policies: &'a [String],
    pub summary: &'a Summary,
    pub components: Vec<ComponentDoc<'a>>,
    /// Findings about the batch as a whole (omitted when none).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub batch: Vec<FindingDoc<'a>>,
}

#[derive(Debug, Serialize)]
pub struct ComponentDoc<'a> {
    #[serde(flatten)]
    pub component: &'a Reviewed,
    pub findings: Vec<FindingDoc<'a>>,
}

/// A finding as every JSON report shows it, with its rule's explanation.
#[derive(Debug, Serialize)]
pub struct FindingDoc<'a> {
    #[serde(flatten)]
    pub diagnostic: JsonDiagnostic<'a>,
    /// What the rule finds and why it matters (`explain CODE`'s first part).
    pub explanation: &'static str,
    /// How to fix it, from the rule's documentation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<&'static str>,
}

impl<'a> FindingDoc<'a> {
    fn new(d: &'a Diagnostic, sources: &'a Sources) -> Self {
        FindingDoc {
            diagnostic: JsonDiagnostic::new(d, sources),
            explanation: d.rule.why(),
            fix: d.rule.how_to_fix(),
        }
    }
}

impl Review {
    /// The review as its JSON document.
    pub fn document(&self) -> Document<'_> {
        let findings = |list| finding_docs(list, &self.sources);
        Document {
            version: SCHEMA_VERSION,
            tool: Tool::this(),
            policies: &self.policies,
            summary: &self.summary,
            components: self
                .components
                .iter()
                .zip(&self.findings)
                .map(|(component, f)| ComponentDoc {
                    component,
                    findings: findings(f),
                })
                .collect(),
            batch: findings(&self.batch),
        }
    }
}

fn finding_docs<'a>(list: &'a [Diagnostic], sources: &'a Sources) -> Vec<FindingDoc<'a>> {
    list.iter().map(|d| FindingDoc::new(d, sources)).collect()
}

/// Where a finding is, for people: `file:line:column` for text, `file, byte N` for binaries.
pub fn place(l: &crate::report::json::JsonLocation<'_>) -> String {
    match (l.line, l.column) {
        (Some(line), Some(column)) => format!("{}:{line}:{column}", l.file),
        _ => format!("{}, byte {}", l.file, l.start),
    }
}
