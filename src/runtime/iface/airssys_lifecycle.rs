//! `airssys:ext-process/lifecycle`: 18 operations that start child processes and follow them
//! (wait, pipes, information, kill), implemented on [`ProcessView`]. Spawning (the checks, the
//! exact `execve`, the spawner thread) is in `runtime/process/spawn.rs`.

use wasmtime::component::{Linker, Resource};

use crate::policy::Signal;
use crate::runtime::bindings::lifecycle;
use crate::runtime::bindings::proc_types::{
    ChildExit, ChildInfo, ProcessError, ShellOptions, SpawnOptions, UsageStats,
};
use crate::runtime::process::{ChildEntry, HasProcess, Launch, Output, ProcessView, SHELL};
use crate::runtime::state::InstanceState;

pub(crate) fn add_to_linker(linker: &mut Linker<InstanceState>) -> wasmtime::Result<()> {
    lifecycle::add_to_linker::<InstanceState, HasProcess>(linker, InstanceState::process_view)
}

impl lifecycle::Host for ProcessView<'_> {
    fn spawn(&mut self, options: SpawnOptions) -> Result<Resource<ChildEntry>, ProcessError> {
        self.launch_child(Launch {
            operation: "lifecycle.spawn",
            executable: options.executable,
            args: options.args,
            env: options.env,
            cwd: options.cwd,
            stdin: options.stdin,
            stdout: options.stdout,
            stderr: options.stderr,
            detached: false,
            shell: false,
        })
    }

    fn spawn_detached(&mut self, options: SpawnOptions) -> Result<Resource<ChildEntry>, ProcessError> {
        self.launch_child(Launch {
            operation: "lifecycle.spawn-detached",
            executable: options.executable,
            args: options.args,
            env: options.env,
            cwd: options.cwd,
            stdin: options.stdin,
            stdout: options.stdout,
            stderr: options.stderr,
            detached: true,
            shell: false,
        })
    }

    fn spawn_shell(&mut self, command: String, options: ShellOptions) -> Result<Resource<ChildEntry>, ProcessError> {
        self.launch_child(Launch {
            operation: "lifecycle.spawn-shell",
            executable: SHELL.to_string(),
            args: vec!["-c".to_string(), command],
            env: options.env,
            cwd: options.cwd,
            stdin: options.stdin,
            stdout: options.stdout,
            stderr: options.stderr,
            detached: false,
            shell: true,
        })
    }

    fn wait(&mut self, handle: Resource<ChildEntry>) -> Result<ChildExit, ProcessError> {
        let deadline = self.process_deadline(u64::MAX);
        match self.child_entry(&handle)?.wait_until(deadline)? {
            Some(exit) => Ok(exit.wit()),
            None => Err(ProcessError::Timeout),
        }
    }

    fn wait_timeout(
        &mut self,
        handle: Resource<ChildEntry>,
        timeout_ms: u64,
    ) -> Result<Option<ChildExit>, ProcessError> {
        let deadline = self.process_deadline(timeout_ms);
        Ok(self.child_entry(&handle)?.wait_until(deadline)?.map(|e| e.wit()))
    }

    fn try_wait(&mut self, handle: Resource<ChildEntry>) -> Result<Option<ChildExit>, ProcessError> {
        Ok(self.child_entry(&handle)?.refresh().map(|e| e.wit()))
    }

    fn is_running(&mut self, handle: Resource<ChildEntry>) -> bool {
        self.child_entry(&handle).is_ok_and(|c| c.refresh().is_none())
    }

    fn exit_status(&mut self, handle: Resource<ChildEntry>) -> Option<ChildExit> {
        self.child_entry(&handle)
            .ok()
            .and_then(|c| c.refresh())
            .map(|e| e.wit())
    }

    fn write_stdin(&mut self, handle: Resource<ChildEntry>, data: Vec<u8>) -> Result<u64, ProcessError> {
        let deadline = self.process_deadline(u64::MAX);
        self.child_entry(&handle)?.write_stdin(&data, deadline)
    }

    fn close_stdin(&mut self, handle: Resource<ChildEntry>) -> Result<(), ProcessError> {
        self.child_entry(&handle)?.close_stdin()
    }

    fn read_stdout(&mut self, handle: Resource<ChildEntry>, max_len: u64) -> Result<Vec<u8>, ProcessError> {
        self.read_child_output(&handle, Output::Stdout, max_len)
    }

    fn read_stderr(&mut self, handle: Resource<ChildEntry>, max_len: u64) -> Result<Vec<u8>, ProcessError> {
        self.read_child_output(&handle, Output::Stderr, max_len)
    }

    fn current_pid(&mut self) -> u32 {
        std::process::id()
    }

    fn list_children(&mut self) -> Vec<ChildInfo> {
        let reps: Vec<u32> = self.process.handles.iter().copied().collect();
        reps.into_iter()
            .filter_map(|rep| {
                let child = self.child_entry_at(rep)?;
                // Children reaped by an earlier call are no longer listed.
                child.recorded_exit().is_none().then(|| child.info())
            })
            .collect()
    }

    fn process_info(&mut self, handle: Resource<ChildEntry>) -> Result<ChildInfo, ProcessError> {
        Ok(self.child_entry(&handle)?.info())
    }

    fn resource_usage(&mut self, handle: Resource<ChildEntry>) -> Result<UsageStats, ProcessError> {
        self.child_entry(&handle)?.usage()
    }

    fn kill(&mut self, handle: Resource<ChildEntry>) -> Result<(), ProcessError> {
        self.signal_child("lifecycle.kill", &handle, Signal::Kill)
    }

    fn terminate(&mut self, handle: Resource<ChildEntry>) -> Result<(), ProcessError> {
        self.signal_child("lifecycle.terminate", &handle, Signal::Term)
    }
}
