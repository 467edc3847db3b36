//! Renderers: turn diagnostics into text for people ([`human`]) and for programs ([`json`]).
//! Renderers only format; they never decide what is a finding or how severe it is.

pub mod github;
pub mod human;
pub mod json;
pub mod jsonl;
pub mod junit;
pub mod sarif;

/// The output formats every command that reports diagnostics accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Readable report with source excerpts (miette).
    Human,
    /// Versioned JSON document (see docs/json-output.md).
    Json,
    /// One versioned JSON document per line and per component, for sharded runs that
    /// `merge` combines (`check` only; see docs/json-output.md).
    Jsonl,
    /// SARIF 2.1.0, for code-scanning dashboards.
    Sarif,
    /// GitHub Actions workflow commands (annotations on the pull request).
    Github,
    /// JUnit XML, for CI test-report views (one test case per file with findings).
    Junit,
}

/// `s` with every control character escaped (`\n`, `\r`, `\u{1b}`, ...), and the Unicode
/// format characters that reorder or break lines (bidirectional overrides and isolates, line
/// and paragraph separators) too. Tabs are kept. Every human output passes text that came from
/// an input through this, so that a manifest, policy, request or binary cannot clear the
/// screen, colour the terminal, or forge output lines.
pub fn escape_control(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.chars().any(needs_escape) {
        return s.into();
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c if needs_escape(c) => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    out.into()
}

fn needs_escape(c: char) -> bool {
    (c.is_control() && c != '\t')
        || matches!(c, '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{2028}' | '\u{2029}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// XML and HTML text and attribute escaping (JUnit, the HTML report); characters XML 1.0
/// forbids become `\u{..}`.
pub fn escape_xml(s: &str) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || matches!(c, '\u{fffe}' | '\u{ffff}') => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

/// `s` cut to at most `max` characters, ending in `… (N more characters)` when cut.
pub fn clip_text(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        None => s.to_string(),
        Some((at, _)) => {
            let more = s[at..].chars().count();
            format!("{}… ({more} more characters)", &s[..at])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(escape_control("read\u{1b}[2J"), "read\\u{1b}[2J");
        assert_eq!(escape_control("a\nb\r\0"), "a\\nb\\r\\u{0}");
        assert_eq!(escape_control("x\u{202e}y\u{85}\u{7f}"), "x\\u{202e}y\\u{85}\\u{7f}");
        assert_eq!(escape_control("tab\tkept, é kept"), "tab\tkept, é kept");
        assert!(matches!(escape_control("plain"), std::borrow::Cow::Borrowed(_)));
    }

    #[test]
    fn long_text_is_clipped() {
        assert_eq!(clip_text("abcdef", 6), "abcdef");
        assert_eq!(clip_text("abcdéf", 3), "abc… (3 more characters)");
    }
}
