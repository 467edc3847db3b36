//! Human output: each diagnostic rendered by miette with its source excerpt, labels, help and
//! notes. Labels in another file (the component for a manifest finding, a policy rule) are shown
//! as related reports of their own file; labels into binaries show the byte offset.

use std::fmt;
use std::sync::Arc;

use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource, SourceCode};

use crate::diagnostics::{Diagnostic, Label, Severity, SourceId, Sources};

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

/// Renders diagnostics, one block each, in the order given.
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
    for d in diagnostics {
        let adapter = Adapter::new(d, sources);
        if handler.render_report(&mut out, &adapter).is_err() {
            out.push_str(&format!("{}[{}]: {}\n", d.severity, d.rule.code, d.message));
        }
    }
    out
}

/// One diagnostic (or one related label) in the shape miette renders.
#[derive(Debug)]
struct Adapter {
    code: String,
    severity: miette::Severity,
    message: String,
    help: Option<String>,
    source: Option<NamedSource<Arc<str>>>,
    labels: Vec<LabeledSpan>,
    related: Vec<Adapter>,
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
            message: d.message.clone(),
            help: help_text(d),
            source: None,
            labels: Vec::new(),
            related: Vec::new(),
        };
        let home = d.primary.as_ref().map(|l| l.source);
        if let Some(primary) = &d.primary {
            adapter.attach(primary, sources, true);
        }
        for label in &d.secondary {
            if Some(label.source) == home && adapter.source.is_some() {
                adapter.attach(label, sources, false);
            } else {
                adapter.related.push(Adapter::related(label, sources));
            }
        }
        adapter
    }

    /// A label in another file, shown as an advice-level report of that file.
    fn related(label: &Label, sources: &Sources) -> Self {
        let mut adapter = Adapter {
            code: String::new(),
            severity: miette::Severity::Advice,
            message: label.message.clone(),
            help: None,
            source: None,
            labels: Vec::new(),
            related: Vec::new(),
        };
        adapter.attach(label, sources, true);
        adapter
    }

    /// Adds a label: a span in a text file, or a byte offset line for a binary.
    fn attach(&mut self, label: &Label, sources: &Sources, primary: bool) {
        let file = sources.get(label.source);
        match &file.text {
            Some(text) => {
                if self.source.is_none() {
                    self.source = Some(source_of(label.source, sources, text));
                }
                let len = text.len();
                let start = label.span.start.min(len);
                let end = label.span.end.clamp(start, len);
                let message = (!label.message.is_empty()).then(|| label.message.clone());
                self.labels.push(if primary {
                    LabeledSpan::new_primary_with_span(message, start..end)
                } else {
                    LabeledSpan::new_with_span(message, start..end)
                });
            }
            None => {
                let at = format!("{} at byte offset {:#x}", file.name, label.span.start);
                self.message = if label.message.is_empty() || self.message == label.message {
                    format!("{}\n  --> {at}", self.message)
                } else {
                    format!("{}\n  --> {at}: {}", self.message, label.message)
                };
            }
        }
    }
}

fn source_of(id: SourceId, sources: &Sources, text: &Arc<str>) -> NamedSource<Arc<str>> {
    NamedSource::new(&sources.get(id).name, Arc::clone(text))
}

fn help_text(d: &Diagnostic) -> Option<String> {
    let mut parts: Vec<String> = d.help.iter().cloned().collect();
    parts.extend(d.notes.iter().map(|n| format!("note: {n}")));
    (!parts.is_empty()).then(|| parts.join("\n"))
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
