//! `check`: components found on disk, each with its manifest, analysed in parallel.
//!
//! Manifest discovery, for a component `dir/name.wasm`: `--manifest FILE` when given (for every
//! component), else `dir/name.toml` when it exists (several components in one directory), else
//! `dir/Component.toml`. Each manifest is loaded once however many components share it, and its
//! own findings are reported once. The catalogue is loaded once by the caller.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rayon::prelude::*;

use crate::analyze::{self, Classified, ComponentKind, ManifestRef};
use crate::catalogue::Catalogue;
use crate::component::{self, Artifact, Kind};
use crate::diagnostics::{Diagnostic, SourceId, Sources};
use crate::manifest::Manifest;
use crate::orgpolicy::{Date, Finding, PolicySet};

/// What to check.
#[derive(Clone, Debug, Default)]
pub struct Options<'a> {
    /// One manifest for every component.
    pub manifest: Option<PathBuf>,
    /// Organisation policies to apply, with the date waivers are judged against.
    pub policies: Option<(&'a PolicySet, Date)>,
    /// The kinds of component accepted (`--kind`); empty accepts every kind.
    pub kinds: Vec<ComponentKind>,
    /// Keep what was loaded ([`Report::loaded`]): for a host that runs what it checked without
    /// reading and parsing it again. Off for batches, whose binaries would all stay in memory.
    pub keep: bool,
}

/// What `check` loaded for one component, kept when [`Options::keep`] asks.
#[derive(Clone, Debug, Default)]
pub struct Loaded {
    /// Its manifest, when the file parsed without an error-level finding of its own.
    pub manifest: Option<Arc<Manifest>>,
    /// Its WebAssembly binary (a `.wat` file converted), when it was valid.
    pub binary: Option<Arc<[u8]>>,
}

/// The outcome of a batch.
#[derive(Debug)]
pub struct Report {
    pub sources: Sources,
    pub diagnostics: Vec<Diagnostic>,
    /// The components checked, in the order found.
    pub components: Vec<PathBuf>,
    /// Each component's kind, in the same order (`None` when it is not valid WebAssembly).
    pub kinds: Vec<Option<ComponentKind>>,
    /// With [`Options::keep`], what was loaded for each component, in the same order (empty
    /// otherwise).
    pub loaded: Vec<Loaded>,
}

/// Finds components under `paths`: files as given, directories searched recursively for
/// `.wasm` and `.wat` files, sorted so that runs are reproducible. A file reached twice (a
/// path given twice, a file inside a directory also given, two spellings of one file) is
/// listed once, where it was first reached.
pub fn discover(paths: &[PathBuf]) -> crate::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for p in paths {
        let meta = std::fs::metadata(p).map_err(|e| crate::Error::read(p, e))?;
        if meta.is_dir() {
            let mut found = Vec::new();
            walk(p, &mut found)?;
            found.sort();
            out.extend(found);
        } else {
            out.push(p.clone());
        }
    }
    let mut seen = std::collections::HashSet::new();
    out.retain(|p| seen.insert(std::fs::canonicalize(p).unwrap_or_else(|_| p.clone())));
    Ok(out)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> crate::Result<()> {
    for e in std::fs::read_dir(dir).map_err(|e| crate::Error::read(dir, e))? {
        let e = e.map_err(|e| crate::Error::read(dir, e))?;
        let ty = e.file_type().map_err(|err| crate::Error::read(e.path(), err))?;
        let path = e.path();
        if ty.is_dir() {
            walk(&path, out)?;
        } else if ty.is_file() && path.extension().is_some_and(|x| x == "wasm" || x == "wat") {
            out.push(path);
        }
    }
    Ok(())
}

/// The manifest a component is checked against (see the module docs).
pub fn manifest_for(component: &Path, options: &Options) -> PathBuf {
    if let Some(m) = &options.manifest {
        return m.clone();
    }
    let dir = component.parent().unwrap_or(Path::new("."));
    let named = component.with_extension("toml");
    if named.is_file() {
        named
    } else {
        dir.join("Component.toml")
    }
}

/// A loaded manifest shared by the components that use it.
struct LoadedManifest {
    source: SourceId,
    manifest: Option<Arc<Manifest>>,
    /// No error-level finding of its own (it can be enforced).
    valid: bool,
}

/// Called with (done, total) as components finish: one call per component, in order, `done`
/// rising by one each time (the calls are serialised, so a progress bar never goes back).
pub type Progress<'a> = &'a (dyn Fn(usize, usize) + Sync);

/// Checks `components` (already discovered) in parallel; the result does not depend on the
/// number of threads: diagnostics are sorted at the end.
pub fn check(catalogue: &Catalogue, components: &[PathBuf], options: &Options<'_>) -> crate::Result<Report> {
    check_with_progress(catalogue, components, options, Sources::new(), None)
}

/// [`check`], reporting progress.
///
/// `sources` holds the files already loaded (the policies, whose labels point into it); the
/// manifests and components are added to it.
pub fn check_with_progress(
    catalogue: &Catalogue,
    components: &[PathBuf],
    options: &Options<'_>,
    mut sources: Sources,
    progress: Option<Progress<'_>>,
) -> crate::Result<Report> {
    let mut diagnostics = Vec::new();
    let mut manifests: BTreeMap<PathBuf, LoadedManifest> = BTreeMap::new();
    let mut waivers = options.policies.map(|(p, _)| p.waiver_use());
    let mut kinds = Vec::with_capacity(components.len());
    // Each component's manifest path, found once (it looks at the file system) and used both to
    // load the manifests and to hand each component its own.
    let manifest_paths: Vec<PathBuf> = components.iter().map(|c| manifest_for(c, options)).collect();
    for path in &manifest_paths {
        if manifests.contains_key(path) || !path.is_file() {
            if options.manifest.is_some() && !path.is_file() {
                return Err(crate::Error::read(
                    path,
                    std::io::Error::new(std::io::ErrorKind::NotFound, "no such manifest"),
                ));
            }
            continue;
        }
        let parsed = Manifest::load(&mut sources, path)?;
        let valid = !parsed
            .diagnostics
            .iter()
            .any(|d| d.severity == crate::diagnostics::Severity::Error);
        let source = parsed
            .manifest
            .as_ref()
            .map_or_else(|| sources.last_id().expect("the manifest was registered"), |m| m.source);
        diagnostics.extend(parsed.diagnostics);
        if let (Some((policies, today)), Some(m), Some(used)) = (options.policies, &parsed.manifest, waivers.as_mut()) {
            diagnostics.extend(policies.waive(&m.component, policies.manifest_findings(m), today, used));
        }
        manifests.insert(
            path.clone(),
            LoadedManifest {
                source,
                manifest: parsed.manifest.map(Arc::new),
                valid,
            },
        );
    }
    let binaries: Vec<SourceId> = components
        .iter()
        .map(|c| sources.add_binary(c.display().to_string()))
        .collect();
    // Counted and reported under one lock: with a counter read before the call, two threads
    // could report 6 and then 5, and the progress bar would go backwards.
    let done = std::sync::Mutex::new(0usize);
    let per_component: Vec<Checked> = components
        .par_iter()
        .zip(binaries.par_iter())
        .zip(manifest_paths.par_iter())
        .map(|((c, id), path)| {
            let m = manifests.get(path);
            let result = check_one(catalogue, c, *id, m.map(|m| (m.source, m.manifest.as_deref())), options);
            if let Some(p) = progress {
                let mut n = done.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                *n += 1;
                p(*n, components.len());
            }
            result
        })
        .collect::<crate::Result<_>>()?;
    let mut loaded = Vec::new();
    for (checked, path) in per_component.into_iter().zip(&manifest_paths) {
        kinds.push(checked.kind);
        if options.keep {
            let manifest = manifests.get(path).filter(|m| m.valid).and_then(|m| m.manifest.clone());
            loaded.push(Loaded {
                manifest,
                binary: checked.binary,
            });
        }
        match (options.policies, checked.policy, waivers.as_mut()) {
            (Some((policies, today)), Some((component, mut found)), Some(used)) => {
                diagnostics.extend(waivable(checked.diagnostics, &mut found));
                diagnostics.extend(policies.waive(&component, found, today, used));
            }
            _ => diagnostics.extend(checked.diagnostics),
        }
    }
    if let (Some((policies, today)), Some(used)) = (options.policies, &waivers) {
        diagnostics.extend(policies.waiver_findings(used, today, true));
    }
    crate::diagnostics::sort(&mut diagnostics, &sources);
    Ok(Report {
        sources,
        diagnostics,
        components: components.to_vec(),
        kinds,
        loaded,
    })
}

/// What one component produced: its findings, and the raw policy findings about its imports
/// (with the component they are about), waived later in batch order.
struct Checked {
    diagnostics: Vec<Diagnostic>,
    /// The binary, with [`Options::keep`].
    binary: Option<Arc<[u8]>>,
    policy: Option<(crate::manifest::ComponentInfo, Vec<Finding>)>,
    kind: Option<ComponentKind>,
}

/// Moves the waivable findings among `diagnostics` into `findings`, so that waivers see them.
fn waivable(diagnostics: Vec<Diagnostic>, findings: &mut Vec<Finding>) -> Vec<Diagnostic> {
    let (waivable, rest): (Vec<_>, Vec<_>) = diagnostics
        .into_iter()
        .partition(|d| crate::orgpolicy::WAIVABLE.contains(&d.rule.code));
    findings.extend(waivable.into_iter().map(|diagnostic| Finding {
        diagnostic,
        operation: None,
    }));
    rest
}

/// One component. `manifest` is `None` when no manifest file exists, `Some((id, None))` when it
/// exists but could not be parsed at all (its findings are already reported).
fn check_one(
    catalogue: &Catalogue,
    path: &Path,
    binary: SourceId,
    manifest: Option<(SourceId, Option<&Manifest>)>,
    options: &Options<'_>,
) -> crate::Result<Checked> {
    let mut kept = None;
    let artifact = match component::read_file(path)?.and_then(|bytes| {
        component::to_binary(&bytes).and_then(|b| {
            let artifact = component::read(&b)?;
            if options.keep {
                kept = Some(Arc::<[u8]>::from(b.as_ref()));
            }
            Ok(artifact)
        })
    }) {
        Ok(a) => a,
        Err(invalid) => {
            return Ok(Checked {
                diagnostics: vec![invalid_binary(binary, &invalid)],
                binary: None,
                policy: None,
                kind: None,
            });
        }
    };
    let name = path.display().to_string();
    let c = classify(catalogue, &artifact, binary);
    let mut out = c.diagnostics;
    if !options.kinds.is_empty() {
        out.extend(analyze::kind_finding(c.kind, &options.kinds, "`--kind`", binary));
    }
    let mut policy = None;
    match manifest {
        None => out.push(missing_manifest(binary, &name, &c.functions)),
        Some((_, None)) => {}
        Some((source, Some(manifest))) => {
            out.extend(analyze::permission_findings(
                &c.functions,
                &ManifestRef { manifest, source },
                binary,
            ));
            if let Some((policies, _)) = options.policies {
                let mut found = policies.import_findings(&c.functions, binary);
                found.extend(policies.kind_findings(c.kind, binary));
                policy = Some((manifest.component.clone(), found));
            }
        }
    }
    Ok(Checked {
        diagnostics: out,
        binary: kept,
        policy,
        kind: Some(c.kind),
    })
}

/// Classifies an artifact and adds the core-module finding.
pub fn classify(catalogue: &Catalogue, artifact: &Artifact, binary: SourceId) -> Classified {
    let mut c = analyze::classify(catalogue, artifact, binary);
    if artifact.kind == Kind::CoreModule {
        c.diagnostics.push(analyze::rules::core_module(binary));
    }
    c
}

pub fn invalid_binary(binary: SourceId, invalid: &component::Invalid) -> Diagnostic {
    analyze::rules::invalid_binary(binary, invalid.offset, &invalid.message)
}

fn missing_manifest(binary: SourceId, name: &str, functions: &[analyze::ImportedFunction]) -> Diagnostic {
    let needs = functions
        .iter()
        .filter(|f| f.charged().is_some_and(|r| !r.is_none()))
        .count();
    analyze::rules::missing_manifest(binary, name, needs)
}
