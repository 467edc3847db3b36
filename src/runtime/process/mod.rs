//! The process domain: what `airssys:ext-process` `lifecycle` (18 operations) and `signals`
//! (14) do (in `iface/airssys_lifecycle.rs` and `iface/airssys_signals.rs`), with real child
//! processes on Linux (5.3 or later: signals go through pidfds), implemented on
//! [`ProcessView`].
//!
//! # The guard
//! `spawn` and `spawn-detached` ask for `process:spawn <executable>` with the path as the guest
//! gave it. There is no PATH lookup: a relative path or a bare name is denied by the decision,
//! and refused as `invalid-input` in a mode that lets denials through. When the final component
//! of the executable is a symbolic link, each target in the chain is authorized too (one audit
//! line each), so a granted link to an ungranted program is denied; the end of the chain is what
//! runs, with `argv[0]` as the guest named it. Link targets are joined to the link's directory
//! and normalised lexically, as the decision normalises requests. The end of that chain is then
//! resolved as the kernel resolves it, directory links included (`/bin -> usr/bin`, or a link
//! the component made in a directory it may write): each hop is checked against the policies'
//! denials (a denied hop is logged and refused), and the fully resolved path is what runs. The
//! host makes that `execve` itself (in the child, after the fork), so no shell ever runs a
//! file the kernel cannot (glibc's `execvp` retries ENOEXEC through `/bin/sh`); such a file is
//! `invalid-input`.
//! When what runs is a script, the kernel runs its `#!` interpreter: that interpreter (and each
//! link on the way to it, and its own interpreter if it is a script) gets an audit line and is
//! refused when an organisation policy rule denies spawning it (`[process] deny-executables`
//! lists shells and `/usr/bin/env`), so a policy that forbids shells forbids shell scripts too.
//! The manifest need not grant the interpreter: the grant on the script is the grant to run it.
//! An interpreter given as a relative path, and an executable the host cannot read (to look
//! for its `#!` line; execute-only files), are refused in every mode. `spawn-shell` asks for
//! exactly `process:spawn /bin/sh`, as the catalogue says, and runs the host's shell. Signal
//! operations ask for `process:signal <SIGNAME>`; `graceful-shutdown` asks for SIGTERM and for
//! SIGKILL, two audit lines, before it does anything.
//!
//! # Host rules (they hold in every mode, report-only included)
//! - Environment: a child's environment is exactly `env`, nothing is inherited. Variables that
//!   make a program load or run code it did not name are refused as `permission-denied`: a
//!   maintained denylist by family (`spawn::CODE_HOOKS`: the loader's `LD_*`, the C library's,
//!   bash's, and the hooks of perl, python, node, ruby, the JVM, php, lua, tcl, R, git,
//!   OpenSSL, pagers and editors); a name that is empty or holds `=` or NUL, or a NUL anywhere,
//!   is `invalid-input`.
//! - Standard streams: stdin `inherit` is refused (the host's own input is never handed to a
//!   component's child); stdout and stderr may inherit the host's streams.
//! - Signals: each child starts with the default disposition of every signal a guest can name
//!   (what the host ignores is not passed on) and an empty signal mask.
//! - Working directory: `none` is the host's current directory; otherwise an absolute path to a
//!   directory that exists (`invalid-input` if relative, `not-found` if missing).
//! - Signals to a process group are refused unless every member of the group is a live child of
//!   this instance (checked in `/proc`); the members are then signalled one by one through their
//!   pidfds, so a process that joins the group meanwhile is never reached.
//!
//! # Ownership
//! A guest names processes only through `child` handles, which index this instance's resource
//! table; there is no operation that takes a pid, so the host's own pid, pid 1 and the children
//! of other instances cannot be named at all. Each child starts in a process group of its own.
//! At most `max_children` processes spawned by one instance are unreaped at a time
//! (`limit-exceeded`). A pid is used only while the child is unreaped: every operation first
//! reaps a child that has ended (recording how it ended and its `wait4` resource usage) and then
//! answers `already-exited` instead of signalling. Dropping the handle of a child that is not
//! yet reaped kills (SIGKILL) every process in the child's process group (what it started and
//! left there) and the child, and reaps it; a detached child keeps running, and a host thread reaps
//! it when it ends (it still counts against the limit until then). Ending the instance drops its
//! handles the same way. If the host process ends without dropping them (killed, crashed), the
//! kernel kills every child that is not detached (`PR_SET_PDEATHSIG`). That signal follows the
//! *thread* that forked, so every child is forked by one spawner thread that lives as long as
//! the process, whichever thread called into the component.
//!
//! # Blocking
//! Operations that wait (`wait`, `wait-timeout`, reading and writing the pipes,
//! `graceful-shutdown`) wait at most until the current call's deadline (the instance's
//! `timeout-ms` from the start of the call); `wait` and the pipe operations then answer
//! `timeout`. Reads return what is available (at most `max-len`, and at most the
//! instance's answer budget), waiting only until some data or end of file; writes return how
//! much the pipe took, waiting only until it takes the first byte. Nothing closes stdin
//! implicitly: a guest waiting for `cat` closes its stdin first.
//!
//! # `set-process-group`
//! Linux lets a parent move a child into another process group only until the child has
//! started its program (`setpgid` fails with EACCES afterwards), and a spawned child has always
//! started it. So a child already in the requested group succeeds; any real move is attempted
//! and, when the kernel refuses it this way, reported as `unsupported`.

mod child;
mod spawn;
#[cfg(test)]
mod tests;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;
use std::time::{Duration, Instant};

use wasmtime::component::{HasData, Resource, ResourceTable};

pub(crate) use self::child::Output;
pub(crate) use self::spawn::{Launch, SHELL};
use super::bindings::proc_types::{ProcessError, Signal as WitSignal};
use super::guard::{Denied, Guard};
pub use super::resources::ChildEntry;
use crate::policy::{Request, Signal};

/// The process state of one instance: its children's handles and its count of unreaped
/// processes (detached children whose handle was dropped included).
#[derive(Debug, Default)]
pub struct ProcState {
    /// Table indices of this instance's live `child` handles.
    pub(crate) handles: BTreeSet<u32>,
    /// Processes spawned by this instance and not yet reaped, shared with their entries and
    /// with the threads that reap dropped detached children.
    pub(crate) live: Arc<AtomicUsize>,
}

/// What the process interfaces (`lifecycle`, `signals`, their `types`) are implemented on: the
/// guard, the instance's process state and its resource table.
pub(crate) struct ProcessView<'a> {
    pub(crate) guard: &'a Guard,
    pub(crate) process: &'a mut ProcState,
    pub(crate) table: &'a mut ResourceTable,
}

/// The `HasData` of the process interfaces: their data is a [`ProcessView`].
pub(crate) struct HasProcess;

impl HasData for HasProcess {
    type Data<'a> = ProcessView<'a>;
}

/// Every signal of the WIT `signal` enum, in declaration order.
pub(crate) const WIT_SIGNALS: [WitSignal; 29] = [
    WitSignal::Sighup,
    WitSignal::Sigint,
    WitSignal::Sigquit,
    WitSignal::Sigill,
    WitSignal::Sigtrap,
    WitSignal::Sigabrt,
    WitSignal::Sigbus,
    WitSignal::Sigfpe,
    WitSignal::Sigkill,
    WitSignal::Sigusr1,
    WitSignal::Sigsegv,
    WitSignal::Sigusr2,
    WitSignal::Sigpipe,
    WitSignal::Sigalrm,
    WitSignal::Sigterm,
    WitSignal::Sigchld,
    WitSignal::Sigcont,
    WitSignal::Sigstop,
    WitSignal::Sigtstp,
    WitSignal::Sigttin,
    WitSignal::Sigttou,
    WitSignal::Sigurg,
    WitSignal::Sigxcpu,
    WitSignal::Sigxfsz,
    WitSignal::Sigvtalrm,
    WitSignal::Sigprof,
    WitSignal::Sigwinch,
    WitSignal::Sigio,
    WitSignal::Sigsys,
];

/// The policy's name for a WIT signal.
pub(crate) fn policy_signal(signal: WitSignal) -> Signal {
    match signal {
        WitSignal::Sighup => Signal::Hup,
        WitSignal::Sigint => Signal::Int,
        WitSignal::Sigquit => Signal::Quit,
        WitSignal::Sigill => Signal::Ill,
        WitSignal::Sigtrap => Signal::Trap,
        WitSignal::Sigabrt => Signal::Abrt,
        WitSignal::Sigbus => Signal::Bus,
        WitSignal::Sigfpe => Signal::Fpe,
        WitSignal::Sigkill => Signal::Kill,
        WitSignal::Sigusr1 => Signal::Usr1,
        WitSignal::Sigsegv => Signal::Segv,
        WitSignal::Sigusr2 => Signal::Usr2,
        WitSignal::Sigpipe => Signal::Pipe,
        WitSignal::Sigalrm => Signal::Alrm,
        WitSignal::Sigterm => Signal::Term,
        WitSignal::Sigchld => Signal::Chld,
        WitSignal::Sigcont => Signal::Cont,
        WitSignal::Sigstop => Signal::Stop,
        WitSignal::Sigtstp => Signal::Tstp,
        WitSignal::Sigttin => Signal::Ttin,
        WitSignal::Sigttou => Signal::Ttou,
        WitSignal::Sigurg => Signal::Urg,
        WitSignal::Sigxcpu => Signal::Xcpu,
        WitSignal::Sigxfsz => Signal::Xfsz,
        WitSignal::Sigvtalrm => Signal::Vtalrm,
        WitSignal::Sigprof => Signal::Prof,
        WitSignal::Sigwinch => Signal::Winch,
        WitSignal::Sigio => Signal::Io,
        WitSignal::Sigsys => Signal::Sys,
    }
}

/// The host's number of a signal, from the C library's constants (the policy's table holds the
/// common Linux numbers, which some architectures do not share).
pub(crate) fn host_number(signal: Signal) -> i32 {
    match signal {
        Signal::Hup => libc::SIGHUP,
        Signal::Int => libc::SIGINT,
        Signal::Quit => libc::SIGQUIT,
        Signal::Ill => libc::SIGILL,
        Signal::Trap => libc::SIGTRAP,
        Signal::Abrt => libc::SIGABRT,
        Signal::Bus => libc::SIGBUS,
        Signal::Fpe => libc::SIGFPE,
        Signal::Kill => libc::SIGKILL,
        Signal::Usr1 => libc::SIGUSR1,
        Signal::Segv => libc::SIGSEGV,
        Signal::Usr2 => libc::SIGUSR2,
        Signal::Pipe => libc::SIGPIPE,
        Signal::Alrm => libc::SIGALRM,
        Signal::Term => libc::SIGTERM,
        Signal::Stkflt => libc::SIGSTKFLT,
        Signal::Chld => libc::SIGCHLD,
        Signal::Cont => libc::SIGCONT,
        Signal::Stop => libc::SIGSTOP,
        Signal::Tstp => libc::SIGTSTP,
        Signal::Ttin => libc::SIGTTIN,
        Signal::Ttou => libc::SIGTTOU,
        Signal::Urg => libc::SIGURG,
        Signal::Xcpu => libc::SIGXCPU,
        Signal::Xfsz => libc::SIGXFSZ,
        Signal::Vtalrm => libc::SIGVTALRM,
        Signal::Prof => libc::SIGPROF,
        Signal::Winch => libc::SIGWINCH,
        Signal::Io => libc::SIGIO,
        Signal::Pwr => libc::SIGPWR,
        Signal::Sys => libc::SIGSYS,
    }
}

pub(crate) fn denied(Denied(text): Denied) -> ProcessError {
    ProcessError::PermissionDenied(text)
}

/// The members of process group `pgid`, from `/proc`.
pub(crate) fn group_members(pgid: u32) -> Result<Vec<u32>, ProcessError> {
    let dir = std::fs::read_dir("/proc").map_err(|e| ProcessError::Io(format!("/proc: {e}")))?;
    let mut members = Vec::new();
    for entry in dir.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else {
            continue;
        };
        // A process that ended during the scan has no stat any more.
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let group = child::stat_fields(&stat).and_then(|f| f.get(2).and_then(|g| g.parse::<u32>().ok()));
        if group == Some(pgid) {
            members.push(pid);
        }
    }
    Ok(members)
}

impl ProcessView<'_> {
    /// The entry behind a `child` handle of this instance.
    pub(crate) fn child_entry(&mut self, handle: &Resource<ChildEntry>) -> Result<&mut ChildEntry, ProcessError> {
        self.table.get_mut(handle).map_err(|_| ProcessError::InvalidHandle)
    }

    /// The entry at table index `rep`, if it is one of this instance's children.
    pub(crate) fn child_entry_at(&mut self, rep: u32) -> Option<&mut ChildEntry> {
        self.table.get_mut(&Resource::<ChildEntry>::new_borrow(rep)).ok()
    }

    /// Reaps every child of this instance that has ended.
    pub(crate) fn refresh_children(&mut self) {
        let reps: Vec<u32> = self.process.handles.iter().copied().collect();
        for rep in reps {
            if let Some(child) = self.child_entry_at(rep) {
                child.refresh();
            }
        }
    }

    /// An instant `ms` from now, but no later than the current call's deadline.
    pub(crate) fn process_deadline(&self, ms: u64) -> Instant {
        let wait = Duration::from_millis(ms).min(self.guard.time_left());
        let now = Instant::now();
        now.checked_add(wait).unwrap_or(now)
    }

    /// The longest read the guest may ask for, in bytes.
    pub(crate) fn pipe_read_cap(&self, max_len: u64) -> usize {
        usize::try_from(max_len.min(self.guard.answer_budget())).unwrap_or(usize::MAX)
    }

    /// Asks the guard for `signal`, then sends it to the child behind `handle`.
    pub(crate) fn signal_child(
        &mut self,
        op: &str,
        handle: &Resource<ChildEntry>,
        signal: Signal,
    ) -> Result<(), ProcessError> {
        self.guard.authorize(op, Request::Signal { signal }).map_err(denied)?;
        self.child_entry(handle)?.signal(host_number(signal))
    }

    pub(crate) fn read_child_output(
        &mut self,
        handle: &Resource<ChildEntry>,
        which: Output,
        max_len: u64,
    ) -> Result<Vec<u8>, ProcessError> {
        let deadline = self.process_deadline(u64::MAX);
        let cap = self.pipe_read_cap(max_len);
        self.child_entry(handle)?.read(which, cap, deadline)
    }
}
