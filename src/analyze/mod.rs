//! The static analyzer: a compiled component checked against its manifest and the catalogue.
//!
//! [`classify`] maps every imported function onto what it needs; [`permission_findings`] then
//! asks the decision core (the same one the runtime uses) whether the manifest's grants give
//! it, which grants nothing could use, and which dangerous operations are enabled by overly
//! broad grants. Findings point at the import (name and byte offset in the binary) and at the
//! manifest entry (by span).

mod classify;
pub mod flow;
pub(crate) mod rules;
pub mod wasi;

pub use classify::{Classified, ComponentKind, ImportedFunction, Mapping, NotCharged, classify};

use crate::catalogue::{Arg, Term};
use crate::diagnostics::{Diagnostic, SourceId};
use crate::manifest::Manifest;
use crate::policy::{
    Action, CompiledGrants, Domain, Env, FsAction, GrantRef, NetAction, ProcAction, ProcGrant, Request, Signal,
};

/// Operations that can do serious damage when a grant lets them reach too far.
const RISKY: &[&str] = &[
    "airssys:ext-filesystem/filesystem.remove-dir-all",
    "airssys:ext-filesystem/filesystem.remove-dir",
    "airssys:ext-filesystem/filesystem.delete-file",
    "airssys:ext-filesystem/filesystem.rename",
    "airssys:ext-filesystem/filesystem.truncate",
    "airssys:ext-filesystem/filesystem.write-file",
    "airssys:ext-filesystem/metadata.set-permissions",
    "airssys:ext-process/lifecycle.spawn-shell",
];

/// Executables that run arbitrary code given to them: a grant to spawn one is as broad as a
/// shell.
const SHELLS: &[&str] = &[
    "/bin/sh",
    "/bin/bash",
    "/bin/dash",
    "/bin/zsh",
    "/usr/bin/sh",
    "/usr/bin/bash",
    "/usr/bin/env",
    "/usr/bin/python3",
    "/usr/bin/perl",
    "/usr/bin/node",
];

/// Where the manifest lives, for labels.
pub struct ManifestRef<'a> {
    pub manifest: &'a Manifest,
    pub source: SourceId,
}

/// Permission findings for classified imports against a manifest.
pub fn permission_findings(functions: &[ImportedFunction], m: &ManifestRef<'_>, binary: SourceId) -> Vec<Diagnostic> {
    let grants = m.manifest.compile(&Env::default());
    let mut out = Vec::new();
    let refs: Vec<GrantRef> = m.manifest.grant_refs().collect();
    let ack = m.manifest.acknowledged.as_ref();
    // For each acknowledged action, the imported operations it covers.
    let mut covered: Vec<Vec<String>> = vec![Vec::new(); ack.map_or(0, |a| a.actions.len())];
    for f in functions {
        let Some(req) = f.charged() else { continue };
        for term in &req.terms {
            if !satisfied(&grants, term) {
                match ack.filter(|a| term.actions.iter().all(|x| a.covers(*x))) {
                    Some(a) => {
                        for (i, (action, _)) in a.actions.iter().enumerate() {
                            if term.actions.contains(action) {
                                covered[i].push(operation_label(f));
                            }
                        }
                    }
                    None => out.push(undeclared(f, term, m, binary)),
                }
            }
        }
    }
    for (g, users) in refs.iter().zip(grant_users(functions, m.manifest)) {
        if users.is_empty() {
            out.push(unused(*g, m, binary));
        }
        out.extend(users.into_iter().filter_map(|f| risky(f, *g, m, binary)));
    }
    if let Some(a) = ack {
        for ((action, span), mut ops) in a.actions.iter().zip(covered) {
            ops.sort();
            ops.dedup();
            out.push(acknowledgment(*action, span.clone(), &ops, &a.reason, m.source, binary));
        }
    }
    out
}

/// For each grant of the manifest, in [`Manifest::grant_refs`] order, the imported functions
/// that could use it (each once): a function one of whose charged terms names the grant's
/// action, and its literal (an executable, a signal) when the term names one.
pub fn grant_users<'f>(functions: &'f [ImportedFunction], m: &Manifest) -> Vec<Vec<&'f ImportedFunction>> {
    m.grant_refs()
        .map(|g| {
            functions
                .iter()
                .filter(|f| {
                    f.charged()
                        .is_some_and(|req| req.terms.iter().any(|t| could_use(m, g, t)))
                })
                .collect()
        })
        .collect()
}

/// Whether spawning `executable` runs whatever code it is given (a shell or an interpreter):
/// a grant to spawn one is as broad as a shell.
pub fn is_shell(executable: &str) -> bool {
    SHELLS.contains(&executable)
}

/// How an imported operation is named in a list: the function, and for an adapter's import
/// the module it comes from.
pub fn operation_label(f: &ImportedFunction) -> String {
    match &f.source {
        Mapping::Adapter { .. } | Mapping::Preview1 => format!("{}::{}", f.import, f.function),
        _ => format!("{}#{}", f.import, f.function),
    }
}

/// What an acknowledged action covers (`CMP008`), or that it covers nothing (`CMP009`).
fn acknowledgment(
    action: Action,
    span: std::ops::Range<usize>,
    ops: &[String],
    reason: &str,
    manifest: SourceId,
    binary: SourceId,
) -> Diagnostic {
    let what = format!("{} `{}`", action.domain().as_str(), action.as_str());
    if ops.is_empty() {
        return rules::unused_acknowledgment(manifest, span, &what, binary);
    }
    rules::acknowledged_never_granted(manifest, span, &what, ops, reason, binary)
}

/// Statically: any alternative action granted (for the literal, if the term names one).
pub(crate) fn satisfied(grants: &CompiledGrants, term: &Term) -> bool {
    term.actions.iter().any(|a| match literal(term) {
        Some(lit) => literal_request(*a, lit).is_some_and(|req| grants.decide(&req).allowed),
        None => grants.any_grant(*a).is_some(),
    })
}

fn literal(term: &Term) -> Option<&str> {
    term.args.iter().find_map(|a| match a {
        Arg::Literal(l) => Some(l.as_str()),
        Arg::Param(_) => None,
    })
}

fn literal_request(action: Action, lit: &str) -> Option<Request<'_>> {
    match action {
        Action::Proc(ProcAction::Spawn) => Some(Request::Spawn { executable: lit }),
        Action::Proc(ProcAction::Signal) => Signal::parse(lit).ok().map(|signal| Request::Signal { signal }),
        Action::Fs(action) => Some(Request::Fs { action, path: lit }),
        Action::Net(action) => Some(Request::Net {
            action,
            host: Some(lit),
            port: None,
        }),
    }
}

/// Whether grant `g` could serve `term`: same action, and the literal (if any) matches it.
fn could_use(m: &Manifest, g: GrantRef, term: &Term) -> bool {
    let action = m.action_of(g);
    if !term.actions.contains(&action) {
        return false;
    }
    match (literal(term), g.domain) {
        (Some(lit), Domain::Process) => match &m.process[g.index].grant {
            ProcGrant::Spawn { executable } => crate::policy::normalize_path(lit).is_ok_and(|l| l == *executable),
            ProcGrant::Signal { signal } => Signal::parse(lit).is_ok_and(|s| s == *signal),
        },
        _ => true,
    }
}

fn undeclared(f: &ImportedFunction, term: &Term, m: &ManifestRef<'_>, binary: SourceId) -> Diagnostic {
    let actions: Vec<String> = term.actions.iter().map(|a| format!("`{}`", a.as_str())).collect();
    let what = match literal(term) {
        Some(lit) => format!("{} {} `{lit}`", term.domain.as_str(), actions.join(" or ")),
        None => format!("{} {}", term.domain.as_str(), actions.join(" or ")),
    };
    let (through, label) = match &f.source {
        Mapping::Adapter { program, reaches } => (
            format!(
                " (through the adapter it reaches {})",
                reaches.iter().map(|r| format!("`{r}`")).collect::<Vec<_>>().join(", ")
            ),
            format!("`{program}` imports it from `{}`", f.import),
        ),
        _ => (String::new(), format!("imported as `{}`", f.import)),
    };
    let place = m.manifest.spans.for_domain(term.domain).map(|span| (m.source, span));
    let import = (binary, f.span.clone());
    rules::undeclared_permission(import, label, &f.function, &what, &through, example_grant(term), place)
}

fn example_grant(term: &Term) -> String {
    let action = term.actions[0].as_str();
    let body = match (term.actions[0], literal(term)) {
        (Action::Fs(_), _) => format!("{{ action = \"{action}\", path = \"/the/path/it/needs/**\" }}"),
        (Action::Net(NetAction::Connect), _) => {
            format!("{{ action = \"{action}\", domain = \"host.example.com\", port = 443 }}")
        }
        (Action::Net(NetAction::Resolve), _) => format!("{{ action = \"{action}\", domain = \"host.example.com\" }}"),
        (Action::Net(_), _) => format!("{{ action = \"{action}\", port = 8080 }}"),
        (Action::Proc(ProcAction::Spawn), lit) => format!(
            "{{ action = \"spawn\", executable = \"{}\" }}",
            lit.unwrap_or("/usr/bin/the-program")
        ),
        (Action::Proc(ProcAction::Signal), lit) => {
            format!("{{ action = \"signal\", signal = \"{}\" }}", lit.unwrap_or("SIGTERM"))
        }
    };
    format!(
        "grant it narrowly in [permissions] {}: `{body}`, or stop importing the operation",
        term.domain.as_str()
    )
}

fn unused(g: GrantRef, m: &ManifestRef<'_>, binary: SourceId) -> Diagnostic {
    let span = m.manifest.span_of(g).unwrap_or(0..0);
    rules::unused_grant(m.source, span, &m.manifest.describe(g), binary)
}

/// A risky operation served by an overly broad grant.
fn risky(f: &ImportedFunction, g: GrantRef, m: &ManifestRef<'_>, binary: SourceId) -> Option<Diagnostic> {
    let op = match &f.source {
        Mapping::Catalogue { operation } => operation.as_str(),
        _ => return None,
    };
    if !RISKY.contains(&op) && !op.ends_with("lifecycle.spawn") && !op.ends_with("lifecycle.spawn-detached") {
        return None;
    }
    let broad = match g.domain {
        Domain::Filesystem => m.manifest.filesystem[g.index].grant.pattern.is_overly_broad(),
        Domain::Network => m.manifest.network[g.index]
            .grant
            .host
            .as_ref()
            .is_some_and(|h| h.is_overly_broad()),
        Domain::Process => {
            matches!(&m.manifest.process[g.index].grant, ProcGrant::Spawn { executable } if is_shell(executable))
        }
    };
    let destructive_fs = matches!(m.manifest.action_of(g), Action::Fs(FsAction::Write | FsAction::Delete));
    if !broad || (g.domain == Domain::Filesystem && !destructive_fs) {
        return None;
    }
    let why = match g.domain {
        Domain::Process => "a shell or interpreter runs whatever it is given",
        _ => "the grant reaches far beyond what one component needs",
    };
    let grant_at = (m.source, m.manifest.span_of(g).unwrap_or(0..0));
    let grant = m.manifest.describe(g);
    Some(rules::risky_operation(
        (binary, f.span.clone()),
        &f.function,
        &f.import,
        grant_at,
        &grant,
        why,
    ))
}

/// What a kind exports, as a note.
fn kind_note(kind: ComponentKind) -> &'static str {
    match kind {
        ComponentKind::Airssys => "it exports `airssys:core/component-lifecycle`",
        ComponentKind::WasiCommand => "it exports `wasi:cli/run`",
        ComponentKind::WasiHttpHandler => "it exports `wasi:http/incoming-handler`",
        ComponentKind::Library => {
            "it exports none of `airssys:core/component-lifecycle`, `wasi:cli/run`, `wasi:http/incoming-handler`"
        }
        ComponentKind::CoreModule => "it is a core module, not a component",
    }
}

/// The finding for a component whose kind `who` (a policy, or `--kind`) does not accept:
/// `WIT005` when only airssys components are accepted (the lifecycle export is what is
/// missing), else `CMP010`.
pub fn kind_finding(
    kind: ComponentKind,
    accepted: &[ComponentKind],
    who: &str,
    binary: SourceId,
) -> Option<Diagnostic> {
    if accepted.contains(&kind) {
        return None;
    }
    if accepted == [ComponentKind::Airssys] {
        return Some(crate::wit_world::rules::not_an_airssys_component(
            binary,
            kind.describe(),
            who,
            kind_note(kind),
        ));
    }
    let list: Vec<String> = accepted.iter().map(|k| format!("`{k}`")).collect();
    let accepts = if list.is_empty() {
        "accepts no kind of component".to_string()
    } else {
        format!("accepts only {}", list.join(", "))
    };
    let note = kind_note(kind);
    Some(rules::disallowed_kind(
        binary,
        kind.describe(),
        kind.as_str(),
        who,
        &accepts,
        note,
    ))
}
