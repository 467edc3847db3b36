//! `airssys:ext-process/types`: the process records and errors, and the `child` resource (a
//! [`ChildEntry`] in the resource table; dropping it kills and reaps a child that is not
//! detached), implemented on [`ProcessView`].

use wasmtime::component::{Linker, Resource};

use crate::runtime::bindings::proc_types;
use crate::runtime::process::{ChildEntry, HasProcess, ProcessView};
use crate::runtime::state::InstanceState;

pub(crate) fn add_to_linker(linker: &mut Linker<InstanceState>) -> wasmtime::Result<()> {
    proc_types::add_to_linker::<InstanceState, HasProcess>(linker, InstanceState::process_view)
}

impl proc_types::HostChild for ProcessView<'_> {
    fn drop(&mut self, handle: Resource<ChildEntry>) -> wasmtime::Result<()> {
        let rep = handle.rep();
        let entry = self.table.delete(handle)?;
        self.process.handles.remove(&rep);
        // Kills and reaps a child that is not detached; see `ChildEntry`'s `Drop`.
        drop(entry);
        Ok(())
    }
}

impl proc_types::Host for ProcessView<'_> {}
