//! `inspect`: what a component imports and exports, the catalogue operation behind each import
//! and the permission it needs; and a least-privilege manifest suggestion.

use std::fmt::Write as _;

use serde::Serialize;

use crate::analyze::{ComponentKind, ImportedFunction, Mapping, NotCharged};
use crate::catalogue::{Arg, Term};
use crate::component::{Artifact, Kind};
use crate::manifest::draft::{Draft, toml_string};
use crate::policy::{Action, NetAction, ProcAction};

/// The JSON document of `inspect --format json` (schema in docs/json-output.md).
#[derive(Debug, Serialize)]
pub struct Inspection {
    pub version: u32,
    pub component: String,
    pub kind: Kind,
    /// What the component is: `airssys`, `wasi-command`, `wasi-http-handler`, `library`.
    pub component_kind: ComponentKind,
    pub imports: Vec<ImportListing>,
    pub exports: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct ImportListing {
    pub name: String,
    pub functions: Vec<FunctionListing>,
}

#[derive(Debug, Serialize)]
pub struct FunctionListing {
    pub name: String,
    #[serde(flatten)]
    pub mapping: Mapping,
    /// The requirement, or `null` when the import is outside the catalogue and WASI.
    pub requires: Option<String>,
    /// Why the requirement is not charged, when it is not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_charged: Option<NotCharged>,
}

/// Builds the listing; imports keep the order of the component's world.
pub fn inspection(
    name: &str,
    artifact: &Artifact,
    component_kind: ComponentKind,
    interfaces: &[String],
    functions: &[ImportedFunction],
) -> Inspection {
    let mut imports: Vec<ImportListing> = interfaces
        .iter()
        .map(|i| ImportListing {
            name: i.clone(),
            functions: Vec::new(),
        })
        .collect();
    for f in functions {
        let listing = FunctionListing {
            name: f.function.clone(),
            mapping: f.source.clone(),
            requires: f.requirement.as_ref().map(|r| r.to_string()),
            not_charged: f.not_charged,
        };
        match imports.iter_mut().find(|i| i.name == f.import) {
            Some(i) => i.functions.push(listing),
            None => imports.push(ImportListing {
                name: f.import.clone(),
                functions: vec![listing],
            }),
        }
    }
    Inspection {
        version: crate::report::json::SCHEMA_VERSION,
        component: name.to_string(),
        kind: artifact.kind,
        component_kind,
        imports,
        exports: artifact.exports.iter().map(|e| e.name.clone()).collect(),
    }
}

/// Human form of the listing.
/// Names come from the binary and the command line: control characters in them are escaped.
pub fn render(i: &Inspection) -> String {
    let esc = crate::report::escape_control;
    let mut out = format!(
        "{} ({})\nkind: {}\n\nimports:\n",
        esc(&i.component),
        match i.kind {
            Kind::Component => "component",
            Kind::CoreModule => "core module",
        },
        i.component_kind.describe(),
    );
    for imp in &i.imports {
        let _ = writeln!(out, "  {}", esc(&imp.name));
        for f in &imp.functions {
            let op = match &f.mapping {
                Mapping::Catalogue { operation } => operation.clone(),
                Mapping::Wasi => "WASI".to_string(),
                Mapping::Preview1 => "WASI preview1".to_string(),
                Mapping::Adapter { program, .. } => format!("adapter, imported by `{program}`"),
                Mapping::ResourceDrop => "resource destructor".to_string(),
                Mapping::Unknown => "not in the catalogue".to_string(),
            };
            let requires = f.requires.as_deref().unwrap_or("unknown (fails closed)");
            let requires = match f.not_charged {
                None => requires.to_string(),
                Some(why) => format!("not charged: {}", not_charged_text(why)),
            };
            let _ = writeln!(out, "    {:<32} {:<56} {requires}", esc(&f.name), op);
            if let Mapping::Adapter { reaches, .. } = &f.mapping {
                for r in reaches {
                    let _ = writeln!(out, "      reaches {}", esc(r));
                }
            }
        }
    }
    out.push_str("\nexports:\n");
    for e in &i.exports {
        let _ = writeln!(out, "  {}", esc(e));
    }
    out
}

/// Why a function is not charged, for people.
pub fn not_charged_text(why: NotCharged) -> &'static str {
    match why {
        NotCharged::NoPreopens => "no preopened directory reachable",
        NotCharged::NoNetwork => "no network reachable",
        NotCharged::AtProgramImports => "charged at the program's imports of the adapter",
        NotCharged::Unreachable => "no code of the component calls it",
    }
}

/// Marks a value the suggestion cannot know. The marker is not a valid value, so a manifest
/// with a placeholder left in fails validation instead of granting something by accident.
pub const PLACEHOLDER: &str = "<fill in:";

/// A least-privilege Component.toml for the component: one grant per distinct need, with
/// placeholders for what only the author knows (paths, hosts, ports, executables, signals).
pub fn suggest_manifest(name: &str, functions: &[ImportedFunction]) -> String {
    let stem = std::path::Path::new(name)
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("component");
    let mut draft = Draft {
        header: vec![
            format!("Suggested by `airssys-wasm inspect --suggest-manifest {name}`."),
            format!("Replace every {PLACEHOLDER} ...> value with the narrowest resource the component needs;"),
            "`airssys-wasm check` refuses the manifest while a placeholder is left.".to_string(),
        ],
        component: vec![
            ("name", toml_string(&crate::manifest::component_name_from(stem))),
            ("version", toml_string("0.1.0")),
        ],
        ..Draft::default()
    };
    for (f, term) in needs(functions) {
        draft
            .grants
            .entry((term.domain, grant_for(term)))
            .or_default()
            .push(why(f, term));
    }
    draft.render()
}

/// Every term of every charged requirement, with the function that needs it.
pub fn needs(functions: &[ImportedFunction]) -> impl Iterator<Item = (&ImportedFunction, &Term)> {
    functions
        .iter()
        .filter_map(|f| Some((f, f.charged()?)))
        .flat_map(|(f, req)| req.terms.iter().map(move |term| (f, term)))
}

/// What needs a grant for `term`: the function, and the other actions that would do
/// (``open (or `write`)``).
pub fn why(f: &ImportedFunction, term: &Term) -> String {
    if term.actions.len() < 2 {
        return f.function.clone();
    }
    let others: Vec<&str> = term.actions[1..].iter().map(|a| a.as_str()).collect();
    format!("{} (or `{}`)", f.function, others.join("`, `"))
}

/// The grant a term needs. Alternatives (`read|write`) suggest the first; literals are exact.
fn grant_for(term: &Term) -> String {
    let action = term.actions[0];
    let lit = term.args.iter().find_map(|a| match a {
        Arg::Literal(l) => Some(l.clone()),
        Arg::Param(_) => None,
    });
    let ph = |what: &str| format!("\"{PLACEHOLDER} {what}>\"");
    let a = action.as_str();
    match action {
        Action::Fs(_) => format!("{{ action = \"{a}\", path = {} }}", ph("path")),
        Action::Net(NetAction::Connect) => {
            format!("{{ action = \"{a}\", domain = {}, port = {} }}", ph("host"), ph("port"))
        }
        Action::Net(NetAction::Resolve) => format!("{{ action = \"{a}\", domain = {} }}", ph("host")),
        Action::Net(_) => format!("{{ action = \"{a}\", port = {} }}", ph("port")),
        Action::Proc(ProcAction::Spawn) => format!(
            "{{ action = \"spawn\", executable = {} }}",
            lit.map_or_else(|| ph("executable"), |l| format!("\"{l}\""))
        ),
        Action::Proc(ProcAction::Signal) => format!(
            "{{ action = \"signal\", signal = {} }}",
            lit.map_or_else(|| ph("signal"), |l| format!("\"{l}\""))
        ),
    }
}
