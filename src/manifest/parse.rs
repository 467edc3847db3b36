//! The manifest walk: TOML text to [`Manifest`] plus diagnostics, every value with its span.
//!
//! The document is parsed with `toml`'s span-preserving `DeTable` (recovering from syntax
//! errors so that all of them are reported), then each table is checked against the keys the
//! format defines. Each check reports and moves on; a bad grant is left out of the model.

use std::ops::Range;

use toml::de::{DeTable, DeValue};

use super::{Acknowledged, ComponentInfo, Entry, Limits, MAX_MANIFEST_BYTES, MAX_NESTING, Manifest, Parsed};
use crate::diagnostics::registry as r;
use crate::diagnostics::{Diagnostic, Rule, SourceId, Sources, did_you_mean};
use crate::policy::{
    Action, FsAction, FsGrant, HostPattern, NetAction, NetGrant, PathPattern, ProcAction, ProcGrant, Signal,
};
use crate::toml_doc::{self, ReadRules, Value, get, type_name};

const TOP_KEYS: &[&str] = &["component", "permissions", "config", "limits", "acknowledged"];
const ACK_KEYS: &[&str] = &["reason", "filesystem", "network", "process"];
const COMPONENT_KEYS: &[&str] = &["name", "version", "description", "author", "license", "repository"];
const PERMISSION_KEYS: &[&str] = &["filesystem", "network", "process"];
const FS_KEYS: &[&str] = &["action", "path"];
const NET_KEYS: &[&str] = &["action", "domain", "port"];
const PROC_KEYS: &[&str] = &["action", "executable", "signal"];
const LIMIT_KEYS: &[&str] = &["memory", "fuel", "timeout-ms"];

/// Refuses input that must not be parsed at all: too large, or not UTF-8.
pub(super) fn refuse_bytes(sources: &mut Sources, name: &str, bytes: &[u8]) -> Option<Diagnostic> {
    if bytes.len() > MAX_MANIFEST_BYTES {
        return Some(too_large(sources, name, bytes.len() as u64));
    }
    if let Err(e) = std::str::from_utf8(bytes) {
        let id = sources.add_binary(name);
        let at = e.valid_up_to();
        return Some(
            Diagnostic::new(&r::MANIFEST_NOT_UTF8, "the manifest is not valid UTF-8")
                .at(id, at..at + 1, "first invalid byte")
                .help("save the manifest as UTF-8 text"),
        );
    }
    None
}

/// The finding for a manifest of `size` bytes, over the limit.
pub(super) fn too_large(sources: &mut Sources, name: &str, size: u64) -> Diagnostic {
    let id = sources.add_binary(name);
    Diagnostic::new(
        &r::MANIFEST_TOO_LARGE,
        format!("the manifest is {size} bytes, over the limit of {MAX_MANIFEST_BYTES}"),
    )
    .at(id, 0..0, "")
    .help("a manifest lists grants; remove generated or pasted content")
}

pub(super) fn parse(source: SourceId, text: &str) -> Parsed {
    let mut w = Walker {
        source,
        diagnostics: Vec::new(),
    };
    let rules = ReadRules {
        syntax: &r::MANIFEST_SYNTAX,
        too_deep: &r::MANIFEST_TOO_LARGE,
        max_nesting: MAX_NESTING,
        what: "a manifest",
    };
    // What the parser recovers from a syntax error is a guess; checking it would add findings
    // about text the author did not write, so only the syntax errors are reported.
    let root = match toml_doc::read(source, text, &rules) {
        Ok(root) => root,
        Err(diagnostics) => {
            return Parsed {
                manifest: None,
                diagnostics,
            };
        }
    };
    let manifest = w.manifest(root.get_ref());
    Parsed {
        manifest: Some(manifest),
        diagnostics: w.diagnostics,
    }
}

struct Walker {
    source: SourceId,
    diagnostics: Vec<Diagnostic>,
}

impl Walker {
    fn push(&mut self, d: Diagnostic) {
        self.diagnostics.push(d);
    }

    fn report(&mut self, rule: &'static Rule, span: Range<usize>, message: String, label: &str, help: Option<String>) {
        let mut d = Diagnostic::new(rule, message).at(self.source, span, label);
        if let Some(h) = help {
            d = d.help(h);
        }
        self.push(d);
    }

    fn manifest(&mut self, root: &DeTable<'_>) -> Manifest {
        self.unknown_keys(root, "", TOP_KEYS);
        let mut m = Manifest {
            source: self.source,
            component: ComponentInfo::default(),
            filesystem: Vec::new(),
            network: Vec::new(),
            process: Vec::new(),
            limits: Limits::default(),
            config: Vec::new(),
            acknowledged: None,
            spans: Default::default(),
        };
        match get(root, "component") {
            Some(v) => {
                if let Some(t) = self.table(v, "component") {
                    m.component = self.component(t, v.span());
                }
            }
            None => self.report(
                &r::MISSING_FIELD,
                0..0,
                "missing table `[component]`".into(),
                "expected `[component]` with `name` and `version`",
                Some("add `[component]` with `name = \"...\"` and `version = \"1.0.0\"`".into()),
            ),
        }
        if let Some(v) = get(root, "permissions")
            && let Some(t) = self.table(v, "permissions")
        {
            self.unknown_keys(t, "permissions.", PERMISSION_KEYS);
            m.spans = super::SectionSpans {
                permissions: Some(v.span()),
                filesystem: get(t, "filesystem").map(|v| v.span()),
                network: get(t, "network").map(|v| v.span()),
                process: get(t, "process").map(|v| v.span()),
            };
            m.filesystem = self.grants(t, "filesystem", |w, e, s| w.fs_grant(e, s));
            m.network = self.grants(t, "network", |w, e, s| w.net_grant(e, s));
            m.process = self.grants(t, "process", |w, e, s| w.proc_grant(e, s));
        }
        if let Some(v) = get(root, "limits")
            && let Some(t) = self.table(v, "limits")
        {
            m.limits = self.limits(t);
        }
        if let Some(v) = get(root, "config")
            && let Some(t) = self.table(v, "config")
        {
            m.config = self.config(t);
        }
        if let Some(v) = get(root, "acknowledged")
            && let Some(t) = self.table(v, "acknowledged")
        {
            m.acknowledged = self.acknowledged(t, v.span());
        }
        let checks = super::grants::check(&m);
        self.diagnostics.extend(checks);
        m
    }

    fn component(&mut self, t: &DeTable<'_>, span: Range<usize>) -> ComponentInfo {
        self.unknown_keys(t, "component.", COMPONENT_KEYS);
        let mut c = ComponentInfo::default();
        match self.required_str(t, "name", "component", span.clone()) {
            Some((name, _)) if valid_name(&name) => c.name = name,
            Some((name, s)) => {
                let fixed = super::component_name_from(&name);
                self.report(
                    &r::INVALID_COMPONENT_NAME,
                    s,
                    format!("`{name}` is not a valid component name"),
                    "invalid name",
                    Some(format!(
                        "use 3-64 lower-case letters, digits and hyphens, e.g. `{fixed}`"
                    )),
                );
            }
            None => {}
        }
        if let Some((v, s)) = self.required_str(t, "version", "component", span) {
            match semver::Version::parse(&v) {
                Ok(ver) => c.version = Some(ver),
                Err(e) => {
                    let help = match v.strip_prefix(['v', 'V']).map(semver::Version::parse) {
                        Some(Ok(_)) => format!("drop the `v` prefix: `{}`", &v[1..]),
                        _ => "write a SemVer 2.0.0 version such as `1.2.3`".into(),
                    };
                    self.report(
                        &r::INVALID_VERSION,
                        s,
                        format!("`{v}` is not a SemVer version: {e}"),
                        "invalid version",
                        Some(help),
                    );
                }
            }
        }
        if let Some((d, s)) = self.optional_str(t, "description") {
            let n = d.chars().count();
            if n > 500 {
                self.report(
                    &r::DESCRIPTION_TOO_LONG,
                    s,
                    format!("the description is {n} characters long, over the limit of 500"),
                    "too long",
                    Some("shorten it; link to documentation through `repository`".into()),
                );
            } else {
                c.description = Some(d);
            }
        }
        c.author = self.optional_str(t, "author").map(|(a, _)| a);
        c.license = self.optional_str(t, "license").map(|(a, _)| a);
        if let Some((u, s)) = self.optional_str(t, "repository") {
            match url::Url::parse(&u) {
                Ok(url) if url.has_host() => c.repository = Some(u),
                Ok(_) => self.report(
                    &r::INVALID_REPOSITORY_URL,
                    s,
                    format!("`{u}` is not a repository URL"),
                    "no host",
                    Some("give the full URL, e.g. `https://github.com/org/repo`".into()),
                ),
                Err(e) => self.report(
                    &r::INVALID_REPOSITORY_URL,
                    s,
                    format!("`{u}` is not a valid URL: {e}"),
                    "invalid URL",
                    Some("give the full URL, e.g. `https://github.com/org/repo`".into()),
                ),
            }
        }
        c
    }

    /// An array of grant tables under `permissions.<key>`.
    fn grants<G>(
        &mut self,
        t: &DeTable<'_>,
        key: &str,
        mut one: impl FnMut(&mut Self, &DeTable<'_>, Range<usize>) -> Option<Entry<G>>,
    ) -> Vec<Entry<G>> {
        let Some(v) = get(t, key) else { return Vec::new() };
        let DeValue::Array(items) = v.get_ref() else {
            self.wrong_type(
                v,
                &format!("permissions.{key}"),
                "an array of tables, e.g. `[{ action = \"...\", ... }]`",
            );
            return Vec::new();
        };
        let mut out = Vec::new();
        for item in items.iter() {
            match item.get_ref() {
                DeValue::Table(entry) => out.extend(one(self, entry, item.span())),
                _ => self.wrong_type(
                    item,
                    &format!("an entry of permissions.{key}"),
                    "a table, e.g. `{ action = \"...\", ... }`",
                ),
            }
        }
        out
    }

    fn fs_grant(&mut self, t: &DeTable<'_>, span: Range<usize>) -> Option<Entry<FsGrant>> {
        self.unknown_keys(t, "filesystem grant ", FS_KEYS);
        let action = self.action(
            t,
            span.clone(),
            "filesystem",
            FsAction::ALL.iter().map(|a| (a.as_str(), *a)),
        );
        let (path, vspan) = self.required_str(t, "path", "filesystem grant", span.clone())?;
        let pattern = match PathPattern::parse(&path) {
            Ok(p) => p,
            Err(e) => {
                self.report(
                    &r::INVALID_PATH,
                    vspan,
                    format!("`{}` is not a valid path pattern: {e}", path.escape_debug()),
                    "invalid path",
                    e.help(),
                );
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

    fn net_grant(&mut self, t: &DeTable<'_>, span: Range<usize>) -> Option<Entry<NetGrant>> {
        self.unknown_keys(t, "network grant ", NET_KEYS);
        let action = self.action(
            t,
            span.clone(),
            "network",
            NetAction::ALL.iter().map(|a| (a.as_str(), *a)),
        )?;
        let (needs_domain, needs_port) = match action {
            NetAction::Connect => (Some(true), Some(true)),
            NetAction::Resolve => (Some(true), None),
            NetAction::Bind | NetAction::Listen => (Some(false), Some(true)),
        };
        let host = self.domain(t, needs_domain, action, span.clone());
        let port = self.port(t, needs_port, action, span.clone());
        let (host, port) = (host?, port?);
        let value_span = get(t, "domain").or(get(t, "port")).map_or(span.clone(), |v| v.span());
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
    fn domain(
        &mut self,
        t: &DeTable<'_>,
        needed: Option<bool>,
        action: NetAction,
        span: Range<usize>,
    ) -> Option<Option<(HostPattern, Range<usize>)>> {
        if needed == Some(true) {
            let (d, s) = self.required_str(t, "domain", &format!("`{}` grant", action.as_str()), span)?;
            return self.host_pattern(&d, s).map(Some);
        }
        match self.optional_str(t, "domain") {
            None => Some(None),
            Some((d, s)) => self.host_pattern(&d, s).map(Some),
        }
    }

    fn host_pattern(&mut self, d: &str, s: Range<usize>) -> Option<(HostPattern, Range<usize>)> {
        match HostPattern::parse(d) {
            Ok(h) => Some((h, s)),
            Err(e) => {
                self.report(
                    &r::INVALID_DOMAIN,
                    s,
                    format!("`{d}` is not a valid domain pattern: {e}"),
                    "invalid domain",
                    e.help(),
                );
                None
            }
        }
    }

    /// Reads `port`: required, irrelevant (reported) or absent.
    fn port(
        &mut self,
        t: &DeTable<'_>,
        needed: Option<bool>,
        action: NetAction,
        span: Range<usize>,
    ) -> Option<Option<u16>> {
        let Some(v) = get(t, "port") else {
            if needed == Some(true) {
                self.missing(
                    span,
                    "port",
                    &format!("`{}` grant", action.as_str()),
                    "a port from 1 to 65535, e.g. `port = 443`",
                );
                return None;
            }
            return Some(None);
        };
        if needed.is_none() {
            self.report(
                &r::IRRELEVANT_FIELD,
                v.span(),
                format!("`port` has no effect on a `{}` grant", action.as_str()),
                "not used by this action",
                Some("remove `port`: a resolve grant covers name lookups on any port".into()),
            );
            return None;
        }
        let n = self.integer(v, "port")?;
        match u16::try_from(n) {
            Ok(p) if p != 0 => Some(Some(p)),
            _ => {
                self.report(
                    &r::INVALID_PORT,
                    v.span(),
                    format!("port {n} is outside 1-65535"),
                    "invalid port",
                    Some("grant the port the component really uses, from 1 to 65535".into()),
                );
                None
            }
        }
    }

    fn proc_grant(&mut self, t: &DeTable<'_>, span: Range<usize>) -> Option<Entry<ProcGrant>> {
        self.unknown_keys(t, "process grant ", PROC_KEYS);
        let action = self.action(
            t,
            span.clone(),
            "process",
            ProcAction::ALL.iter().map(|a| (a.as_str(), *a)),
        )?;
        let (used, unused) = match action {
            ProcAction::Spawn => ("executable", "signal"),
            ProcAction::Signal => ("signal", "executable"),
        };
        if let Some(v) = get(t, unused) {
            self.report(
                &r::IRRELEVANT_FIELD,
                v.span(),
                format!("`{unused}` has no effect on a `{}` grant", action.as_str()),
                "not used by this action",
                Some(format!(
                    "a `{}` grant takes `{used}`; remove `{unused}`",
                    action.as_str()
                )),
            );
        }
        let (value, vspan) = self.required_str(t, used, &format!("`{}` grant", action.as_str()), span.clone())?;
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

    fn executable(&mut self, value: &str, span: Range<usize>) -> Option<String> {
        match ProcGrant::spawn(value) {
            Ok(ProcGrant::Spawn { executable }) => Some(executable),
            Ok(ProcGrant::Signal { .. }) => None,
            Err(e) => {
                let help = e
                    .help()
                    .unwrap_or_else(|| "name one program by its absolute path, e.g. `/usr/bin/git`".into());
                self.report(
                    &r::INVALID_EXECUTABLE,
                    span,
                    e.to_string(),
                    "invalid executable",
                    Some(help),
                );
                None
            }
        }
    }

    fn signal(&mut self, value: &str, span: Range<usize>) -> Option<Signal> {
        match Signal::parse(value) {
            Ok(s) => Some(s),
            Err(_) => {
                let names = Signal::ALL.iter().map(|s| s.as_str());
                let guess = did_you_mean(value, names).map(str::to_string).or_else(|| {
                    Signal::parse(&format!("SIG{}", value.to_ascii_uppercase()))
                        .ok()
                        .map(|s| s.as_str().to_string())
                });
                let help = guess.map_or("use a POSIX signal name such as `SIGTERM`".into(), |g| {
                    format!("did you mean `{g}`?")
                });
                self.report(
                    &r::UNKNOWN_SIGNAL,
                    span,
                    format!("`{value}` is not a POSIX signal name"),
                    "unknown signal",
                    Some(help),
                );
                None
            }
        }
    }

    fn limits(&mut self, t: &DeTable<'_>) -> Limits {
        self.unknown_keys(t, "limits.", LIMIT_KEYS);
        let mut l = Limits::default();
        if let Some(v) = get(t, "memory") {
            l.memory = self.memory(v);
        }
        for (key, slot) in [("fuel", &mut l.fuel), ("timeout-ms", &mut l.timeout_ms)] {
            if let Some(v) = get(t, key) {
                *slot = self.positive(v, key);
            }
        }
        l
    }

    fn memory(&mut self, v: &Value<'_>) -> Option<u64> {
        match v.get_ref() {
            DeValue::Integer(_) => self.positive(v, "memory"),
            DeValue::String(s) => match parse_size(s) {
                Some(n) if n > 0 => Some(n),
                _ => {
                    self.report(
                        &r::INVALID_LIMIT,
                        v.span(),
                        format!("`{s}` is not a memory size"),
                        "invalid size",
                        Some(
                            "write bytes as an integer or a string such as \"64 MiB\" (units B, KiB, MiB, GiB)".into(),
                        ),
                    );
                    None
                }
            },
            _ => {
                self.wrong_type(
                    v,
                    "limits.memory",
                    "an integer number of bytes or a string such as \"64 MiB\"",
                );
                None
            }
        }
    }

    fn positive(&mut self, v: &Value<'_>, key: &str) -> Option<u64> {
        let n = self.integer(v, &format!("limits.{key}"))?;
        match u64::try_from(n) {
            Ok(n) if n > 0 => Some(n),
            _ => {
                self.report(
                    &r::INVALID_LIMIT,
                    v.span(),
                    format!("`{key}` must be positive, found {n}"),
                    "not positive",
                    Some(format!("give `{key}` a positive value")),
                );
                None
            }
        }
    }

    /// `[acknowledged]`: a reason and, per domain, an array of action names.
    fn acknowledged(&mut self, t: &DeTable<'_>, span: Range<usize>) -> Option<Acknowledged> {
        self.unknown_keys(t, "acknowledged.", ACK_KEYS);
        let reason = match self.required_str(t, "reason", "`[acknowledged]`", span.clone()) {
            Some((reason, s)) if reason.trim().is_empty() => {
                self.report(
                    &r::MISSING_FIELD,
                    s,
                    "`[acknowledged]` has an empty `reason`".into(),
                    "empty",
                    Some("say why the component imports operations it will never be granted".into()),
                );
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
            let Some(v) = get(t, domain) else { continue };
            let DeValue::Array(items) = v.get_ref() else {
                self.wrong_type(v, &format!("acknowledged.{domain}"), "an array of action names");
                continue;
            };
            for item in items.iter() {
                let Some((name, s)) = self.string(item, &format!("an entry of acknowledged.{domain}")) else {
                    continue;
                };
                let Some(&(_, action)) = known.iter().find(|(n, _)| *n == name) else {
                    let names: Vec<&str> = known.iter().map(|(n, _)| *n).collect();
                    let mut help = format!(
                        "{domain} actions are {}",
                        names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
                    );
                    if let Some(g) = did_you_mean(&name, names.iter().copied()) {
                        help = format!("did you mean `{g}`? {help}");
                    }
                    self.report(
                        &r::UNKNOWN_ACTION,
                        s,
                        format!("unknown {domain} action `{}`", name.escape_debug()),
                        "unknown action",
                        Some(help),
                    );
                    continue;
                };
                if let Some((_, first)) = actions.iter().find(|(a, _)| *a == action) {
                    let d = Diagnostic::new(&r::DUPLICATE_GRANT, format!("{domain} `{name}` is acknowledged twice"))
                        .at(self.source, s, "again")
                        .also(self.source, first.clone(), "first here")
                        .help("remove the repeated entry");
                    self.push(d);
                    continue;
                }
                actions.push((action, s));
            }
        }
        Some(Acknowledged {
            reason: reason?,
            span,
            actions,
        })
    }

    fn config(&mut self, t: &DeTable<'_>) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for (k, v) in t.iter() {
            let value = match v.get_ref() {
                DeValue::String(s) => s.to_string(),
                DeValue::Integer(i) => i.to_string(),
                DeValue::Float(f) => f.to_string(),
                DeValue::Boolean(b) => b.to_string(),
                DeValue::Datetime(d) => d.to_string(),
                _ => {
                    self.wrong_type(
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
        &mut self,
        t: &DeTable<'_>,
        span: Range<usize>,
        domain: &str,
        known: impl Iterator<Item = (&'static str, A)> + Clone,
    ) -> Option<A> {
        let (a, s) = self.required_str(t, "action", &format!("{domain} grant"), span)?;
        if let Some((_, action)) = known.clone().find(|(n, _)| *n == a) {
            return Some(action);
        }
        let names: Vec<&str> = known.map(|(n, _)| n).collect();
        let mut help = format!(
            "{domain} actions are {}",
            names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
        );
        if let Some(g) = did_you_mean(&a, names.iter().copied()) {
            help = format!("did you mean `{g}`? {help}");
        }
        self.report(
            &r::UNKNOWN_ACTION,
            s,
            format!("unknown {domain} action `{a}`"),
            "unknown action",
            Some(help),
        );
        None
    }

    fn unknown_keys(&mut self, t: &DeTable<'_>, prefix: &str, known: &[&str]) {
        let prefix = prefix.trim_end().trim_end_matches('.');
        let place = if prefix.is_empty() {
            String::new()
        } else {
            format!(" in {prefix}")
        };
        for u in toml_doc::unknown_keys(t, known) {
            self.report(
                &r::UNKNOWN_KEY,
                u.span,
                format!("unknown key `{}`{place}", u.key),
                "unknown key",
                Some(u.help),
            );
        }
    }

    fn table<'a, 'i>(&mut self, v: &'a Value<'i>, what: &str) -> Option<&'a DeTable<'i>> {
        match v.get_ref() {
            DeValue::Table(t) => Some(t),
            _ => {
                self.wrong_type(v, what, "a table");
                None
            }
        }
    }

    fn required_str(
        &mut self,
        t: &DeTable<'_>,
        key: &str,
        what: &str,
        span: Range<usize>,
    ) -> Option<(String, Range<usize>)> {
        match get(t, key) {
            Some(v) => self.string(v, key),
            None => {
                self.missing(span, key, what, "");
                None
            }
        }
    }

    fn optional_str(&mut self, t: &DeTable<'_>, key: &str) -> Option<(String, Range<usize>)> {
        get(t, key).and_then(|v| self.string(v, key))
    }

    fn string(&mut self, v: &Value<'_>, key: &str) -> Option<(String, Range<usize>)> {
        match v.get_ref() {
            DeValue::String(s) => Some((s.to_string(), v.span())),
            _ => {
                self.wrong_type(v, &format!("`{key}`"), "a string");
                None
            }
        }
    }

    fn integer(&mut self, v: &Value<'_>, key: &str) -> Option<i128> {
        match v.get_ref() {
            DeValue::Integer(i) => match i128::from_str_radix(i.as_str(), i.radix()) {
                Ok(n) => Some(n),
                Err(_) => {
                    self.wrong_type(v, key, "an integer");
                    None
                }
            },
            _ => {
                self.wrong_type(v, key, "an integer");
                None
            }
        }
    }

    fn missing(&mut self, span: Range<usize>, key: &str, what: &str, example: &str) {
        let help = if example.is_empty() {
            format!("add `{key} = ...`")
        } else {
            format!("add {example}")
        };
        self.report(
            &r::MISSING_FIELD,
            span,
            format!("{what} is missing `{key}`"),
            &format!("needs `{key}`"),
            Some(help),
        );
    }

    fn wrong_type(&mut self, v: &Value<'_>, what: &str, expected: &str) {
        let found = type_name(v.get_ref());
        let what = what.trim_matches('`');
        self.report(
            &r::WRONG_TYPE,
            v.span(),
            format!("`{what}` must be {expected}, found {found}"),
            &format!("this is {found}"),
            None,
        );
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
