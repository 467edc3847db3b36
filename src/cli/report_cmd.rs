//! `airssys-wasm report PATH...`: one capability report over many components, as a
//! self-contained HTML page, a Markdown pull-request comment or a versioned JSON document
//! (`--format`, else from `-o`'s extension, else HTML). Exit 0 whatever the findings: the
//! report describes, `check` gates; exit 2 when an input or a policy cannot be read, or the
//! output cannot be written.

use std::path::{Path, PathBuf};

use airssys_wasm::catalogue::Catalogue;
use airssys_wasm::diagnostics::{Levels, Sources};
use airssys_wasm::review::{self, Inputs};
use airssys_wasm::{Error, report::json};

use super::{Cli, Outcome, print_out};

/// `report`'s output formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum ReportFormat {
    /// One self-contained page: sortable, filterable tables; prints well
    Html,
    /// A pull-request comment (GitHub-flavoured Markdown, under 60,000 characters)
    Markdown,
    /// A versioned JSON document (docs/json-output.md)
    Json,
}

impl ReportFormat {
    /// The format `-o FILE` implies: `.md`/`.markdown` Markdown, `.json` JSON, else HTML.
    fn for_output(path: Option<&Path>) -> Self {
        match path.and_then(|p| p.extension()).and_then(|e| e.to_str()) {
            Some("md" | "markdown") => ReportFormat::Markdown,
            Some("json") => ReportFormat::Json,
            _ => ReportFormat::Html,
        }
    }
}

/// What `report` was asked.
pub(super) struct Request<'a> {
    pub paths: &'a [PathBuf],
    pub manifest: Option<PathBuf>,
    pub policy: &'a [PathBuf],
    pub format: Option<ReportFormat>,
    pub output: Option<&'a Path>,
}

pub(super) fn run(cli: &Cli, catalogue: &Catalogue, request: Request<'_>) -> Result<Outcome, Error> {
    let inputs = Inputs::discover(request.paths)?;
    if inputs.is_empty() {
        let searched: Vec<String> = request.paths.iter().map(|p| p.display().to_string()).collect();
        return Err(Error::usage(format!(
            "no .wasm, .wat or .toml files found under {}: give components, manifests or directories that hold them",
            searched.join(", ")
        )));
    }
    let mut sources = Sources::new();
    let policies = super::policy_cmd::load(cli, &mut sources, request.policy)?;
    let mut levels = Levels::default();
    policies.apply_levels(&mut levels);
    let options = review::Options {
        manifest: request.manifest,
        policies: &policies,
        today: super::policy_cmd::today(),
        levels,
    };
    let review = review::review(catalogue, &inputs, &options, sources)?;
    let doc = review.document();
    let text = match request
        .format
        .unwrap_or_else(|| ReportFormat::for_output(request.output))
    {
        ReportFormat::Html => review::html::render(&doc),
        ReportFormat::Markdown => review::markdown::render(&doc),
        ReportFormat::Json => json::to_string(&doc),
    };
    match request.output {
        None => print_out(&text),
        Some(path) => {
            std::fs::write(path, text).map_err(|e| Error::write(path, e))?;
            let n = doc.components.len();
            eprintln!(
                "wrote {} ({n} component{})",
                airssys_wasm::report::escape_control(&path.display().to_string()),
                if n == 1 { "" } else { "s" }
            );
        }
    }
    Ok(Outcome::Clean)
}
