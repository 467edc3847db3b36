//! Human output: each diagnostic rendered by miette with its source excerpt, labels, help and
//! notes. Labels in another file (the component for a manifest finding, a policy rule) are shown
//! as related reports of their own file; labels into binaries show the byte offset.
//!
//! What reaches miette is bounded and printable, whatever the input:
//! - miette sees an excerpt, not the file: the lines around the labels, with line numbers and
//!   columns of the real file ([`Excerpt`]). Finding a line costs a binary search in the
//!   file's [`LineIndex`], so thousands of findings in a 1 MiB file render in linear time.
//! - long lines are clipped around the labels (`…` marks what is left out), so no label starts
//!   past a column miette cannot format (it panics past 65,535) and no finding prints a whole
//!   megabyte line;
//! - control characters of the input (in the excerpt, messages, labels, help, notes and file
//!   names) are escaped ([`super::escape_control`]): an input cannot clear the screen or
//!   forge output lines;
//! - messages, labels, help and notes are clipped to [`MAX_TEXT_CHARS`] characters;
//! - at most [`MAX_PER_FILE`] findings are rendered per file, then one line says how many
//!   more there are (`--format json` lists every one).

use std::collections::HashMap;
use std::fmt;
use std::ops::Range;

use miette::{
    GraphicalReportHandler, GraphicalTheme, LabeledSpan, MietteError, MietteSpanContents, SourceCode, SourceSpan,
    SpanContents,
};

use super::{clip_text, escape_control};
use crate::diagnostics::{Diagnostic, Label, LineIndex, Severity, SourceId, Sources};

/// Findings rendered per file; the rest are counted in one closing line.
pub const MAX_PER_FILE: usize = 100;
/// Characters of a message, label, help or note; longer ones end in `…`.
pub const MAX_TEXT_CHARS: usize = 1_000;
/// Lines longer than this (in characters) are clipped around the labels.
pub const MAX_LINE_CHARS: usize = 200;
/// Characters kept on each side of a label's start and end in a clipped line.
const WINDOW: usize = 40;
/// Labels over more lines than this are shown on their first line only.
const MAX_LABEL_LINES: usize = 20;
/// Labels at most this many lines apart share one excerpt (as miette would show them).
const MERGE_GAP: usize = 40;

/// How to draw: colour only when asked for (the CLI decides from the TTY and `NO_COLOR`).
#[derive(Clone, Copy, Debug)]
pub struct Style {
    pub color: bool,
    pub width: usize,
}

impl Default for Style {
    fn default() -> Self {
        Self {
            color: false,
            width: 100,
        }
    }
}

/// Renders diagnostics, one block each, in the order given (at most [`MAX_PER_FILE`] per file);
/// the findings a policy waiver accepted follow, one line each (see [`render_waived`]).
pub fn render(diagnostics: &[Diagnostic], sources: &Sources, style: Style) -> String {
    let theme = if style.color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let handler = GraphicalReportHandler::new_themed(theme)
        .with_width(style.width)
        .with_links(false)
        .with_urls(false);
    let mut out = String::new();
    let mut per_file: HashMap<Option<SourceId>, usize> = HashMap::new();
    let mut hidden: Vec<(Option<SourceId>, usize)> = Vec::new();
    for d in diagnostics.iter().filter(|d| d.waived.is_none()) {
        let file = d.primary.as_ref().map(|l| l.source);
        let shown = per_file.entry(file).or_default();
        if *shown >= MAX_PER_FILE {
            match hidden.iter_mut().find(|(f, _)| *f == file) {
                Some((_, n)) => *n += 1,
                None => hidden.push((file, 1)),
            }
            continue;
        }
        *shown += 1;
        render_one(&handler, d, sources, &mut out);
    }
    for (file, n) in hidden {
        let name = match file {
            Some(id) => format!("in {}", escape_control(&sources.get(id).name)),
            None => "without a file".to_string(),
        };
        out.push_str(&format!(
            "note: {n} more finding{} {name} not shown (at most {MAX_PER_FILE} per file); \
             `--format json` lists every one\n\n",
            if n == 1 { "" } else { "s" }
        ));
    }
    out.push_str(&render_waived(diagnostics, sources));
    out
}

/// The waived findings, one line each with the waiver's reason, expiry and place:
/// `waived: POL003 denied-path at Component.toml:7: <message> (reason: <reason>; waiver at
/// policy.toml:12, until 2026-12-31)`; empty when nothing was waived.
fn render_waived(diagnostics: &[Diagnostic], sources: &Sources) -> String {
    let mut out = String::new();
    for d in diagnostics {
        let Some(w) = &d.waived else { continue };
        let place = match &d.primary {
            Some(l) => {
                let file = sources.get(l.source);
                match file.line_col(l.span.start) {
                    Some((line, _)) => format!(" at {}:{line}", file.name),
                    None => format!(" at {} (byte offset {:#x})", file.name, l.span.start),
                }
            }
            None => String::new(),
        };
        out.push_str(&format!(
            "waived: {} {}{}: {} (reason: {}; waiver at {}:{}, until {})\n",
            d.rule.code,
            d.rule.name,
            printable(&place),
            printable(&d.message),
            printable(&w.reason),
            printable(&w.file),
            w.line,
            w.expires,
        ));
    }
    out
}

/// One diagnostic; should miette fail (or panic) on it, a plain line says what it was.
fn render_one(handler: &GraphicalReportHandler, d: &Diagnostic, sources: &Sources, out: &mut String) {
    let adapter = Adapter::new(d, sources);
    let mut block = String::new();
    let rendered = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        handler.render_report(&mut block, &adapter)
    }));
    if matches!(rendered, Ok(Ok(()))) {
        out.push_str(&block);
    } else {
        out.push_str(&format!(
            "{}[{}]: {}\n",
            d.severity,
            d.rule.code,
            clip_text(&escape_control(&d.message), MAX_TEXT_CHARS)
        ));
    }
}

/// Escaped and clipped text of the input, fit to print.
fn printable(s: &str) -> String {
    clip_text(&escape_control(s), MAX_TEXT_CHARS)
}

/// One diagnostic (or one related label) in the shape miette renders.
#[derive(Debug)]
struct Adapter {
    code: String,
    severity: miette::Severity,
    message: String,
    help: Option<String>,
    source: Option<Excerpt>,
    labels: Vec<LabeledSpan>,
    related: Vec<Adapter>,
}

/// A label waiting for its file's excerpt to be built.
struct Pending {
    span: Range<usize>,
    message: Option<String>,
    primary: bool,
}

impl Adapter {
    fn new(d: &Diagnostic, sources: &Sources) -> Self {
        let mut adapter = Adapter {
            code: format!("{}({})", d.rule.code, d.rule.name),
            severity: match d.severity {
                Severity::Error => miette::Severity::Error,
                Severity::Warning => miette::Severity::Warning,
                Severity::Note => miette::Severity::Advice,
            },
            message: printable(&d.message),
            help: help_text(d),
            source: None,
            labels: Vec::new(),
            related: Vec::new(),
        };
        let home = d.primary.as_ref().map(|l| l.source);
        let home_is_text = home.is_some_and(|id| sources.get(id).text.is_some());
        let mut pending = Vec::new();
        if let Some(primary) = &d.primary {
            adapter.attach(primary, sources, true, &mut pending);
        }
        for label in &d.secondary {
            if Some(label.source) == home && home_is_text {
                adapter.attach(label, sources, false, &mut pending);
            } else {
                adapter.related.push(Adapter::related(label, sources));
            }
        }
        if let Some(id) = home.filter(|_| home_is_text) {
            adapter.build_excerpt(id, sources, pending);
        }
        adapter
    }

    /// A label in another file, shown as an advice-level report of that file.
    fn related(label: &Label, sources: &Sources) -> Self {
        let mut adapter = Adapter {
            code: String::new(),
            severity: miette::Severity::Advice,
            message: printable(&label.message),
            help: None,
            source: None,
            labels: Vec::new(),
            related: Vec::new(),
        };
        let mut pending = Vec::new();
        adapter.attach(label, sources, true, &mut pending);
        if sources.get(label.source).text.is_some() {
            adapter.build_excerpt(label.source, sources, pending);
        }
        adapter
    }

    /// Adds a label: a span in a text file (rendered once the excerpt is built), or a byte
    /// offset line for a binary.
    fn attach(&mut self, label: &Label, sources: &Sources, primary: bool, pending: &mut Vec<Pending>) {
        let file = sources.get(label.source);
        match &file.text {
            Some(text) => {
                let len = text.len();
                let start = floor_boundary(text, label.span.start.min(len));
                let end = floor_boundary(text, label.span.end.clamp(start, len));
                let message = (!label.message.is_empty()).then(|| printable(&label.message));
                pending.push(Pending {
                    span: start..end,
                    message,
                    primary,
                });
            }
            None => {
                let at = format!("{} at byte offset {:#x}", escape_control(&file.name), label.span.start);
                let label_message = printable(&label.message);
                self.message = if label.message.is_empty() || self.message == label_message {
                    format!("{}\n  --> {at}", self.message)
                } else {
                    format!("{}\n  --> {at}: {label_message}", self.message)
                };
            }
        }
    }

    fn build_excerpt(&mut self, id: SourceId, sources: &Sources, pending: Vec<Pending>) {
        let file = sources.get(id);
        let (Some(text), Some(index)) = (file.text.as_deref(), file.line_index()) else {
            return;
        };
        let spans: Vec<Range<usize>> = pending.iter().map(|p| p.span.clone()).collect();
        let (excerpt, mapped) = Excerpt::new(escape_control(&file.name).into_owned(), text, index, &spans);
        for (p, span) in pending.into_iter().zip(mapped) {
            self.labels.push(if p.primary {
                LabeledSpan::new_primary_with_span(p.message, span)
            } else {
                LabeledSpan::new_with_span(p.message, span)
            });
        }
        self.source = Some(excerpt);
    }
}

fn floor_boundary(text: &str, mut offset: usize) -> usize {
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

fn help_text(d: &Diagnostic) -> Option<String> {
    let mut parts: Vec<String> = d.help.iter().map(|h| printable(h)).collect();
    parts.extend(d.notes.iter().map(|n| format!("note: {}", printable(n))));
    (!parts.is_empty()).then(|| parts.join("\n"))
}

/// What miette is shown of a file: the lines around some labels, escaped and clipped, laid
/// end to end. Offsets into it are "excerpt offsets"; line numbers and the primary column are
/// those of the real file.
#[derive(Debug)]
struct Excerpt {
    name: String,
    text: String,
    pieces: Vec<Piece>,
    /// Excerpt offset of each label's start, with its real 0-based byte column.
    columns: Vec<(usize, usize)>,
}

/// A run of consecutive real lines in the excerpt.
#[derive(Debug)]
struct Piece {
    /// Excerpt offsets of the run.
    range: Range<usize>,
    /// The real 0-based line the run starts at.
    first_line: usize,
}

impl Excerpt {
    /// The excerpt of `text` for labels at `spans`, and each span mapped into it.
    fn new(name: String, text: &str, index: &LineIndex, spans: &[Range<usize>]) -> (Self, Vec<Range<usize>>) {
        let last_line = index.line_starts.len() - 1;
        let line_end = |line: usize| index.line_starts.get(line + 1).copied().unwrap_or(text.len());
        // Each label, shortened to its first line when it spans too many.
        let spans: Vec<Range<usize>> = spans
            .iter()
            .map(|s| {
                let (first, last) = (index.line_of(s.start), index.line_of(s.end));
                if last - first > MAX_LABEL_LINES {
                    s.start..content_end(text, index.line_starts[first], line_end(first))
                } else {
                    s.clone()
                }
            })
            .collect();
        // The runs of lines to show: each label's lines with one line of context around them.
        let mut wanted: Vec<(usize, usize)> = spans
            .iter()
            .map(|s| {
                let (first, last) = (index.line_of(s.start), index.line_of(s.end));
                (first.saturating_sub(1), (last + 1).min(last_line))
            })
            .collect();
        wanted.sort_unstable();
        let mut runs: Vec<(usize, usize)> = Vec::new();
        for (a, b) in wanted {
            match runs.last_mut() {
                Some(run) if a <= run.1 + MERGE_GAP => run.1 = run.1.max(b),
                _ => runs.push((a, b)),
            }
        }
        let mut excerpt = Excerpt {
            name,
            text: String::new(),
            pieces: Vec::new(),
            columns: Vec::new(),
        };
        let mut mapped: Vec<Range<usize>> = vec![0..0; spans.len()];
        for (first, last) in runs {
            let start = excerpt.text.len();
            for line in first..=last {
                let (from, to) = (index.line_starts[line], line_end(line));
                let content = content_end(text, from, to);
                // Offsets in this line that must be found again in the excerpt.
                let points: Vec<usize> = spans
                    .iter()
                    .flat_map(|s| [s.start, s.end])
                    .filter(|p| (from..=content).contains(p))
                    .collect();
                let map = LineMap::build(&text[from..content], from, &points, &mut excerpt.text);
                let content_at = excerpt.text.len();
                excerpt.text.push_str(&text[content..to]);
                let to_excerpt = |p: usize| {
                    if p <= content {
                        map.get(p)
                    } else {
                        content_at + (p - content)
                    }
                };
                for (i, s) in spans.iter().enumerate() {
                    if index.line_of(s.start) == line {
                        mapped[i].start = to_excerpt(s.start);
                        excerpt.columns.push((mapped[i].start, s.start - from));
                    }
                    if index.line_of(s.end) == line {
                        mapped[i].end = to_excerpt(s.end);
                    }
                }
            }
            excerpt.pieces.push(Piece {
                range: start..excerpt.text.len(),
                first_line: first,
            });
        }
        for m in &mut mapped {
            m.end = m.end.max(m.start);
        }
        (excerpt, mapped)
    }

    /// The piece that holds all of `span` (two pieces can share a boundary offset).
    fn piece_of(&self, span: &SourceSpan) -> Option<(usize, &Piece)> {
        let (start, end) = (span.offset(), span.offset() + span.len());
        let i = self.pieces.partition_point(|p| p.range.end < start);
        (i..self.pieces.len().min(i + 2))
            .map(|i| (i, &self.pieces[i]))
            .find(|(_, p)| p.range.start <= start && end <= p.range.end)
    }
}

/// The end of a line's content (before `\r\n` or `\n`).
fn content_end(text: &str, from: usize, to: usize) -> usize {
    let line = &text.as_bytes()[from..to];
    let mut end = to;
    if line.ends_with(b"\n") {
        end -= 1;
        if text.as_bytes()[from..end].ends_with(b"\r") {
            end -= 1;
        }
    }
    end
}

/// How one line was copied into the excerpt: escaped, and clipped around its points when
/// long. Maps real offsets in the line to excerpt offsets.
struct LineMap {
    /// (real offset, excerpt offset) at the start of each kept character, and of each `…`
    /// (whose real offset is the first left-out character).
    marks: Vec<(usize, usize)>,
    end: (usize, usize),
}

impl LineMap {
    /// Copies `line` (starting at real offset `base`) into `out`.
    fn build(line: &str, base: usize, points: &[usize], out: &mut String) -> Self {
        let chars: Vec<(usize, char)> = line.char_indices().collect();
        let keep: Vec<Range<usize>> = if chars.len() <= MAX_LINE_CHARS {
            std::iter::once(0..chars.len()).collect()
        } else {
            // Character windows around each point (or the line's start when it has none).
            let at = |p: usize| chars.partition_point(|(i, _)| base + *i < p);
            let mut windows: Vec<Range<usize>> = if points.is_empty() {
                std::iter::once(0..WINDOW * 2).collect()
            } else {
                points
                    .iter()
                    .map(|p| {
                        let c = at(*p);
                        c.saturating_sub(WINDOW)..(c + WINDOW).min(chars.len())
                    })
                    .collect()
            };
            windows.sort_unstable_by_key(|w| w.start);
            let mut merged: Vec<Range<usize>> = Vec::new();
            for w in windows {
                match merged.last_mut() {
                    Some(m) if w.start <= m.end => m.end = m.end.max(w.end),
                    _ => merged.push(w),
                }
            }
            merged
        };
        let mut marks = Vec::new();
        let mut next = 0;
        for window in keep {
            if window.start > next {
                marks.push((base + chars[next].0, out.len()));
                out.push('…');
            }
            for &(i, c) in &chars[window.clone()] {
                marks.push((base + i, out.len()));
                push_escaped(c, out);
            }
            next = window.end;
        }
        if next < chars.len() {
            marks.push((base + chars[next].0, out.len()));
            out.push('…');
        }
        LineMap {
            marks,
            end: (base + line.len(), out.len()),
        }
    }

    /// The excerpt offset of a real offset in the line (a left-out one maps to its `…`).
    fn get(&self, real: usize) -> usize {
        if real >= self.end.0 {
            return self.end.1;
        }
        match self.marks.partition_point(|(r, _)| *r <= real) {
            0 => self.marks.first().map_or(self.end.1, |m| m.1),
            i => self.marks[i - 1].1,
        }
    }
}

fn push_escaped(c: char, out: &mut String) {
    let mut buf = [0u8; 4];
    out.push_str(&escape_control(c.encode_utf8(&mut buf)));
}

impl SourceCode for Excerpt {
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        before: usize,
        after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, MietteError> {
        let (i, piece) = self.piece_of(span).ok_or(MietteError::OutOfBounds)?;
        let local = SourceSpan::new((span.offset() - piece.range.start).into(), span.len());
        let text = &self.text[piece.range.clone()];
        let inner = text.read_span(&local, before, after)?;
        let data: &'a [u8] = inner.data();
        let offset = piece.range.start + inner.span().offset();
        let column = match self.columns.iter().find(|(at, _)| *at == span.offset()) {
            Some((_, real)) if before == 0 => *real,
            _ => inner.column(),
        };
        // miette joins two excerpts when the first "reaches" the second's line; never across
        // pieces, whose text is not contiguous.
        let mut line_count = piece.first_line + inner.line_count();
        if let Some(next) = self.pieces.get(i + 1) {
            let line = piece.first_line + inner.line();
            line_count = line_count.min(next.first_line.saturating_sub(line + 1));
        }
        Ok(Box::new(MietteSpanContents::new_named(
            self.name.clone(),
            data,
            SourceSpan::new(offset.into(), data.len()),
            piece.first_line + inner.line(),
            column,
            line_count,
        )))
    }
}

impl fmt::Display for Adapter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Adapter {}

impl miette::Diagnostic for Adapter {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        (!self.code.is_empty()).then(|| Box::new(&self.code) as Box<dyn fmt::Display>)
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(self.severity)
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help.as_ref().map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        self.source.as_ref().map(|s| s as &dyn SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        (!self.labels.is_empty()).then(|| Box::new(self.labels.iter().cloned()) as Box<dyn Iterator<Item = _>>)
    }

    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn miette::Diagnostic> + 'a>> {
        (!self.related.is_empty())
            .then(|| Box::new(self.related.iter().map(|r| r as &dyn miette::Diagnostic)) as Box<dyn Iterator<Item = _>>)
    }
}
