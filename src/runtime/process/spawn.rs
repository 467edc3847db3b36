//! Spawning: the guard (with the symlink chain of the executable), the host's environment and
//! stdin rules, argument checks, and the child's own process group.

use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio as StdStdio};

use wasmtime::component::Resource;

use super::child::ChildEntry;
use crate::policy::{Request, normalize_path};
use crate::runtime::bindings::proc_types::{ProcessError, Stdio};
use crate::runtime::state::{Denied, InstanceState};

/// The host's shell: what `spawn-shell` runs and what its grant names.
pub(crate) const SHELL: &str = "/bin/sh";

/// Longest chain of symbolic links followed from an executable (the kernel's own limit).
const MAX_LINKS: usize = 40;

/// Environment variables that make a program load or run code it did not name itself: the
/// dynamic loader's (`LD_*`, for glibc and musl alike), glibc's character-set modules and its
/// tunables, and the file a non-interactive `bash` (a granted bash script) sources first. Names
/// are compared as the loader and bash compare them, case-sensitively. (`ENV`, which only
/// interactive shells read, is an ordinary variable: a component that may run an interactive
/// shell can run anything already.)
const CODE_HOOKS: [&str; 3] = ["GCONV_PATH", "GLIBC_TUNABLES", "BASH_ENV"];

/// Whether the environment variable `name` is one of the hooks no child may be given.
pub(crate) fn is_code_hook(name: &str) -> bool {
    name.starts_with("LD_") || CODE_HOOKS.contains(&name)
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

impl InstanceState {
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
            self.resolve_executable(op, exe)?
        };
        if let Some((name, _)) = launch.env.iter().find(|(name, _)| is_code_hook(name)) {
            return Err(denied(self.refuse(
                op,
                &format!(
                    "process:spawn {} with {} in its environment",
                    exe.escape_debug(),
                    name.escape_debug()
                ),
                "host rule: a child's environment never carries dynamic-loader or startup-code variables",
            )));
        }
        if launch.stdin == Stdio::Inherit {
            return Err(denied(self.refuse(
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

        let mut command = Command::new(&program);
        command
            .arg0(exe)
            .args(&launch.args)
            .env_clear()
            .envs(launch.env.iter().map(|(k, v)| (k, v)))
            .stdin(stdio(launch.stdin))
            .stdout(stdio(launch.stdout))
            .stderr(stdio(launch.stderr))
            // Its own group: a signal to its group can never reach the host's.
            .process_group(0);
        if let Some(cwd) = cwd {
            command.current_dir(cwd);
        }
        let child = command.spawn().map_err(|e| spawn_error(exe, &program, &e))?;
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
        self.authorize(op, Request::Spawn { executable })
            .map(drop)
            .map_err(denied)
    }

    /// The file to run for `executable`: the path itself, or, when its final component is a
    /// symbolic link, the end of the chain of links, each of which must be granted too. Link
    /// targets are joined to the link's directory and normalised lexically, as the decision
    /// normalises requests, so the path that was authorized is the path that runs.
    fn resolve_executable(&mut self, op: &str, executable: &str) -> Result<String, ProcessError> {
        let mut current = self.absolute_executable(executable)?;
        for _ in 0..MAX_LINKS {
            let meta = std::fs::symlink_metadata(&current).map_err(|e| match e.kind() {
                std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory => {
                    ProcessError::NotFound(current.escape_debug().to_string())
                }
                _ => ProcessError::Io(format!("{}: {e}", current.escape_debug())),
            })?;
            if !meta.file_type().is_symlink() {
                return Ok(current);
            }
            let target = std::fs::read_link(&current)
                .map_err(|e| ProcessError::Io(format!("{}: {e}", current.escape_debug())))?;
            // A non-UTF-8 target is checked and run under the same (lossy) name, which no
            // real file has: it is denied or not found, never something else.
            let target = target.to_string_lossy();
            let joined = if target.starts_with('/') {
                target.into_owned()
            } else {
                let dir = current.rfind('/').map_or("", |i| &current[..i]);
                format!("{dir}/{target}")
            };
            let next = normalize_path(&joined).map_err(|e| ProcessError::InvalidInput(e.to_string()))?;
            self.guard_spawn(op, &next)?;
            current = next;
        }
        Err(ProcessError::InvalidInput(format!(
            "{}: too many levels of symbolic links",
            executable.escape_debug()
        )))
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
        if self.process.live.load(live) >= self.run_limits.max_children {
            self.refresh_children();
        }
        if self.process.live.load(live) >= self.run_limits.max_children {
            return Err(ProcessError::LimitExceeded);
        }
        Ok(())
    }
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

fn spawn_error(exe: &str, program: &str, e: &std::io::Error) -> ProcessError {
    let name = if exe == program {
        exe.escape_debug().to_string()
    } else {
        format!("{} ({})", exe.escape_debug(), program.escape_debug())
    };
    match e.kind() {
        std::io::ErrorKind::NotFound => ProcessError::NotFound(format!("{name}: {e}")),
        std::io::ErrorKind::InvalidInput | std::io::ErrorKind::ArgumentListTooLong => {
            ProcessError::InvalidInput(format!("{name}: {e}"))
        }
        _ => ProcessError::Io(format!("{name}: {e}")),
    }
}
