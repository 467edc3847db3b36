//! Structural comparison of a function type as wasmparser validated it in a component binary
//! against the catalogue's WIT type. This lets `check` compare types straight from the
//! validator's `Types`, with no second pass over the binary to decode a WIT world.
//!
//! The rules are those of [`super::typeeq`]: parameter names and types, results, record fields,
//! variant and enum cases and flags in order, aliases looked through, resources by name. Names
//! compare ignoring ASCII case, as the component model compares kebab names.

use std::collections::HashMap;

use wasmparser::PrimitiveValType as P;
use wasmparser::component_types::{ComponentDefinedType, ComponentFuncType, ComponentValType, ResourceId};
use wasmparser::types::Types;
use wit_parser::{Function, Handle, Resolve, Type, TypeDefKind};

use super::typeeq::{describe, names_eq, unalias};

const MAX_DEPTH: usize = 64;

/// What the comparison needs of the binary: its types and the names of its resources.
pub struct WasmTypes<'a> {
    pub types: &'a Types,
    pub resources: &'a HashMap<ResourceId, String>,
}

/// `Ok` when `found` has the catalogue function `expected`'s type, else what differs.
pub fn same_function(
    re: &Resolve,
    expected: &Function,
    w: &WasmTypes<'_>,
    found: &ComponentFuncType,
) -> Result<(), String> {
    if expected.params.len() != found.params.len() {
        return Err(format!(
            "takes {} parameter(s), the catalogue's takes {}",
            found.params.len(),
            expected.params.len()
        ));
    }
    for (e, (name, ty)) in expected.params.iter().zip(found.params.iter()) {
        if !e.name.eq_ignore_ascii_case(name.as_str()) {
            return Err(format!(
                "parameter `{}` is named `{}` in the catalogue",
                name.as_str(),
                e.name
            ));
        }
        Cmp { re, w }
            .val(&e.ty, ty, 0)
            .map_err(|why| format!("parameter `{}`: {why}", name.as_str()))?;
    }
    match (&expected.result, &found.result) {
        (None, None) => Ok(()),
        (Some(e), Some(f)) => Cmp { re, w }.val(e, f, 0).map_err(|why| format!("result: {why}")),
        (None, Some(_)) => Err("returns a value, the catalogue's returns nothing".into()),
        (Some(_), None) => Err("returns nothing, the catalogue's returns a value".into()),
    }
}

struct Cmp<'a, 'b> {
    re: &'a Resolve,
    w: &'a WasmTypes<'b>,
}

fn primitive(t: Type) -> Option<P> {
    Some(match t {
        Type::Bool => P::Bool,
        Type::S8 => P::S8,
        Type::U8 => P::U8,
        Type::S16 => P::S16,
        Type::U16 => P::U16,
        Type::S32 => P::S32,
        Type::U32 => P::U32,
        Type::S64 => P::S64,
        Type::U64 => P::U64,
        Type::F32 => P::F32,
        Type::F64 => P::F64,
        Type::Char => P::Char,
        Type::String => P::String,
        Type::ErrorContext => P::ErrorContext,
        Type::Id(_) => return None,
    })
}

impl Cmp<'_, '_> {
    fn mismatch(&self, e: Type) -> String {
        format!("expected {}, found another type", describe(self.re, e))
    }

    fn opt(&self, e: &Option<Type>, f: &Option<ComponentValType>, depth: usize) -> Result<(), String> {
        match (e, f) {
            (None, None) => Ok(()),
            (Some(e), Some(f)) => self.val(e, f, depth),
            (None, Some(_)) => Err("has a payload the catalogue's does not".into()),
            (Some(_), None) => Err("lacks the catalogue's payload".into()),
        }
    }

    fn val(&self, e: &Type, f: &ComponentValType, depth: usize) -> Result<(), String> {
        if depth > MAX_DEPTH {
            return Err("types nested too deeply to compare".into());
        }
        let e = unalias(self.re, *e);
        let defined = match f {
            ComponentValType::Primitive(p) => return self.prim(e, *p),
            ComponentValType::Type(id) => &self.w.types[*id],
        };
        if let ComponentDefinedType::Primitive(p) = defined {
            return self.prim(e, *p);
        }
        let Type::Id(eid) = e else { return Err(self.mismatch(e)) };
        self.defined(&self.re.types[eid].kind, e, defined, depth + 1)
    }

    fn prim(&self, e: Type, p: P) -> Result<(), String> {
        if primitive(e) == Some(p) {
            Ok(())
        } else {
            Err(self.mismatch(e))
        }
    }

    fn defined(&self, kind: &TypeDefKind, e: Type, f: &ComponentDefinedType, depth: usize) -> Result<(), String> {
        use ComponentDefinedType as D;
        use TypeDefKind as K;
        match (kind, f) {
            (K::Record(a), D::Record(b)) => {
                names_eq(
                    "field",
                    a.fields.iter().map(|x| x.name.as_str()),
                    b.fields.keys().map(|k| k.as_str()),
                )?;
                for (x, y) in a.fields.iter().zip(b.fields.values()) {
                    self.val(&x.ty, y, depth)
                        .map_err(|w| format!("field `{}`: {w}", x.name))?;
                }
                Ok(())
            }
            (K::Variant(a), D::Variant(b)) => {
                names_eq(
                    "case",
                    a.cases.iter().map(|x| x.name.as_str()),
                    b.cases.keys().map(|k| k.as_str()),
                )?;
                for (x, y) in a.cases.iter().zip(b.cases.values()) {
                    self.opt(&x.ty, &y.ty, depth)
                        .map_err(|w| format!("case `{}`: {w}", x.name))?;
                }
                Ok(())
            }
            (K::Enum(a), D::Enum(b)) => names_eq(
                "case",
                a.cases.iter().map(|x| x.name.as_str()),
                b.iter().map(|k| k.as_str()),
            ),
            (K::Flags(a), D::Flags(b)) => names_eq(
                "flag",
                a.flags.iter().map(|x| x.name.as_str()),
                b.iter().map(|k| k.as_str()),
            ),
            (K::Tuple(a), D::Tuple(b)) if a.types.len() == b.types.len() => a
                .types
                .iter()
                .zip(b.types.iter())
                .try_for_each(|(x, y)| self.val(x, y, depth)),
            (K::Option(a), D::Option { ty, .. }) => self.val(a, ty, depth),
            (K::List(a), D::List { element, .. }) => self.val(a, element, depth),
            (K::FixedLengthList(a, n), D::FixedLengthList { element, length, .. }) if n == length => {
                self.val(a, element, depth)
            }
            (K::Map(k, v), D::Map { key, value, .. }) => {
                self.val(k, key, depth)?;
                self.val(v, value, depth)
            }
            (K::Result(a), D::Result { ok, err, .. }) => {
                self.opt(&a.ok, ok, depth).map_err(|w| format!("ok: {w}"))?;
                self.opt(&a.err, err, depth).map_err(|w| format!("err: {w}"))
            }
            (K::Future(a), D::Future { ty, .. }) | (K::Stream(a), D::Stream { ty, .. }) => self.opt(a, ty, depth),
            (K::Handle(Handle::Own(r)), D::Own(b)) | (K::Handle(Handle::Borrow(r)), D::Borrow(b)) => {
                let expected = self.re.types[*r].name.as_deref().unwrap_or_default();
                match self.w.resources.get(&b.resource()) {
                    Some(found) if found.eq_ignore_ascii_case(expected) => Ok(()),
                    Some(found) => Err(format!("expected a handle to `{expected}`, found one to `{found}`")),
                    None => Err(format!(
                        "expected a handle to `{expected}`, found one to an unnamed resource"
                    )),
                }
            }
            _ => Err(self.mismatch(e)),
        }
    }
}
