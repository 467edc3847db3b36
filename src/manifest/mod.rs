//! The component manifest (`Component.toml`): its validated model and how it is loaded.
//!
//! Loading never stops at the first problem: [`Manifest::parse`] walks the whole TOML document
//! (with every value's span), reports every finding, and builds the [`Manifest`] from what is
//! valid. Downstream code (the decision core, the analyzer, the runtime) takes a `Manifest` and
//! so can rely on every grant being well-formed.

pub mod draft;
mod grants;
mod parse;
pub(crate) mod rules;
pub use parse::parse_size;

use std::ops::Range;
use std::path::Path;

use crate::diagnostics::{Diagnostic, Severity, SourceId, Sources};
use crate::policy::{CompiledGrants, Env, FsGrant, GrantRef, GrantSet, NetGrant, ProcGrant};

/// Manifests above this size are refused unread (`manifest-too-large`).
pub const MAX_MANIFEST_BYTES: usize = 1 << 20;
/// Deeper nesting of arrays and inline tables is refused (`manifest-too-large`).
pub const MAX_NESTING: usize = 32;

/// The `[component]` table.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ComponentInfo {
    pub name: String,
    pub version: Option<semver::Version>,
    pub description: Option<String>,
    pub author: Option<String>,
    pub license: Option<String>,
    pub repository: Option<String>,
}

/// A grant together with where it was written.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry<G> {
    pub grant: G,
    /// The whole inline table (or `[[...]]` table).
    pub span: Range<usize>,
    /// The value that says what is granted (path, domain, port, executable or signal).
    pub value_span: Range<usize>,
}

/// Runtime bounds of an instance (`[limits]`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Limits {
    /// Linear memory, in bytes.
    pub memory: Option<u64>,
    /// Wasm fuel (roughly instructions).
    pub fuel: Option<u64>,
    /// Wall time of one call, in milliseconds.
    pub timeout_ms: Option<u64>,
    /// Core instances, tables and linear memories the component may create (interpreters
    /// built by real toolchains need dozens of instances).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instances: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tables: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memories: Option<u64>,
}

/// A valid component name (`^[a-z0-9][a-z0-9-]{1,62}[a-z0-9]$`) made from any text: lower-cased
/// ASCII letters and digits, everything else a hyphen, padded when too short.
pub fn component_name_from(text: &str) -> String {
    let s: String = text
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    let s: String = s.trim_matches('-').chars().take(64).collect();
    let s = s.trim_end_matches('-');
    if s.len() >= 3 {
        s.to_string()
    } else {
        format!("{s}-component").trim_start_matches('-').to_string()
    }
}

/// A validated manifest. Only grants that passed validation are here.
#[derive(Clone, Debug, PartialEq)]
pub struct Manifest {
    pub source: SourceId,
    pub component: ComponentInfo,
    pub filesystem: Vec<Entry<FsGrant>>,
    pub network: Vec<Entry<NetGrant>>,
    pub process: Vec<Entry<ProcGrant>>,
    pub limits: Limits,
    /// `[config]`, passed to the component's `init` as key/value strings.
    pub config: Vec<(String, String)>,
    /// `[acknowledged]`: actions the component imports operations for but will never be granted.
    pub acknowledged: Option<Acknowledged>,
    /// Where `[permissions]` and its arrays are, for findings about a missing grant.
    pub spans: SectionSpans,
}

/// The `[acknowledged]` table: actions that imported operations need and that the component
/// will never be granted, with the reason. It grants nothing: the operations stay denied at run
/// time. `check` reports what each acknowledged action covers (`CMP008`) instead of an
/// undeclared permission, and an acknowledged action nothing needs (`CMP009`).
#[derive(Clone, Debug, PartialEq)]
pub struct Acknowledged {
    pub reason: String,
    /// The whole table.
    pub span: Range<usize>,
    /// Each acknowledged action with the span of its string.
    pub actions: Vec<(crate::policy::Action, Range<usize>)>,
}

impl Acknowledged {
    /// Whether `action` is acknowledged.
    pub fn covers(&self, action: crate::policy::Action) -> bool {
        self.actions.iter().any(|(a, _)| *a == action)
    }
}

/// Spans of the permission sections (absent ones are `None`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SectionSpans {
    pub permissions: Option<Range<usize>>,
    pub filesystem: Option<Range<usize>>,
    pub network: Option<Range<usize>>,
    pub process: Option<Range<usize>>,
}

impl SectionSpans {
    /// The best place to add a grant of `domain`: its array, else `[permissions]`.
    pub fn for_domain(&self, domain: crate::policy::Domain) -> Option<Range<usize>> {
        use crate::policy::Domain;
        let array = match domain {
            Domain::Filesystem => &self.filesystem,
            Domain::Network => &self.network,
            Domain::Process => &self.process,
        };
        array.clone().or_else(|| self.permissions.clone())
    }
}

/// The result of loading a manifest: the model (when the file could be read as TOML at all)
/// and every finding about it.
#[derive(Debug)]
pub struct Parsed {
    pub manifest: Option<Manifest>,
    pub diagnostics: Vec<Diagnostic>,
}

impl Parsed {
    /// True when some finding is an error at its default level.
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(|d| d.severity == Severity::Error)
    }

    /// The manifest if it has no error-level finding, else the findings.
    pub fn into_valid(self) -> Result<Manifest, Vec<Diagnostic>> {
        match self.manifest {
            Some(m) if !self.diagnostics.iter().any(|d| d.severity == Severity::Error) => Ok(m),
            _ => Err(self.diagnostics),
        }
    }
}

impl Manifest {
    /// Parses and validates manifest text, registering it in `sources` under `name`.
    pub fn parse_in(sources: &mut Sources, name: &str, text: &str) -> Parsed {
        let source = sources.add_text(name, text);
        parse::parse(source, text)
    }

    /// Parses manifest text on its own (its diagnostics point at a fresh [`Sources`]).
    pub fn parse(name: &str, text: &str) -> Parsed {
        Self::parse_in(&mut Sources::new(), name, text)
    }

    /// Reads a manifest file: refuses large files (unread) and non-UTF-8 bytes as findings,
    /// and fails only when the file cannot be read at all or is not a regular file.
    pub fn load(sources: &mut Sources, path: &Path) -> crate::Result<Parsed> {
        let name = path.display().to_string();
        match crate::bounded::read(path, MAX_MANIFEST_BYTES).map_err(|e| crate::Error::read(path, e))? {
            crate::bounded::Bounded::Bytes(bytes) => Ok(Self::from_bytes(sources, &name, &bytes)),
            crate::bounded::Bounded::TooLarge(size) => Ok(Parsed {
                manifest: None,
                diagnostics: vec![parse::too_large(sources, &name, size)],
            }),
        }
    }

    /// Like [`Manifest::load`], from bytes already read.
    pub fn from_bytes(sources: &mut Sources, name: &str, bytes: &[u8]) -> Parsed {
        if let Some(d) = parse::refuse_bytes(sources, name, bytes) {
            return Parsed {
                manifest: None,
                diagnostics: vec![d],
            };
        }
        let text = std::str::from_utf8(bytes).expect("checked by refuse_bytes");
        Self::parse_in(sources, name, text)
    }

    /// The grants in decision-core form; `GrantRef::index` is the index in each array here.
    pub fn grant_set(&self) -> GrantSet {
        GrantSet {
            filesystem: self.filesystem.iter().map(|e| e.grant.clone()).collect(),
            network: self.network.iter().map(|e| e.grant.clone()).collect(),
            process: self.process.iter().map(|e| e.grant.clone()).collect(),
        }
    }

    /// Compiles the grants once for fast decisions.
    pub fn compile(&self, env: &Env) -> CompiledGrants {
        CompiledGrants::compile(&self.grant_set(), env)
    }

    /// The span of the entry a grant reference points at.
    pub fn span_of(&self, grant: GrantRef) -> Option<Range<usize>> {
        use crate::policy::Domain;
        match grant.domain {
            Domain::Filesystem => self.filesystem.get(grant.index).map(|e| e.span.clone()),
            Domain::Network => self.network.get(grant.index).map(|e| e.span.clone()),
            Domain::Process => self.process.get(grant.index).map(|e| e.span.clone()),
        }
    }

    /// The action a grant reference allows. Panics when the reference is not one of this
    /// manifest's ([`Manifest::grant_refs`]).
    pub fn action_of(&self, g: GrantRef) -> crate::policy::Action {
        use crate::policy::{Action, Domain};
        match g.domain {
            Domain::Filesystem => Action::Fs(self.filesystem[g.index].grant.action),
            Domain::Network => Action::Net(self.network[g.index].grant.action),
            Domain::Process => Action::Proc(self.process[g.index].grant.action()),
        }
    }

    /// A grant as findings name it (``read `/data/**` ``). Panics when the reference is not one
    /// of this manifest's.
    pub fn describe(&self, g: GrantRef) -> String {
        use crate::policy::Domain;
        match g.domain {
            Domain::Filesystem => self.filesystem[g.index].grant.to_string(),
            Domain::Network => self.network[g.index].grant.to_string(),
            Domain::Process => self.process[g.index].grant.to_string(),
        }
    }

    /// Every grant with its reference, in manifest order per domain.
    pub fn grant_refs(&self) -> impl Iterator<Item = GrantRef> + '_ {
        use crate::policy::Domain;
        let fs = (0..self.filesystem.len()).map(|index| GrantRef {
            domain: Domain::Filesystem,
            index,
        });
        let net = (0..self.network.len()).map(|index| GrantRef {
            domain: Domain::Network,
            index,
        });
        let proc = (0..self.process.len()).map(|index| GrantRef {
            domain: Domain::Process,
            index,
        });
        fs.chain(net).chain(proc)
    }
}
