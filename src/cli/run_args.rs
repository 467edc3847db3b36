//! The arguments of `airssys-wasm run`, parsed in every build; running them needs the
//! `runtime` feature (`run_cmd.rs`).

use std::path::PathBuf;

/// The export `run` calls after `init`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(super) enum Invoke {
    /// `execute` with the input bytes; its output is printed
    Execute,
    /// Only `init` and `shutdown`
    None,
}

/// The arguments of `run`.
#[derive(Debug, clap::Args)]
#[cfg_attr(
    not(feature = "runtime"),
    allow(dead_code, reason = "read by `run`, which needs the runtime feature")
)]
pub(super) struct RunArgs {
    /// The component to run (.wasm or .wat, or a directory holding exactly one)
    pub(super) component: PathBuf,
    /// Its manifest (default: <stem>.toml beside it, else Component.toml beside it)
    #[arg(long, value_name = "FILE")]
    pub(super) manifest: Option<PathBuf>,
    /// Load another component into the same host, so that the components can message each
    /// other (repeatable); its manifest is found the same way unless given after `=`
    #[arg(long = "with", value_name = "COMPONENT[=MANIFEST]")]
    pub(super) with: Vec<String>,
    /// An organisation policy (repeatable; default: the built-in policies/default.toml)
    #[arg(long = "policy", value_name = "FILE")]
    pub(super) policy: Vec<PathBuf>,
    /// The export to call after `init`
    #[arg(long, value_enum, default_value_t = Invoke::Execute)]
    pub(super) invoke: Invoke,
    /// The input of `execute`: a file, or `-` for standard input (default: empty)
    #[arg(long, value_name = "FILE")]
    pub(super) input: Option<PathBuf>,
    /// Append the audit log (one JSON line per decision) to this file (default: standard error)
    #[arg(long = "audit-log", value_name = "FILE")]
    pub(super) audit_log: Option<PathBuf>,
    /// Let operations that would be denied through, logging them as `would-deny`
    #[arg(long)]
    pub(super) report_only: bool,
    /// Learn the manifest: run in report-only mode, then print the least-privilege manifest
    /// that allows what the run did (merged with what the imports need); a component without a
    /// manifest starts from an empty one
    #[arg(long, conflicts_with = "with")]
    pub(super) learn: bool,
    /// With --learn: keep the first N components of each path and grant the tree below them
    /// (`/srv/data/in/a.csv` at 2 is `/srv/data/**`); default: exact paths
    #[arg(long = "learn-depth", value_name = "N", requires = "learn")]
    pub(super) learn_depth: Option<usize>,
    /// With --learn: write the manifest to FILE instead of standard output
    #[arg(long = "learn-out", value_name = "FILE", requires = "learn")]
    pub(super) learn_out: Option<PathBuf>,
    /// Run even when the static check finds errors (every operation is still enforced)
    #[arg(long)]
    pub(super) force: bool,
    /// Compile every component afresh: neither read nor fill the compilation cache
    /// (`AIRSSYS_CACHE_DIR`, else `$XDG_CACHE_HOME/airssys-wasm`, else `~/.cache/airssys-wasm`)
    #[arg(long)]
    pub(super) no_cache: bool,
    /// Memory limit of each instance, overriding the manifests (`64 MiB`, `1 GiB`, bytes)
    #[arg(long, value_name = "SIZE")]
    pub(super) memory: Option<String>,
    /// Fuel for each call, overriding the manifests
    #[arg(long, value_name = "UNITS")]
    pub(super) fuel: Option<u64>,
    /// Wall-clock limit of each call in milliseconds, overriding the manifests
    #[arg(long = "timeout-ms", value_name = "MS")]
    pub(super) timeout_ms: Option<u64>,
    /// Core instances each component may create, overriding the manifests (default 100)
    #[arg(long, value_name = "N")]
    pub(super) instances: Option<usize>,
    /// Tables each component may create, overriding the manifests (default 100)
    #[arg(long, value_name = "N")]
    pub(super) tables: Option<usize>,
    /// Linear memories each component may create, overriding the manifests (default 16)
    #[arg(long, value_name = "N")]
    pub(super) memories: Option<usize>,
    /// An environment variable for the component's WASI imports (repeatable). The component
    /// sees only these, never the host's environment
    #[arg(long = "env", value_name = "KEY=VALUE")]
    pub(super) env: Vec<String>,
    /// The arguments of a WASI command (after `--`); its `argv[0]` is the component's file name
    #[arg(last = true, value_name = "ARGS")]
    pub(super) args: Vec<String>,
}
