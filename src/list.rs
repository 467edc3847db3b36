//! `check --from-list FILE|-`: the components to check, one per line, so that a registry
//! crawler can pipe its listing without building a directory tree.
//!
//! A line is a component's path, optionally followed by a tab and its manifest's path (empty:
//! found as for any component), optionally followed by a tab and the component's content
//! digest as the registry knows it (`sha256:<64 hex digits>`). Paths are relative to the current
//! directory, or absolute. Blank lines and lines starting with `#` are skipped. A line that
//! names nothing checkable is a finding (`CMP011`) with its line number, and the other lines
//! are still checked.
//!
//! A listed digest lets `--shard` choose its members without reading every file of the
//! registry; the members' files are read anyway, and a digest that does not match the file is
//! reported (`CMP011`, at the line) with the component's other findings.

use std::collections::HashMap;
use std::ops::Range;
use std::path::PathBuf;

use crate::analyze::rules::unusable_list_line;
use crate::diagnostics::{Diagnostic, SourceId, Sources};
use crate::digest::Digest;

/// The largest list read.
pub const MAX_LIST_BYTES: usize = 256 * 1024 * 1024;

/// What a list asks for.
#[derive(Debug, Default)]
pub struct List {
    /// The components, in the order listed (each once).
    pub components: Vec<PathBuf>,
    /// What the list says about each component.
    pub listed: HashMap<PathBuf, Listed>,
    /// The lines that name nothing checkable.
    pub diagnostics: Vec<Diagnostic>,
}

/// What a line says about its component, and where.
#[derive(Clone, Debug)]
pub struct Listed {
    pub manifest: Option<PathBuf>,
    pub digest: Option<Digest>,
    /// The line, in the list's source.
    pub at: (SourceId, Range<usize>),
}

/// Reads a list registered in `sources` under `name` (text that was not UTF-8 is given with
/// replacement characters: such lines are findings).
pub fn parse(sources: &mut Sources, name: &str, text: String) -> List {
    let id = sources.add_text(name, text);
    let text = sources.get(id).text.clone().unwrap_or_default();
    let mut list = List::default();
    let mut first_line: HashMap<&str, usize> = HashMap::new();
    let mut start = 0;
    for (n, raw) in text.split_inclusive('\n').enumerate() {
        let line_start = start;
        start += raw.len();
        let line = raw.trim_end_matches(['\n', '\r']);
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let span = line_start..line_start + line.len();
        let bad = |why: String, help: &str| unusable_list_line(id, span.clone(), &why, help);
        let fields: Vec<&str> = line.split('\t').collect();
        let problem = match fields.as_slice() {
            _ if line.contains('\u{fffd}') => {
                Some(bad(format!("line {} is not UTF-8", n + 1), "list paths as UTF-8 text"))
            }
            [] | [_, _, _, _, ..] => Some(bad(
                format!("line {} has {} tab-separated fields", n + 1, fields.len()),
                "write a component's path, then optionally a tab and its manifest's path, then optionally a tab and its sha256:<hex> digest",
            )),
            [_, _, digest] if Digest::parse(digest).is_none() => Some(bad(
                format!("line {}: `{digest}` is not a digest", n + 1),
                "write the component's digest as sha256: followed by 64 hexadecimal digits",
            )),
            ["", ..] => Some(bad(
                format!("line {} names no component before its tab", n + 1),
                "write the component's path first, then a tab and its manifest's path",
            )),
            [component, ..] if first_line.contains_key(component) => Some(bad(
                format!(
                    "line {} lists {component} again (first on line {})",
                    n + 1,
                    first_line[component]
                ),
                "list each component once",
            )),
            [component] => file_problem(component, "component").map(|why| {
                bad(
                    format!("line {}: {why}", n + 1),
                    "list component files (.wasm or .wat) that exist",
                )
            }),
            [component, manifest, ..] => file_problem(component, "component")
                .or_else(|| {
                    (!manifest.is_empty())
                        .then(|| file_problem(manifest, "manifest"))
                        .flatten()
                })
                .map(|why| {
                    bad(
                        format!("line {}: {why}", n + 1),
                        "list files that exist: a component, then a tab and its manifest",
                    )
                }),
        };
        if let Some(d) = problem {
            list.diagnostics.push(d);
            continue;
        }
        first_line.insert(fields[0], n + 1);
        let component = PathBuf::from(fields[0]);
        let listed = Listed {
            manifest: fields.get(1).filter(|m| !m.is_empty()).map(PathBuf::from),
            digest: fields.get(2).and_then(|d| Digest::parse(d)),
            at: (id, span),
        };
        list.listed.insert(component.clone(), listed);
        list.components.push(component);
    }
    list
}

/// Why `path` cannot be read as a `what` file, if it cannot.
fn file_problem(path: &str, what: &str) -> Option<String> {
    match std::fs::metadata(path) {
        Err(e) => Some(format!("cannot read the {what} {path}: {e}")),
        Ok(m) if m.is_dir() => Some(format!("the {what} {path} is a directory; list its files")),
        Ok(m) if !m.is_file() => Some(format!("the {what} {path} is not a regular file")),
        Ok(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Any text: every line that is not blank or a comment is either listed or a finding.
        #[test]
        fn every_line_is_listed_or_reported(text in "([a-z./\t#]{0,12}\n){0,12}") {
            let lines = text.lines().filter(|l| !l.trim().is_empty() && !l.starts_with('#')).count();
            let list = parse(&mut Sources::new(), "list", text);
            prop_assert_eq!(list.components.len() + list.diagnostics.len(), lines);
        }
    }

    #[test]
    fn a_line_names_a_component_its_manifest_and_its_digest() {
        let digest = format!("sha256:{}", "0".repeat(64));
        let text = format!("Cargo.toml\tCargo.toml\t{digest}\nREADME.md\n");
        let list = parse(&mut Sources::new(), "list", text);
        assert!(list.diagnostics.is_empty());
        let listed = &list.listed[&PathBuf::from("Cargo.toml")];
        assert_eq!(listed.manifest, Some(PathBuf::from("Cargo.toml")));
        assert_eq!(listed.digest, Digest::parse(&digest));
        assert_eq!(list.listed[&PathBuf::from("README.md")].manifest, None);
    }
}
