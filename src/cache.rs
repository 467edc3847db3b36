//! The result cache of `check --cache DIR`: one component's findings, stored under a key that
//! covers everything that decides them, so that re-auditing what did not change is a lookup.
//!
//! The key ([`Cache::key`]) hashes the tool's version, the catalogue, the policy files, the
//! accepted kinds, the component's bytes and name, and its manifest's name and text. The value
//! is what the analysis of one component produced before waivers and severity levels are
//! applied (those are applied to cached and fresh findings alike, in batch order), with each
//! label naming its file by role: the component, its manifest, or a policy file by name.
//!
//! Entries live at `DIR/v1/<first two hex digits>/<key>.json`. Each is written to a temporary
//! file in the same directory and renamed into place, so processes sharing the directory see
//! a whole entry or none. An entry that does not parse, names another key, points outside its
//! files or is too large is counted as corrupt, recomputed and replaced.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde::{Deserialize, Serialize};

use crate::analyze::ComponentKind;
use crate::diagnostics::{Diagnostic, Label, Severity, SourceId, Sources, registry};
use crate::digest::{Digest, Hasher};
use crate::orgpolicy::Finding;

/// The largest entry read or written: a component with that many findings is analysed again.
pub const MAX_ENTRY_BYTES: usize = 16 * 1024 * 1024;

/// The layout version: entries of another layout are never read.
const LAYOUT: &str = "v1";

/// A cache directory, shared by the threads of a run (and by concurrent runs).
#[derive(Debug)]
pub struct Cache {
    dir: PathBuf,
    hits: AtomicUsize,
    analysed: AtomicUsize,
    corrupt: AtomicUsize,
    unstored: AtomicUsize,
    write_error: Mutex<Option<String>>,
    temp: AtomicUsize,
}

/// What the cache did in a run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// Components whose findings were read from the cache (not analysed).
    pub hits: usize,
    /// Components analysed (no entry, or a corrupt one).
    pub analysed: usize,
    /// Entries that were present but unusable, and were recomputed.
    pub corrupt: usize,
    /// Results that could not be stored (too large, or a write failed).
    pub unstored: usize,
    /// The first write failure, with the file.
    pub write_error: Option<String>,
}

/// What the analysis of one component produced, before waivers and levels.
#[derive(Clone, Debug)]
pub(crate) struct Analysed {
    pub diagnostics: Vec<Diagnostic>,
    /// The raw policy findings about its imports and kind (`None` without a manifest or
    /// without policies).
    pub policy: Option<Vec<Finding>>,
    pub kind: Option<ComponentKind>,
}

/// How the files a component's labels point into are found again.
pub(crate) struct Places<'a> {
    pub sources: &'a Sources,
    pub component: SourceId,
    /// The component's size, which its labels must stay within.
    pub component_len: usize,
    pub manifest: Option<SourceId>,
    /// The policy files, by name.
    pub policies: &'a HashMap<String, SourceId>,
}

impl Cache {
    /// Opens (creating it when needed) a cache directory.
    ///
    /// # Errors
    /// The directory cannot be created.
    pub fn open(dir: &Path) -> crate::Result<Self> {
        let layout = dir.join(LAYOUT);
        std::fs::create_dir_all(&layout).map_err(|source| crate::ErrorKind::Cache {
            path: dir.to_path_buf(),
            source,
        })?;
        Ok(Cache {
            dir: layout,
            hits: AtomicUsize::new(0),
            analysed: AtomicUsize::new(0),
            corrupt: AtomicUsize::new(0),
            unstored: AtomicUsize::new(0),
            write_error: Mutex::new(None),
            temp: AtomicUsize::new(0),
        })
    }

    /// The counts so far.
    pub fn stats(&self) -> CacheStats {
        CacheStats {
            hits: self.hits.load(Ordering::Relaxed),
            analysed: self.analysed.load(Ordering::Relaxed),
            corrupt: self.corrupt.load(Ordering::Relaxed),
            unstored: self.unstored.load(Ordering::Relaxed),
            write_error: self.write_error.lock().map_or(None, |e| e.clone()),
        }
    }

    /// The key of one component: `context` (tool, catalogue, policies, kinds), the component's
    /// name and bytes, and its manifest's name and text (`None`: no manifest; no text: a
    /// manifest that did not parse, which the analysis does not read).
    pub(crate) fn key(
        context: &Digest,
        component: &str,
        bytes: &Digest,
        manifest: Option<(impl AsRef<str>, Option<&str>)>,
    ) -> Digest {
        let mut h = Hasher::new();
        h.field(context.0).field(component).field(bytes.0);
        match manifest {
            None => h.field("no manifest"),
            Some((name, None)) => h.field("unparsed manifest").field(name.as_ref()),
            Some((name, Some(text))) => h.field("manifest").field(name.as_ref()).field(text),
        };
        h.finish()
    }

    fn path(&self, key: &Digest) -> PathBuf {
        let hex = key.hex();
        self.dir.join(&hex[..2]).join(format!("{hex}.json"))
    }

    /// The stored result, or `None` (counted as a miss: the caller analyses and stores).
    pub(crate) fn get(&self, key: &Digest, places: &Places<'_>) -> Option<Analysed> {
        let path = self.path(key);
        let found = match crate::bounded::read(&path, MAX_ENTRY_BYTES) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Ok(crate::bounded::Bounded::Bytes(bytes)) => Some(decode(&bytes, key, places)),
            _ => Some(None),
        };
        match found {
            Some(Some(value)) => {
                self.hits.fetch_add(1, Ordering::Relaxed);
                return Some(value);
            }
            Some(None) => {
                self.corrupt.fetch_add(1, Ordering::Relaxed);
            }
            None => {}
        }
        self.analysed.fetch_add(1, Ordering::Relaxed);
        None
    }

    /// Stores a result: written to a temporary file beside the entry, then renamed over it.
    pub(crate) fn put(&self, key: &Digest, value: &Analysed, places: &Places<'_>) {
        let Some(bytes) = encode(key, value, places).filter(|b| b.len() <= MAX_ENTRY_BYTES) else {
            self.unstored.fetch_add(1, Ordering::Relaxed);
            return;
        };
        let path = self.path(key);
        if let Err(e) = self.write_atomically(&path, &bytes) {
            self.unstored.fetch_add(1, Ordering::Relaxed);
            if let Ok(mut first) = self.write_error.lock() {
                first.get_or_insert_with(|| format!("cannot write {}: {e}", path.display()));
            }
        }
    }

    fn write_atomically(&self, path: &Path, bytes: &[u8]) -> std::io::Result<()> {
        let dir = path.parent().unwrap_or(&self.dir);
        let n = self.temp.fetch_add(1, Ordering::Relaxed);
        let temp = dir.join(format!(".tmp-{}-{n}", std::process::id()));
        // The fan-out directory is made when the first write into it finds it missing, not
        // looked up before every write.
        let written = match std::fs::write(&temp, bytes) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                std::fs::create_dir_all(dir).and_then(|()| std::fs::write(&temp, bytes))
            }
            other => other,
        }
        .and_then(|()| std::fs::rename(&temp, path));
        if written.is_err() {
            let _ = std::fs::remove_file(&temp);
        }
        written
    }
}

/// An entry as stored.
#[derive(Serialize, Deserialize)]
struct Entry {
    key: String,
    kind: Option<String>,
    diagnostics: Vec<StoredDiagnostic>,
    policy: Option<Vec<StoredFinding>>,
}

#[derive(Serialize, Deserialize)]
struct StoredFinding {
    diagnostic: StoredDiagnostic,
    operation: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct StoredDiagnostic {
    code: String,
    severity: String,
    message: String,
    primary: Option<StoredLabel>,
    secondary: Vec<StoredLabel>,
    help: Option<String>,
    notes: Vec<String>,
}

#[derive(Serialize, Deserialize)]
struct StoredLabel {
    file: Place,
    start: usize,
    end: usize,
    message: String,
}

/// The file a label points into, by its role in the check.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Place {
    Component,
    Manifest,
    Policy(String),
}

fn encode(key: &Digest, value: &Analysed, places: &Places<'_>) -> Option<Vec<u8>> {
    let entry = Entry {
        key: key.hex(),
        kind: value.kind.map(|k| k.as_str().to_string()),
        diagnostics: value
            .diagnostics
            .iter()
            .map(|d| store_diagnostic(d, places))
            .collect::<Option<_>>()?,
        policy: match &value.policy {
            None => None,
            Some(found) => Some(
                found
                    .iter()
                    .map(|f| {
                        Some(StoredFinding {
                            diagnostic: store_diagnostic(&f.diagnostic, places)?,
                            operation: f.operation.clone(),
                        })
                    })
                    .collect::<Option<_>>()?,
            ),
        },
    };
    serde_json::to_vec(&entry).ok()
}

fn store_diagnostic(d: &Diagnostic, places: &Places<'_>) -> Option<StoredDiagnostic> {
    Some(StoredDiagnostic {
        code: d.rule.code.to_string(),
        severity: d.severity.as_str().to_string(),
        message: d.message.clone(),
        primary: match &d.primary {
            Some(l) => Some(store_label(l, places)?),
            None => None,
        },
        secondary: d
            .secondary
            .iter()
            .map(|l| store_label(l, places))
            .collect::<Option<_>>()?,
        help: d.help.clone(),
        notes: d.notes.clone(),
    })
}

/// A label by role; `None` when it points into a file the cache cannot find again.
fn store_label(l: &Label, places: &Places<'_>) -> Option<StoredLabel> {
    let file = if l.source == places.component {
        Place::Component
    } else if Some(l.source) == places.manifest {
        Place::Manifest
    } else {
        let name = &places.sources.get(l.source).name;
        (places.policies.get(name) == Some(&l.source)).then(|| Place::Policy(name.clone()))?
    };
    Some(StoredLabel {
        file,
        start: l.span.start,
        end: l.span.end,
        message: l.message.clone(),
    })
}

fn decode(bytes: &[u8], key: &Digest, places: &Places<'_>) -> Option<Analysed> {
    let entry: Entry = serde_json::from_slice(bytes).ok()?;
    if entry.key != key.hex() {
        return None;
    }
    let kind = match entry.kind {
        None => None,
        Some(k) => Some(ComponentKind::parse(&k)?),
    };
    let diagnostics = entry
        .diagnostics
        .into_iter()
        .map(|d| load_diagnostic(d, places))
        .collect::<Option<_>>()?;
    let policy = match entry.policy {
        None => None,
        Some(found) => Some(
            found
                .into_iter()
                .map(|f| {
                    Some(Finding {
                        diagnostic: load_diagnostic(f.diagnostic, places)?,
                        operation: f.operation,
                    })
                })
                .collect::<Option<_>>()?,
        ),
    };
    Some(Analysed {
        diagnostics,
        policy,
        kind,
    })
}

fn load_diagnostic(d: StoredDiagnostic, places: &Places<'_>) -> Option<Diagnostic> {
    let rule = registry::lookup(&d.code).filter(|r| r.code == d.code)?;
    let severity = match d.severity.as_str() {
        "note" => Severity::Note,
        "warning" => Severity::Warning,
        "error" => Severity::Error,
        _ => return None,
    };
    Some(Diagnostic {
        rule,
        severity,
        message: d.message,
        primary: match d.primary {
            Some(l) => Some(load_label(l, places)?),
            None => None,
        },
        secondary: d
            .secondary
            .into_iter()
            .map(|l| load_label(l, places))
            .collect::<Option<_>>()?,
        help: d.help,
        notes: d.notes,
        // Stored before waivers, which every run applies afresh.
        waived: None,
    })
}

/// The label again; `None` when its file is not part of this check or its span lies outside it.
fn load_label(l: StoredLabel, places: &Places<'_>) -> Option<Label> {
    let source = match &l.file {
        Place::Component => places.component,
        Place::Manifest => places.manifest?,
        Place::Policy(name) => *places.policies.get(name)?,
    };
    let len = match places.sources.get(source).text.as_deref() {
        Some(text) => text.len(),
        None => places.component_len,
    };
    // A label may name the byte just past the end (an empty span, or "here" at end of file).
    (l.start <= l.end && l.end <= len + 1).then_some(Label {
        source,
        span: l.start..l.end,
        message: l.message,
    })
}
