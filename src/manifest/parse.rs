//! The manifest walk: TOML text to [`Manifest`] plus diagnostics, every value with its span.
//!
//! The document is parsed with `toml`'s span-preserving `DeTable` (recovering from syntax
//! errors so that all of them are reported), then each table is read against the keys the
//! format defines through the shared reader (`toml_doc.rs`); this file keeps only the schema.
//! Each check reports and moves on; a bad grant is left out of the model.

use std::ops::Range;

use toml::de::{DeTable, DeValue};

use super::rules::{self as rule, FORMAT};
use super::{Acknowledged, ComponentInfo, Entry, Limits, MAX_MANIFEST_BYTES, Manifest, Parsed};
use crate::diagnostics::{Diagnostic, SourceId, Sources};
use crate::policy::{
    Action, FsAction, FsGrant, HostPattern, NetAction, NetGrant, PathPattern, ProcAction, ProcGrant, Signal,
};
use crate::toml_doc::{self, Reader, Table, Value};

const TOP_KEYS: &[&str] = &["component", "permissions", "config", "limits", "acknowledged"];
const ACK_KEYS: &[&str] = &["reason", "filesystem", "network", "process"];
const COMPONENT_KEYS: &[&str] = &["name", "version", "description", "author", "license", "repository"];
const PERMISSION_KEYS: &[&str] = &["filesystem", "network", "process"];
const FS_KEYS: &[&str] = &["action", "path"];
const NET_KEYS: &[&str] = &["action", "domain", "port"];
const PROC_KEYS: &[&str] = &["action", "executable", "signal"];
const LIMIT_KEYS: &[&str] = &["memory", "fuel", "timeout-ms", "instances", "tables", "memories"];

/// Refuses input that must not be parsed at all: too large, or not UTF-8.
pub(super) fn refuse_bytes(sources: &mut Sources, name: &str, bytes: &[u8]) -> Option<Diagnostic> {
    if bytes.len() > MAX_MANIFEST_BYTES {
        return Some(too_large(sources, name, bytes.len() as u64));
    }
    if let Err(e) = std::str::from_utf8(bytes) {
        let id = sources.add_binary(name);
        return Some(rule::not_utf8(id, e.valid_up_to()));
    }
    None
}

/// The finding for a manifest of `size` bytes, over the limit.
pub(super) fn too_large(sources: &mut Sources, name: &str, size: u64) -> Diagnostic {
    let id = sources.add_binary(name);
    rule::too_large(id, size)
}

pub(super) fn parse(source: SourceId, text: &str) -> Parsed {
    // What the parser recovers from a syntax error is a guess; checking it would add findings
    // about text the author did not write, so only the syntax errors are reported.
    let (manifest, diagnostics) = toml_doc::walk(source, text, &FORMAT, |doc, root, span| {
        Walker { doc }.manifest(root, span)
    });
    Parsed { manifest, diagnostics }
}

/// The manifest's schema over the shared reader.
struct Walker<'r> {
    doc: &'r Reader<'static>,
}

impl Walker<'_> {
    fn push(&self, d: Diagnostic) {
        self.doc.push(d);
    }

    fn manifest(&self, root: &DeTable<'_>, span: Range<usize>) -> Manifest {
        let source = self.doc.source;
        let top = self.doc.table(root, span, "", TOP_KEYS);
        let mut m = Manifest {
            source,
            component: ComponentInfo::default(),
            filesystem: Vec::new(),
            network: Vec::new(),
            process: Vec::new(),
            limits: Limits::default(),
            config: Vec::new(),
            acknowledged: None,
            spans: Default::default(),
        };
        match top.get("component") {
            Some(_) => {
                if let Some((t, span)) = top.optional_table("component") {
                    m.component = self.component(&self.doc.table(t, span, "component", COMPONENT_KEYS));
                }
            }
            None => self.push(rule::missing_component_table(source)),
        }
        if let Some((t, span)) = top.optional_table("permissions") {
            let t = self.doc.table(t, span.clone(), "permissions", PERMISSION_KEYS);
            m.spans = super::SectionSpans {
                permissions: Some(span),
                filesystem: t.get("filesystem").map(|v| v.span()),
                network: t.get("network").map(|v| v.span()),
                process: t.get("process").map(|v| v.span()),
            };
            m.filesystem = self.grants(&t, "filesystem", |e, s| self.fs_grant(e, s));
            m.network = self.grants(&t, "network", |e, s| self.net_grant(e, s));
            m.process = self.grants(&t, "process", |e, s| self.proc_grant(e, s));
        }
        if let Some((t, span)) = top.optional_table("limits") {
            m.limits = self.limits(&self.doc.table(t, span, "limits", LIMIT_KEYS));
        }
        if let Some((t, _)) = top.optional_table("config") {
            m.config = self.config(t);
        }
        if let Some((t, span)) = top.optional_table("acknowledged") {
            m.acknowledged = self.acknowledged(&self.doc.table(t, span, "acknowledged", ACK_KEYS));
        }
        let checks = super::grants::check(&m);
        for d in checks {
            self.push(d);
        }
        m
    }

    fn component(&self, t: &Table<'_, '_, '_>) -> ComponentInfo {
        let source = self.doc.source;
        let mut c = ComponentInfo::default();
        match t.required_str("name") {
            Some((name, _)) if valid_name(&name) => c.name = name,
            Some((name, s)) => {
                let fixed = super::component_name_from(&name);
                self.push(rule::invalid_component_name(source, s, &name, &fixed));
            }
            None => {}
        }
        if let Some((v, s)) = t.required_str("version") {
            match semver::Version::parse(&v) {
                Ok(ver) => c.version = Some(ver),
                Err(e) => self.push(rule::invalid_version(source, s, &v, &e)),
            }
        }
        if let Some((d, s)) = t.optional_str("description") {
            let n = d.chars().count();
            if n > 500 {
                self.push(rule::description_too_long(source, s, n));
            } else {
                c.description = Some(d);
            }
        }
        c.author = t.optional_str("author").map(|(a, _)| a);
        c.license = t.optional_str("license").map(|(a, _)| a);
        if let Some((u, s)) = t.optional_str("repository") {
            match url::Url::parse(&u) {
                Ok(url) if url.has_host() => c.repository = Some(u),
                Ok(_) => self.push(rule::repository_without_host(source, s, &u)),
                Err(e) => self.push(rule::invalid_repository_url(source, s, &u, &e)),
            }
        }
        c
    }

    /// An array of grant tables under `permissions.<key>`.
    fn grants<'a, 'i, G>(
        &self,
        t: &Table<'a, '_, 'i>,
        key: &str,
        one: impl FnMut(&'a DeTable<'i>, Range<usize>) -> Option<Entry<G>>,
    ) -> Vec<Entry<G>> {
        let Some(v) = t.get(key) else { return Vec::new() };
        self.doc.tables(
            v,
            &format!("permissions.{key}"),
            [
                "an array of tables, e.g. `[{ action = \"...\", ... }]`",
                "a table, e.g. `{ action = \"...\", ... }`",
            ],
            one,
        )
    }

    fn fs_grant(&self, t: &DeTable<'_>, span: Range<usize>) -> Option<Entry<FsGrant>> {
        let t = self.doc.table(t, span.clone(), "filesystem grant", FS_KEYS);
        let action = self.action(&t, "filesystem", FsAction::ALL.iter().map(|a| (a.as_str(), *a)));
        let (path, vspan) = t.required_str("path")?;
        let pattern = match PathPattern::parse(&path) {
            Ok(p) => p,
            Err(e) => {
                self.push(rule::invalid_path(self.doc.source, vspan, &path, &e));
                return None;
            }
        };
        Some(Entry {
            grant: FsGrant {
                action: action?,
                pattern,
            },
            span,
            value_span: vspan,
        })
    }

    fn net_grant(&self, t: &DeTable<'_>, span: Range<usize>) -> Option<Entry<NetGrant>> {
        let t = self.doc.table(t, span.clone(), "network grant", NET_KEYS);
        let action = self.action(&t, "network", NetAction::ALL.iter().map(|a| (a.as_str(), *a)))?;
        let (needs_domain, needs_port) = match action {
            NetAction::Connect => (Some(true), Some(true)),
            NetAction::Resolve => (Some(true), None),
            NetAction::Bind | NetAction::Listen => (Some(false), Some(true)),
        };
        let t = t.called(format!("`{}` grant", action.as_str()));
        let host = self.domain(&t, needs_domain);
        let port = self.port(&t, needs_port, action);
        let (host, port) = (host?, port?);
        let value_span = t.get("domain").or(t.get("port")).map_or(span.clone(), |v| v.span());
        Some(Entry {
            grant: NetGrant {
                action,
                host: host.map(|(h, _)| h),
                port,
            },
            span,
            value_span,
        })
    }

    /// `Some(None)` when absent and optional; `None` when invalid or missing but required.
    fn domain(&self, t: &Table<'_, '_, '_>, needed: Option<bool>) -> Option<Option<(HostPattern, Range<usize>)>> {
        if needed == Some(true) {
            let (d, s) = t.required_str("domain")?;
            return self.host_pattern(&d, s).map(Some);
        }
        match t.optional_str("domain") {
            None => Some(None),
            Some((d, s)) => self.host_pattern(&d, s).map(Some),
        }
    }

    fn host_pattern(&self, d: &str, s: Range<usize>) -> Option<(HostPattern, Range<usize>)> {
        match HostPattern::parse(d) {
            Ok(h) => Some((h, s)),
            Err(e) => {
                self.push(rule::invalid_domain(self.doc.source, s, d, &e));
                None
            }
        }
    }

    /// Reads `port`: required, irrelevant (reported) or absent.
    fn port(&self, t: &Table<'_, '_, '_>, needed: Option<bool>, action: NetAction) -> Option<Option<u16>> {
        let Some(v) = t.get("port") else {
            if needed == Some(true) {
                t.missing("port", "a port from 1 to 65535, e.g. `port = 443`");
                return None;
            }
            return Some(None);
        };
        if needed.is_none() {
            self.push(rule::irrelevant_port(self.doc.source, v.span(), action.as_str()));
            return None;
        }
        let n = self.doc.integer(v, "port")?;
        match u16::try_from(n) {
            Ok(p) if p != 0 => Some(Some(p)),
            _ => {
                self.push(rule::invalid_port(self.doc.source, v.span(), n));
                None
            }
        }
    }

    fn proc_grant(&self, t: &DeTable<'_>, span: Range<usize>) -> Option<Entry<ProcGrant>> {
        let t = self.doc.table(t, span.clone(), "process grant", PROC_KEYS);
        let action = self.action(&t, "process", ProcAction::ALL.iter().map(|a| (a.as_str(), *a)))?;
        let (used, unused) = match action {
            ProcAction::Spawn => ("executable", "signal"),
            ProcAction::Signal => ("signal", "executable"),
        };
        if let Some(v) = t.get(unused) {
            self.push(rule::irrelevant_process_field(
                self.doc.source,
                v.span(),
                action,
                unused,
                used,
            ));
        }
        let (value, vspan) = t.called(format!("`{}` grant", action.as_str())).required_str(used)?;
        let grant = match action {
            ProcAction::Spawn => ProcGrant::Spawn {
                executable: self.executable(&value, vspan.clone())?,
            },
            ProcAction::Signal => ProcGrant::Signal {
                signal: self.signal(&value, vspan.clone())?,
            },
        };
        Some(Entry {
            grant,
            span,
            value_span: vspan,
        })
    }

    fn executable(&self, value: &str, span: Range<usize>) -> Option<String> {
        match ProcGrant::spawn(value) {
            Ok(ProcGrant::Spawn { executable }) => Some(executable),
            Ok(ProcGrant::Signal { .. }) => None,
            Err(e) => {
                self.push(rule::invalid_executable(self.doc.source, span, &e));
                None
            }
        }
    }

    fn signal(&self, value: &str, span: Range<usize>) -> Option<Signal> {
        match Signal::parse(value) {
            Ok(s) => Some(s),
            Err(_) => {
                self.push(rule::unknown_signal(self.doc.source, span, value));
                None
            }
        }
    }

    fn limits(&self, t: &Table<'_, '_, '_>) -> Limits {
        let mut l = Limits::default();
        if let Some(v) = t.get("memory") {
            l.memory = self.memory(v);
        }
        for (key, slot) in [
            ("fuel", &mut l.fuel),
            ("timeout-ms", &mut l.timeout_ms),
            ("instances", &mut l.instances),
            ("tables", &mut l.tables),
            ("memories", &mut l.memories),
        ] {
            if let Some(v) = t.get(key) {
                *slot = self.positive(v, key);
            }
        }
        l
    }

    fn memory(&self, v: &Value<'_>) -> Option<u64> {
        match v.get_ref() {
            DeValue::Integer(_) => self.positive(v, "memory"),
            DeValue::String(s) => match parse_size(s) {
                Some(n) if n > 0 => Some(n),
                _ => {
                    self.push(rule::invalid_memory_size(self.doc.source, v.span(), s));
                    None
                }
            },
            _ => {
                self.doc.wrong_type(
                    v,
                    "limits.memory",
                    "an integer number of bytes or a string such as \"64 MiB\"",
                );
                None
            }
        }
    }

    fn positive(&self, v: &Value<'_>, key: &str) -> Option<u64> {
        let n = self.doc.integer(v, &format!("limits.{key}"))?;
        match u64::try_from(n) {
            Ok(n) if n > 0 => Some(n),
            _ => {
                self.push(rule::limit_not_positive(self.doc.source, v.span(), key, n));
                None
            }
        }
    }

    /// `[acknowledged]`: a reason and, per domain, an array of action names.
    fn acknowledged(&self, t: &Table<'_, '_, '_>) -> Option<Acknowledged> {
        let reason = match t.called("`[acknowledged]`").required_str("reason") {
            Some((reason, s)) if reason.trim().is_empty() => {
                self.push(rule::empty_acknowledgment_reason(self.doc.source, s));
                None
            }
            other => other.map(|(reason, _)| reason),
        };
        let mut actions: Vec<(Action, Range<usize>)> = Vec::new();
        let domains: [(&str, Vec<(&'static str, Action)>); 3] = [
            (
                "filesystem",
                FsAction::ALL.iter().map(|a| (a.as_str(), Action::Fs(*a))).collect(),
            ),
            (
                "network",
                NetAction::ALL.iter().map(|a| (a.as_str(), Action::Net(*a))).collect(),
            ),
            (
                "process",
                ProcAction::ALL.iter().map(|a| (a.as_str(), Action::Proc(*a))).collect(),
            ),
        ];
        for (domain, known) in domains {
            let Some(v) = t.get(domain) else { continue };
            let Some(items) = self
                .doc
                .array(v, &format!("acknowledged.{domain}"), "an array of action names")
            else {
                continue;
            };
            for item in items.iter() {
                let Some((name, s)) = self.doc.string(item, &format!("an entry of acknowledged.{domain}")) else {
                    continue;
                };
                let Some(&(_, action)) = known.iter().find(|(n, _)| *n == name) else {
                    let names: Vec<&str> = known.iter().map(|(n, _)| *n).collect();
                    self.push(rule::unknown_acknowledged_action(
                        self.doc.source,
                        s,
                        domain,
                        &name,
                        &names,
                    ));
                    continue;
                };
                if let Some((_, first)) = actions.iter().find(|(a, _)| *a == action) {
                    self.push(rule::acknowledged_twice(
                        self.doc.source,
                        s,
                        first.clone(),
                        domain,
                        &name,
                    ));
                    continue;
                }
                actions.push((action, s));
            }
        }
        Some(Acknowledged {
            reason: reason?,
            span: t.span(),
            actions,
        })
    }

    fn config(&self, t: &DeTable<'_>) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for (k, v) in t.iter() {
            let value = match v.get_ref() {
                DeValue::String(s) => s.to_string(),
                DeValue::Integer(i) => i.to_string(),
                DeValue::Float(f) => f.to_string(),
                DeValue::Boolean(b) => b.to_string(),
                DeValue::Datetime(d) => d.to_string(),
                _ => {
                    self.doc.wrong_type(
                        v,
                        &format!("config.{}", k.get_ref()),
                        "a string, number, boolean or date (config values are passed to `init` as strings)",
                    );
                    continue;
                }
            };
            out.push((k.get_ref().to_string(), value));
        }
        out
    }

    /// The `action` of a grant, with "did you mean" for unknown ones.
    fn action<A: Copy>(
        &self,
        t: &Table<'_, '_, '_>,
        domain: &str,
        known: impl Iterator<Item = (&'static str, A)> + Clone,
    ) -> Option<A> {
        let (a, s) = t.required_str("action")?;
        if let Some((_, action)) = known.clone().find(|(n, _)| *n == a) {
            return Some(action);
        }
        let names: Vec<&str> = known.map(|(n, _)| n).collect();
        self.push(rule::unknown_action(self.doc.source, s, domain, &a, &names));
        None
    }
}

/// `^[a-z0-9][a-z0-9-]{1,62}[a-z0-9]$`
pub(crate) fn valid_name(name: &str) -> bool {
    let b = name.as_bytes();
    let ok = |c: &u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    (3..=64).contains(&b.len()) && ok(&b[0]) && ok(&b[b.len() - 1]) && b.iter().all(|c| ok(c) || *c == b'-')
}

/// `"64 MiB"`, `"1GiB"`, `"512"` to bytes (units are binary, as in `[limits] memory`).
pub fn parse_size(s: &str) -> Option<u64> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (n, unit) = s.split_at(split);
    let n: u64 = n.parse().ok()?;
    let mult: u64 = match unit.trim() {
        "" | "B" => 1,
        "KiB" | "K" | "KB" => 1 << 10,
        "MiB" | "M" | "MB" => 1 << 20,
        "GiB" | "G" | "GB" => 1 << 30,
        _ => return None,
    };
    n.checked_mul(mult)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(valid_name("abc"));
        assert!(valid_name("csv-export-2"));
        assert!(!valid_name("ab"));
        assert!(!valid_name("-abc"));
        assert!(!valid_name("abc-"));
        assert!(!valid_name("Abc"));
        assert!(!valid_name(&"a".repeat(65)));
        assert!(valid_name(&"a".repeat(64)));
        assert_eq!(super::super::component_name_from("My_Component"), "my-component");
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("64 MiB"), Some(64 << 20));
        assert_eq!(parse_size("1GiB"), Some(1 << 30));
        assert_eq!(parse_size("512"), Some(512));
        assert_eq!(parse_size("12 parsecs"), None);
        assert_eq!(parse_size("99999999999999 GiB"), None);
    }
}
