//! `airssys:ext-process/signals`: 14 operations that signal this instance's children (one at a
//! time, or a process group made only of them) and name signals, implemented on
//! [`ProcessView`].

use std::collections::BTreeMap;

use wasmtime::component::{Linker, Resource};

use crate::policy::{Request, Signal};
use crate::runtime::bindings::proc_types::{ChildExit, ProcessError, Signal as WitSignal};
use crate::runtime::bindings::signals;
use crate::runtime::process::{
    ChildEntry, HasProcess, ProcessView, WIT_SIGNALS, denied, group_members, host_number, policy_signal,
};
use crate::runtime::state::InstanceState;

pub(crate) fn add_to_linker(linker: &mut Linker<InstanceState>) -> wasmtime::Result<()> {
    signals::add_to_linker::<InstanceState, HasProcess>(linker, InstanceState::process_view)
}

impl signals::Host for ProcessView<'_> {
    fn send_signal(&mut self, handle: Resource<ChildEntry>, signal: WitSignal) -> Result<(), ProcessError> {
        self.signal_child("signals.send-signal", &handle, policy_signal(signal))
    }

    fn send_term(&mut self, handle: Resource<ChildEntry>) -> Result<(), ProcessError> {
        self.signal_child("signals.send-term", &handle, Signal::Term)
    }

    fn send_kill(&mut self, handle: Resource<ChildEntry>) -> Result<(), ProcessError> {
        self.signal_child("signals.send-kill", &handle, Signal::Kill)
    }

    fn send_interrupt(&mut self, handle: Resource<ChildEntry>) -> Result<(), ProcessError> {
        self.signal_child("signals.send-interrupt", &handle, Signal::Int)
    }

    fn send_hangup(&mut self, handle: Resource<ChildEntry>) -> Result<(), ProcessError> {
        self.signal_child("signals.send-hangup", &handle, Signal::Hup)
    }

    fn send_user1(&mut self, handle: Resource<ChildEntry>) -> Result<(), ProcessError> {
        self.signal_child("signals.send-user1", &handle, Signal::Usr1)
    }

    fn send_user2(&mut self, handle: Resource<ChildEntry>) -> Result<(), ProcessError> {
        self.signal_child("signals.send-user2", &handle, Signal::Usr2)
    }

    fn signal_group(&mut self, handle: Resource<ChildEntry>, signal: WitSignal) -> Result<(), ProcessError> {
        const OP: &str = "signals.signal-group";
        let signal = policy_signal(signal);
        self.guard.authorize(OP, Request::Signal { signal }).map_err(denied)?;
        self.refresh_children();
        let pgid = self.child_entry(&handle)?.process_group()?;
        let ours: BTreeMap<u32, u32> = {
            let reps: Vec<u32> = self.process.handles.iter().copied().collect();
            reps.into_iter()
                .filter_map(|rep| {
                    let child = self.child_entry_at(rep)?;
                    child.recorded_exit().is_none().then(|| (child.pid(), rep))
                })
                .collect()
        };
        let members = group_members(pgid)?;
        if let Some(stranger) = members.iter().find(|pid| !ours.contains_key(pid)) {
            let by = format!(
                "host rule: process group {pgid} includes process {stranger}, which is not a child of this instance"
            );
            return Err(denied(self.guard.refuse(
                OP,
                &format!("process:signal {signal} to process group {pgid}"),
                &by,
            )));
        }
        let number = host_number(signal);
        for pid in members {
            let Some(child) = ours.get(&pid).and_then(|&rep| self.child_entry_at(rep)) else {
                continue;
            };
            match child.signal(number) {
                // A member that ended meanwhile no longer needs the signal.
                Ok(()) | Err(ProcessError::AlreadyExited) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    fn set_process_group(
        &mut self,
        handle: Resource<ChildEntry>,
        leader: Option<Resource<ChildEntry>>,
    ) -> Result<(), ProcessError> {
        let target = match leader {
            None => self.child_entry(&handle)?.pid(),
            Some(leader) => self.child_entry(&leader)?.process_group()?,
        };
        self.child_entry(&handle)?.set_process_group(target)
    }

    fn get_process_group(&mut self, handle: Resource<ChildEntry>) -> Result<u32, ProcessError> {
        self.child_entry(&handle)?.process_group()
    }

    fn graceful_shutdown(&mut self, handle: Resource<ChildEntry>, grace_ms: u64) -> Result<ChildExit, ProcessError> {
        const OP: &str = "signals.graceful-shutdown";
        // Both parts of the requirement are decided (and logged) before anything happens.
        let term = self.guard.authorize(OP, Request::Signal { signal: Signal::Term });
        let kill = self.guard.authorize(OP, Request::Signal { signal: Signal::Kill });
        term.map_err(denied)?;
        kill.map_err(denied)?;
        let grace = self.process_deadline(grace_ms);
        let child = self.child_entry(&handle)?;
        child.signal(host_number(Signal::Term))?;
        if let Some(exit) = child.wait_until(grace)? {
            return Ok(exit.wit());
        }
        match child.signal(host_number(Signal::Kill)) {
            Ok(()) | Err(ProcessError::AlreadyExited) => {}
            Err(e) => return Err(e),
        }
        let deadline = self.process_deadline(u64::MAX);
        match self.child_entry(&handle)?.wait_until(deadline)? {
            Some(exit) => Ok(exit.wit()),
            None => Err(ProcessError::Timeout),
        }
    }

    fn signal_name(&mut self, signal: WitSignal) -> String {
        policy_signal(signal).as_str().to_string()
    }

    fn signal_number(&mut self, signal: WitSignal) -> i32 {
        host_number(policy_signal(signal))
    }

    fn list_signals(&mut self) -> Vec<WitSignal> {
        WIT_SIGNALS.to_vec()
    }
}
