//! The policy walk: TOML text to [`Policy`] plus diagnostics, every rule with its span. Same
//! approach as the manifest walk: `toml`'s span-preserving `DeTable`, every table checked
//! against the keys the format defines ("did you mean" for unknown ones), every problem
//! reported (`invalid-policy`) and the bad rule left out, never guessed.

use std::ops::Range;

use toml::de::{DeTable, DeValue};

use super::{
    Date, FsDeny, NetDeny, NetTarget, ParsedPolicy, Policy, PortRange, REQUIRABLE_FIELDS, RuleRef, Waiver, WaiverTarget,
};
use crate::diagnostics::registry as r;
use crate::diagnostics::{Diagnostic, Level, SourceId, did_you_mean};
use crate::policy::{FsAction, HostPattern, NetAction, PathPattern, ProcGrant, Signal};
use crate::toml_doc::{self, ReadRules, Value, get, type_name};

const TOP_KEYS: &[&str] = &[
    "description",
    "extends",
    "levels",
    "filesystem",
    "network",
    "process",
    "operations",
    "manifest",
    "components",
    "waiver",
];
const COMPONENTS_KEYS: &[&str] = &["kinds"];
const FS_KEYS: &[&str] = &["deny", "roots"];
const FS_DENY_KEYS: &[&str] = &["path", "actions"];
const NET_KEYS: &[&str] = &["deny", "allow-any-host", "ports"];
const NET_DENY_KEYS: &[&str] = &["domain", "cidr", "actions"];
const PROC_KEYS: &[&str] = &["spawn", "deny-executables", "signals"];
const OP_KEYS: &[&str] = &["forbid"];
const MANIFEST_KEYS: &[&str] = &["require", "max-grants"];
const WAIVER_KEYS: &[&str] = &["component", "version", "code", "operation", "reason", "expires"];
/// Network actions a denial applies to when it names none: those that reach a remote host.
const NET_DENY_DEFAULT: &[NetAction] = &[NetAction::Connect, NetAction::Resolve];

pub(super) fn parse(name: &str, source: SourceId, text: &str) -> ParsedPolicy {
    let mut w = Walker {
        name: name.to_string(),
        source,
        text,
        diagnostics: Vec::new(),
    };
    let rules = ReadRules {
        syntax: &r::POLICY_SYNTAX,
        too_deep: &r::INVALID_POLICY,
        max_nesting: super::MAX_NESTING,
        what: "a policy",
    };
    let root = match toml_doc::read(source, text, &rules) {
        Ok(root) => root,
        Err(diagnostics) => {
            return ParsedPolicy {
                policy: None,
                diagnostics,
            };
        }
    };
    let policy = w.policy(root.get_ref());
    ParsedPolicy {
        policy: Some(policy),
        diagnostics: w.diagnostics,
    }
}

struct Walker<'t> {
    name: String,
    source: SourceId,
    text: &'t str,
    diagnostics: Vec<Diagnostic>,
}

impl Walker<'_> {
    fn policy(&mut self, root: &DeTable<'_>) -> Policy {
        self.unknown_keys(root, "", TOP_KEYS);
        let mut p = Policy {
            name: self.name.clone(),
            source: Some(self.source),
            ..Policy::default()
        };
        if let Some(v) = get(root, "description") {
            self.string(v, "description");
        }
        if let Some(v) = get(root, "extends") {
            p.extends = self.strings(v, "extends");
        }
        if let Some(t) = self.section(root, "levels") {
            self.levels(t, &mut p);
        }
        if let Some(t) = self.section(root, "filesystem") {
            self.filesystem(t, &mut p);
        }
        if let Some(t) = self.section(root, "network") {
            self.network(t, &mut p);
        }
        if let Some(t) = self.section(root, "process") {
            self.process(t, &mut p);
        }
        if let Some(t) = self.section(root, "operations") {
            self.unknown_keys(t, "operations", OP_KEYS);
            if let Some(v) = get(t, "forbid") {
                for (op, span) in self.strings(v, "operations.forbid") {
                    self.operation_name(&op, span.clone());
                    p.forbid_operations.push((op, self.rule_ref(span)));
                }
            }
        }
        if let Some(t) = self.section(root, "manifest") {
            self.hygiene(t, &mut p);
        }
        if let Some(t) = self.section(root, "components") {
            self.components(t, &mut p);
        }
        if let Some(v) = get(root, "waiver") {
            p.waivers = self.tables(v, "waiver", |w, t, s| w.waiver(t, s));
        }
        p
    }

    fn section<'a, 'i>(&mut self, root: &'a DeTable<'i>, key: &str) -> Option<&'a DeTable<'i>> {
        let v = get(root, key)?;
        match v.get_ref() {
            DeValue::Table(t) => Some(t),
            _ => {
                self.wrong_type(v, key, "a table");
                None
            }
        }
    }

    fn levels(&mut self, t: &DeTable<'_>, p: &mut Policy) {
        for (k, v) in t.iter() {
            let code = k.get_ref();
            let known = if code == "warnings" {
                Some("warnings")
            } else {
                r::lookup(code).map(|r| r.code)
            };
            let Some(rule) = known else {
                self.report(
                    k.span(),
                    r::unknown_rule_message(code),
                    "unknown code",
                    "`airssys-wasm explain --list` lists the codes; `warnings` sets every warning",
                );
                continue;
            };
            let Some((level, span)) = self.string(v, &format!("levels.{code}")) else {
                continue;
            };
            let level = match level.as_str() {
                "allow" => Level::Allow,
                "warn" => Level::Warn,
                "deny" => Level::Deny,
                other => {
                    let help = did_you_mean(other, ["allow", "warn", "deny"])
                        .map_or("levels are `allow`, `warn` and `deny`".into(), |g| {
                            format!("did you mean `{g}`?")
                        });
                    self.report(span, format!("unknown level `{other}`"), "unknown level", &help);
                    continue;
                }
            };
            let whole = k.span().start..v.span().end;
            p.levels.push((rule, level, self.rule_ref(whole)));
        }
    }

    fn filesystem(&mut self, t: &DeTable<'_>, p: &mut Policy) {
        self.unknown_keys(t, "filesystem", FS_KEYS);
        if let Some(v) = get(t, "deny") {
            p.fs_deny = self.tables(v, "filesystem.deny", |w, t, s| w.fs_deny(t, s));
        }
        if let Some(v) = get(t, "roots") {
            let roots = self
                .strings(v, "filesystem.roots")
                .into_iter()
                .filter_map(|(s, span)| self.path_pattern(&s, span))
                .collect();
            p.fs_roots = Some((roots, self.rule_ref(v.span())));
        }
    }

    fn fs_deny(&mut self, t: &DeTable<'_>, span: Range<usize>) -> Option<FsDeny> {
        self.unknown_keys(t, "a filesystem denial", FS_DENY_KEYS);
        let actions = self.actions(t, "filesystem", FsAction::ALL, FsAction::ALL, FsAction::as_str);
        let (path, vspan) = self.required_str(t, "path", "a filesystem denial", span.clone())?;
        let pattern = self.path_pattern(&path, vspan)?;
        Some(FsDeny {
            actions: actions?,
            pattern,
            at: self.rule_ref(span),
        })
    }

    fn network(&mut self, t: &DeTable<'_>, p: &mut Policy) {
        self.unknown_keys(t, "network", NET_KEYS);
        if let Some(v) = get(t, "deny") {
            p.net_deny = self.tables(v, "network.deny", |w, t, s| w.net_deny(t, s));
        }
        if let Some(v) = get(t, "allow-any-host")
            && let Some(false) = self.boolean(v, "network.allow-any-host")
        {
            p.forbid_any_host = Some(self.rule_ref(v.span()));
        }
        if let Some(v) = get(t, "ports") {
            p.ports = self.ports(v).map(|ports| (ports, self.rule_ref(v.span())));
        }
    }

    fn net_deny(&mut self, t: &DeTable<'_>, span: Range<usize>) -> Option<NetDeny> {
        self.unknown_keys(t, "a network denial", NET_DENY_KEYS);
        let actions = self.actions(t, "network", NetAction::ALL, NET_DENY_DEFAULT, NetAction::as_str);
        let target = match (get(t, "domain"), get(t, "cidr")) {
            (Some(_), Some(c)) => {
                self.report(
                    c.span(),
                    "a network denial takes `domain` or `cidr`, not both".into(),
                    "second target",
                    "write two denials",
                );
                None
            }
            (Some(d), None) => {
                let (d, s) = self.string(d, "domain")?;
                match HostPattern::parse(&d) {
                    Ok(h) => Some(NetTarget::Host(h)),
                    Err(e) => {
                        let help = e
                            .help()
                            .unwrap_or_else(|| "give a host, `*.example.com` or `**`".into());
                        self.report(
                            s,
                            format!("`{d}` is not a valid domain pattern: {e}"),
                            "invalid domain",
                            &help,
                        );
                        None
                    }
                }
            }
            (None, Some(c)) => {
                let (c, s) = self.string(c, "cidr")?;
                self.cidr(&c, s).map(NetTarget::Cidr)
            }
            (None, None) => {
                self.missing(
                    span.clone(),
                    "domain",
                    "a network denial",
                    "`domain = \"...\"` or `cidr = \"...\"`",
                );
                None
            }
        };
        Some(NetDeny {
            actions: actions?,
            target: target?,
            at: self.rule_ref(span),
        })
    }

    fn cidr(&mut self, c: &str, s: Range<usize>) -> Option<ipnet::IpNet> {
        if let Ok(net) = c.parse::<ipnet::IpNet>() {
            return Some(net.trunc());
        }
        if let Ok(ip) = c.parse::<std::net::IpAddr>() {
            return Some(ipnet::IpNet::from(ip));
        }
        self.report(
            s,
            format!("`{c}` is not a CIDR range"),
            "invalid CIDR",
            "write an address and prefix length, e.g. `169.254.0.0/16` or `fe80::/10`",
        );
        None
    }

    fn ports(&mut self, v: &Value<'_>) -> Option<Vec<PortRange>> {
        let DeValue::Array(items) = v.get_ref() else {
            self.wrong_type(v, "network.ports", "an array of ports and \"first-last\" ranges");
            return None;
        };
        let mut out = Vec::new();
        for item in items.iter() {
            let range = match item.get_ref() {
                DeValue::Integer(_) => self.port(item).map(|p| PortRange { first: p, last: p }),
                DeValue::String(s) => self.port_range(s, item.span()),
                _ => {
                    self.wrong_type(item, "a port", "an integer or a string such as \"8000-8999\"");
                    None
                }
            };
            out.extend(range);
        }
        Some(out)
    }

    fn port(&mut self, v: &Value<'_>) -> Option<u16> {
        let n = self.integer(v, "a port")?;
        match u16::try_from(n) {
            Ok(p) if p > 0 => Some(p),
            _ => {
                self.report(
                    v.span(),
                    format!("port {n} is outside 1-65535"),
                    "invalid port",
                    "ports are 1 to 65535",
                );
                None
            }
        }
    }

    fn port_range(&mut self, s: &str, span: Range<usize>) -> Option<PortRange> {
        let parse = |x: &str| x.trim().parse::<u16>().ok().filter(|p| *p > 0);
        let range = match s.split_once('-') {
            Some((a, b)) => parse(a).zip(parse(b)).map(|(first, last)| PortRange { first, last }),
            None => parse(s).map(|p| PortRange { first: p, last: p }),
        };
        match range {
            Some(r) if r.first <= r.last => Some(r),
            _ => {
                self.report(
                    span,
                    format!("`{s}` is not a port range"),
                    "invalid range",
                    "write `\"first-last\"` with ports from 1 to 65535, first <= last",
                );
                None
            }
        }
    }

    fn process(&mut self, t: &DeTable<'_>, p: &mut Policy) {
        self.unknown_keys(t, "process", PROC_KEYS);
        if let Some(v) = get(t, "spawn")
            && let Some(false) = self.boolean(v, "process.spawn")
        {
            p.forbid_spawn = Some(self.rule_ref(v.span()));
        }
        if let Some(v) = get(t, "deny-executables") {
            for (exe, span) in self.strings(v, "process.deny-executables") {
                match ProcGrant::spawn(&exe) {
                    Ok(ProcGrant::Spawn { executable }) => p.deny_executables.push((executable, self.rule_ref(span))),
                    Ok(_) => {}
                    Err(e) => {
                        let help = e
                            .help()
                            .unwrap_or_else(|| "name a program by absolute path, e.g. `/bin/sh`".into());
                        self.report(span, e.to_string(), "invalid executable", &help);
                    }
                }
            }
        }
        if let Some(v) = get(t, "signals") {
            let mut signals = Vec::new();
            for (s, span) in self.strings(v, "process.signals") {
                match Signal::parse(&s) {
                    Ok(sig) => signals.push(sig),
                    Err(e) => {
                        let help = e
                            .help()
                            .unwrap_or_else(|| "use a POSIX signal name such as `SIGTERM`".into());
                        self.report(
                            span,
                            format!("`{s}` is not a POSIX signal name"),
                            "unknown signal",
                            &help,
                        );
                    }
                }
            }
            p.signals = Some((signals, self.rule_ref(v.span())));
        }
    }

    fn hygiene(&mut self, t: &DeTable<'_>, p: &mut Policy) {
        self.unknown_keys(t, "manifest", MANIFEST_KEYS);
        if let Some(v) = get(t, "require") {
            for (field, span) in self.strings(v, "manifest.require") {
                match REQUIRABLE_FIELDS.iter().find(|f| **f == field) {
                    Some(f) => p.require.push((f, self.rule_ref(span))),
                    None => {
                        let help = did_you_mean(&field, REQUIRABLE_FIELDS.iter().copied()).map_or_else(
                            || format!("fields that can be required: {}", quoted(REQUIRABLE_FIELDS)),
                            |g| format!("did you mean `{g}`?"),
                        );
                        self.report(
                            span,
                            format!("`{field}` is not a `[component]` field a policy can require"),
                            "unknown field",
                            &help,
                        );
                    }
                }
            }
        }
        if let Some(v) = get(t, "max-grants")
            && let Some(n) = self.integer(v, "manifest.max-grants")
        {
            match usize::try_from(n) {
                Ok(n) => p.max_grants = Some((n, self.rule_ref(v.span()))),
                Err(_) => self.report(
                    v.span(),
                    format!("`max-grants` must not be negative, found {n}"),
                    "negative",
                    "give 0 or more",
                ),
            }
        }
    }

    /// `[components] kinds = ["airssys", ...]`.
    fn components(&mut self, t: &DeTable<'_>, p: &mut Policy) {
        use crate::analyze::ComponentKind;
        self.unknown_keys(t, "components", COMPONENTS_KEYS);
        let Some(v) = get(t, "kinds") else { return };
        let names: Vec<&str> = ComponentKind::ALL.iter().map(|k| k.as_str()).collect();
        let mut kinds = Vec::new();
        for (kind, span) in self.strings(v, "components.kinds") {
            match ComponentKind::parse(&kind) {
                Some(k) => kinds.push(k),
                None => {
                    let help = did_you_mean(&kind, names.iter().copied()).map_or_else(
                        || format!("kinds: {}", quoted(&names)),
                        |g| format!("did you mean `{g}`? kinds: {}", quoted(&names)),
                    );
                    self.report(
                        span,
                        format!("`{}` is not a kind of component", kind.escape_debug()),
                        "unknown kind",
                        &help,
                    );
                }
            }
        }
        p.kinds = Some((kinds, self.rule_ref(v.span())));
    }

    fn waiver(&mut self, t: &DeTable<'_>, span: Range<usize>) -> Option<Waiver> {
        self.unknown_keys(t, "a waiver", WAIVER_KEYS);
        let component = self.required_str(t, "component", "a waiver", span.clone());
        let version = match get(t, "version") {
            None => Some(None),
            Some(v) => self
                .string(v, "version")
                .and_then(|(s, vs)| match semver::VersionReq::parse(&s) {
                    Ok(req) => Some(Some(req)),
                    Err(e) => {
                        self.report(
                            vs,
                            format!("`{s}` is not a version range: {e}"),
                            "invalid range",
                            "write a Cargo-style range such as `>=1.2, <2`",
                        );
                        None
                    }
                }),
        };
        let target = self.waiver_target(t, span.clone());
        let reason = self.required_str(t, "reason", "a waiver", span.clone());
        if let Some((r, s)) = &reason
            && r.trim().is_empty()
        {
            self.report(
                s.clone(),
                "a waiver's reason is empty".into(),
                "empty",
                "say why the exception is acceptable",
            );
        }
        let expires = self.expires(t, span.clone());
        Some(Waiver {
            component: component?.0,
            version: version?,
            target: target?,
            reason: reason?.0,
            expires: expires?,
            at: self.rule_ref(span),
        })
    }

    fn waiver_target(&mut self, t: &DeTable<'_>, span: Range<usize>) -> Option<WaiverTarget> {
        match (get(t, "code"), get(t, "operation")) {
            (Some(_), Some(o)) => {
                self.report(
                    o.span(),
                    "a waiver names a `code` or an `operation`, not both".into(),
                    "second target",
                    "write two waivers",
                );
                None
            }
            (Some(c), None) => {
                let (code, s) = self.string(c, "code")?;
                match r::lookup(&code) {
                    Some(rule) if super::check::WAIVABLE.contains(&rule.code) => Some(WaiverTarget::Code(rule)),
                    Some(rule) => {
                        let help = format!(
                            "waivers may name these codes ({}); use `[levels]` for other codes",
                            super::check::WAIVABLE.join(", ")
                        );
                        self.report(
                            s,
                            format!("`{}` ({}) is not a policy rule a waiver can name", rule.code, rule.name),
                            "not waivable",
                            &help,
                        );
                        None
                    }
                    None => {
                        self.report(
                            s,
                            r::unknown_rule_message(&code),
                            "unknown code",
                            "`airssys-wasm explain --list` lists the codes",
                        );
                        None
                    }
                }
            }
            (None, Some(o)) => {
                let (op, s) = self.string(o, "operation")?;
                self.operation_name(&op, s);
                Some(WaiverTarget::Operation(op))
            }
            (None, None) => {
                self.missing(span, "code", "a waiver", "`code = \"POL003\"` or `operation = \"...\"`");
                None
            }
        }
    }

    fn expires(&mut self, t: &DeTable<'_>, span: Range<usize>) -> Option<Date> {
        let Some(v) = get(t, "expires") else {
            self.missing(
                span,
                "expires",
                "a waiver",
                "`expires = 2026-06-30` (a TOML date, no quotes)",
            );
            return None;
        };
        let DeValue::Datetime(dt) = v.get_ref() else {
            self.wrong_type(v, "expires", "a TOML date such as `2026-06-30` (no quotes)");
            return None;
        };
        match dt.date {
            Some(d) if dt.time.is_none() => Date::new(d.year, d.month, d.day),
            _ => {
                self.report(
                    v.span(),
                    format!("`{dt}` is not a plain date"),
                    "not a date",
                    "write a local date such as `2026-06-30`, without a time",
                );
                None
            }
        }
    }

    /// Catalogue operation names look like `package:name/interface.function` (or end in `*`).
    fn operation_name(&mut self, op: &str, span: Range<usize>) {
        let well_formed = op.contains(':') && (op.ends_with('*') || (op.contains('/') && op.contains('.')));
        if !well_formed {
            self.report(
                span,
                format!("`{op}` is not a catalogue operation name"),
                "not an operation",
                "write `package/interface.function`, e.g. `airssys:ext-process/lifecycle.spawn-shell`; a trailing `*` matches a prefix",
            );
        }
    }

    /// `actions = [...]` of a denial, every one of `all` when absent.
    fn actions<A: Copy>(
        &mut self,
        t: &DeTable<'_>,
        domain: &str,
        all: &[A],
        default: &[A],
        name: fn(A) -> &'static str,
    ) -> Option<Vec<A>> {
        let Some(v) = get(t, "actions") else {
            return Some(default.to_vec());
        };
        let mut out = Vec::new();
        let mut ok = true;
        for (a, s) in self.strings(v, "actions") {
            match all.iter().find(|x| name(**x) == a) {
                Some(x) => out.push(*x),
                None => {
                    ok = false;
                    let names: Vec<&str> = all.iter().map(|x| name(*x)).collect();
                    let mut help = format!("{domain} actions are {}", quoted(&names));
                    if let Some(g) = did_you_mean(&a, names.iter().copied()) {
                        help = format!("did you mean `{g}`? {help}");
                    }
                    self.report(s, format!("unknown {domain} action `{a}`"), "unknown action", &help);
                }
            }
        }
        ok.then_some(out)
    }

    fn path_pattern(&mut self, path: &str, span: Range<usize>) -> Option<PathPattern> {
        match PathPattern::parse(path) {
            Ok(p) => Some(p),
            Err(e) => {
                let help = e
                    .help()
                    .unwrap_or_else(|| "write an absolute path or pattern, e.g. `/etc/**`".into());
                self.report(
                    span,
                    format!("`{}` is not a valid path pattern: {e}", path.escape_debug()),
                    "invalid path",
                    &help,
                );
                None
            }
        }
    }

    /// An array of tables; a bad entry is reported and skipped.
    fn tables<T>(
        &mut self,
        v: &Value<'_>,
        what: &str,
        mut one: impl FnMut(&mut Self, &DeTable<'_>, Range<usize>) -> Option<T>,
    ) -> Vec<T> {
        let DeValue::Array(items) = v.get_ref() else {
            self.wrong_type(v, what, "an array of tables");
            return Vec::new();
        };
        let mut out = Vec::new();
        for item in items.iter() {
            match item.get_ref() {
                DeValue::Table(t) => out.extend(one(self, t, item.span())),
                _ => self.wrong_type(item, &format!("an entry of {what}"), "a table"),
            }
        }
        out
    }

    /// An array of strings with their spans; other items are reported and skipped.
    fn strings(&mut self, v: &Value<'_>, what: &str) -> Vec<(String, Range<usize>)> {
        let DeValue::Array(items) = v.get_ref() else {
            self.wrong_type(v, what, "an array of strings");
            return Vec::new();
        };
        items.iter().filter_map(|item| self.string(item, what)).collect()
    }

    /// Where a rule is: file, span, line and its text (first line, shortened).
    fn rule_ref(&self, span: Range<usize>) -> RuleRef {
        let start = span.start.min(self.text.len());
        let line = self.text[..start].bytes().filter(|b| *b == b'\n').count() + 1;
        let end = span.end.min(self.text.len()).max(start);
        let raw = self.text.get(start..end).unwrap_or("");
        let first = raw.lines().next().unwrap_or("").trim();
        let text = if first.chars().count() > 80 || raw.lines().count() > 1 {
            format!("{}...", first.chars().take(77).collect::<String>())
        } else {
            first.to_string()
        };
        RuleRef {
            source: self.source,
            span,
            file: self.name.clone(),
            line,
            text,
        }
    }

    fn report(&mut self, span: Range<usize>, message: String, label: &str, help: &str) {
        self.diagnostics.push(
            Diagnostic::new(&r::INVALID_POLICY, message)
                .at(self.source, span, label)
                .help(help),
        );
    }

    fn unknown_keys(&mut self, t: &DeTable<'_>, place: &str, known: &[&str]) {
        let place = if place.is_empty() {
            String::new()
        } else {
            format!(" in {place}")
        };
        for u in toml_doc::unknown_keys(t, known) {
            self.report(
                u.span,
                format!("unknown key `{}`{place}", u.key),
                "unknown key",
                &u.help,
            );
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
                self.missing(span, key, what, &format!("`{key} = \"...\"`"));
                None
            }
        }
    }

    fn missing(&mut self, span: Range<usize>, key: &str, what: &str, example: &str) {
        self.report(
            span,
            format!("{what} is missing `{key}`"),
            &format!("needs `{key}`"),
            &format!("add {example}"),
        );
    }

    fn string(&mut self, v: &Value<'_>, what: &str) -> Option<(String, Range<usize>)> {
        match v.get_ref() {
            DeValue::String(s) => Some((s.to_string(), v.span())),
            _ => {
                self.wrong_type(v, what, "a string");
                None
            }
        }
    }

    fn boolean(&mut self, v: &Value<'_>, what: &str) -> Option<bool> {
        match v.get_ref() {
            DeValue::Boolean(b) => Some(*b),
            _ => {
                self.wrong_type(v, what, "a boolean");
                None
            }
        }
    }

    fn integer(&mut self, v: &Value<'_>, what: &str) -> Option<i128> {
        if let DeValue::Integer(i) = v.get_ref()
            && let Ok(n) = i128::from_str_radix(i.as_str(), i.radix())
        {
            return Some(n);
        }
        self.wrong_type(v, what, "an integer");
        None
    }

    fn wrong_type(&mut self, v: &Value<'_>, what: &str, expected: &str) {
        let found = type_name(v.get_ref());
        self.diagnostics.push(
            Diagnostic::new(
                &r::INVALID_POLICY,
                format!("`{what}` must be {expected}, found {found}"),
            )
            .at(self.source, v.span(), format!("this is {found}")),
        );
    }
}

fn quoted(names: &[&str]) -> String {
    names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
}
