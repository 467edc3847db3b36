//! The command line: argument parsing (clap derive), one function per command, and the only
//! place that prints. Exit codes: 0 no error-level finding, 1 error-level findings, 2 the tool
//! could not run (bad arguments, unreadable input, a broken catalogue).

mod catalogue_cmd;
mod check_cmd;
mod diff_cmd;
mod explain_cmd;
mod merge_cmd;
mod policy_cmd;
mod report_cmd;
mod run_args;
#[cfg(feature = "runtime")]
mod run_cmd;
#[cfg(feature = "runtime")]
mod run_learn;

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};

use airssys_wasm::catalogue::{Catalogue, CatalogueError};
use airssys_wasm::diagnostics::{Diagnostic, Level, Levels, Sink, Sources, count};
use airssys_wasm::manifest::Manifest;
use airssys_wasm::report::{Format, escape_control, github, human, json, junit, sarif};
use airssys_wasm::{Error, wit_world};

/// Capability-based security for WebAssembly components: checks what a component may touch.
#[derive(Debug, Parser)]
#[command(name = "airssys-wasm", version, about, max_term_width = 100)]
struct Cli {
    /// Load the operation catalogue from this directory (one subdirectory of .wit files per
    /// package) instead of the catalogue built into the binary
    #[arg(long, global = true, value_name = "DIR")]
    catalogue: Option<PathBuf>,

    /// When to use colour in human output (`auto`: when stdout is a terminal and NO_COLOR is unset)
    #[arg(long, global = true, value_enum, default_value_t = Color::Auto)]
    color: Color,

    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Color {
    Auto,
    Always,
    Never,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum ListingFormat {
    Human,
    Json,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// List the catalogue: packages, interfaces, and each operation's permission requirement
    Catalogue {
        /// Output format
        #[arg(long, value_enum, default_value_t = ListingFormat::Human)]
        format: ListingFormat,
    },
    /// Check compiled components against their manifests and the catalogue (the CI gate)
    Check {
        /// Component files (.wasm or .wat) or directories, searched recursively
        #[arg(required_unless_present = "from_list")]
        paths: Vec<PathBuf>,
        /// The manifest for every component (default: <stem>.toml beside each component, else
        /// Component.toml beside it)
        #[arg(long, value_name = "FILE")]
        manifest: Option<PathBuf>,
        /// An organisation policy (repeatable; default: the built-in policies/default.toml)
        #[arg(long = "policy", value_name = "FILE")]
        policy: Vec<PathBuf>,
        /// Accept only components of this kind (repeatable): airssys, wasi-command,
        /// wasi-http-handler, library, core-module
        #[arg(long = "kind", value_name = "KIND", value_parser = parse_kind)]
        kind: Vec<airssys_wasm::analyze::ComponentKind>,
        /// Also check the components listed in this file (`-`: standard input), one per line: a
        /// path, optionally followed by a tab and the component's manifest
        #[arg(long, value_name = "FILE")]
        from_list: Option<PathBuf>,
        /// Check only the components whose content digest falls into shard I of N (1 to N);
        /// `merge` combines the shards' `--format jsonl` outputs
        #[arg(long, value_name = "I/N", value_parser = parse_shard)]
        shard: Option<airssys_wasm::digest::Shard>,
        /// Reuse the findings stored in this directory for components, manifests, policies,
        /// catalogue and tool version already checked, and store new ones
        #[arg(long, value_name = "DIR")]
        cache: Option<PathBuf>,
        #[command(flatten)]
        report: ReportArgs,
    },
    /// Show a component's imports and exports, the operation behind each import and the
    /// permission it needs
    Inspect {
        /// A component file (.wasm or .wat)
        path: PathBuf,
        /// Output format
        #[arg(long, value_enum, default_value_t = ListingFormat::Human)]
        format: ListingFormat,
        /// Print a least-privilege Component.toml instead (placeholders mark what cannot be
        /// known statically)
        #[arg(long, conflicts_with = "format")]
        suggest_manifest: bool,
    },
    /// The upgrade gate: what NEW can touch that OLD could not (two components, two manifests,
    /// or two directories paired by component name); exit 1 when NEW gains a capability that
    /// no policy's `[upgrade] allow-gains` accepts
    Diff {
        /// The released version
        old: PathBuf,
        /// The candidate version
        new: PathBuf,
        /// An organisation policy (repeatable; default: the built-in policies/default.toml)
        #[arg(long = "policy", value_name = "FILE")]
        policy: Vec<PathBuf>,
        /// Output format
        #[arg(long, value_enum, default_value_t = diff_cmd::DiffFormat::Human)]
        format: diff_cmd::DiffFormat,
    },
    /// A capability report over many components for reviewers: what each can reach (paths,
    /// hosts and ports, executables, signals), the risk of each grant, findings with their
    /// explanations, policy verdicts and waivers, and a summary (exit 0 unless an input cannot
    /// be read)
    Report {
        /// Component files (.wasm or .wat), manifests (.toml, reviewed without a component) or
        /// directories, searched recursively for components
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// The manifest for every component (default: <stem>.toml beside each component, else
        /// Component.toml beside it)
        #[arg(long, value_name = "FILE")]
        manifest: Option<PathBuf>,
        /// An organisation policy (repeatable; default: the built-in policies/default.toml)
        #[arg(long = "policy", value_name = "FILE")]
        policy: Vec<PathBuf>,
        /// Output format (default: from the extension of -o, else html)
        #[arg(long, value_enum)]
        format: Option<report_cmd::ReportFormat>,
        /// Write the report to this file instead of standard output
        #[arg(short = 'o', long = "output", value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Validate a component author's WIT package (its worlds) against the catalogue
    Wit {
        /// A directory of .wit files (with optional deps/) or one .wit file
        path: PathBuf,
        /// Check only this world (default: every world of the package)
        #[arg(long)]
        world: Option<String>,
        #[command(flatten)]
        report: ReportArgs,
    },
    /// Validate a Component.toml manifest
    Manifest {
        /// The manifest file
        path: PathBuf,
        /// An organisation policy (repeatable; default: the built-in policies/default.toml)
        #[arg(long = "policy", value_name = "FILE")]
        policy: Vec<PathBuf>,
        #[command(flatten)]
        report: ReportArgs,
    },
    /// Decide requests offline: allowed or denied by a manifest under the organisation policies,
    /// and which grant and policy rule decided (exit 1 when any is denied)
    ExplainRequest {
        /// The component's manifest
        #[arg(long, value_name = "FILE")]
        manifest: PathBuf,
        /// An organisation policy (repeatable; default: the built-in policies/default.toml)
        #[arg(long = "policy", value_name = "FILE")]
        policy: Vec<PathBuf>,
        /// Requests such as `write /data/x.csv`, `connect api.example.com:443`, `bind 8080`,
        /// `resolve example.com`, `spawn /usr/bin/git`, `signal SIGTERM`
        request: Vec<String>,
        /// Read requests from a file, one per line (blank lines and `#` comments skipped)
        #[arg(long = "requests", value_name = "FILE")]
        requests_file: Option<PathBuf>,
        /// Output format
        #[arg(long, value_enum, default_value_t = ListingFormat::Human)]
        format: ListingFormat,
    },
    /// Run a component in an enforcing Wasmtime host: the static check first (refused on
    /// errors unless --force), then init, the requested export, and shutdown, with every
    /// operation decided by the manifest and policies and written to the audit log
    Run(run_args::RunArgs),
    /// Merge the outputs of `check --shard I/N --format jsonl` (every I from 1 to N) into
    /// exactly what `check --format jsonl` of the whole batch prints
    Merge {
        /// The shards' outputs, in any order (`-`: standard input)
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Print a shell completion script (e.g. `airssys-wasm completions bash >
    /// ~/.local/share/bash-completion/completions/airssys-wasm`)
    Completions {
        /// The shell: bash, elvish, fish, powershell or zsh
        shell: clap_complete::Shell,
    },
    /// Print the documentation of a diagnostic code
    Explain {
        /// A code (`MAN004`) or name (`unknown-key`)
        #[arg(required_unless_present_any = ["list", "markdown"])]
        code: Option<String>,
        /// List every code with its default severity and summary
        #[arg(long, conflicts_with = "markdown")]
        list: bool,
        /// Print the whole rule reference as Markdown (this is docs/rules.md)
        #[arg(long)]
        markdown: bool,
    },
}

/// Output format and severity overrides shared by the commands that report findings.
#[derive(Debug, Args)]
struct ReportArgs {
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
    /// Treat a code (or `warnings`) as an error
    #[arg(short = 'D', long = "deny", value_name = "CODE")]
    deny: Vec<String>,
    /// Treat a code (or `warnings`) as a warning
    #[arg(short = 'W', long = "warn", value_name = "CODE")]
    warn: Vec<String>,
    /// Do not report a code (or `warnings`)
    #[arg(short = 'A', long = "allow", value_name = "CODE")]
    allow: Vec<String>,
    /// With `--format sarif`: write file URIs relative to this directory (default: the
    /// current directory; use the repository's root for GitHub code scanning)
    #[arg(long, value_name = "DIR")]
    sarif_base: Option<PathBuf>,
    /// `-A/-W/-D` in command-line order (filled from the parsed matches by [`main`]).
    #[arg(skip)]
    ordered: Vec<(Level, String)>,
}

impl ReportArgs {
    /// The levels `-A/-W/-D` set.
    fn levels(&self) -> Result<Levels, Error> {
        let mut levels = Levels::default();
        self.apply(&mut levels)?;
        Ok(levels)
    }

    /// Applies `-A/-W/-D` in the order they were given, so that a later flag wins over an
    /// earlier one for the same code (rustc's convention), over whatever `levels` holds
    /// already.
    fn apply(&self, levels: &mut Levels) -> Result<(), Error> {
        for (level, name) in &self.ordered {
            levels.set(name, *level).map_err(Error::usage)?;
        }
        Ok(())
    }

    /// Records the order of `-A/-W/-D` from the subcommand's matches (clap's derive keeps
    /// each flag's values apart, and their relative order matters).
    fn order_from(&mut self, matches: &clap::ArgMatches) {
        let mut ordered: Vec<(usize, Level, String)> = Vec::new();
        for (id, level) in [("allow", Level::Allow), ("warn", Level::Warn), ("deny", Level::Deny)] {
            let (Some(indices), Some(values)) = (matches.indices_of(id), matches.get_many::<String>(id)) else {
                continue;
            };
            ordered.extend(indices.zip(values).map(|(i, v)| (i, level, v.clone())));
        }
        ordered.sort_by_key(|(i, _, _)| *i);
        self.ordered = ordered.into_iter().map(|(_, l, v)| (l, v)).collect();
    }
}

impl ReportArgs {
    /// How SARIF names files: relative to `--sarif-base`, resolved against the current
    /// directory.
    fn sarif_options(&self) -> Result<sarif::Options, Error> {
        let cwd = std::env::current_dir().map_err(|e| Error::read(".", e))?;
        let base = self.sarif_base.clone().unwrap_or_else(|| PathBuf::from("."));
        if base.exists() && !base.is_dir() {
            return Err(Error::usage(format!(
                "--sarif-base {}: not a directory; name the directory SARIF URIs are relative to (the repository's root)",
                base.display()
            )));
        }
        Ok(sarif::Options::relative_to(base, cwd))
    }
}

/// What a command produced for the exit code.
enum Outcome {
    Clean,
    Findings,
    /// A WASI command's own exit code (`run`), passed on as the process's.
    #[cfg_attr(not(feature = "runtime"), allow(dead_code, reason = "made by `run`"))]
    Exit(u8),
}

pub fn main() -> ExitCode {
    // A panic that a guarded parser call catches becomes a finding; its message is not printed.
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if !airssys_wasm::guard::active() {
            default_hook(info);
        }
    }));
    let cli = parse();
    match run(&cli) {
        Ok(Outcome::Clean) => ExitCode::SUCCESS,
        Ok(Outcome::Findings) => ExitCode::from(1),
        Ok(Outcome::Exit(code)) => ExitCode::from(code),
        Err(e) => {
            eprintln!("error: {}", escape_control(&e.to_string()));
            ExitCode::from(2)
        }
    }
}

/// Parses the command line. `--color` is read first, so that clap's own errors (an unknown
/// argument, a missing value) follow it too; `-A/-W/-D` keep their order.
fn parse() -> Cli {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let command = Cli::command().color(color_choice(&args));
    let matches = command.get_matches_from(&args);
    let mut cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    if let (Some((_, sub)), Some(report)) = (matches.subcommand(), cli.command.report_args_mut()) {
        report.order_from(sub);
    }
    cli
}

/// The `--color` value among raw arguments (the last one, as clap takes it), as clap's colour
/// choice; `auto` when absent or not valid (clap then reports it).
fn color_choice(args: &[std::ffi::OsString]) -> clap::ColorChoice {
    let mut choice = clap::ColorChoice::Auto;
    let mut args = args.iter().skip(1).map(|a| a.to_str().unwrap_or_default());
    while let Some(arg) = args.next() {
        let value = match arg {
            "--" => break,
            "--color" => args.next().unwrap_or_default(),
            _ => match arg.strip_prefix("--color=") {
                Some(v) => v,
                None => continue,
            },
        };
        choice = match value {
            "never" => clap::ColorChoice::Never,
            "always" => clap::ColorChoice::Always,
            _ => clap::ColorChoice::Auto,
        };
    }
    choice
}

impl Command {
    /// The report arguments of the commands that report findings.
    fn report_args_mut(&mut self) -> Option<&mut ReportArgs> {
        match self {
            Command::Check { report, .. } | Command::Wit { report, .. } | Command::Manifest { report, .. } => {
                Some(report)
            }
            _ => None,
        }
    }
}

fn run(cli: &Cli) -> Result<Outcome, Error> {
    match &cli.command {
        Command::Catalogue { format } => catalogue_cmd::run(&load_catalogue(cli)?, *format == ListingFormat::Json),
        Command::Check {
            paths,
            from_list,
            shard,
            cache,
            manifest,
            policy,
            kind,
            report,
        } => {
            let policies = policy_cmd::load(cli, &mut Sources::new(), policy)?;
            let levels = policy_cmd::levels(&policies, report)?;
            check_cmd::check(
                cli,
                &load_catalogue(cli)?,
                check_cmd::Selection {
                    paths,
                    manifest: manifest.clone(),
                    policy,
                    kinds: kind.clone(),
                    scale: check_cmd::Scale {
                        from_list: from_list.as_deref(),
                        shard: *shard,
                        cache: cache.as_deref(),
                    },
                },
                report,
                levels,
            )
        }
        Command::Inspect {
            path,
            format,
            suggest_manifest,
        } => check_cmd::inspect(
            &load_catalogue(cli)?,
            path,
            *format == ListingFormat::Json,
            *suggest_manifest,
        ),
        #[cfg(feature = "runtime")]
        Command::Run(args) => run_cmd::run(cli, &LazyCatalogue::new(cli), args),
        #[cfg(not(feature = "runtime"))]
        Command::Run(_) => Err(airssys_wasm::ErrorKind::RuntimeNotBuilt.into()),
        Command::Merge { files } => merge_cmd::run(files),
        Command::Diff {
            old,
            new,
            policy,
            format,
        } => diff_cmd::run(cli, &load_catalogue(cli)?, old, new, policy, *format),
        Command::Report {
            paths,
            manifest,
            policy,
            format,
            output,
        } => report_cmd::run(
            cli,
            &load_catalogue(cli)?,
            report_cmd::Request {
                paths,
                manifest: manifest.clone(),
                policy,
                format: *format,
                output: output.as_deref(),
            },
        ),
        Command::Completions { shell } => {
            let mut script = Vec::new();
            clap_complete::generate(*shell, &mut Cli::command(), "airssys-wasm", &mut script);
            print_out(&String::from_utf8_lossy(&script));
            Ok(Outcome::Clean)
        }
        Command::Explain { code, list, markdown } => {
            explain_cmd::run(code.as_deref(), *list, *markdown, style(cli).color)
        }
        Command::Manifest { path, policy, report } => {
            let mut sources = Sources::new();
            let policies = policy_cmd::load(cli, &mut sources, policy)?;
            let levels = policy_cmd::levels(&policies, report)?;
            let parsed = Manifest::load(&mut sources, path)?;
            let mut diagnostics = parsed.diagnostics;
            if let Some(m) = &parsed.manifest {
                diagnostics.extend(policies.check_manifest(m, policy_cmd::today()));
            }
            emit(cli, report, &sources, levels, diagnostics)
        }
        Command::ExplainRequest {
            manifest,
            policy,
            request,
            requests_file,
            format,
        } => policy_cmd::explain_request(cli, manifest, policy, request, requests_file.as_deref(), *format),
        Command::Wit { path, world, report } => {
            let levels = report.levels()?;
            let catalogue = load_catalogue(cli)?;
            let mut sources = Sources::new();
            let diagnostics = wit_world::check_path(&catalogue, path, world.as_deref(), &mut sources)?;
            emit(cli, report, &sources, levels, diagnostics)
        }
    }
}

/// Loads the embedded or `--catalogue` catalogue; a broken one is printed and ends the run.
/// The catalogue, loaded on first use: `run` does without it when the static check's verdict
/// is remembered.
#[cfg(feature = "runtime")]
struct LazyCatalogue<'c> {
    cli: &'c Cli,
    loaded: std::cell::OnceCell<Catalogue>,
}

#[cfg(feature = "runtime")]
impl<'c> LazyCatalogue<'c> {
    fn new(cli: &'c Cli) -> Self {
        LazyCatalogue {
            cli,
            loaded: std::cell::OnceCell::new(),
        }
    }

    fn get(&self) -> Result<&Catalogue, Error> {
        if let Some(catalogue) = self.loaded.get() {
            return Ok(catalogue);
        }
        let catalogue = load_catalogue(self.cli)?;
        Ok(self.loaded.get_or_init(|| catalogue))
    }
}

fn load_catalogue(cli: &Cli) -> Result<Catalogue, Error> {
    let loaded = match &cli.catalogue {
        Some(dir) => Catalogue::from_dir(dir)?,
        None => Catalogue::embedded(),
    };
    loaded.map_err(|CatalogueError { sources, diagnostics }| {
        let n = diagnostics.len();
        print_out(&human::render(&diagnostics, &sources, style(cli)));
        airssys_wasm::ErrorKind::InvalidCatalogue { count: n }.into()
    })
}

/// Applies levels, sorts, renders and decides the outcome.
fn emit(
    cli: &Cli,
    report: &ReportArgs,
    sources: &Sources,
    levels: Levels,
    diagnostics: Vec<Diagnostic>,
) -> Result<Outcome, Error> {
    let mut sink = Sink::new(levels);
    sink.extend(diagnostics);
    let diagnostics = sink.finish(sources);
    let counts = count(&diagnostics);
    match report.format {
        Format::Human => {
            let mut out = human::render(&diagnostics, sources, style(cli));
            out.push_str(&summary_line(counts));
            print_out(&out);
        }
        Format::Json => print_out(&json::to_string(&json::JsonReport::new(&diagnostics, sources))),
        Format::Jsonl => return Err(Error::usage("--format jsonl is for `check`; use --format json")),
        Format::Sarif => print_out(&sarif::render_in(&diagnostics, sources, &report.sarif_options()?)),
        Format::Github => {
            print_out(&github::render(&diagnostics, sources));
            eprint!("{}", summary_line(counts));
        }
        Format::Junit => {
            print_out(&junit::render(&diagnostics, sources, &[]));
            eprint!("{}", summary_line(counts));
        }
    }
    Ok(if counts.errors > 0 {
        Outcome::Findings
    } else {
        Outcome::Clean
    })
}

fn summary_line(c: airssys_wasm::diagnostics::Counts) -> String {
    let plural = |n: usize, w: &str| format!("{n} {w}{}", if n == 1 { "" } else { "s" });
    let waived = if c.waived > 0 {
        format!(" ({} waived)", c.waived)
    } else {
        String::new()
    };
    format!(
        "{}, {}, {}{waived}\n",
        plural(c.errors, "error"),
        plural(c.warnings, "warning"),
        plural(c.notes, "note")
    )
}

fn style(cli: &Cli) -> human::Style {
    let color = match cli.color {
        Color::Always => true,
        Color::Never => false,
        Color::Auto => std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
    };
    human::Style {
        color,
        ..Default::default()
    }
}

/// Writes to stdout; a closed pipe (`| head`) is not an error worth a panic.
fn print_out(s: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(s.as_bytes());
    let _ = out.flush();
}

/// A `--shard` value.
fn parse_shard(s: &str) -> Result<airssys_wasm::digest::Shard, String> {
    airssys_wasm::digest::Shard::parse(s)
}

/// A `--kind` value.
fn parse_kind(s: &str) -> Result<airssys_wasm::analyze::ComponentKind, String> {
    airssys_wasm::analyze::ComponentKind::parse(s).ok_or_else(|| {
        let kinds: Vec<&str> = airssys_wasm::analyze::ComponentKind::ALL
            .iter()
            .map(|k| k.as_str())
            .collect();
        format!("`{s}` is not a kind of component; kinds: {}", kinds.join(", "))
    })
}
