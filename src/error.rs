//! Tool errors: the tool could not do its job (an unreadable file, a bad argument, a broken
//! catalogue). These end a run with exit code 2 and are kept apart from findings about the
//! inputs, which are [`crate::diagnostics::Diagnostic`]s.

use std::path::PathBuf;

/// An error that stops the tool. Boxed so that `Result<T, Error>` stays one word wide.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct Error(Box<ErrorKind>);

/// What went wrong. Messages are lowercase with no trailing period; each names the input.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorKind {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// An output file (`report -o FILE`, `run --learn-out FILE`) cannot be written.
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not a directory of WIT packages")]
    NotADirectory { path: PathBuf },
    #[error("the catalogue is invalid ({count} error(s))")]
    InvalidCatalogue { count: usize },
    /// A policy file has findings; they were reported before this error.
    #[error("the policy is invalid ({count} finding(s))")]
    InvalidPolicy { count: usize },
    /// A manifest that the command needs valid has findings; they were reported before this
    /// error.
    #[error("{path} is not a valid manifest")]
    InvalidManifest { path: PathBuf },
    /// A file given as a component is neither a valid WebAssembly binary nor WAT text.
    #[error("{path} is not a valid component: {message} (at byte offset {offset:#x})")]
    InvalidComponent {
        path: PathBuf,
        message: String,
        offset: usize,
    },
    /// `run` in a build without the `runtime` cargo feature (the Wasmtime host).
    #[error(
        "`run` is not available: this airssys-wasm was built without the `runtime` feature (build it with default features to run components)"
    )]
    RuntimeNotBuilt,
    /// The Wasmtime host could not be started (`run`).
    #[error("cannot start the runtime: {0}")]
    RuntimeStart(String),
    /// A component could not be loaded into the host (`run`): it cannot be instantiated, it
    /// needs more than a limit allows, or it exports nothing the host can call.
    #[error("{path}: {reason}")]
    Load { path: PathBuf, reason: String },
    /// The audit log cannot be opened or written (`run`): the host's failure, never the
    /// component's, so that no operation takes effect without its line.
    #[error("{0}")]
    AuditLog(String),
    /// The result cache directory (`check --cache DIR`) cannot be created or read.
    #[error("cannot use the cache directory {path}: {source}; give a writable directory, or leave out --cache")]
    Cache {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A file given to `merge` is not a complete `check --format jsonl` output, or the files do
    /// not add up to one batch. `line` is 1-based; 0 when the problem is the file as a whole.
    #[error("{}: {message}", if *line == 0 { path.display().to_string() } else { format!("{}:{line}", path.display()) })]
    Merge {
        path: PathBuf,
        line: usize,
        message: String,
    },
    /// The command line asks for something the tool cannot do as asked.
    #[error("{0}")]
    Usage(String),
}

impl Error {
    pub fn kind(&self) -> &ErrorKind {
        &self.0
    }

    pub fn read(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        ErrorKind::Read {
            path: path.into(),
            source,
        }
        .into()
    }

    pub fn write(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        ErrorKind::Write {
            path: path.into(),
            source,
        }
        .into()
    }

    pub fn usage(message: impl Into<String>) -> Self {
        ErrorKind::Usage(message.into()).into()
    }
}

impl From<ErrorKind> for Error {
    fn from(kind: ErrorKind) -> Self {
        Error(Box::new(kind))
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
