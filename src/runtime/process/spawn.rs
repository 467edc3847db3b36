//! Spawning: the guard (with the symlink chain of the executable), the host's environment and
//! stdin rules, argument checks, and the child's own process group.

use std::ffi::CString;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio as StdStdio};

use wasmtime::component::Resource;

use super::ProcessView;
use crate::policy::{Request, normalize_path};
use crate::runtime::bindings::proc_types::{ProcessError, Stdio};
use crate::runtime::guard::{Denied, describe_request};
use crate::runtime::resources::ChildEntry;

/// The host's shell: what `spawn-shell` runs and what its grant names.
pub(crate) const SHELL: &str = "/bin/sh";

/// Longest chain of symbolic links followed from an executable (the kernel's own limit).
const MAX_LINKS: usize = 40;

/// Scripts whose interpreter is a script are followed at most this deep (at least the
/// kernel's own limit, `BINPRM_MAX_RECURSION`); deeper nesting is refused.
const MAX_INTERPRETERS: usize = 5;

/// How much of a file the kernel reads for its `#!` line (`BINPRM_BUF_SIZE`).
const SHEBANG_BYTES: usize = 256;

/// Environment variables that make a program load or run code it did not name itself: a
/// **maintained denylist**, by family, of the hooks of the dynamic loader and the C library,
/// the shells, the common interpreters (perl, python, node, ruby, the JVM, php, lua, tcl, R)
/// and programs that run other programs on request (git, pagers, editors, OpenSSL's engines).
/// An entry ending in `*` is a prefix: every `PYTHON*` name is refused, so a hook a new
/// version adds to that family is refused too. Names are compared as the programs read them,
/// case-sensitively (npm, which also reads lower case, is listed in both).
///
/// A denylist rather than an allowlist, because a child's environment is the component's own
/// configuration for the program it runs (`TZ`, `LANG`, the program's own settings), and the
/// manifest has no way to grant a variable: a fixed allowlist would refuse every program's own
/// settings. (`ENV`, which only interactive shells read, is an ordinary variable: a component
/// that may run an interactive shell can run anything already.) What the list cannot know is
/// the hook of a program nobody listed; `PATH` and
/// `HOME` are passed as given (a granted script that runs programs by name runs what the
/// component's `PATH` leads to). docs/runtime.md says so.
pub(crate) const CODE_HOOKS: &[(&str, &str)] = &[
    ("LD_*", "the dynamic loader"),
    ("GCONV_PATH", "the C library (character-set modules)"),
    ("GLIBC_TUNABLES", "the C library (tunables)"),
    ("LOCPATH", "the C library (locale data)"),
    ("NLSPATH", "the C library (message catalogues)"),
    ("BASH_ENV", "bash (a file it runs first)"),
    ("BASH_FUNC_*", "bash (exported functions)"),
    ("SHELLOPTS", "bash (options such as xtrace, which runs PS4)"),
    ("BASHOPTS", "bash (options)"),
    ("PS4", "bash (run by xtrace)"),
    ("PROMPT_COMMAND", "bash"),
    ("PERL*", "perl (PERL5OPT, PERL5LIB, PERL5DB, ...)"),
    ("PYTHON*", "python (PYTHONSTARTUP, PYTHONPATH, PYTHONHOME, ...)"),
    ("NODE_*", "node (NODE_OPTIONS, NODE_PATH, ...)"),
    ("NPM_CONFIG_*", "npm"),
    ("npm_config_*", "npm"),
    ("RUBY*", "ruby (RUBYOPT, RUBYLIB, ...)"),
    ("GEM_*", "rubygems"),
    ("BUNDLE_*", "bundler"),
    ("JAVA_TOOL_OPTIONS", "the JVM"),
    ("_JAVA_OPTIONS", "the JVM"),
    ("JDK_JAVA_OPTIONS", "the JVM"),
    ("CLASSPATH", "the JVM"),
    ("PHPRC", "php"),
    ("PHP_INI_SCAN_DIR", "php"),
    ("LUA_*", "lua (LUA_INIT, LUA_PATH, ...)"),
    ("TCLLIBPATH", "tcl"),
    ("R_PROFILE*", "R"),
    ("R_ENVIRON*", "R"),
    ("R_LIBS*", "R"),
    ("GIT_*", "git (GIT_SSH_COMMAND, GIT_CONFIG_*, GIT_EXEC_PATH, ...)"),
    ("OPENSSL_CONF", "OpenSSL (engines and providers)"),
    ("OPENSSL_ENGINES", "OpenSSL"),
    ("OPENSSL_MODULES", "OpenSSL"),
    ("PAGER", "programs that run a pager"),
    ("MANPAGER", "man"),
    ("EDITOR", "programs that run an editor"),
    ("VISUAL", "programs that run an editor"),
    ("LESSOPEN", "less (an input preprocessor)"),
    ("LESSCLOSE", "less"),
    ("GTK_MODULES", "GTK"),
    ("GTK_PATH", "GTK"),
    ("QT_PLUGIN_PATH", "Qt"),
];

/// The program family whose code hook the environment variable `name` is, if it is one no
/// child may be given (see [`CODE_HOOKS`]).
pub(crate) fn code_hook(name: &str) -> Option<&'static str> {
    CODE_HOOKS
        .iter()
        .find(|(pattern, _)| match pattern.strip_suffix('*') {
            Some(prefix) => name.starts_with(prefix),
            None => name == *pattern,
        })
        .map(|(_, family)| *family)
}

/// One spawn request, from `spawn`, `spawn-detached` or `spawn-shell`.
pub(crate) struct Launch {
    /// `interface.function`, for audit lines.
    pub(crate) operation: &'static str,
    /// The executable as the guest named it (`/bin/sh` for the shell).
    pub(crate) executable: String,
    pub(crate) args: Vec<String>,
    pub(crate) env: Vec<(String, String)>,
    pub(crate) cwd: Option<String>,
    pub(crate) stdin: Stdio,
    pub(crate) stdout: Stdio,
    pub(crate) stderr: Stdio,
    pub(crate) detached: bool,
    /// The host's shell: authorized as `/bin/sh` exactly as the catalogue says, without the
    /// symlink chain (the host trusts its own shell, whatever `/bin/sh` links to).
    pub(crate) shell: bool,
}

fn denied(Denied(text): Denied) -> ProcessError {
    ProcessError::PermissionDenied(text)
}

impl ProcessView<'_> {
    /// Spawns a child after every check, in this order: the grant of the executable and of each
    /// link it goes through; the host's rules on the environment and stdin; the arguments; the
    /// working directory; the instance's limit of children. Nothing is started unless all pass.
    pub(crate) fn launch_child(&mut self, launch: Launch) -> Result<Resource<ChildEntry>, ProcessError> {
        let op = launch.operation;
        let exe = launch.executable.as_str();
        self.guard_spawn(op, exe)?;
        let program = if launch.shell {
            SHELL.to_string()
        } else {
            let program = self.resolve_executable(op, exe)?;
            // What really runs: every directory link on the way resolved, each hop checked
            // against the policies' denials. That path is the one executed.
            let program = self.real_path(op, &program)?;
            self.check_interpreters(op, &program)?;
            program
        };
        if let Some((name, family)) = launch
            .env
            .iter()
            .find_map(|(name, _)| code_hook(name).map(|family| (name, family)))
        {
            return Err(denied(self.guard.refuse(
                op,
                &format!(
                    "process:spawn {} with {} in its environment",
                    exe.escape_debug(),
                    name.escape_debug()
                ),
                &format!(
                    "host rule: {} makes {family} run code the program did not name; a child's environment never carries such hooks",
                    name.escape_debug()
                ),
            )));
        }
        if launch.stdin == Stdio::Inherit {
            return Err(denied(self.guard.refuse(
                op,
                &format!("process:spawn {} with the host's stdin", exe.escape_debug()),
                "host rule: the host's standard input is never given to a child",
            )));
        }
        check_env(exe, &launch.env)?;
        if let Some(arg) = launch.args.iter().find(|a| a.contains('\0')) {
            return Err(ProcessError::InvalidInput(format!(
                "{}: argument {:?} contains a NUL byte",
                exe.escape_debug(),
                arg
            )));
        }
        let cwd = launch.cwd.as_deref().map(check_cwd).transpose()?;
        self.check_child_limit()?;
        let exec = Exec::new(&program, exe, &launch.args, &launch.env)?;

        // The standard library sets up the child (streams, directory, group) and forks; the
        // program, its arguments and its environment are in `exec`, whose `execve` ends the
        // hook below.
        let mut command = Command::new(&program);
        command
            .env_clear()
            .stdin(stdio(launch.stdin))
            .stdout(stdio(launch.stdout))
            .stderr(stdio(launch.stderr))
            // Its own group: a signal to its group can never reach the host's.
            .process_group(0);
        if let Some(cwd) = cwd {
            command.current_dir(cwd);
        }
        // A child that is not detached dies with the host process: the kernel sends it SIGKILL
        // when the thread that forked it ends, and that thread is the spawner thread, which
        // lives as long as the process (see `spawn_for_host`).
        let host = rustix::process::getpid();
        let die_with_host = !launch.detached;
        // SAFETY: the hook runs in the child between fork and exec; it only makes system calls
        // that are async-signal-safe (sigaction, prctl, getppid, execve) and allocates nothing.
        // It ends in the exact `execve` of the program: it returns only if that failed, and
        // then with the error, so the standard library's own exec (`execvp`, which glibc retries
        // through `/bin/sh` when the kernel answers ENOEXEC) never runs.
        unsafe {
            command.pre_exec(move || {
                default_signal_dispositions()?;
                if die_with_host {
                    die_with_parent(host)?;
                }
                Err(exec.exec())
            });
        }
        let child = spawn_for_host(command).map_err(|e| spawn_error(exe, &program, &e))?;
        let live = std::sync::Arc::clone(&self.process.live);
        let entry = ChildEntry::adopt(child, exe.to_string(), launch.args, launch.detached, live)
            .map_err(|e| ProcessError::Io(format!("{}: {e}", exe.escape_debug())))?;
        // A full table drops the entry, which kills and reaps the child.
        let handle = self.table.push(entry).map_err(|_| ProcessError::LimitExceeded)?;
        self.process.handles.insert(handle.rep());
        Ok(handle)
    }

    /// Asks the guard for `process:spawn executable`.
    fn guard_spawn(&mut self, op: &str, executable: &str) -> Result<(), ProcessError> {
        self.guard
            .authorize(op, Request::Spawn { executable })
            .map(drop)
            .map_err(denied)
    }

    /// [`Self::guard_spawn`] for where the symbolic link `link` leads.
    fn guard_spawn_hop(&mut self, op: &str, link: &str, executable: &str) -> Result<(), ProcessError> {
        self.guard
            .authorize_hop(op, Request::Spawn { executable }, link)
            .map(drop)
            .map_err(denied)
    }

    /// The file to run for `executable`: the path itself, or, when its final component is a
    /// symbolic link, the end of the chain of links, each of which must be granted too. Link
    /// targets are joined to the link's directory and normalised lexically, as the decision
    /// normalises requests, so the path that was authorized is the path that runs.
    fn resolve_executable(&mut self, op: &str, executable: &str) -> Result<String, ProcessError> {
        let start = self.absolute_executable(executable)?;
        self.follow_links(start, |state, link, next| state.guard_spawn_hop(op, link, next))
    }

    /// The path `path` really names: every symbolic link on the way (in the directories as
    /// well as at the end) resolved as the kernel resolves it, one name at a time from `/`. Each
    /// hop, the path as a link's target makes it, is checked against the organisation
    /// policies' denials (one audit line each), so that a directory link (`/data/tools ->
    /// /bin`, made by the component in a grant it may write) cannot lead a granted path to a
    /// denied program. Links at the end of `path` were already authorized by
    /// [`Self::resolve_executable`] (or are an interpreter's); here only denials apply, since
    /// a grant names a program by the path its author wrote, which system links
    /// (`/bin -> usr/bin`) may lead elsewhere.
    pub(crate) fn real_path(&mut self, op: &str, path: &str) -> Result<String, ProcessError> {
        let mut done = String::new();
        // The names still to resolve, the next one last.
        let mut rest: Vec<String> = path.rsplit('/').filter(|n| !n.is_empty()).map(str::to_string).collect();
        let mut links = 0;
        while let Some(name) = rest.pop() {
            match name.as_str() {
                "." => continue,
                ".." => {
                    done.truncate(done.rfind('/').unwrap_or(0));
                    continue;
                }
                _ => {}
            }
            let candidate = format!("{done}/{name}");
            let meta = std::fs::symlink_metadata(&candidate).map_err(|e| match e.kind() {
                std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory => {
                    ProcessError::NotFound(candidate.escape_debug().to_string())
                }
                _ => ProcessError::Io(format!("{}: {e}", candidate.escape_debug())),
            })?;
            if !meta.file_type().is_symlink() {
                done = candidate;
                continue;
            }
            links += 1;
            if links > MAX_LINKS {
                return Err(ProcessError::InvalidInput(format!(
                    "{}: too many levels of symbolic links",
                    path.escape_debug()
                )));
            }
            let target = std::fs::read_link(&candidate)
                .map_err(|e| ProcessError::Io(format!("{}: {e}", candidate.escape_debug())))?;
            // As in `next_link`: a non-UTF-8 target goes on under its lossy name.
            let target = target.to_string_lossy().into_owned();
            if target.starts_with('/') {
                done.clear();
            }
            rest.extend(target.rsplit('/').filter(|n| !n.is_empty()).map(str::to_string));
            let mut hop = if done.is_empty() {
                String::from("/")
            } else {
                format!("{done}/")
            };
            hop.push_str(&rest.iter().rev().map(String::as_str).collect::<Vec<_>>().join("/"));
            let hop = normalize_path(&hop).map_err(|e| ProcessError::InvalidInput(e.to_string()))?;
            self.guard_hop(op, path, &candidate, &hop)?;
        }
        Ok(if done.is_empty() { "/".to_string() } else { done })
    }

    /// Checks a hop of [`Self::real_path`] against the policies' denials: a denied hop gets
    /// an audit line (`denied`, or `would-deny` in report-only mode). An allowed hop gets none:
    /// it is the program the grant already allowed, under the name the links give it.
    fn guard_hop(&mut self, op: &str, path: &str, link: &str, hop: &str) -> Result<(), ProcessError> {
        let request = Request::Spawn { executable: hop };
        let Some(rule) = self.guard.policy.effective.denials.denied_by(&request).cloned() else {
            return Ok(());
        };
        let resource = describe_request(&request);
        let by = format!(
            "policy {rule} ({} leads here through the symbolic link {})",
            path.escape_debug(),
            link.escape_debug()
        );
        self.guard
            .authorize_handle_via(op, &resource, false, &by, Some(link))
            .map_err(denied)
    }

    /// The end of the chain of symbolic links that starts at `path`, with `guard` asked about
    /// each link's target (not about `path` itself) before it is followed, given the link too.
    fn follow_links(
        &mut self,
        path: String,
        mut guard: impl FnMut(&mut Self, &str, &str) -> Result<(), ProcessError>,
    ) -> Result<String, ProcessError> {
        let mut current = path.clone();
        for _ in 0..MAX_LINKS {
            let Some(next) = next_link(&current)? else {
                return Ok(current);
            };
            guard(self, &current, &next)?;
            current = next;
        }
        Err(ProcessError::InvalidInput(format!(
            "{}: too many levels of symbolic links",
            path.escape_debug()
        )))
    }

    /// The organisation's policy holds for what really runs. When `program` is a script, the
    /// kernel runs its `#!` interpreter (and that one's, if it is a script too): each of them,
    /// and each symbolic link on the way to it, must not be an executable a policy rule denies
    /// (`[process] deny-executables` lists shells and `/usr/bin/env`). The manifest need not
    /// grant the interpreter — a grant on a script is a grant to run it — but every
    /// interpreter gets an audit line. An interpreter named by a relative path (which the
    /// kernel would look up from the working directory) and an executable the host cannot read
    /// (an execute-only file, which might be a script) are refused.
    fn check_interpreters(&mut self, op: &str, program: &str) -> Result<(), ProcessError> {
        let mut script = program.to_string();
        let mut depth = 0;
        loop {
            let Some(interpreter) = self.interpreter_of(op, &script)? else {
                return Ok(());
            };
            if depth == MAX_INTERPRETERS {
                return Err(ProcessError::InvalidInput(format!(
                    "{}: more than {MAX_INTERPRETERS} nested `#!` interpreters",
                    program.escape_debug()
                )));
            }
            self.guard_interpreter(op, &script, &interpreter, None)?;
            let end = self.follow_links(interpreter, |state, link, next| {
                state.guard_interpreter(op, &script, next, Some(link))
            })?;
            script = self.real_path(op, &end)?;
            depth += 1;
        }
    }

    /// The `#!` interpreter of `script` as the kernel reads it (the first word of the first
    /// line, at most 256 bytes in), normalised; `None` when `script` is not a script.
    fn interpreter_of(&mut self, op: &str, script: &str) -> Result<Option<String>, ProcessError> {
        use std::io::Read as _;
        use std::os::unix::fs::OpenOptionsExt as _;
        let mut head = Vec::with_capacity(SHEBANG_BYTES);
        // Non-blocking, so that a FIFO in the executable's place cannot hold the host.
        let opened = std::fs::File::options()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(script)
            .and_then(|file| {
                if !file.metadata()?.is_file() {
                    return Ok(false);
                }
                file.take(SHEBANG_BYTES as u64).read_to_end(&mut head).map(|_| true)
            });
        match opened {
            Ok(true) => {}
            // Not a regular file: the kernel refuses to run it, and says so.
            Ok(false) => return Ok(None),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => {
                return Err(denied(self.guard.refuse(
                    op,
                    &format!("process:spawn {}", script.escape_debug()),
                    &format!("host rule: the file cannot be read to look for a `#!` interpreter ({e})"),
                )));
            }
        }
        let Some(line) = head.strip_prefix(b"#!") else {
            return Ok(None);
        };
        let line = line.split(|&b| b == b'\n').next().unwrap_or_default();
        let word = line
            .split(|&b| matches!(b, b' ' | b'\t' | b'\0'))
            .find(|w| !w.is_empty())
            .unwrap_or_default();
        if word.is_empty() {
            // `#!` with nothing after it: the kernel refuses to run it.
            return Ok(None);
        }
        let word = String::from_utf8_lossy(word);
        if !word.starts_with('/') {
            return Err(denied(self.guard.refuse(
                op,
                &format!("process:spawn {}", word.escape_debug()),
                &format!(
                    "host rule: the `#!` interpreter of {} is a relative path, which the kernel would look up from the working directory",
                    script.escape_debug()
                ),
            )));
        }
        normalize_path(&word)
            .map(Some)
            .map_err(|e| ProcessError::InvalidInput(format!("{}: `#!` {e}", script.escape_debug())))
    }

    /// One audit line for an interpreter (or a link on the way to it): denied when a policy
    /// rule denies spawning it, allowed otherwise.
    fn guard_interpreter(
        &mut self,
        op: &str,
        script: &str,
        interpreter: &str,
        link: Option<&str>,
    ) -> Result<(), ProcessError> {
        let request = Request::Spawn {
            executable: interpreter,
        };
        let rule = self.guard.policy.effective.denials.denied_by(&request).cloned();
        if !self.guard.records(rule.is_none()) {
            return Ok(());
        }
        let resource = describe_request(&request);
        let by = match &rule {
            Some(rule) => format!("policy {rule} (the `#!` interpreter of {})", script.escape_debug()),
            None => format!("the `#!` interpreter of {}", script.escape_debug()),
        };
        self.guard
            .authorize_handle_via(op, &resource, rule.is_none(), &by, link)
            .map_err(denied)
    }

    /// `executable` normalised as the decision normalises it (with `~` expanded as the decision
    /// expands it); there is no PATH lookup, so a relative name is refused. The guard has
    /// already denied such a name unless the mode lets denials through.
    fn absolute_executable(&self, executable: &str) -> Result<String, ProcessError> {
        let relative = || {
            ProcessError::InvalidInput(format!(
                "{}: the executable must be an absolute path (there is no PATH lookup)",
                executable.escape_debug()
            ))
        };
        let normal = normalize_path(executable).map_err(|_| relative())?;
        let Some(rest) = normal.strip_prefix('~') else {
            return Ok(normal);
        };
        let home = self
            .guard
            .policy
            .env
            .home
            .as_deref()
            .and_then(|h| normalize_path(h).ok())
            .filter(|h| h.starts_with('/'))
            .ok_or_else(relative)?;
        Ok(match (home.as_str(), rest) {
            (home, "") => home.to_string(),
            ("/", rest) => rest.to_string(),
            (home, rest) => format!("{home}{rest}"),
        })
    }

    /// `limit-exceeded` when the instance already has `max_children` processes that have not
    /// been reaped (children that ended are reaped first, so they do not count).
    fn check_child_limit(&mut self) -> Result<(), ProcessError> {
        let live = std::sync::atomic::Ordering::SeqCst;
        if self.process.live.load(live) >= self.guard.run_limits.max_children {
            self.refresh_children();
        }
        if self.process.live.load(live) >= self.guard.run_limits.max_children {
            return Err(ProcessError::LimitExceeded);
        }
        Ok(())
    }
}

/// The path a symbolic link at `current` points to, joined to the link's directory and
/// normalised as the decision normalises requests (so the path authorized is the path that
/// runs); `None` when `current` is not a link.
fn next_link(current: &str) -> Result<Option<String>, ProcessError> {
    let meta = std::fs::symlink_metadata(current).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory => {
            ProcessError::NotFound(current.escape_debug().to_string())
        }
        _ => ProcessError::Io(format!("{}: {e}", current.escape_debug())),
    })?;
    if !meta.file_type().is_symlink() {
        return Ok(None);
    }
    let target =
        std::fs::read_link(current).map_err(|e| ProcessError::Io(format!("{}: {e}", current.escape_debug())))?;
    // A non-UTF-8 target is checked and run under the same (lossy) name, which no real file
    // has: it is denied or not found, never something else.
    let target = target.to_string_lossy();
    let joined = if target.starts_with('/') {
        target.into_owned()
    } else {
        let dir = current.rfind('/').map_or("", |i| &current[..i]);
        format!("{dir}/{target}")
    };
    normalize_path(&joined)
        .map(Some)
        .map_err(|e| ProcessError::InvalidInput(e.to_string()))
}

/// A spawn request for the spawner thread, and where its answer goes.
type SpawnJob = (Command, std::sync::mpsc::Sender<std::io::Result<std::process::Child>>);

/// Spawns `command` from the host's spawner thread: one thread for the whole process, started
/// on the first spawn and never ended. The kernel ties a child's parent-death signal to the
/// thread that forked it, and the threads that call into a component (a host's workers) may
/// end while the process goes on; this one ends only with the process.
fn spawn_for_host(command: Command) -> std::io::Result<std::process::Child> {
    use std::sync::OnceLock;
    use std::sync::mpsc::{Sender, channel};
    static SPAWNER: OnceLock<Result<Sender<SpawnJob>, String>> = OnceLock::new();
    let spawner = SPAWNER.get_or_init(|| {
        let (jobs, queue) = channel::<SpawnJob>();
        std::thread::Builder::new()
            .name("airssys-spawner".into())
            .stack_size(256 * 1024)
            .spawn(move || {
                for (mut command, answer) in queue {
                    let _ = answer.send(command.spawn());
                }
            })
            .map(|_| jobs)
            .map_err(|e| e.to_string())
    });
    let jobs = spawner
        .as_ref()
        .map_err(|e| std::io::Error::other(format!("the host's spawner thread could not start: {e}")))?;
    let (answer, reply) = channel();
    jobs.send((command, answer))
        .map_err(|_| std::io::Error::other("the host's spawner thread has ended"))?;
    reply
        .recv()
        .map_err(|_| std::io::Error::other("the host's spawner thread has ended"))?
}

/// Runs in the child before exec: asks the kernel for SIGKILL when the parent (thread) ends,
/// and gives up if the host process `host` has already ended (the child was re-parented).
fn die_with_parent(host: rustix::process::Pid) -> std::io::Result<()> {
    // SAFETY: prctl with PR_SET_PDEATHSIG takes a signal number; getppid takes nothing.
    let (set, parent) = unsafe {
        (
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong),
            libc::getppid(),
        )
    };
    if set != 0 {
        return Err(std::io::Error::last_os_error());
    }
    if parent != host.as_raw_nonzero().get() {
        return Err(std::io::Error::other("the host process has ended"));
    }
    Ok(())
}

/// Runs in the child before exec: every signal a guest can name gets its default disposition,
/// so a signal the host happens to ignore (SIGINT and SIGQUIT in a background job, SIGHUP under
/// `nohup`) still has its usual effect on the child. (Handlers are reset by exec itself, and the
/// standard library clears the signal mask.)
fn default_signal_dispositions() -> std::io::Result<()> {
    for signal in 1..=31 {
        if signal == libc::SIGKILL || signal == libc::SIGSTOP {
            continue;
        }
        // SAFETY: a zeroed sigaction is SIG_DFL with an empty mask and no flags; the old action
        // is not asked for.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = libc::SIG_DFL;
            libc::sigaction(signal, &action, std::ptr::null_mut());
        }
    }
    Ok(())
}

/// Environment names must be non-empty without `=` or NUL; values without NUL.
fn check_env(exe: &str, env: &[(String, String)]) -> Result<(), ProcessError> {
    for (name, value) in env {
        if name.is_empty() || name.contains(['=', '\0']) {
            return Err(ProcessError::InvalidInput(format!(
                "{}: environment variable name {:?} is empty or contains `=` or NUL",
                exe.escape_debug(),
                name
            )));
        }
        if value.contains('\0') {
            return Err(ProcessError::InvalidInput(format!(
                "{}: the value of environment variable {} contains a NUL byte",
                exe.escape_debug(),
                name.escape_debug()
            )));
        }
    }
    Ok(())
}

/// A working directory is an absolute path to a directory that exists.
fn check_cwd(cwd: &str) -> Result<&str, ProcessError> {
    if !cwd.starts_with('/') || cwd.contains('\0') {
        return Err(ProcessError::InvalidInput(format!(
            "working directory {}: must be an absolute path without NUL",
            cwd.escape_debug()
        )));
    }
    match std::fs::metadata(cwd) {
        Ok(meta) if meta.is_dir() => Ok(cwd),
        Ok(_) => Err(ProcessError::InvalidInput(format!(
            "working directory {}: not a directory",
            cwd.escape_debug()
        ))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Err(ProcessError::NotFound(cwd.escape_debug().to_string()))
        }
        Err(e) => Err(ProcessError::Io(format!(
            "working directory {}: {e}",
            cwd.escape_debug()
        ))),
    }
}

fn stdio(choice: Stdio) -> StdStdio {
    match choice {
        Stdio::Null => StdStdio::null(),
        Stdio::Piped => StdStdio::piped(),
        Stdio::Inherit => StdStdio::inherit(),
    }
}

/// The exact `execve` a child makes: the program's path, its arguments (`argv[0]` as the guest
/// named the executable) and its environment, all made before the fork, because the hook that
/// runs after it must not allocate.
struct Exec {
    path: CString,
    argv: Vec<*const libc::c_char>,
    envp: Vec<*const libc::c_char>,
    /// What `argv` and `envp` point into (heap buffers, which stay put when this moves).
    _strings: Vec<CString>,
}

// SAFETY: the pointers point into `_strings`, owned by the same value and never changed; the
// value is only read (in the child, after the fork).
unsafe impl Send for Exec {}
// SAFETY: as above; nothing is mutated through a shared reference.
unsafe impl Sync for Exec {}

impl Exec {
    fn new(program: &str, arg0: &str, args: &[String], env: &[(String, String)]) -> Result<Exec, ProcessError> {
        let c = |text: String| {
            CString::new(text).map_err(|e| {
                ProcessError::InvalidInput(format!("{}: contains a NUL byte", e.into_vec().escape_ascii()))
            })
        };
        let path = c(program.to_string())?;
        let mut strings = Vec::with_capacity(1 + args.len() + env.len());
        strings.push(c(arg0.to_string())?);
        for arg in args {
            strings.push(c(arg.clone())?);
        }
        for (name, value) in env {
            strings.push(c(format!("{name}={value}"))?);
        }
        let pointers = |items: &[CString]| {
            items
                .iter()
                .map(|s| s.as_ptr())
                .chain(std::iter::once(std::ptr::null()))
                .collect::<Vec<_>>()
        };
        let argv = pointers(&strings[..=args.len()]);
        let envp = pointers(&strings[args.len() + 1..]);
        Ok(Exec {
            path,
            argv,
            envp,
            _strings: strings,
        })
    }

    /// Replaces the process with the program; returns only when that failed, with the error.
    fn exec(&self) -> std::io::Error {
        // SAFETY: NUL-terminated strings and NULL-terminated arrays of them, alive in `self`.
        unsafe { libc::execve(self.path.as_ptr(), self.argv.as_ptr(), self.envp.as_ptr()) };
        std::io::Error::last_os_error()
    }
}

fn spawn_error(exe: &str, program: &str, e: &std::io::Error) -> ProcessError {
    let name = if exe == program {
        exe.escape_debug().to_string()
    } else {
        format!("{} ({})", exe.escape_debug(), program.escape_debug())
    };
    if e.raw_os_error() == Some(libc::ENOEXEC) {
        return ProcessError::InvalidInput(format!(
            "{name}: not a program this host can run: the kernel knows its format neither as an executable (such as ELF) nor as a script starting with `#!` ({e}); it is never handed to a shell: give it a `#!` line naming its interpreter"
        ));
    }
    match e.kind() {
        std::io::ErrorKind::NotFound => ProcessError::NotFound(format!("{name}: {e}")),
        std::io::ErrorKind::InvalidInput | std::io::ErrorKind::ArgumentListTooLong => {
            ProcessError::InvalidInput(format!("{name}: {e}"))
        }
        _ => ProcessError::Io(format!("{name}: {e}")),
    }
}
