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

use foldhash::{HashMap, HashMapExt as _, HashSet};
use std::ops::Range;

use wasmparser::{
    CanonicalFunction, CanonicalOption, ComponentAlias, ComponentExternalKind, ComponentInstance, ComponentTypeRef,
    ElementItems, ElementKind, ExternalKind, FrameStack, Instance, KnownCustom, Operator, Payload, TypeRef,
    VisitOperator,
};

/// An imported function of the component: (import name as written, function name within the
/// imported instance; empty for a bare function import).
pub type FuncKey = (String, String);

/// The result of the analysis.
#[derive(Debug, Default)]
pub struct Flow {
    /// The imported functions the analysis names, each once; [`Flow::direct`] and
    /// [`Site::reaches`] are indices into it.
    pub keys: Vec<FuncKey>,
    /// Imported functions charged as written: a program module imports them directly, or an
    /// intermediary's own entry points reach them.
    pub direct: Vec<u32>,
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
    /// The imported functions its call can reach (indices into [`Flow::keys`]).
    pub reaches: Vec<u32>,
    /// It can reach something unresolvable, so every import.
    pub everything: bool,
}

/// Whether a core module name marks an intermediary.
pub fn is_intermediary_name(name: &str) -> bool {
    name.starts_with("wit-component:adapter:") || name == "wit-component-shim-module" || name == "wit-component-fixup"
}

/// Gathers what the analysis needs from the payloads of the one pass that validates a component
/// ([`crate::component::read`]): the component's sections and its core modules' headers as they
/// stream by, then the code of the intermediaries while their functions are validated.
///
/// Whether a module is an intermediary is known only from names that come after its code (its
/// own name section, or the component's), and wasmparser validates function bodies after every
/// payload has been seen; so each body is read once, by the validator, and an intermediary's
/// calls are recorded from the same operators ([`Collector::validate_body`]).
pub struct Collector<'a> {
    bytes: &'a [u8],
    c: Component<'a>,
    /// The component's name sections.
    component_names: Vec<wasmparser::ComponentNameSectionReader<'a>>,
    /// What the payload being read belongs to, innermost last.
    frames: Vec<Frame>,
    /// A shape this analysis does not model (see [`Collector::finish`]).
    unsupported: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Frame {
    /// The component being analysed.
    Top,
    /// One of its core modules, by index.
    Module(usize),
    /// A nested component, or anything inside one.
    Nested,
}

impl<'a> Collector<'a> {
    /// A collector for the component `bytes`; feed it every payload of `bytes` in order.
    pub fn new(bytes: &'a [u8]) -> Self {
        Collector {
            bytes,
            c: Component::default(),
            component_names: Vec::new(),
            frames: Vec::new(),
            unsupported: false,
        }
    }

    /// The module whose payloads are being read, when it is one of the component's own.
    pub fn current_module(&self) -> Option<usize> {
        match self.frames.last() {
            Some(Frame::Module(m)) => Some(*m),
            _ => None,
        }
    }

    /// Takes the next payload of the component (as `Parser::parse_all` yields them, nested
    /// modules and components inline).
    pub fn payload(&mut self, payload: &Payload<'a>) {
        if self.unsupported {
            return;
        }
        match (self.frames.last().copied(), payload) {
            (None, _) => self.frames.push(Frame::Top),
            (Some(Frame::Top), Payload::ModuleSection { .. }) => {
                self.frames.push(Frame::Module(self.c.modules.len()));
                self.c.modules.push(Module::default());
            }
            (Some(_), Payload::ModuleSection { .. } | Payload::ComponentSection { .. }) => {
                // Nested components without core code only re-export what they are given; core
                // code inside one is not modelled.
                if matches!(payload, Payload::ModuleSection { .. }) {
                    self.unsupported = true;
                }
                self.frames.push(Frame::Nested);
            }
            (Some(_), Payload::End(_)) => {
                self.frames.pop();
            }
            (Some(Frame::Top), _) => self.unsupported |= self.c.component_payload(payload).is_none(),
            (Some(Frame::Module(m)), _) => {
                let bytes = self.bytes;
                self.unsupported |= self.c.modules[m].payload(bytes, payload).is_none();
            }
            (Some(Frame::Nested), Payload::InstanceSection(_) | Payload::ComponentCanonicalSection(_)) => {
                self.unsupported = true;
            }
            (Some(Frame::Nested), _) => {}
        }
        // Read once every module is known, and only if one has no name of its own.
        if let (Some(Frame::Top), Payload::CustomSection(s)) = (self.frames.last(), payload)
            && let KnownCustom::ComponentName(names) = s.as_known()
        {
            self.component_names.push(names);
        }
    }

    /// After the last payload: decides which modules are intermediaries, from their names.
    pub fn names_known(&mut self) {
        // A module's own name section names it; the component's names the others.
        if self.c.modules.iter().any(|m| m.name.is_none()) {
            for names in self.component_names.drain(..) {
                for name in names.into_iter().flatten() {
                    if let wasmparser::ComponentName::CoreModules(map) = name {
                        for naming in map.into_iter().flatten() {
                            if let Some(m) = self.c.modules.get_mut(naming.index as usize) {
                                m.name = m.name.or(Some(naming.name));
                            }
                        }
                    }
                }
            }
        }
        for m in &mut self.c.modules {
            m.intermediary = m.name.is_some_and(is_intermediary_name);
            m.reference_boundary |= m.intermediary && m.reference_types;
        }
    }

    /// Takes what the validator knows of module `module` once it has read all of it: whether
    /// any of its function types has a reference in it (conservative: such a type may carry a
    /// reference across the module's boundary).
    pub fn module_types(&mut self, module: usize, types: &wasmparser::types::Types) {
        let types = types.as_ref();
        let references = (0..types.core_type_count_in_module()).any(|i| {
            match &types[types.core_type_at_in_module(i)].composite_type.inner {
                wasmparser::CompositeInnerType::Func(f) => {
                    f.params().iter().chain(f.results()).any(|v| v.is_reference_type())
                }
                _ => false,
            }
        });
        if let Some(m) = self.c.modules.get_mut(module) {
            m.reference_types = references;
        }
    }

    /// Validates one function body of module `module` (`None`: not one of the component's own)
    /// with `validator`, recording its calls when the module is an intermediary. Bodies must come
    /// in order, after [`Collector::names_known`].
    ///
    /// # Errors
    /// The body is invalid.
    pub fn validate_body<R: wasmparser::WasmModuleResources>(
        &mut self,
        module: Option<usize>,
        validator: &mut wasmparser::FuncValidator<R>,
        body: &wasmparser::FunctionBody<'_>,
    ) -> wasmparser::Result<()> {
        let Some(m) = module
            .and_then(|m| self.c.modules.get_mut(m))
            .filter(|m| m.intermediary)
        else {
            return validator.validate(body);
        };
        let mut reader = body.get_binary_reader();
        validator.read_locals(&mut reader)?;
        reader.set_features(*validator.features());
        let (calls, indirect) = (m.calls.len(), m.indirect.len());
        let mut notes = Notes {
            bytes: self.bytes,
            module: m,
            unknown: false,
            last_const: None,
        };
        while !reader.eof() {
            let at = reader.original_position();
            let mut recorder = Recorder {
                validator: validator.visitor(at),
                notes: &mut notes,
                at,
            };
            reader.visit_operator(&mut recorder)??;
        }
        reader.finish_expression(&validator.visitor(reader.original_position()))?;
        let unknown = notes.unknown;
        m.bodies.push(FuncBody {
            calls: calls..m.calls.len(),
            indirect: indirect..m.indirect.len(),
            unknown,
        });
        Ok(())
    }

    /// What the code reaches: `None` when the component has no intermediary (every import is
    /// then charged as written, which is exact) or has a shape this analysis does not model
    /// (nested components with core code, imported modules, threads started from a table: every
    /// import is then charged as written, which is sound).
    pub fn finish(self) -> Option<Flow> {
        if self.unsupported || !self.c.modules.iter().any(|m| m.intermediary) {
            return None;
        }
        Some(self.c.flow())
    }
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
    Instantiate {
        module: u32,
        args: Box<[wasmparser::InstantiationArg<'a>]>,
    },
    FromExports(Box<[wasmparser::Export<'a>]>),
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

/// A defined function of an intermediary: its calls, as ranges of its module's
/// [`Module::calls`] and [`Module::indirect`].
#[derive(Debug)]
struct FuncBody {
    calls: Range<usize>,
    indirect: Range<usize>,
    /// `call_ref` and the like: unknown target.
    unknown: bool,
}

#[derive(Debug, Default)]
struct Module<'a> {
    name: Option<&'a str>,
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
    /// The functions the bodies call, and their `call_indirect`s: `(table, constant slot)`.
    calls: Vec<u32>,
    indirect: Vec<(u32, Option<u32>)>,
    /// Whether a function type of the module has a reference in it.
    reference_types: bool,
}

impl Module<'_> {
    /// wit-component's shim and fix-up modules: plumbing that only forwards calls.
    fn plumbing(&self) -> bool {
        matches!(self.name, Some("wit-component-shim-module" | "wit-component-fixup"))
    }

    fn imported_funcs(&self) -> u32 {
        self.func_imports.len() as u32
    }
}

/// Table identity: the instance that defines it and its index there.
type TableId = (u32, u32);

#[derive(Debug, Default)]
struct TableContents {
    /// `(slot, what it may hold)`, by slot.
    slots: Vec<(u32, Target)>,
    anywhere: Vec<Target>,
    /// Written by code or reachable by a program: any function may be in it.
    open: bool,
}

impl TableContents {
    /// What slot `k` may hold (besides [`TableContents::anywhere`]).
    fn slot(&self, k: u32) -> &[(u32, Target)] {
        let from = self.slots.partition_point(|(s, _)| *s < k);
        let to = self.slots.partition_point(|(s, _)| *s <= k);
        &self.slots[from..to]
    }
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
    /// Takes one payload of the component itself; `None` for a shape not modelled.
    fn component_payload(&mut self, payload: &Payload<'a>) -> Option<()> {
        let c = self;
        match payload {
            Payload::InstanceSection(r) => {
                for inst in r.clone() {
                    c.core_insts.push(match inst.ok()? {
                        Instance::Instantiate { module_index, args } => CoreInst::Instantiate {
                            module: module_index,
                            args,
                        },
                        Instance::FromExports(exports) => CoreInst::FromExports(exports),
                    });
                }
            }
            Payload::ComponentImportSection(r) => {
                for import in r.clone() {
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
                for export in r.clone() {
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
                for inst in r.clone() {
                    match inst.ok()? {
                        ComponentInstance::Instantiate { .. } | ComponentInstance::FromExports(_) => {
                            c.comp_insts.push(CompInst::Other)
                        }
                    }
                }
            }
            Payload::ComponentAliasSection(r) => {
                for alias in r.clone() {
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
                for canon in r.clone() {
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
            _ => {}
        }
        Some(())
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
            Some(CoreInst::FromExports(items)) => match items.iter().find(|e| e.name == name) {
                Some(e) if matches!(e.kind, ExternalKind::Func | ExternalKind::FuncExact) => {
                    self.resolve_core_func(e.index, depth + 1)
                }
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
            Some((module_name, field, _)) => match args.iter().find(|a| a.name == *module_name) {
                Some(arg) => self.resolve_export(arg.index, field, depth + 1),
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
                let arg = args.iter().find(|a| a.name == *module_name)?;
                self.resolve_table_export(arg.index, field, depth + 1)
            }
            None => Some((inst, table)),
        }
    }

    fn resolve_table_export(&self, inst: u32, name: &str, depth: usize) -> Option<TableId> {
        if depth > MAX_DEPTH {
            return None;
        }
        match self.core_insts.get(inst as usize)? {
            CoreInst::FromExports(items) => match items.iter().find(|e| e.name == name)? {
                e if e.kind == ExternalKind::Table => {
                    let (i, n) = self.core_tables.get(e.index as usize)?;
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
                        Some(k) => contents.slots.push((k.wrapping_add(i as u32), target)),
                        None => contents.anywhere.push(target),
                    }
                }
            }
        }
        for t in tables.values_mut() {
            t.open |= unresolved;
            t.slots.sort_by_key(|(slot, _)| *slot);
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
            let [(table, Some(slot))] = m.indirect[body.indirect.clone()] else {
                return target;
            };
            if !body.calls.is_empty() || body.unknown {
                return target;
            }
            let Some(contents) = self.resolve_table_in(*inst, table, 0).and_then(|id| tables.get(&id)) else {
                return target;
            };
            match contents.slot(slot) {
                [(_, only)] if !contents.open && contents.anywhere.is_empty() => target = *only,
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
                .filter_map(|m| m.name.map(str::to_string))
                .collect(),
            ..Flow::default()
        };
        let mut reach = Reach::new(self, &tables);
        let mut direct: Vec<u32> = Vec::new();
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
                        direct.push(f);
                    }
                    Target::Builtin => {}
                    Target::Unknown => flow.everything = true,
                    Target::Defined { inst: d, func } => {
                        if self.is_program(d) {
                            continue;
                        }
                        let (reaches, everything) = reach.from(Target::Defined { inst: d, func });
                        flow.sites.push(Site {
                            program: m.name.map_or_else(|| format!("module {module}"), str::to_string),
                            module: module_name.to_string(),
                            field: field.to_string(),
                            span: span.clone(),
                            reaches,
                            everything,
                        });
                    }
                }
            }
        }
        // What a program can call through an open table.
        for contents in tables.values().filter(|t| t.open) {
            roots.extend(contents.slots.iter().map(|(_, t)| *t));
            roots.extend(contents.anywhere.iter().copied());
        }
        for root in roots {
            let (reaches, everything) = reach.from(root);
            direct.extend(reaches);
            flow.everything |= everything;
        }
        direct.sort_unstable();
        direct.dedup();
        flow.direct = direct;
        self.name_keys(&mut flow);
        flow
    }
    /// Turns the component function indices of `flow.direct` and each site's `reaches` into
    /// indices of `flow.keys`, naming each imported function once; an index that names no
    /// imported function is dropped.
    fn name_keys(&self, flow: &mut Flow) {
        let mut slot: Vec<Option<u32>> = vec![None; self.comp_funcs.len()];
        let mut rename = |list: &mut Vec<u32>| {
            list.retain_mut(|f| {
                let Some(at) = slot.get_mut(*f as usize) else {
                    return false;
                };
                if at.is_none()
                    && let Some(key) = self.key(*f)
                {
                    *at = Some(flow.keys.len() as u32);
                    flow.keys.push(key);
                }
                at.map(|k| *f = k).is_some()
            });
        };
        rename(&mut flow.direct);
        for site in &mut flow.sites {
            rename(&mut site.reaches);
        }
    }
}

/// What each call target can reach, computed once per strongly connected component of the call
/// graph (Tarjan's algorithm, iteratively: call graphs can be deep), so that every function is
/// walked once however many sites and roots lead to it.
///
/// The walk's nodes are the intermediaries' defined functions, numbered densely (instance by
/// instance), so that its state is in plain vectors. What an intermediary's imported function
/// stands for is resolved through the component's instances once, on its first call.
struct Reach<'c, 'a> {
    c: &'c Component<'a>,
    tables: &'c HashMap<TableId, TableContents>,
    /// Per core instance: the number of its first node when it instantiates an intermediary,
    /// and the first slot of `imports` for its imported functions.
    base: Vec<Option<(u32, u32)>>,
    /// Per node: the instance it belongs to.
    owner: Vec<u32>,
    /// What each intermediary instance's imported functions resolve to, once resolved.
    imports: Vec<Option<Target>>,
    /// Per node: its place in the walk's order (`UNSEEN` before), its low link, and the finished
    /// component it belongs to (`OPEN` before).
    index: Vec<u32>,
    low: Vec<u32>,
    component: Vec<u32>,
    /// Tarjan's stack.
    stack: Vec<Open>,
    /// The open nodes' successors that are nodes, and the imported functions they call
    /// directly: each open node's are a range here, in stack order.
    edges: Vec<u32>,
    lowered: Vec<u32>,
    next_index: u32,
    /// Per finished component `c`: the imported functions reached, as a bit set over the
    /// component's function index space (`bits[c * words..][..words]`), and whether something
    /// unknown is (`unknown[c]`).
    bits: Vec<u64>,
    unknown: Vec<bool>,
    words: usize,
}

const UNSEEN: u32 = u32::MAX;
const OPEN: u32 = u32::MAX;

/// A node on Tarjan's stack.
struct Open {
    node: u32,
    edges: Range<usize>,
    lowered: Range<usize>,
    /// It reaches something unknown by itself.
    unknown: bool,
}

/// What a call target is to the walk.
enum Step {
    /// A defined function of an intermediary.
    Node(u32),
    /// An imported function, by its index in the component's function index space.
    Lowered(u32),
    Unknown,
    /// A program's function (its imports are charged where it imports them) or a built-in.
    Nothing,
}

impl<'c, 'a> Reach<'c, 'a> {
    fn new(c: &'c Component<'a>, tables: &'c HashMap<TableId, TableContents>) -> Self {
        let (mut owner, mut imports) = (Vec::new(), 0u32);
        let base = (0..c.core_insts.len() as u32)
            .map(|inst| {
                let m = c.module_of(inst).filter(|m| m.intermediary)?;
                let at = (owner.len() as u32, imports);
                owner.extend(std::iter::repeat_n(inst, m.bodies.len()));
                imports += m.imported_funcs();
                Some(at)
            })
            .collect();
        let nodes = owner.len();
        Reach {
            c,
            tables,
            base,
            owner,
            imports: vec![None; imports as usize],
            index: vec![UNSEEN; nodes],
            low: vec![0; nodes],
            component: vec![OPEN; nodes],
            stack: Vec::new(),
            edges: Vec::new(),
            lowered: Vec::new(),
            next_index: 0,
            bits: Vec::with_capacity(nodes * c.comp_funcs.len().div_ceil(64)),
            unknown: Vec::new(),
            words: c.comp_funcs.len().div_ceil(64),
        }
    }

    fn step(&self, t: Target) -> Step {
        match t {
            Target::Lowered(f) => Step::Lowered(f),
            Target::Builtin => Step::Nothing,
            Target::Unknown => Step::Unknown,
            Target::Defined { inst, func } => {
                let Some(m) = self.c.module_of(inst) else {
                    return Step::Unknown;
                };
                let Some(Some((base, _))) = self.base.get(inst as usize) else {
                    return Step::Nothing;
                };
                match func.checked_sub(m.imported_funcs()) {
                    Some(i) if (i as usize) < m.bodies.len() => Step::Node(base + i),
                    _ => Step::Unknown,
                }
            }
        }
    }

    /// The imported functions `start` can reach (indices into the component's function index
    /// space, ascending), and whether it can reach something unknown.
    fn from(&mut self, start: Target) -> (Vec<u32>, bool) {
        let component = match self.step(start) {
            Step::Node(n) => self.visit(n),
            Step::Lowered(f) => return (vec![f], false),
            Step::Unknown => return (Vec::new(), true),
            Step::Nothing => return (Vec::new(), false),
        };
        let bits = &self.bits[component * self.words..][..self.words];
        let mut found = Vec::new();
        for (w, word) in bits.iter().enumerate() {
            let mut word = *word;
            while word != 0 {
                found.push(w as u32 * 64 + word.trailing_zeros());
                word &= word - 1;
            }
        }
        (found, self.unknown[component])
    }

    /// Puts node `n` on Tarjan's stack with its successors.
    fn open(&mut self, n: u32) {
        self.index[n as usize] = self.next_index;
        self.low[n as usize] = self.next_index;
        self.next_index += 1;
        let (edges, lowered) = (self.edges.len(), self.lowered.len());
        let (c, tables) = (self.c, self.tables);
        let inst = self.owner[n as usize];
        let mut unknown = true;
        if let Some(Some((first, imports_base))) = self.base.get(inst as usize).copied()
            && let Some(m) = c.module_of(inst)
            && let Some(body) = m.bodies.get((n - first) as usize)
        {
            let imported = m.imported_funcs();
            unknown = body.unknown;
            for &f in &m.calls[body.calls.clone()] {
                let t = match f.checked_sub(imported) {
                    Some(_) => Target::Defined { inst, func: f },
                    None => {
                        *self.imports[(imports_base + f) as usize].get_or_insert_with(|| c.resolve_func_in(inst, f, 0))
                    }
                };
                unknown |= self.follow(t);
            }
            for &(table, slot) in &m.indirect[body.indirect.clone()] {
                let Some(id) = c.resolve_table_in(inst, table, 0) else {
                    unknown = true;
                    continue;
                };
                let Some(contents) = tables.get(&id) else {
                    continue;
                };
                if contents.open {
                    unknown = true;
                    continue;
                }
                let slots = match slot {
                    Some(k) => contents.slot(k),
                    None => &contents.slots,
                };
                for &t in slots.iter().map(|(_, t)| t).chain(&contents.anywhere) {
                    unknown |= self.follow(t);
                }
            }
        }
        self.stack.push(Open {
            node: n,
            edges: edges..self.edges.len(),
            lowered: lowered..self.lowered.len(),
            unknown,
        });
    }

    /// Notes a successor of the node being opened; whether it is unknown.
    fn follow(&mut self, t: Target) -> bool {
        match self.step(t) {
            Step::Node(n) => self.edges.push(n),
            Step::Lowered(f) => self.lowered.push(f),
            Step::Unknown => return true,
            Step::Nothing => {}
        }
        false
    }

    /// The finished component of node `start`.
    fn visit(&mut self, start: u32) -> usize {
        if self.component[start as usize] != OPEN {
            return self.component[start as usize] as usize;
        }
        // The walk: each open node's place on Tarjan's stack and its next edge.
        self.open(start);
        let mut walk: Vec<(usize, usize)> = vec![(self.stack.len() - 1, 0)];
        while let Some(&mut (at, ref mut i)) = walk.last_mut() {
            let (node, edges) = (self.stack[at].node, self.stack[at].edges.clone());
            if *i < edges.len() {
                let n = self.edges[edges.start + *i];
                *i += 1;
                if self.index[n as usize] == UNSEEN {
                    self.open(n);
                    walk.push((self.stack.len() - 1, 0));
                } else if self.component[n as usize] == OPEN {
                    let low = &mut self.low[node as usize];
                    *low = (*low).min(self.index[n as usize]);
                }
                continue;
            }
            walk.pop();
            let low = self.low[node as usize];
            if let Some(&(parent, _)) = walk.last() {
                let parent = self.stack[parent].node as usize;
                self.low[parent] = self.low[parent].min(low);
            }
            if low == self.index[node as usize] {
                self.close(at);
            }
        }
        self.component[start as usize] as usize
    }

    /// Closes the component made of Tarjan's stack from `at` up: its result is what its
    /// members reach by themselves and through the components they lead to (all closed).
    fn close(&mut self, at: usize) {
        let component = self.unknown.len();
        for open in &self.stack[at..] {
            self.component[open.node as usize] = component as u32;
        }
        let words = self.words;
        self.bits.resize((component + 1) * words, 0);
        let (before, mine) = self.bits.split_at_mut(component * words);
        let mut everything = false;
        for open in &self.stack[at..] {
            everything |= open.unknown;
            for &f in &self.lowered[open.lowered.clone()] {
                if let Some(word) = mine.get_mut(f as usize / 64) {
                    *word |= 1 << (f % 64);
                }
            }
            for &n in &self.edges[open.edges.clone()] {
                let other = self.component[n as usize] as usize;
                if other != component {
                    for (mine, theirs) in mine.iter_mut().zip(&before[other * words..][..words]) {
                        *mine |= theirs;
                    }
                    everything |= self.unknown[other];
                }
            }
        }
        self.unknown.push(everything);
        self.edges.truncate(self.stack[at].edges.start);
        self.lowered.truncate(self.stack[at].lowered.start);
        self.stack.truncate(at);
    }
}

fn option_funcs(options: &[CanonicalOption]) -> impl Iterator<Item = u32> + '_ {
    options.iter().filter_map(|o| match o {
        CanonicalOption::Realloc(f) | CanonicalOption::PostReturn(f) | CanonicalOption::Callback(f) => Some(*f),
        _ => None,
    })
}

impl<'a> Module<'a> {
    /// Takes one payload of the module: its imports, exports, tables, elements, start, name, and
    /// whether a function type carries references. `None` for a malformed section (which
    /// validation reports).
    fn payload(&mut self, bytes: &'a [u8], payload: &Payload<'a>) -> Option<()> {
        let m = self;
        match payload {
            Payload::ImportSection(r) => {
                m.func_imports.reserve(r.count() as usize);
                for import in r.clone().into_imports() {
                    let i = import.ok()?;
                    match i.ty {
                        TypeRef::Func(_) | TypeRef::FuncExact(_) => {
                            m.func_imports.push((i.module, i.name, span_in(bytes, i.name)))
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
                m.exports.reserve(r.count() as usize);
                for e in r.clone() {
                    let e = e.ok()?;
                    if e.kind == ExternalKind::Table {
                        m.reference_boundary = true;
                    }
                    m.exports.insert(e.name, (e.kind, e.index));
                }
            }
            Payload::StartSection { func, .. } => m.start = Some(*func),
            Payload::ElementSection(r) => {
                for e in r.clone() {
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
            Payload::CustomSection(s) => {
                if let KnownCustom::Name(names) = s.as_known() {
                    // The module name is the first subsection; the rest (function, local
                    // names...) is not needed.
                    if let Some(Ok(wasmparser::Name::Module { name, .. })) = names.into_iter().next() {
                        m.name = Some(name);
                    }
                }
            }
            _ => {}
        }
        Some(())
    }
}

/// Hands each operator of an intermediary's function to the function validator, and notes on the
/// way what the analysis needs: calls, `call_indirect` with the constant slot just pushed,
/// `ref.func`, writes to tables, and what transfers control to an unknown function (`call_ref`,
/// continuations). The body is decoded once, by the validator's reader.
struct Recorder<'r, 'n, 'm, V> {
    validator: V,
    notes: &'r mut Notes<'n, 'm>,
    /// Where the operator starts in the component.
    at: usize,
}

/// What [`Recorder`] notes of one function body.
struct Notes<'n, 'm> {
    /// The component.
    bytes: &'m [u8],
    module: &'n mut Module<'m>,
    /// A call of a reference or a continuation: the target is not known.
    unknown: bool,
    /// The last `i32.const`: its value and where it starts.
    last_const: Option<(u32, usize)>,
}

impl Notes<'_, '_> {
    /// The slot of a `call_indirect` that starts at `at`: the value of an `i32.const` that
    /// ends right there, and nothing else (whatever came between could have changed it).
    fn slot_before(&self, at: usize) -> Option<u32> {
        let (value, start) = self.last_const?;
        // The opcode, then a signed LEB128 of at most 5 bytes.
        let leb = self.bytes.get(start + 1..)?;
        let len = leb.iter().take(5).position(|b| b & 0x80 == 0)? + 1;
        (start + 1 + len == at).then_some(value)
    }
}

/// What one operator means for the analysis, by name and arguments (see [`Recorder`]).
macro_rules! note {
    ($r:ident I32Const $v:ident) => {
        $r.notes.last_const = Some(($v as u32, $r.at))
    };
    ($r:ident Call $f:ident) => {
        $r.notes.module.calls.push($f)
    };
    ($r:ident ReturnCall $f:ident) => {
        $r.notes.module.calls.push($f)
    };
    ($r:ident CallIndirect $ty:ident $t:ident) => {
        $r.notes.module.indirect.push(($t, $r.notes.slot_before($r.at)))
    };
    ($r:ident ReturnCallIndirect $ty:ident $t:ident) => {
        $r.notes.module.indirect.push(($t, $r.notes.slot_before($r.at)))
    };
    ($r:ident RefFunc $f:ident) => {
        $r.notes.module.ref_funcs.push($f)
    };
    ($r:ident TableSet $t:ident) => {
        $r.notes.module.mutated_tables.insert($t)
    };
    ($r:ident TableGrow $t:ident) => {
        $r.notes.module.mutated_tables.insert($t)
    };
    ($r:ident TableFill $t:ident) => {
        $r.notes.module.mutated_tables.insert($t)
    };
    ($r:ident TableCopy $dst:ident $src:ident) => {
        $r.notes.module.mutated_tables.insert($dst)
    };
    ($r:ident TableInit $e:ident $t:ident) => {
        $r.notes.module.mutated_tables.insert($t)
    };
    ($r:ident TableAtomicSet $o:ident $t:ident) => {
        $r.notes.module.mutated_tables.insert($t)
    };
    ($r:ident TableAtomicRmwXchg $o:ident $t:ident) => {
        $r.notes.module.mutated_tables.insert($t)
    };
    ($r:ident TableAtomicRmwCmpxchg $o:ident $t:ident) => {
        $r.notes.module.mutated_tables.insert($t)
    };
    // Calls of a function reference or a continuation: the target is not known.
    ($r:ident CallRef $($a:ident)*) => {
        $r.notes.unknown = true
    };
    ($r:ident ReturnCallRef $($a:ident)*) => {
        $r.notes.unknown = true
    };
    ($r:ident Resume $($a:ident)*) => {
        $r.notes.unknown = true
    };
    ($r:ident ResumeThrow $($a:ident)*) => {
        $r.notes.unknown = true
    };
    ($r:ident ResumeThrowRef $($a:ident)*) => {
        $r.notes.unknown = true
    };
    ($r:ident Switch $($a:ident)*) => {
        $r.notes.unknown = true
    };
    ($r:ident $op:ident $($a:ident)*) => {};
}

/// Every `visit_*` method of [`Recorder`]: note the operator, then hand it to the validator.
macro_rules! forward_and_note {
    ($(@$proposal:ident $op:ident $({ $($arg:ident: $argty:ty),* })? => $visit:ident ($($ann:tt)*))*) => {
        $(
            #[inline]
            fn $visit(&mut self $($(,$arg: $argty)*)?) -> Self::Output {
                note!(self $op $($($arg)*)?);
                self.validator.$visit($($($arg),*)?)
            }
        )*
    };
}

impl<'a, V: VisitOperator<'a>> VisitOperator<'a> for Recorder<'_, '_, '_, V> {
    type Output = V::Output;

    fn simd_visitor(&mut self) -> Option<&mut dyn wasmparser::VisitSimdOperator<'a, Output = Self::Output>> {
        // No SIMD operator calls or writes a table.
        self.validator.simd_visitor()
    }

    wasmparser::for_each_visit_operator!(forward_and_note);
}

impl<V: FrameStack> FrameStack for Recorder<'_, '_, '_, V> {
    fn current_frame(&self) -> Option<wasmparser::FrameKind> {
        self.validator.current_frame()
    }
}

/// The byte range of `name`, a string borrowed from `bytes`, in `bytes`.
pub(crate) fn span_in(bytes: &[u8], name: &str) -> Range<usize> {
    let start = (name.as_ptr() as usize).wrapping_sub(bytes.as_ptr() as usize);
    if start <= bytes.len() {
        start..start + name.len()
    } else {
        0..0
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    /// A component whose program imports `fd_write` from an intermediary that calls WASI's
    /// `write` through slot 0 of its table, plus `extra` (module fields) in the intermediary.
    fn component(fd_write_body: &str, extra: &str) -> Vec<u8> {
        let wat = format!(
            r#"(component
  (import "wasi:filesystem/types@0.2.0" (instance $fs (export "open" (func))))
  (import "wasi:cli/stdout@0.2.0" (instance $out (export "write" (func))))
  (core func $open (canon lower (func $fs "open")))
  (core func $write (canon lower (func $out "write")))
  (core module $wit-component:adapter:wasi_snapshot_preview1
    (import "host" "open" (func $open))
    (import "host" "write" (func $write))
    (type $ft (func))
    (type $ct (cont $ft))
    (table $t 2 funcref)
    (table $t2 1 funcref)
    (elem (i32.const 0) func $write)
    (elem (table $t2) (i32.const 0) func $open)
    (elem $passive func $open)
    (elem declare func $open)
    (func (export "fd_write") {fd_write_body})
    {extra}
  )
  (core instance $host (export "open" (func $open)) (export "write" (func $write)))
  (core instance $a (instantiate $wit-component:adapter:wasi_snapshot_preview1 (with "host" (instance $host))))
  (core module $main (import "wasi_snapshot_preview1" "fd_write" (func)))
  (core instance $p (export "fd_write" (func $a "fd_write")))
  (core instance (instantiate $main (with "wasi_snapshot_preview1" (instance $p))))
)"#
        );
        wat::parse_str(&wat).unwrap()
    }

    /// The component's one site, and the imported functions it reaches.
    fn site(bytes: &[u8]) -> (Site, BTreeSet<FuncKey>) {
        let artifact = crate::component::read(bytes).unwrap();
        let flow = artifact.flow.expect("the component has an intermediary");
        assert_eq!(flow.sites.len(), 1, "{flow:?}");
        let reached = flow.sites[0]
            .reaches
            .iter()
            .map(|k| flow.keys[*k as usize].clone())
            .collect();
        (flow.sites[0].clone(), reached)
    }

    const THROUGH_SLOT_0: &str = "(call_indirect $t (i32.const 0))";

    #[test]
    fn a_call_through_a_closed_table_reaches_its_slot_only() {
        let (s, reached) = site(&component(THROUGH_SLOT_0, ""));
        assert_eq!(
            (s.module.as_str(), s.field.as_str()),
            ("wasi_snapshot_preview1", "fd_write")
        );
        assert!(!s.everything);
        let write = ("wasi:cli/stdout@0.2.0".to_string(), "write".to_string());
        assert_eq!(reached, BTreeSet::from([write]));
    }

    /// Every way an intermediary's code can put another function in a table opens that table:
    /// a call through it then reaches every import, whichever function does the writing and
    /// whether or not anything calls that function.
    #[test]
    fn writing_a_table_in_any_way_opens_it() {
        let writers = [
            "(table.set $t (i32.const 0) (ref.func $open))",
            "(drop (table.grow $t (ref.func $open) (i32.const 1)))",
            "(table.fill $t (i32.const 0) (ref.func $open) (i32.const 1))",
            "(table.copy $t $t2 (i32.const 0) (i32.const 0) (i32.const 1))",
            "(table.init $t $passive (i32.const 0) (i32.const 0) (i32.const 1))",
        ];
        for writer in writers {
            let (s, _) = site(&component(
                THROUGH_SLOT_0,
                &format!("(func (export \"other\") {writer})"),
            ));
            assert!(s.everything, "{writer}: {s:?}");
        }
    }

    /// A function type with a reference in an intermediary lets its `ref.func`s out of it, so
    /// they are charged as written; without one they stay inside.
    #[test]
    fn references_that_can_cross_an_intermediary_boundary_are_charged() {
        let open = ("wasi:filesystem/types@0.2.0".to_string(), "open".to_string());
        let charged = |extra: &str| {
            let flow = crate::component::read(&component(THROUGH_SLOT_0, extra))
                .unwrap()
                .flow
                .unwrap();
            flow.direct.iter().any(|k| flow.keys[*k as usize] == open)
        };
        assert!(charged("(func (export \"leak\") (result funcref) (ref.func $open))"));
        assert!(!charged("(func (export \"keep\") (drop (ref.func $open)))"));
    }

    /// Calls whose target is a reference or a continuation reach every import.
    #[test]
    fn calls_of_references_and_continuations_reach_everything() {
        let bodies = [
            "(call_ref $ft (ref.func $open))",
            "(return_call_ref $ft (ref.func $open))",
            "(resume $ct (cont.new $ct (ref.func $open)))",
        ];
        for body in bodies {
            let (s, _) = site(&component(body, ""));
            assert!(s.everything, "{body}: {s:?}");
        }
    }

    /// The slot a `call_indirect` uses is taken from an `i32.const` right before it, and from
    /// nothing else: a constant followed by any other operator, SIMD included, is not the slot.
    #[test]
    fn only_a_constant_right_before_the_call_names_the_slot() {
        // Both call slot 1 at run time, which holds `open`.
        let bodies = [
            "(i32.const 0) (i32.const 1) (i32.add) (call_indirect $t)",
            "(v128.const i32x4 1 1 1 1) (i32.const 0) (i32x4.replace_lane 1) (i32x4.extract_lane 0) (call_indirect $t)",
        ];
        for body in bodies {
            let bytes = component(body, "(elem (table $t) (i32.const 1) func $open)");
            let (s, reached) = site(&bytes);
            let open = ("wasi:filesystem/types@0.2.0".to_string(), "open".to_string());
            assert!(reached.contains(&open), "{body}: the slot is unknown, so either: {s:?}");
        }
    }
}
