//! SARIF 2.1.0 output, for code-scanning services (GitHub code scanning, IDE viewers) that
//! read the OASIS Static Analysis Results Interchange Format.
//!
//! One log holds one run. Its rule list is the whole [`RULES`] registry, not only the rules
//! that fired, so a `ruleIndex` means the same rule in every log this version prints. The
//! types come from `serde-sarif`, which is generated from the SARIF schema: the document's
//! shape is the standard's promise rather than ours (`tests/sarif.rs` validates it against
//! the vendored schema).
//!
//! Text locations are line/column regions counted in Unicode code points (the run says so
//! with `columnKind`, since SARIF consumers otherwise may assume UTF-16 code units); binary
//! locations are byte regions.

use serde_json::Value;
use serde_sarif::sarif::{
    Artifact, ArtifactLocation, Location, Message, MultiformatMessageString, PhysicalLocation, PropertyBag, Region,
    ReportingConfiguration, ReportingDescriptor, Result as SarifResult, ResultLevel, Run, Sarif, Tool, ToolComponent,
};

use crate::diagnostics::{Diagnostic, Label, RULES, Rule, Severity, SourceFile, Sources};

/// The `$schema` every log names.
pub const SCHEMA_URI: &str = "https://json.schemastore.org/sarif-2.1.0.json";

/// Where the tool is documented (`tool.driver.informationUri`).
pub const INFORMATION_URI: &str = "https://github.com/airssys/airssys-wasm";

/// Renders one SARIF log (pretty JSON, trailing newline) with one result per diagnostic, in
/// the order given.
pub fn render(diagnostics: &[Diagnostic], sources: &Sources) -> String {
    let log = Sarif::builder()
        .schema(SCHEMA_URI)
        .version(Value::from("2.1.0"))
        .runs(vec![run(diagnostics, sources)])
        .build();
    super::json::to_string(&log)
}

/// [`render`] for `check`: the run also lists each component checked as an artifact
/// (role `analysisTarget`) whose property `kind` is its kind (`airssys`, `wasi-command`, ...).
pub fn render_batch(
    diagnostics: &[Diagnostic],
    sources: &Sources,
    components: &[std::path::PathBuf],
    kinds: &[Option<crate::analyze::ComponentKind>],
) -> String {
    let mut run = run(diagnostics, sources);
    let artifacts = components
        .iter()
        .zip(kinds)
        .map(|(path, kind)| {
            let mut a = Artifact::builder()
                .location(
                    ArtifactLocation::builder()
                        .uri(file_uri(&path.display().to_string()))
                        .build(),
                )
                .roles(vec![Value::from("analysisTarget")])
                .build();
            if let Some(kind) = kind {
                let mut bag = PropertyBag::builder().build();
                bag.additional_properties
                    .insert("kind".into(), Value::from(kind.as_str()));
                a.properties = Some(bag);
            }
            a
        })
        .collect();
    run.artifacts = Some(artifacts);
    let log = Sarif::builder()
        .schema(SCHEMA_URI)
        .version(Value::from("2.1.0"))
        .runs(vec![run])
        .build();
    super::json::to_string(&log)
}

fn run(diagnostics: &[Diagnostic], sources: &Sources) -> Run {
    let results: Vec<SarifResult> = diagnostics.iter().map(|d| result(d, sources)).collect();
    Run::builder()
        .tool(tool())
        .column_kind(Value::from("unicodeCodePoints"))
        .results(results)
        .build()
}

fn tool() -> Tool {
    let driver = ToolComponent::builder()
        .name(env!("CARGO_PKG_NAME"))
        .version(env!("CARGO_PKG_VERSION"))
        .information_uri(INFORMATION_URI)
        .rules(RULES.iter().map(|r| rule(r)).collect::<Vec<_>>())
        .build();
    Tool::builder().driver(driver).build()
}

/// A rule's descriptor: the registry entry, with the doc's first paragraph as the full
/// description and the whole doc (Markdown) as help.
fn rule(rule: &Rule) -> ReportingDescriptor {
    let help = MultiformatMessageString::builder()
        .text(rule.doc)
        .markdown(rule.doc)
        .build();
    ReportingDescriptor::builder()
        .id(rule.code)
        .name(rule.name)
        .short_description(plain(rule.summary))
        .full_description(plain(&first_paragraph(rule.doc)))
        .help(help)
        .default_configuration(
            ReportingConfiguration::builder()
                .level(Value::from(rule.severity.as_str())) // SARIF's level names are ours
                .build(),
        )
        .build()
}

fn plain(text: &str) -> MultiformatMessageString {
    MultiformatMessageString::builder().text(text).build()
}

/// The doc up to its first blank line, with the hard line breaks joined.
fn first_paragraph(doc: &str) -> String {
    let paragraph = doc.trim().split("\n\n").next().unwrap_or_default();
    paragraph.lines().map(str::trim).collect::<Vec<_>>().join(" ")
}

fn result_level(severity: Severity) -> ResultLevel {
    match severity {
        Severity::Error => ResultLevel::Error,
        Severity::Warning => ResultLevel::Warning,
        Severity::Note => ResultLevel::Note,
    }
}

fn result(d: &Diagnostic, sources: &Sources) -> SarifResult {
    let mut result = SarifResult::builder()
        .rule_id(d.rule.code)
        .level(result_level(d.severity))
        .message(text_message(message_text(d)))
        .build();
    result.rule_index = rule_index(d.rule).map(int);
    if let Some(primary) = &d.primary {
        result.locations = Some(vec![location(primary, sources, None)]);
    }
    if !d.secondary.is_empty() {
        let related = d
            .secondary
            .iter()
            .enumerate()
            .map(|(i, l)| location(l, sources, Some(i)));
        result.related_locations = Some(related.collect());
    }
    result
}

/// The index of a rule in [`RULES`], which is also its index in `tool.driver.rules`.
fn rule_index(rule: &Rule) -> Option<usize> {
    RULES.iter().position(|r| std::ptr::eq(*r, rule) || r.code == rule.code)
}

/// The message, then `help:` and `note:` lines, as the human report shows them.
fn message_text(d: &Diagnostic) -> String {
    let mut text = d.message.clone();
    if let Some(help) = &d.help {
        text.push_str("\nhelp: ");
        text.push_str(help);
    }
    for note in &d.notes {
        text.push_str("\nnote: ");
        text.push_str(note);
    }
    text
}

fn text_message(text: impl Into<String>) -> Message {
    Message::builder().text(text.into()).build()
}

/// A label as a location; related locations carry an `id` (their index among the secondary
/// labels) so that identical places stay distinct.
fn location(label: &Label, sources: &Sources, id: Option<usize>) -> Location {
    let file = sources.get(label.source);
    let physical = PhysicalLocation::builder()
        .artifact_location(ArtifactLocation::builder().uri(file_uri(&file.name)).build())
        .region(region(file, label))
        .build();
    let mut location = Location::builder().physical_location(physical).build();
    location.id = id.map(int);
    if !label.message.is_empty() {
        location.message = Some(text_message(label.message.as_str()));
    }
    location
}

/// A text region (1-based lines and columns, end column exclusive, plus the character range)
/// for text files; a byte region of at least one byte for binaries.
fn region(file: &SourceFile, label: &Label) -> Region {
    let Some(text) = file.text.as_deref() else {
        let length = label.span.end.saturating_sub(label.span.start).max(1);
        return Region::builder()
            .byte_offset(int(label.span.start))
            .byte_length(int(length))
            .build();
    };
    // Spans are byte ranges; round both ends down to character boundaries so the columns and
    // the character range describe the same characters.
    let start = text.floor_char_boundary(label.span.start);
    let end = text.floor_char_boundary(label.span.end.max(start));
    let (start_line, start_column) = file.line_col(start).unwrap_or((1, 1));
    let (end_line, end_column) = file.line_col(end).unwrap_or((start_line, start_column));
    let char_offset = text[..start].chars().count();
    Region::builder()
        .start_line(int(start_line))
        .start_column(int(start_column))
        .end_line(int(end_line))
        .end_column(int(end_column))
        .char_offset(int(char_offset))
        .char_length(int(text[start..end].chars().count()))
        .build()
}

fn int(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// A file name as a URI reference: relative names stay relative, `\` becomes `/`, absolute
/// paths become `file://` URIs, and bytes that may not appear in a URI path (spaces, `%`,
/// `#`, `?`, `:` and non-ASCII among them) are percent-encoded.
pub fn file_uri(name: &str) -> String {
    let path = name.replace('\\', "/");
    let bytes = path.as_bytes();
    let is_drive = bytes.len() >= 3 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':' && bytes[2] == b'/';
    if is_drive {
        format!("file:///{}:{}", &path[..1], encode_path(&path[2..]))
    } else if path.starts_with('/') {
        format!("file://{}", encode_path(&path))
    } else {
        encode_path(&path)
    }
}

/// Percent-encodes every byte outside RFC 3986's unreserved characters, sub-delimiters, `@`
/// and `/`. `:` is encoded too, so a relative name such as `a:b.toml` cannot read as a scheme.
fn encode_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=@/".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_uris_stay_relative_and_are_encoded() {
        assert_eq!(file_uri("tests/fixtures/a.toml"), "tests/fixtures/a.toml");
        assert_eq!(file_uri("my dir\\Component.toml"), "my%20dir/Component.toml");
        assert_eq!(file_uri("50%#?.toml"), "50%25%23%3F.toml");
        assert_eq!(file_uri("a:b.toml"), "a%3Ab.toml");
        assert_eq!(file_uri("é.wasm"), "%C3%A9.wasm");
        assert_eq!(file_uri("/tmp/x y.wasm"), "file:///tmp/x%20y.wasm");
        assert_eq!(file_uri("C:\\work\\c.wasm"), "file:///C:/work/c.wasm");
    }

    #[test]
    fn first_paragraph_joins_wrapped_lines() {
        assert_eq!(first_paragraph("one\ntwo\n\n## Example\nthree"), "one two");
        assert_eq!(first_paragraph("only"), "only");
    }
}
