//! Reading a compiled artifact: a component or a core module, as `.wasm` bytes or `.wat` text.
//!
//! The bytes are validated with wasmparser, once; each top-level import and export is listed
//! with its exact name and byte offset (from wasmparser's section readers), and for components
//! the validator's `Types` are kept, so that every imported function's type is known without
//! decoding the binary a second time.
//! Nothing here decides anything: the analyzer maps what is read onto the catalogue.

use std::ops::Range;

use std::collections::HashMap;
use wasmparser::{Encoding, FuncValidatorAllocations, Parser, Payload, ValidPayload, Validator, WasmFeatures};

use crate::analyze::flow::{Collector, span_in};

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

/// Validates and reads an artifact, with the flow analysis of its intermediaries
/// ([`crate::analyze::flow`]). A panic of wasmparser on it is an [`Invalid`] too.
pub fn read(bytes: &[u8]) -> Result<Artifact, Invalid> {
    read_with(bytes, true)
}

/// [`read`], with the flow analysis only when `follow_intermediaries`: without it,
/// [`Artifact::flow`] is `None` and every import is charged as written (sound, and coarse for
/// components made with the preview1 adapter).
pub fn read_with(bytes: &[u8], follow_intermediaries: bool) -> Result<Artifact, Invalid> {
    crate::guard::catch(|| read_unguarded(bytes, follow_intermediaries)).unwrap_or_else(|panic| {
        Err(Invalid {
            offset: 0,
            message: format!("the WebAssembly reader failed on this file: {panic}"),
        })
    })
}

fn read_unguarded(bytes: &[u8], follow_intermediaries: bool) -> Result<Artifact, Invalid> {
    if bytes.len() > MAX_ARTIFACT_BYTES {
        return Err(Invalid {
            offset: 0,
            message: format!(
                "the file is {} bytes, over the limit of {MAX_ARTIFACT_BYTES}",
                bytes.len()
            ),
        });
    }
    let invalid = |e: wasmparser::BinaryReaderError| Invalid {
        offset: e.offset(),
        message: e.message().to_string(),
    };
    // One pass, as `Validator::validate_all` makes it (every payload, then every function body),
    // that also lists the top-level imports and exports and gathers the flow analysis's facts.
    let mut validator = Validator::new_with_features(WasmFeatures::all());
    let mut parser = Parser::new(0);
    parser.set_features(WasmFeatures::all());
    let mut top = Top::default();
    let mut component = false;
    let mut flow: Option<Collector<'_>> = None;
    let mut bodies = Vec::new();
    let mut types = None;
    for payload in parser.parse_all(bytes) {
        let payload = payload.map_err(invalid)?;
        match validator.payload(&payload).map_err(invalid)? {
            ValidPayload::Func(func, body) => {
                bodies.push((flow.as_ref().and_then(Collector::current_module), func, body));
            }
            // A module of the component: the analysis looks at its types (the last end is the
            // component's or the bare module's own).
            ValidPayload::End(t) => match flow.as_mut().and_then(|f| Some((f.current_module()?, f))) {
                Some((module, flow)) => flow.module_types(module, &t),
                None => types = Some(t),
            },
            ValidPayload::Ok | ValidPayload::Parser(_) => {}
        }
        top.payload(bytes, &payload).map_err(invalid)?;
        if let (
            Payload::Version {
                encoding: Encoding::Component,
                ..
            },
            0,
        ) = (&payload, top.depth)
        {
            component = true;
            flow = follow_intermediaries.then(|| Collector::new(bytes));
        }
        if let Some(flow) = &mut flow {
            flow.payload(&payload);
        }
    }
    if let Some(flow) = &mut flow {
        flow.names_known();
    }
    let mut allocations = FuncValidatorAllocations::default();
    for (module, func, body) in bodies {
        let mut v = func.into_validator(allocations);
        match &mut flow {
            Some(flow) => flow.validate_body(module, &mut v, &body),
            None => v.validate(&body),
        }
        .map_err(invalid)?;
        allocations = v.into_allocations();
    }
    let types = types.ok_or_else(|| Invalid {
        offset: bytes.len(),
        message: "unexpected end of file".into(),
    })?;
    let (kind, resources) = match component {
        true => (Kind::Component, resource_names(&types, &top.imports, &top.exports)),
        false => (Kind::CoreModule, HashMap::new()),
    };
    Ok(Artifact {
        kind,
        imports: top.imports,
        exports: top.exports,
        types: component.then_some(types),
        resources,
        flow: flow.and_then(Collector::finish),
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

/// The top-level imports and exports, with their offsets, as the payloads stream by.
#[derive(Default)]
struct Top {
    imports: Vec<Item>,
    exports: Vec<Item>,
    /// How deep in nested modules and components the payload being read is (0: the artifact).
    depth: usize,
}

impl Top {
    fn payload(&mut self, bytes: &[u8], payload: &Payload<'_>) -> wasmparser::Result<()> {
        // Names are borrowed from `bytes`, so their position in the file is their address minus
        // the buffer's: exact, whatever encoding of the surrounding entry was used.
        let item = |name: &str, field: Option<&str>| Item {
            name: name.to_string(),
            field: field.map(str::to_string),
            span: span_in(bytes, field.unwrap_or(name)),
        };
        match payload {
            Payload::ModuleSection { .. } | Payload::ComponentSection { .. } => self.depth += 1,
            Payload::End(_) => self.depth = self.depth.saturating_sub(1),
            _ if self.depth > 0 => {}
            Payload::ComponentImportSection(r) => {
                for i in r.clone() {
                    self.imports.push(item(i?.name.name, None));
                }
            }
            Payload::ComponentExportSection(r) => {
                for e in r.clone() {
                    self.exports.push(item(e?.name.name, None));
                }
            }
            Payload::ImportSection(r) => {
                for i in r.clone().into_imports() {
                    let i = i?;
                    self.imports.push(item(i.module, Some(i.name)));
                }
            }
            Payload::ExportSection(r) => {
                for e in r.clone() {
                    self.exports.push(item(e?.name, None));
                }
            }
            _ => {}
        }
        Ok(())
    }
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
