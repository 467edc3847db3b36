//! One child process as the host holds it: its pid and pidfd, its pipes, and how it ended.
//!
//! Only this module reaps (`wait4`) and signals (`pidfd_send_signal`). A child is reaped at most
//! once; after that its pid is never used again, because the kernel may have given it to another
//! process. Every operation that would use the pid first does a non-blocking wait
//! ([`ChildEntry::refresh`]), so an exited child is reaped and reported as `already-exited`
//! instead of signalled; the signal itself goes through the pidfd, which names this process and
//! no other even if something else in the host reaped it behind our back.

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::process::Child;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rustix::fs::{OFlags, fcntl_getfl, fcntl_setfl};
use rustix::process::{Pid, PidfdFlags, getpgid, kill_process_group, pidfd_open, pidfd_send_signal};

use crate::runtime::bindings::proc_types::{ChildExit, ChildInfo, ProcessError, UsageStats};
use crate::runtime::resources::{ChildEntry, Exit, Pipe};

/// Largest chunk read from a pipe in one system call.
const CHUNK: usize = 64 * 1024;

impl Exit {
    /// The WIT record of this exit.
    pub(crate) fn wit(&self) -> ChildExit {
        ChildExit {
            code: self.code,
            signal: self.signal,
            success: self.code == Some(0),
        }
    }
}

/// Which output stream to read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Output {
    Stdout,
    Stderr,
}

impl ChildEntry {
    /// Takes over a freshly spawned `child`: opens its pidfd and the host's ends of its pipes.
    /// On failure the child is killed and reaped before the error is returned.
    pub(crate) fn adopt(
        mut child: Child,
        executable: String,
        args: Vec<String>,
        detached: bool,
        live: Arc<AtomicUsize>,
    ) -> io::Result<ChildEntry> {
        let pid = Pid::from_child(&child);
        let pidfd = match pidfd_open(pid, PidfdFlags::empty()) {
            Ok(fd) => fd,
            Err(e) => {
                // Not yet reaped, so the pid is still this child.
                let _ = child.kill();
                let _ = child.wait();
                return Err(io::Error::other(format!("cannot open a pidfd for the child: {e}")));
            }
        };
        let stdin = child.stdin.take().map(OwnedFd::from);
        let stdout = child.stdout.take().map(OwnedFd::from);
        let stderr = child.stderr.take().map(OwnedFd::from);
        live.fetch_add(1, Ordering::SeqCst);
        // From here on the entry owns the child: dropping it on an error kills and reaps it.
        let mut entry = ChildEntry {
            pid,
            pidfd,
            executable,
            args,
            started_at_ms: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
            started: Instant::now(),
            // Set once the entry is complete: a child that cannot be adopted is killed.
            detached: false,
            pgid: pid.as_raw_nonzero().get().unsigned_abs(),
            stdin: Pipe::NotPiped,
            stdout: Pipe::NotPiped,
            stderr: Pipe::NotPiped,
            exit: None,
            live,
        };
        entry.stdin = pipe(stdin)?;
        entry.stdout = pipe(stdout)?;
        entry.stderr = pipe(stderr)?;
        entry.detached = detached;
        Ok(entry)
    }

    /// The operating-system process id.
    pub(crate) fn pid(&self) -> u32 {
        self.pid.as_raw_nonzero().get().unsigned_abs()
    }

    /// How the child ended, as far as already recorded (no system call).
    pub(crate) fn recorded_exit(&self) -> Option<Exit> {
        self.exit
    }

    /// Reaps the child if it has ended, without blocking, and returns how it ended.
    pub(crate) fn refresh(&mut self) -> Option<Exit> {
        if self.exit.is_none() {
            match wait4(self.pid, false) {
                Ok(Some((status, usage))) => self.record(Some(status), Some(&usage)),
                Ok(None) => {}
                // ECHILD: something else in the host reaped it; how it ended is unknown. Any
                // other error also means the pid can no longer be trusted.
                Err(_) => self.record_unknown(),
            }
        }
        self.exit
    }

    /// Waits until the child ends or `deadline` passes; `None` if it is still running.
    pub(crate) fn wait_until(&mut self, deadline: Instant) -> Result<Option<Exit>, ProcessError> {
        loop {
            if let Some(exit) = self.refresh() {
                return Ok(Some(exit));
            }
            let now = Instant::now();
            if now >= deadline {
                return Ok(None);
            }
            // The pidfd becomes readable when the process ends.
            poll_one(self.pidfd.as_fd(), libc::POLLIN, deadline - now)
                .map_err(|e| ProcessError::Io(format!("waiting for {}: {e}", self.executable)))?;
        }
    }

    /// Sends the signal numbered `number` (a host constant), unless the child has ended: then
    /// it is reaped if it was not yet, and the answer is `already-exited`.
    pub(crate) fn signal(&mut self, number: i32) -> Result<(), ProcessError> {
        if self.refresh().is_some() {
            return Err(ProcessError::AlreadyExited);
        }
        let signal = rustix::process::Signal::from_named_raw(number)
            .ok_or_else(|| ProcessError::InvalidInput(format!("signal number {number} is not known to the host")))?;
        match pidfd_send_signal(&self.pidfd, signal) {
            Ok(()) => Ok(()),
            Err(rustix::io::Errno::SRCH) => Err(ProcessError::AlreadyExited),
            Err(e) => Err(ProcessError::Io(format!("signal to {}: {e}", self.executable))),
        }
    }

    /// The child's current process group; `already-exited` once it has been reaped.
    pub(crate) fn process_group(&mut self) -> Result<u32, ProcessError> {
        if self.refresh().is_some() {
            return Err(ProcessError::AlreadyExited);
        }
        match getpgid(Some(self.pid)) {
            Ok(pgid) => {
                self.pgid = pgid.as_raw_nonzero().get().unsigned_abs();
                Ok(self.pgid)
            }
            Err(rustix::io::Errno::SRCH) => Err(ProcessError::AlreadyExited),
            Err(e) => Err(ProcessError::Io(format!("process group of {}: {e}", self.executable))),
        }
    }

    /// Moves the running child into process group `pgid` (its own pid for a new group).
    pub(crate) fn set_process_group(&mut self, pgid: u32) -> Result<(), ProcessError> {
        if self.process_group()? == pgid {
            return Ok(());
        }
        let target = i32::try_from(pgid)
            .ok()
            .and_then(Pid::from_raw)
            .ok_or_else(|| ProcessError::InvalidInput(format!("process group {pgid} is not a valid id")))?;
        match rustix::process::setpgid(Some(self.pid), Some(target)) {
            Ok(()) => {
                self.pgid = pgid;
                Ok(())
            }
            Err(rustix::io::Errno::ACCESS) => Err(ProcessError::Unsupported(format!(
                "Linux lets a parent change the process group of a child only until the child has started \
                 its program (setpgid: EACCES); {} (pid {}) has already started",
                self.executable,
                self.pid()
            ))),
            Err(rustix::io::Errno::SRCH) => Err(ProcessError::AlreadyExited),
            Err(e) => Err(ProcessError::Io(format!(
                "moving {} into process group {pgid}: {e}",
                self.executable
            ))),
        }
    }

    /// What is known about the child, refreshed first.
    pub(crate) fn info(&mut self) -> ChildInfo {
        let running = self.refresh().is_none();
        if running {
            // The last known group stays when the child ends before this call.
            let _ = self.process_group();
        }
        ChildInfo {
            pid: self.pid(),
            process_group: self.pgid,
            executable: self.executable.clone(),
            args: self.args.clone(),
            started_at: self.started_at_ms,
            running,
            detached: self.detached,
        }
    }

    /// CPU time and memory: from /proc while it runs, from `wait4` once it has been reaped.
    pub(crate) fn usage(&mut self) -> Result<UsageStats, ProcessError> {
        if let Some(exit) = self.refresh() {
            return Ok(UsageStats {
                user_cpu_millis: exit.user_ms,
                system_cpu_millis: exit.system_ms,
                max_rss_kib: exit.max_rss_kib,
                rss_kib: 0,
                elapsed_millis: millis(exit.at.saturating_duration_since(self.started)),
            });
        }
        let pid = self.pid();
        let io_error = |e: io::Error| ProcessError::Io(format!("usage of {} (pid {pid}): {e}", self.executable));
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).map_err(io_error)?;
        let fields = stat_fields(&stat).ok_or_else(|| io_error(io::Error::other("unreadable /proc stat")))?;
        let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok()).unwrap_or(0);
        let hz = clock_ticks_per_second();
        // `/proc/<pid>/status` has no memory lines for a process that has just ended.
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        Ok(UsageStats {
            user_cpu_millis: ticks(11).saturating_mul(1000) / hz,
            system_cpu_millis: ticks(12).saturating_mul(1000) / hz,
            max_rss_kib: status_kib(&status, "VmHWM:"),
            rss_kib: status_kib(&status, "VmRSS:"),
            elapsed_millis: millis(self.started.elapsed()),
        })
    }

    /// Writes as much of `data` to the child's stdin as the pipe takes, waiting until
    /// `deadline` for room for the first byte.
    pub(crate) fn write_stdin(&mut self, data: &[u8], deadline: Instant) -> Result<u64, ProcessError> {
        let Pipe::Open(fd) = &self.stdin else {
            return Err(ProcessError::StreamClosed);
        };
        let mut written = 0;
        while written < data.len() {
            match write_without_sigpipe(fd.as_fd(), &data[written..]) {
                Ok(n) => written += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    if written > 0 {
                        break;
                    }
                    let now = Instant::now();
                    if now >= deadline {
                        return Err(ProcessError::Timeout);
                    }
                    poll_one(fd.as_fd(), libc::POLLOUT, deadline - now)
                        .map_err(|e| ProcessError::Io(format!("stdin of {}: {e}", self.executable)))?;
                }
                // The child closed its end (or ended): nothing can be written any more.
                Err(e) if e.raw_os_error() == Some(libc::EPIPE) => {
                    if written > 0 {
                        break;
                    }
                    self.stdin = Pipe::Done;
                    return Err(ProcessError::StreamClosed);
                }
                Err(e) => return Err(ProcessError::Io(format!("stdin of {}: {e}", self.executable))),
            }
        }
        Ok(written as u64)
    }

    /// Closes the host's end of stdin, so that the child reads end of file.
    pub(crate) fn close_stdin(&mut self) -> Result<(), ProcessError> {
        match std::mem::replace(&mut self.stdin, Pipe::Done) {
            Pipe::Open(fd) => {
                drop(fd);
                Ok(())
            }
            other => {
                self.stdin = other;
                Err(ProcessError::StreamClosed)
            }
        }
    }

    /// Reads what `which` has available, up to `max` bytes, waiting until `deadline` for the
    /// first byte or end of file. Empty at end of file.
    pub(crate) fn read(&mut self, which: Output, max: usize, deadline: Instant) -> Result<Vec<u8>, ProcessError> {
        let executable = &self.executable;
        let pipe = match which {
            Output::Stdout => &mut self.stdout,
            Output::Stderr => &mut self.stderr,
        };
        let fd = match pipe {
            Pipe::NotPiped => return Err(ProcessError::StreamClosed),
            Pipe::Done => return Ok(Vec::new()),
            Pipe::Open(fd) => fd,
        };
        let name = match which {
            Output::Stdout => "stdout",
            Output::Stderr => "stderr",
        };
        let io_error = |e: io::Error| ProcessError::Io(format!("{name} of {executable}: {e}"));
        let mut out = Vec::new();
        let mut chunk = vec![0u8; CHUNK.min(max)];
        let mut eof = false;
        while out.len() < max {
            let want = (max - out.len()).min(chunk.len());
            match rustix::io::read(fd.as_fd(), &mut chunk[..want]) {
                Ok(0) => {
                    eof = true;
                    break;
                }
                Ok(n) => out.extend_from_slice(&chunk[..n]),
                Err(rustix::io::Errno::INTR) => {}
                Err(rustix::io::Errno::AGAIN) => {
                    if !out.is_empty() {
                        break;
                    }
                    let now = Instant::now();
                    if now >= deadline {
                        return Err(ProcessError::Timeout);
                    }
                    poll_one(fd.as_fd(), libc::POLLIN, deadline - now).map_err(io_error)?;
                }
                Err(e) => return Err(io_error(e.into())),
            }
        }
        if eof {
            *pipe = Pipe::Done;
        }
        Ok(out)
    }

    /// Records the end of the child (`status` as `wait4` gave it; `None` when unknown) and
    /// gives back its place in the instance's count.
    fn record(&mut self, status: Option<i32>, usage: Option<&libc::rusage>) {
        let (code, signal) = match status {
            Some(s) if libc::WIFEXITED(s) => (Some(libc::WEXITSTATUS(s)), None),
            Some(s) if libc::WIFSIGNALED(s) => (None, Some(libc::WTERMSIG(s))),
            _ => (None, None),
        };
        let ms = |t: libc::timeval| {
            u64::try_from(t.tv_sec)
                .unwrap_or(0)
                .saturating_mul(1000)
                .saturating_add(u64::try_from(t.tv_usec).unwrap_or(0) / 1000)
        };
        self.exit = Some(Exit {
            code,
            signal,
            user_ms: usage.map_or(0, |u| ms(u.ru_utime)),
            system_ms: usage.map_or(0, |u| ms(u.ru_stime)),
            max_rss_kib: usage.map_or(0, |u| u64::try_from(u.ru_maxrss).unwrap_or(0)),
            at: Instant::now(),
        });
        self.live.fetch_sub(1, Ordering::SeqCst);
    }

    fn record_unknown(&mut self) {
        self.record(None, None);
    }
}

impl Drop for ChildEntry {
    fn drop(&mut self) {
        if !self.detached && self.exit.is_none() {
            // Not yet reaped, so its pid is still its own and so is the process group named
            // after it: what the child started there (and left there) goes with it, even if
            // the child itself has already ended. After reaping, that group id could name
            // somebody else's group, so this is the only moment to do it.
            let _ = kill_process_group(self.pid, rustix::process::Signal::KILL);
        }
        if self.refresh().is_some() {
            return;
        }
        if self.detached {
            // Left running; a thread reaps it when it ends, so that it never stays a zombie.
            let pid = self.pid;
            let live = Arc::clone(&self.live);
            let reaper = std::thread::Builder::new()
                .name("airssys-reaper".into())
                .stack_size(64 * 1024)
                .spawn(move || {
                    let _ = wait4(pid, true);
                    live.fetch_sub(1, Ordering::SeqCst);
                });
            // Without a thread it stays a zombie until the host exits, and keeps counting.
            drop(reaper);
        } else {
            // Not yet reaped: the pidfd still names this very process.
            let _ = pidfd_send_signal(&self.pidfd, rustix::process::Signal::KILL);
            match wait4(self.pid, true) {
                Ok(Some((status, usage))) => self.record(Some(status), Some(&usage)),
                _ => self.record_unknown(),
            }
        }
    }
}

/// The host's end of a pipe, made non-blocking so that no read or write holds the instance
/// longer than its deadline.
fn pipe(fd: Option<OwnedFd>) -> io::Result<Pipe> {
    let Some(fd) = fd else { return Ok(Pipe::NotPiped) };
    let flags = fcntl_getfl(&fd)?;
    fcntl_setfl(&fd, flags | OFlags::NONBLOCK)?;
    Ok(Pipe::Open(fd))
}

/// `wait4(pid)`, blocking or not: the status and resource usage of a child that ended.
fn wait4(pid: Pid, block: bool) -> io::Result<Option<(i32, libc::rusage)>> {
    let options = if block { 0 } else { libc::WNOHANG };
    loop {
        let mut status: libc::c_int = 0;
        // SAFETY: `rusage` is plain old data for which all zero bytes is a valid value.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: both pointers point to live, writable locals of the types wait4 expects.
        let reaped = unsafe { libc::wait4(pid.as_raw_nonzero().get(), &mut status, options, &mut usage) };
        match reaped {
            0 => return Ok(None),
            r if r > 0 => return Ok(Some((status, usage))),
            _ => {
                let error = io::Error::last_os_error();
                if error.kind() != io::ErrorKind::Interrupted {
                    return Err(error);
                }
            }
        }
    }
}

/// Waits until `fd` has one of `events` or `timeout` passes. Interrupted waits return early;
/// callers loop on their deadline.
fn poll_one(fd: BorrowedFd<'_>, events: libc::c_short, timeout: Duration) -> io::Result<()> {
    // Rounded up, so that a wait of less than a millisecond does not spin.
    let ms = timeout.as_nanos().div_ceil(1_000_000).min(i32::MAX as u128);
    let mut entry = libc::pollfd {
        fd: fd.as_raw_fd(),
        events,
        revents: 0,
    };
    // SAFETY: one valid pollfd for a file descriptor that `fd` keeps open during the call.
    let ready = unsafe { libc::poll(&mut entry, 1, ms as libc::c_int) };
    if ready < 0 {
        let error = io::Error::last_os_error();
        if error.kind() != io::ErrorKind::Interrupted {
            return Err(error);
        }
    }
    Ok(())
}

/// `write(2)` with SIGPIPE blocked in this thread: a child that closed its stdin makes the write
/// fail with EPIPE instead of killing the host (when the embedding program has not ignored
/// SIGPIPE, as Rust programs do). A SIGPIPE raised by this write is consumed before the old
/// mask comes back.
fn write_without_sigpipe(fd: BorrowedFd<'_>, data: &[u8]) -> io::Result<usize> {
    // SAFETY: every sigset_t is initialised by sigemptyset or by the kernel before it is read;
    // the thread's signal mask is restored before returning.
    unsafe {
        let mut block: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut block);
        libc::sigaddset(&mut block, libc::SIGPIPE);
        let mut old: libc::sigset_t = std::mem::zeroed();
        libc::pthread_sigmask(libc::SIG_BLOCK, &block, &mut old);
        let mut pending: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut pending);
        libc::sigpending(&mut pending);
        let was_pending = libc::sigismember(&pending, libc::SIGPIPE) == 1;
        let result = rustix::io::write(fd, data).map_err(io::Error::from);
        if !was_pending && matches!(&result, Err(e) if e.raw_os_error() == Some(libc::EPIPE)) {
            let zero = libc::timespec { tv_sec: 0, tv_nsec: 0 };
            libc::sigtimedwait(&block, std::ptr::null_mut(), &zero);
        }
        libc::pthread_sigmask(libc::SIG_SETMASK, &old, std::ptr::null_mut());
        result
    }
}

/// The fields of `/proc/<pid>/stat` after the command name (which may contain spaces and
/// parentheses): `[0]` is the state, `[2]` the process group, `[11]`/`[12]` utime/stime.
pub(crate) fn stat_fields(stat: &str) -> Option<Vec<&str>> {
    let close = stat.rfind(')')?;
    Some(stat.get(close + 1..)?.split_whitespace().collect())
}

/// A `kB` line of `/proc/<pid>/status`, 0 when absent.
fn status_kib(status: &str, key: &str) -> u64 {
    status
        .lines()
        .find_map(|line| line.strip_prefix(key))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

fn clock_ticks_per_second() -> u64 {
    // SAFETY: sysconf has no memory-safety preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    u64::try_from(hz).ok().filter(|&hz| hz > 0).unwrap_or(100)
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}
