//! SARIF 2.1.0 output, for code-scanning services (GitHub code scanning, IDE viewers) that
//! read the OASIS Static Analysis Results Interchange Format.
//!
//! One log holds one run. Its rule list is the whole [`RULES`] registry, not only the rules
//! that fired, so a `ruleIndex` means the same rule in every log this version prints. The
//! types come from `serde-sarif`, which is generated from the SARIF schema: the document's
//! shape is the standard's promise rather than ours (`tests/sarif.rs` validates it against
//! the vendored schema).
//!
//! What GitHub code scanning requires on top of the schema, each checked by `tests/sarif.rs`:
//! - every result has a location with a `startLine`. Text locations are line/column regions
//!   counted in Unicode code points (the run says so with `columnKind`). A finding in a
//!   binary is anchored on the manifest line that governs it (its first label in a text
//!   file) or else on line 1 of the component; the byte offset is in the message, in the
//!   result's `properties.byteOffset` and in a related location with the byte region;
//! - URIs are relative references to [`Options::base`] (no `file://` URIs); the built-in
//!   policies (`builtin:default`) are `default.toml` under the base id `AIRSSYS_POLICIES`,
//!   which `originalUriBaseIds` resolves to the policies' published source;
//! - every result has `partialFingerprints` (stable across line moves) and every rule a
//!   `security-severity`;
//! - a finding a policy waiver accepted is a result with a `suppressions` entry carrying the
//!   waiver's reason, so the dashboard shows it as dismissed rather than losing it.

use std::collections::{BTreeMap, HashMap};
use std::path::{Component, Path, PathBuf};

use serde_json::Value;
use serde_sarif::sarif::{
    Artifact, ArtifactLocation, Location, Message, MultiformatMessageString, PhysicalLocation, PropertyBag, Region,
    ReportingConfiguration, ReportingDescriptor, Result as SarifResult, ResultLevel, Run, Sarif, Suppression, Tool,
    ToolComponent,
};

use crate::diagnostics::{Diagnostic, Label, RULES, Rule, Severity, SourceFile, Sources};

/// The `$schema` every log names.
pub const SCHEMA_URI: &str = "https://json.schemastore.org/sarif-2.1.0.json";

/// Where the tool is documented (`tool.driver.informationUri`).
pub const INFORMATION_URI: &str = "https://github.com/airssys/airssys-wasm";

/// The `uriBaseId` of the built-in policies' locations.
pub const BUILTIN_POLICIES_BASE: &str = "AIRSSYS_POLICIES";

/// The key of our fingerprint in `partialFingerprints`.
pub const FINGERPRINT_KEY: &str = "airssysFinding/v1";

/// How file names become URIs.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// URIs are relative to this directory (`--sarif-base`; absolute, or empty to keep the
    /// names as they are).
    pub base: PathBuf,
    /// The directory relative file names are relative to (the current directory; absolute,
    /// or empty).
    pub cwd: PathBuf,
}

impl Options {
    /// URIs relative to `base` for names relative to `cwd`.
    pub fn relative_to(base: impl Into<PathBuf>, cwd: impl Into<PathBuf>) -> Self {
        let cwd = cwd.into();
        let base = base.into();
        Options {
            base: normalise(&cwd.join(base)),
            cwd,
        }
    }

    /// A source file's name as an artifact location.
    fn artifact(&self, name: &str) -> ArtifactLocation {
        if let Some(policy) = name.strip_prefix("builtin:") {
            let mut location = ArtifactLocation::builder()
                .uri(encode_path(&format!("{policy}.toml")))
                .build();
            location.uri_base_id = Some(BUILTIN_POLICIES_BASE.to_string());
            return location;
        }
        ArtifactLocation::builder().uri(self.uri(name)).build()
    }

    /// A file name as a URI reference relative to the base: `\` becomes `/`, and bytes that
    /// may not appear in a URI path (spaces, `%`, `#`, `?`, `:` and non-ASCII among them) are
    /// percent-encoded.
    pub fn uri(&self, name: &str) -> String {
        let name = name.replace('\\', "/");
        let path = normalise(&self.cwd.join(&name));
        let relative = pathdiff::diff_paths(&path, &self.base).unwrap_or(path);
        let text = relative.to_string_lossy().replace('\\', "/");
        encode_path(if text.is_empty() { "." } else { &text })
    }
}

/// `path` with `.` dropped and `..` applied lexically (never above the root).
fn normalise(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() && !out.has_root() {
                    out.push("..");
                }
            }
            other => out.push(other),
        }
    }
    out
}

/// Renders one SARIF log (pretty JSON, trailing newline) with one result per diagnostic, in
/// the order given, URIs as the names are.
pub fn render(diagnostics: &[Diagnostic], sources: &Sources) -> String {
    render_in(diagnostics, sources, &Options::default())
}

/// [`render`] with URIs made by `options`.
pub fn render_in(diagnostics: &[Diagnostic], sources: &Sources, options: &Options) -> String {
    log(run(diagnostics, sources, options))
}

fn log(run: Run) -> String {
    let log = Sarif::builder()
        .schema(SCHEMA_URI)
        .version(Value::from("2.1.0"))
        .runs(vec![run])
        .build();
    super::json::to_string(&log)
}

/// [`render_in`] for `check`: the run also lists each component checked as an artifact
/// (role `analysisTarget`) whose property `kind` is its kind (`airssys`, `wasi-command`, ...).
pub fn render_batch(
    diagnostics: &[Diagnostic],
    sources: &Sources,
    components: &[PathBuf],
    kinds: &[Option<crate::analyze::ComponentKind>],
    options: &Options,
) -> String {
    let mut run = run(diagnostics, sources, options);
    let artifacts = components
        .iter()
        .zip(kinds)
        .map(|(path, kind)| {
            let mut a = Artifact::builder()
                .location(options.artifact(&path.display().to_string()))
                .roles(vec![Value::from("analysisTarget")])
                .build();
            if let Some(kind) = kind {
                a.properties = Some(properties([("kind", Value::from(kind.as_str()))]));
            }
            a
        })
        .collect();
    run.artifacts = Some(artifacts);
    log(run)
}

fn properties<const N: usize>(entries: [(&str, Value); N]) -> PropertyBag {
    let mut bag = PropertyBag::builder().build();
    for (k, v) in entries {
        bag.additional_properties.insert(k.to_string(), v);
    }
    bag
}

fn run(diagnostics: &[Diagnostic], sources: &Sources, options: &Options) -> Run {
    let mut seen = HashMap::new();
    let results: Vec<SarifResult> = diagnostics
        .iter()
        .map(|d| {
            let mut r = result(d, sources, options);
            fingerprint(&mut r, d, sources, options, &mut seen);
            r
        })
        .collect();
    let mut run = Run::builder()
        .tool(tool())
        .column_kind(Value::from("unicodeCodePoints"))
        .results(results)
        .build();
    let builtin = ArtifactLocation::builder()
        .uri(format!(
            "{INFORMATION_URI}/raw/v{}/policies/",
            env!("CARGO_PKG_VERSION")
        ))
        .description(text_message("the policies built into airssys-wasm (`builtin:NAME`)"))
        .build();
    run.original_uri_base_ids = Some(BTreeMap::from([(BUILTIN_POLICIES_BASE.to_string(), builtin)]));
    run
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
/// description, the whole doc (Markdown) as help, and its `security-severity`.
fn rule(rule: &Rule) -> ReportingDescriptor {
    let help = MultiformatMessageString::builder()
        .text(rule.doc)
        .markdown(rule.doc)
        .build();
    let mut descriptor = ReportingDescriptor::builder()
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
        .build();
    let mut bag = properties([(
        "security-severity",
        Value::from(format!("{:.1}", security_severity(rule))),
    )]);
    bag.tags = Some(vec!["security".to_string()]);
    descriptor.properties = Some(bag);
    descriptor
}

/// The `security-severity` GitHub ranks a rule's alerts by (over 9 critical, 7 to 8.9 high,
/// 4 to 6.9 medium, below 4 low). High: what lets a component reach something nobody granted
/// or the organisation denies. Medium: grants a policy forbids in kind, findings that make the
/// check itself unreliable, and least-privilege breaches. Low: everything else by severity.
pub fn security_severity(rule: &Rule) -> f32 {
    match rule.code {
        "CMP002" | "CMP006" | "WIT002" | "POL003" | "POL005" | "POL009" | "POL011" => 8.0,
        "CMP004" | "POL004" | "POL006" | "POL007" | "POL008" | "POL010" | "CMP010" => 6.5,
        "CMP001" | "CMP005" | "CMP007" | "WIT003" | "WIT004" | "MAN019" | "POL013" => 5.0,
        "CMP003" | "POL014" => 4.0,
        _ => match rule.severity {
            Severity::Error => 3.0,
            Severity::Warning => 2.0,
            Severity::Note => 1.0,
        },
    }
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

fn result(d: &Diagnostic, sources: &Sources, options: &Options) -> SarifResult {
    let binary = d.primary.as_ref().filter(|l| sources.get(l.source).text.is_none());
    let offset = binary.map(|l| {
        format!(
            " (at byte offset {:#x} of {})",
            l.span.start,
            options.uri(&sources.get(l.source).name)
        )
    });
    let mut result = SarifResult::builder()
        .rule_id(d.rule.code)
        .level(result_level(d.severity))
        .message(text_message(message_text(d, offset.as_deref().unwrap_or_default())))
        .build();
    result.rule_index = rule_index(d.rule).map(int);
    let anchor = anchor(d, sources);
    if let Some(label) = anchor {
        let mut location = location(label, sources, options, None);
        if sources.get(label.source).text.is_none() {
            // A component with no text label to stand on: its line 1, the bytes kept.
            if let Some(region) = location.physical_location.as_mut().and_then(|p| p.region.as_mut()) {
                region.start_line = Some(1);
            }
        }
        result.locations = Some(vec![location]);
    }
    // Every label that is not the anchor is a related location (the binary's byte region
    // among them when the anchor is a manifest line).
    let related: Vec<Location> = d
        .primary
        .iter()
        .chain(&d.secondary)
        .filter(|l| Some(*l) != anchor)
        .enumerate()
        .map(|(i, l)| location(l, sources, options, Some(i)))
        .collect();
    if !related.is_empty() {
        result.related_locations = Some(related);
    }
    if let Some(l) = binary {
        result.properties = Some(properties([
            ("byteOffset", Value::from(l.span.start)),
            ("component", Value::from(options.uri(&sources.get(l.source).name))),
        ]));
    }
    if let Some(w) = &d.waived {
        let mut suppression = Suppression::builder()
            .kind(Value::from("external"))
            .justification(w.reason.as_str())
            .location(location(&w.at, sources, options, None))
            .build();
        suppression.status = Some(Value::from("accepted"));
        suppression.properties = Some(properties([("expires", Value::from(w.expires.as_str()))]));
        result.suppressions = Some(vec![suppression]);
    }
    result
}

/// Where a result is shown: its primary label in a text file; for a finding in a binary (or
/// with no primary), the first label in a text file (the manifest entry that governs it);
/// else the binary's label. `None` only for a finding with no label at all.
fn anchor<'a>(d: &'a Diagnostic, sources: &Sources) -> Option<&'a Label> {
    let is_text = |l: &&Label| sources.get(l.source).text.is_some();
    d.primary
        .iter()
        .chain(&d.secondary)
        .find(is_text)
        .or(d.primary.as_ref())
        .or(d.secondary.first())
}

/// Sets `partialFingerprints`: a hash of what identifies the finding whatever line it moves
/// to and wherever the project is checked out (the rule, and each label's file URI, message
/// and text; not the message, which may name absolute paths), numbered when several findings
/// share it so that each keeps its own alert.
fn fingerprint(
    result: &mut SarifResult,
    d: &Diagnostic,
    sources: &Sources,
    options: &Options,
    seen: &mut HashMap<u64, usize>,
) {
    let mut hash = Fnv::default();
    hash.write(d.rule.code);
    for label in d.primary.iter().chain(&d.secondary) {
        let file = sources.get(label.source);
        hash.write(&options.uri(&file.name));
        hash.write(&label.message);
        if let Some(text) = file.text.as_deref() {
            hash.write(text.get(label.span.clone()).unwrap_or_default());
        }
    }
    let n = seen.entry(hash.0).or_default();
    *n += 1;
    result.partial_fingerprints = Some(BTreeMap::from([(
        FINGERPRINT_KEY.to_string(),
        format!("{:016x}:{}", hash.0, n),
    )]));
}

/// 64-bit FNV-1a: a hash whose value is fixed by its definition, so fingerprints stay the
/// same across versions of Rust and of this tool (the standard library's hasher promises
/// no such thing).
struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv {
    /// Hashes `s` and a separator, so that ("ab", "c") and ("a", "bc") differ.
    fn write(&mut self, s: &str) {
        for b in s.bytes().chain([0xff]) {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }
}

/// The index of a rule in [`RULES`], which is also its index in `tool.driver.rules`.
fn rule_index(rule: &Rule) -> Option<usize> {
    RULES.iter().position(|r| std::ptr::eq(*r, rule) || r.code == rule.code)
}

/// The message and `suffix`, then `help:` and `note:` lines, as the human report shows them.
fn message_text(d: &Diagnostic, suffix: &str) -> String {
    let mut text = format!("{}{suffix}", d.message);
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

/// A label as a location; related locations carry an `id` (their index among the related
/// labels) so that identical places stay distinct.
fn location(label: &Label, sources: &Sources, options: &Options, id: Option<usize>) -> Location {
    let file = sources.get(label.source);
    let physical = PhysicalLocation::builder()
        .artifact_location(options.artifact(&file.name))
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

/// `diff`'s rules: its findings are about two versions, not about one input, so they are not
/// in the registry. (id, level, summary, security-severity)
const DIFF_RULES: [(&str, Severity, &str, f32); 3] = [
    (
        "capability-gained",
        Severity::Error,
        "the new version can touch something the old one could not",
        8.0,
    ),
    (
        "capability-gained-allowed",
        Severity::Note,
        "the new version gains a capability that a policy's `[upgrade] allow-gains` accepts",
        2.0,
    ),
    (
        "capability-lost",
        Severity::Note,
        "the new version can no longer touch something the old one could",
        1.0,
    ),
];

/// One component of a `diff`: its name, the file its results are located on (line 1 of the
/// new version, or of the old one when it was removed) and its changes.
pub struct DiffEntry<'a> {
    pub name: &'a str,
    pub file: &'a str,
    pub changes: &'a [crate::diff::Change],
}

/// `diff`'s SARIF log: one result per change, located on line 1 of the component's file, with
/// the same URI rules, fingerprints and `security-severity` as `check`'s log.
pub fn render_diff(entries: &[DiffEntry<'_>], options: &Options) -> String {
    let rules = DIFF_RULES
        .iter()
        .map(|(id, level, summary, severity)| {
            let mut d = ReportingDescriptor::builder()
                .id(*id)
                .name(*id)
                .short_description(plain(summary))
                .default_configuration(
                    ReportingConfiguration::builder()
                        .level(Value::from(level.as_str()))
                        .build(),
                )
                .build();
            let mut bag = properties([("security-severity", Value::from(format!("{severity:.1}")))]);
            bag.tags = Some(vec!["security".to_string()]);
            d.properties = Some(bag);
            d
        })
        .collect::<Vec<_>>();
    let driver = ToolComponent::builder()
        .name(env!("CARGO_PKG_NAME"))
        .version(env!("CARGO_PKG_VERSION"))
        .information_uri(INFORMATION_URI)
        .rules(rules)
        .build();
    let mut seen = HashMap::new();
    let mut results = Vec::new();
    for e in entries {
        for c in e.changes {
            let index = match (c.gained, c.allowed) {
                (true, false) => 0,
                (true, true) => 1,
                (false, _) => 2,
            };
            let (id, level, _, _) = DIFF_RULES[index];
            let verb = if c.gained { "gained" } else { "lost" };
            let kind = serde_json::to_value(c.kind)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default();
            let mut message = format!("`{}` {verb} {kind} {}", e.name, c.text);
            if let Some(p) = c.permission.as_ref().filter(|p| **p != c.text) {
                message.push_str(&format!(" ({p})"));
            }
            let region = Region::builder().start_line(1).build();
            let physical = PhysicalLocation::builder()
                .artifact_location(options.artifact(e.file))
                .region(region)
                .build();
            let mut result = SarifResult::builder()
                .rule_id(id)
                .level(result_level(level))
                .message(text_message(message))
                .locations(vec![Location::builder().physical_location(physical).build()])
                .build();
            result.rule_index = Some(int(index));
            let mut hash = Fnv::default();
            for part in [e.name, verb, &kind, &c.text] {
                hash.write(part);
            }
            let n = seen.entry(hash.0).or_insert(0usize);
            *n += 1;
            result.partial_fingerprints = Some(BTreeMap::from([(
                FINGERPRINT_KEY.to_string(),
                format!("{:016x}:{n}", hash.0),
            )]));
            let mut bag = properties([("component", Value::from(e.name)), ("kind", Value::from(kind))]);
            if let Some(p) = &c.permission {
                bag.additional_properties
                    .insert("permission".into(), Value::from(p.as_str()));
            }
            result.properties = Some(bag);
            results.push(result);
        }
    }
    let run = Run::builder()
        .tool(Tool::builder().driver(driver).build())
        .column_kind(Value::from("unicodeCodePoints"))
        .results(results)
        .build();
    log(run)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_are_relative_to_the_base_and_encoded() {
        let same = Options::default();
        assert_eq!(same.uri("tests/fixtures/a.toml"), "tests/fixtures/a.toml");
        assert_eq!(same.uri("my dir\\Component.toml"), "my%20dir/Component.toml");
        assert_eq!(same.uri("50%#?.toml"), "50%25%23%3F.toml");
        assert_eq!(same.uri("a:b.toml"), "a%3Ab.toml");
        assert_eq!(same.uri("é.wasm"), "%C3%A9.wasm");
        let repo = Options::relative_to(".", "/work/repo");
        assert_eq!(repo.uri("/work/repo/build/x y.wasm"), "build/x%20y.wasm");
        assert_eq!(repo.uri("./build/../c.wasm"), "c.wasm");
        assert_eq!(repo.uri("/tmp/c.wasm"), "../../tmp/c.wasm");
        let sub = Options::relative_to("..", "/work/repo/sub");
        assert_eq!(sub.uri("c.toml"), "sub/c.toml");
        let builtin = same.artifact("builtin:strict");
        assert_eq!(builtin.uri.as_deref(), Some("strict.toml"));
        assert_eq!(builtin.uri_base_id.as_deref(), Some(BUILTIN_POLICIES_BASE));
    }

    #[test]
    fn first_paragraph_joins_wrapped_lines() {
        assert_eq!(first_paragraph("one\ntwo\n\n## Example\nthree"), "one two");
        assert_eq!(first_paragraph("only"), "only");
    }
}
