//! Classification: every imported function of an artifact mapped onto what it needs — a
//! catalogue operation's requirement, a WASI mapping — or reported as outside both. Type and
//! version checks against the catalogue happen here too, as do the lifecycle export checks.
//!
//! Names are matched the way the component model links them: kebab names compare ignoring ASCII
//! case, and semver-compatible versions are the same interface.

use std::ops::Range;

use wasmparser::component_types::{ComponentEntityType, ComponentFuncTypeId, ComponentInstanceTypeId};
use wasmparser::types::Types;
use wit_parser::PackageName;

use super::wasi::{self, WasiMapping};
use crate::catalogue::wasmeq::{WasmTypes, same_function};
use crate::catalogue::{Catalogue, InterfaceLookup, Requirement};
use crate::component::{Artifact, Item, Kind};
use crate::diagnostics::registry as r;
use crate::diagnostics::{Diagnostic, SourceId};

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
}

/// How an import was understood.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum Mapping {
    /// A catalogue operation, by qualified name.
    Catalogue { operation: String },
    /// A WASI function mapped onto a permission domain.
    Wasi,
    /// The destructor of a resource type (`[resource-drop]file-handle`): needs no grant.
    ResourceDrop,
    /// Not understood; a finding says why.
    Unknown,
}

/// The classified imports plus the findings about names, versions, types and the lifecycle.
pub struct Classified {
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
            c.lifecycle(&wasm);
        }
        _ => c.core_imports(),
    }
    c.out
}

/// An imported function's type: known for components (from the validator), not for core
/// modules (whose imports are matched by name only).
#[derive(Clone, Copy)]
enum Sig {
    Unknown,
    Wasm(ComponentFuncTypeId),
}

/// A core module's imports grouped by module name: (module, span of its first import, fields).
type ModuleImports = (String, Range<usize>, Vec<(String, Sig)>);

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
    fn report(&mut self, d: Diagnostic, span: Range<usize>, label: &str) {
        self.out.diagnostics.push(d.at(self.source, span, label));
    }

    fn push(
        &mut self,
        import: &str,
        function: &str,
        span: Range<usize>,
        source: Mapping,
        requirement: Option<Requirement>,
    ) {
        self.out.functions.push(ImportedFunction {
            import: import.into(),
            function: function.into(),
            span,
            source,
            requirement,
        });
    }

    fn component_imports(&mut self, wasm: &WasmTypes<'_>) {
        for item in &self.artifact.imports {
            let Some(ci) = wasm.types.component_item_for_import(&item.name) else {
                continue;
            };
            match ci.ty {
                ComponentEntityType::Instance(id) => {
                    let funcs = instance_functions(wasm.types, id);
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

    /// Core modules name an interface as the import module and the function as the field.
    fn core_imports(&mut self) {
        let items: Vec<Item> = self.artifact.imports.clone();
        let mut by_module: Vec<ModuleImports> = Vec::new();
        for i in items {
            let f = (i.field.clone().unwrap_or_default(), Sig::Unknown);
            match by_module.iter_mut().find(|(m, _, _)| *m == i.name) {
                Some((_, _, fs)) => fs.push(f),
                None => by_module.push((i.name.clone(), i.span.clone(), vec![f])),
            }
        }
        for (module, span, funcs) in by_module {
            self.interface(&module, span, &funcs, None);
        }
    }

    /// An imported interface; `types` is the decoded WIT (components) for type checks.
    fn interface(&mut self, name: &str, span: Range<usize>, funcs: &[(String, Sig)], wasm: Option<&WasmTypes<'_>>) {
        self.out.imports.push(name.to_string());
        let Some((pkg, iface)) = parse_interface_name(name) else {
            for (f, _) in funcs {
                self.unmapped(
                    name,
                    f,
                    span.clone(),
                    "the import name is not an interface name (`namespace:package/interface@version`)",
                );
            }
            return;
        };
        if let Some(first) = funcs.first().map(|(f, _)| f.clone())
            && wasi::map(&pkg.namespace, &pkg.name, &iface, &first).is_some()
        {
            for (f, _) in funcs {
                match wasi::map(&pkg.namespace, &pkg.name, &iface, &f.to_ascii_lowercase()) {
                    Some(WasiMapping::Needs(req)) => self.push(name, f, span.clone(), Mapping::Wasi, Some(req)),
                    _ => self.unmapped(name, f, span.clone(), "this WASI function has no permission mapping"),
                }
            }
            return;
        }
        match self.catalogue.lookup_interface(&pkg, &iface) {
            InterfaceLookup::Found { package, .. } => {
                for (f, func) in funcs {
                    self.catalogue_function(name, package, &iface, f, *func, span.clone(), wasm);
                }
            }
            InterfaceLookup::IncompatibleVersion { package } => {
                let have = self.catalogue.packages[package].name.to_string();
                let d = Diagnostic::new(
                    &r::INCOMPATIBLE_VERSION,
                    match &pkg.version {
                        Some(_) => format!("import `{name}` is not semver-compatible with the catalogue's `{have}`"),
                        None => format!("import `{name}` has no version; the catalogue's is `{have}`"),
                    },
                )
                .help(format!("build against `{have}` or a compatible version"));
                self.report(d, span.clone(), "incompatible version");
                self.unknown(name, funcs, span);
            }
            InterfaceLookup::UnknownInterface { .. } | InterfaceLookup::UnknownPackage => {
                for (f, _) in funcs {
                    self.outside(name, f, span.clone(), "the catalogue has no such interface");
                }
                if funcs.is_empty() {
                    self.outside(name, "", span, "the catalogue has no such interface");
                }
            }
        }
    }

    fn unknown(&mut self, name: &str, funcs: &[(String, Sig)], span: Range<usize>) {
        for (f, _) in funcs {
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
            let d = Diagnostic::new(
                &r::SIGNATURE_MISMATCH,
                format!("`{iface}.{f}` differs from the catalogue: {why}"),
            )
            .help("rebuild against the catalogue's WIT");
            self.report(d, span.clone(), "differs from the catalogue");
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
        let d = Diagnostic::new(
            &r::IMPORT_OUTSIDE_CATALOGUE,
            format!("{what} is not a catalogue operation: {why}"),
        )
        .help("import only catalogue operations (`airssys-wasm catalogue` lists them) or mapped WASI interfaces");
        self.report(d, span.clone(), "outside the catalogue");
        self.push(import, f, span, Mapping::Unknown, None);
    }

    fn unmapped(&mut self, import: &str, f: &str, span: Range<usize>, why: &str) {
        let d = Diagnostic::new(
            &r::UNMAPPED_IMPORT,
            format!("`{f}` of `{import}` cannot be mapped onto a permission: {why}"),
        )
        .help(
            "the analyzer fails closed on imports it cannot classify; remove the import or use a catalogue operation",
        );
        self.report(d, span.clone(), "unmapped");
        self.push(import, f, span, Mapping::Unknown, None);
    }

    /// The world must export `airssys:core/component-lifecycle` with the catalogue's types.
    fn lifecycle(&mut self, wasm: &WasmTypes<'_>) {
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
            let d = Diagnostic::new(
                &r::MISSING_LIFECYCLE_EXPORT,
                "the component does not export `airssys:core/component-lifecycle`",
            )
            .help("export the catalogue's `component-lifecycle` (include the world `airssys:core/component@1.0.0`)");
            self.report(d, 0..0, "no lifecycle export");
            return;
        };
        let span = export_span(&name);
        let InterfaceLookup::Found { package, .. } = self.catalogue.lookup_interface(&pkg, "component-lifecycle")
        else {
            let d = Diagnostic::new(
                &r::INCOMPATIBLE_VERSION,
                format!("the exported `{name}` is not semver-compatible with the catalogue's"),
            );
            self.report(d, span, "incompatible version");
            return;
        };
        let Some(cat) = self.catalogue.interface_id(package, "component-lifecycle") else {
            return;
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
                let d = Diagnostic::new(&r::SIGNATURE_MISMATCH, msg)
                    .help("export the catalogue's `component-lifecycle` unchanged");
                self.report(d, span.clone(), "lifecycle export");
            }
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
