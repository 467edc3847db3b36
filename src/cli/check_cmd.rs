//! `airssys-wasm check` and `inspect`: the analyzer's commands.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use airssys_wasm::catalogue::Catalogue;
use airssys_wasm::check::{self, Options};
use airssys_wasm::component;
use airssys_wasm::diagnostics::{Levels, Sink, Sources, count};
use airssys_wasm::report::{Format, github, human, json, jsonl, junit, sarif};
use airssys_wasm::{Error, ErrorKind, inspect};

use super::{Cli, Outcome, ReportArgs, print_out, style, summary_line};
use airssys_wasm::report::escape_control;

/// What `check` is asked to check: the components, the manifest for all of them (when given),
/// the policies, and the kinds of component accepted.
pub(super) struct Selection<'a> {
    pub paths: &'a [PathBuf],
    pub manifest: Option<PathBuf>,
    pub policy: &'a [PathBuf],
    pub kinds: Vec<airssys_wasm::analyze::ComponentKind>,
    pub scale: Scale<'a>,
}

/// The options for registry-scale batches: a listing, a shard, a result cache.
pub(super) struct Scale<'a> {
    pub from_list: Option<&'a Path>,
    pub shard: Option<airssys_wasm::digest::Shard>,
    pub cache: Option<&'a Path>,
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
        scale,
    } = selection;
    let mut components = check::discover(paths)?;
    let mut policy_sources = Sources::new();
    let list = match scale.from_list {
        Some(file) => read_list(&mut policy_sources, file)?,
        None => airssys_wasm::list::List::default(),
    };
    components.extend(list.components.iter().cloned());
    if components.is_empty() && list.diagnostics.is_empty() {
        let mut searched: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
        searched.extend(scale.from_list.map(|l| match l.as_os_str() == "-" {
            true => "the list on standard input".to_string(),
            false => format!("the list {}", l.display()),
        }));
        return Err(Error::usage(format!(
            "no .wasm or .wat files found under {}",
            searched.join(", ")
        )));
    }
    let progress = std::io::stderr().is_terminal() && components.len() >= 20;
    let policies = super::policy_cmd::load(cli, &mut policy_sources, policy)?;
    let cache = scale.cache.map(airssys_wasm::cache::Cache::open).transpose()?;
    let options = Options {
        manifest,
        manifest_text: None,
        policies: Some((&policies, super::policy_cmd::today())),
        kinds,
        keep: false,
        listed: list.listed,
        shard: scale.shard,
        cache: cache.as_ref(),
        manifests: Vec::new(),
    };
    let run = jsonl::Run {
        inputs: components.len(),
        batch: check::batch_digest(
            catalogue,
            &components,
            &options,
            &policy_sources,
            &format!("{levels:?}"),
        )
        .hex(),
        shard: scale.shard,
    };
    let mut report = check::check_with_progress(
        catalogue,
        &components,
        &options,
        policy_sources,
        progress.then_some(&draw_progress),
    )?;
    if progress {
        eprint!("\r\x1b[2K");
    }
    report.add_batch_findings(list.diagnostics);
    if let Some(stats) = &report.cache {
        eprintln!("{}", cache_line(stats));
    }
    if report_args.format == Format::Jsonl {
        let (out, counts) = jsonl::render(&report, &levels, &run);
        print_out(&out);
        return Ok(if counts.errors > 0 {
            Outcome::Findings
        } else {
            Outcome::Clean
        });
    }
    let mut sink = Sink::new(levels);
    sink.extend(report.diagnostics);
    let diagnostics = sink.finish(&report.sources);
    let counts = count(&diagnostics);
    let checked = report.components.len();
    let summary = format!(
        "checked {checked} component{}: {}",
        if checked == 1 { "" } else { "s" },
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
        Format::Jsonl => unreachable!("printed above"),
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

/// Reads a `--from-list` file (`-`: standard input) into `sources`.
fn read_list(sources: &mut Sources, file: &Path) -> Result<airssys_wasm::list::List, Error> {
    use std::io::Read;
    let limit = airssys_wasm::list::MAX_LIST_BYTES;
    let bytes = if file.as_os_str() == "-" {
        let mut bytes = Vec::new();
        std::io::stdin()
            .lock()
            .take(limit as u64 + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| Error::read("<stdin>", e))?;
        bytes
    } else {
        match airssys_wasm::bounded::read(file, limit).map_err(|e| Error::read(file, e))? {
            airssys_wasm::bounded::Bounded::Bytes(bytes) => bytes,
            airssys_wasm::bounded::Bounded::TooLarge(size) => {
                return Err(Error::read(file, airssys_wasm::bounded::too_large(size, limit)));
            }
        }
    };
    if bytes.len() > limit {
        return Err(Error::read(
            "<stdin>",
            airssys_wasm::bounded::too_large(bytes.len() as u64, limit),
        ));
    }
    let name = if file.as_os_str() == "-" {
        "<stdin>".to_string()
    } else {
        file.display().to_string()
    };
    Ok(airssys_wasm::list::parse(
        sources,
        &name,
        String::from_utf8_lossy(&bytes).into_owned(),
    ))
}

/// What the cache did, for stderr.
fn cache_line(stats: &airssys_wasm::cache::CacheStats) -> String {
    let mut line = format!("cache: {} reused, {} analysed", stats.hits, stats.analysed);
    if stats.corrupt > 0 {
        line.push_str(&format!(", {} corrupt entries replaced", stats.corrupt));
    }
    if stats.unstored > 0 {
        line.push_str(&format!(", {} not stored", stats.unstored));
    }
    if let Some(e) = &stats.write_error {
        line.push_str(&format!(" (first failure: {})", escape_control(e)));
    }
    line
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
