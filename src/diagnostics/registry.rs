//! The one registry of diagnostic codes. Each [`Rule`] has a stable code, a kebab-case name
//! named after the bad pattern (so "allow `unused-grant`" reads naturally), a default
//! severity, a one-line summary and its long documentation. `explain`, `docs/rules.md` and the
//! SARIF rule list are all generated from [`RULES`], so they cannot drift apart.
//!
//! The rules themselves live beside the checks that report them, each area in its own
//! `rules.rs` with the constructors of its findings (`manifest`, `catalogue`, `analyze`,
//! `wit_world`, `orgpolicy`); this file defines the [`rules!`] macro they use and only gathers
//! them, in code order.

use super::Severity;

/// A diagnostic code and its documentation.
#[derive(Debug, PartialEq, Eq)]
pub struct Rule {
    /// Stable code, e.g. `MAN004`. Never reused for another meaning.
    pub code: &'static str,
    /// Kebab-case name, e.g. `unknown-key`; accepted wherever a code is.
    pub name: &'static str,
    pub severity: Severity,
    pub summary: &'static str,
    /// Markdown: what it does, why it matters, an example and the fix.
    pub doc: &'static str,
}

impl Rule {
    /// What the rule finds and why it matters: the documentation's prose before its first
    /// `## ` section (the example, the fix), as one paragraph per blank-line-separated block.
    pub fn why(&self) -> &'static str {
        let end = self.doc.find("\n## ").unwrap_or(self.doc.len());
        self.doc[..end].trim()
    }

    /// The documentation's `## How to fix` section, when it has one.
    pub fn how_to_fix(&self) -> Option<&'static str> {
        let start = self.doc.find("## How to fix\n")? + "## How to fix\n".len();
        let rest = &self.doc[start..];
        let end = rest.find("\n## ").unwrap_or(rest.len());
        Some(rest[..end].trim()).filter(|s| !s.is_empty())
    }
}

/// Defines rules, each with its documentation as its doc comment (Markdown: what it does, why
/// it matters, an example and the fix), as `pub static`s of the area that reports them:
///
/// ```text
/// rules! {
///     /// What the rule finds, and why it matters.
///     UNKNOWN_KEY = "MAN004" "unknown-key" Error "a key the manifest format does not define";
/// }
/// ```
///
/// The doc comment is both the static's rustdoc and [`Rule::doc`] (one leading space of each
/// line removed), so `explain` shows what the code's reader sees.
macro_rules! rules {
    ($( $(#[doc = $doc:literal])* $ident:ident = $code:literal $name:literal $sev:ident $summary:literal; )*) => {
        $(
            $(#[doc = $doc])*
            pub static $ident: $crate::diagnostics::Rule = $crate::diagnostics::Rule {
                code: $code,
                name: $name,
                severity: $crate::diagnostics::Severity::$sev,
                summary: $summary,
                doc: {
                    const LINES: &[&str] = &[$($doc),*];
                    const BYTES: [u8; $crate::diagnostics::registry::doc_len(LINES)] =
                        $crate::diagnostics::registry::doc_bytes(LINES);
                    match ::std::str::from_utf8(&BYTES) {
                        Ok(doc) => doc,
                        Err(_) => panic!("a doc comment is UTF-8"),
                    }
                },
            };
        )*
    };
}
pub(crate) use rules;

/// The length of the documentation made of doc-comment `lines`: one leading space of each
/// line removed, lines joined with `\n`.
#[doc(hidden)]
pub const fn doc_len(lines: &[&str]) -> usize {
    let mut n = lines.len().saturating_sub(1);
    let mut i = 0;
    while i < lines.len() {
        n += lines[i].len() - leading_space(lines[i].as_bytes());
        i += 1;
    }
    n
}

/// The documentation made of doc-comment `lines` (see [`doc_len`]), as bytes.
#[doc(hidden)]
pub const fn doc_bytes<const N: usize>(lines: &[&str]) -> [u8; N] {
    let mut out = [0u8; N];
    let (mut i, mut k) = (0, 0);
    while i < lines.len() {
        if i > 0 {
            out[k] = b'\n';
            k += 1;
        }
        let line = lines[i].as_bytes();
        let mut j = leading_space(line);
        while j < line.len() {
            out[k] = line[j];
            (j, k) = (j + 1, k + 1);
        }
        i += 1;
    }
    out
}

const fn leading_space(line: &[u8]) -> usize {
    if !line.is_empty() && line[0] == b' ' { 1 } else { 0 }
}

/// Gathers the rules of each area into the one table, in code order, and re-exports them
/// (`registry::UNKNOWN_KEY`).
macro_rules! registry {
    ($( $($area:ident)::+ => { $($rule:ident),* $(,)? } )*) => {
        $( pub use crate::$($area)::+::{$($rule),*}; )*
        /// Every rule, in code order.
        pub static RULES: &[&Rule] = &[ $( $( &$rule ),* ),* ];
    };
}

registry! {
    manifest::rules => {
        MANIFEST_SYNTAX, MANIFEST_NOT_UTF8, MANIFEST_TOO_LARGE, UNKNOWN_KEY, MISSING_FIELD, WRONG_TYPE,
        INVALID_COMPONENT_NAME, INVALID_VERSION, DESCRIPTION_TOO_LONG, INVALID_REPOSITORY_URL, UNKNOWN_ACTION,
        INVALID_PATH, INVALID_DOMAIN, INVALID_PORT, INVALID_EXECUTABLE, UNKNOWN_SIGNAL, DUPLICATE_GRANT,
        SHADOWED_GRANT, OVERLY_BROAD_GRANT, INVALID_LIMIT, IRRELEVANT_FIELD, ACKNOWLEDGED_AND_GRANTED,
    }
    catalogue::rules => {
        CATALOGUE_WIT_ERROR, MISSING_REQUIREMENT, MALFORMED_REQUIREMENT, REQUIREMENT_UNKNOWN_PARAMETER,
        DUPLICATE_REQUIREMENT,
    }
    analyze::rules => {
        INVALID_BINARY, UNDECLARED_PERMISSION, UNUSED_GRANT, RISKY_OPERATION_UNDER_BROAD_GRANT, CORE_MODULE,
        UNMAPPED_IMPORT, MISSING_MANIFEST, ACKNOWLEDGED_NEVER_GRANTED, UNUSED_ACKNOWLEDGMENT, DISALLOWED_KIND,
        UNUSABLE_LIST_LINE,
    }
    wit_world::rules => {
        WIT_ERROR, IMPORT_OUTSIDE_CATALOGUE, SIGNATURE_MISMATCH, INCOMPATIBLE_VERSION, MISSING_LIFECYCLE_EXPORT,
        NO_WORLD,
    }
    orgpolicy::rules => {
        POLICY_SYNTAX, INVALID_POLICY, DENIED_PATH, GRANT_OUTSIDE_ROOTS, DENIED_HOST, ANY_HOST_FORBIDDEN,
        PORT_NOT_ALLOWED, SPAWN_FORBIDDEN, DENIED_EXECUTABLE, SIGNAL_NOT_ALLOWED, FORBIDDEN_OPERATION,
        MISSING_POLICY_FIELD, TOO_MANY_GRANTS, EXPIRED_WAIVER, UNUSED_WAIVER,
    }
}

/// Finds a rule by code (`MAN004`, case-insensitive) or kebab name (`unknown-key`).
pub fn lookup(name: &str) -> Option<&'static Rule> {
    RULES
        .iter()
        .copied()
        .find(|r| r.code.eq_ignore_ascii_case(name) || r.name == name)
}

/// The message for an unknown code, with the closest known code or name.
pub fn unknown_rule_message(name: &str) -> String {
    let names = RULES.iter().flat_map(|r| [r.code, r.name]);
    match super::did_you_mean(name, names) {
        Some(s) => format!("unknown diagnostic code `{name}` (did you mean `{s}`?)"),
        None => format!("unknown diagnostic code `{name}`; `airssys-wasm explain --list` lists them"),
    }
}

/// Renders the rule reference (`docs/rules.md`).
pub fn reference_markdown() -> String {
    let mut out = String::from(
        "# Diagnostic reference\n\n<!-- Generated from src/diagnostics/registry.rs by \
         `airssys-wasm explain --markdown`; a test fails when this file is stale. -->\n\n\
         | code | name | default | summary |\n|---|---|---|---|\n",
    );
    for r in RULES {
        out.push_str(&format!(
            "| [{}](#{}) | `{}` | {} | {} |\n",
            r.code,
            r.code.to_ascii_lowercase(),
            r.name,
            r.severity,
            r.summary
        ));
    }
    for r in RULES {
        out.push_str(&format!(
            "\n## {}\n\n`{}` · default severity: **{}**\n\n{}.\n\n{}\n",
            r.code,
            r.name,
            r.severity,
            capitalise(r.summary),
            r.doc
        ));
    }
    out
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn every_rule_explains_why_and_how_to_fix() {
        for r in RULES {
            assert!(!r.why().is_empty() && !r.why().contains("## "), "{}", r.code);
            assert!(r.how_to_fix().is_some_and(|f| !f.contains("## ")), "{}", r.code);
        }
        let unused = lookup("unused-grant").unwrap();
        assert!(
            unused.why().starts_with("The manifest grants an action"),
            "{}",
            unused.why()
        );
        assert!(unused.how_to_fix().unwrap().starts_with("Remove the grant"));
    }

    #[test]
    fn codes_and_names_are_unique_and_well_formed() {
        let mut seen = HashSet::new();
        for r in RULES {
            assert!(seen.insert(r.code), "duplicate code {}", r.code);
            assert!(seen.insert(r.name), "duplicate name {}", r.name);
            assert!(
                r.code.len() == 6 && r.code[3..].chars().all(|c| c.is_ascii_digit()),
                "{}",
                r.code
            );
            assert!(
                r.name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'),
                "{}",
                r.name
            );
            assert!(!r.summary.ends_with('.'), "summary of {} ends with a period", r.code);
            assert!(!r.doc.trim().is_empty(), "{} has no doc", r.code);
        }
    }

    #[test]
    fn lookup_by_code_and_name() {
        assert_eq!(lookup("man004").unwrap().name, "unknown-key");
        assert_eq!(lookup("unknown-key").unwrap().code, "MAN004");
        assert!(lookup("nope").is_none());
        assert!(unknown_rule_message("unknown-kye").contains("unknown-key"));
    }
}
