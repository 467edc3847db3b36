//! Findings about the inputs: the [`Diagnostic`] value every check produces, the source files
//! its labels point into, severity overrides (`-A/-W/-D`) and the counting sink.
//!
//! A diagnostic is data. Checks build them, the [`Sink`] applies the user's severity levels, and
//! the renderers in [`crate::report`] print them; nothing here prints. Tool errors (the tool could
//! not run at all) live in [`crate::Error`], never here.

pub mod registry;

pub(crate) use registry::rules;

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;
use std::sync::{Arc, OnceLock};

pub use registry::{RULES, Rule};

/// How much a finding matters. Ordered from least to most severe.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Note,
    Warning,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Note => "note",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Identifies a file in [`Sources`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SourceId(u32);

/// One input file: text files keep their text so spans can be shown in context; binaries
/// (components) keep only their name, and their labels are byte offsets.
#[derive(Clone, Debug)]
pub struct SourceFile {
    pub name: String,
    pub text: Option<Arc<str>>,
    /// Where lines start, built on first use so that positions cost a logarithm, not a scan.
    index: OnceLock<Arc<LineIndex>>,
}

impl SourceFile {
    /// A file with `text` (`None` for a binary).
    pub fn new(name: impl Into<String>, text: Option<Arc<str>>) -> Self {
        Self {
            name: name.into(),
            text,
            index: OnceLock::new(),
        }
    }

    /// The 1-based line and column (in characters) of a byte offset, for text files. Offsets
    /// past the end are the end; an offset inside a character is that character's.
    pub fn line_col(&self, offset: usize) -> Option<(usize, usize)> {
        let text = self.text.as_deref()?;
        let index = self.line_index()?;
        let offset = floor_char_boundary(text, offset.min(text.len()));
        let line = index.line_of(offset);
        let start = index.line_starts[line];
        Some((line + 1, index.chars_between(text, start, offset) + 1))
    }

    /// The line index of a text file (computed once).
    pub fn line_index(&self) -> Option<&LineIndex> {
        let text = self.text.as_deref()?;
        Some(self.index.get_or_init(|| Arc::new(LineIndex::new(text))))
    }
}

/// Line starts and character counts of a text, so that the line and column of any offset are
/// found without scanning the text before it (thousands of findings in a 1 MiB file would
/// otherwise cost a scan each).
#[derive(Clone, Debug)]
pub struct LineIndex {
    /// Byte offset of the start of each line; `line_starts[0] == 0`.
    pub line_starts: Vec<usize>,
    /// Characters before byte `k * CHECKPOINT`, for every `k`.
    chars_before: Vec<usize>,
}

const CHECKPOINT: usize = 4096;

impl LineIndex {
    /// Indexes `text` (lines end at `\n`).
    pub fn new(text: &str) -> Self {
        let bytes = text.as_bytes();
        let mut line_starts = vec![0];
        line_starts.extend(memchr_all(bytes, b'\n').map(|i| i + 1));
        let mut chars_before = Vec::with_capacity(bytes.len() / CHECKPOINT + 1);
        let mut count = 0;
        for chunk in bytes.chunks(CHECKPOINT) {
            chars_before.push(count);
            count += char_starts(chunk);
        }
        chars_before.push(count);
        Self {
            line_starts,
            chars_before,
        }
    }

    /// The 0-based line that contains byte `offset`.
    pub fn line_of(&self, offset: usize) -> usize {
        self.line_starts.partition_point(|s| *s <= offset).saturating_sub(1)
    }

    /// Characters in `text[from..to]` (both offsets at character boundaries).
    pub fn chars_between(&self, text: &str, from: usize, to: usize) -> usize {
        self.chars_before_offset(text, to) - self.chars_before_offset(text, from)
    }

    fn chars_before_offset(&self, text: &str, offset: usize) -> usize {
        let k = offset / CHECKPOINT;
        self.chars_before[k] + char_starts(&text.as_bytes()[k * CHECKPOINT..offset])
    }
}

/// Positions of `needle` in `hay`.
fn memchr_all(hay: &[u8], needle: u8) -> impl Iterator<Item = usize> + '_ {
    hay.iter()
        .enumerate()
        .filter(move |(_, b)| **b == needle)
        .map(|(i, _)| i)
}

/// How many characters start in `bytes` (every byte that is not a UTF-8 continuation byte).
fn char_starts(bytes: &[u8]) -> usize {
    bytes.iter().filter(|b| (**b & 0xC0) != 0x80).count()
}

fn floor_char_boundary(text: &str, mut offset: usize) -> usize {
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

/// The files a set of diagnostics points into.
#[derive(Clone, Debug, Default)]
pub struct Sources {
    files: Vec<SourceFile>,
}

impl Sources {
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers a text file and returns its id.
    pub fn add_text(&mut self, name: impl Into<String>, text: impl Into<Arc<str>>) -> SourceId {
        self.push(SourceFile::new(name, Some(text.into())))
    }

    /// Registers a binary file (labels into it are byte offsets).
    pub fn add_binary(&mut self, name: impl Into<String>) -> SourceId {
        self.push(SourceFile::new(name, None))
    }

    fn push(&mut self, file: SourceFile) -> SourceId {
        let id = SourceId(u32::try_from(self.files.len()).expect("fewer than 2^32 sources"));
        self.files.push(file);
        id
    }

    /// The id of the most recently added file.
    pub fn last_id(&self) -> Option<SourceId> {
        self.files.len().checked_sub(1).map(|i| SourceId(i as u32))
    }

    pub fn get(&self, id: SourceId) -> &SourceFile {
        &self.files[id.0 as usize]
    }

    /// The file `id`, when it is one of these (ids of another `Sources` may not be).
    pub fn try_get(&self, id: SourceId) -> Option<&SourceFile> {
        self.files.get(id.0 as usize)
    }
}

/// A place in a source file, with what the reader should notice there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Label {
    pub source: SourceId,
    pub span: Range<usize>,
    pub message: String,
}

/// One finding about the inputs.
#[derive(Clone, Debug)]
pub struct Diagnostic {
    pub rule: &'static Rule,
    pub severity: Severity,
    pub message: String,
    /// Where the problem is; `None` only for findings about a file as a whole with no span.
    pub primary: Option<Label>,
    /// Other places that matter (the manifest entry for an import, the policy rule, ...).
    pub secondary: Vec<Label>,
    pub help: Option<String>,
    pub notes: Vec<String>,
    /// Set when a policy waiver accepted this finding: it is still reported (as waived, with the
    /// waiver's reason) but no longer counts towards the exit code.
    pub waived: Option<Waived>,
}

/// The waiver that accepted a finding: its reason, its expiry date and where it is written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Waived {
    pub reason: String,
    /// The last day on which the waiver applies (`YYYY-MM-DD`).
    pub expires: String,
    /// The waiver's table in its policy file.
    pub at: Label,
    /// The policy file as named (`policies/ci.toml`, `builtin:default`) and the waiver's line.
    pub file: String,
    pub line: usize,
}

impl Diagnostic {
    pub fn new(rule: &'static Rule, message: impl Into<String>) -> Self {
        Self {
            rule,
            severity: rule.severity,
            message: message.into(),
            primary: None,
            secondary: Vec::new(),
            help: None,
            notes: Vec::new(),
            waived: None,
        }
    }

    pub fn at(mut self, source: SourceId, span: Range<usize>, message: impl Into<String>) -> Self {
        self.primary = Some(Label {
            source,
            span,
            message: message.into(),
        });
        self
    }

    pub fn also(mut self, source: SourceId, span: Range<usize>, message: impl Into<String>) -> Self {
        self.secondary.push(Label {
            source,
            span,
            message: message.into(),
        });
        self
    }

    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub fn note(mut self, note: impl Into<String>) -> Self {
        self.notes.push(note.into());
        self
    }

    /// The key diagnostics are sorted by, so output is deterministic whatever order checks ran in.
    fn sort_key(&self, sources: &Sources) -> (String, usize, &'static str, String) {
        match &self.primary {
            Some(l) => (
                sources.get(l.source).name.clone(),
                l.span.start,
                self.rule.code,
                self.message.clone(),
            ),
            None => (String::new(), 0, self.rule.code, self.message.clone()),
        }
    }
}

/// What the user asked a code's level to be (`-A`, `-W`, `-D`, or a policy's `[levels]`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Allow,
    Warn,
    Deny,
}

/// Severity overrides by rule, plus the blanket "warnings" switch.
#[derive(Clone, Debug, Default)]
pub struct Levels {
    by_code: BTreeMap<&'static str, Level>,
    warnings: Option<Level>,
}

impl Levels {
    /// Sets the level of a rule (by code or kebab name) or of all warnings (`warnings`).
    /// Returns an error message naming the closest known rule when the name is unknown.
    pub fn set(&mut self, name: &str, level: Level) -> Result<(), String> {
        if name == "warnings" {
            self.warnings = Some(level);
            return Ok(());
        }
        match registry::lookup(name) {
            Some(rule) => {
                self.by_code.insert(rule.code, level);
                Ok(())
            }
            None => Err(registry::unknown_rule_message(name)),
        }
    }

    /// The severity a diagnostic ends up with, or `None` when it is allowed (dropped).
    pub fn apply(&self, rule: &Rule, severity: Severity) -> Option<Severity> {
        let level = self.by_code.get(rule.code).copied().or(match severity {
            Severity::Warning => self.warnings,
            _ => None,
        });
        match level {
            None => Some(severity),
            Some(Level::Allow) => None,
            Some(Level::Warn) => Some(Severity::Warning),
            Some(Level::Deny) => Some(Severity::Error),
        }
    }
}

/// Counts of findings by severity; waived findings are counted apart and in no severity.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Counts {
    pub errors: usize,
    pub warnings: usize,
    pub notes: usize,
    /// Findings a policy waiver accepted (omitted from JSON when zero).
    #[serde(skip_serializing_if = "is_zero")]
    pub waived: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

impl Counts {
    /// Counts one finding: by its severity, or as waived.
    pub fn add(&mut self, d: &Diagnostic) {
        if d.waived.is_some() {
            self.waived += 1;
            return;
        }
        self.add_severity(d.severity);
    }

    /// Counts one finding of `severity` that no waiver accepted.
    pub fn add_severity(&mut self, severity: Severity) {
        match severity {
            Severity::Error => self.errors += 1,
            Severity::Warning => self.warnings += 1,
            Severity::Note => self.notes += 1,
        }
    }

    pub fn merge(&mut self, other: Counts) {
        self.errors += other.errors;
        self.warnings += other.warnings;
        self.notes += other.notes;
        self.waived += other.waived;
    }
}

/// Collects diagnostics, applying severity levels as they arrive.
#[derive(Debug, Default)]
pub struct Sink {
    levels: Levels,
    diagnostics: Vec<Diagnostic>,
}

impl Sink {
    pub fn new(levels: Levels) -> Self {
        Self {
            levels,
            diagnostics: Vec::new(),
        }
    }

    pub fn push(&mut self, mut diagnostic: Diagnostic) {
        if let Some(severity) = self.levels.apply(diagnostic.rule, diagnostic.severity) {
            diagnostic.severity = severity;
            self.diagnostics.push(diagnostic);
        }
    }

    pub fn extend(&mut self, diagnostics: impl IntoIterator<Item = Diagnostic>) {
        for d in diagnostics {
            self.push(d);
        }
    }

    /// The diagnostics, sorted by file, position and code.
    pub fn finish(mut self, sources: &Sources) -> Vec<Diagnostic> {
        sort(&mut self.diagnostics, sources);
        self.diagnostics
    }
}

/// Sorts diagnostics deterministically (file, offset, code, message).
pub fn sort(diagnostics: &mut [Diagnostic], sources: &Sources) {
    sort_with(diagnostics, sources, |d| d);
}

/// Sorts items that each carry a diagnostic (with where it came from, say) in the order of
/// [`sort`]; items with equal keys keep their order.
pub fn sort_with<T>(items: &mut [T], sources: &Sources, diagnostic: impl Fn(&T) -> &Diagnostic) {
    items.sort_by_cached_key(|t| diagnostic(t).sort_key(sources));
}

/// Counts diagnostics by severity (waived ones apart).
pub fn count(diagnostics: &[Diagnostic]) -> Counts {
    let mut counts = Counts::default();
    for d in diagnostics {
        counts.add(d);
    }
    counts
}

/// Levenshtein-based "did you mean": the closest candidate within a small edit distance.
pub fn did_you_mean<'a>(input: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let input_lower = input.to_ascii_lowercase();
    candidates
        .into_iter()
        .map(|c| (edit_distance(&input_lower, &c.to_ascii_lowercase()), c))
        .filter(|(d, c)| *d <= (c.len().max(input.len()) / 3).max(1))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Optimal-string-alignment distance: insertions, deletions, substitutions and swaps of two
/// adjacent characters (`wirte` is one edit from `write`) each cost one.
fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            d[i][j] = (d[i - 1][j] + 1).min(d[i][j - 1] + 1).min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d[i][j] = d[i][j].min(d[i - 2][j - 2] + 1);
            }
        }
    }
    d[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn did_you_mean_finds_close_names() {
        assert_eq!(did_you_mean("reed", ["read", "write"]), Some("read"));
        assert_eq!(did_you_mean("Network", ["network", "process"]), Some("network"));
        assert_eq!(did_you_mean("zzzzzz", ["read", "write"]), None);
        assert_eq!(did_you_mean("wirte", ["read", "write"]), Some("write"));
        assert_eq!(did_you_mean("spwan", ["spawn", "signal"]), Some("spawn"));
    }

    #[test]
    fn line_col_counts_characters() {
        let f = SourceFile::new("x", Some("ab\ncé d".into()));
        assert_eq!(f.line_col(0), Some((1, 1)));
        assert_eq!(f.line_col(3), Some((2, 1)));
        assert_eq!(f.line_col(6), Some((2, 3)));
        assert_eq!(f.line_col(5), Some((2, 2)), "inside a multi-byte char rounds down");
    }

    #[test]
    fn levels_override_and_allow() {
        let rule = registry::lookup("unknown-key").unwrap();
        let mut levels = Levels::default();
        assert_eq!(levels.apply(rule, Severity::Error), Some(Severity::Error));
        levels.set(rule.code, Level::Warn).unwrap();
        assert_eq!(levels.apply(rule, Severity::Error), Some(Severity::Warning));
        levels.set("unknown-key", Level::Allow).unwrap();
        assert_eq!(levels.apply(rule, Severity::Error), None);
        assert!(levels.set("no-such-rule", Level::Deny).is_err());
    }

    #[test]
    fn warnings_switch_promotes_only_warnings() {
        let mut levels = Levels::default();
        levels.set("warnings", Level::Deny).unwrap();
        let rule = registry::lookup("unknown-key").unwrap();
        assert_eq!(levels.apply(rule, Severity::Warning), Some(Severity::Error));
        assert_eq!(levels.apply(rule, Severity::Note), Some(Severity::Note));
    }
}
