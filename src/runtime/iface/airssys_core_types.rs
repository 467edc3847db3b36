//! `airssys:core/types`: the records, variants and errors every airssys interface shares. It
//! has no functions and no resources; it is linked with the services view.

use wasmtime::component::Linker;

use crate::runtime::bindings::core_types;
use crate::runtime::services::{HasServices, ServicesView};
use crate::runtime::state::InstanceState;

pub(crate) fn add_to_linker(linker: &mut Linker<InstanceState>) -> wasmtime::Result<()> {
    core_types::add_to_linker::<InstanceState, HasServices>(linker, InstanceState::services_view)
}

impl core_types::Host for ServicesView<'_> {}
