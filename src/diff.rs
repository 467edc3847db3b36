//! `airssys-wasm diff OLD NEW`, the upgrade gate: what a new version of a component can touch
//! that the old one could not. Each version's [`Capabilities`] are its charged imports (the
//! operations, with what they need) and its manifest's grants; [`diff`] compares two of them:
//! operations and permissions gained and lost, grants widened (a new grant no old grant covers)
//! and narrowed, and the new hosts, paths, executables and signals.
//!
//! A gain is a [`Change`] with `gained` set whose permission is not among those the caller
//! allows; the CLI fails the gate on any. Coverage is the decision core's (`covers`), so
//! `read /data/in/**` → `read /data/**` is a widening and the reverse a narrowing.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::analyze::ImportedFunction;
use crate::manifest::Manifest;
use crate::policy::{Action, FsGrant, NetGrant, ProcGrant};

/// What one version of a component can reach.
#[derive(Clone, Debug, Default)]
pub struct Capabilities {
    /// Charged imported operations (`airssys:ext-filesystem/filesystem@1.0.0#write-file`), each
    /// with its requirement (`filesystem:write(path)`).
    pub operations: BTreeMap<String, String>,
    /// The permissions those operations need (`filesystem:write`); a term with alternatives
    /// (`filesystem:read|metadata`) needs each of them as far as a gain is concerned.
    pub permissions: BTreeSet<String>,
    pub filesystem: Vec<FsGrant>,
    pub network: Vec<NetGrant>,
    pub process: Vec<ProcGrant>,
    /// Whether the imports are known (a component was given, not only a manifest).
    pub imports_known: bool,
}

impl Capabilities {
    /// The capabilities of a manifest and, when known, the component's classified imports.
    pub fn new(manifest: Option<&Manifest>, imports: Option<&[ImportedFunction]>) -> Self {
        let mut c = Capabilities {
            imports_known: imports.is_some(),
            ..Capabilities::default()
        };
        for f in imports.unwrap_or_default() {
            let Some(req) = f.charged() else { continue };
            c.operations
                .insert(format!("{}#{}", f.import, f.function), req.to_string());
            for term in &req.terms {
                for action in &term.actions {
                    c.permissions.insert(permission(*action));
                }
            }
        }
        if let Some(m) = manifest {
            c.filesystem = m.filesystem.iter().map(|e| e.grant.clone()).collect();
            c.network = m.network.iter().map(|e| e.grant.clone()).collect();
            c.process = m.process.iter().map(|e| e.grant.clone()).collect();
        }
        c
    }
}

/// `filesystem:write`: how a permission is named in requirements, changes and policies.
pub fn permission(a: Action) -> String {
    format!("{}:{}", a.domain(), a.as_str())
}

/// What changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ChangeKind {
    /// An imported operation that needs a permission.
    Operation,
    /// A permission the imported operations need.
    Permission,
    /// A manifest grant (widened: gained; narrowed: lost).
    Grant,
    /// A host, path, executable or signal that the grants name.
    Host,
    Path,
    Executable,
    Signal,
}

/// One capability gained or lost.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Change {
    pub kind: ChangeKind,
    /// True when NEW has it and OLD had not.
    pub gained: bool,
    /// The operation, permission, grant or resource (`read \`/data/**\``).
    pub text: String,
    /// The permission it is about (`filesystem:read`), when it is about one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub permission: Option<String>,
    /// For an operation: what it needs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requires: Option<String>,
    /// A gain the policies allow (it does not fail the gate).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub allowed: bool,
}

/// Compares two versions. `allowed` are the permissions (`network:resolve`) whose gains the
/// policies accept.
pub fn diff(old: &Capabilities, new: &Capabilities, allowed: &[String]) -> Vec<Change> {
    let mut out = Vec::new();
    let mut push = |kind, gained, text: String, permission: Option<String>, requires: Option<String>| {
        let allowed = gained && permission.as_ref().is_some_and(|p| allowed.contains(p));
        out.push(Change {
            kind,
            gained,
            text,
            permission,
            requires,
            allowed,
        });
    };
    for (gained, from, to) in [(true, old, new), (false, new, old)] {
        for (op, req) in to
            .operations
            .iter()
            .filter(|(op, _)| !from.operations.contains_key(*op))
        {
            let permission = first_permission(req);
            push(ChangeKind::Operation, gained, op.clone(), permission, Some(req.clone()));
        }
        for p in to.permissions.difference(&from.permissions) {
            push(ChangeKind::Permission, gained, p.clone(), Some(p.clone()), None);
        }
        let widened = Capabilities {
            filesystem: uncovered(&to.filesystem, &from.filesystem, FsGrant::covers),
            network: uncovered(&to.network, &from.network, NetGrant::covers),
            process: uncovered(&to.process, &from.process, ProcGrant::covers),
            ..Capabilities::default()
        };
        let grants = (widened
            .filesystem
            .iter()
            .map(|g| (g.to_string(), Action::from(g.action))))
        .chain(widened.network.iter().map(|g| (g.to_string(), Action::from(g.action))))
        .chain(
            widened
                .process
                .iter()
                .map(|g| (g.to_string(), Action::from(g.action()))),
        );
        for (text, action) in grants {
            push(ChangeKind::Grant, gained, text, Some(permission(action)), None);
        }
        // A host, path, executable or signal is new when a widened grant names it and no grant
        // of the other version did.
        let before = resources(from);
        for ((kind, resource), action) in resources(&widened) {
            if !before.contains_key(&(kind, resource.clone())) {
                push(kind, gained, resource, Some(action), None);
            }
        }
    }
    out.sort();
    out
}

/// The grants of `to` that no grant of `from` covers.
fn uncovered<G: Clone>(to: &[G], from: &[G], covers: fn(&G, &G) -> bool) -> Vec<G> {
    to.iter()
        .filter(|g| !from.iter().any(|f| covers(f, g)))
        .cloned()
        .collect()
}

/// The hosts, paths, executables and signals a version's grants name, each with the
/// permission (`network:connect`) of the first grant that names it.
fn resources(c: &Capabilities) -> BTreeMap<(ChangeKind, String), String> {
    let mut out = BTreeMap::new();
    for g in &c.filesystem {
        out.entry((ChangeKind::Path, g.pattern.to_string()))
            .or_insert_with(|| permission(g.action.into()));
    }
    for g in &c.network {
        if let Some(h) = &g.host {
            out.entry((ChangeKind::Host, h.to_string()))
                .or_insert_with(|| permission(g.action.into()));
        }
    }
    for g in &c.process {
        let key = match g {
            ProcGrant::Spawn { executable } => (ChangeKind::Executable, executable.clone()),
            ProcGrant::Signal { signal } => (ChangeKind::Signal, signal.as_str().to_string()),
        };
        out.entry(key).or_insert_with(|| permission(g.action().into()));
    }
    out
}

/// The first permission a requirement's text names (`filesystem:write(path)` →
/// `filesystem:write`); `None` for `none`.
fn first_permission(requirement: &str) -> Option<String> {
    let term = requirement.split(" + ").next()?;
    let (domain, rest) = term.split_once(':')?;
    let action = rest.split(['(', '|']).next()?;
    Some(format!("{domain}:{action}"))
}

/// Whether any change is a gain the policies do not allow.
pub fn fails(changes: &[Change]) -> bool {
    changes.iter().any(|c| c.gained && !c.allowed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostics::Sources;

    fn caps(permissions: &str) -> Capabilities {
        let text = format!("[component]\nname = \"app\"\nversion = \"1.0.0\"\n\n[permissions]\n{permissions}");
        let m = Manifest::parse_in(&mut Sources::new(), "Component.toml", &text)
            .into_valid()
            .unwrap();
        Capabilities::new(Some(&m), None)
    }

    fn texts(changes: &[Change], gained: bool) -> Vec<String> {
        changes
            .iter()
            .filter(|c| c.gained == gained)
            .map(|c| format!("{:?} {}", c.kind, c.text))
            .collect()
    }

    #[test]
    fn widened_and_narrowed_grants_and_new_resources() {
        let old = caps(
            "filesystem = [{ action = \"read\", path = \"/data/in/**\" }, { action = \"write\", path = \"/out/**\" }]\n",
        );
        let new = caps(
            "filesystem = [{ action = \"read\", path = \"/data/**\" }, { action = \"write\", path = \"/out/x\" }]\n\
             network = [{ action = \"connect\", domain = \"api.example.com\", port = 443 }]\n",
        );
        let d = diff(&old, &new, &[]);
        assert_eq!(
            texts(&d, true),
            [
                "Grant connect `api.example.com:443`",
                "Grant read `/data/**`",
                "Host api.example.com",
                "Path /data/**",
            ],
            "`/out/x` is within the old `/out/**`: narrower, not new"
        );
        assert_eq!(texts(&d, false), ["Grant write `/out/**`", "Path /out/**"]);
        assert!(fails(&d));
        assert!(diff(&new, &new, &[]).is_empty(), "no change, no gain");
        let back = diff(&new, &old, &[]);
        assert_eq!(texts(&back, true), ["Grant write `/out/**`", "Path /out/**"]);
    }

    #[test]
    fn a_policy_may_allow_a_kind_of_gain() {
        let old = caps("");
        let new = caps("network = [{ action = \"resolve\", domain = \"example.com\" }]\n");
        let d = diff(&old, &new, &["network:resolve".to_string()]);
        assert!(!d.is_empty() && d.iter().all(|c| c.allowed), "{d:?}");
        assert!(!fails(&d));
        assert!(fails(&diff(&old, &new, &["network:connect".to_string()])));
    }

    #[test]
    fn first_permission_of_a_requirement() {
        assert_eq!(
            first_permission("filesystem:write(path)").as_deref(),
            Some("filesystem:write")
        );
        assert_eq!(
            first_permission("filesystem:read|metadata(path) + network:connect(host, port)").as_deref(),
            Some("filesystem:read")
        );
        assert_eq!(first_permission("none"), None);
    }
}
