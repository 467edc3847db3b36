//! Filesystem extension host (placeholder until implemented).
#[derive(Debug)]
pub struct FileHandle;
#[derive(Debug, Default)]
pub struct FsState;
pub(crate) fn add_to_linker(_linker: &mut wasmtime::component::Linker<super::InstanceState>) -> wasmtime::Result<()> {
    Ok(())
}
