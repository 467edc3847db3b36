//! The `@requires` grammar: what permission a catalogue operation needs, parsed from the line
//! beside its WIT definition.
//!
//! ```text
//! requirement := "none" | term (" + " term)*
//! term        := domain ":" action ("|" action)* "(" arg (", " arg)* ")"
//! arg         := param ("." field)* | "\"" literal "\""
//! ```
//! `a|b` means either grant is enough statically (at run time the arguments decide); `+` means
//! every term is needed. An argument named `handle` means the grant was checked when the handle
//! was made.

use std::fmt;

use crate::policy::{Action, Domain, FsAction, NetAction, ProcAction};

/// A parsed `@requires` line.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(into = "String")]
pub struct Requirement {
    /// Empty for `none`.
    pub terms: Vec<Term>,
}

/// One `domain:action(args)` term.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Term {
    pub domain: Domain,
    /// One or more alternatives; any one is enough statically.
    pub actions: Vec<Action>,
    pub args: Vec<Arg>,
}

/// What a term's permission is checked against.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Arg {
    /// A parameter, optionally a field path into a record: `path`, `options.executable`.
    Param(Vec<String>),
    /// A fixed resource: `"/bin/sh"`, `"SIGKILL"`.
    Literal(String),
}

impl Requirement {
    pub fn is_none(&self) -> bool {
        self.terms.is_empty()
    }

    /// Parses the text after `@requires `.
    pub fn parse(s: &str) -> Result<Self, String> {
        let s = s.trim();
        if s == "none" {
            return Ok(Requirement { terms: Vec::new() });
        }
        if s.is_empty() {
            return Err("empty requirement; write `none` when the operation needs no grant".into());
        }
        let terms = s.split(" + ").map(Term::parse).collect::<Result<Vec<_>, _>>()?;
        Ok(Requirement { terms })
    }

    /// Every parameter path any term names.
    pub fn params(&self) -> impl Iterator<Item = &[String]> {
        self.terms.iter().flat_map(|t| t.args.iter()).filter_map(|a| match a {
            Arg::Param(p) => Some(p.as_slice()),
            Arg::Literal(_) => None,
        })
    }
}

impl Term {
    fn parse(s: &str) -> Result<Self, String> {
        let s = s.trim();
        let (domain, rest) = s
            .split_once(':')
            .ok_or_else(|| format!("`{s}` is not `domain:action(args)`"))?;
        let domain = parse_domain(domain)?;
        let (actions, args) = rest.strip_suffix(')').and_then(|r| r.split_once('(')).ok_or_else(|| {
            format!(
                "`{s}` needs its arguments in parentheses, e.g. `{}(path)`",
                rest.trim_end_matches(')')
            )
        })?;
        let actions = actions
            .split('|')
            .map(|a| parse_action(domain, a))
            .collect::<Result<Vec<_>, _>>()?;
        let args = args.split(',').map(parse_arg).collect::<Result<Vec<_>, _>>()?;
        Ok(Term { domain, actions, args })
    }
}

fn parse_domain(s: &str) -> Result<Domain, String> {
    match s {
        "filesystem" => Ok(Domain::Filesystem),
        "network" => Ok(Domain::Network),
        "process" => Ok(Domain::Process),
        _ => Err(format!(
            "unknown permission domain `{s}`; domains are `filesystem`, `network`, `process`"
        )),
    }
}

fn parse_action(domain: Domain, s: &str) -> Result<Action, String> {
    let found = match domain {
        Domain::Filesystem => FsAction::ALL.iter().find(|a| a.as_str() == s).map(|a| Action::Fs(*a)),
        Domain::Network => NetAction::ALL.iter().find(|a| a.as_str() == s).map(|a| Action::Net(*a)),
        Domain::Process => ProcAction::ALL
            .iter()
            .find(|a| a.as_str() == s)
            .map(|a| Action::Proc(*a)),
    };
    found.ok_or_else(|| format!("unknown {} action `{s}`", domain_name(domain)))
}

fn parse_arg(s: &str) -> Result<Arg, String> {
    let s = s.trim();
    if let Some(lit) = s.strip_prefix('"') {
        return lit
            .strip_suffix('"')
            .filter(|l| !l.is_empty() && !l.contains('"'))
            .map(|l| Arg::Literal(l.to_string()))
            .ok_or_else(|| format!("unterminated or empty literal `{s}`"));
    }
    let parts: Vec<String> = s.split('.').map(str::to_string).collect();
    if parts
        .iter()
        .any(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
    {
        return Err(format!("`{s}` is neither a parameter name nor a quoted literal"));
    }
    Ok(Arg::Param(parts))
}

pub fn domain_name(d: Domain) -> &'static str {
    match d {
        Domain::Filesystem => "filesystem",
        Domain::Network => "network",
        Domain::Process => "process",
    }
}

impl fmt::Display for Requirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.terms.is_empty() {
            return f.write_str("none");
        }
        for (i, t) in self.terms.iter().enumerate() {
            if i > 0 {
                f.write_str(" + ")?;
            }
            let actions: Vec<&str> = t.actions.iter().map(|a| a.as_str()).collect();
            let args: Vec<String> = t
                .args
                .iter()
                .map(|a| match a {
                    Arg::Param(p) => p.join("."),
                    Arg::Literal(l) => format!("\"{l}\""),
                })
                .collect();
            write!(
                f,
                "{}:{}({})",
                domain_name(t.domain),
                actions.join("|"),
                args.join(", ")
            )?;
        }
        Ok(())
    }
}

impl From<Requirement> for String {
    fn from(r: Requirement) -> String {
        r.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        for s in [
            "none",
            "filesystem:read(path)",
            "filesystem:read|write(path)",
            "filesystem:delete(src) + filesystem:write(dest)",
            "process:spawn(options.executable)",
            "process:signal(\"SIGTERM\") + process:signal(\"SIGKILL\")",
            "network:connect(host, port)",
        ] {
            assert_eq!(Requirement::parse(s).unwrap().to_string(), s);
        }
    }

    #[test]
    fn rejects_bad_lines() {
        for s in [
            "",
            "filesystem:reed(path)",
            "fs:read(path)",
            "filesystem:read",
            "filesystem:read(\"\")",
            "filesystem:read(a b)",
            "network",
        ] {
            assert!(Requirement::parse(s).is_err(), "{s:?} should be rejected");
        }
    }
}
