//! Classification: every imported function of an artifact mapped onto what it needs — a
//! catalogue operation's requirement, a WASI mapping — or reported as outside both. Type and
//! version checks against the catalogue happen here too, as do the lifecycle export checks.
//!
//! Names are matched the way the component model links them: kebab names compare ignoring ASCII
//! case, and semver-compatible versions are the same interface.

use std::ops::Range;

use wit_parser::{Function, InterfaceId, PackageName, Resolve, WorldId, WorldItem, WorldKey};

use super::wasi::{self, WasiMapping};
use crate::catalogue::typeeq::same_function;
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
    match (&artifact.kind, &artifact.world) {
        (Kind::Component, Some((resolve, world))) => {
            c.component_imports(resolve, *world);
            c.lifecycle(resolve, *world);
        }
        _ => c.core_imports(),
    }
    c.out
}

/// A core module's imports grouped by module name: (module, span of its first import, fields).
type ModuleImports = (String, Range<usize>, Vec<(String, Function)>);

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
    fn span_of(&self, name: &str) -> Range<usize> {
        self.artifact
            .imports
            .iter()
            .find(|i| i.name.eq_ignore_ascii_case(name))
            .map_or(0..0, |i| i.span.clone())
    }

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

    fn component_imports(&mut self, resolve: &Resolve, world: WorldId) {
        for (key, item) in &resolve.worlds[world].imports {
            let name = resolve.name_world_key(key);
            let span = self.span_of(&name);
            match (key, item) {
                (WorldKey::Interface(_), WorldItem::Interface { id, .. }) => {
                    let funcs: Vec<(String, Function)> = resolve.interfaces[*id]
                        .functions
                        .iter()
                        .map(|(n, f)| (n.clone(), f.clone()))
                        .collect();
                    self.interface(&name, span, &funcs, Some((resolve, *id)));
                }
                (_, WorldItem::Type { .. }) => {}
                _ => {
                    self.out.imports.push(name.clone());
                    self.outside(&name, &name, span, "a bare import is not a catalogue interface");
                }
            }
        }
    }

    /// Core modules name an interface as the import module and the function as the field.
    fn core_imports(&mut self) {
        let items: Vec<Item> = self.artifact.imports.clone();
        let mut by_module: Vec<ModuleImports> = Vec::new();
        for i in items {
            let f = Function {
                name: i.field.clone().unwrap_or_default(),
                kind: wit_parser::FunctionKind::Freestanding,
                params: Vec::new(),
                result: None,
                docs: Default::default(),
                stability: Default::default(),
                span: Default::default(),
                external_id: None,
            };
            match by_module.iter_mut().find(|(m, _, _)| *m == i.name) {
                Some((_, _, fs)) => fs.push((f.name.clone(), f)),
                None => by_module.push((i.name.clone(), i.span.clone(), vec![(f.name.clone(), f)])),
            }
        }
        for (module, span, funcs) in by_module {
            self.interface(&module, span, &funcs, None);
        }
    }

    /// An imported interface; `types` is the decoded WIT (components) for type checks.
    fn interface(
        &mut self,
        name: &str,
        span: Range<usize>,
        funcs: &[(String, Function)],
        types: Option<(&Resolve, InterfaceId)>,
    ) {
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
                    self.catalogue_function(name, package, &iface, f, func, span.clone(), types.map(|(r, _)| r));
                }
            }
            InterfaceLookup::IncompatibleVersion { package } => {
                let have = self.catalogue.packages[package].name.to_string();
                let d = Diagnostic::new(
                    &r::INCOMPATIBLE_VERSION,
                    format!("import `{name}` is not semver-compatible with the catalogue's `{have}`"),
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

    fn unknown(&mut self, name: &str, funcs: &[(String, Function)], span: Range<usize>) {
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
        func: &Function,
        span: Range<usize>,
        resolve: Option<&Resolve>,
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
        if let Some(resolve) = resolve
            && let Err(why) = same_function(&self.catalogue.resolve, &op.function, resolve, func)
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
    fn lifecycle(&mut self, resolve: &Resolve, world: WorldId) {
        let exported = resolve.worlds[world].exports.iter().find_map(|(key, item)| match item {
            WorldItem::Interface { id, .. } => {
                let name = resolve.name_world_key(key);
                let (pkg, iface) = parse_interface_name(&name)?;
                (pkg.namespace == "airssys" && pkg.name == "core" && iface == "component-lifecycle")
                    .then_some((name, pkg, *id))
            }
            _ => None,
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
        let exported_funcs = &resolve.interfaces[id].functions;
        for (fname, expected) in &self.catalogue.resolve.interfaces[cat].functions {
            let found = exported_funcs
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(fname))
                .map(|(_, f)| f);
            let problem = match found {
                None => Some(format!("the exported `component-lifecycle` lacks `{fname}`")),
                Some(f) => same_function(&self.catalogue.resolve, expected, resolve, f)
                    .err()
                    .map(|why| format!("the exported `component-lifecycle.{fname}` differs from the catalogue: {why}")),
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
