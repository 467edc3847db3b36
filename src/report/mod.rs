//! Renderers: turn diagnostics into text for people ([`human`]) and for programs ([`json`]).
//! Renderers only format; they never decide what is a finding or how severe it is.

pub mod github;
pub mod human;
pub mod json;
pub mod sarif;

/// The output formats every command that reports diagnostics accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Readable report with source excerpts (miette).
    Human,
    /// Versioned JSON document (see docs/json-output.md).
    Json,
    /// SARIF 2.1.0, for code-scanning dashboards.
    Sarif,
    /// GitHub Actions workflow commands (annotations on the pull request).
    Github,
}
