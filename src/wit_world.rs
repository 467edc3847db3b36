//! `airssys-wasm wit`: checks a component author's WIT package (its world) against the
//! catalogue before anything is compiled.
//!
//! The package is resolved with its own `deps/`; catalogue packages it does not vendor are
//! supplied from the catalogue. Then every world import must be a catalogue interface at a
//! semver-compatible version, every function in it a catalogue operation of the same type, and
//! the world must export `airssys:core/component-lifecycle` with the catalogue's signatures.

use std::collections::{HashMap, HashSet};
use std::ops::Range;
use std::path::Path;

use wit_parser::{InterfaceId, PackageName, Resolve, SourceMap, UnresolvedPackageGroup, WorldId, WorldItem, WorldKey};

use crate::catalogue::typeeq::same_function;
use crate::catalogue::{Catalogue, InterfaceLookup, versions_link, wit_diagnostic, wit_place};
use crate::diagnostics::{Diagnostic, SourceId, Sources};

pub(crate) mod rules;

/// The lifecycle interface every component exports.
const LIFECYCLE: (&str, &str, &str) = ("airssys", "core", "component-lifecycle");

/// Checks the WIT at `path` (a directory with `.wit` files and optional `deps/`, or one file).
/// `world` selects one world; by default every world of the package is checked.
pub fn check_path(
    catalogue: &Catalogue,
    path: &Path,
    world: Option<&str>,
    sources: &mut Sources,
) -> crate::Result<Vec<Diagnostic>> {
    let input = read_input(path)?;
    Ok(check_files(catalogue, input, world, sources))
}

/// Checks WIT already read: `input[0]` is the package's files, each further group one
/// `deps/` package (each file a `(name, text)` pair). An empty `input[0]` has no world.
///
/// Every finding has a place: one the parser or resolver could not place (a package without a
/// world, an error wit-parser gives no span) points at the start of the package's first file,
/// so that code-scanning tools, which require a location, accept it.
pub fn check_files(
    catalogue: &Catalogue,
    mut input: Vec<Files>,
    world: Option<&str>,
    sources: &mut Sources,
) -> Vec<Diagnostic> {
    if input.is_empty() {
        input.push(Vec::new());
    }
    let ids: HashMap<String, SourceId> = input
        .iter()
        .flat_map(|g| g.iter())
        .chain(catalogue.files.iter())
        .map(|(n, t)| (n.clone(), sources.add_text(n.clone(), t.clone())))
        .collect();
    let package_start = input[0].first().and_then(|(n, _)| ids.get(n)).copied();
    let mut diagnostics = check_groups(catalogue, input, world, &ids);
    if let Some(id) = package_start {
        for d in diagnostics.iter_mut().filter(|d| d.primary.is_none()) {
            d.primary = Some(crate::diagnostics::Label {
                source: id,
                span: 0..0,
                message: "in this package".to_string(),
            });
        }
    }
    diagnostics
}

/// [`check_files`] once the files are registered under `ids`.
fn check_groups(
    catalogue: &Catalogue,
    input: Vec<Files>,
    world: Option<&str>,
    ids: &HashMap<String, SourceId>,
) -> Vec<Diagnostic> {
    let mut groups = Vec::new();
    for files in &input {
        let parsed = match crate::guard::catch(|| parse_group(files)) {
            Ok(parsed) => parsed,
            Err(panic) => return vec![parser_failed(files, ids, &panic)],
        };
        match parsed {
            Ok(g) => groups.push(g),
            Err((map, e)) => {
                return vec![wit_diagnostic(
                    &rules::WIT_ERROR,
                    &map,
                    e.kind().span(),
                    &e.kind().to_string(),
                    ids,
                )];
            }
        }
    }
    let main = groups.remove(0);
    // A vendored copy replaces the catalogue's package of the same name and version only:
    // the catalogue's own packages refer to each other at their own versions.
    let vendored: HashSet<PackageName> = groups.iter().map(|g| g.main.name.clone()).collect();
    for files in catalogue_groups(catalogue) {
        let group = parse_group(&files).expect("the loaded catalogue parses");
        if !vendored.contains(&group.main.name) {
            groups.push(group);
        }
    }
    let texts: HashMap<&str, &str> = input
        .iter()
        .flatten()
        .chain(&catalogue.files)
        .map(|(n, t)| (n.as_str(), t.as_str()))
        .collect();
    let mut resolve = Resolve::default();
    let pushed = match crate::guard::catch(|| resolve.push_groups(main, groups)) {
        Ok(pushed) => pushed,
        Err(panic) => return vec![parser_failed(&input[0], ids, &panic)],
    };
    let pkg = match pushed {
        Ok(p) => p,
        Err(e) => return vec![resolve_error(catalogue, &resolve, &e, ids, &texts)],
    };
    let checker = Checker {
        catalogue,
        resolve: &resolve,
        ids,
        texts,
    };
    let worlds: Vec<(String, WorldId)> = resolve.packages[pkg]
        .worlds
        .iter()
        .map(|(n, id)| (n.clone(), *id))
        .collect();
    let selected: Vec<WorldId> = worlds
        .iter()
        .filter(|(n, _)| world.is_none_or(|w| w == n))
        .map(|(_, id)| *id)
        .collect();
    if selected.is_empty() {
        let names: Vec<String> = worlds.into_iter().map(|(n, _)| n).collect();
        return vec![rules::no_world(world, &names)];
    }
    selected.into_iter().flat_map(|w| checker.world(w)).collect()
}

/// The files of one WIT package: `(name, text)` pairs.
pub type Files = Vec<(String, String)>;

/// The main package's files, then one group per `deps/` entry.
fn read_input(path: &Path) -> crate::Result<Vec<Files>> {
    if !path.is_dir() {
        let text = read_wit(path)?;
        return Ok(vec![vec![(path.display().to_string(), text)]]);
    }
    let mut out = vec![wit_files(path)?];
    if out[0].is_empty() {
        return Err(crate::ErrorKind::NotADirectory {
            path: path.to_path_buf(),
        }
        .into());
    }
    let deps = path.join("deps");
    if deps.is_dir() {
        let mut entries: Vec<_> = std::fs::read_dir(&deps)
            .map_err(|e| crate::Error::read(&deps, e))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        entries.sort();
        for e in entries {
            if e.is_dir() {
                out.push(wit_files(&e)?);
            } else if e.extension().is_some_and(|x| x == "wit") {
                let text = read_wit(&e)?;
                out.push(vec![(e.display().to_string(), text)]);
            }
        }
    }
    out.retain(|g| !g.is_empty());
    Ok(out)
}

fn wit_files(dir: &Path) -> crate::Result<Files> {
    let mut files = Vec::new();
    for e in std::fs::read_dir(dir).map_err(|e| crate::Error::read(dir, e))? {
        let p = e.map_err(|e| crate::Error::read(dir, e))?.path();
        if !p.is_dir() && p.extension().is_some_and(|x| x == "wit") {
            let text = read_wit(&p)?;
            files.push((p.display().to_string(), text));
        }
    }
    files.sort();
    Ok(files)
}

/// wit-parser panicked on the package (a bug of wit-parser, reported as a finding).
fn parser_failed(files: &Files, ids: &HashMap<String, SourceId>, panic: &str) -> Diagnostic {
    let at = files.first().and_then(|(n, _)| ids.get(n)).map(|&id| (id, 0..0));
    rules::parser_failed(at, panic)
}

/// WIT files above this size are refused unread.
pub const MAX_WIT_BYTES: usize = 1 << 20;

/// One `.wit` file, within [`MAX_WIT_BYTES`].
pub(crate) fn read_wit(path: &Path) -> crate::Result<String> {
    crate::bounded::read_text(path, MAX_WIT_BYTES).map_err(|e| crate::Error::read(path, e))
}

fn parse_group(files: &Files) -> Result<UnresolvedPackageGroup, (SourceMap, wit_parser::ParseError)> {
    let mut map = SourceMap::new();
    for (n, t) in files {
        map.push_str(n, t.clone());
    }
    map.parse()
}

fn catalogue_groups(catalogue: &Catalogue) -> Vec<Files> {
    let mut by_dir: Vec<Files> = Vec::new();
    let mut last = None;
    for (n, t) in &catalogue.files {
        let dir = Path::new(n).parent().map(Path::to_path_buf);
        if last.as_ref() != Some(&dir) {
            by_dir.push(Vec::new());
            last = Some(dir);
        }
        by_dir.last_mut().expect("pushed").push((n.clone(), t.clone()));
    }
    by_dir
}

/// A resolution error; a missing catalogue package at another version is a version finding.
fn resolve_error(
    catalogue: &Catalogue,
    resolve: &Resolve,
    e: &wit_parser::ResolveError,
    ids: &HashMap<String, SourceId>,
    texts: &HashMap<&str, &str>,
) -> Diagnostic {
    if let wit_parser::ResolveErrorKind::PackageNotFound { span, requested, .. } = e.kind()
        && let Some(p) = catalogue
            .packages
            .iter()
            .find(|p| p.name.namespace == requested.namespace && p.name.name == requested.name)
    {
        let have = p.name.version.as_ref().map(|v| v.to_string()).unwrap_or_default();
        let at = wit_place(&resolve.source_map, *span, ids);
        if !versions_link(p.name.version.as_ref(), requested.version.as_ref()) {
            return rules::requested_version_incompatible(at, requested, &p.name, &have);
        }
        return rules::package_not_available(at, requested, &p.name, &have);
    }
    if let Some(d) = unknown_catalogue_interface(catalogue, resolve, e, ids, texts) {
        return d;
    }
    wit_diagnostic(
        &rules::WIT_ERROR,
        &resolve.source_map,
        e.kind().span(),
        &e.kind().to_string(),
        ids,
    )
}

/// wit-parser reports `import airssys:ext-network/sockets@1.0.0` as "interface not found in
/// package"; when the package is a catalogue package, that is an import outside the catalogue,
/// and the closest interface name is the likely fix.
fn unknown_catalogue_interface(
    catalogue: &Catalogue,
    resolve: &Resolve,
    e: &wit_parser::ResolveError,
    ids: &HashMap<String, SourceId>,
    texts: &HashMap<&str, &str>,
) -> Option<Diagnostic> {
    let wit_parser::ResolveErrorKind::Semantic { span, message } = e.kind() else {
        return None;
    };
    if message != "interface not found in package" {
        return None;
    }
    let loc = resolve.source_map.resolve_span(*span)?;
    let file = *texts.get(loc.path)?;
    let iface = file.get(loc.range.clone())?;
    let before = file.get(..loc.range.start)?;
    let pkg_text = before.rsplit(|c: char| c.is_whitespace()).next()?.strip_suffix('/')?;
    let (ns, name) = pkg_text.split_once(':')?;
    let package = catalogue
        .packages
        .iter()
        .position(|p| p.name.namespace == ns && p.name.name == name)?;
    let pkg = &catalogue.resolve.packages[catalogue.packages[package].id];
    let names: Vec<&str> = pkg.interfaces.keys().map(String::as_str).collect();
    let at = wit_place(&resolve.source_map, *span, ids);
    let name = &catalogue.packages[package].name;
    Some(rules::no_such_interface(at, "here", name, iface, &names))
}

struct Checker<'a> {
    catalogue: &'a Catalogue,
    resolve: &'a Resolve,
    ids: &'a HashMap<String, SourceId>,
    texts: HashMap<&'a str, &'a str>,
}

impl Checker<'_> {
    fn world(&self, id: WorldId) -> Vec<Diagnostic> {
        let world = &self.resolve.worlds[id];
        let mut out = Vec::new();
        for (key, item) in &world.imports {
            out.extend(self.import(id, key, item));
        }
        out.extend(self.lifecycle_export(id));
        out
    }

    /// Where to point for a world item: the text naming it inside the world, else the world.
    fn place(&self, world: WorldId, needle: &str) -> Option<(SourceId, Range<usize>)> {
        let loc = self.resolve.source_map.resolve_span(self.resolve.worlds[world].span)?;
        let id = *self.ids.get(loc.path)?;
        let span = find_after(self.text(loc.path)?, loc.range.start, needle).unwrap_or(loc.range);
        Some((id, span))
    }

    fn text(&self, path: &str) -> Option<&str> {
        self.texts.get(path).copied()
    }

    fn func_place(&self, f: &wit_parser::Function) -> Option<(SourceId, Range<usize>)> {
        let loc = self.resolve.source_map.resolve_span(f.span)?;
        Some((*self.ids.get(loc.path)?, loc.range))
    }

    fn import(&self, world: WorldId, key: &WorldKey, item: &WorldItem) -> Vec<Diagnostic> {
        let name = self.resolve.name_world_key(key);
        match (key, item) {
            (WorldKey::Interface(_), WorldItem::Interface { id, .. }) => self.interface_import(world, *id, &name),
            (_, WorldItem::Type { .. }) => Vec::new(),
            (_, WorldItem::Function(_)) | (WorldKey::Name(_), WorldItem::Interface { .. }) => {
                let short = name.rsplit(['/', ':']).next().unwrap_or(&name).to_string();
                vec![rules::import_not_an_interface(self.place(world, &short), &name)]
            }
        }
    }

    fn interface_import(&self, world: WorldId, iface: InterfaceId, name: &str) -> Vec<Diagnostic> {
        let i = &self.resolve.interfaces[iface];
        let (Some(iname), Some(pkg)) = (&i.name, i.package) else {
            return vec![rules::anonymous_interface_import(self.place(world, name), name)];
        };
        let pname = &self.resolve.packages[pkg].name;
        let needle = iname.as_str();
        match self.catalogue.lookup_interface(pname, iname) {
            InterfaceLookup::Found { package, .. } => self.functions(iface, package, iname),
            InterfaceLookup::IncompatibleVersion { package } => {
                let provided = &self.catalogue.packages[package].name;
                vec![rules::import_version_incompatible(
                    self.place(world, needle),
                    name,
                    provided,
                )]
            }
            InterfaceLookup::UnknownInterface { package } => {
                let provided = &self.catalogue.packages[package].name;
                let p = &self.catalogue.resolve.packages[self.catalogue.packages[package].id];
                let names: Vec<&str> = p.interfaces.keys().map(String::as_str).collect();
                let at = self.place(world, needle);
                vec![rules::no_such_interface(
                    at,
                    "unknown interface",
                    provided,
                    iname,
                    &names,
                )]
            }
            InterfaceLookup::UnknownPackage => vec![rules::unknown_package(self.place(world, needle), name, pname)],
        }
    }

    /// Every function of an imported catalogue interface must be the catalogue's.
    fn functions(&self, iface: InterfaceId, package: usize, iname: &str) -> Vec<Diagnostic> {
        let mut out = Vec::new();
        for (fname, f) in &self.resolve.interfaces[iface].functions {
            let place = self.func_place(f);
            match self.catalogue.operation(package, iname, fname) {
                None => out.push(rules::not_an_operation(place, iname, fname)),
                Some(op) => {
                    if let Err(why) = same_function(&self.catalogue.resolve, &op.function, self.resolve, f) {
                        out.push(rules::signature_mismatch(place, iname, fname, &why));
                    }
                }
            }
        }
        out
    }

    fn lifecycle_export(&self, world: WorldId) -> Vec<Diagnostic> {
        let w = &self.resolve.worlds[world];
        let found = w.exports.values().find_map(|item| match item {
            WorldItem::Interface { id, .. } => {
                let i = &self.resolve.interfaces[*id];
                let pkg = &self.resolve.packages[i.package?].name;
                is_lifecycle(pkg, i.name.as_deref()?).then_some(*id)
            }
            _ => None,
        });
        let Some(iface) = found else {
            return vec![rules::missing_lifecycle_export(self.place(world, &w.name), &w.name)];
        };
        let pkg_name = &self.resolve.packages[self.resolve.interfaces[iface].package.expect("checked")].name;
        match self.catalogue.lookup_interface(pkg_name, LIFECYCLE.2) {
            InterfaceLookup::Found { package, .. } => {
                let mut out = self.functions(iface, package, LIFECYCLE.2);
                out.extend(self.missing_lifecycle_functions(world, iface, package));
                out
            }
            _ => {
                let at = self.place(world, LIFECYCLE.2);
                vec![rules::exported_lifecycle_incompatible(at, &pkg_name.to_string())]
            }
        }
    }

    fn missing_lifecycle_functions(&self, world: WorldId, iface: InterfaceId, package: usize) -> Vec<Diagnostic> {
        let have = &self.resolve.interfaces[iface].functions;
        let Some(cat) = self.catalogue.interface_id(package, LIFECYCLE.2) else {
            return Vec::new();
        };
        self.catalogue.resolve.interfaces[cat]
            .functions
            .keys()
            .filter(|f| !have.contains_key(*f))
            .map(|f| rules::lifecycle_lacks(self.place(world, LIFECYCLE.2), f))
            .collect()
    }
}

fn is_lifecycle(pkg: &PackageName, iface: &str) -> bool {
    pkg.namespace == LIFECYCLE.0 && pkg.name == LIFECYCLE.1 && iface == LIFECYCLE.2
}

/// The first occurrence of `needle` at or after `from`, as a span.
fn find_after(text: &str, from: usize, needle: &str) -> Option<Range<usize>> {
    let start = from.min(text.len());
    text.get(start..)?
        .find(needle)
        .map(|i| start + i..start + i + needle.len())
}
