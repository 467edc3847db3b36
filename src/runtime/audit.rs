//! The audit log: one JSON line per decision the runtime makes, written before the operation
//! takes effect. Lines are written whole under a lock, so several instances (and threads) can
//! share one log without interleaving.

use std::fs::File;
use std::io::{self, Write};
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;

use crate::orgpolicy::Date;

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

/// One line of the log.
#[derive(Clone, Debug, Serialize)]
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

    /// Writes one record as a line. A failing sink does not stop the host: the error is
    /// returned so that the caller can refuse the operation (no effect without its record),
    /// and kept ([`AuditLog::failure`]): after the first failure nothing more is written, so
    /// the log never has a gap that a later line would hide.
    ///
    /// # Errors
    /// The underlying writer failed, now or before.
    pub fn write(&self, record: &Record<'_>) -> io::Result<()> {
        let Some(sink) = &self.sink else { return Ok(()) };
        if let Some(failure) = self.failure.get() {
            return Err(io::Error::other(failure.clone()));
        }
        let mut line = serde_json::to_vec(record).map_err(io::Error::other)?;
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
