//! JUnit XML output, for CI systems that show test reports (GitLab, Jenkins, Azure Pipelines,
//! CircleCI): one test suite, one test case per file that has findings, plus one passing case
//! per component checked without any.
//!
//! A test case fails when its file has an error-level finding; its `<failure>` lists every
//! finding of the file, warnings and notes included, one per line, in the order given. Waived
//! findings never fail a case; they are listed in the case's `<system-out>`. Findings with no
//! file at all are one case named `(no file)`. Text is escaped for XML, and characters XML 1.0
//! cannot carry (control characters other than tab, CR, LF) are written as `\u{..}`.

use std::fmt::Write as _;

use crate::diagnostics::{Diagnostic, Severity, Sources};

/// The `classname` of every test case.
const CLASS: &str = "airssys-wasm";

/// Renders one JUnit document (with a trailing newline). `components` are the analysis
/// targets (for `check`): each without findings is a passing case.
pub fn render(diagnostics: &[Diagnostic], sources: &Sources, components: &[String]) -> String {
    let mut cases: Vec<(String, Vec<&Diagnostic>)> = Vec::new();
    for d in diagnostics {
        let file = d
            .primary
            .as_ref()
            .map_or_else(|| "(no file)".to_string(), |l| sources.get(l.source).name.clone());
        match cases.iter_mut().find(|(f, _)| *f == file) {
            Some((_, list)) => list.push(d),
            None => cases.push((file, vec![d])),
        }
    }
    for c in components {
        if !cases.iter().any(|(f, _)| f == c) {
            cases.push((c.clone(), Vec::new()));
        }
    }
    let failures = cases.iter().filter(|(_, ds)| fails(ds)).count();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"{CLASS}\" tests=\"{}\" failures=\"{failures}\" errors=\"0\">",
        cases.len()
    );
    let _ = writeln!(
        out,
        "  <testsuite name=\"{CLASS} {}\" tests=\"{}\" failures=\"{failures}\" errors=\"0\" skipped=\"0\">",
        env!("CARGO_PKG_VERSION"),
        cases.len()
    );
    for (file, ds) in &cases {
        case(&mut out, file, ds, sources);
    }
    out.push_str("  </testsuite>\n</testsuites>\n");
    out
}

fn fails(ds: &[&Diagnostic]) -> bool {
    ds.iter().any(|d| d.waived.is_none() && d.severity == Severity::Error)
}

fn case(out: &mut String, file: &str, ds: &[&Diagnostic], sources: &Sources) {
    let _ = write!(out, "    <testcase classname=\"{CLASS}\" name=\"{}\"", escape(file));
    let (waived, open): (Vec<&Diagnostic>, Vec<&Diagnostic>) = ds.iter().partition(|d| d.waived.is_some());
    if open.is_empty() && waived.is_empty() {
        out.push_str("/>\n");
        return;
    }
    out.push_str(">\n");
    if !open.is_empty() {
        let errors = open.iter().filter(|d| d.severity == Severity::Error).count();
        let tag = if errors > 0 { "failure" } else { "system-out" };
        let text: String = open.iter().map(|d| line(d, sources)).collect();
        if errors > 0 {
            let _ = write!(
                out,
                "      <failure type=\"{}\" message=\"{} error{}\">",
                open.iter()
                    .find(|d| d.severity == Severity::Error)
                    .map_or("", |d| d.rule.code),
                errors,
                if errors == 1 { "" } else { "s" }
            );
        } else {
            out.push_str("      <system-out>");
        }
        let _ = writeln!(out, "{}</{tag}>", escape(&text));
    }
    if !waived.is_empty() {
        let text: String = waived.iter().map(|d| line(d, sources)).collect();
        let _ = writeln!(out, "      <system-out>{}</system-out>", escape(&text));
    }
    out.push_str("    </testcase>\n");
}

/// `error[CMP002] undeclared-permission: message (line 6)` or `(byte offset 0x17f)`, then the
/// help; waived findings say so with the waiver's reason.
fn line(d: &Diagnostic, sources: &Sources) -> String {
    let place = d.primary.as_ref().map(|l| {
        let file = sources.get(l.source);
        match file.line_col(l.span.start) {
            Some((line, column)) => format!(" (line {line}, column {column})"),
            None => format!(" (byte offset {:#x})", l.span.start),
        }
    });
    let mut s = format!(
        "{}[{}] {}: {}{}\n",
        d.severity,
        d.rule.code,
        d.rule.name,
        d.message,
        place.unwrap_or_default()
    );
    if let Some(help) = &d.help {
        let _ = writeln!(s, "  help: {help}");
    }
    if let Some(w) = &d.waived {
        let _ = writeln!(
            s,
            "  waived: {} (waiver at {}:{}, until {})",
            w.reason, w.file, w.line, w.expires
        );
    }
    s
}

pub use super::escape_xml as escape;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_covers_markup_and_forbidden_characters() {
        assert_eq!(escape("a<b>&\"c'"), "a&lt;b&gt;&amp;&quot;c&apos;");
        assert_eq!(escape("x\u{1b}[2J\u{0}y\tz\n"), "x\\u{1b}[2J\\u{0}y\tz\n");
    }
}
