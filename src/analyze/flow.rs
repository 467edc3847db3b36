//! What the code inside a component can reach of its imports, seen through the **intermediary**
//! modules that toolchains put between a program and WASI 0.2: the preview1 adapter
//! (`wit-component:adapter:*`) and wit-component's shim and fix-up modules, which route calls
//! through a table.
//!
//! The component's sections are followed the way a linker would: `canon lower` of an imported
//! function, core instances built from exports or by instantiating a module with arguments,
//! aliases of their exports. Every core module is a **program** or an **intermediary**:
//!
//! - A program module's imports are charged as written: each one that resolves to an imported
//!   function (through any number of instances) charges that function; each one that resolves to
//!   a function of an intermediary is a [`Site`], charged with what that function can reach.
//! - An intermediary is analysed by its code: from a function, its direct calls, and its
//!   `call_indirect`s through the tables it can see (the slot is known when the index is a
//!   constant and only intermediaries' constant element segments fill the table), down to the
//!   imported functions. A call back into a program function stops there: that program's own
//!   imports are already charged.
//!
//! Whether a module is an intermediary is decided by its name, but names only decide precision
//! and attribution, never soundness: an intermediary's functions that anything else can enter
//! (lifted exports, canonical options, start functions, tables or references a program can
//! reach) are roots whose reach is charged too, and whatever cannot be resolved (an unknown
//! index, a table a program can write, `call_ref`) reaches every import. Components this
//! analysis does not model (nested components with core code, imported modules, threads
//! started from a table) get `None`: every import is then charged as written.

use std::collections::BTreeSet;

use foldhash::{HashMap, HashMapExt as _, HashSet, HashSetExt as _};
use std::ops::Range;

use wasmparser::{
    CanonicalFunction, CanonicalOption, Chunk, ComponentAlias, ComponentExternalKind, ComponentInstance,
    ComponentTypeRef, ElementItems, ElementKind, ExternalKind, Instance, KnownCustom, Operator, Parser, Payload,
    TypeRef,
};

/// An imported function of the component: (import name as written, function name within the
/// imported instance; empty for a bare function import).
pub type FuncKey = (String, String);

/// The result of the analysis.
#[derive(Debug, Default)]
pub struct Flow {
    /// Imported functions charged as written: a program module imports them directly, or an
    /// intermediary's own entry points reach them.
    pub direct: HashSet<FuncKey>,
    /// Something reaches a function that cannot be resolved: every import is charged.
    pub everything: bool,
    /// Program imports served by an intermediary, with what each can reach.
    pub sites: Vec<Site>,
    /// The names of the modules analysed as intermediaries.
    pub intermediaries: Vec<String>,
}

/// A program module's import that an intermediary serves (`wasi_snapshot_preview1::fd_readdir`).
#[derive(Debug, Clone)]
pub struct Site {
    /// The importing module's name (`main`, `libc.so`), or `module N`.
    pub program: String,
    /// The import's module and field.
    pub module: String,
    pub field: String,
    /// Byte range of the import's field name in the component.
    pub span: Range<usize>,
    /// The imported functions its call can reach.
    pub reaches: BTreeSet<FuncKey>,
    /// It can reach something unresolvable, so every import.
    pub everything: bool,
}

/// Whether a core module name marks an intermediary.
pub fn is_intermediary_name(name: &str) -> bool {
    name.starts_with("wit-component:adapter:") || name == "wit-component-shim-module" || name == "wit-component-fixup"
}

/// Analyses a component's bytes (already validated). `None` when the component has no
/// intermediary (every import is then charged as written, which is exact) or has a shape this
/// analysis does not model (every import is then charged as written, which is sound).
pub fn analyse(bytes: &[u8]) -> Option<Flow> {
    let c = Component::parse(bytes)?;
    if !c.modules.iter().any(|m| m.intermediary) {
        return None;
    }
    Some(c.flow())
}

/// A core function value, as the component's index spaces define it.
#[derive(Clone, Debug)]
enum CoreFunc<'a> {
    /// `canon lower` of a component function.
    Lowered(u32),
    /// An export of a core instance.
    Export(u32, &'a str),
    /// Another canonical built-in (resource.drop, task.return, ...): no code of the component.
    Builtin,
}

#[derive(Clone, Debug)]
enum CoreInst<'a> {
    Instantiate { module: u32, args: Vec<(&'a str, u32)> },
    FromExports(Vec<(&'a str, ExternalKind, u32)>),
}

#[derive(Clone, Debug)]
enum CompFunc<'a> {
    Import(&'a str),
    InstanceExport(u32, &'a str),
    Lift(u32),
    Same(u32),
}

#[derive(Clone, Debug)]
enum CompInst<'a> {
    Import(&'a str),
    Same(u32),
    Other,
}

/// Where a call lands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Target {
    /// An imported function, by its index in the component's function index space (an
    /// import, or an export of an imported instance); see [`Component::key`].
    Lowered(u32),
    Defined {
        inst: u32,
        func: u32,
    },
    Builtin,
    Unknown,
}

/// One element of a table: what a slot may hold.
#[derive(Clone, Debug)]
struct ElemInfo {
    /// `(table, constant offset)` for active segments; `None` offset when not constant.
    active: Option<(u32, Option<u32>)>,
    items: Vec<Item>,
}

/// An element segment's item.
#[derive(Clone, Copy, Debug)]
enum Item {
    Func(u32),
    Null,
    /// Any other expression (`global.get`): unknown.
    Other,
}

#[derive(Debug, Default)]
struct FuncBody {
    calls: Vec<u32>,
    /// `(table, constant slot)`.
    indirect: Vec<(u32, Option<u32>)>,
    /// `call_ref` and the like: unknown target.
    unknown: bool,
}

#[derive(Debug, Default)]
struct Module<'a> {
    range: Range<usize>,
    name: Option<String>,
    intermediary: bool,
    /// Imported functions: (module, field, span of the field name).
    func_imports: Vec<(&'a str, &'a str, Range<usize>)>,
    /// Imported tables: (module, field).
    table_imports: Vec<(&'a str, &'a str)>,
    defined_tables: u32,
    exports: HashMap<&'a str, (ExternalKind, u32)>,
    start: Option<u32>,
    elems: Vec<ElemInfo>,
    /// Functions referenced by `ref.func` in code (intermediaries only).
    ref_funcs: Vec<u32>,
    /// Tables changed by code (intermediaries only).
    mutated_tables: HashSet<u32>,
    /// Whether a function, global or table crosses the module boundary with a reference type.
    reference_boundary: bool,
    /// Defined function bodies (intermediaries only), indexed from the first defined function.
    bodies: Vec<FuncBody>,
}

impl Module<'_> {
    /// wit-component's shim and fix-up modules: plumbing that only forwards calls.
    fn plumbing(&self) -> bool {
        matches!(
            self.name.as_deref(),
            Some("wit-component-shim-module" | "wit-component-fixup")
        )
    }

    fn imported_funcs(&self) -> u32 {
        self.func_imports.len() as u32
    }
}

/// Table identity: the instance that defines it and its index there.
type TableId = (u32, u32);

#[derive(Debug, Default)]
struct TableContents {
    slots: HashMap<u32, Vec<Target>>,
    anywhere: Vec<Target>,
    /// Written by code or reachable by a program: any function may be in it.
    open: bool,
}

#[derive(Default)]
struct Component<'a> {
    modules: Vec<Module<'a>>,
    core_insts: Vec<CoreInst<'a>>,
    core_funcs: Vec<CoreFunc<'a>>,
    core_tables: Vec<(u32, &'a str)>,
    comp_funcs: Vec<CompFunc<'a>>,
    comp_insts: Vec<CompInst<'a>>,
    /// Core functions the host calls: lifted functions and canonical options.
    host_roots: Vec<u32>,
}

/// Bounds the recursion of resolution through instances (each step goes to an earlier index in
/// a valid component, so this is never reached by one).
const MAX_DEPTH: usize = 1000;

impl<'a> Component<'a> {
    fn parse(bytes: &'a [u8]) -> Option<Component<'a>> {
        let mut c = Component::default();
        let mut module_names: HashMap<u32, String> = HashMap::new();
        let mut parser = Parser::new(0);
        let mut rest = bytes;
        loop {
            let Chunk::Parsed { consumed, payload } = parser.parse(rest, true).ok()? else {
                return None;
            };
            rest = &rest[consumed..];
            match payload {
                Payload::Version { encoding, .. } if encoding != wasmparser::Encoding::Component => return None,
                Payload::ModuleSection { unchecked_range, .. } => {
                    let module = parse_module(bytes, unchecked_range.clone())?;
                    c.modules.push(module);
                    rest = rest.get(unchecked_range.len()..)?;
                }
                Payload::ComponentSection { unchecked_range, .. } => {
                    // Nested components without core code only re-export what they are given.
                    if has_core_code(bytes.get(unchecked_range.clone())?)? {
                        return None;
                    }
                    rest = rest.get(unchecked_range.len()..)?;
                }
                Payload::InstanceSection(r) => {
                    for inst in r {
                        c.core_insts.push(match inst.ok()? {
                            Instance::Instantiate { module_index, args } => CoreInst::Instantiate {
                                module: module_index,
                                args: args.iter().map(|a| (a.name, a.index)).collect(),
                            },
                            Instance::FromExports(exports) => {
                                CoreInst::FromExports(exports.iter().map(|e| (e.name, e.kind, e.index)).collect())
                            }
                        });
                    }
                }
                Payload::ComponentImportSection(r) => {
                    for import in r {
                        let import = import.ok()?;
                        let name = import.name.name;
                        match import.ty {
                            ComponentTypeRef::Func(_) => c.comp_funcs.push(CompFunc::Import(name)),
                            ComponentTypeRef::Instance(_) => c.comp_insts.push(CompInst::Import(name)),
                            // An imported module's code is unknown.
                            ComponentTypeRef::Module(_) => return None,
                            _ => {}
                        }
                    }
                }
                Payload::ComponentExportSection(r) => {
                    for export in r {
                        let export = export.ok()?;
                        match export.kind {
                            ComponentExternalKind::Func => c.comp_funcs.push(CompFunc::Same(export.index)),
                            ComponentExternalKind::Instance => c.comp_insts.push(CompInst::Same(export.index)),
                            ComponentExternalKind::Module => return None,
                            _ => {}
                        }
                    }
                }
                Payload::ComponentInstanceSection(r) => {
                    for inst in r {
                        match inst.ok()? {
                            ComponentInstance::Instantiate { .. } | ComponentInstance::FromExports(_) => {
                                c.comp_insts.push(CompInst::Other)
                            }
                        }
                    }
                }
                Payload::ComponentAliasSection(r) => {
                    for alias in r {
                        match alias.ok()? {
                            ComponentAlias::InstanceExport {
                                kind,
                                instance_index,
                                name,
                            } => match kind {
                                ComponentExternalKind::Func => {
                                    c.comp_funcs.push(CompFunc::InstanceExport(instance_index, name))
                                }
                                ComponentExternalKind::Instance => c.comp_insts.push(CompInst::Other),
                                ComponentExternalKind::Module => return None,
                                _ => {}
                            },
                            ComponentAlias::CoreInstanceExport {
                                kind,
                                instance_index,
                                name,
                            } => match kind {
                                ExternalKind::Func | ExternalKind::FuncExact => {
                                    c.core_funcs.push(CoreFunc::Export(instance_index, name))
                                }
                                ExternalKind::Table => c.core_tables.push((instance_index, name)),
                                _ => {}
                            },
                            ComponentAlias::Outer { kind, .. } => {
                                if kind == wasmparser::ComponentOuterAliasKind::CoreModule {
                                    return None;
                                }
                            }
                        }
                    }
                }
                Payload::ComponentCanonicalSection(r) => {
                    for canon in r {
                        match canon.ok()? {
                            CanonicalFunction::Lift {
                                core_func_index,
                                options,
                                ..
                            } => {
                                c.comp_funcs.push(CompFunc::Lift(core_func_index));
                                c.host_roots.push(core_func_index);
                                c.host_roots.extend(option_funcs(&options));
                            }
                            CanonicalFunction::Lower { func_index, options } => {
                                c.core_funcs.push(CoreFunc::Lowered(func_index));
                                c.host_roots.extend(option_funcs(&options));
                            }
                            // These let the host call functions taken from a table or a reference.
                            CanonicalFunction::ThreadSpawnRef { .. }
                            | CanonicalFunction::ThreadSpawnIndirect { .. }
                            | CanonicalFunction::ThreadNewIndirect { .. } => return None,
                            _ => c.core_funcs.push(CoreFunc::Builtin),
                        }
                    }
                }
                Payload::CustomSection(s) => {
                    if let KnownCustom::ComponentName(names) = s.as_known() {
                        for name in names.into_iter().flatten() {
                            if let wasmparser::ComponentName::CoreModules(map) = name {
                                for naming in map.into_iter().flatten() {
                                    module_names.insert(naming.index, naming.name.to_string());
                                }
                            }
                        }
                    }
                }
                Payload::End(_) => break,
                _ => {}
            }
        }
        for (i, m) in c.modules.iter_mut().enumerate() {
            if let Some(name) = module_names.remove(&(i as u32)) {
                m.name = Some(name);
            }
            m.intermediary = m.name.as_deref().is_some_and(is_intermediary_name);
        }
        for i in 0..c.modules.len() {
            if c.modules[i].intermediary {
                let range = c.modules[i].range.clone();
                parse_code(bytes.get(range)?, &mut c.modules[i])?;
            }
        }
        Some(c)
    }

    fn module_of(&self, inst: u32) -> Option<&Module<'a>> {
        match self.core_insts.get(inst as usize)? {
            CoreInst::Instantiate { module, .. } => self.modules.get(*module as usize),
            CoreInst::FromExports(_) => None,
        }
    }

    fn is_program(&self, inst: u32) -> bool {
        self.module_of(inst).is_none_or(|m| !m.intermediary)
    }

    /// The component function behind core function `idx` when it is lowered.
    fn resolve_core_func(&self, idx: u32, depth: usize) -> Target {
        if depth > MAX_DEPTH {
            return Target::Unknown;
        }
        match self.core_funcs.get(idx as usize) {
            Some(CoreFunc::Lowered(f)) => self.resolve_comp_func(*f, depth + 1),
            Some(CoreFunc::Export(inst, name)) => self.resolve_export(*inst, name, depth + 1),
            Some(CoreFunc::Builtin) => Target::Builtin,
            None => Target::Unknown,
        }
    }

    fn resolve_comp_func(&self, idx: u32, depth: usize) -> Target {
        if depth > MAX_DEPTH {
            return Target::Unknown;
        }
        match self.comp_funcs.get(idx as usize) {
            Some(CompFunc::Import(_)) => Target::Lowered(idx),
            Some(CompFunc::InstanceExport(inst, _)) => match self.resolve_comp_inst(*inst, depth + 1) {
                Some(_) => Target::Lowered(idx),
                None => Target::Unknown,
            },
            // Lowering a lifted function calls that core function.
            Some(CompFunc::Lift(core)) => self.resolve_core_func(*core, depth + 1),
            Some(CompFunc::Same(other)) => self.resolve_comp_func(*other, depth + 1),
            None => Target::Unknown,
        }
    }

    /// The imported function [`Target::Lowered`] stands for.
    fn key(&self, idx: u32) -> Option<FuncKey> {
        match self.comp_funcs.get(idx as usize)? {
            CompFunc::Import(name) => Some((name.to_string(), String::new())),
            CompFunc::InstanceExport(inst, name) => {
                Some((self.resolve_comp_inst(*inst, 0)?.to_string(), name.to_string()))
            }
            _ => None,
        }
    }

    /// The imported instance's name, when instance `idx` is one.
    fn resolve_comp_inst(&self, idx: u32, depth: usize) -> Option<&'a str> {
        if depth > MAX_DEPTH {
            return None;
        }
        match self.comp_insts.get(idx as usize)? {
            CompInst::Import(name) => Some(*name),
            CompInst::Same(other) => self.resolve_comp_inst(*other, depth + 1),
            CompInst::Other => None,
        }
    }

    /// The function core instance `inst` exports as `name`.
    fn resolve_export(&self, inst: u32, name: &str, depth: usize) -> Target {
        if depth > MAX_DEPTH {
            return Target::Unknown;
        }
        match self.core_insts.get(inst as usize) {
            Some(CoreInst::FromExports(items)) => match items.iter().find(|(n, _, _)| *n == name) {
                Some((_, ExternalKind::Func | ExternalKind::FuncExact, idx)) => self.resolve_core_func(*idx, depth + 1),
                _ => Target::Unknown,
            },
            Some(CoreInst::Instantiate { module, .. }) => {
                let Some(m) = self.modules.get(*module as usize) else {
                    return Target::Unknown;
                };
                match m.exports.get(name) {
                    Some((ExternalKind::Func | ExternalKind::FuncExact, f)) => {
                        self.resolve_func_in(inst, *f, depth + 1)
                    }
                    _ => Target::Unknown,
                }
            }
            None => Target::Unknown,
        }
    }

    /// Function index `func` as seen inside instance `inst`.
    fn resolve_func_in(&self, inst: u32, func: u32, depth: usize) -> Target {
        let Some(CoreInst::Instantiate { module, args }) = self.core_insts.get(inst as usize) else {
            return Target::Unknown;
        };
        let Some(m) = self.modules.get(*module as usize) else {
            return Target::Unknown;
        };
        match m.func_imports.get(func as usize) {
            Some((module_name, field, _)) => match args.iter().find(|(n, _)| n == module_name) {
                Some((_, arg)) => self.resolve_export(*arg, field, depth + 1),
                None => Target::Unknown,
            },
            None => Target::Defined { inst, func },
        }
    }

    /// Table index `table` as seen inside instance `inst`.
    fn resolve_table_in(&self, inst: u32, table: u32, depth: usize) -> Option<TableId> {
        if depth > MAX_DEPTH {
            return None;
        }
        let CoreInst::Instantiate { module, args } = self.core_insts.get(inst as usize)? else {
            return None;
        };
        let m = self.modules.get(*module as usize)?;
        match m.table_imports.get(table as usize) {
            Some((module_name, field)) => {
                let (_, arg) = args.iter().find(|(n, _)| n == module_name)?;
                self.resolve_table_export(*arg, field, depth + 1)
            }
            None => Some((inst, table)),
        }
    }

    fn resolve_table_export(&self, inst: u32, name: &str, depth: usize) -> Option<TableId> {
        if depth > MAX_DEPTH {
            return None;
        }
        match self.core_insts.get(inst as usize)? {
            CoreInst::FromExports(items) => match items.iter().find(|(n, _, _)| *n == name)? {
                (_, ExternalKind::Table, idx) => {
                    let (i, n) = self.core_tables.get(*idx as usize)?;
                    self.resolve_table_export(*i, n, depth + 1)
                }
                _ => None,
            },
            CoreInst::Instantiate { module, .. } => match self.modules.get(*module as usize)?.exports.get(name)? {
                (ExternalKind::Table, t) => self.resolve_table_in(inst, *t, depth + 1),
                _ => None,
            },
        }
    }

    /// What every table may hold, and which tables are open (see [`TableContents::open`]).
    fn tables(&self) -> HashMap<TableId, TableContents> {
        let mut tables: HashMap<TableId, TableContents> = HashMap::new();
        let mut unresolved = false;
        for (inst, ci) in self.core_insts.iter().enumerate() {
            let inst = inst as u32;
            let CoreInst::Instantiate { module, .. } = ci else {
                continue;
            };
            let Some(m) = self.modules.get(*module as usize) else {
                continue;
            };
            let table_count = m.table_imports.len() as u32 + m.defined_tables;
            for t in 0..table_count {
                let Some(id) = self.resolve_table_in(inst, t, 0) else {
                    unresolved = true;
                    continue;
                };
                let contents = tables.entry(id).or_default();
                if !m.intermediary || m.mutated_tables.contains(&t) {
                    contents.open = true;
                }
            }
            for e in &m.elems {
                let Some((table, offset)) = e.active else {
                    continue;
                };
                let Some(id) = self.resolve_table_in(inst, table, 0) else {
                    unresolved = true;
                    continue;
                };
                let contents = tables.entry(id).or_default();
                for (i, item) in e.items.iter().enumerate() {
                    let target = match item {
                        Item::Func(f) => self.resolve_func_in(inst, *f, 0),
                        Item::Null => continue,
                        Item::Other => Target::Unknown,
                    };
                    match offset {
                        Some(k) => contents.slots.entry(k.wrapping_add(i as u32)).or_default().push(target),
                        None => contents.anywhere.push(target),
                    }
                }
            }
        }
        if unresolved {
            for t in tables.values_mut() {
                t.open = true;
            }
        }
        tables
    }

    /// Follows a shim stub (a body that only forwards to one constant slot of a table that holds
    /// exactly one function there) to the function it forwards to, so that an import lowered
    /// through the shim counts as imported directly.
    fn through_plumbing(&self, mut target: Target, tables: &HashMap<TableId, TableContents>) -> Target {
        for _ in 0..MAX_DEPTH {
            let Target::Defined { inst, func } = &target else {
                return target;
            };
            let Some(m) = self.module_of(*inst).filter(|m| m.plumbing()) else {
                return target;
            };
            let Some(body) = func
                .checked_sub(m.imported_funcs())
                .and_then(|i| m.bodies.get(i as usize))
            else {
                return target;
            };
            let [(table, Some(slot))] = body.indirect[..] else {
                return target;
            };
            if !body.calls.is_empty() || body.unknown {
                return target;
            }
            let Some(contents) = self.resolve_table_in(*inst, table, 0).and_then(|id| tables.get(&id)) else {
                return target;
            };
            match contents.slots.get(&slot).map(Vec::as_slice) {
                Some([only]) if !contents.open && contents.anywhere.is_empty() => target = *only,
                _ => return target,
            }
        }
        target
    }

    fn flow(&self) -> Flow {
        let tables = self.tables();
        let mut flow = Flow {
            intermediaries: self
                .modules
                .iter()
                .filter(|m| m.intermediary)
                .filter_map(|m| m.name.clone())
                .collect(),
            ..Flow::default()
        };
        let mut reach = Reach {
            c: self,
            tables: &tables,
            memo: HashMap::new(),
        };
        let mut direct: HashSet<u32> = HashSet::new();
        let mut roots: HashSet<Target> = self.host_roots.iter().map(|f| self.resolve_core_func(*f, 0)).collect();
        for (inst, ci) in self.core_insts.iter().enumerate() {
            let inst = inst as u32;
            let CoreInst::Instantiate { module, .. } = ci else {
                continue;
            };
            let Some(m) = self.modules.get(*module as usize) else {
                continue;
            };
            if let Some(start) = m.start {
                roots.insert(self.resolve_func_in(inst, start, 0));
            }
            if m.intermediary {
                // Functions handed out as references through the module's boundary.
                if m.reference_boundary {
                    let escaping = m.ref_funcs.iter().copied().chain(
                        m.elems
                            .iter()
                            .filter(|e| e.active.is_none())
                            .flat_map(|e| e.items.iter())
                            .filter_map(|i| match i {
                                Item::Func(f) => Some(*f),
                                Item::Null | Item::Other => None,
                            }),
                    );
                    roots.extend(escaping.map(|f| self.resolve_func_in(inst, f, 0)));
                }
                continue;
            }
            // A program module: each imported function is charged as written.
            for (i, (module_name, field, span)) in m.func_imports.iter().enumerate() {
                match self.through_plumbing(self.resolve_func_in(inst, i as u32, 0), &tables) {
                    Target::Lowered(f) => {
                        direct.insert(f);
                    }
                    Target::Builtin => {}
                    Target::Unknown => flow.everything = true,
                    Target::Defined { inst: d, func } => {
                        if self.is_program(d) {
                            continue;
                        }
                        let (reaches, everything) = reach.from(Target::Defined { inst: d, func });
                        flow.sites.push(Site {
                            program: m.name.clone().unwrap_or_else(|| format!("module {module}")),
                            module: module_name.to_string(),
                            field: field.to_string(),
                            span: span.clone(),
                            reaches: reaches.iter().filter_map(|f| self.key(*f)).collect(),
                            everything,
                        });
                    }
                }
            }
        }
        // What a program can call through an open table.
        for contents in tables.values().filter(|t| t.open) {
            roots.extend(contents.slots.values().flatten().copied());
            roots.extend(contents.anywhere.iter().copied());
        }
        for root in roots {
            let (reaches, everything) = reach.from(root);
            direct.extend(reaches.iter().copied());
            flow.everything |= everything;
        }
        flow.direct = direct.into_iter().filter_map(|f| self.key(f)).collect();
        flow
    }
}

struct Reach<'c, 'a> {
    c: &'c Component<'a>,
    tables: &'c HashMap<TableId, TableContents>,
    /// Results by start, so that a function reached from many places is walked once per start.
    memo: HashMap<Target, (std::rc::Rc<BTreeSet<u32>>, bool)>,
}

impl Reach<'_, '_> {
    /// The imported functions `start` can reach, and whether it can reach something unknown.
    fn from(&mut self, start: Target) -> (std::rc::Rc<BTreeSet<u32>>, bool) {
        if let Some((found, everything)) = self.memo.get(&start) {
            return (std::rc::Rc::clone(found), *everything);
        }
        let mut found = BTreeSet::new();
        let mut everything = false;
        let mut seen: HashSet<Target> = HashSet::new();
        let mut stack = vec![start];
        while let Some(t) = stack.pop() {
            if !seen.insert(t) {
                continue;
            }
            match t {
                Target::Lowered(f) => {
                    found.insert(f);
                }
                Target::Builtin => {}
                Target::Unknown => everything = true,
                Target::Defined { inst, func } => {
                    let Some(m) = self.c.module_of(inst) else {
                        everything = true;
                        continue;
                    };
                    if !m.intermediary {
                        // A program function: its imports are charged where it imports them.
                        continue;
                    }
                    let Some(body) = func
                        .checked_sub(m.imported_funcs())
                        .and_then(|i| m.bodies.get(i as usize))
                    else {
                        everything = true;
                        continue;
                    };
                    everything |= body.unknown;
                    for callee in &body.calls {
                        stack.push(self.c.resolve_func_in(inst, *callee, 0));
                    }
                    for (table, slot) in &body.indirect {
                        let Some(id) = self.c.resolve_table_in(inst, *table, 0) else {
                            everything = true;
                            continue;
                        };
                        let Some(contents) = self.tables.get(&id) else {
                            continue;
                        };
                        if contents.open {
                            everything = true;
                            continue;
                        }
                        match slot {
                            Some(k) => stack.extend(contents.slots.get(k).into_iter().flatten().copied()),
                            None => stack.extend(contents.slots.values().flatten().copied()),
                        }
                        stack.extend(contents.anywhere.iter().copied());
                    }
                }
            }
        }
        let found = std::rc::Rc::new(found);
        self.memo.insert(start, (std::rc::Rc::clone(&found), everything));
        (found, everything)
    }
}

fn option_funcs(options: &[CanonicalOption]) -> impl Iterator<Item = u32> + '_ {
    options.iter().filter_map(|o| match o {
        CanonicalOption::Realloc(f) | CanonicalOption::PostReturn(f) | CanonicalOption::Callback(f) => Some(*f),
        _ => None,
    })
}

/// Whether a nested component holds core code (modules, core instances or lowered functions).
fn has_core_code(bytes: &[u8]) -> Option<bool> {
    let mut parser = Parser::new(0);
    let mut rest = bytes;
    loop {
        let Chunk::Parsed { consumed, payload } = parser.parse(rest, true).ok()? else {
            return None;
        };
        rest = &rest[consumed..];
        match payload {
            Payload::ModuleSection { .. } | Payload::InstanceSection(_) | Payload::ComponentCanonicalSection(_) => {
                return Some(true);
            }
            Payload::ComponentSection { unchecked_range, .. } => {
                if has_core_code(bytes.get(unchecked_range.clone())?)? {
                    return Some(true);
                }
                rest = rest.get(unchecked_range.len()..)?;
            }
            Payload::End(_) => return Some(false),
            _ => {}
        }
    }
}

/// A nested module's imports, exports, tables, elements and start, without its code.
fn parse_module(bytes: &[u8], range: Range<usize>) -> Option<Module<'_>> {
    let data = bytes.get(range.clone())?;
    let base = bytes.as_ptr() as usize;
    let span_of = |s: &str| {
        let start = (s.as_ptr() as usize).wrapping_sub(base);
        if start <= bytes.len() {
            start..start + s.len()
        } else {
            0..0
        }
    };
    let mut m = Module {
        range: range.clone(),
        ..Module::default()
    };
    let mut parser = Parser::new(range.start as u64);
    let mut rest = data;
    loop {
        let Chunk::Parsed { consumed, payload } = parser.parse(rest, true).ok()? else {
            return None;
        };
        rest = &rest[consumed..];
        match payload {
            Payload::ImportSection(r) => {
                for import in r.into_imports() {
                    let i = import.ok()?;
                    match i.ty {
                        TypeRef::Func(_) | TypeRef::FuncExact(_) => {
                            m.func_imports.push((i.module, i.name, span_of(i.name)))
                        }
                        TypeRef::Table(_) => {
                            m.table_imports.push((i.module, i.name));
                            m.reference_boundary = true;
                        }
                        TypeRef::Global(g) => m.reference_boundary |= g.content_type.is_reference_type(),
                        _ => {}
                    }
                }
            }
            Payload::TableSection(r) => m.defined_tables += r.count(),
            Payload::ExportSection(r) => {
                for e in r {
                    let e = e.ok()?;
                    if e.kind == ExternalKind::Table {
                        m.reference_boundary = true;
                    }
                    m.exports.insert(e.name, (e.kind, e.index));
                }
            }
            Payload::StartSection { func, .. } => m.start = Some(func),
            Payload::ElementSection(r) => {
                for e in r {
                    let e = e.ok()?;
                    let active = match e.kind {
                        ElementKind::Active {
                            table_index,
                            offset_expr,
                        } => Some((table_index.unwrap_or(0), const_i32(&offset_expr))),
                        ElementKind::Passive | ElementKind::Declared => None,
                    };
                    let mut items = Vec::new();
                    match e.items {
                        ElementItems::Functions(r) => {
                            for f in r {
                                items.push(Item::Func(f.ok()?));
                            }
                        }
                        ElementItems::Expressions(_, r) => {
                            for expr in r {
                                items.push(item(&expr.ok()?));
                            }
                        }
                    }
                    m.elems.push(ElemInfo { active, items });
                }
            }
            Payload::CodeSectionStart { size, .. } => {
                parser.skip_section();
                rest = rest.get(size as usize..)?;
            }
            Payload::CustomSection(s) => {
                if let KnownCustom::Name(names) = s.as_known() {
                    // The module name is the first subsection; the rest (function, local
                    // names...) is not needed.
                    if let Some(Ok(wasmparser::Name::Module { name, .. })) = names.into_iter().next() {
                        m.name = Some(name.to_string());
                    }
                }
            }
            Payload::End(_) => break,
            _ => {}
        }
    }
    Some(m)
}

/// The calls of every defined function of an intermediary, and whether a function type of it
/// carries references.
fn parse_code(data: &[u8], m: &mut Module<'_>) -> Option<()> {
    let mut parser = Parser::new(m.range.start as u64);
    let mut rest = data;
    loop {
        let Chunk::Parsed { consumed, payload } = parser.parse(rest, true).ok()? else {
            return None;
        };
        rest = &rest[consumed..];
        match payload {
            Payload::TypeSection(r) => {
                for group in r {
                    for ty in group.ok()?.into_types() {
                        if let wasmparser::CompositeInnerType::Func(f) = &ty.composite_type.inner
                            && f.params().iter().chain(f.results()).any(|v| v.is_reference_type())
                        {
                            // Conservative: a reference type in any function type of the
                            // module may cross its boundary.
                            m.reference_boundary = true;
                        }
                    }
                }
            }
            Payload::CodeSectionEntry(body) => {
                let mut f = FuncBody::default();
                let mut last_const: Option<u32> = None;
                let mut ops = body.get_operators_reader().ok()?;
                while !ops.eof() {
                    let op = ops.read().ok()?;
                    let mut constant = None;
                    match op {
                        Operator::Call { function_index } | Operator::ReturnCall { function_index } => {
                            f.calls.push(function_index)
                        }
                        Operator::CallIndirect { table_index, .. }
                        | Operator::ReturnCallIndirect { table_index, .. } => {
                            f.indirect.push((table_index, last_const))
                        }
                        Operator::CallRef { .. } | Operator::ReturnCallRef { .. } => f.unknown = true,
                        Operator::RefFunc { function_index } => m.ref_funcs.push(function_index),
                        Operator::TableSet { table }
                        | Operator::TableGrow { table }
                        | Operator::TableFill { table } => {
                            m.mutated_tables.insert(table);
                        }
                        Operator::TableCopy { dst_table, .. } => {
                            m.mutated_tables.insert(dst_table);
                        }
                        Operator::TableInit { table, .. } => {
                            m.mutated_tables.insert(table);
                        }
                        Operator::I32Const { value } => constant = Some(value as u32),
                        _ => {}
                    }
                    last_const = constant;
                }
                m.bodies.push(f);
            }
            Payload::End(_) => break,
            _ => {}
        }
    }
    Some(())
}

/// The value of a constant expression that is a single `i32.const`.
fn const_i32(expr: &wasmparser::ConstExpr<'_>) -> Option<u32> {
    let mut ops = expr.get_operators_reader();
    let first = ops.read().ok()?;
    let end = ops.read().ok()?;
    match (first, end) {
        (Operator::I32Const { value }, Operator::End) => Some(value as u32),
        _ => None,
    }
}

/// An element item's constant expression.
fn item(expr: &wasmparser::ConstExpr<'_>) -> Item {
    let mut ops = expr.get_operators_reader();
    match (ops.read(), ops.read()) {
        (Ok(Operator::RefFunc { function_index }), Ok(Operator::End)) => Item::Func(function_index),
        (Ok(Operator::RefNull { .. }), Ok(Operator::End)) => Item::Null,
        _ => Item::Other,
    }
}
