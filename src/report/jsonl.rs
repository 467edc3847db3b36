//! `check --format jsonl`: one JSON document per line, so that the shards of a batch can be
//! written by separate processes and merged into exactly what one process prints
//! ([`merge`]). The documents are described in `docs/json-output.md`.
//!
//! A stream is: one `run` document (what was checked, and the shard), one `manifest` document
//! per manifest (sorted by file), one `component` document per component (in the order the
//! components were given, by `index`), one `batch` document per finding about the batch as a
//! whole (a waiver expired or used by no component), and a `summary`. Inside a document,
//! diagnostics are in the order of every report (file, offset, code, message).

use std::collections::HashSet;
use std::io::{BufRead, Write};
use std::path::PathBuf;

use serde::Serialize;
use serde_json::Value;

use super::json::{JsonDiagnostic, SCHEMA_VERSION, Tool};
use crate::check::{Origin, Report};
use crate::diagnostics::{Counts, Diagnostic, Levels, Severity};
use crate::digest::Shard;

/// The longest line [`merge`] reads.
pub const MAX_LINE_BYTES: usize = 64 * 1024 * 1024;

/// What the `run` document says about the run.
#[derive(Clone, Debug)]
pub struct Run {
    /// How many components were given (all shards together).
    pub inputs: usize,
    /// Everything that decides the batch's findings: the inputs, manifests option, policies,
    /// catalogue, levels, date, in hexadecimal. Shards of one batch have the same.
    pub batch: String,
    pub shard: Option<Shard>,
}

#[derive(Serialize)]
struct RunDoc {
    version: u32,
    #[serde(rename = "type")]
    ty: &'static str,
    tool: Tool,
    inputs: usize,
    batch: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    shard: Option<ShardDoc>,
}

#[derive(Serialize)]
struct ShardDoc {
    index: u32,
    count: u32,
}

#[derive(Serialize)]
struct ManifestDoc<'a> {
    version: u32,
    #[serde(rename = "type")]
    ty: &'static str,
    file: String,
    diagnostics: Vec<JsonDiagnostic<'a>>,
}

#[derive(Serialize)]
struct ComponentDoc<'a> {
    version: u32,
    #[serde(rename = "type")]
    ty: &'static str,
    index: usize,
    file: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    kind: Option<crate::analyze::ComponentKind>,
    diagnostics: Vec<JsonDiagnostic<'a>>,
}

#[derive(Serialize)]
struct BatchDoc<'a> {
    version: u32,
    #[serde(rename = "type")]
    ty: &'static str,
    diagnostic: JsonDiagnostic<'a>,
}

#[derive(Serialize)]
struct SummaryDoc {
    version: u32,
    #[serde(rename = "type")]
    ty: &'static str,
    components: usize,
    #[serde(flatten)]
    counts: Counts,
}

fn line<T: Serialize>(doc: &T) -> String {
    let mut s = serde_json::to_string(doc).expect("report types always serialize");
    s.push('\n');
    s
}

fn run_line(run: &Run) -> String {
    line(&RunDoc {
        version: SCHEMA_VERSION,
        ty: "run",
        tool: Tool::this(),
        inputs: run.inputs,
        batch: run.batch.clone(),
        shard: run.shard.map(|s| ShardDoc {
            index: s.index,
            count: s.count,
        }),
    })
}

fn summary_line(components: usize, counts: Counts) -> String {
    line(&SummaryDoc {
        version: SCHEMA_VERSION,
        ty: "summary",
        components,
        counts,
    })
}

/// The stream of a checked batch, with `levels` applied; also the counts of what it reports.
pub fn render(report: &Report, levels: &Levels, run: &Run) -> (String, Counts) {
    let mut by_manifest: Vec<Vec<&Diagnostic>> = vec![Vec::new(); report.manifests.len()];
    let mut by_component: Vec<Vec<&Diagnostic>> = vec![Vec::new(); report.components.len()];
    let mut batch = Vec::new();
    let mut kept = Vec::new();
    for (d, origin) in report.diagnostics.iter().zip(&report.origins) {
        let Some(severity) = levels.apply(d.rule, d.severity) else {
            continue;
        };
        let d = Diagnostic { severity, ..d.clone() };
        kept.push((d, *origin));
    }
    for (d, origin) in &kept {
        match origin {
            Origin::Manifest(i) => by_manifest[*i].push(d),
            Origin::Component(i) => by_component[*i].push(d),
            Origin::Batch => batch.push(d),
        }
    }
    let mut out = run_line(run);
    let mut manifests: Vec<(String, &Vec<&Diagnostic>)> = report
        .manifests
        .iter()
        .map(|p| p.display().to_string())
        .zip(&by_manifest)
        .collect();
    manifests.sort_by(|a, b| a.0.cmp(&b.0));
    for (file, ds) in manifests {
        out.push_str(&line(&ManifestDoc {
            version: SCHEMA_VERSION,
            ty: "manifest",
            file,
            diagnostics: to_json(ds, &report.sources),
        }));
    }
    for (k, ds) in by_component.iter().enumerate() {
        out.push_str(&line(&ComponentDoc {
            version: SCHEMA_VERSION,
            ty: "component",
            index: report.indices[k],
            file: report.components[k].display().to_string(),
            kind: report.kinds[k],
            diagnostics: to_json(ds, &report.sources),
        }));
    }
    for d in batch {
        out.push_str(&line(&BatchDoc {
            version: SCHEMA_VERSION,
            ty: "batch",
            diagnostic: JsonDiagnostic::new(d, &report.sources),
        }));
    }
    let mut counts = Counts::default();
    for (d, _) in &kept {
        counts.add(d);
    }
    out.push_str(&summary_line(report.components.len(), counts));
    (out, counts)
}

fn to_json<'d>(diagnostics: &[&'d Diagnostic], sources: &'d crate::diagnostics::Sources) -> Vec<JsonDiagnostic<'d>> {
    diagnostics.iter().map(|d| JsonDiagnostic::new(d, sources)).collect()
}

/// One input of [`merge`]: its name (for messages) and its lines.
pub struct Input {
    pub path: PathBuf,
    pub reader: Box<dyn BufRead>,
}

/// The sections of a stream, in the order they come.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Section {
    Run,
    Manifest,
    Component,
    Batch,
    Summary,
}

/// One document of an input, as the merge needs it.
struct Doc {
    section: Section,
    /// The file of a manifest document, the index of a component document.
    key: Key,
    line: String,
    value: Value,
    line_no: usize,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Key {
    None,
    File(String),
    Index(u64),
}

/// An input being read: its next document, and what it has reported so far (to be compared
/// with its own summary).
struct Cursor {
    path: PathBuf,
    reader: Box<dyn BufRead>,
    line_no: usize,
    next: Option<Doc>,
    last: Option<(Section, Key)>,
    counts: Counts,
    components: usize,
}

impl Cursor {
    fn error(&self, line: usize, message: impl Into<String>) -> crate::Error {
        crate::ErrorKind::Merge {
            path: self.path.clone(),
            line,
            message: message.into(),
        }
        .into()
    }

    /// Reads the next document into `next` (`None` at the end of the input), checking that it
    /// comes after the one before.
    fn advance(&mut self) -> crate::Result<()> {
        self.next = None;
        let mut buf = Vec::new();
        let n = std::io::Read::take(&mut self.reader, MAX_LINE_BYTES as u64 + 1)
            .read_until(b'\n', &mut buf)
            .map_err(|e| crate::Error::read(&self.path, e))?;
        if n == 0 {
            return Ok(());
        }
        self.line_no += 1;
        if buf.len() > MAX_LINE_BYTES {
            return Err(self.error(
                self.line_no,
                format!("a line over {MAX_LINE_BYTES} bytes; give the files `check --format jsonl` wrote"),
            ));
        }
        let doc = self.parse(buf)?;
        if let Some((section, key)) = &self.last {
            if *section == Section::Summary {
                return Err(self.error(
                    doc.line_no,
                    "a document after the summary; give each shard's output as its own file",
                ));
            }
            let after = doc.section > *section
                || (doc.section == *section && (doc.section == Section::Batch || doc.key > *key));
            if !after {
                return Err(self.error(
                    doc.line_no,
                    "out of order (check --format jsonl writes the run, the manifests by file, the components by index, the batch findings, the summary); merge the files check wrote, unedited",
                ));
            }
        }
        if matches!(doc.section, Section::Manifest | Section::Component | Section::Batch) {
            self.counts.merge(severities(&doc.value));
        }
        if doc.section == Section::Component {
            self.components += 1;
        }
        self.last = Some((doc.section, doc.key.clone()));
        self.next = Some(doc);
        Ok(())
    }

    fn parse(&self, mut buf: Vec<u8>) -> crate::Result<Doc> {
        if buf.last() == Some(&b'\n') {
            buf.pop();
        }
        let line = String::from_utf8(buf).map_err(|_| self.error(self.line_no, "not UTF-8 text"))?;
        let value: Value = serde_json::from_str(&line).map_err(|e| {
            self.error(
                self.line_no,
                format!("not a JSON document ({e}); was the file cut short?"),
            )
        })?;
        if value["version"] != SCHEMA_VERSION {
            return Err(self.error(
                self.line_no,
                format!(
                    "a document of version {} (this airssys-wasm reads version {SCHEMA_VERSION}); merge with the version that wrote it",
                    value["version"]
                ),
            ));
        }
        let (section, key) = match value["type"].as_str() {
            Some("run") => (Section::Run, Key::None),
            Some("manifest") => (
                Section::Manifest,
                Key::File(self.field(&value, "file", Value::as_str)?.to_string()),
            ),
            Some("component") => (
                Section::Component,
                Key::Index(self.field(&value, "index", Value::as_u64)?),
            ),
            Some("batch") => (Section::Batch, Key::None),
            Some("summary") => (Section::Summary, Key::None),
            other => return Err(self.error(self.line_no, format!("an unknown document type {other:?}"))),
        };
        Ok(Doc {
            section,
            key,
            line,
            value,
            line_no: self.line_no,
        })
    }

    fn field<'v, T>(&self, value: &'v Value, field: &str, get: impl Fn(&'v Value) -> Option<T>) -> crate::Result<T> {
        get(&value[field]).ok_or_else(|| self.error(self.line_no, format!("a document without a valid `{field}`")))
    }

    /// Takes the next document when it is in `section`.
    fn take_in(&mut self, section: Section) -> crate::Result<Option<Doc>> {
        if self.next.as_ref().is_none_or(|d| d.section != section) {
            return Ok(None);
        }
        let doc = self.next.take();
        self.advance()?;
        Ok(doc)
    }
}

/// The counts of the diagnostics in a document.
fn severities(value: &Value) -> Counts {
    let mut counts = Counts::default();
    let one = std::slice::from_ref(&value["diagnostic"]);
    let all = value["diagnostics"].as_array().map_or(one, Vec::as_slice);
    for d in all {
        // A waived finding carries its waiver, and counts as waived, whatever its severity.
        if !d["waiver"].is_null() {
            counts.waived += 1;
            continue;
        }
        match d["severity"].as_str() {
            Some("error") => counts.add_severity(Severity::Error),
            Some("warning") => counts.add_severity(Severity::Warning),
            Some("note") => counts.add_severity(Severity::Note),
            _ => {}
        }
    }
    counts
}

fn write(out: &mut dyn Write, s: &str) -> crate::Result<()> {
    out.write_all(s.as_bytes()).map_err(|e| {
        crate::ErrorKind::Merge {
            path: "the output".into(),
            line: 0,
            message: format!("cannot write: {e}"),
        }
        .into()
    })
}

/// Merges the outputs of the shards of one batch (`check --shard I/N --format jsonl`, every
/// `I` from 1 to `N` once, in any order) into what `check --format jsonl` of the whole batch
/// prints, written to `out` as it is read (memory stays bounded by the batch findings and one
/// document per input). Returns the counts of the merged stream.
///
/// # Errors
/// An input cannot be read, is not a complete jsonl stream, or the inputs are not the shards of
/// one batch; the error names the file, the line and what to do. Output written before an error
/// is incomplete.
pub fn merge(inputs: Vec<Input>, out: &mut dyn Write) -> crate::Result<Counts> {
    let mut cursors = Vec::with_capacity(inputs.len());
    for input in inputs {
        let mut c = Cursor {
            path: input.path,
            reader: input.reader,
            line_no: 0,
            next: None,
            last: None,
            counts: Counts::default(),
            components: 0,
        };
        c.advance()?;
        cursors.push(c);
    }
    let run = check_runs(&mut cursors)?;
    write(out, &run_line(&run))?;
    let mut counts = merge_keyed(&mut cursors, Section::Manifest, run.inputs, out)?;
    counts.merge(merge_keyed(&mut cursors, Section::Component, run.inputs, out)?);
    for batch in common_batch(&mut cursors)? {
        counts.merge(severities(&batch.value));
        write(out, &batch.line)?;
        write(out, "\n")?;
    }
    let mut components = 0;
    for c in &mut cursors {
        check_summary(c)?;
        components += c.components;
    }
    write(out, &summary_line(components, counts))?;
    Ok(counts)
}

/// Reads every input's `run` document: the same tool and batch, and the shards 1 to N of N
/// once each (or one unsharded run). Returns the merged run (no shard).
fn check_runs(cursors: &mut [Cursor]) -> crate::Result<Run> {
    let mut runs = Vec::with_capacity(cursors.len());
    for c in cursors.iter_mut() {
        let Some(doc) = c.take_in(Section::Run)? else {
            return Err(c.error(
                c.line_no.min(1),
                "does not start with a `run` document; give the files `check --format jsonl` wrote",
            ));
        };
        let version = &doc.value["tool"]["version"];
        if version != env!("CARGO_PKG_VERSION") {
            return Err(c.error(
                doc.line_no,
                format!(
                    "written by airssys-wasm {version}, and this is {}: merge with the version that checked",
                    env!("CARGO_PKG_VERSION")
                ),
            ));
        }
        let inputs = c.field(&doc.value, "inputs", Value::as_u64)?;
        let batch = c.field(&doc.value, "batch", Value::as_str)?.to_string();
        let shard = &doc.value["shard"];
        let shard = (!shard.is_null()).then(|| (shard["index"].as_u64(), shard["count"].as_u64()));
        runs.push((inputs, batch, shard));
    }
    let n = cursors.len() as u64;
    let (inputs, batch, _) = runs[0].clone();
    let mut seen: Vec<Option<usize>> = vec![None; cursors.len()];
    for (k, (c, (i, b, shard))) in cursors.iter().zip(&runs).enumerate() {
        if *i != inputs || *b != batch {
            return Err(c.error(
                1,
                format!(
                    "checked another batch than {} (other components, manifest option, policies, catalogue, severity levels, or another day for waivers); merge the shards of one run",
                    cursors[0].path.display()
                ),
            ));
        }
        match shard {
            None if n == 1 => {}
            Some((Some(index), Some(count))) if *count == n && (1..=n).contains(index) => {
                let slot = &mut seen[(*index - 1) as usize];
                if let Some(other) = slot {
                    return Err(c.error(
                        1,
                        format!(
                            "shard {index}/{count} again (also {}); give each shard once",
                            cursors[*other].path.display()
                        ),
                    ));
                }
                *slot = Some(k);
            }
            Some((Some(index), Some(count))) => {
                return Err(c.error(
                    1,
                    format!("shard {index}/{count}, but {n} files were given: give the output of each of the {count} shards once"),
                ));
            }
            _ => {
                return Err(c.error(
                    1,
                    format!("an unsharded run, but {n} files were given: merge the outputs of `check --shard I/N`, every I from 1 to N"),
                ));
            }
        }
    }
    Ok(Run {
        inputs: inputs as usize,
        batch,
        shard: None,
    })
}

/// Writes the documents of `section` from every input in key order; a manifest that several
/// shards report is written once (and must be the same in each), a component only one shard
/// may report. Returns the counts of what was written.
fn merge_keyed(cursors: &mut [Cursor], section: Section, inputs: usize, out: &mut dyn Write) -> crate::Result<Counts> {
    use std::cmp::Reverse;
    use std::collections::BinaryHeap;
    let mut heap = BinaryHeap::new();
    for (k, c) in cursors.iter().enumerate() {
        if let Some(d) = c.next.as_ref().filter(|d| d.section == section) {
            heap.push(Reverse((d.key.clone(), k)));
        }
    }
    let mut counts = Counts::default();
    let mut written: Option<(Key, usize, usize)> = None;
    while let Some(Reverse((key, k))) = heap.pop() {
        let doc = cursors[k]
            .take_in(section)?
            .expect("the heap holds inputs whose next document is in the section");
        if let Some(d) = cursors[k].next.as_ref().filter(|d| d.section == section) {
            heap.push(Reverse((d.key.clone(), k)));
        }
        if let Key::Index(i) = key
            && i >= inputs as u64
        {
            return Err(cursors[k].error(
                doc.line_no,
                format!("component index {i}, but the run had {inputs} components"),
            ));
        }
        match &written {
            Some((last, other, line)) if *last == key => {
                if section == Section::Component {
                    return Err(cursors[k].error(
                        doc.line_no,
                        format!(
                            "component {i} again (also {}:{line}); give each shard once",
                            cursors[*other].path.display(),
                            i = doc.value["index"]
                        ),
                    ));
                }
                continue;
            }
            _ => {}
        }
        if section == Section::Manifest {
            check_same_manifest(cursors, k, &doc)?;
        }
        counts.merge(severities(&doc.value));
        write(out, &doc.line)?;
        write(out, "\n")?;
        written = Some((key, k, doc.line_no));
    }
    Ok(counts)
}

/// A manifest that other inputs also report must be reported the same way by each.
fn check_same_manifest(cursors: &[Cursor], k: usize, doc: &Doc) -> crate::Result<()> {
    for (j, c) in cursors.iter().enumerate() {
        if let Some(other) = c
            .next
            .as_ref()
            .filter(|d| j != k && d.section == Section::Manifest && d.key == doc.key)
            && other.line != doc.line
        {
            return Err(c.error(
                other.line_no,
                format!(
                    "manifest {} differs from {}:{}: the shards read different versions of it (or ran with other options); rerun them",
                    doc.value["file"],
                    cursors[k].path.display(),
                    doc.line_no
                ),
            ));
        }
    }
    Ok(())
}

/// The batch findings every input reports, in the first input's order: a waiver used by no
/// component is reported by every shard, one used somewhere is not reported by that shard.
fn common_batch(cursors: &mut [Cursor]) -> crate::Result<Vec<Doc>> {
    let mut all = Vec::with_capacity(cursors.len());
    for c in cursors.iter_mut() {
        let mut docs = Vec::new();
        while let Some(doc) = c.take_in(Section::Batch)? {
            docs.push(doc);
        }
        all.push(docs);
    }
    let mut lists = all.into_iter();
    let first = lists.next().unwrap_or_default();
    let others: Vec<HashSet<String>> = lists.map(|docs| docs.into_iter().map(|d| d.line).collect()).collect();
    Ok(first
        .into_iter()
        .filter(|d| others.iter().all(|set| set.contains(&d.line)))
        .collect())
}

/// The input ends with its summary, which agrees with what it reported.
fn check_summary(c: &mut Cursor) -> crate::Result<()> {
    let Some(doc) = c.take_in(Section::Summary)? else {
        let what = match &c.next {
            Some(d) => format!("line {}: unexpected here", d.line_no),
            None => "it ends before its summary".to_string(),
        };
        return Err(c.error(
            0,
            format!("{what}: the shard did not finish, or the file was cut short; rerun that shard"),
        ));
    };
    let said = (
        doc.value["components"].as_u64(),
        doc.value["errors"].as_u64(),
        doc.value["warnings"].as_u64(),
        doc.value["notes"].as_u64(),
    );
    let counted = (
        Some(c.components as u64),
        Some(c.counts.errors as u64),
        Some(c.counts.warnings as u64),
        Some(c.counts.notes as u64),
    );
    if said != counted {
        return Err(c.error(
            doc.line_no,
            "the summary does not match the documents before it: the file was edited or mixed with another; rerun that shard",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A valid stream: shard `index` of `count`, with one manifest, two components (indices
    /// `first` and `first + 1`) and a batch finding.
    fn stream(index: u32, count: u32, first: u64) -> String {
        let tool = format!(r#"{{"name":"airssys-wasm","version":"{}"}}"#, env!("CARGO_PKG_VERSION"));
        let d = |severity: &str| {
            format!(r#"{{"code":"CMP003","name":"unused-grant","severity":"{severity}","message":"m"}}"#)
        };
        [
            format!(r#"{{"version":1,"type":"run","tool":{tool},"inputs":8,"batch":"ab","shard":{{"index":{index},"count":{count}}}}}"#),
            format!(r#"{{"version":1,"type":"manifest","file":"a/Component.toml","diagnostics":[{}]}}"#, d("warning")),
            format!(r#"{{"version":1,"type":"component","index":{first},"file":"a/x.wasm","diagnostics":[{}]}}"#, d("error")),
            format!(r#"{{"version":1,"type":"component","index":{},"file":"a/y.wasm","diagnostics":[]}}"#, first + 1),
            format!(r#"{{"version":1,"type":"batch","diagnostic":{}}}"#, d("warning")),
            r#"{"version":1,"type":"summary","components":2,"errors":1,"warnings":2,"notes":0}"#.to_string(),
        ]
        .join("\n")
            + "\n"
    }

    fn run(texts: Vec<String>) -> crate::Result<String> {
        let inputs = texts
            .into_iter()
            .enumerate()
            .map(|(k, t)| Input {
                path: format!("shard-{k}.jsonl").into(),
                reader: Box::new(std::io::Cursor::new(t.into_bytes())),
            })
            .collect();
        let mut out = Vec::new();
        merge(inputs, &mut out)?;
        Ok(String::from_utf8(out).unwrap())
    }

    #[test]
    fn two_shards_merge_with_the_shared_manifest_once() {
        let merged = run(vec![stream(2, 2, 2), stream(1, 2, 0)]).unwrap();
        let types: Vec<&str> = merged
            .lines()
            .map(|l| l.split(r#""type":""#).nth(1).unwrap().split('"').next().unwrap())
            .collect();
        assert_eq!(
            types,
            [
                "run",
                "manifest",
                "component",
                "component",
                "component",
                "component",
                "batch",
                "summary"
            ]
        );
        assert!(
            merged.ends_with("\"components\":4,\"errors\":2,\"warnings\":2,\"notes\":0}\n"),
            "{merged}"
        );
        assert!(!merged.contains("shard"));
    }

    proptest! {
        /// Lines dropped, repeated, swapped or cut, and bytes changed: merge answers or refuses,
        /// and never panics.
        #[test]
        fn damaged_streams_are_refused_not_panicked_on(
            ops in prop::collection::vec((0u8..5, 0usize..16, any::<u8>()), 0..6),
        ) {
            let mut texts = vec![stream(1, 2, 0), stream(2, 2, 2)];
            for (op, at, byte) in ops {
                let k = at % 2;
                let mut lines: Vec<String> = texts[k].lines().map(str::to_string).collect();
                let i = at % lines.len().max(1);
                match op {
                    0 if !lines.is_empty() => { lines.remove(i); }
                    1 if !lines.is_empty() => { let l = lines[i].clone(); lines.insert(i, l); }
                    2 if lines.len() > 1 => {
                        let n = lines.len();
                        lines.swap(i, (i + 1) % n);
                    }
                    3 => { let t = lines.join("\n"); let cut = (byte as usize * t.len()) / 256; lines = vec![t[..t.floor_char_boundary(cut)].to_string()]; }
                    _ if !lines.is_empty() => { let mut b = lines[i].clone().into_bytes(); let j = byte as usize % b.len().max(1); if j < b.len() { b[j] = byte; } lines[i] = String::from_utf8_lossy(&b).into_owned(); }
                    _ => {}
                }
                texts[k] = lines.join("\n") + "\n";
            }
            let _ = run(texts);
        }

        #[test]
        fn arbitrary_bytes_are_refused_not_panicked_on(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
            let inputs = vec![Input { path: "x".into(), reader: Box::new(std::io::Cursor::new(bytes)) }];
            prop_assert!(merge(inputs, &mut Vec::new()).is_err());
        }
    }
}
