//! `airssys-wasm check` and `inspect`: the analyzer's commands.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use airssys_wasm::catalogue::Catalogue;
use airssys_wasm::check::{self, Options};
use airssys_wasm::component;
use airssys_wasm::diagnostics::{Levels, Sink, Sources, count};
use airssys_wasm::report::{Format, github, human, json, junit, sarif};
use airssys_wasm::{Error, ErrorKind, inspect};

use super::{Cli, Outcome, ReportArgs, print_out, style, summary_line};

/// What `check` is asked to check: the components, the manifest for all of them (when given),
/// the policies, and the kinds of component accepted.
pub(super) struct Selection<'a> {
    pub paths: &'a [PathBuf],
    pub manifest: Option<PathBuf>,
    pub policy: &'a [PathBuf],
    pub kinds: Vec<airssys_wasm::analyze::ComponentKind>,
}

pub(super) fn check(
    cli: &Cli,
    catalogue: &Catalogue,
    selection: Selection<'_>,
    report_args: &ReportArgs,
    levels: Levels,
) -> Result<Outcome, Error> {
    let Selection {
        paths,
        manifest,
        policy,
        kinds,
    } = selection;
    let components = check::discover(paths)?;
    if components.is_empty() {
        return Err(Error::usage(format!(
            "no .wasm or .wat files found under {}",
            paths
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    let progress = std::io::stderr().is_terminal() && components.len() >= 20;
    let mut policy_sources = Sources::new();
    let policies = super::policy_cmd::load(cli, &mut policy_sources, policy)?;
    let options = Options {
        manifest,
        policies: Some((&policies, super::policy_cmd::today())),
        kinds,
        keep: false,
    };
    let report = check::check_with_progress(
        catalogue,
        &components,
        &options,
        policy_sources,
        progress.then_some(&draw_progress),
    )?;
    if progress {
        eprint!("\r\x1b[2K");
    }
    let mut sink = Sink::new(levels);
    sink.extend(report.diagnostics);
    let diagnostics = sink.finish(&report.sources);
    let counts = count(&diagnostics);
    let summary = format!(
        "checked {} component{}: {}",
        components.len(),
        if components.len() == 1 { "" } else { "s" },
        summary_line(counts)
    );
    match report_args.format {
        Format::Human => print_out(&(human::render(&diagnostics, &report.sources, style(cli)) + &summary)),
        Format::Json => print_out(&json::to_string(&json::BatchReport::new(
            &diagnostics,
            &report.sources,
            &report.components,
            &report.kinds,
        ))),
        Format::Sarif => print_out(&sarif::render_batch(
            &diagnostics,
            &report.sources,
            &report.components,
            &report.kinds,
            &report_args.sarif_options()?,
        )),
        Format::Github => {
            print_out(&github::render(&diagnostics, &report.sources));
            eprint!("{summary}");
        }
        Format::Junit => {
            let components: Vec<String> = report.components.iter().map(|c| c.display().to_string()).collect();
            print_out(&junit::render(&diagnostics, &report.sources, &components));
            eprint!("{summary}");
        }
    }
    Ok(if counts.errors > 0 {
        Outcome::Findings
    } else {
        Outcome::Clean
    })
}

/// A one-line progress bar on stderr (only drawn when stderr is a terminal).
fn draw_progress(done: usize, total: usize) {
    let width = 30;
    let filled = done * width / total.max(1);
    eprint!(
        "\r[{}{}] {done}/{total}",
        "#".repeat(filled),
        " ".repeat(width - filled)
    );
}

/// A component file read and validated; an invalid one is the tool error that names it.
pub(super) fn read_artifact(path: &Path) -> Result<component::Artifact, Error> {
    component::read_file(path)?
        .and_then(|bytes| component::to_binary(&bytes).and_then(|b| component::read(&b)))
        .map_err(|e| {
            ErrorKind::InvalidComponent {
                path: path.to_path_buf(),
                message: e.message,
                offset: e.offset,
            }
            .into()
        })
}

pub(super) fn inspect(catalogue: &Catalogue, path: &Path, json_out: bool, suggest: bool) -> Result<Outcome, Error> {
    let name = path.display().to_string();
    let artifact = read_artifact(path)?;
    let mut sources = Sources::new();
    let binary = sources.add_binary(&name);
    let c = check::classify(catalogue, &artifact, binary);
    let mut diagnostics = c.diagnostics;
    airssys_wasm::diagnostics::sort(&mut diagnostics, &sources);
    let listing = || inspect::inspection(&name, &artifact, c.kind, &c.imports, &c.functions);
    if suggest {
        print_out(&inspect::suggest_manifest(&name, &c.functions));
    } else if json_out {
        print_out(&json::to_string(&listing()));
    } else {
        let mut out = inspect::render(&listing());
        if !diagnostics.is_empty() {
            out.push('\n');
            out.push_str(&human::render(&diagnostics, &sources, human::Style::default()));
        }
        print_out(&out);
    }
    Ok(Outcome::Clean)
}
