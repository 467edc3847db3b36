//! Organisation policies (`policies/*.toml`): what an organisation will ever allow, whatever a
//! manifest asks for. A [`Policy`] is one parsed file with every rule's span; a [`PolicySet`] is
//! the composition of the files given with `--policy` (or the embedded `policies/default.toml`),
//! with `extends` resolved. The set answers both questions of the product:
//!
//! - statically, [`PolicySet::check_manifest`] and [`PolicySet::check_imports`] turn grants and
//!   imports that break a rule into diagnostics pointing at the manifest entry (or import) and at
//!   the policy rule, then apply the waivers;
//! - at run time, [`PolicySet::effective`] pairs the manifest's compiled grants with the
//!   compiled denials: a request is allowed only when a grant allows it and no rule denies it.
//!
//! A policy only takes away: nothing here can allow what the manifest does not grant.
//!
//! ```
//! use airssys_wasm::diagnostics::Sources;
//! use airssys_wasm::manifest::Manifest;
//! use airssys_wasm::orgpolicy::{Date, PolicySet};
//! use airssys_wasm::policy::{FsAction, Request};
//!
//! let mut sources = Sources::new();
//! let policy = "[filesystem]\ndeny = [{ path = \"/data/secret/**\" }]\n";
//! let set = PolicySet::from_texts(&mut sources, &[("org.toml", policy)]).unwrap();
//! let manifest = r#"
//! [component]
//! name = "csv-export"
//! version = "1.0.0"
//! [permissions]
//! filesystem = [{ action = "read", path = "/data/**" }]
//! "#;
//! let m = Manifest::parse_in(&mut sources, "Component.toml", manifest).into_valid().unwrap();
//! let findings = set.check_manifest(&m, Date::new(2025, 1, 1).unwrap());
//! assert_eq!(findings[0].rule.code, "POL003");
//! let effective = set.effective(&m, &Default::default());
//! let read = |path| Request::Fs { action: FsAction::Read, path };
//! assert!(effective.decide(&read("/data/a.csv")).allowed);
//! assert!(!effective.decide(&read("/data/secret/key")).allowed);
//! ```

mod eval;
mod findings;
mod parse;
mod request;
pub(crate) mod rules;

use std::collections::BTreeSet;
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use crate::diagnostics::{Diagnostic, Level, Levels, Rule, Severity, SourceId, Sources};
use crate::policy::{FsAction, HostPattern, NetAction, PathPattern, Signal};

pub use eval::{CompiledDenials, Effective, EffectiveDecision};
pub use findings::{Finding, WAIVABLE, WaiverUse};
pub use request::{OwnedRequest, RequestError, parse_request};

/// The shipped default policy, used when no `--policy` is given.
pub const DEFAULT_POLICY: &str = include_str!("../../policies/default.toml");
/// The shipped strict policy (`extends = ["builtin:strict"]`).
pub const STRICT_POLICY: &str = include_str!("../../policies/strict.toml");
/// Policy files above this size are refused unread.
pub const MAX_POLICY_BYTES: usize = 1 << 20;
/// Deeper nesting of arrays and inline tables is refused (`invalid-policy`).
pub const MAX_NESTING: usize = 32;

/// A calendar date (proleptic Gregorian), as written in TOML (`expires = 2025-12-31`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    pub year: u16,
    pub month: u8,
    pub day: u8,
}

impl Date {
    /// A valid date, or `None` (month 13, February 30th, ...).
    pub fn new(year: u16, month: u8, day: u8) -> Option<Date> {
        let leap = (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400);
        let days = match month {
            1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
            4 | 6 | 9 | 11 => 30,
            2 if leap => 29,
            2 => 28,
            _ => return None,
        };
        (1..=days).contains(&day).then_some(Date { year, month, day })
    }

    /// The date `days` days after 1970-01-01 (what the CLI computes from the system clock; the
    /// library never reads the clock so that tests can inject any day).
    pub fn from_days_since_epoch(days: i64) -> Date {
        // Howard Hinnant's civil_from_days.
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u8;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
        let year = yoe + era * 400 + i64::from(month <= 2);
        Date {
            year: year.clamp(0, i64::from(u16::MAX)) as u16,
            month,
            day,
        }
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

/// Where a policy rule is written: the file (by source id and name), its span and line.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct RuleRef {
    #[serde(skip)]
    pub source: SourceId,
    #[serde(skip)]
    pub span: Range<usize>,
    /// The policy file as named on the command line (or `builtin:default`).
    pub file: String,
    /// 1-based line of the rule.
    pub line: usize,
    /// The rule's text as written.
    pub text: String,
}

impl fmt::Display for RuleRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: `{}`", self.file, self.line, self.text)
    }
}

/// A path denial: these actions on paths matching `pattern` are never allowed.
#[derive(Clone, Debug)]
pub struct FsDeny {
    pub actions: Vec<FsAction>,
    pub pattern: PathPattern,
    pub at: RuleRef,
}

/// What a network denial matches.
#[derive(Clone, Debug)]
pub enum NetTarget {
    /// A host pattern (`metadata.google.internal`, `*.internal`, an IP literal).
    Host(HostPattern),
    /// An address range (`169.254.0.0/16`, `::1/128`).
    Cidr(ipnet::IpNet),
}

impl fmt::Display for NetTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NetTarget::Host(h) => write!(f, "{h}"),
            NetTarget::Cidr(c) => write!(f, "{c}"),
        }
    }
}

/// A network denial: these actions towards `target` are never allowed.
#[derive(Clone, Debug)]
pub struct NetDeny {
    pub actions: Vec<NetAction>,
    pub target: NetTarget,
    pub at: RuleRef,
}

/// An inclusive port range of `[network] ports`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PortRange {
    pub first: u16,
    pub last: u16,
}

/// `[component]` fields that `[manifest] require` may name.
pub const REQUIRABLE_FIELDS: &[&str] = &["description", "author", "license", "repository", "version"];

/// What a waiver waives.
#[derive(Clone, Debug)]
pub enum WaiverTarget {
    /// Every finding of this code for the component.
    Code(&'static Rule),
    /// The findings about this catalogue operation (forbidden imports).
    Operation(String),
}

/// An exception for one component.
#[derive(Clone, Debug)]
pub struct Waiver {
    pub component: String,
    pub version: Option<semver::VersionReq>,
    pub target: WaiverTarget,
    pub reason: String,
    /// The last day on which the waiver applies.
    pub expires: Date,
    pub at: RuleRef,
}

/// One policy file, validated. Every rule keeps where it was written.
#[derive(Clone, Debug, Default)]
pub struct Policy {
    /// The file as named (`policies/strict.toml`, `builtin:default`).
    pub name: String,
    pub source: Option<SourceId>,
    /// SHA-256 of the file's text (what the runtime's audit log names it by).
    pub digest: Option<crate::digest::Digest>,
    /// `extends` entries, as written, with their spans.
    pub extends: Vec<(String, Range<usize>)>,
    /// `[levels]`, in file order: a code (as registered) or `warnings`.
    pub levels: Vec<(&'static str, Level, RuleRef)>,
    pub fs_deny: Vec<FsDeny>,
    /// `[filesystem] roots`: when set, every grant must stay within one of them.
    pub fs_roots: Option<(Vec<PathPattern>, RuleRef)>,
    pub net_deny: Vec<NetDeny>,
    /// `[network] allow-any-host = false`.
    pub forbid_any_host: Option<RuleRef>,
    /// `[network] ports`: when set, the only ports grants and requests may use.
    pub ports: Option<(Vec<PortRange>, RuleRef)>,
    /// `[process] spawn = false`.
    pub forbid_spawn: Option<RuleRef>,
    /// `[process] deny-executables`, normalised.
    pub deny_executables: Vec<(String, RuleRef)>,
    /// `[process] signals`: when set, the only signals that may be sent.
    pub signals: Option<(Vec<Signal>, RuleRef)>,
    /// `[operations] forbid`.
    pub forbid_operations: Vec<(String, RuleRef)>,
    /// `[manifest] require`.
    pub require: Vec<(&'static str, RuleRef)>,
    /// `[manifest] max-grants`.
    pub max_grants: Option<(usize, RuleRef)>,
    /// `[upgrade] allow-gains`: permissions (`network:resolve`) that `diff` lets a new version
    /// gain.
    pub allow_gains: Vec<(String, RuleRef)>,
    /// `[components] kinds`: when set, the only kinds of component accepted.
    pub kinds: Option<(Vec<crate::analyze::ComponentKind>, RuleRef)>,
    pub waivers: Vec<Waiver>,
}

/// The result of parsing one policy file.
#[derive(Debug)]
pub struct ParsedPolicy {
    pub policy: Option<Policy>,
    pub diagnostics: Vec<Diagnostic>,
}

impl Policy {
    /// Parses and validates policy text, registering it in `sources` under `name`.
    pub fn parse_in(sources: &mut Sources, name: &str, text: &str) -> ParsedPolicy {
        let source = sources.add_text(name, text);
        let mut parsed = parse::parse(name, source, text);
        if let Some(policy) = &mut parsed.policy {
            policy.digest = Some(crate::digest::Digest::of(text.as_bytes()));
        }
        parsed
    }
}

/// The policies in force, composed: every rule of every file applies (the stricter rule wins
/// because a request or grant must pass all of them), `[levels]` take the strictest level per
/// code, and waivers waive only what they name.
#[derive(Clone, Debug, Default)]
pub struct PolicySet {
    /// Every file, `extends` first (each file once), then the files in the order given.
    pub policies: Vec<Policy>,
}

/// Why a policy set could not be built: the findings (syntax errors, invalid rules, unreadable
/// or cyclic `extends`), which point into the sources.
#[derive(Debug)]
pub struct PolicyErrors {
    pub diagnostics: Vec<Diagnostic>,
}

impl PolicySet {
    /// The embedded `policies/default.toml`.
    pub fn default_set(sources: &mut Sources) -> Result<PolicySet, PolicyErrors> {
        Self::from_texts(sources, &[("builtin:default", DEFAULT_POLICY)])
    }

    /// Policies from text (no file access: `extends` may name only `builtin:` policies).
    pub fn from_texts(sources: &mut Sources, texts: &[(&str, &str)]) -> Result<PolicySet, PolicyErrors> {
        let mut loader = Loader::new(sources, false);
        for (name, text) in texts {
            loader.text(name, text, None, Vec::new());
        }
        loader.finish()
    }

    /// Loads policy files (resolving `extends` relative to each file); a path spelt
    /// `builtin:default` or `builtin:strict` is that built-in policy, as in `extends`. Files
    /// that cannot be read, parsed or validated are findings in the error; a tool error is
    /// reserved for nothing here, so that the CLI can render all of them at once.
    pub fn load(sources: &mut Sources, paths: &[PathBuf]) -> Result<PolicySet, PolicyErrors> {
        let mut loader = Loader::new(sources, true);
        for p in paths {
            match p.to_str().filter(|s| s.starts_with("builtin:")) {
                Some(name) => match builtin(name) {
                    Some(text) => loader.text(name, text, None, Vec::new()),
                    None => loader.diagnostics.push(rules::unknown_builtin(name, None)),
                },
                None => loader.file(p, None, Vec::new()),
            }
        }
        loader.finish()
    }

    /// `--policy` files, or the embedded default when there are none.
    pub fn load_or_default(sources: &mut Sources, paths: &[PathBuf]) -> Result<PolicySet, PolicyErrors> {
        if paths.is_empty() {
            Self::default_set(sources)
        } else {
            Self::load(sources, paths)
        }
    }

    /// The permissions whose gains `diff` accepts: the union of the policies'
    /// `[upgrade] allow-gains` (without any, every gain fails the gate).
    pub fn allowed_gains(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .policies
            .iter()
            .flat_map(|p| p.allow_gains.iter().map(|(g, _)| g.clone()))
            .collect();
        out.sort();
        out.dedup();
        out
    }

    /// The strictest level each policy gives a code (deny over warn over allow).
    pub fn levels(&self) -> Vec<(&'static str, Level)> {
        let mut out: Vec<(&'static str, Level)> = Vec::new();
        for p in &self.policies {
            for (code, level, _) in &p.levels {
                match out.iter_mut().find(|(c, _)| c == code) {
                    Some((_, l)) => *l = (*l).max(*level),
                    None => out.push((code, *level)),
                }
            }
        }
        out
    }

    /// Applies the policies' `[levels]` to `levels` (call before the command line's own `-A/-W/-D`,
    /// which then win).
    pub fn apply_levels(&self, levels: &mut Levels) {
        for (code, level) in self.levels() {
            levels.set(code, level).expect("a registered code or `warnings`");
        }
    }
}

/// Builds a [`PolicySet`], resolving `extends` depth-first so that a base comes before the
/// policies that extend it, and each file is loaded once.
struct Loader<'s> {
    sources: &'s mut Sources,
    files_allowed: bool,
    set: PolicySet,
    loaded: BTreeSet<String>,
    diagnostics: Vec<Diagnostic>,
}

/// Where an `extends` entry was written, for findings about it.
type From = Option<(SourceId, Range<usize>)>;

impl<'s> Loader<'s> {
    fn new(sources: &'s mut Sources, files_allowed: bool) -> Self {
        Loader {
            sources,
            files_allowed,
            set: PolicySet::default(),
            loaded: BTreeSet::new(),
            diagnostics: Vec::new(),
        }
    }

    fn finish(self) -> Result<PolicySet, PolicyErrors> {
        if self.diagnostics.iter().any(|d| d.severity == Severity::Error) {
            Err(PolicyErrors {
                diagnostics: self.diagnostics,
            })
        } else {
            Ok(self.set)
        }
    }

    fn file(&mut self, path: &Path, from: From, chain: Vec<String>) {
        let key = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
        let key = key.display().to_string();
        let name = path.display().to_string();
        if self.cycle(&key, &name, &from, &chain) || self.loaded.contains(&key) {
            return;
        }
        match crate::bounded::read(path, MAX_POLICY_BYTES) {
            Ok(crate::bounded::Bounded::TooLarge(size)) => {
                let d = self.too_large(&name, size);
                self.diagnostics.push(d);
            }
            Ok(crate::bounded::Bounded::Bytes(bytes)) => match self.refuse(&name, &bytes) {
                Some(d) => self.diagnostics.push(d),
                None => {
                    let text = String::from_utf8(bytes).expect("checked by refuse");
                    let mut chain = chain;
                    chain.push(key.clone());
                    self.loaded.insert(key);
                    self.parsed(&name, &text, Some(path), chain);
                }
            },
            Err(e) => self.unreadable(&name, &e.to_string(), from),
        }
    }

    fn text(&mut self, name: &str, text: &str, from: From, chain: Vec<String>) {
        if self.cycle(name, name, &from, &chain) || self.loaded.contains(name) {
            return;
        }
        let mut chain = chain;
        chain.push(name.to_string());
        self.loaded.insert(name.to_string());
        self.parsed(name, text, None, chain);
    }

    /// Parses a policy, loads what it extends, then adds it.
    fn parsed(&mut self, name: &str, text: &str, path: Option<&Path>, chain: Vec<String>) {
        let ParsedPolicy { policy, diagnostics } = Policy::parse_in(self.sources, name, text);
        self.diagnostics.extend(diagnostics);
        let Some(policy) = policy else { return };
        let source = policy.source.expect("parsed policies have a source");
        for (target, span) in &policy.extends {
            let from = Some((source, span.clone()));
            match builtin(target) {
                Some(text) => self.text(target, text, from, chain.clone()),
                None if target.starts_with("builtin:") => self.diagnostics.push(rules::unknown_builtin(target, from)),
                None if !self.files_allowed => {
                    self.unreadable(target, "only `builtin:` policies can be extended here", from)
                }
                None => {
                    let base = path.and_then(Path::parent).unwrap_or(Path::new("."));
                    self.file(&base.join(target), from, chain.clone());
                }
            }
        }
        self.set.policies.push(policy);
    }

    fn cycle(&mut self, key: &str, name: &str, from: &From, chain: &[String]) -> bool {
        if !chain.iter().any(|c| c == key) {
            return false;
        }
        self.diagnostics.push(rules::extends_cycle(name, from.clone()));
        true
    }

    fn unreadable(&mut self, name: &str, why: &str, from: From) {
        self.diagnostics.push(rules::unreadable(name, why, from));
    }

    fn too_large(&mut self, name: &str, size: u64) -> Diagnostic {
        let id = self.sources.add_binary(name);
        rules::too_large(id, size)
    }

    fn refuse(&mut self, name: &str, bytes: &[u8]) -> Option<Diagnostic> {
        if bytes.len() > MAX_POLICY_BYTES {
            return Some(self.too_large(name, bytes.len() as u64));
        }
        std::str::from_utf8(bytes).err().map(|e| {
            let id = self.sources.add_binary(name);
            rules::not_utf8(id, e.valid_up_to())
        })
    }
}

/// The text of a shipped policy named `builtin:default` or `builtin:strict`.
pub fn builtin(name: &str) -> Option<&'static str> {
    match name {
        "builtin:default" => Some(DEFAULT_POLICY),
        "builtin:strict" => Some(STRICT_POLICY),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(Date::from_days_since_epoch(0).to_string(), "1970-01-01");
        assert_eq!(Date::from_days_since_epoch(20_454).to_string(), "2026-01-01");
        assert_eq!(Date::from_days_since_epoch(11_016).to_string(), "2000-02-29");
        assert!(Date::new(2025, 2, 29).is_none());
        assert!(Date::new(2024, 2, 29).is_some());
        assert!(Date::new(2025, 1, 2).unwrap() > Date::new(2024, 12, 31).unwrap());
    }

    #[test]
    fn builtin_policies_are_valid() {
        let mut sources = Sources::new();
        let set = PolicySet::from_texts(&mut sources, &[("s", "extends = [\"builtin:strict\"]")]).unwrap();
        assert_eq!(set.policies.len(), 3, "default, strict, s");
    }
}
