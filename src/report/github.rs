//! GitHub Actions output: one workflow command per diagnostic (`::error file=..,line=..::msg`),
//! which the Actions runner turns into annotations on the pull request's changed lines.
//!
//! Escaping follows the runner's own rules (the `@actions/core` toolkit): in the message `%`,
//! CR and LF are percent-encoded; in property values `:` and `,` are too, since they delimit
//! the command and its properties. Binary files have no lines, so their annotations name the
//! file only and the message carries the byte offset.

use std::fmt::Write as _;
use std::ops::Range;

use crate::diagnostics::{Diagnostic, Severity, SourceFile, Sources};

/// Renders one workflow command per diagnostic, each on its own line, in the order given.
/// Waived findings are not annotated (the summary on stderr counts them).
pub fn render(diagnostics: &[Diagnostic], sources: &Sources) -> String {
    let mut out = String::new();
    for d in diagnostics.iter().filter(|d| d.waived.is_none()) {
        out.push_str(&command(d, sources));
        out.push('\n');
    }
    out
}

/// The command name GitHub uses for a severity.
fn command_name(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Note => "notice",
    }
}

fn command(d: &Diagnostic, sources: &Sources) -> String {
    let mut properties: Vec<(&str, String)> = Vec::new();
    let mut message = d.message.clone();
    if let Some(label) = &d.primary {
        let file = sources.get(label.source);
        properties.push(("file", file.name.clone()));
        match file.text.as_deref() {
            Some(text) => properties.extend(text_position(file, text, &label.span)),
            None => {
                let _ = write!(message, " (at byte offset {:#x})", label.span.start);
            }
        }
    }
    properties.push(("title", format!("{} {}", d.rule.code, d.rule.name)));
    if let Some(help) = &d.help {
        let _ = write!(message, "\nhelp: {help}");
    }
    for note in &d.notes {
        let _ = write!(message, "\nnote: {note}");
    }
    let properties: Vec<String> = properties
        .iter()
        .map(|(k, v)| format!("{k}={}", escape_property(v)))
        .collect();
    format!(
        "::{} {}::{}",
        command_name(d.severity),
        properties.join(","),
        escape_data(&message)
    )
}

/// `line`, `col`, `endLine` and `endColumn` of a span in a text file. The end is the span's
/// last character, not the position after it, so a span that ends with a newline stays on
/// its own line; an empty span ends where it starts.
fn text_position(file: &SourceFile, text: &str, span: &Range<usize>) -> Vec<(&'static str, String)> {
    let start = text.floor_char_boundary(span.start);
    let last = if span.end > start {
        text.floor_char_boundary(span.end - 1).max(start)
    } else {
        start
    };
    let (line, col) = file.line_col(start).unwrap_or((1, 1));
    let (end_line, end_col) = file.line_col(last).unwrap_or((line, col));
    vec![
        ("line", line.to_string()),
        ("col", col.to_string()),
        ("endLine", end_line.to_string()),
        ("endColumn", end_col.to_string()),
    ]
}

/// Escapes a command's message.
pub fn escape_data(s: &str) -> String {
    s.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A")
}

/// Escapes a property value (`file=`, `title=`, ...).
pub fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_follow_the_toolkit() {
        assert_eq!(escape_data("50% done\r\nnext: a,b"), "50%25 done%0D%0Anext: a,b");
        assert_eq!(escape_property("a:b,c%\n"), "a%3Ab%2Cc%25%0A");
    }
}
