//! Network extension host (placeholder until implemented).
#[derive(Debug)]
pub struct SocketEntry;
#[derive(Debug)]
pub struct PoolEntry;
#[derive(Debug, Default)]
pub struct NetState;
pub(crate) fn add_to_linker(_linker: &mut wasmtime::component::Linker<super::InstanceState>) -> wasmtime::Result<()> {
    Ok(())
}
