//! Process extension host (placeholder until implemented).
#[derive(Debug)]
pub struct ChildEntry;
#[derive(Debug, Default)]
pub struct ProcState;
pub(crate) fn add_to_linker(_linker: &mut wasmtime::component::Linker<super::InstanceState>) -> wasmtime::Result<()> {
    Ok(())
}
