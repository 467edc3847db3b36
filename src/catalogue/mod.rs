//! The operation catalogue: the host's 115 WIT operations in four packages, each with the
//! permission it requires, loaded from `wit/` (embedded in the binary) or from `--catalogue DIR`.
//!
//! Loading parses every package with wit-parser, resolves them together, and builds one
//! [`Operation`] per function with its parsed [`Requirement`]. A catalogue whose operation lacks
//! a requirement, or whose requirement names a parameter the function does not have, is refused
//! with span-carrying diagnostics: the engine fails closed on a catalogue it cannot read fully.

mod embedded;
pub mod requirement;
pub(crate) mod rules;
pub mod typeeq;
pub mod wasmeq;

use std::collections::HashMap;
use std::ops::Range;
use std::path::Path;

use wit_parser::{
    Function, InterfaceId, PackageId, PackageName, Resolve, SourceMap, Type, TypeDefKind, UnresolvedPackageGroup,
};

pub use requirement::{Arg, Requirement, Term};

use crate::diagnostics::{Diagnostic, SourceId, Sources};

/// One catalogue operation.
#[derive(Clone, Debug)]
pub struct Operation {
    pub package: PackageName,
    pub interface: String,
    pub interface_id: InterfaceId,
    pub name: String,
    pub function: Function,
    pub requirement: Requirement,
}

impl Operation {
    /// `airssys:ext-filesystem/filesystem.open`: how policies and messages name an operation.
    pub fn qualified_name(&self) -> String {
        format!(
            "{}:{}/{}.{}",
            self.package.namespace, self.package.name, self.interface, self.name
        )
    }

    /// `airssys:ext-filesystem/filesystem@1.0.0`: the import name a component uses.
    pub fn interface_name(&self) -> String {
        interface_name(&self.package, &self.interface)
    }
}

/// `ns:pkg/iface@version`.
pub fn interface_name(package: &PackageName, interface: &str) -> String {
    match &package.version {
        Some(v) => format!("{}:{}/{interface}@{v}", package.namespace, package.name),
        None => format!("{}:{}/{interface}", package.namespace, package.name),
    }
}

/// A catalogue package and the files it was read from.
#[derive(Clone, Debug)]
pub struct Package {
    pub name: PackageName,
    pub id: PackageId,
    pub files: Vec<String>,
}

/// The loaded catalogue.
#[derive(Debug)]
pub struct Catalogue {
    pub resolve: Resolve,
    pub packages: Vec<Package>,
    pub operations: Vec<Operation>,
    /// The WIT files, `(name, text)`, kept so that other packages can be resolved against them.
    pub files: Vec<(String, String)>,
    by_name: HashMap<(String, String, String), usize>,
}

/// The catalogue could not be loaded; the diagnostics say where and why.
#[derive(Debug)]
pub struct CatalogueError {
    pub sources: Sources,
    pub diagnostics: Vec<Diagnostic>,
}

/// How an import name relates to the catalogue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InterfaceLookup {
    /// The interface exists; `exact` is false for a semver-compatible other version.
    Found { package: usize, exact: bool },
    /// The package exists, but at a version that does not link.
    IncompatibleVersion { package: usize },
    /// The package exists at a compatible version, but has no such interface.
    UnknownInterface { package: usize },
    /// No catalogue package has this namespace and name.
    UnknownPackage,
}

impl Catalogue {
    /// The catalogue compiled into the binary.
    pub fn embedded() -> Result<Self, CatalogueError> {
        let files = embedded::FILES
            .iter()
            .map(|(p, t)| (format!("wit/{p}"), (*t).to_string()))
            .collect();
        Self::from_files(files)
    }

    /// A catalogue directory: one subdirectory of `.wit` files per package.
    pub fn from_dir(dir: &Path) -> crate::Result<Result<Self, CatalogueError>> {
        Ok(Self::from_files(read_package_dirs(dir)?))
    }

    /// Builds a catalogue from `(path, text)` pairs; the first path component names the package
    /// directory the file belongs to.
    pub fn from_files(files: Vec<(String, String)>) -> Result<Self, CatalogueError> {
        let mut sources = Sources::new();
        let ids: HashMap<String, SourceId> = files
            .iter()
            .map(|(n, t)| (n.clone(), sources.add_text(n.clone(), t.clone())))
            .collect();
        let fail = |sources: Sources, diagnostics| Err(CatalogueError { sources, diagnostics });
        let groups = match crate::guard::catch(|| parse_groups(&files, &ids)) {
            Ok(Ok(g)) => g,
            Ok(Err(d)) => return fail(sources, vec![*d]),
            Err(panic) => return fail(sources, vec![rules::parser_failed(&panic)]),
        };
        let mut resolve = Resolve::default();
        let mut groups = groups.into_iter();
        let Some(main) = groups.next() else {
            return fail(sources, vec![rules::no_wit_files()]);
        };
        let pushed = match crate::guard::catch(|| resolve.push_groups(main, groups.collect())) {
            Ok(pushed) => pushed,
            Err(panic) => return fail(sources, vec![rules::parser_failed(&panic)]),
        };
        if let Err(e) = pushed {
            let d = wit_diagnostic(
                &rules::CATALOGUE_WIT_ERROR,
                &resolve.source_map,
                e.kind().span(),
                &e.kind().to_string(),
                &ids,
            );
            return fail(sources, vec![d]);
        }
        let packages = packages(&resolve, &files);
        let (operations, diagnostics) = operations(&resolve, &files, &ids);
        if !diagnostics.is_empty() {
            return fail(sources, diagnostics);
        }
        let by_name = operations
            .iter()
            .enumerate()
            .map(|(i, op)| {
                (
                    (
                        format!("{}:{}", op.package.namespace, op.package.name),
                        op.interface.clone(),
                        op.name.clone(),
                    ),
                    i,
                )
            })
            .collect();
        Ok(Catalogue {
            resolve,
            packages,
            operations,
            files,
            by_name,
        })
    }

    /// Finds the catalogue interface an import of `package`/`interface` links to, following
    /// Wasmtime's linker: semver-compatible versions are the same interface.
    pub fn lookup_interface(&self, package: &PackageName, interface: &str) -> InterfaceLookup {
        let same_name = |p: &&Package| p.name.namespace == package.namespace && p.name.name == package.name;
        let candidates: Vec<usize> = self
            .packages
            .iter()
            .enumerate()
            .filter(|(_, p)| same_name(p))
            .map(|(i, _)| i)
            .collect();
        let Some(&first) = candidates.first() else {
            return InterfaceLookup::UnknownPackage;
        };
        let Some(index) = candidates
            .iter()
            .copied()
            .find(|&i| versions_link(self.packages[i].name.version.as_ref(), package.version.as_ref()))
        else {
            return InterfaceLookup::IncompatibleVersion { package: first };
        };
        let pkg = &self.resolve.packages[self.packages[index].id];
        if !pkg.interfaces.contains_key(interface) {
            return InterfaceLookup::UnknownInterface { package: index };
        }
        InterfaceLookup::Found {
            package: index,
            exact: self.packages[index].name.version == package.version,
        }
    }

    /// The interface id of a catalogue package's interface.
    pub fn interface_id(&self, package: usize, interface: &str) -> Option<InterfaceId> {
        self.resolve.packages[self.packages[package].id]
            .interfaces
            .get(interface)
            .copied()
    }

    /// The operation `function` of `interface` in the catalogue package `package`.
    pub fn operation(&self, package: usize, interface: &str, function: &str) -> Option<&Operation> {
        let p = &self.packages[package].name;
        self.by_name
            .get(&(
                format!("{}:{}", p.namespace, p.name),
                interface.to_string(),
                function.to_string(),
            ))
            .map(|&i| &self.operations[i])
    }

    /// Finds an operation by its qualified name (`airssys:ext-process/lifecycle.spawn-shell`).
    pub fn by_qualified_name(&self, name: &str) -> Option<&Operation> {
        let (pkg, rest) = name.split_once('/')?;
        let (iface, func) = rest.split_once('.')?;
        let pkg = pkg.split('@').next()?;
        self.by_name
            .get(&(pkg.to_string(), iface.to_string(), func.to_string()))
            .map(|&i| &self.operations[i])
    }

    /// Named types defined in the catalogue's interfaces.
    pub fn type_count(&self) -> usize {
        let ours = |id: InterfaceId| {
            self.packages
                .iter()
                .any(|p| self.resolve.interfaces[id].package == Some(p.id))
        };
        self.resolve
            .types
            .iter()
            .filter(|(_, t)| t.name.is_some() && matches!(t.owner, wit_parser::TypeOwner::Interface(i) if ours(i)))
            .filter(|(_, t)| !matches!(t.kind, TypeDefKind::Type(Type::Id(_))) || !is_use(&self.resolve, t))
            .count()
    }
}

/// A `use`d type appears in the using interface as an alias of the original; count it once.
fn is_use(resolve: &Resolve, t: &wit_parser::TypeDef) -> bool {
    match t.kind {
        TypeDefKind::Type(Type::Id(other)) => {
            resolve.types[other].name == t.name && resolve.types[other].owner != t.owner
        }
        _ => false,
    }
}

/// Whether an import at version `requested` links to a definition at `provided`, as
/// Wasmtime's linker decides: same major (>= 1), same minor (0.x), exact otherwise.
pub fn versions_link(provided: Option<&semver::Version>, requested: Option<&semver::Version>) -> bool {
    match (provided, requested) {
        (None, None) => true,
        (Some(p), Some(q)) => p == q || (p.pre.is_empty() && q.pre.is_empty() && compat_key(p) == compat_key(q)),
        _ => false,
    }
}

fn compat_key(v: &semver::Version) -> (u64, u64, u64) {
    match (v.major, v.minor) {
        (0, 0) => (0, 0, v.patch),
        (0, m) => (0, m, u64::MAX),
        (major, _) => (major, u64::MAX, u64::MAX),
    }
}

/// Reads `dir/<package>/*.wit` into `(path, text)` pairs, sorted.
pub fn read_package_dirs(dir: &Path) -> crate::Result<Vec<(String, String)>> {
    let read_dir = |d: &Path| std::fs::read_dir(d).map_err(|e| crate::Error::read(d, e));
    let mut files = Vec::new();
    for entry in read_dir(dir)? {
        let pkg = entry.map_err(|e| crate::Error::read(dir, e))?.path();
        if !pkg.is_dir() || pkg.file_name().is_some_and(|n| n == "deps") {
            continue;
        }
        for f in read_dir(&pkg)? {
            let f = f.map_err(|e| crate::Error::read(&pkg, e))?.path();
            if f.extension().is_some_and(|e| e == "wit") {
                let text = crate::wit_world::read_wit(&f)?;
                files.push((f.display().to_string(), text));
            }
        }
    }
    files.sort();
    if files.is_empty() {
        return Err(crate::ErrorKind::NotADirectory {
            path: dir.to_path_buf(),
        }
        .into());
    }
    Ok(files)
}

/// Parses files into one package group per directory.
fn parse_groups(
    files: &[(String, String)],
    ids: &HashMap<String, SourceId>,
) -> Result<Vec<UnresolvedPackageGroup>, Box<Diagnostic>> {
    let mut by_dir: Vec<(String, SourceMap)> = Vec::new();
    for (name, text) in files {
        let dir = Path::new(name)
            .parent()
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        if by_dir.last().is_none_or(|(d, _)| *d != dir) {
            by_dir.push((dir.clone(), SourceMap::new()));
        }
        by_dir.last_mut().expect("just pushed").1.push_str(name, text.clone());
    }
    by_dir
        .into_iter()
        .map(|(_, map)| {
            map.parse().map_err(|(map, e)| {
                Box::new(wit_diagnostic(
                    &rules::CATALOGUE_WIT_ERROR,
                    &map,
                    e.kind().span(),
                    &e.kind().to_string(),
                    ids,
                ))
            })
        })
        .collect()
}

/// A wit-parser error as a diagnostic of `rule` pointing into the right file: the error's first
/// line is the message, the others notes.
pub(crate) fn wit_diagnostic(
    rule: &'static crate::diagnostics::Rule,
    map: &SourceMap,
    span: wit_parser::Span,
    message: &str,
    ids: &HashMap<String, SourceId>,
) -> Diagnostic {
    let mut lines = message.lines();
    let first = lines.next().unwrap_or("invalid WIT").to_string();
    let mut d = Diagnostic::new(rule, first);
    for extra in lines {
        d = d.note(extra.trim().to_string());
    }
    match wit_place(map, span, ids) {
        Some((id, range)) => d.at(id, range, "here"),
        None => d,
    }
}

/// The file and range of a wit-parser span, when the file is one of `ids`.
pub(crate) fn wit_place(
    map: &SourceMap,
    span: wit_parser::Span,
    ids: &HashMap<String, SourceId>,
) -> Option<(SourceId, Range<usize>)> {
    let loc = map.resolve_span(span)?;
    Some((*ids.get(loc.path)?, loc.range))
}

fn packages(resolve: &Resolve, files: &[(String, String)]) -> Vec<Package> {
    let mut out: Vec<Package> = resolve
        .packages
        .iter()
        .map(|(id, p)| Package {
            name: p.name.clone(),
            id,
            files: files
                .iter()
                .filter(|(_, t)| declares_package(t, &p.name))
                .map(|(n, _)| n.clone())
                .collect(),
        })
        .collect();
    out.sort_by_cached_key(|p| p.name.to_string());
    out
}

fn declares_package(text: &str, name: &PackageName) -> bool {
    let decl = format!("package {name};");
    text.lines().any(|l| l.trim() == decl)
}

/// Every function of every interface, with its requirement, and the diagnostics for those
/// whose requirement is missing or wrong.
fn operations(
    resolve: &Resolve,
    files: &[(String, String)],
    ids: &HashMap<String, SourceId>,
) -> (Vec<Operation>, Vec<Diagnostic>) {
    let texts: HashMap<&str, &str> = files.iter().map(|(n, t)| (n.as_str(), t.as_str())).collect();
    let mut ops = Vec::new();
    let mut diags = Vec::new();
    for (_, pkg) in resolve.packages.iter() {
        for (iface_name, &iface_id) in &pkg.interfaces {
            for (fname, f) in &resolve.interfaces[iface_id].functions {
                let place = RequirementPlace::find(resolve, f, ids, &texts);
                match requirement_of(resolve, f, &place) {
                    Ok(requirement) => ops.push(Operation {
                        package: pkg.name.clone(),
                        interface: iface_name.clone(),
                        interface_id: iface_id,
                        name: fname.clone(),
                        function: f.clone(),
                        requirement,
                    }),
                    Err(d) => diags.push(*d),
                }
            }
        }
    }
    ops.sort_by(|a, b| (a.package.to_string(), &a.interface).cmp(&(b.package.to_string(), &b.interface)));
    (ops, diags)
}

/// Where a function and its `@requires` line are, for diagnostics.
struct RequirementPlace {
    source: Option<SourceId>,
    func_span: Range<usize>,
    line_span: Option<Range<usize>>,
}

impl RequirementPlace {
    fn find(resolve: &Resolve, f: &Function, ids: &HashMap<String, SourceId>, texts: &HashMap<&str, &str>) -> Self {
        let Some(loc) = resolve.source_map.resolve_span(f.span) else {
            return RequirementPlace {
                source: None,
                func_span: 0..0,
                line_span: None,
            };
        };
        let source = ids.get(loc.path).copied();
        let text = texts.get(loc.path).copied();
        let line_span = text.and_then(|t| {
            let before = &t[..loc.range.start.min(t.len())];
            let at = before.rfind("@requires")?;
            let doc_block = &before[at..];
            (!doc_block.contains(';') && !doc_block.contains('}'))
                .then(|| at..at + before[at..].find('\n').unwrap_or(before.len() - at))
        });
        RequirementPlace {
            source,
            func_span: loc.range,
            line_span,
        }
    }

    /// Where findings about the requirement point: its line, else the function.
    fn at(&self) -> rules::Place {
        let span = self.line_span.clone().unwrap_or(self.func_span.clone());
        self.source.map(|s| (s, span))
    }
}

fn requirement_of(resolve: &Resolve, f: &Function, place: &RequirementPlace) -> Result<Requirement, Box<Diagnostic>> {
    let docs = f.docs.contents.as_deref().unwrap_or("");
    let lines: Vec<&str> = docs
        .lines()
        .filter_map(|l| l.trim().strip_prefix("@requires"))
        .collect();
    let line = match lines.as_slice() {
        [] => return Err(Box::new(rules::missing_requirement(place.at(), &f.name))),
        [one] => *one,
        _ => {
            return Err(Box::new(rules::duplicate_requirement(place.at(), &f.name, lines.len())));
        }
    };
    let req = Requirement::parse(line).map_err(|e| Box::new(rules::malformed_requirement(place.at(), &f.name, &e)))?;
    check_literals(&req).map_err(|e| Box::new(rules::invalid_requirement_literal(place.at(), &f.name, &e)))?;
    for path in req.params() {
        check_param_path(resolve, f, path)
            .map_err(|e| Box::new(rules::requirement_unknown_parameter(place.at(), &f.name, &e)))?;
    }
    Ok(req)
}

/// Literal arguments must be values the decision core accepts.
fn check_literals(req: &Requirement) -> Result<(), String> {
    use crate::policy::{Action, ProcAction, ProcGrant, Signal};
    for term in &req.terms {
        for arg in &term.args {
            let Arg::Literal(lit) = arg else { continue };
            for action in &term.actions {
                let ok = match action {
                    Action::Proc(ProcAction::Spawn) => ProcGrant::spawn(lit).is_ok(),
                    Action::Proc(ProcAction::Signal) => Signal::parse(lit).is_ok_and(|s| s.as_str() == lit),
                    Action::Fs(_) => crate::policy::PathPattern::parse(lit).is_ok(),
                    Action::Net(_) => crate::policy::HostPattern::parse(lit).is_ok(),
                };
                if !ok {
                    return Err(format!("`\"{lit}\"` is not a valid {} literal", action.as_str()));
                }
            }
        }
    }
    Ok(())
}

/// `path` must be a parameter, and each further segment a field of the record before it.
fn check_param_path(resolve: &Resolve, f: &Function, path: &[String]) -> Result<(), String> {
    let params: Vec<&str> = f.params.iter().map(|p| p.name.as_str()).collect();
    let Some(param) = f.params.iter().find(|p| p.name == path[0]) else {
        return Err(format!(
            "`{}`, which is not a parameter (parameters: {})",
            path[0],
            params.join(", ")
        ));
    };
    let mut ty = param.ty;
    for field in &path[1..] {
        let fields = record_fields(resolve, ty).ok_or_else(|| format!("`.{field}` of a value that is not a record"))?;
        ty = fields
            .iter()
            .find(|f| f.name == *field)
            .map(|f| f.ty)
            .ok_or_else(|| format!("field `{field}`, which the record does not have"))?;
    }
    Ok(())
}

fn record_fields(resolve: &Resolve, ty: Type) -> Option<&[wit_parser::Field]> {
    let Type::Id(id) = ty else { return None };
    match &resolve.types[id].kind {
        TypeDefKind::Record(r) => Some(&r.fields),
        TypeDefKind::Type(inner) => record_fields(resolve, *inner),
        _ => None,
    }
}
