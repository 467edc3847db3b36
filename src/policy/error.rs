//! The one error type of the policy core: why a manifest value (an action name, a path pattern,
//! a host, an executable, a signal) or a requested path or host could not be parsed. Every kind
//! carries the offending input so the manifest layer can point at it, and `help()` says how to
//! fix it. Messages are lowercase without a trailing period, like globset's and ripgrep's.

use super::action::Domain;

/// A value that the policy core refused; see [`PatternError::kind`] for which rule it broke.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct PatternError(Box<PatternErrorKind>);

/// An error normalising a requested path ([`super::normalize_path`]).
pub type PathError = PatternError;

/// An error normalising a host name or address ([`super::normalize_host`]).
pub type HostError = PatternError;

/// The rule that a refused value broke.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PatternErrorKind {
    /// An action name that the domain does not have.
    #[error("unknown {domain} action `{input}`")]
    UnknownAction {
        /// The name as written.
        input: String,
        /// The domain whose actions were expected.
        domain: Domain,
        /// The valid spellings.
        expected: Vec<&'static str>,
    },
    /// An empty path.
    #[error("path is empty")]
    EmptyPath,
    /// A path with a NUL byte, which no operating system path can contain.
    #[error("path `{input}` contains a NUL byte")]
    NulByte {
        /// The path as written (with the NUL escaped by `Debug` when shown).
        input: String,
    },
    /// A path that is neither absolute nor under `~/`.
    #[error("path `{input}` is relative")]
    RelativePath {
        /// The path as written.
        input: String,
    },
    /// A `~/` path whose `..` leaves the home directory, which cannot be resolved lexically.
    #[error("path `{input}` climbs above the home directory")]
    ClimbsAboveHome {
        /// The path as written.
        input: String,
    },
    /// A grant path containing `..`: a grant must say plainly what it grants.
    #[error("grant path `{input}` contains `..`")]
    ParentInPattern {
        /// The path as written.
        input: String,
        /// The lexically resolved path, when there is one.
        suggestion: Option<String>,
    },
    /// Glob syntax other than `*` and `**`.
    #[error("unsupported glob syntax `{found}` in path `{input}`")]
    UnsupportedGlob {
        /// The path as written.
        input: String,
        /// The first unsupported character.
        found: char,
    },
    /// `**` mixed with other characters in one segment (`/a**b`, `/**.txt`).
    #[error("`**` is not a whole path segment in `{input}`")]
    DoubleStarInSegment {
        /// The path as written.
        input: String,
    },
    /// A spawn grant whose executable contains a wildcard.
    #[error("executable `{input}` contains a wildcard")]
    WildcardExecutable {
        /// The executable as written.
        input: String,
    },
    /// A spawn grant whose executable is not an absolute path.
    #[error("executable `{input}` is not an absolute path")]
    ExecutableNotAbsolute {
        /// The executable as written.
        input: String,
    },
    /// An empty host.
    #[error("host is empty")]
    EmptyHost,
    /// A host with percent-encoding, which resolvers do not decode.
    #[error("host `{input}` contains `%`")]
    PercentInHost {
        /// The host as written.
        input: String,
    },
    /// A host that is neither a valid name nor an IP literal.
    #[error("invalid host `{input}`: {reason}")]
    InvalidHost {
        /// The host as written.
        input: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A `*` anywhere but as the whole first label of a host pattern.
    #[error("misplaced wildcard in host `{input}`")]
    MisplacedHostWildcard {
        /// The pattern as written.
        input: String,
    },
    /// `*.` followed by an IP address, which has no subdomains.
    #[error("wildcard host `{input}` ends in an IP address")]
    WildcardIpSuffix {
        /// The pattern as written.
        input: String,
    },
    /// A signal name that is not a standard POSIX signal spelled `SIGNAME`.
    #[error("unknown signal `{input}`")]
    UnknownSignal {
        /// The name as written.
        input: String,
        /// The canonical name that was probably meant.
        suggestion: Option<&'static str>,
    },
}

impl PatternError {
    /// Wraps a kind; boxed so that `Result<_, PatternError>` stays one pointer wide.
    pub(crate) fn new(kind: PatternErrorKind) -> Self {
        PatternError(Box::new(kind))
    }

    /// The rule that was broken, with the offending input.
    pub fn kind(&self) -> &PatternErrorKind {
        &self.0
    }

    /// Takes the kind out of the error.
    pub fn into_kind(self) -> PatternErrorKind {
        *self.0
    }

    /// How to fix the value, when there is something useful to say.
    pub fn help(&self) -> Option<String> {
        self.0.help()
    }
}

impl From<PatternErrorKind> for PatternError {
    fn from(kind: PatternErrorKind) -> Self {
        PatternError::new(kind)
    }
}

impl PatternErrorKind {
    /// How to fix the value; see [`PatternError::help`].
    pub fn help(&self) -> Option<String> {
        use PatternErrorKind as K;
        let text = match self {
            K::UnknownAction { input, expected, .. } => unknown_action_help(input, expected),
            K::EmptyPath | K::RelativePath { .. } => {
                "write an absolute path starting with `/`, or a home path starting with `~/`".into()
            }
            K::NulByte { .. } => "remove the NUL byte".into(),
            K::ClimbsAboveHome { .. } => "write the path as an absolute path instead".into(),
            K::ParentInPattern {
                suggestion: Some(s), ..
            } => format!("write `{s}` instead"),
            K::ParentInPattern { suggestion: None, .. } => "remove the `..` segments".into(),
            K::UnsupportedGlob { .. } => "only `*` (any characters within one segment) and `**` \
                 (a whole segment: any depth) are supported; `?`, `[...]`, `{...}` and `\\` \
                 escapes are not"
                .into(),
            K::DoubleStarInSegment { .. } => "write `/dir/**` for everything below `dir`, or use \
                 a single `*` to match characters within one segment"
                .into(),
            K::WildcardExecutable { .. } => {
                "name each executable by its absolute path, one grant per executable".into()
            }
            K::ExecutableNotAbsolute { .. } => {
                "spawn grants name the executable by its absolute path, such as `/usr/bin/git`; \
                 `~/` and PATH lookup are not supported"
                    .into()
            }
            K::EmptyHost => "write a host name, an IP address, `*.example.com` or `**`".into(),
            K::PercentInHost { .. } => "write the host without percent-encoding".into(),
            K::InvalidHost { .. } => "write a host name such as `api.example.com` or an IP address".into(),
            K::MisplacedHostWildcard { .. } => "`*` may only be the whole first label: write \
                 `*.example.com` for every subdomain or `**` for any host"
                .into(),
            K::WildcardIpSuffix { .. } => "IP addresses have no subdomains: grant the address itself".into(),
            K::UnknownSignal {
                suggestion: Some(s), ..
            } => format!("did you mean `{s}`?"),
            K::UnknownSignal { suggestion: None, .. } => "use a POSIX signal name such as `SIGTERM` or `SIGHUP`".into(),
        };
        Some(text)
    }
}

fn unknown_action_help(input: &str, expected: &[&'static str]) -> String {
    match closest(input, expected.iter().copied()) {
        Some(near) => format!("did you mean `{near}`?"),
        None => {
            let list: Vec<String> = expected.iter().map(|e| format!("`{e}`")).collect();
            format!("expected one of {}", list.join(", "))
        }
    }
}

/// The candidate nearest to `input` (case-insensitive edit distance at most 2), for "did you
/// mean" help.
pub(crate) fn closest<'a>(input: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let input = input.to_ascii_lowercase();
    candidates
        .into_iter()
        .map(|c| (edit_distance(&input, &c.to_ascii_lowercase()), c))
        .filter(|(d, _)| *d <= 2)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Edit distance over chars where swapping two neighbours counts as one edit (optimal string
/// alignment), since transpositions are the commonest typo. Inputs are short names; a huge
/// manifest value is cut to its first 64 chars so that a hostile manifest cannot make this
/// quadratic in its size.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().take(64).collect();
    let b: Vec<char> = b.chars().take(64).collect();
    let mut before: Vec<usize> = Vec::new();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for i in 0..a.len() {
        let mut cur = vec![i + 1; b.len() + 1];
        for j in 0..b.len() {
            let substitute = prev[j] + usize::from(a[i] != b[j]);
            cur[j + 1] = substitute.min(prev[j + 1] + 1).min(cur[j] + 1);
            if i > 0 && j > 0 && a[i] == b[j - 1] && a[i - 1] == b[j] {
                cur[j + 1] = cur[j + 1].min(before[j - 1] + 1);
            }
        }
        before = std::mem::replace(&mut prev, cur);
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_is_one_pointer_wide() {
        assert_eq!(std::mem::size_of::<PatternError>(), std::mem::size_of::<usize>());
    }

    #[test]
    fn every_kind_has_help_and_a_lowercase_message() {
        let kinds = [
            PatternErrorKind::EmptyPath,
            PatternErrorKind::RelativePath { input: "a".into() },
            PatternErrorKind::EmptyHost,
            PatternErrorKind::UnknownSignal {
                input: "X".into(),
                suggestion: None,
            },
        ];
        for kind in kinds {
            let msg = kind.to_string();
            assert!(!msg.ends_with('.'), "{msg}");
            assert!(msg.chars().next().unwrap().is_lowercase(), "{msg}");
            assert!(kind.help().is_some());
        }
    }

    #[test]
    fn closest_finds_near_misses_only() {
        assert_eq!(closest("wirte", ["read", "write"]), Some("write"));
        assert_eq!(closest("zzzzzz", ["read", "write"]), None);
        assert_eq!(edit_distance("sigtrem", "sigterm"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("abc", "abc"), 0);
    }
}
