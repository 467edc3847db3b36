//! Reading a compiled artifact: a component or a core module, as `.wasm` bytes or `.wat` text.
//!
//! The bytes are validated with wasmparser, once; each top-level import and export is listed
//! with its exact name and byte offset (from wasmparser's section readers), and for components
//! the validator's `Types` are kept, so that every imported function's type is known without
//! decoding the binary a second time.
//! Nothing here decides anything: the analyzer maps what is read onto the catalogue.

use std::ops::Range;

use std::collections::HashMap;
use wasmparser::{Chunk, Encoding, Parser, Payload, Validator, WasmFeatures};

use wasmparser::component_types::{ComponentAnyTypeId, ComponentEntityType, ResourceId};
use wasmparser::types::Types;

/// Files larger than this are refused unread (a finding, not a crash).
pub const MAX_ARTIFACT_BYTES: usize = 256 << 20;

/// Whether the artifact is a component or a bare core module.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    Component,
    CoreModule,
}

/// One top-level import or export as written in the binary.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Item {
    /// The full name: `airssys:ext-filesystem/filesystem@1.0.0` for a component instance
    /// import; `module` for a core import (see [`Item::field`]).
    pub name: String,
    /// For core module imports, the field name within `name`.
    pub field: Option<String>,
    /// Byte range of the item's name in the file (for a core import, of its field name).
    pub span: Range<usize>,
}

/// A validated, decoded artifact.
pub struct Artifact {
    pub kind: Kind,
    pub imports: Vec<Item>,
    pub exports: Vec<Item>,
    /// The types wasmparser validated (components only): every import's and export's type.
    pub types: Option<Types>,
    /// The names of the resource types the component's instances export.
    pub resources: HashMap<ResourceId, String>,
    /// What the code inside the component reaches of its imports, when it holds an adapter
    /// (see [`crate::analyze::flow`]).
    pub flow: Option<crate::analyze::flow::Flow>,
}

/// Why bytes are not a usable artifact. `offset` is the byte the problem was found at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Invalid {
    pub offset: usize,
    pub message: String,
}

/// Reads an artifact file within [`MAX_ARTIFACT_BYTES`]: a larger one is an [`Invalid`]
/// finding, read no further.
///
/// # Errors
/// The file cannot be read, or is not a regular file (a FIFO, `/dev/zero`).
pub fn read_file(path: &std::path::Path) -> crate::Result<Result<Vec<u8>, Invalid>> {
    match crate::bounded::read(path, MAX_ARTIFACT_BYTES).map_err(|e| crate::Error::read(path, e))? {
        crate::bounded::Bounded::Bytes(bytes) => Ok(Ok(bytes)),
        crate::bounded::Bounded::TooLarge(size) => Ok(Err(Invalid {
            offset: 0,
            message: format!("the file is {size} bytes, over the limit of {MAX_ARTIFACT_BYTES}"),
        })),
    }
}

/// Parses `.wat` text into bytes; `.wasm` bytes pass through.
pub fn to_binary(bytes: &[u8]) -> Result<std::borrow::Cow<'_, [u8]>, Invalid> {
    if bytes.starts_with(b"\0asm") {
        return Ok(bytes.into());
    }
    let parsed = crate::guard::catch(|| wat::parse_bytes(bytes).map(|b| b.into_owned())).map_err(|panic| Invalid {
        offset: 0,
        message: format!("the WAT parser failed on this file: {panic}"),
    })?;
    parsed.map(Into::into).map_err(|e| Invalid {
        offset: 0,
        message: format!(
            "neither a wasm binary nor valid WAT text: {}",
            first_line(&e.to_string())
        ),
    })
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or(s)
}

/// Validates and reads an artifact. A panic of wasmparser on it is an [`Invalid`] too.
pub fn read(bytes: &[u8]) -> Result<Artifact, Invalid> {
    crate::guard::catch(|| read_unguarded(bytes)).unwrap_or_else(|panic| {
        Err(Invalid {
            offset: 0,
            message: format!("the WebAssembly reader failed on this file: {panic}"),
        })
    })
}

fn read_unguarded(bytes: &[u8]) -> Result<Artifact, Invalid> {
    if bytes.len() > MAX_ARTIFACT_BYTES {
        return Err(Invalid {
            offset: 0,
            message: format!(
                "the file is {} bytes, over the limit of {MAX_ARTIFACT_BYTES}",
                bytes.len()
            ),
        });
    }
    let mut validator = Validator::new_with_features(WasmFeatures::all());
    let types = validator.validate_all(bytes).map_err(|e| Invalid {
        offset: e.offset(),
        message: e.message().to_string(),
    })?;
    let (kind, imports, exports) = items(bytes)?;
    let (types, resources, flow) = match kind {
        Kind::Component => {
            let resources = resource_names(&types, &imports, &exports);
            (Some(types), resources, crate::analyze::flow::analyse(bytes))
        }
        Kind::CoreModule => (None, HashMap::new(), None),
    };
    Ok(Artifact {
        kind,
        imports,
        exports,
        types,
        resources,
        flow,
    })
}

/// The name under which each resource type is exported by an imported or exported instance
/// (`file-handle` of `airssys:ext-filesystem/types`), so that handles can be compared by name.
fn resource_names(types: &Types, imports: &[Item], exports: &[Item]) -> HashMap<ResourceId, String> {
    let mut names = HashMap::new();
    let items = imports
        .iter()
        .filter_map(|i| types.component_item_for_import(&i.name))
        .chain(exports.iter().filter_map(|e| types.component_item_for_export(&e.name)));
    for item in items {
        let ComponentEntityType::Instance(id) = item.ty else {
            continue;
        };
        for (name, export) in &types[id].exports {
            if let ComponentEntityType::Type {
                referenced: ComponentAnyTypeId::Resource(r),
                ..
            } = export.ty
            {
                names.entry(r.resource()).or_insert_with(|| name.clone());
            }
        }
    }
    names
}

/// Top-level imports and exports with their offsets. Nested modules and components and code
/// sections are skipped unread: validation has already been through them.
fn items(bytes: &[u8]) -> Result<(Kind, Vec<Item>, Vec<Item>), Invalid> {
    let invalid = |e: wasmparser::BinaryReaderError| Invalid {
        offset: e.offset(),
        message: e.message().to_string(),
    };
    // Names are borrowed from `bytes`, so their position in the file is their address minus the
    // buffer's: exact, whatever encoding of the surrounding entry was used.
    let span_of = |name: &str| {
        let start = (name.as_ptr() as usize).wrapping_sub(bytes.as_ptr() as usize);
        if start <= bytes.len() {
            start..start + name.len()
        } else {
            0..0
        }
    };
    let (mut kind, mut imports, mut exports) = (Kind::CoreModule, Vec::new(), Vec::new());
    let mut parser = Parser::new(0);
    let mut rest = bytes;
    loop {
        let (payload, consumed) = match parser.parse(rest, true).map_err(invalid)? {
            Chunk::Parsed { consumed, payload } => (payload, consumed),
            Chunk::NeedMoreData(_) => {
                return Err(Invalid {
                    offset: bytes.len(),
                    message: "unexpected end of file".into(),
                });
            }
        };
        rest = &rest[consumed..];
        match payload {
            Payload::Version { encoding, .. } => {
                kind = if encoding == Encoding::Component {
                    Kind::Component
                } else {
                    Kind::CoreModule
                };
            }
            // A nested module or component is handed over with its own parser; not using it
            // and stepping over its bytes skips it.
            Payload::ModuleSection { unchecked_range, .. } | Payload::ComponentSection { unchecked_range, .. } => {
                rest = rest.get(unchecked_range.len()..).unwrap_or_default();
            }
            Payload::CodeSectionStart { size, .. } => {
                parser.skip_section();
                rest = rest.get(size as usize..).unwrap_or_default();
            }
            Payload::ComponentImportSection(r) => {
                for item in r {
                    let name = item.map_err(invalid)?.name.name;
                    imports.push(Item {
                        name: name.to_string(),
                        field: None,
                        span: span_of(name),
                    });
                }
            }
            Payload::ComponentExportSection(r) => {
                for item in r {
                    let name = item.map_err(invalid)?.name.name;
                    exports.push(Item {
                        name: name.to_string(),
                        field: None,
                        span: span_of(name),
                    });
                }
            }
            Payload::ImportSection(r) => {
                for item in r.into_imports() {
                    let i = item.map_err(invalid)?;
                    imports.push(Item {
                        name: i.module.to_string(),
                        field: Some(i.name.to_string()),
                        span: span_of(i.name),
                    });
                }
            }
            Payload::ExportSection(r) => {
                for item in r {
                    let e = item.map_err(invalid)?;
                    exports.push(Item {
                        name: e.name.to_string(),
                        field: None,
                        span: span_of(e.name),
                    });
                }
            }
            Payload::End(_) => break,
            _ => {}
        }
    }
    Ok((kind, imports, exports))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_core_module_from_wat() {
        let bytes = to_binary(br#"(module (import "airssys:ext-filesystem/filesystem@1.0.0" "read-file" (func (param i32 i32 i32))) (func (export "run")))"#).unwrap();
        let a = read(&bytes).unwrap();
        assert_eq!(a.kind, Kind::CoreModule);
        assert_eq!(a.imports[0].name, "airssys:ext-filesystem/filesystem@1.0.0");
        assert_eq!(a.imports[0].field.as_deref(), Some("read-file"));
        assert_eq!(a.exports[0].name, "run");
    }

    #[test]
    fn invalid_binary_reports_an_offset() {
        let mut bytes = to_binary(b"(module (func (export \"f\")))").unwrap().into_owned();
        bytes.truncate(bytes.len() - 3);
        let Err(e) = read(&bytes) else {
            panic!("a truncated module is invalid")
        };
        assert!(e.offset > 0 && e.offset <= bytes.len(), "{e:?}");
        assert!(read(b"\0asm\x01\0\0\0\xff").is_err());
        assert!(to_binary(b"garbage").is_err());
    }
}
