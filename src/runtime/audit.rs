//! The audit log: one JSON line per decision the runtime makes, written before the operation
//! takes effect, between a `start` line for each component loaded and an `end` line when the
//! host finishes (the line format, version [`FORMAT`], is documented in `docs/runtime.md`).
//! Lines are written whole under a lock, so several instances (and threads) can share one log
//! without interleaving.
//!
//! [`Trail`] is what one instance's guard keeps of its run besides the log: the run id, the
//! lifecycle phase the instance is in, the verdicts counted for the `end` line, and the
//! [`Observer`] (if any) that is shown every decision, such as `run --learn`'s collector.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, Write};
use std::path::Path;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;
use serde::ser::SerializeStruct as _;

use crate::learn::Observation;
use crate::orgpolicy::{Date, EffectiveDecision, OwnedRequest};
use crate::policy::Request;

/// The version of the line format, written in every line as `format`. Version 1 (lines
/// without `format`) had only the decision lines' first seven fields; version 2 adds the run
/// id, the phase, the symbolic-link mark and the `start` and `end` lines. Fields are only ever
/// added within a version.
pub const FORMAT: u32 = 2;

/// Whether denials are enforced or only reported.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// A denied operation returns `permission-denied` and has no effect.
    #[default]
    Enforce,
    /// A request that would be denied is let through and logged as `would-deny`. Every line of
    /// a report-only log says so, so that nobody mistakes it for an enforced run.
    ReportOnly,
    /// No decision and no audit line: every operation goes through. Only for measuring what
    /// the guard costs (the benchmarks); the `run` command never uses it.
    Unguarded,
}

/// The verdict written in a line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    Allowed,
    Denied,
    /// Report-only mode: the request would have been denied but went through.
    WouldDeny,
}

/// The lifecycle phase an instance is in when a decision is made: the export the host is
/// calling, or `load` while it is instantiated (and before its first call).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Phase {
    /// Instantiation, and anything before the first export call.
    #[default]
    Load,
    /// `component-lifecycle.init`.
    Init,
    /// `component-lifecycle.execute` (the call `run` makes, and the requests other components
    /// queue with `send-request`).
    Execute,
    /// `component-lifecycle.handle-message`.
    HandleMessage,
    /// `component-lifecycle.handle-callback`.
    HandleCallback,
    /// `component-lifecycle.shutdown`.
    Shutdown,
    /// A WASI command's `wasi:cli/run`.
    Run,
}

impl Phase {
    /// The phase as lines name it (`handle-message`).
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Load => "load",
            Phase::Init => "init",
            Phase::Execute => "execute",
            Phase::HandleMessage => "handle-message",
            Phase::HandleCallback => "handle-callback",
            Phase::Shutdown => "shutdown",
            Phase::Run => "run",
        }
    }

    const ALL: [Phase; 7] = [
        Phase::Load,
        Phase::Init,
        Phase::Execute,
        Phase::HandleMessage,
        Phase::HandleCallback,
        Phase::Shutdown,
        Phase::Run,
    ];
}

/// One decision line of the log.
#[derive(Clone, Debug)]
pub struct Record<'a> {
    /// RFC 3339 UTC time with milliseconds.
    pub time: String,
    /// The component's name (its manifest's `[component] name`).
    pub component: &'a str,
    /// `interface.function`, for example `filesystem.open`.
    pub operation: &'a str,
    /// What was asked for, for example `filesystem:read /data/in.csv`.
    pub resource: &'a str,
    pub verdict: Verdict,
    /// The manifest grant, policy rule or handle that decided, or why nothing allowed it.
    pub by: &'a str,
    pub mode: Mode,
    /// The lifecycle phase the instance was in.
    pub phase: Phase,
    /// When the request is where a symbolic link led (a hop the host resolved and decided
    /// again): the link's path.
    pub via_symlink: Option<&'a str>,
    /// The run the decision belongs to ([`Trail::run`]).
    pub run: &'a str,
}

/// A decision line: the seven fields of format 1 first, in their order, then format 2's.
impl Serialize for Record<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut line = serializer.serialize_struct("Record", 12)?;
        line.serialize_field("time", &self.time)?;
        line.serialize_field("component", self.component)?;
        line.serialize_field("operation", self.operation)?;
        line.serialize_field("resource", self.resource)?;
        line.serialize_field("verdict", &self.verdict)?;
        line.serialize_field("by", self.by)?;
        line.serialize_field("mode", &self.mode)?;
        line.serialize_field("phase", &self.phase)?;
        match self.via_symlink {
            Some(link) => line.serialize_field("via_symlink", link)?,
            None => line.skip_field("via_symlink")?,
        }
        line.serialize_field("run", self.run)?;
        line.serialize_field("record", "decision")?;
        line.serialize_field("format", &FORMAT)?;
        line.end()
    }
}

/// The `start` line of a component: written when it is loaded, before it is instantiated.
#[derive(Clone, Debug, Serialize)]
pub struct Start<'a> {
    pub time: String,
    pub run: &'a str,
    /// The component's name (its manifest's `[component] name`).
    pub component: &'a str,
    /// Its manifest's `[component] version` (`null` only for a manifest built without one).
    pub version: Option<String>,
    /// SHA-256 (lowercase hexadecimal) of the component's bytes as they were compiled.
    pub digest: String,
    pub mode: Mode,
    /// The organisation policies in force, in the order they apply.
    pub policies: &'a [PolicyInForce],
}

/// A policy file in force: its name (`builtin:default`, or the file as given) and the SHA-256
/// of its text.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PolicyInForce {
    pub name: String,
    pub digest: String,
}

/// The `end` line of a component: written when its host finishes the run.
#[derive(Clone, Debug, Serialize)]
pub struct End<'a> {
    pub time: String,
    pub run: &'a str,
    pub component: &'a str,
    /// Every line says the mode, so that a report-only log is never taken for an enforced one.
    pub mode: Mode,
    /// The decision lines written for this component, by verdict.
    pub counts: Counts,
    /// `ok` when every call returned without an error, `failed` otherwise, `not-loaded` when it
    /// could not be instantiated.
    pub outcome: &'a str,
    /// What failed first, when something did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<&'a str>,
    /// The exit code of the run, when the host's caller gives one (`run` does).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exit: Option<i32>,
}

/// Decision lines by verdict.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub allowed: u64,
    pub denied: u64,
    #[serde(rename = "would-deny")]
    pub would_deny: u64,
}

/// A `start` or `end` line: its body, then what kind of line it is and the format.
#[derive(Serialize)]
struct Tagged<'t, T> {
    #[serde(flatten)]
    body: &'t T,
    record: &'static str,
    format: u32,
}

/// A decision as an [`Observer`] sees it: the request with its real arguments and what the
/// decision said, whatever the mode let through.
#[derive(Clone, Copy, Debug)]
pub struct Observed<'a> {
    pub component: &'a str,
    pub operation: &'a str,
    pub request: &'a Request<'a>,
    pub decision: &'a EffectiveDecision,
    /// The symbolic link that led to the request, when it is a hop.
    pub via_symlink: Option<&'a str>,
}

/// Shown every decision of the guard's `authorize` (every request decided
/// against the manifest and the policies; not the host's own rules or handle checks), in every
/// mode but unguarded, whether or not an audit log is written. `run --learn` collects them.
pub trait Observer: Send + Sync + std::fmt::Debug {
    fn observe(&self, decision: &Observed<'_>);
}

/// An [`Observer`] that keeps each distinct request of a run, per component, with the policy
/// rule that denies it if one does: what `run --learn` learns from. It keeps at most
/// [`Collector::MAX`] requests; past that it counts those it leaves out
/// ([`Collector::left_out`]).
#[derive(Debug, Default)]
pub struct Collector {
    state: Mutex<Collected>,
}

#[derive(Debug, Default)]
struct Collected {
    /// Each (component, observation), with the order it was first seen in.
    seen: HashMap<(String, Observation), usize>,
    left_out: u64,
}

impl Collector {
    /// The most distinct requests kept.
    pub const MAX: usize = 100_000;

    /// The requests of `component`, in the order first made.
    pub fn observations(&self, component: &str) -> Vec<Observation> {
        let state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let mut found: Vec<(usize, &Observation)> = state
            .seen
            .iter()
            .filter(|((c, _), _)| c == component)
            .map(|((_, o), order)| (*order, o))
            .collect();
        found.sort_by_key(|(order, _)| *order);
        found.into_iter().map(|(_, o)| o.clone()).collect()
    }

    /// How many distinct requests were left out after [`Self::MAX`].
    pub fn left_out(&self) -> u64 {
        self.state.lock().unwrap_or_else(|p| p.into_inner()).left_out
    }
}

impl Observer for Collector {
    fn observe(&self, d: &Observed<'_>) {
        let key = (
            d.component.to_string(),
            Observation {
                operation: d.operation.to_string(),
                request: OwnedRequest::from(d.request),
                denied_by: d.decision.denied_by.as_ref().map(ToString::to_string),
            },
        );
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let next = state.seen.len();
        if next < Self::MAX {
            state.seen.entry(key).or_insert(next);
        } else if !state.seen.contains_key(&key) {
            state.left_out += 1;
        }
    }
}

/// What an instance's guard keeps of its run besides the log lines: the run id, the phase,
/// the verdicts written (for the `end` line) and the observer. Shared by the guard and its
/// detached deciders.
#[derive(Debug)]
pub struct Trail {
    run: Arc<str>,
    phase: AtomicU8,
    counts: [AtomicU64; 3],
    observer: Option<Arc<dyn Observer>>,
}

impl Trail {
    pub fn new(run: Arc<str>, observer: Option<Arc<dyn Observer>>) -> Self {
        Trail {
            run,
            phase: AtomicU8::new(0),
            counts: Default::default(),
            observer,
        }
    }

    /// The run id every line carries.
    pub fn run(&self) -> &str {
        &self.run
    }

    /// The phase decisions are made in now.
    pub fn phase(&self) -> Phase {
        Phase::ALL[usize::from(self.phase.load(Ordering::Relaxed)).min(Phase::ALL.len() - 1)]
    }

    pub fn set_phase(&self, phase: Phase) {
        let index = Phase::ALL.iter().position(|p| *p == phase).unwrap_or(0);
        self.phase.store(index as u8, Ordering::Relaxed);
    }

    /// Counts a decision line that was written.
    pub fn count(&self, verdict: Verdict) {
        let slot = match verdict {
            Verdict::Allowed => 0,
            Verdict::Denied => 1,
            Verdict::WouldDeny => 2,
        };
        self.counts[slot].fetch_add(1, Ordering::Relaxed);
    }

    /// The decision lines written so far, by verdict.
    pub fn counts(&self) -> Counts {
        let [allowed, denied, would_deny] = self.counts.each_ref().map(|c| c.load(Ordering::Relaxed));
        Counts {
            allowed,
            denied,
            would_deny,
        }
    }

    pub fn observer(&self) -> Option<&dyn Observer> {
        self.observer.as_deref()
    }
}

/// A new run id: 128 random bits from the operating system, written as a UUID (version 4).
///
/// # Errors
/// The operating system gave no random bytes.
pub fn new_run_id() -> Result<String, String> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| format!("cannot draw a random run id: {e}"))?;
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    Ok(format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    ))
}

/// Where audit lines go.
#[derive(Clone)]
pub struct AuditLog {
    sink: Option<Arc<Mutex<Box<dyn Write + Send>>>>,
    /// The first error of the sink, kept for the host to report (see [`AuditLog::failure`]).
    failure: Arc<OnceLock<String>>,
}

impl std::fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditLog")
            .field("enabled", &self.sink.is_some())
            .field("failure", &self.failure.get())
            .finish()
    }
}

impl AuditLog {
    /// No audit log (decisions are still made and enforced).
    pub fn disabled() -> Self {
        AuditLog {
            sink: None,
            failure: Arc::default(),
        }
    }

    /// Lines go to standard error.
    pub fn stderr() -> Self {
        Self::to_writer(io::stderr())
    }

    /// Lines are appended to `path` (created if needed); nothing already in it is lost.
    ///
    /// Each line is handed to the kernel with its own `write` (the file is opened `O_APPEND`,
    /// without a buffer in the host) before the operation it records takes effect: if the host
    /// process is killed or crashes, every effect that happened has its line in the file.
    /// Several processes can append to the same file; each line lands whole.
    ///
    /// # Errors
    /// The file cannot be opened for appending.
    pub fn append_to(path: &Path) -> io::Result<Self> {
        use std::os::unix::fs::OpenOptionsExt as _;
        // Opened without blocking, so that a FIFO nobody reads is an error (ENXIO) instead of
        // a host that waits forever; lines are then written in blocking mode.
        let file = File::options()
            .create(true)
            .append(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(path)?;
        let flags = rustix::fs::fcntl_getfl(&file)?;
        rustix::fs::fcntl_setfl(&file, flags - rustix::fs::OFlags::NONBLOCK)?;
        Ok(Self::to_writer(file))
    }

    /// Lines go to any writer (a buffer in tests, a pipe in a host).
    pub fn to_writer(writer: impl Write + Send + 'static) -> Self {
        AuditLog {
            sink: Some(Arc::new(Mutex::new(Box::new(writer)))),
            failure: Arc::default(),
        }
    }

    /// Whether lines are written at all.
    pub fn is_enabled(&self) -> bool {
        self.sink.is_some()
    }

    /// Writes one decision record as a line. A failing sink does not stop the host: the error
    /// is returned so that the caller can refuse the operation (no effect without its record),
    /// and kept ([`AuditLog::failure`]): after the first failure nothing more is written, so
    /// the log never has a gap that a later line would hide.
    ///
    /// # Errors
    /// The underlying writer failed, now or before.
    pub fn write(&self, record: &Record<'_>) -> io::Result<()> {
        self.write_line(record)
    }

    /// Writes a component's `start` line.
    ///
    /// # Errors
    /// As [`Self::write`].
    pub fn write_start(&self, start: &Start<'_>) -> io::Result<()> {
        self.write_line(&Tagged {
            body: start,
            record: "start",
            format: FORMAT,
        })
    }

    /// Writes a component's `end` line.
    ///
    /// # Errors
    /// As [`Self::write`].
    pub fn write_end(&self, end: &End<'_>) -> io::Result<()> {
        self.write_line(&Tagged {
            body: end,
            record: "end",
            format: FORMAT,
        })
    }

    fn write_line(&self, value: &impl Serialize) -> io::Result<()> {
        let Some(sink) = &self.sink else { return Ok(()) };
        if let Some(failure) = self.failure.get() {
            return Err(io::Error::other(failure.clone()));
        }
        let mut line = serde_json::to_vec(value).map_err(io::Error::other)?;
        line.push(b'\n');
        let mut sink = sink.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        sink.write_all(&line).inspect_err(|e| {
            let _ = self.failure.set(e.to_string());
        })
    }

    /// The operating system's error from the first line that could not be written, if one
    /// could not: the host has failed to keep its record, and a host should stop and report
    /// it (as `run` does, with exit code 2) rather than treat it as a decision.
    pub fn failure(&self) -> Option<&str> {
        self.failure.get().map(String::as_str)
    }

    /// Flushes buffered lines (also done when the log is dropped).
    ///
    /// # Errors
    /// The underlying writer failed.
    pub fn flush(&self) -> io::Result<()> {
        match &self.sink {
            Some(sink) => sink
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .flush()
                .inspect_err(|e| {
                    let _ = self.failure.set(e.to_string());
                }),
            None => Ok(()),
        }
    }
}

/// The current time as RFC 3339 UTC with milliseconds (`2026-12-01T04:12:44.123Z`).
pub fn now_rfc3339() -> String {
    let since = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs() as i64;
    let date = Date::from_days_since_epoch(secs.div_euclid(86_400));
    let day_secs = secs.rem_euclid(86_400);
    // Written digit by digit: this runs for every audit line, and `format!` costs several
    // times as much.
    let mut out = String::with_capacity(24);
    let mut digits = |value: u64, width: u32, after: char| {
        for place in (0..width).rev() {
            let digit = value / 10u64.pow(place) % 10;
            out.push(char::from(b'0' + digit as u8));
        }
        out.push(after);
    };
    digits(u64::from(date.year), 4, '-');
    digits(u64::from(date.month), 2, '-');
    digits(u64::from(date.day), 2, 'T');
    digits(day_secs as u64 / 3600, 2, ':');
    digits(day_secs as u64 / 60 % 60, 2, ':');
    digits(day_secs as u64 % 60, 2, '.');
    digits(u64::from(since.subsec_millis()), 3, 'Z');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_is_in_the_file_as_soon_as_it_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        std::fs::write(&path, "{\"earlier\":true}\n").unwrap();
        let log = AuditLog::append_to(&path).unwrap();
        let record = Record {
            time: now_rfc3339(),
            component: "c",
            operation: "filesystem.stat",
            resource: "filesystem:metadata /x",
            verdict: Verdict::Allowed,
            by: "grant filesystem #1 metadata `/x`",
            mode: Mode::Enforce,
            phase: Phase::Execute,
            via_symlink: None,
            run: "r",
        };
        log.write(&record).unwrap();
        // Not flushed, not dropped: the line is already in the file, after what was there.
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2, "{text}");
        let line: serde_json::Value = serde_json::from_str(lines[1]).unwrap();
        assert_eq!(line["resource"], "filesystem:metadata /x");
        drop(log);
    }

    #[test]
    fn the_collector_keeps_each_distinct_request_once_in_order() {
        use crate::orgpolicy::EffectiveDecision;
        use crate::policy::FsAction;
        let collector = Collector::default();
        let allowed = EffectiveDecision {
            allowed: true,
            grant: None,
            denied_by: None,
        };
        let see = |component: &str, path: &str| {
            collector.observe(&Observed {
                component,
                operation: "filesystem.read-file",
                request: &Request::Fs {
                    action: FsAction::Read,
                    path,
                },
                decision: &allowed,
                via_symlink: None,
            })
        };
        for path in ["/b", "/a", "/b", "/c", "/a"] {
            see("one", path);
        }
        see("two", "/z");
        let paths: Vec<String> = collector
            .observations("one")
            .into_iter()
            .map(|o| o.request.normalized())
            .collect();
        assert_eq!(paths, ["read /b", "read /a", "read /c"]);
        assert_eq!(collector.observations("two").len(), 1);
        assert_eq!(collector.left_out(), 0);
    }

    #[test]
    fn time_is_rfc3339() {
        let t = now_rfc3339();
        assert_eq!(t.len(), "2026-12-01T04:12:44.123Z".len(), "{t}");
        assert!(t.ends_with('Z') && t.as_bytes()[10] == b'T', "{t}");
        // The same instant as the date and clock say it, within the second it was read.
        let secs = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64;
        let date = Date::from_days_since_epoch(secs.div_euclid(86_400));
        let day = secs.rem_euclid(86_400);
        let expected = format!("{date}T{:02}:{:02}:", day / 3600, day / 60 % 60);
        let again = now_rfc3339();
        assert!(
            t.starts_with(&expected) || again.starts_with(&expected),
            "{t} / {expected}"
        );
        let seconds: u32 = t[17..19].parse().unwrap();
        let millis: u32 = t[20..23].parse().unwrap();
        assert!(seconds < 60 && millis < 1000, "{t}");
    }
}
