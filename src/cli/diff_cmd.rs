//! `airssys-wasm diff OLD NEW`: the upgrade gate. Two components, two manifests, or two
//! directories whose components are paired by name; exit 1 when NEW gains a capability that no
//! policy's `[upgrade] allow-gains` accepts.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use airssys_wasm::catalogue::Catalogue;
use airssys_wasm::check::{self, Options};
use airssys_wasm::diagnostics::Sources;
use airssys_wasm::diff::{Capabilities, Change, diff, fails};
use airssys_wasm::manifest::Manifest;
use airssys_wasm::report::{escape_control, human, json, sarif};
use airssys_wasm::{Error, ErrorKind};

use super::{Cli, Outcome, print_out, style};

/// `diff`'s output formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum DiffFormat {
    /// One line per change, gains first
    Human,
    /// A versioned JSON document (docs/json-output.md)
    Json,
    /// A Markdown table per component, for a pull-request comment
    Markdown,
    /// SARIF 2.1.0 for code scanning, one result per change (URIs relative to the current
    /// directory)
    Sarif,
}

/// What a path given to `diff` is.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Input {
    Manifest,
    Component,
    Directory,
}

/// One component's comparison.
#[derive(serde::Serialize)]
struct ComponentDiff {
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    old: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    new: Option<String>,
    changes: Vec<Change>,
}

#[derive(serde::Serialize)]
struct DiffDocument {
    version: u32,
    tool: json::Tool,
    allowed_gains: Vec<String>,
    components: Vec<ComponentDiff>,
    summary: Summary,
}

#[derive(serde::Serialize)]
struct Summary {
    gained: usize,
    allowed: usize,
    lost: usize,
    fails: bool,
}

pub(super) fn run(
    cli: &Cli,
    catalogue: &Catalogue,
    old: &Path,
    new: &Path,
    policy: &[PathBuf],
    format: DiffFormat,
) -> Result<Outcome, Error> {
    let kind = input(old)?;
    if input(new)? != kind {
        return Err(Error::usage(format!(
            "{} and {} are not the same kind of input: give two components, two manifests or two directories",
            old.display(),
            new.display()
        )));
    }
    let allowed = super::policy_cmd::load(cli, &mut Sources::new(), policy)?.allowed_gains();
    let (olds, news) = (side(cli, catalogue, old, kind)?, side(cli, catalogue, new, kind)?);
    let components = pair(olds, news, &allowed);
    let changes = || components.iter().flat_map(|c| &c.changes);
    let summary = Summary {
        gained: changes().filter(|c| c.gained).count(),
        allowed: changes().filter(|c| c.allowed).count(),
        lost: changes().filter(|c| !c.gained).count(),
        fails: components.iter().any(|c| fails(&c.changes)),
    };
    let fail = summary.fails;
    match format {
        DiffFormat::Human => print_out(&render_human(&components, &summary)),
        DiffFormat::Markdown => print_out(&render_markdown(&components, &summary)),
        DiffFormat::Sarif => {
            let entries: Vec<sarif::DiffEntry<'_>> = components
                .iter()
                .map(|c| sarif::DiffEntry {
                    name: &c.name,
                    file: c.new.as_deref().or(c.old.as_deref()).unwrap_or_default(),
                    changes: &c.changes,
                })
                .collect();
            let cwd = std::env::current_dir().map_err(|e| Error::read(".", e))?;
            print_out(&sarif::render_diff(&entries, &sarif::Options::relative_to(".", cwd)));
        }
        DiffFormat::Json => print_out(&json::to_string(&DiffDocument {
            version: json::SCHEMA_VERSION,
            tool: json::Tool::this(),
            allowed_gains: allowed,
            components,
            summary,
        })),
    }
    Ok(if fail { Outcome::Findings } else { Outcome::Clean })
}

fn input(path: &Path) -> Result<Input, Error> {
    let meta = std::fs::metadata(path).map_err(|e| Error::read(path, e))?;
    Ok(if meta.is_dir() {
        Input::Directory
    } else if path.extension().is_some_and(|e| e == "toml") {
        Input::Manifest
    } else {
        Input::Component
    })
}

/// The components of one side by name, each with its path and capabilities.
fn side(
    cli: &Cli,
    catalogue: &Catalogue,
    path: &Path,
    kind: Input,
) -> Result<BTreeMap<String, (String, Capabilities)>, Error> {
    let mut out = BTreeMap::new();
    match kind {
        Input::Manifest => {
            let m = manifest(cli, path)?;
            out.insert(
                m.component.name.clone(),
                (path.display().to_string(), Capabilities::new(Some(&m), None)),
            );
        }
        Input::Component => {
            let (name, caps) = component_capabilities(cli, catalogue, path)?;
            out.insert(name, (path.display().to_string(), caps));
        }
        Input::Directory => {
            for c in check::discover(std::slice::from_ref(&path.to_path_buf()))? {
                let (name, caps) = component_capabilities(cli, catalogue, &c)?;
                if let Some((first, _)) = out.get(&name) {
                    return Err(Error::usage(format!(
                        "{} and {} are both component `{name}`: a directory must hold each component once",
                        first,
                        c.display()
                    )));
                }
                out.insert(name, (c.display().to_string(), caps));
            }
        }
    }
    Ok(out)
}

/// A valid manifest, or its findings printed and exit 2: a gate must not compare what it
/// cannot read.
fn manifest(cli: &Cli, path: &Path) -> Result<Manifest, Error> {
    let mut sources = Sources::new();
    Manifest::load(&mut sources, path)?.into_valid().map_err(|diagnostics| {
        eprint!("{}", human::render(&diagnostics, &sources, style(cli)));
        Error::from(ErrorKind::InvalidManifest {
            path: path.to_path_buf(),
        })
    })
}

/// A component's name (its manifest's, else its file stem) and capabilities.
fn component_capabilities(cli: &Cli, catalogue: &Catalogue, path: &Path) -> Result<(String, Capabilities), Error> {
    let artifact = super::check_cmd::read_artifact(path)?;
    let mut sources = Sources::new();
    let binary = sources.add_binary(path.display().to_string());
    let classified = check::classify(catalogue, &artifact, binary);
    let manifest_path = check::manifest_for(path, &Options::default());
    let m = if manifest_path.is_file() {
        Some(manifest(cli, &manifest_path)?)
    } else {
        None
    };
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let name = m.as_ref().map_or(stem, |m| m.component.name.clone());
    Ok((name, Capabilities::new(m.as_ref(), Some(&classified.functions))))
}

/// Pairs the two sides by name: a component only in NEW is compared with nothing (all it has
/// is gained), one only in OLD with nothing (all it had is lost).
fn pair(
    mut olds: BTreeMap<String, (String, Capabilities)>,
    news: BTreeMap<String, (String, Capabilities)>,
    allowed: &[String],
) -> Vec<ComponentDiff> {
    let single = olds.len() == 1 && news.len() == 1;
    let mut out = Vec::new();
    for (name, (new_path, new_caps)) in news {
        // Two single inputs are compared whatever their names (a rename is an upgrade too).
        let old = if single {
            olds.pop_first().map(|(_, v)| v)
        } else {
            olds.remove(&name)
        };
        let (old_path, old_caps) = old.map_or((None, Capabilities::default()), |(p, c)| (Some(p), c));
        out.push(ComponentDiff {
            changes: diff(&old_caps, &new_caps, allowed),
            name,
            old: old_path,
            new: Some(new_path),
        });
    }
    for (name, (old_path, old_caps)) in olds {
        out.push(ComponentDiff {
            changes: diff(&old_caps, &Capabilities::default(), allowed),
            name,
            old: Some(old_path),
            new: None,
        });
    }
    out
}

fn verdict(c: &Change) -> &'static str {
    match (c.gained, c.allowed) {
        (true, false) => "gained",
        (true, true) => "gained (allowed by policy)",
        (false, _) => "lost",
    }
}

fn kind_name(c: &Change) -> String {
    serde_json::to_value(c.kind)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

fn render_human(components: &[ComponentDiff], s: &Summary) -> String {
    let mut out = String::new();
    for c in components {
        let paths = format!(
            "{} -> {}",
            c.old.as_deref().unwrap_or("(absent)"),
            c.new.as_deref().unwrap_or("(absent)")
        );
        out.push_str(&format!("{}: {}\n", escape_control(&c.name), escape_control(&paths)));
        if c.changes.is_empty() {
            out.push_str("  no change in what it can touch\n");
        }
        for change in c
            .changes
            .iter()
            .filter(|c| c.gained)
            .chain(c.changes.iter().filter(|c| !c.gained))
        {
            out.push_str(&format!(
                "  {:<27} {:<10} {}\n",
                verdict(change),
                kind_name(change),
                escape_control(&change.text)
            ));
        }
    }
    out.push_str(&summary_line(s));
    out
}

fn summary_line(s: &Summary) -> String {
    format!(
        "{} gained ({} allowed by policy), {} lost: {}\n",
        s.gained,
        s.allowed,
        s.lost,
        if s.fails {
            "the upgrade gains capabilities"
        } else {
            "no capability gained that the policies do not allow"
        }
    )
}

/// Markdown for a pull-request comment: a table per component; `|` and backticks in the
/// inputs are escaped so that a name cannot break the table.
fn render_markdown(components: &[ComponentDiff], s: &Summary) -> String {
    let cell = |t: &str| escape_control(t).replace('|', "\\|").replace('`', "\\`");
    let mut out = String::from("## airssys-wasm diff\n\n");
    for c in components {
        out.push_str(&format!("### `{}`\n\n", cell(&c.name)));
        if c.changes.is_empty() {
            out.push_str("No change in what it can touch.\n\n");
            continue;
        }
        out.push_str("| change | kind | what |\n|---|---|---|\n");
        for change in c
            .changes
            .iter()
            .filter(|c| c.gained)
            .chain(c.changes.iter().filter(|c| !c.gained))
        {
            let mark = match (change.gained, change.allowed) {
                (true, false) => "**gained**",
                (true, true) => "gained (allowed)",
                (false, _) => "lost",
            };
            out.push_str(&format!(
                "| {mark} | {} | {} |\n",
                kind_name(change),
                cell(&change.text)
            ));
        }
        out.push('\n');
    }
    out.push_str(&format!("**{}**", summary_line(s).trim_end()));
    out.push('\n');
    out
}
