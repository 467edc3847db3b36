//! JSON output. The document has its own serde types, so the schema is a deliberate promise
//! (documented in `docs/json-output.md`); `version` changes when a field changes meaning or
//! disappears, not when one is added.

use serde::Serialize;

use crate::diagnostics::{Counts, Diagnostic, Label, Severity, Sources, count};

/// The schema version of every JSON document this tool prints.
pub const SCHEMA_VERSION: u32 = 1;

/// A whole JSON report.
#[derive(Debug, Serialize)]
pub struct JsonReport<'a> {
    pub version: u32,
    pub tool: Tool,
    pub diagnostics: Vec<JsonDiagnostic<'a>>,
    /// The findings a policy waiver accepted, each with its waiver (omitted when none).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub waived: Vec<JsonDiagnostic<'a>>,
    pub summary: Counts,
}

#[derive(Debug, Serialize)]
pub struct Tool {
    pub name: &'static str,
    pub version: &'static str,
}

impl Tool {
    pub fn this() -> Self {
        Tool {
            name: env!("CARGO_PKG_NAME"),
            version: env!("CARGO_PKG_VERSION"),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct JsonDiagnostic<'a> {
    pub code: &'static str,
    pub name: &'static str,
    pub severity: Severity,
    pub message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub primary: Option<JsonLocation<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub secondary: Vec<JsonLocation<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub help: Option<&'a str>,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    pub notes: &'a [String],
    /// The waiver that accepted the finding (only in `waived`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub waiver: Option<JsonWaiver<'a>>,
}

/// A waiver, as shown beside the finding it accepted.
#[derive(Debug, Serialize)]
pub struct JsonWaiver<'a> {
    pub reason: &'a str,
    /// The last day on which it applies, `YYYY-MM-DD`.
    pub expires: &'a str,
    /// The policy file as named, and the 1-based line of the waiver.
    pub file: &'a str,
    pub line: usize,
}

/// A place: the file, the byte span, and for text files the 1-based line and column.
#[derive(Debug, Serialize)]
pub struct JsonLocation<'a> {
    pub file: &'a str,
    pub start: usize,
    pub end: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<usize>,
    #[serde(skip_serializing_if = "str::is_empty")]
    pub message: &'a str,
}

impl<'a> JsonLocation<'a> {
    pub fn new(label: &'a Label, sources: &'a Sources) -> Self {
        let file = sources.get(label.source);
        let line_col = file.line_col(label.span.start);
        JsonLocation {
            file: &file.name,
            start: label.span.start,
            end: label.span.end,
            line: line_col.map(|(l, _)| l),
            column: line_col.map(|(_, c)| c),
            message: &label.message,
        }
    }
}

impl<'a> JsonDiagnostic<'a> {
    pub fn new(d: &'a Diagnostic, sources: &'a Sources) -> Self {
        JsonDiagnostic {
            code: d.rule.code,
            name: d.rule.name,
            severity: d.severity,
            message: &d.message,
            primary: d.primary.as_ref().map(|l| JsonLocation::new(l, sources)),
            secondary: d.secondary.iter().map(|l| JsonLocation::new(l, sources)).collect(),
            help: d.help.as_deref(),
            notes: &d.notes,
            waiver: d.waived.as_ref().map(|w| JsonWaiver {
                reason: &w.reason,
                expires: &w.expires,
                file: &w.file,
                line: w.line,
            }),
        }
    }
}

/// The diagnostics in force and the waived ones, each as JSON.
fn split<'a>(
    diagnostics: &'a [Diagnostic],
    sources: &'a Sources,
) -> (Vec<JsonDiagnostic<'a>>, Vec<JsonDiagnostic<'a>>) {
    let (waived, shown): (Vec<_>, Vec<_>) = diagnostics
        .iter()
        .map(|d| JsonDiagnostic::new(d, sources))
        .partition(|d| d.waiver.is_some());
    (shown, waived)
}

impl<'a> JsonReport<'a> {
    pub fn new(diagnostics: &'a [Diagnostic], sources: &'a Sources) -> Self {
        let (shown, waived) = split(diagnostics, sources);
        JsonReport {
            version: SCHEMA_VERSION,
            tool: Tool::this(),
            diagnostics: shown,
            waived,
            summary: count(diagnostics),
        }
    }
}

/// Pretty-printed JSON with a trailing newline.
pub fn to_string<T: Serialize>(value: &T) -> String {
    let mut s = serde_json::to_string_pretty(value).expect("report types always serialize");
    s.push('\n');
    s
}

/// The JSON document of `check`: the diagnostics of a batch plus the components checked.
#[derive(Debug, Serialize)]
pub struct BatchReport<'a> {
    pub version: u32,
    pub tool: Tool,
    pub components: Vec<String>,
    /// Each valid component's kind, by its name in `components`.
    pub kinds: std::collections::BTreeMap<String, crate::analyze::ComponentKind>,
    pub diagnostics: Vec<JsonDiagnostic<'a>>,
    /// The findings a policy waiver accepted, each with its waiver (omitted when none).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub waived: Vec<JsonDiagnostic<'a>>,
    pub summary: Counts,
}

impl<'a> BatchReport<'a> {
    pub fn new(
        diagnostics: &'a [Diagnostic],
        sources: &'a Sources,
        components: &[std::path::PathBuf],
        kinds: &[Option<crate::analyze::ComponentKind>],
    ) -> Self {
        let (shown, waived) = split(diagnostics, sources);
        BatchReport {
            version: SCHEMA_VERSION,
            tool: Tool::this(),
            components: components.iter().map(|c| c.display().to_string()).collect(),
            kinds: components
                .iter()
                .zip(kinds)
                .filter_map(|(c, k)| Some((c.display().to_string(), (*k)?)))
                .collect(),
            diagnostics: shown,
            waived,
            summary: count(diagnostics),
        }
    }
}
