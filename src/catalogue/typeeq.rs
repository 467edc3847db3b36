//! Structural comparison of WIT function types across two [`Resolve`]s: the catalogue's and
//! a component author's (from WIT text, or decoded from a component binary).
//!
//! Two functions are the same operation when their parameters (names and types) and results
//! are structurally equal, with type aliases looked through. Resources compare by name, as the
//! component model links them. The first difference found is described in words, so that a
//! `signature-mismatch` finding can say exactly what differs.

use wit_parser::{Function, Handle, Resolve, Type, TypeDefKind};

/// Deeper types are refused; WIT written by people never comes close.
const MAX_DEPTH: usize = 64;

/// `Ok` when `found` (in `rf`) has the same type as `expected` (in `re`), else what differs.
pub fn same_function(re: &Resolve, expected: &Function, rf: &Resolve, found: &Function) -> Result<(), String> {
    if expected.params.len() != found.params.len() {
        return Err(format!(
            "takes {} parameter(s), the catalogue's takes {}",
            found.params.len(),
            expected.params.len()
        ));
    }
    for (e, f) in expected.params.iter().zip(&found.params) {
        if e.name != f.name {
            return Err(format!("parameter `{}` is named `{}` in the catalogue", f.name, e.name));
        }
        Cmp { re, rf }
            .ty(&e.ty, &f.ty, 0)
            .map_err(|why| format!("parameter `{}`: {why}", f.name))?;
    }
    match (&expected.result, &found.result) {
        (None, None) => Ok(()),
        (Some(e), Some(f)) => Cmp { re, rf }.ty(e, f, 0).map_err(|why| format!("result: {why}")),
        (None, Some(_)) => Err("returns a value, the catalogue's returns nothing".into()),
        (Some(_), None) => Err("returns nothing, the catalogue's returns a value".into()),
    }
}

struct Cmp<'a> {
    re: &'a Resolve,
    rf: &'a Resolve,
}

impl Cmp<'_> {
    fn ty(&self, e: &Type, f: &Type, depth: usize) -> Result<(), String> {
        if depth > MAX_DEPTH {
            return Err("types nested too deeply to compare".into());
        }
        let (e, f) = (unalias(self.re, *e), unalias(self.rf, *f));
        match (e, f) {
            (Type::Id(a), Type::Id(b)) => self.kind(&self.re.types[a].kind, &self.rf.types[b].kind, a, b, depth + 1),
            (a, b) if a == b => Ok(()),
            (a, b) => Err(format!(
                "expected {}, found {}",
                describe(self.re, a),
                describe(self.rf, b)
            )),
        }
    }

    fn opt(&self, e: &Option<Type>, f: &Option<Type>, depth: usize) -> Result<(), String> {
        match (e, f) {
            (None, None) => Ok(()),
            (Some(e), Some(f)) => self.ty(e, f, depth),
            (None, Some(_)) => Err("has a payload the catalogue's does not".into()),
            (Some(_), None) => Err("lacks the catalogue's payload".into()),
        }
    }

    fn kind(
        &self,
        e: &TypeDefKind,
        f: &TypeDefKind,
        ea: wit_parser::TypeId,
        fb: wit_parser::TypeId,
        depth: usize,
    ) -> Result<(), String> {
        use TypeDefKind as K;
        let mismatch = || {
            Err(format!(
                "expected {}, found {}",
                describe(self.re, Type::Id(ea)),
                describe(self.rf, Type::Id(fb))
            ))
        };
        match (e, f) {
            (K::Record(a), K::Record(b)) => {
                names_eq(
                    "field",
                    a.fields.iter().map(|x| x.name.as_str()),
                    b.fields.iter().map(|x| x.name.as_str()),
                )?;
                for (x, y) in a.fields.iter().zip(&b.fields) {
                    self.ty(&x.ty, &y.ty, depth)
                        .map_err(|w| format!("field `{}`: {w}", x.name))?;
                }
                Ok(())
            }
            (K::Variant(a), K::Variant(b)) => {
                names_eq(
                    "case",
                    a.cases.iter().map(|x| x.name.as_str()),
                    b.cases.iter().map(|x| x.name.as_str()),
                )?;
                for (x, y) in a.cases.iter().zip(&b.cases) {
                    self.opt(&x.ty, &y.ty, depth)
                        .map_err(|w| format!("case `{}`: {w}", x.name))?;
                }
                Ok(())
            }
            (K::Enum(a), K::Enum(b)) => names_eq(
                "case",
                a.cases.iter().map(|x| x.name.as_str()),
                b.cases.iter().map(|x| x.name.as_str()),
            ),
            (K::Flags(a), K::Flags(b)) => names_eq(
                "flag",
                a.flags.iter().map(|x| x.name.as_str()),
                b.flags.iter().map(|x| x.name.as_str()),
            ),
            (K::Tuple(a), K::Tuple(b)) if a.types.len() == b.types.len() => {
                a.types.iter().zip(&b.types).try_for_each(|(x, y)| self.ty(x, y, depth))
            }
            (K::Option(a), K::Option(b)) | (K::List(a), K::List(b)) => self.ty(a, b, depth),
            (K::FixedLengthList(a, n), K::FixedLengthList(b, m)) if n == m => self.ty(a, b, depth),
            (K::Map(ak, av), K::Map(bk, bv)) => {
                self.ty(ak, bk, depth)?;
                self.ty(av, bv, depth)
            }
            (K::Result(a), K::Result(b)) => {
                self.opt(&a.ok, &b.ok, depth).map_err(|w| format!("ok: {w}"))?;
                self.opt(&a.err, &b.err, depth).map_err(|w| format!("err: {w}"))
            }
            (K::Future(a), K::Future(b)) | (K::Stream(a), K::Stream(b)) => self.opt(a, b, depth),
            (K::Handle(a), K::Handle(b)) => match (a, b) {
                (Handle::Own(x), Handle::Own(y)) | (Handle::Borrow(x), Handle::Borrow(y)) => {
                    self.ty(&Type::Id(*x), &Type::Id(*y), depth)
                }
                _ => mismatch(),
            },
            (K::Resource, K::Resource) => {
                if self.re.types[ea].name == self.rf.types[fb].name {
                    Ok(())
                } else {
                    mismatch()
                }
            }
            _ => mismatch(),
        }
    }
}

/// Names in order, compared as the component model compares kebab names (ignoring ASCII case);
/// on a difference, what is missing, extra or reordered.
pub(crate) fn names_eq<'x>(
    what: &str,
    e: impl Iterator<Item = &'x str>,
    f: impl Iterator<Item = &'x str>,
) -> Result<(), String> {
    let (e, f): (Vec<&str>, Vec<&str>) = (e.collect(), f.collect());
    if e.len() == f.len() && e.iter().zip(&f).all(|(a, b)| a.eq_ignore_ascii_case(b)) {
        return Ok(());
    }
    if let Some(missing) = e.iter().find(|n| !f.iter().any(|m| m.eq_ignore_ascii_case(n))) {
        return Err(format!("lacks the catalogue's {what} `{missing}`"));
    }
    if let Some(extra) = f.iter().find(|n| !e.iter().any(|m| m.eq_ignore_ascii_case(n))) {
        return Err(format!("has {what} `{extra}`, which the catalogue's does not"));
    }
    Err(format!("{what}s are in a different order than the catalogue's"))
}

/// Looks through `type a = b` aliases.
pub(crate) fn unalias(r: &Resolve, mut t: Type) -> Type {
    for _ in 0..MAX_DEPTH {
        match t {
            Type::Id(id) => match &r.types[id].kind {
                TypeDefKind::Type(inner) => t = *inner,
                _ => return t,
            },
            _ => return t,
        }
    }
    t
}

/// A short name for a type in messages: its WIT name, or its shape.
pub fn describe(r: &Resolve, t: Type) -> String {
    match t {
        Type::Id(id) => {
            let def = &r.types[id];
            if let Some(name) = &def.name {
                return format!("`{name}`");
            }
            match &def.kind {
                TypeDefKind::List(_) => "a list".into(),
                TypeDefKind::Option(_) => "an option".into(),
                TypeDefKind::Result(_) => "a result".into(),
                TypeDefKind::Tuple(_) => "a tuple".into(),
                TypeDefKind::Handle(Handle::Own(_)) => "an owned handle".into(),
                TypeDefKind::Handle(Handle::Borrow(_)) => "a borrowed handle".into(),
                other => format!("a {}", other.as_str()),
            }
        }
        prim => format!("`{}`", prim_name(prim)),
    }
}

fn prim_name(t: Type) -> &'static str {
    match t {
        Type::Bool => "bool",
        Type::U8 => "u8",
        Type::U16 => "u16",
        Type::U32 => "u32",
        Type::U64 => "u64",
        Type::S8 => "s8",
        Type::S16 => "s16",
        Type::S32 => "s32",
        Type::S64 => "s64",
        Type::F32 => "f32",
        Type::F64 => "f64",
        Type::Char => "char",
        Type::String => "string",
        Type::ErrorContext => "error-context",
        Type::Id(_) => "type",
    }
}
