//! Learn mode (`run --learn`): the least-privilege manifest that would have allowed exactly
//! what a run did. The run is made in report-only mode with an observer on the guard
//! (`runtime::Collector`), which keeps every distinct request the decision was asked about;
//! [`learn`] turns those [`Observation`]s into grants and merges them with what the component's
//! imports need statically (the needs `inspect --suggest-manifest` writes placeholders for):
//!
//! - each request becomes the narrowest grant that allows it: the exact path (or, with a depth,
//!   the path cut after that many components followed by `/**`, see [`generalise`]), the host
//!   and port, the executable, the signal; a grant another one covers is left out;
//! - a need of the imports that the run met is filled by those grants; one it did not meet is
//!   acknowledged (`[acknowledged]`: never granted, and `check` says so in a note) rather than
//!   left as a placeholder, so that `check` passes with the manifest as it is;
//! - a request an organisation policy denies is not granted (granting it would break the
//!   policy, and the policy would deny it anyway): it is listed in a comment at the end and
//!   returned as a warning. So is a generalised path that would overlap a denied path or
//!   leave the policy's roots: its requests are granted by their exact paths instead.
//!
//! The manifest is written by the same [`Draft`] as `inspect --suggest-manifest`'s.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::num::NonZeroUsize;

use crate::analyze::ImportedFunction;
use crate::manifest::Manifest;
use crate::manifest::draft::{self, Draft, toml_string};
use crate::orgpolicy::{OwnedRequest, PolicySet};
use crate::policy::{
    Action, CompiledGrants, Domain, Env, FsAction, FsGrant, GrantSet, Host, HostPattern, NetAction, NetGrant,
    PathPattern, ProcGrant, normalize_host, normalize_path,
};

/// One request a run made, as the guard was asked about it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Observation {
    /// `interface.function` as the audit log names it.
    pub operation: String,
    pub request: OwnedRequest,
    /// The policy rule that denies it (as audit lines name it), when one does.
    pub denied_by: Option<String>,
}

/// What [`learn`] works from.
#[derive(Clone, Copy, Debug)]
pub struct Learning<'a> {
    /// The component's file, as the header names it.
    pub component: &'a str,
    /// The run's id (its audit lines carry it).
    pub run: &'a str,
    /// The manifest the run used: its `[component]`, `[limits]` and `[config]` are kept.
    pub manifest: &'a Manifest,
    /// The component's imported functions, classified (what `inspect` lists).
    pub functions: &'a [ImportedFunction],
    pub observations: &'a [Observation],
    /// How many path components a grant keeps before `/**` (`None`: exact paths).
    pub depth: Option<NonZeroUsize>,
    /// The organisation policies in force.
    pub policies: &'a PolicySet,
}

/// The learned manifest and what it could not grant.
#[derive(Clone, Debug, Default)]
pub struct Learned {
    /// The manifest's text.
    pub manifest: String,
    /// Requests left out and needs left unmet, one sentence each (also in the manifest's
    /// closing comments).
    pub warnings: Vec<String>,
}

/// The reason written in `[acknowledged]` for the needs the run did not meet.
pub const ACKNOWLEDGED_REASON: &str =
    "imported, but not used by the run that learned this manifest (airssys-wasm run --learn)";

/// `path` (normalised: absolute or under `~`) generalised to `depth`: its first `depth`
/// components below `/` (or `~`) followed by `/**` when it has more than that, else the path
/// itself. `/srv/data/in/a.csv` at depth 2 is `/srv/data/**` (which also matches `/srv/data`
/// itself); `/srv/data` at depth 2 stays `/srv/data`. Without a depth, the path itself.
pub fn generalise(path: &str, depth: Option<NonZeroUsize>) -> String {
    let Some(depth) = depth else {
        return path.to_string();
    };
    let (root, rest) = match path.strip_prefix('~') {
        Some(rest) => ("~", rest),
        None => ("", path),
    };
    let names: Vec<&str> = rest.split('/').filter(|n| !n.is_empty()).collect();
    if names.len() <= depth.get() {
        return path.to_string();
    }
    format!("{root}/{}/**", names[..depth.get()].join("/"))
}

/// The learned manifest (see the module documentation).
pub fn learn(l: &Learning<'_>) -> Learned {
    let mut w = Work::default();
    for o in l.observations {
        w.observe(o, l);
    }
    w.drop_covered();
    let mut draft = Draft {
        header: header(l),
        component: component(l.manifest),
        tables: tables(l.manifest),
        ..Draft::default()
    };
    for (grant, ops) in &w.fs {
        draft
            .grants
            .insert((Domain::Filesystem, draft::fs_grant(grant)), ops.clone());
    }
    for (grant, ops) in &w.net {
        draft
            .grants
            .insert((Domain::Network, draft::net_grant(grant)), ops.clone());
    }
    for (grant, ops) in &w.process {
        draft
            .grants
            .insert((Domain::Process, draft::proc_grant(grant)), ops.clone());
    }
    let (acknowledged, unmet) = w.unmet_needs(l.functions);
    if !acknowledged.is_empty() {
        draft.acknowledged = Some(draft::Acknowledged {
            comment: vec![
                "Needed by imported operations that the run did not use: acknowledged, so never granted.".into(),
                "If the component needs one, grant it in [permissions] and remove it here.".into(),
            ],
            reason: ACKNOWLEDGED_REASON.to_string(),
            actions: acknowledged,
        });
    }
    w.warnings.extend(unmet);
    draft.footer = footer(&w);
    let mut warnings: Vec<String> = w.refused.iter().map(|r| format!("not granted: {r}")).collect();
    warnings.extend(w.warnings);
    Learned {
        manifest: draft.render(),
        warnings,
    }
}

/// The grants being learned, each with the operations that used it, and what was left out.
#[derive(Default)]
struct Work {
    fs: HashMap<FsGrant, Vec<String>>,
    net: HashMap<NetGrant, Vec<String>>,
    process: HashMap<ProcGrant, Vec<String>>,
    /// Requests not granted because a policy denies them: `request (operation): why`.
    refused: BTreeSet<String>,
    /// Requests that cannot be written as a grant, and needs left unmet.
    warnings: Vec<String>,
}

impl Work {
    fn observe(&mut self, o: &Observation, l: &Learning<'_>) {
        let what = format!("`{}` ({})", o.request.normalized(), o.operation);
        if let Some(rule) = &o.denied_by {
            self.refused.insert(format!("{what}: denied by policy {rule}"));
            return;
        }
        let op = o.operation.clone();
        let learned = match &o.request {
            OwnedRequest::Fs { action, path } => self.fs_grant(*action, path, l, &op, &what),
            OwnedRequest::Net { action, host, port } => {
                net_grant(*action, host.as_deref(), *port).map(|g| self.net.entry(g).or_default().push(op))
            }
            OwnedRequest::Spawn { executable } => ProcGrant::spawn(executable)
                .map(|g| self.process.entry(g).or_default().push(op))
                .map_err(|e| e.to_string()),
            OwnedRequest::Signal { signal } => {
                let grant = ProcGrant::Signal { signal: *signal };
                self.process.entry(grant).or_default().push(op);
                Ok(())
            }
        };
        if let Err(why) = learned {
            self.warnings.push(format!(
                "{what} is not granted: it cannot be written as a grant ({why})"
            ));
        }
    }

    /// Learns a filesystem request: the generalised path when the policies allow a grant of
    /// it, else the exact path when they allow that, else nothing (the request is refused).
    fn fs_grant(&mut self, action: FsAction, path: &str, l: &Learning<'_>, op: &str, what: &str) -> Result<(), String> {
        let exact = normalize_path(path).map_err(|e| e.to_string())?;
        let general = generalise(&exact, l.depth);
        let general_grant = fs_grant(action, &general)?;
        let grant = if l.policies.permits_fs_grant(&general_grant) {
            general_grant
        } else {
            let exact_grant = fs_grant(action, &exact)?;
            if !l.policies.permits_fs_grant(&exact_grant) {
                self.refused.insert(format!(
                    "{what}: the policies do not allow a grant of it (a denied path, or outside their roots)"
                ));
                return Ok(());
            }
            self.warnings.push(format!(
                "{what} is granted by its exact path: `{general}` would overlap a path the policies deny or leave their roots"
            ));
            exact_grant
        };
        self.fs.entry(grant).or_default().push(op.to_string());
        Ok(())
    }

    /// Leaves out the filesystem grants that a `/**` grant of the same action covers (its
    /// operations go to that grant).
    fn drop_covered(&mut self) {
        let trees: BTreeSet<(FsAction, String)> = self
            .fs
            .keys()
            .filter_map(|g| Some((g.action, g.pattern.as_str().strip_suffix("/**")?.to_string())))
            .collect();
        let covered: Vec<(FsGrant, FsGrant)> = self
            .fs
            .keys()
            .filter_map(|g| {
                let pattern = g.pattern.as_str();
                let own = pattern.strip_suffix("/**");
                let start = own.unwrap_or(pattern);
                ancestors(start)
                    .filter(|dir| own != Some(*dir))
                    .find(|dir| trees.contains(&(g.action, dir.to_string())))
                    .and_then(|dir| fs_grant(g.action, &format!("{}/**", dir.trim_end_matches('/'))).ok())
                    .map(|tree| (g.clone(), tree))
            })
            .collect();
        for (grant, tree) in covered {
            if let Some(ops) = self.fs.remove(&grant) {
                self.fs.entry(tree).or_default().extend(ops);
            }
        }
    }

    /// The needs of the imports the learned grants do not meet: the actions to acknowledge,
    /// with the functions that need them, and a warning for each need that can be neither
    /// met nor acknowledged (a literal, such as `spawn-shell`'s `/bin/sh`, whose action is
    /// granted for something else: acknowledging a granted action is an error).
    fn unmet_needs(&self, functions: &[ImportedFunction]) -> (BTreeMap<Action, Vec<String>>, Vec<String>) {
        let set = GrantSet {
            filesystem: self.fs.keys().cloned().collect(),
            network: self.net.keys().cloned().collect(),
            process: self.process.keys().cloned().collect(),
        };
        let compiled = CompiledGrants::compile(&set, &Env::default());
        let mut acknowledged: BTreeMap<Action, Vec<String>> = BTreeMap::new();
        let mut unmet = Vec::new();
        for (f, term) in crate::inspect::needs(functions) {
            if crate::analyze::satisfied(&compiled, term) {
                continue;
            }
            if term.actions.iter().any(|a| compiled.any_grant(*a).is_some()) {
                unmet.push(format!(
                    "`{}` needs {} that the run did not use, and it cannot be acknowledged because the action is granted for something else: `check` reports it (CMP002) until it is granted",
                    crate::inspect::why(f, term),
                    describe_term(term)
                ));
                continue;
            }
            for action in &term.actions {
                acknowledged.entry(*action).or_default().push(f.function.clone());
            }
        }
        (acknowledged, unmet)
    }
}

/// `term` as a sentence names it: ``filesystem `read` ``, ``process `spawn` of `/bin/sh` ``.
fn describe_term(term: &crate::catalogue::Term) -> String {
    let actions: Vec<String> = term.actions.iter().map(|a| format!("`{}`", a.as_str())).collect();
    let literal = term.args.iter().find_map(|a| match a {
        crate::catalogue::Arg::Literal(l) => Some(format!(" of `{l}`")),
        crate::catalogue::Arg::Param(_) => None,
    });
    format!(
        "{} {}{}",
        term.domain.as_str(),
        actions.join(" or "),
        literal.unwrap_or_default()
    )
}

/// `path` and each directory above it, deepest first (`/a/b`, `/a`, `/`; `~/a`, `~`).
fn ancestors(path: &str) -> impl Iterator<Item = &str> {
    let mut next = Some(path);
    std::iter::from_fn(move || {
        let current = next?;
        next = match current.rfind('/') {
            _ if current == "/" || current == "~" => None,
            Some(0) => Some("/"),
            Some(i) => Some(&current[..i]),
            None => None,
        };
        Some(current)
    })
}

/// A filesystem grant of `action` on the pattern text `path`; a path with characters a pattern
/// gives a meaning to (`*`, `?`, `[`, `{`, `\`) cannot be granted exactly.
fn fs_grant(action: FsAction, path: &str) -> Result<FsGrant, String> {
    let wildcard = |p: &str| p.strip_suffix("/**").unwrap_or(p).contains(['*', '?', '[', '{', '\\']);
    if wildcard(path) {
        return Err(format!(
            "`{}` has a character that manifest paths use as a pattern",
            path.escape_debug()
        ));
    }
    let pattern = PathPattern::parse(path).map_err(|e| e.to_string())?;
    Ok(FsGrant { action, pattern })
}

/// The network grant of a request: the normalised host (as a lookup would compare it) and the
/// port its action needs.
fn net_grant(action: NetAction, host: Option<&str>, port: Option<u16>) -> Result<NetGrant, String> {
    let host: Option<Host> = host
        .map(|h| normalize_host(h).map_err(|e| format!("host `{}`: {e}", h.escape_debug())))
        .transpose()?;
    let needs_host = matches!(action, NetAction::Connect | NetAction::Resolve);
    if needs_host && host.is_none() {
        return Err(format!("a {} without a host", action.as_str()));
    }
    let port = match action {
        NetAction::Resolve => None,
        _ => Some(
            port.filter(|p| *p > 0)
                .ok_or_else(|| format!("a {} without a port", action.as_str()))?,
        ),
    };
    Ok(NetGrant {
        action,
        host: host.map(HostPattern::Exact),
        port,
    })
}

fn header(l: &Learning<'_>) -> Vec<String> {
    let paths = match l.depth {
        None => "Paths are exact (`run --learn-depth N` keeps N components and grants the tree below).".to_string(),
        Some(n) => format!("Paths keep their first {n} component(s), followed by `/**` (--learn-depth {n})."),
    };
    vec![
        format!("Learned by `airssys-wasm run --learn {}` (run {}):", l.component, l.run),
        "the least privilege that allows what that run did, each grant followed by the operations".into(),
        "that used it, merged with what the component's imports need (`inspect --suggest-manifest`).".into(),
        paths,
        "Review it, then `airssys-wasm check` the component with it.".into(),
    ]
}

/// `[component]` as the run's manifest has it (a version it lacks is `0.1.0`).
fn component(m: &Manifest) -> Vec<(&'static str, String)> {
    let c = &m.component;
    let version = c
        .version
        .as_ref()
        .map_or_else(|| "0.1.0".to_string(), ToString::to_string);
    let mut out = vec![("name", toml_string(&c.name)), ("version", toml_string(&version))];
    for (key, value) in [
        ("description", &c.description),
        ("author", &c.author),
        ("license", &c.license),
        ("repository", &c.repository),
    ] {
        if let Some(value) = value {
            out.push((key, toml_string(value)));
        }
    }
    out
}

/// `[limits]` and `[config]` as the run's manifest has them (configuration values are
/// strings, as `init` receives them).
fn tables(m: &Manifest) -> String {
    let mut root = toml::Table::new();
    let l = &m.limits;
    let mut limits = toml::Table::new();
    for (key, value) in [
        ("memory", l.memory),
        ("fuel", l.fuel),
        ("timeout-ms", l.timeout_ms),
        ("instances", l.instances),
        ("tables", l.tables),
        ("memories", l.memories),
    ] {
        if let Some(value) = value.and_then(|v| i64::try_from(v).ok()) {
            limits.insert(key.to_string(), toml::Value::Integer(value));
        }
    }
    if !limits.is_empty() {
        root.insert("limits".into(), toml::Value::Table(limits));
    }
    if !m.config.is_empty() {
        let config = m
            .config
            .iter()
            .map(|(k, v)| (k.clone(), toml::Value::String(v.clone())))
            .collect();
        root.insert("config".into(), toml::Value::Table(config));
    }
    if root.is_empty() {
        return String::new();
    }
    toml::to_string(&root).unwrap_or_else(|e| format!("# [limits] and [config] could not be written: {e}\n"))
}

fn footer(w: &Work) -> Vec<String> {
    let mut out = Vec::new();
    if !w.refused.is_empty() {
        out.push("Observed, but not granted: an organisation policy denies it, so the component is refused it.".into());
        out.extend(w.refused.iter().map(|r| format!("  {r}")));
    }
    if !w.warnings.is_empty() {
        out.push("Not in this manifest:".into());
        out.extend(w.warnings.iter().map(|r| format!("  {r}")));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostics::{Severity, Sources};

    fn depth(n: usize) -> Option<NonZeroUsize> {
        NonZeroUsize::new(n)
    }

    #[test]
    fn generalising_keeps_the_first_components() {
        let cases = [
            ("/srv/data/in/a.csv", None, "/srv/data/in/a.csv"),
            ("/srv/data/in/a.csv", depth(2), "/srv/data/**"),
            ("/srv/data/x", depth(2), "/srv/data/**"),
            ("/srv/data", depth(2), "/srv/data"),
            ("/srv", depth(2), "/srv"),
            ("/a/b", depth(1), "/a/**"),
            ("/", depth(1), "/"),
            ("~/notes/a.txt", depth(1), "~/notes/**"),
            ("~/notes", depth(1), "~/notes"),
        ];
        for (path, depth, expected) in cases {
            assert_eq!(generalise(path, depth), expected, "{path} at {depth:?}");
        }
        assert_eq!(ancestors("/a/b").collect::<Vec<_>>(), ["/a/b", "/a", "/"]);
        assert_eq!(ancestors("~/a").collect::<Vec<_>>(), ["~/a", "~"]);
    }

    const MANIFEST: &str = "[component]\nname = \"learner\"\nversion = \"1.2.0\"\ndescription = \"kept\"\n\
        [permissions]\nfilesystem = [{ action = \"read\", path = \"/unused/**\" }]\n\
        [limits]\nmemory = 1048576\ntimeout-ms = 500\n[config]\nmode = \"fast\"\n";

    fn observed(operation: &str, request: &str, denied_by: Option<&str>) -> Observation {
        Observation {
            operation: operation.to_string(),
            request: crate::orgpolicy::parse_request(request).unwrap(),
            denied_by: denied_by.map(str::to_string),
        }
    }

    /// The learned manifest of `observations` (which must be valid) and the warnings.
    fn learned(observations: &[Observation], depth: Option<NonZeroUsize>, policy: &str) -> (Manifest, Learned) {
        let base = Manifest::parse("t.toml", MANIFEST).into_valid().unwrap();
        let mut sources = Sources::new();
        let policies = PolicySet::from_texts(&mut sources, &[("org.toml", policy)]).unwrap();
        let out = learn(&Learning {
            component: "learner.wasm",
            run: "run-1",
            manifest: &base,
            functions: &[],
            observations,
            depth,
            policies: &policies,
        });
        let parsed = Manifest::parse("learned.toml", &out.manifest);
        assert!(
            parsed.diagnostics.iter().all(|d| d.severity == Severity::Note),
            "{}\n{:#?}",
            out.manifest,
            parsed.diagnostics
        );
        (parsed.manifest.unwrap(), out)
    }

    fn fs_grants(m: &Manifest) -> Vec<String> {
        m.filesystem.iter().map(|e| e.grant.to_string()).collect()
    }

    #[test]
    fn each_request_is_granted_exactly_and_the_identity_is_kept() {
        let (m, out) = learned(
            &[
                observed("filesystem.read-file", "read /data/a.txt", None),
                observed("filesystem.open", "read /data/a.txt", None),
                observed("filesystem.read-file", "read /data/./b.txt", None),
                observed("filesystem.write-file", "write /out/x.csv", None),
                observed("socket.connect", "connect Example.COM.:443", None),
                observed("socket.bind", "bind 127.0.0.1:8080", None),
                observed("lifecycle.spawn", "spawn /usr/bin/gzip", None),
                observed("signals.send", "signal SIGTERM", None),
            ],
            None,
            "",
        );
        assert_eq!(
            fs_grants(&m),
            ["read `/data/a.txt`", "read `/data/b.txt`", "write `/out/x.csv`"],
            "the grant the run's manifest had is gone: nothing used it"
        );
        let net: Vec<String> = m.network.iter().map(|e| e.grant.to_string()).collect();
        assert_eq!(net, ["bind `127.0.0.1:8080`", "connect `example.com:443`"]);
        assert_eq!(m.process.len(), 2);
        assert!(
            out.manifest.contains("# filesystem.open, filesystem.read-file\n"),
            "{}",
            out.manifest
        );
        assert_eq!(m.component.name, "learner");
        assert_eq!(m.component.version.as_ref().unwrap().to_string(), "1.2.0");
        assert_eq!(m.component.description.as_deref(), Some("kept"));
        assert_eq!((m.limits.memory, m.limits.timeout_ms), (Some(1_048_576), Some(500)));
        assert_eq!(m.config, [("mode".to_string(), "fast".to_string())]);
        assert!(m.acknowledged.is_none());
        assert!(out.warnings.is_empty(), "{:?}", out.warnings);
        assert!(out.manifest.contains("(run run-1)"), "{}", out.manifest);
    }

    #[test]
    fn a_depth_generalises_paths_and_a_tree_takes_what_it_covers() {
        let observations = [
            observed("filesystem.read-file", "read /srv/data/in/a.csv", None),
            observed("filesystem.read-file", "read /srv/data/in/b.csv", None),
            observed("filesystem.list-dir", "read /srv/data", None),
            observed("filesystem.write-file", "write /srv/data/in/c.csv", None),
        ];
        let (m, out) = learned(&observations, depth(2), "");
        assert_eq!(fs_grants(&m), ["read `/srv/data/**`", "write `/srv/data/**`"]);
        assert!(
            out.manifest.contains("# filesystem.list-dir, filesystem.read-file\n"),
            "{}",
            out.manifest
        );
        let (m, _) = learned(&observations, depth(3), "");
        assert_eq!(
            fs_grants(&m),
            ["read `/srv/data`", "read `/srv/data/in/**`", "write `/srv/data/in/**`"]
        );
        let (m, _) = learned(&observations, depth(9), "");
        assert_eq!(fs_grants(&m).len(), 4, "deeper than every path: exact paths");
    }

    #[test]
    fn what_a_policy_denies_is_listed_and_never_granted() {
        let policy = "[filesystem]\ndeny = [{ path = \"/srv/data/secret/**\" }]\n";
        let rule = "org.toml:2: `{ path = \"/srv/data/secret/**\" }`";
        let (m, out) = learned(
            &[
                observed("filesystem.read-file", "read /srv/data/secret/key", Some(rule)),
                observed("filesystem.read-file", "read /srv/data/in/a.csv", None),
            ],
            depth(2),
            policy,
        );
        // `/srv/data/**` would overlap the denied tree: the exact path instead.
        assert_eq!(fs_grants(&m), ["read `/srv/data/in/a.csv`"]);
        assert_eq!(out.warnings.len(), 2, "{:?}", out.warnings);
        assert!(
            out.warnings[0].starts_with(
                "not granted: `read /srv/data/secret/key` (filesystem.read-file): denied by policy org.toml:2"
            ),
            "{:?}",
            out.warnings
        );
        assert!(
            out.warnings[1].contains("is granted by its exact path"),
            "{:?}",
            out.warnings
        );
        assert!(
            out.manifest
                .contains("# Observed, but not granted: an organisation policy denies it")
                && out
                    .manifest
                    .contains("#   `read /srv/data/secret/key` (filesystem.read-file): denied by policy"),
            "{}",
            out.manifest
        );
    }

    #[test]
    fn requests_that_cannot_be_written_as_grants_are_warned_about() {
        let (m, out) = learned(
            &[
                observed("filesystem.read-file", "read data/relative", None),
                observed("filesystem.read-file", "read /data/a*b", None),
                observed("filesystem.read-file", "read /data/ok", None),
            ],
            None,
            "",
        );
        assert_eq!(fs_grants(&m), ["read `/data/ok`"]);
        assert_eq!(out.warnings.len(), 2, "{:?}", out.warnings);
        assert!(
            out.warnings.iter().all(|w| w.contains("cannot be written as a grant")),
            "{:?}",
            out.warnings
        );
        assert!(out.manifest.contains("# Not in this manifest:"), "{}", out.manifest);
        // Nothing but the request itself: a bind without a port cannot be a grant.
        assert!(net_grant(NetAction::Bind, Some("127.0.0.1"), None).is_err());
        assert!(net_grant(NetAction::Connect, None, Some(80)).is_err());
    }
}
