//! Classification: every imported function of an artifact mapped onto what it needs — a
//! catalogue operation's requirement, a WASI charge — or reported as outside both. Type and
//! version checks against the catalogue happen here too, as do the lifecycle export checks and
//! the component's [`ComponentKind`].
//!
//! What is charged follows authority (see [`super::wasi`]): a WASI function that acts on a
//! descriptor or a network is charged only when the component can reach the import that yields
//! one, and when the component holds an adapter, its imports are charged where the program
//! imports the adapter's functions ([`super::flow`]).
//!
//! Names are matched the way the component model links them: kebab names compare ignoring ASCII
//! case, and semver-compatible versions are the same interface.

use std::ops::Range;

use wasmparser::component_types::{ComponentEntityType, ComponentFuncTypeId, ComponentInstanceTypeId};
use wasmparser::types::Types;
use wit_parser::PackageName;

use super::flow::Flow;
use super::rules;
use super::wasi::{self, Charge, Gate};
use crate::catalogue::wasmeq::{WasmTypes, same_function};
use crate::catalogue::{Catalogue, InterfaceLookup, Requirement, Term};
use crate::component::{Artifact, Item, Kind};
use crate::diagnostics::{Diagnostic, SourceId};
use crate::wit_world::rules as wit;

/// One imported function and what it needs.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct ImportedFunction {
    /// The import name as written in the binary (`airssys:ext-filesystem/filesystem@1.0.0`).
    pub import: String,
    /// The function within it (`read-file`, `[method]descriptor.read`).
    pub function: String,
    /// Byte range of the import in the binary.
    #[serde(skip)]
    pub span: Range<usize>,
    /// Where the requirement comes from.
    pub source: Mapping,
    /// What it needs statically; `None` when it cannot be known (outside the catalogue).
    pub requirement: Option<Requirement>,
    /// Why the requirement is not charged, when it is not: the component cannot reach what
    /// the function acts on, or the function is charged where a program imports the adapter.
    #[serde(rename = "not-charged", skip_serializing_if = "Option::is_none")]
    pub not_charged: Option<NotCharged>,
    /// What must be reachable for the requirement to count.
    #[serde(skip)]
    pub gate: Gate,
    /// The gate this function opens (it yields descriptors or a network).
    #[serde(skip)]
    pub opens: Option<Gate>,
}

impl ImportedFunction {
    /// A function charged as imported (no gate).
    pub fn new(
        import: impl Into<String>,
        function: impl Into<String>,
        span: Range<usize>,
        source: Mapping,
        requirement: Option<Requirement>,
    ) -> ImportedFunction {
        ImportedFunction {
            import: import.into(),
            function: function.into(),
            span,
            source,
            requirement,
            not_charged: None,
            gate: Gate::Always,
            opens: None,
        }
    }

    /// The requirement that counts: `None` when unknown or not charged.
    pub fn charged(&self) -> Option<&Requirement> {
        match self.not_charged {
            None => self.requirement.as_ref(),
            Some(_) => None,
        }
    }
}

/// Why an imported function's requirement is not charged.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum NotCharged {
    /// It acts on a descriptor, and nothing the component can reach yields one
    /// (`wasi:filesystem/preopens.get-directories`).
    NoPreopens,
    /// It acts on a socket or a lookup, and nothing the component can reach yields a network
    /// (`wasi:sockets/instance-network`).
    NoNetwork,
    /// Only an adapter calls it: it is charged at the program's imports of the adapter.
    AtProgramImports,
    /// No code of the component can call it.
    Unreachable,
}

/// What a component is, decided from its exports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ComponentKind {
    /// Exports `airssys:core/component-lifecycle`: the lifecycle contract applies.
    Airssys,
    /// Exports `wasi:cli/run`.
    WasiCommand,
    /// Exports `wasi:http/incoming-handler`.
    WasiHttpHandler,
    /// Anything else: a library or a reactor.
    Library,
    /// A core module, not a component.
    CoreModule,
}

impl ComponentKind {
    pub const ALL: [ComponentKind; 5] = [
        ComponentKind::Airssys,
        ComponentKind::WasiCommand,
        ComponentKind::WasiHttpHandler,
        ComponentKind::Library,
        ComponentKind::CoreModule,
    ];

    /// The spelling in output, flags and policies.
    pub fn as_str(self) -> &'static str {
        match self {
            ComponentKind::Airssys => "airssys",
            ComponentKind::WasiCommand => "wasi-command",
            ComponentKind::WasiHttpHandler => "wasi-http-handler",
            ComponentKind::Library => "library",
            ComponentKind::CoreModule => "core-module",
        }
    }

    /// What a reader calls it.
    pub fn describe(self) -> &'static str {
        match self {
            ComponentKind::Airssys => "an airssys component",
            ComponentKind::WasiCommand => "a WASI command",
            ComponentKind::WasiHttpHandler => "a WASI HTTP handler",
            ComponentKind::Library => "a library",
            ComponentKind::CoreModule => "a core module",
        }
    }

    pub fn parse(s: &str) -> Option<ComponentKind> {
        ComponentKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

impl std::fmt::Display for ComponentKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How an import was understood.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum Mapping {
    /// A catalogue operation, by qualified name.
    Catalogue { operation: String },
    /// A WASI 0.2 function, charged by authority.
    Wasi,
    /// A WASI preview1 function imported by a core module.
    Preview1,
    /// A program module's import served by an adapter inside the component
    /// (`wasi_snapshot_preview1::fd_readdir`): charged with what the adapter's function reaches.
    Adapter {
        /// The importing module (`main`).
        program: String,
        /// The charged functions it reaches (`wasi:filesystem/types@0.2.6#[method]descriptor.read-directory`).
        reaches: Vec<String>,
    },
    /// The destructor of a resource type (`[resource-drop]file-handle`): needs no grant.
    ResourceDrop,
    /// Not understood; a finding says why.
    Unknown,
}

/// The classified imports plus the findings about names, versions, types and the lifecycle.
pub struct Classified {
    pub kind: ComponentKind,
    /// Every imported interface (or bare item) name, in the world's order, including
    /// interfaces that only provide types.
    pub imports: Vec<String>,
    pub functions: Vec<ImportedFunction>,
    pub diagnostics: Vec<Diagnostic>,
}

pub fn classify(catalogue: &Catalogue, artifact: &Artifact, source: SourceId) -> Classified {
    let mut c = Classifier {
        catalogue,
        source,
        artifact,
        out: Classified {
            kind: ComponentKind::CoreModule,
            imports: Vec::new(),
            functions: Vec::new(),
            diagnostics: Vec::new(),
        },
    };
    match (&artifact.kind, &artifact.types) {
        (Kind::Component, Some(types)) => {
            let wasm = WasmTypes {
                types,
                resources: &artifact.resources,
            };
            c.component_imports(&wasm);
            c.out.kind = c.lifecycle(&wasm);
            charge(&mut c.out.functions, artifact.flow.as_ref());
        }
        _ => c.core_imports(),
    }
    c.out
}

/// Decides what is charged: gates (descriptors, networks) and, with an adapter, the program's
/// imports in place of the functions only the adapter calls.
fn charge(functions: &mut Vec<ImportedFunction>, flow: Option<&Flow>) {
    let flow = flow.filter(|f| !f.everything && !f.sites.iter().any(|s| s.everything));
    // The flow's functions as indices into `functions`, looked up once each.
    let n = functions.len();
    let (direct, reaches): (Vec<bool>, Vec<Vec<bool>>) = match flow {
        None => (vec![true; n], Vec::new()),
        Some(flow) => {
            let index: foldhash::HashMap<(&str, &str), usize> = functions
                .iter()
                .enumerate()
                .map(|(i, f)| ((f.import.as_str(), f.function.as_str()), i))
                .collect();
            let at: Vec<Option<usize>> = flow
                .keys
                .iter()
                .map(|(import, function)| index.get(&(import.as_str(), function.as_str())).copied())
                .collect();
            let marks = |keys: &[u32]| {
                let mut marked = vec![false; n];
                for i in keys.iter().filter_map(|k| at.get(*k as usize).copied().flatten()) {
                    marked[i] = true;
                }
                marked
            };
            (
                marks(&flow.direct),
                flow.sites.iter().map(|s| marks(&s.reaches)).collect(),
            )
        }
    };
    let through_sites: Vec<bool> = (0..n).map(|i| reaches.iter().any(|r| r[i])).collect();
    let open: Vec<Gate> = functions
        .iter()
        .enumerate()
        .filter(|(i, _)| direct[*i] || through_sites[*i])
        .filter_map(|(_, f)| f.opens)
        .collect();
    for (i, f) in functions.iter_mut().enumerate() {
        f.not_charged = if f.gate != Gate::Always && !open.contains(&f.gate) {
            Some(match f.gate {
                Gate::Network => NotCharged::NoNetwork,
                _ => NotCharged::NoPreopens,
            })
        } else if direct[i] {
            None
        } else if through_sites[i] {
            Some(NotCharged::AtProgramImports)
        } else {
            Some(NotCharged::Unreachable)
        };
    }
    let Some(flow) = flow else { return };
    let mut sites = Vec::new();
    for (site, reached) in flow.sites.iter().zip(&reaches) {
        let mut terms: Vec<Term> = Vec::new();
        let mut reaches = Vec::new();
        for f in functions.iter().zip(reached).filter(|(_, r)| **r).map(|(f, _)| f) {
            let gated_out = f.gate != Gate::Always && !open.contains(&f.gate);
            let Some(req) = f.requirement.as_ref().filter(|r| !r.is_none() && !gated_out) else {
                continue;
            };
            reaches.push(format!("{}#{}", f.import, f.function));
            for t in &req.terms {
                if !terms.contains(t) {
                    terms.push(t.clone());
                }
            }
        }
        sites.push(ImportedFunction::new(
            site.module.clone(),
            site.field.clone(),
            site.span.clone(),
            Mapping::Adapter {
                program: site.program.clone(),
                reaches,
            },
            Some(Requirement { terms }),
        ));
    }
    functions.extend(sites);
}

/// The requirement of a WASI charge: its terms, without arguments (WASI arguments are
/// descriptors and handles, unknown statically).
fn wasi_requirement(charge: &Charge) -> Requirement {
    Requirement {
        terms: charge
            .terms
            .iter()
            .map(|alternatives| Term {
                domain: alternatives[0].domain(),
                actions: alternatives.to_vec(),
                args: Vec::new(),
            })
            .collect(),
    }
}

/// An imported function's type: known for components (from the validator), not for core
/// modules (whose imports are matched by name only).
#[derive(Clone, Copy)]
enum Sig {
    Unknown,
    Wasm(ComponentFuncTypeId),
}

/// An imported function: its name, its type (when known) and where it is imported.
type Func = (String, Sig, Range<usize>);

/// A core module's imports grouped by module name: (module, span of its first import, fields).
type ModuleImports = (String, Range<usize>, Vec<Func>);

/// The functions an instance type exports, in order, with their types.
fn instance_functions(types: &Types, id: ComponentInstanceTypeId) -> Vec<(String, Sig)> {
    types[id]
        .exports
        .iter()
        .filter_map(|(name, item)| match item.ty {
            ComponentEntityType::Func(f) => Some((name.clone(), Sig::Wasm(f))),
            _ => None,
        })
        .collect()
}

struct Classifier<'a> {
    catalogue: &'a Catalogue,
    source: SourceId,
    artifact: &'a Artifact,
    out: Classified,
}

/// `ns:pkg/iface@ver` split into its parts, lower-cased for matching.
fn parse_interface_name(name: &str) -> Option<(PackageName, String)> {
    let lower = name.to_ascii_lowercase();
    let (ns, rest) = lower.split_once(':')?;
    let (pkg, rest) = rest.split_once('/')?;
    let (iface, version) = match rest.split_once('@') {
        Some((i, v)) => (i, Some(semver::Version::parse(v).ok()?)),
        None => (rest, None),
    };
    let kebab = |s: &str| {
        !s.is_empty()
            && s.split('-')
                .all(|w| !w.is_empty() && w.bytes().all(|b| b.is_ascii_alphanumeric()))
    };
    (kebab(ns) && kebab(pkg) && kebab(iface)).then(|| {
        (
            PackageName {
                namespace: ns.into(),
                name: pkg.into(),
                version,
            },
            iface.into(),
        )
    })
}

impl Classifier<'_> {
    fn report(&mut self, d: Diagnostic) {
        self.out.diagnostics.push(d);
    }

    fn push(
        &mut self,
        import: &str,
        function: &str,
        span: Range<usize>,
        source: Mapping,
        requirement: Option<Requirement>,
    ) {
        self.out
            .functions
            .push(ImportedFunction::new(import, function, span, source, requirement));
    }

    fn component_imports(&mut self, wasm: &WasmTypes<'_>) {
        for item in &self.artifact.imports {
            let Some(ci) = wasm.types.component_item_for_import(&item.name) else {
                continue;
            };
            match ci.ty {
                ComponentEntityType::Instance(id) => {
                    let funcs: Vec<Func> = instance_functions(wasm.types, id)
                        .into_iter()
                        .map(|(name, sig)| (name, sig, item.span.clone()))
                        .collect();
                    self.interface(&item.name, item.span.clone(), &funcs, Some(wasm));
                }
                ComponentEntityType::Type { .. } => {}
                _ => {
                    self.out.imports.push(item.name.clone());
                    self.outside(
                        &item.name,
                        &item.name,
                        item.span.clone(),
                        "a bare import is not a catalogue interface",
                    );
                }
            }
        }
    }

    /// Core modules name an interface (or `wasi_snapshot_preview1`) as the import module and
    /// the function as the field; each function is located at its own field name.
    fn core_imports(&mut self) {
        let items: Vec<Item> = self.artifact.imports.clone();
        let mut by_module: Vec<ModuleImports> = Vec::new();
        for i in items {
            let f = (i.field.clone().unwrap_or_default(), Sig::Unknown, i.span.clone());
            match by_module.iter_mut().find(|(m, _, _)| *m == i.name) {
                Some((_, _, fs)) => fs.push(f),
                None => by_module.push((i.name.clone(), i.span.clone(), vec![f])),
            }
        }
        for (module, span, funcs) in by_module {
            if wasi::PREVIEW1_MODULES.contains(&module.as_str()) {
                self.preview1(&module, &funcs);
            } else {
                self.interface(&module, span, &funcs, None);
            }
        }
    }

    /// WASI preview1 functions imported by a core module.
    fn preview1(&mut self, module: &str, funcs: &[Func]) {
        self.out.imports.push(module.to_string());
        for (f, _, span) in funcs {
            match wasi::preview1(f) {
                Some(charge) => self.push(
                    module,
                    f,
                    span.clone(),
                    Mapping::Preview1,
                    Some(wasi_requirement(&charge)),
                ),
                None => self.unmapped(module, f, span.clone(), "WASI preview1 has no such function"),
            }
        }
    }

    /// An imported interface; `types` is the decoded WIT (components) for type checks.
    fn interface(&mut self, name: &str, span: Range<usize>, funcs: &[Func], wasm: Option<&WasmTypes<'_>>) {
        self.out.imports.push(name.to_string());
        let Some((pkg, iface)) = parse_interface_name(name) else {
            for (f, _, span) in funcs {
                self.unmapped(
                    name,
                    f,
                    span.clone(),
                    "the import name is not an interface name (`namespace:package/interface@version`)",
                );
            }
            return;
        };
        if pkg.namespace == "wasi" {
            self.wasi(name, &pkg, &iface, span, funcs);
            return;
        }
        match self.catalogue.lookup_interface(&pkg, &iface) {
            InterfaceLookup::Found { package, .. } => {
                for (f, func, span) in funcs {
                    self.catalogue_function(name, package, &iface, f, *func, span.clone(), wasm);
                }
            }
            InterfaceLookup::IncompatibleVersion { package } => {
                let have = self.catalogue.packages[package].name.to_string();
                let at = Some((self.source, span.clone()));
                self.report(wit::component_import_incompatible(
                    at,
                    name,
                    pkg.version.is_some(),
                    &have,
                ));
                self.unknown(name, funcs);
            }
            InterfaceLookup::UnknownInterface { .. } | InterfaceLookup::UnknownPackage => {
                for (f, _, span) in funcs {
                    self.outside(name, f, span.clone(), "the catalogue has no such interface");
                }
                if funcs.is_empty() {
                    self.outside(name, "", span, "the catalogue has no such interface");
                }
            }
        }
    }

    /// A WASI interface: recognised (0.2.x) with each function's charge, or unmapped. An
    /// interface imported only for its types is recognised like any other.
    fn wasi(&mut self, name: &str, pkg: &PackageName, iface: &str, span: Range<usize>, funcs: &[Func]) {
        let known = match wasi::interface(&pkg.name, iface, pkg.version.as_ref()) {
            Ok(known) => known,
            Err(why) => {
                for (f, _, span) in funcs {
                    self.unmapped(name, f, span.clone(), &why);
                }
                if funcs.is_empty() {
                    self.unmapped(name, "", span, &why);
                }
                return;
            }
        };
        for (f, _, span) in funcs {
            let lower = f.to_ascii_lowercase();
            let Some(charge) = known.function(&lower) else {
                self.unmapped(
                    name,
                    f,
                    span.clone(),
                    &format!("`wasi:{}` has no such function in WASI 0.2", known.key),
                );
                continue;
            };
            self.push(name, f, span.clone(), Mapping::Wasi, Some(wasi_requirement(&charge)));
            let last = self.out.functions.last_mut().expect("just pushed");
            last.gate = charge.gate;
            last.opens = wasi::SOURCES
                .iter()
                .find(|(k, func, _)| *k == known.key && *func == lower)
                .map(|(_, _, gate)| *gate);
        }
    }

    fn unknown(&mut self, name: &str, funcs: &[Func]) {
        for (f, _, span) in funcs {
            self.push(name, f, span.clone(), Mapping::Unknown, None);
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn catalogue_function(
        &mut self,
        import: &str,
        package: usize,
        iface: &str,
        f: &str,
        sig: Sig,
        span: Range<usize>,
        wasm: Option<&WasmTypes<'_>>,
    ) {
        let lower = f.to_ascii_lowercase();
        if lower.starts_with("[resource-drop]") {
            self.push(
                import,
                f,
                span,
                Mapping::ResourceDrop,
                Some(Requirement { terms: Vec::new() }),
            );
            return;
        }
        let Some(op) = self.catalogue.operation(package, iface, &lower) else {
            self.outside(import, f, span, "the interface has no such operation");
            return;
        };
        if let (Some(wasm), Sig::Wasm(id)) = (wasm, sig)
            && let Err(why) = same_function(&self.catalogue.resolve, &op.function, wasm, &wasm.types[id])
        {
            let at = Some((self.source, span.clone()));
            self.report(wit::component_signature_mismatch(at, iface, f, &why));
        }
        let (operation, requirement) = (op.qualified_name(), op.requirement.clone());
        self.push(import, f, span, Mapping::Catalogue { operation }, Some(requirement));
    }

    fn outside(&mut self, import: &str, f: &str, span: Range<usize>, why: &str) {
        let what = if f.is_empty() || f == import {
            format!("import `{import}`")
        } else {
            format!("`{f}` of `{import}`")
        };
        self.report(wit::component_import_outside(
            Some((self.source, span.clone())),
            &what,
            why,
        ));
        self.push(import, f, span, Mapping::Unknown, None);
    }

    fn unmapped(&mut self, import: &str, f: &str, span: Range<usize>, why: &str) {
        self.report(rules::unmapped_import(self.source, span.clone(), import, f, why));
        self.push(import, f, span, Mapping::Unknown, None);
    }

    /// The component's kind, from its exports. An airssys component's
    /// `airssys:core/component-lifecycle` export must have the catalogue's types.
    fn lifecycle(&mut self, wasm: &WasmTypes<'_>) -> ComponentKind {
        let exported = self.artifact.exports.iter().find_map(|e| {
            let ComponentEntityType::Instance(id) = wasm.types.component_item_for_export(&e.name)?.ty else {
                return None;
            };
            let (pkg, iface) = parse_interface_name(&e.name)?;
            (pkg.namespace == "airssys" && pkg.name == "core" && iface == "component-lifecycle").then_some((
                e.name.clone(),
                pkg,
                id,
            ))
        });
        let export_span = |name: &str| {
            self.artifact
                .exports
                .iter()
                .find(|e| e.name.eq_ignore_ascii_case(name))
                .map_or(0..0, |e| e.span.clone())
        };
        let Some((name, pkg, id)) = exported else {
            return self.wasi_kind();
        };
        let span = export_span(&name);
        let InterfaceLookup::Found { package, .. } = self.catalogue.lookup_interface(&pkg, "component-lifecycle")
        else {
            self.report(wit::exported_lifecycle_incompatible(Some((self.source, span)), &name));
            return ComponentKind::Airssys;
        };
        let Some(cat) = self.catalogue.interface_id(package, "component-lifecycle") else {
            return ComponentKind::Airssys;
        };
        let exported_funcs = instance_functions(wasm.types, id);
        for (fname, expected) in &self.catalogue.resolve.interfaces[cat].functions {
            let found = exported_funcs
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(fname))
                .map(|(_, f)| *f);
            let problem = match found {
                Some(Sig::Wasm(f)) => same_function(&self.catalogue.resolve, expected, wasm, &wasm.types[f])
                    .err()
                    .map(|why| format!("the exported `component-lifecycle.{fname}` differs from the catalogue: {why}")),
                _ => Some(format!("the exported `component-lifecycle` lacks `{fname}`")),
            };
            if let Some(msg) = problem {
                self.report(wit::component_lifecycle_mismatch(
                    Some((self.source, span.clone())),
                    msg,
                ));
            }
        }
        ComponentKind::Airssys
    }

    /// A component that does not export the airssys lifecycle: a WASI command or HTTP handler
    /// (any 0.2.x version), else a library.
    fn wasi_kind(&self) -> ComponentKind {
        let exports = |iface: &str| {
            self.artifact.exports.iter().any(|e| {
                parse_interface_name(&e.name).is_some_and(|(pkg, i)| {
                    pkg.namespace == "wasi"
                        && pkg.version.as_ref().is_some_and(|v| v.major == 0 && v.minor == 2)
                        && format!("{}/{i}", pkg.name) == iface
                })
            })
        };
        if exports("cli/run") {
            ComponentKind::WasiCommand
        } else if exports("http/incoming-handler") {
            ComponentKind::WasiHttpHandler
        } else {
            ComponentKind::Library
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interface_names() {
        let (p, i) = parse_interface_name("AIRSSYS:ext-filesystem/Filesystem@1.0.1").unwrap();
        assert_eq!(
            (p.namespace.as_str(), p.name.as_str(), i.as_str()),
            ("airssys", "ext-filesystem", "filesystem")
        );
        assert_eq!(p.version, Some(semver::Version::new(1, 0, 1)));
        for bad in [
            "https://example.com/x",
            "sha256:abc",
            "label",
            "a:b",
            "a:b/c@notsemver",
            "a:/c",
            "a:b/c--d",
        ] {
            assert!(parse_interface_name(bad).is_none(), "{bad}");
        }
    }
}
