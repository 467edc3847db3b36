//! `airssys:ext-network/types`: the network's records and errors, and the `socket` and `pool`
//! resources ([`SocketEntry`] and [`PoolEntry`] in the resource table), implemented on
//! [`NetView`].

use wasmtime::component::{Linker, Resource};

use crate::runtime::bindings::net_types;
use crate::runtime::net::{HasNet, NetView};
use crate::runtime::resources::{PoolEntry, SocketEntry};
use crate::runtime::state::InstanceState;

pub(crate) fn add_to_linker(linker: &mut Linker<InstanceState>) -> wasmtime::Result<()> {
    net_types::add_to_linker::<InstanceState, HasNet>(linker, InstanceState::net_view)
}

impl net_types::Host for NetView<'_> {}

impl net_types::HostSocket for NetView<'_> {
    fn drop(&mut self, rep: Resource<SocketEntry>) -> wasmtime::Result<()> {
        drop(self.take_socket(rep));
        Ok(())
    }
}

impl net_types::HostPool for NetView<'_> {
    fn drop(&mut self, rep: Resource<PoolEntry>) -> wasmtime::Result<()> {
        self.close_pool(rep);
        Ok(())
    }
}
