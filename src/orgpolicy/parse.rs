//! The policy walk: TOML text to [`Policy`] plus diagnostics, every rule with its span. The
//! same shared reader as the manifest walk (`toml_doc.rs`: `toml`'s span-preserving `DeTable`,
//! every table read against the keys the format defines, "did you mean" for unknown ones);
//! this file keeps only the schema. Every problem is reported (`invalid-policy`) and the bad
//! rule left out, never guessed.

use std::ops::Range;

use toml::de::{DeTable, DeValue};

use super::rules::{self as rule, FORMAT};
use super::{
    Date, FsDeny, NetDeny, NetTarget, ParsedPolicy, Policy, PortRange, REQUIRABLE_FIELDS, RuleRef, Waiver, WaiverTarget,
};
use crate::diagnostics::{Diagnostic, Level, SourceId, registry};
use crate::policy::{FsAction, HostPattern, NetAction, PathPattern, ProcGrant, Signal};
use crate::toml_doc::{self, Reader, Table, Value};

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
    "upgrade",
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
const UPGRADE_KEYS: &[&str] = &["allow-gains"];
const WAIVER_KEYS: &[&str] = &["component", "version", "code", "operation", "reason", "expires"];
/// Network actions a denial applies to when it names none: those that reach a remote host.
const NET_DENY_DEFAULT: &[NetAction] = &[NetAction::Connect, NetAction::Resolve];
/// What an array of tables (`deny`, `[[waiver]]`) and each of its entries must be.
const TABLES: [&str; 2] = ["an array of tables", "a table"];

pub(super) fn parse(name: &str, source: SourceId, text: &str) -> ParsedPolicy {
    let (policy, diagnostics) = toml_doc::walk(source, text, &FORMAT, |doc, root, span| {
        Walker { name, text, doc }.policy(root, span)
    });
    ParsedPolicy { policy, diagnostics }
}

/// The policy format's schema over the shared reader.
struct Walker<'t> {
    name: &'t str,
    text: &'t str,
    doc: &'t Reader<'static>,
}

impl Walker<'_> {
    fn push(&self, d: Diagnostic) {
        self.doc.push(d);
    }

    fn source(&self) -> SourceId {
        self.doc.source
    }

    fn policy(&self, root: &DeTable<'_>, span: Range<usize>) -> Policy {
        let top = self.doc.table(root, span, "", TOP_KEYS);
        let mut p = Policy {
            name: self.name.to_string(),
            source: Some(self.source()),
            ..Policy::default()
        };
        top.optional_str("description");
        if let Some(v) = top.get("extends") {
            p.extends = self.doc.strings(v, "extends");
        }
        if let Some((t, _)) = top.optional_table("levels") {
            self.levels(t, &mut p);
        }
        if let Some((t, span)) = top.optional_table("filesystem") {
            self.filesystem(&self.doc.table(t, span, "filesystem", FS_KEYS), &mut p);
        }
        if let Some((t, span)) = top.optional_table("network") {
            self.network(&self.doc.table(t, span, "network", NET_KEYS), &mut p);
        }
        if let Some((t, span)) = top.optional_table("process") {
            self.process(&self.doc.table(t, span, "process", PROC_KEYS), &mut p);
        }
        if let Some((t, span)) = top.optional_table("operations") {
            let t = self.doc.table(t, span, "operations", OP_KEYS);
            if let Some(v) = t.get("forbid") {
                for (op, span) in self.doc.strings(v, "operations.forbid") {
                    self.operation_name(&op, span.clone());
                    p.forbid_operations.push((op, self.rule_ref(span)));
                }
            }
        }
        if let Some((t, span)) = top.optional_table("manifest") {
            self.hygiene(&self.doc.table(t, span, "manifest", MANIFEST_KEYS), &mut p);
        }
        if let Some((t, span)) = top.optional_table("components") {
            self.components(&self.doc.table(t, span, "components", COMPONENTS_KEYS), &mut p);
        }
        if let Some((t, span)) = top.optional_table("upgrade") {
            self.upgrade(&self.doc.table(t, span, "upgrade", UPGRADE_KEYS), &mut p);
        }
        if let Some(v) = top.get("waiver") {
            p.waivers = self.doc.tables(v, "waiver", TABLES, |t, s| self.waiver(t, s));
        }
        p
    }

    /// `[levels]`: each key a code or kebab name (or `warnings`), each value a level.
    fn levels(&self, t: &DeTable<'_>, p: &mut Policy) {
        for (k, v) in t.iter() {
            let code = k.get_ref();
            let known = if code == "warnings" {
                Some("warnings")
            } else {
                registry::lookup(code).map(|r| r.code)
            };
            let Some(rule) = known else {
                self.push(rule::unknown_level_code(self.source(), k.span(), code));
                continue;
            };
            let Some((level, span)) = self.doc.string(v, &format!("levels.{code}")) else {
                continue;
            };
            let level = match level.as_str() {
                "allow" => Level::Allow,
                "warn" => Level::Warn,
                "deny" => Level::Deny,
                other => {
                    self.push(rule::unknown_level(self.source(), span, other));
                    continue;
                }
            };
            let whole = k.span().start..v.span().end;
            p.levels.push((rule, level, self.rule_ref(whole)));
        }
    }

    fn filesystem(&self, t: &Table<'_, '_, '_>, p: &mut Policy) {
        if let Some(v) = t.get("deny") {
            p.fs_deny = self.doc.tables(v, "filesystem.deny", TABLES, |t, s| self.fs_deny(t, s));
        }
        if let Some(v) = t.get("roots") {
            let roots = self
                .doc
                .strings(v, "filesystem.roots")
                .into_iter()
                .filter_map(|(s, span)| self.path_pattern(&s, span))
                .collect();
            p.fs_roots = Some((roots, self.rule_ref(v.span())));
        }
    }

    fn fs_deny(&self, t: &DeTable<'_>, span: Range<usize>) -> Option<FsDeny> {
        let t = self.doc.table(t, span.clone(), "a filesystem denial", FS_DENY_KEYS);
        let actions = self.actions(&t, "filesystem", FsAction::ALL, FsAction::ALL, FsAction::as_str);
        let (path, vspan) = t.required_str("path")?;
        let pattern = self.path_pattern(&path, vspan)?;
        Some(FsDeny {
            actions: actions?,
            pattern,
            at: self.rule_ref(span),
        })
    }

    fn network(&self, t: &Table<'_, '_, '_>, p: &mut Policy) {
        if let Some(v) = t.get("deny") {
            p.net_deny = self.doc.tables(v, "network.deny", TABLES, |t, s| self.net_deny(t, s));
        }
        if let Some(v) = t.get("allow-any-host")
            && let Some(false) = self.doc.boolean(v, "network.allow-any-host")
        {
            p.forbid_any_host = Some(self.rule_ref(v.span()));
        }
        if let Some(v) = t.get("ports") {
            p.ports = self.ports(v).map(|ports| (ports, self.rule_ref(v.span())));
        }
    }

    fn net_deny(&self, t: &DeTable<'_>, span: Range<usize>) -> Option<NetDeny> {
        let t = self.doc.table(t, span.clone(), "a network denial", NET_DENY_KEYS);
        let actions = self.actions(&t, "network", NetAction::ALL, NET_DENY_DEFAULT, NetAction::as_str);
        let target = match (t.get("domain"), t.get("cidr")) {
            (Some(_), Some(c)) => {
                self.push(rule::domain_and_cidr(self.source(), c.span()));
                None
            }
            (Some(d), None) => {
                let (d, s) = self.doc.string(d, "domain")?;
                match HostPattern::parse(&d) {
                    Ok(h) => Some(NetTarget::Host(h)),
                    Err(e) => {
                        self.push(rule::invalid_domain(self.source(), s, &d, &e));
                        None
                    }
                }
            }
            (None, Some(c)) => {
                let (c, s) = self.doc.string(c, "cidr")?;
                self.cidr(&c, s).map(NetTarget::Cidr)
            }
            (None, None) => {
                t.missing("domain", "`domain = \"...\"` or `cidr = \"...\"`");
                None
            }
        };
        Some(NetDeny {
            actions: actions?,
            target: target?,
            at: self.rule_ref(span),
        })
    }

    fn cidr(&self, c: &str, s: Range<usize>) -> Option<ipnet::IpNet> {
        if let Ok(net) = c.parse::<ipnet::IpNet>() {
            return Some(net.trunc());
        }
        if let Ok(ip) = c.parse::<std::net::IpAddr>() {
            return Some(ipnet::IpNet::from(ip));
        }
        self.push(rule::invalid_cidr(self.source(), s, c));
        None
    }

    fn ports(&self, v: &Value<'_>) -> Option<Vec<PortRange>> {
        let items = self
            .doc
            .array(v, "network.ports", "an array of ports and \"first-last\" ranges")?;
        let mut out = Vec::new();
        for item in items.iter() {
            let range = match item.get_ref() {
                DeValue::Integer(_) => self.port(item).map(|p| PortRange { first: p, last: p }),
                DeValue::String(s) => self.port_range(s, item.span()),
                _ => {
                    self.doc
                        .wrong_type(item, "a port", "an integer or a string such as \"8000-8999\"");
                    None
                }
            };
            out.extend(range);
        }
        Some(out)
    }

    fn port(&self, v: &Value<'_>) -> Option<u16> {
        let n = self.doc.integer(v, "a port")?;
        match u16::try_from(n) {
            Ok(p) if p > 0 => Some(p),
            _ => {
                self.push(rule::invalid_port(self.source(), v.span(), n));
                None
            }
        }
    }

    fn port_range(&self, s: &str, span: Range<usize>) -> Option<PortRange> {
        let parse = |x: &str| x.trim().parse::<u16>().ok().filter(|p| *p > 0);
        let range = match s.split_once('-') {
            Some((a, b)) => parse(a).zip(parse(b)).map(|(first, last)| PortRange { first, last }),
            None => parse(s).map(|p| PortRange { first: p, last: p }),
        };
        match range {
            Some(r) if r.first <= r.last => Some(r),
            _ => {
                self.push(rule::invalid_port_range(self.source(), span, s));
                None
            }
        }
    }

    fn process(&self, t: &Table<'_, '_, '_>, p: &mut Policy) {
        if let Some(v) = t.get("spawn")
            && let Some(false) = self.doc.boolean(v, "process.spawn")
        {
            p.forbid_spawn = Some(self.rule_ref(v.span()));
        }
        if let Some(v) = t.get("deny-executables") {
            for (exe, span) in self.doc.strings(v, "process.deny-executables") {
                match ProcGrant::spawn(&exe) {
                    Ok(ProcGrant::Spawn { executable }) => p.deny_executables.push((executable, self.rule_ref(span))),
                    Ok(_) => {}
                    Err(e) => self.push(rule::invalid_executable(self.source(), span, &e)),
                }
            }
        }
        if let Some(v) = t.get("signals") {
            let mut signals = Vec::new();
            for (s, span) in self.doc.strings(v, "process.signals") {
                match Signal::parse(&s) {
                    Ok(sig) => signals.push(sig),
                    Err(e) => self.push(rule::unknown_signal(self.source(), span, &s, &e)),
                }
            }
            p.signals = Some((signals, self.rule_ref(v.span())));
        }
    }

    fn hygiene(&self, t: &Table<'_, '_, '_>, p: &mut Policy) {
        if let Some(v) = t.get("require") {
            for (field, span) in self.doc.strings(v, "manifest.require") {
                match REQUIRABLE_FIELDS.iter().find(|f| **f == field) {
                    Some(f) => p.require.push((f, self.rule_ref(span))),
                    None => self.push(rule::unknown_requirable_field(
                        self.source(),
                        span,
                        &field,
                        REQUIRABLE_FIELDS,
                    )),
                }
            }
        }
        if let Some(v) = t.get("max-grants")
            && let Some(n) = self.doc.integer(v, "manifest.max-grants")
        {
            match usize::try_from(n) {
                Ok(n) => p.max_grants = Some((n, self.rule_ref(v.span()))),
                Err(_) => self.push(rule::negative_max_grants(self.source(), v.span(), n)),
            }
        }
    }

    /// `[upgrade] allow-gains = ["network:resolve", ...]`: the permissions `diff` may see a new
    /// version gain without failing.
    fn upgrade(&self, t: &Table<'_, '_, '_>, p: &mut Policy) {
        let Some(v) = t.get("allow-gains") else { return };
        let known: Vec<String> = crate::policy::Action::ALL
            .iter()
            .map(|a| crate::diff::permission(*a))
            .collect();
        for (gain, span) in self.doc.strings(v, "upgrade.allow-gains") {
            if known.contains(&gain) {
                p.allow_gains.push((gain, self.rule_ref(span)));
            } else {
                let known: Vec<&str> = known.iter().map(String::as_str).collect();
                self.push(rule::unknown_gain(self.source(), span, &gain, &known));
            }
        }
    }

    /// `[components] kinds = ["airssys", ...]`.
    fn components(&self, t: &Table<'_, '_, '_>, p: &mut Policy) {
        use crate::analyze::ComponentKind;
        let Some(v) = t.get("kinds") else { return };
        let names: Vec<&str> = ComponentKind::ALL.iter().map(|k| k.as_str()).collect();
        let mut kinds = Vec::new();
        for (kind, span) in self.doc.strings(v, "components.kinds") {
            match ComponentKind::parse(&kind) {
                Some(k) => kinds.push(k),
                None => self.push(rule::unknown_kind(self.source(), span, &kind, &names)),
            }
        }
        p.kinds = Some((kinds, self.rule_ref(v.span())));
    }

    fn waiver(&self, t: &DeTable<'_>, span: Range<usize>) -> Option<Waiver> {
        let t = self.doc.table(t, span.clone(), "a waiver", WAIVER_KEYS);
        let component = t.required_str("component");
        let version = match t.get("version") {
            None => Some(None),
            Some(v) => self
                .doc
                .string(v, "version")
                .and_then(|(s, vs)| match semver::VersionReq::parse(&s) {
                    Ok(req) => Some(Some(req)),
                    Err(e) => {
                        self.push(rule::invalid_version_range(self.source(), vs, &s, &e));
                        None
                    }
                }),
        };
        let target = self.waiver_target(&t);
        let reason = t.required_str("reason");
        if let Some((r, s)) = &reason
            && r.trim().is_empty()
        {
            self.push(rule::empty_waiver_reason(self.source(), s.clone()));
        }
        let expires = self.expires(&t);
        Some(Waiver {
            component: component?.0,
            version: version?,
            target: target?,
            reason: reason?.0,
            expires: expires?,
            at: self.rule_ref(span),
        })
    }

    fn waiver_target(&self, t: &Table<'_, '_, '_>) -> Option<WaiverTarget> {
        match (t.get("code"), t.get("operation")) {
            (Some(_), Some(o)) => {
                self.push(rule::code_and_operation(self.source(), o.span()));
                None
            }
            (Some(c), None) => {
                let (code, s) = self.doc.string(c, "code")?;
                match registry::lookup(&code) {
                    Some(found) if super::findings::WAIVABLE.contains(&found.code) => Some(WaiverTarget::Code(found)),
                    Some(found) => {
                        self.push(rule::not_waivable(self.source(), s, found, super::findings::WAIVABLE));
                        None
                    }
                    None => {
                        self.push(rule::unknown_waiver_code(self.source(), s, &code));
                        None
                    }
                }
            }
            (None, Some(o)) => {
                let (op, s) = self.doc.string(o, "operation")?;
                self.operation_name(&op, s);
                Some(WaiverTarget::Operation(op))
            }
            (None, None) => {
                t.missing("code", "`code = \"POL003\"` or `operation = \"...\"`");
                None
            }
        }
    }

    fn expires(&self, t: &Table<'_, '_, '_>) -> Option<Date> {
        let Some(v) = t.get("expires") else {
            t.missing("expires", "`expires = 2026-06-30` (a TOML date, no quotes)");
            return None;
        };
        let DeValue::Datetime(dt) = v.get_ref() else {
            self.doc
                .wrong_type(v, "expires", "a TOML date such as `2026-06-30` (no quotes)");
            return None;
        };
        match dt.date {
            Some(d) if dt.time.is_none() => Date::new(d.year, d.month, d.day),
            _ => {
                self.push(rule::not_a_date(self.source(), v.span(), dt));
                None
            }
        }
    }

    /// Catalogue operation names look like `package:name/interface.function` (or end in `*`).
    fn operation_name(&self, op: &str, span: Range<usize>) {
        let well_formed = op.contains(':') && (op.ends_with('*') || (op.contains('/') && op.contains('.')));
        if !well_formed {
            self.push(rule::not_an_operation(self.source(), span, op));
        }
    }

    /// `actions = [...]` of a denial, every one of `all` when absent.
    fn actions<A: Copy>(
        &self,
        t: &Table<'_, '_, '_>,
        domain: &str,
        all: &[A],
        default: &[A],
        name: fn(A) -> &'static str,
    ) -> Option<Vec<A>> {
        let Some(v) = t.get("actions") else {
            return Some(default.to_vec());
        };
        let mut out = Vec::new();
        let mut ok = true;
        for (a, s) in self.doc.strings(v, "actions") {
            match all.iter().find(|x| name(**x) == a) {
                Some(x) => out.push(*x),
                None => {
                    ok = false;
                    let names: Vec<&str> = all.iter().map(|x| name(*x)).collect();
                    self.push(rule::unknown_action(self.source(), s, domain, &a, &names));
                }
            }
        }
        ok.then_some(out)
    }

    fn path_pattern(&self, path: &str, span: Range<usize>) -> Option<PathPattern> {
        match PathPattern::parse(path) {
            Ok(p) => Some(p),
            Err(e) => {
                self.push(rule::invalid_path(self.source(), span, path, &e));
                None
            }
        }
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
            source: self.source(),
            span,
            file: self.name.to_string(),
            line,
            text,
        }
    }
}
