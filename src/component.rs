//! Reading a compiled artifact: a component or a core module, as `.wasm` bytes or `.wat` text.
//!
//! The bytes are validated with wasmparser; each top-level import and export is listed with
//! its exact name and byte offset (from wasmparser's section readers), and for components the
//! world is decoded with wit-component so that every imported function's WIT type is known.
//! Nothing here decides anything: the analyzer maps what is read onto the catalogue.

use std::ops::Range;

use wasmparser::{Encoding, Parser, Payload, Validator, WasmFeatures};
use wit_parser::{Resolve, WorldId};

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
    /// Byte range of the item's entry in the file.
    pub span: Range<usize>,
}

/// A validated, decoded artifact.
#[derive(Debug)]
pub struct Artifact {
    pub kind: Kind,
    pub imports: Vec<Item>,
    pub exports: Vec<Item>,
    /// The component's world as WIT (components only).
    pub world: Option<(Resolve, WorldId)>,
}

/// Why bytes are not a usable artifact. `offset` is the byte the problem was found at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Invalid {
    pub offset: usize,
    pub message: String,
}

/// Parses `.wat` text into bytes; `.wasm` bytes pass through.
pub fn to_binary(bytes: &[u8]) -> Result<std::borrow::Cow<'_, [u8]>, Invalid> {
    if bytes.starts_with(b"\0asm") {
        return Ok(bytes.into());
    }
    wat::parse_bytes(bytes).map_err(|e| Invalid {
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

/// Validates and reads an artifact.
pub fn read(bytes: &[u8]) -> Result<Artifact, Invalid> {
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
    validator.validate_all(bytes).map_err(|e| Invalid {
        offset: e.offset(),
        message: e.message().to_string(),
    })?;
    let (kind, imports, exports) = items(bytes)?;
    let world = match kind {
        Kind::Component => Some(decode_world(bytes)?),
        Kind::CoreModule => None,
    };
    Ok(Artifact {
        kind,
        imports,
        exports,
        world,
    })
}

fn decode_world(bytes: &[u8]) -> Result<(Resolve, WorldId), Invalid> {
    match wit_component::decode(bytes) {
        Ok(wit_component::DecodedWasm::Component(resolve, world)) => Ok((resolve, world)),
        Ok(wit_component::DecodedWasm::WitPackage(..)) => Err(Invalid {
            offset: 0,
            message: "this is a WIT package encoded as wasm, not a component; check its WIT with `airssys-wasm wit`"
                .into(),
        }),
        Err(e) => Err(Invalid {
            offset: 0,
            message: format!(
                "the component's world cannot be decoded: {}",
                first_line(&format!("{e:#}"))
            ),
        }),
    }
}

/// Top-level imports and exports with their offsets.
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
    let mut depth = 0usize;
    for payload in Parser::new(0).parse_all(bytes) {
        match payload.map_err(invalid)? {
            Payload::Version { encoding, .. } if depth == 0 => {
                kind = if encoding == Encoding::Component {
                    Kind::Component
                } else {
                    Kind::CoreModule
                };
                depth = 1;
            }
            Payload::Version { .. } => depth += 1,
            Payload::End(_) => depth = depth.saturating_sub(1),
            Payload::ComponentImportSection(r) if depth == 1 => {
                for item in r.into_iter_with_offsets() {
                    let (_, i) = item.map_err(invalid)?;
                    imports.push(Item {
                        name: i.name.name.to_string(),
                        field: None,
                        span: span_of(i.name.name),
                    });
                }
            }
            Payload::ComponentExportSection(r) if depth == 1 => {
                for item in r.into_iter_with_offsets() {
                    let (_, e) = item.map_err(invalid)?;
                    exports.push(Item {
                        name: e.name.name.to_string(),
                        field: None,
                        span: span_of(e.name.name),
                    });
                }
            }
            Payload::ImportSection(r) if depth == 1 && kind == Kind::CoreModule => {
                for item in r.into_imports_with_offsets() {
                    let (_, i) = item.map_err(invalid)?;
                    imports.push(Item {
                        name: i.module.to_string(),
                        field: Some(i.name.to_string()),
                        span: span_of(i.module),
                    });
                }
            }
            Payload::ExportSection(r) if depth == 1 && kind == Kind::CoreModule => {
                for item in r.into_iter_with_offsets() {
                    let (_, e) = item.map_err(invalid)?;
                    exports.push(Item {
                        name: e.name.to_string(),
                        field: None,
                        span: span_of(e.name),
                    });
                }
            }
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
        let e = read(&bytes).unwrap_err();
        assert!(e.offset > 0 && e.offset <= bytes.len(), "{e:?}");
        assert!(read(b"\0asm\x01\0\0\0\xff").is_err());
        assert!(to_binary(b"garbage").is_err());
    }
}
