//! `check`: components found on disk, each with its manifest, analysed in parallel.
//!
//! Manifest discovery, for a component `dir/name.wasm`: `--manifest FILE` when given (for every
//! component), else `dir/name.toml` when it exists (several components in one directory), else
//! `dir/Component.toml`. Each manifest is loaded once however many components share it, and its
//! own findings are reported once. The catalogue is loaded once by the caller.
//!
//! For registry-scale batches: [`Options::shard`] keeps the components whose content digest
//! falls into one shard, [`Options::cache`] reuses the findings of components already analysed
//! (see [`crate::cache`]), and [`Report::origins`] says which manifest or component each finding
//! came from, so that a renderer can print one document per component.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rayon::prelude::*;

use crate::analyze::{self, Classified, ComponentKind, ManifestRef};
use crate::cache::{Analysed, Cache, CacheStats, Places};
use crate::catalogue::Catalogue;
use crate::component::{self, Artifact, Kind};
use crate::diagnostics::{Diagnostic, SourceId, Sources};
use crate::digest::{Digest, Hasher, Shard};
use crate::manifest::Manifest;
use crate::orgpolicy::{Date, Finding, PolicySet};

/// What to check.
#[derive(Clone, Debug, Default)]
pub struct Options<'a> {
    /// One manifest for every component.
    pub manifest: Option<PathBuf>,
    /// The text of `manifest`, used instead of reading the file: a manifest that exists only in
    /// memory (`run --learn` starts from an empty one when the component has none). Findings
    /// about it name `manifest`'s path.
    pub manifest_text: Option<String>,
    /// Organisation policies to apply, with the date waivers are judged against.
    pub policies: Option<(&'a PolicySet, Date)>,
    /// The kinds of component accepted (`--kind`); empty accepts every kind.
    pub kinds: Vec<ComponentKind>,
    /// Keep what was loaded ([`Report::loaded`]): for a host that runs what it checked without
    /// reading and parsing it again. Off for batches, whose binaries would all stay in memory.
    /// The cache is not used when it is on.
    pub keep: bool,
    /// What a `--from-list` file says about particular components: their manifest (before
    /// `manifest` and discovery) and their digest (what `shard` decides by, unread).
    pub listed: HashMap<PathBuf, crate::list::Listed>,
    /// Check only the components whose content digest falls into this shard.
    pub shard: Option<Shard>,
    /// Manifests to check without a component (a manifest given alone, as `report` accepts):
    /// loaded with the components' manifests, their findings and waivers counted in the batch.
    pub manifests: Vec<PathBuf>,
    /// Reuse and store each component's findings here: used when the policy files are among
    /// the `sources` given to [`check_with_progress`] (the key covers their text), and not with
    /// `keep` or `manifest_text`; [`Report::cache`] is `None` when it was not used.
    pub cache: Option<&'a Cache>,
}

/// What `check` loaded for one component, kept when [`Options::keep`] asks.
#[derive(Clone, Debug, Default)]
pub struct Loaded {
    /// Its manifest, when the file parsed without an error-level finding of its own.
    pub manifest: Option<Arc<Manifest>>,
    /// Its WebAssembly binary (a `.wat` file converted), when it was valid.
    pub binary: Option<Arc<[u8]>>,
    /// Its imported functions as classified, when it was valid.
    pub imports: Option<Arc<[analyze::ImportedFunction]>>,
    /// The file as stored: its size in bytes and its content digest ([`content_digest`]), when
    /// it could be read.
    pub file: Option<(u64, Digest)>,
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
    /// Where each of `diagnostics` came from, in the same order.
    pub origins: Vec<Origin>,
    /// The manifests loaded, which [`Origin::Manifest`] counts in.
    pub manifests: Vec<PathBuf>,
    /// Each checked component's manifest (its position in `manifests`), in the order of
    /// `components`; `None` when it has none.
    pub manifest_of: Vec<Option<usize>>,
    /// With [`Options::keep`], each of `manifests` as parsed (`None` when the file could not be
    /// parsed at all), whether or not it had error-level findings; empty otherwise.
    pub parsed_manifests: Vec<Option<Arc<Manifest>>>,
    /// Each checked component's position among the components given (with a shard, the
    /// members only are checked).
    pub indices: Vec<usize>,
    /// What the cache did, with [`Options::cache`].
    pub cache: Option<CacheStats>,
}

/// What produced a diagnostic.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// Loading the manifest `Report::manifests[i]`, and the policies' findings about it.
    Manifest(usize),
    /// Checking the component `Report::components[i]`.
    Component(usize),
    /// The batch as a whole (waivers expired, or used by no component).
    Batch,
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
    if let Some(m) = options.listed.get(component).and_then(|l| l.manifest.as_ref()) {
        return m.clone();
    }
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
    let policy_sources = policy_sources(options, &sources);
    let (indices, digests) = select(components, options)?;
    let components: Vec<PathBuf> = indices.iter().map(|&i| components[i].clone()).collect();
    let mut findings = Findings::new(options);
    // Each component's manifest path, found once (it looks at the file system) and used both to
    // load the manifests and to hand each component its own.
    let manifest_paths: Vec<PathBuf> = components.iter().map(|c| manifest_for(c, options)).collect();
    let to_load: Vec<PathBuf> = manifest_paths.iter().chain(&options.manifests).cloned().collect();
    let manifests = load_manifests(&to_load, options, &mut sources, &mut findings)?;
    let binaries: Vec<SourceId> = components
        .iter()
        .map(|c| sources.add_binary(c.display().to_string()))
        .collect();
    let cache = match (options.cache, policy_sources) {
        (Some(cache), Some(policy_sources)) if !options.keep && options.manifest_text.is_none() => Some(CacheUse {
            cache,
            context: cache_context(catalogue, options, &sources, &policy_sources),
            policies: policy_sources,
            sources: &sources,
        }),
        _ => None,
    };
    // Counted and reported under one lock: with a counter read before the call, two threads
    // could report 6 and then 5, and the progress bar would go backwards.
    let done = std::sync::Mutex::new(0usize);
    let per_component: Vec<Checked> = components
        .par_iter()
        .zip(binaries.par_iter())
        .zip(manifest_paths.par_iter())
        .zip(digests.par_iter())
        .map(|(((c, id), path), digest)| {
            let m = manifests.by_path.get(path).map(|m| ManifestUse {
                path,
                source: m.source,
                manifest: m.manifest.as_deref(),
            });
            let result = check_one(catalogue, c, *id, m, options, cache.as_ref(), *digest);
            if let Some(p) = progress {
                let mut n = done.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                *n += 1;
                p(*n, components.len());
            }
            result
        })
        .collect::<crate::Result<_>>()?;
    let cache = cache.map(|c| c.cache.stats());
    let mut kinds = Vec::with_capacity(components.len());
    let mut loaded = Vec::new();
    for (k, (checked, path)) in per_component.into_iter().zip(&manifest_paths).enumerate() {
        let manifest = manifests.by_path.get(path);
        kinds.push(checked.analysed.kind);
        if options.keep {
            loaded.push(Loaded {
                manifest: manifest.filter(|m| m.valid).and_then(|m| m.manifest.clone()),
                binary: checked.binary,
                imports: checked.imports,
                file: checked.file,
            });
        }
        let component = manifest.and_then(|m| m.manifest.as_ref()).map(|m| &m.component);
        findings.component(Origin::Component(k), checked.analysed, component);
    }
    let (origins, diagnostics) = findings.finish(&sources);
    let position: HashMap<&PathBuf, usize> = manifests.order.iter().enumerate().map(|(i, p)| (p, i)).collect();
    let manifest_of = manifest_paths.iter().map(|p| position.get(p).copied()).collect();
    let parsed_manifests = match options.keep {
        true => manifests
            .order
            .iter()
            .map(|p| manifests.by_path[p].manifest.clone())
            .collect(),
        false => Vec::new(),
    };
    Ok(Report {
        sources,
        diagnostics,
        components,
        kinds,
        loaded,
        origins,
        manifests: manifests.order,
        manifest_of,
        parsed_manifests,
        indices,
        cache,
    })
}

/// The manifests of a batch, each loaded once.
struct Manifests {
    by_path: BTreeMap<PathBuf, LoadedManifest>,
    /// In the order loaded ([`Origin::Manifest`] counts in it).
    order: Vec<PathBuf>,
}

/// Loads each manifest of `paths` once (a missing one is no manifest, unless `--manifest` named
/// it), adding its own findings and the policies' findings about it.
fn load_manifests(
    paths: &[PathBuf],
    options: &Options<'_>,
    sources: &mut Sources,
    findings: &mut Findings<'_>,
) -> crate::Result<Manifests> {
    let mut manifests = Manifests {
        by_path: BTreeMap::new(),
        order: Vec::new(),
    };
    for path in paths {
        let in_memory = options
            .manifest_text
            .as_deref()
            .filter(|_| options.manifest.as_deref() == Some(path.as_path()));
        if manifests.by_path.contains_key(path) || (in_memory.is_none() && !path.is_file()) {
            if options.manifest.is_some() && in_memory.is_none() && !path.is_file() {
                return Err(crate::Error::read(
                    path,
                    std::io::Error::new(std::io::ErrorKind::NotFound, "no such manifest"),
                ));
            }
            continue;
        }
        let parsed = match in_memory {
            Some(text) => Manifest::parse_in(sources, &path.display().to_string(), text),
            None => Manifest::load(sources, path)?,
        };
        let valid = !parsed
            .diagnostics
            .iter()
            .any(|d| d.severity == crate::diagnostics::Severity::Error);
        let source = parsed
            .manifest
            .as_ref()
            .map_or_else(|| sources.last_id().expect("the manifest was registered"), |m| m.source);
        let origin = Origin::Manifest(manifests.order.len());
        manifests.order.push(path.clone());
        findings.add(origin, parsed.diagnostics);
        if let Some(m) = &parsed.manifest {
            findings.manifest(origin, m);
        }
        manifests.by_path.insert(
            path.clone(),
            LoadedManifest {
                source,
                manifest: parsed.manifest.map(Arc::new),
                valid,
            },
        );
    }
    Ok(manifests)
}

/// The findings of a batch as they are gathered, each with where it came from, and the waivers
/// they used.
struct Findings<'o> {
    all: Vec<(Origin, Diagnostic)>,
    policies: Option<(&'o PolicySet, Date)>,
    waivers: Option<crate::orgpolicy::WaiverUse>,
}

impl<'o> Findings<'o> {
    fn new(options: &Options<'o>) -> Self {
        Findings {
            all: Vec::new(),
            policies: options.policies,
            waivers: options.policies.map(|(p, _)| p.waiver_use()),
        }
    }

    fn add(&mut self, origin: Origin, found: impl IntoIterator<Item = Diagnostic>) {
        self.all.extend(found.into_iter().map(|d| (origin, d)));
    }

    /// The policies' findings about a manifest, waivers applied.
    fn manifest(&mut self, origin: Origin, m: &Manifest) {
        if let (Some((policies, today)), Some(used)) = (self.policies, self.waivers.as_mut()) {
            let kept = policies.waive(&m.component, policies.manifest_findings(m), today, used);
            self.add(origin, kept);
        }
    }

    /// One component's findings, waivers applied in batch order (`component`: its manifest's
    /// `[component]`, which waivers name).
    fn component(&mut self, origin: Origin, analysed: Analysed, component: Option<&crate::manifest::ComponentInfo>) {
        match (self.policies, analysed.policy, self.waivers.as_mut(), component) {
            (Some((policies, today)), Some(mut raw), Some(used), Some(component)) => {
                let rest = waivable(analysed.diagnostics, &mut raw);
                let kept = policies.waive(component, raw, today, used);
                self.add(origin, rest);
                self.add(origin, kept);
            }
            _ => self.add(origin, analysed.diagnostics),
        }
    }

    /// Adds the findings about the waivers, sorts, and splits origins from diagnostics.
    fn finish(mut self, sources: &Sources) -> (Vec<Origin>, Vec<Diagnostic>) {
        if let (Some((policies, today)), Some(used)) = (self.policies, &self.waivers) {
            let found = policies.waiver_findings(used, today, true);
            self.add(Origin::Batch, found);
        }
        crate::diagnostics::sort_with(&mut self.all, sources, |(_, d)| d);
        self.all.into_iter().unzip()
    }
}

impl Report {
    /// Adds findings about the batch as a whole (the unusable lines of a `--from-list` file,
    /// whose file is in `sources`), keeping the order.
    pub fn add_batch_findings(&mut self, found: Vec<Diagnostic>) {
        let mut all: Vec<(Origin, Diagnostic)> = std::mem::take(&mut self.origins)
            .into_iter()
            .zip(std::mem::take(&mut self.diagnostics))
            .chain(found.into_iter().map(|d| (Origin::Batch, d)))
            .collect();
        crate::diagnostics::sort_with(&mut all, &self.sources, |(_, d)| d);
        (self.origins, self.diagnostics) = all.into_iter().unzip();
    }
}

/// What decides a batch's findings, as a digest: the components (and the manifests named for
/// them), the manifest option, the tool, catalogue, policies and kinds, the date waivers are
/// judged against, and `extra` (the caller's severity levels). The shards of one batch have the
/// same; `merge` refuses shards that differ.
pub fn batch_digest(
    catalogue: &Catalogue,
    components: &[PathBuf],
    options: &Options<'_>,
    sources: &Sources,
    extra: &str,
) -> Digest {
    let policies = policy_sources(options, sources).unwrap_or_default();
    let mut h = Hasher::new();
    h.field(cache_context(catalogue, options, sources, &policies).0);
    h.field(components.len().to_be_bytes());
    for c in components {
        let listed = options.listed.get(c);
        let manifest = listed
            .and_then(|l| l.manifest.as_ref())
            .map(|m| m.to_string_lossy())
            .unwrap_or_default();
        let digest = listed.and_then(|l| l.digest).map(|d| d.hex()).unwrap_or_default();
        h.field(c.to_string_lossy().as_bytes())
            .field(manifest.as_bytes())
            .field(digest);
    }
    h.field(
        options
            .manifest
            .as_ref()
            .map(|m| m.to_string_lossy())
            .unwrap_or_default()
            .as_bytes(),
    );
    h.field(format!("{:?}", options.policies.map(|(_, date)| date)));
    h.field(extra);
    h.finish()
}

/// The policy files among `sources`, by name (what cached labels into them are found by).
///
/// `None` when a policy file is not among `sources` (the caller loaded the policies elsewhere):
/// the cache key could not cover it, so the cache is not used.
fn policy_sources(options: &Options<'_>, sources: &Sources) -> Option<HashMap<String, SourceId>> {
    let Some((policies, _)) = options.policies else {
        return Some(HashMap::new());
    };
    policies
        .policies
        .iter()
        .filter_map(|p| p.source)
        .map(|id| Some((sources.try_get(id)?.name.clone(), id)))
        .collect()
}

/// The components to check (their positions in `components`), with their content digests when
/// they were read to choose the shard. A digest listed for a component (`--from-list`) decides
/// its shard without reading it. Digests are read in parallel.
fn select(components: &[PathBuf], options: &Options<'_>) -> crate::Result<(Vec<usize>, Vec<Option<Digest>>)> {
    let all = 0..components.len();
    let Some(shard) = options.shard else {
        return Ok((all.collect(), vec![None; components.len()]));
    };
    let digests: Vec<(Digest, bool)> = components
        .par_iter()
        .map(|c| match options.listed.get(c).and_then(|l| l.digest) {
            Some(listed) => Ok((listed, false)),
            None => content_digest(c).map(|d| (d, true)),
        })
        .collect::<crate::Result<_>>()?;
    Ok(all
        .filter(|&i| shard.contains(&digests[i].0))
        .map(|i| (i, digests[i].1.then_some(digests[i].0)))
        .unzip())
}

/// The digest of a component file's bytes as stored (a `.wat` file's text, not what it
/// assembles to), read in blocks when it is too large to analyse.
///
/// # Errors
/// The file cannot be read, or is not a regular file.
pub fn content_digest(path: &Path) -> crate::Result<Digest> {
    match component::read_file(path)? {
        Ok(bytes) => Ok(Digest::of(&bytes)),
        Err(_) => Digest::of_file(path).map_err(|e| crate::Error::read(path, e)),
    }
}

/// What the cache key shares across a batch: the tool, the catalogue, the policy files and the
/// kinds accepted.
fn cache_context(
    catalogue: &Catalogue,
    options: &Options<'_>,
    sources: &Sources,
    policies: &HashMap<String, SourceId>,
) -> Digest {
    let mut h = Hasher::new();
    h.field(env!("CARGO_PKG_NAME")).field(env!("CARGO_PKG_VERSION"));
    h.field(catalogue.files.len().to_be_bytes());
    for (name, text) in &catalogue.files {
        h.field(name).field(text);
    }
    let mut named: Vec<_> = policies.iter().collect();
    named.sort();
    h.field(if options.policies.is_some() {
        "policies"
    } else {
        "no policies"
    });
    h.field(named.len().to_be_bytes());
    for (name, id) in named {
        h.field(name)
            .field(sources.get(*id).text.as_deref().unwrap_or_default());
    }
    h.field(options.kinds.len().to_be_bytes());
    for k in &options.kinds {
        h.field(k.as_str());
    }
    h.finish()
}

/// The cache as one run uses it.
struct CacheUse<'a> {
    cache: &'a Cache,
    context: Digest,
    policies: HashMap<String, SourceId>,
    sources: &'a Sources,
}

/// A component's manifest as `check_one` sees it.
struct ManifestUse<'a> {
    path: &'a Path,
    source: SourceId,
    /// `None` when the file exists but could not be parsed at all.
    manifest: Option<&'a Manifest>,
}

/// What one component produced: its findings and the raw policy findings about its imports,
/// waived later in batch order.
struct Checked {
    analysed: Analysed,
    /// The binary, with [`Options::keep`].
    binary: Option<Arc<[u8]>>,
    /// The classified imports, with [`Options::keep`].
    imports: Option<Arc<[analyze::ImportedFunction]>>,
    /// The file's size and digest, with [`Options::keep`].
    file: Option<(u64, Digest)>,
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

/// One component, from the cache when it holds its findings. `known` is its content digest
/// when it was read already.
fn check_one(
    catalogue: &Catalogue,
    path: &Path,
    binary: SourceId,
    manifest: Option<ManifestUse<'_>>,
    options: &Options<'_>,
    cache: Option<&CacheUse<'_>>,
    known: Option<Digest>,
) -> crate::Result<Checked> {
    let read = component::read_file(path)?;
    let file = match (options.keep, &read) {
        (false, _) => None,
        (true, Ok(bytes)) => Some((bytes.len() as u64, known.unwrap_or_else(|| Digest::of(bytes)))),
        (true, Err(_)) => Some(stored_file(path)?),
    };
    let bytes = match read {
        Ok(bytes) => bytes,
        Err(invalid) => {
            return Ok(Checked {
                file,
                ..Checked::invalid(binary, &invalid)
            });
        }
    };
    let listed = options.listed.get(path).and_then(|l| Some((l.digest?, &l.at)));
    let digest = (cache.is_some() || listed.is_some()).then(|| known.unwrap_or_else(|| Digest::of(&bytes)));
    let mut checked = match (cache, digest) {
        (Some(cache), Some(digest)) => cached(catalogue, path, &bytes, digest, binary, manifest, options, cache),
        _ => analyse(catalogue, path, &bytes, binary, manifest.as_ref(), options),
    };
    if let (Some((said, (list, span))), Some(actual)) = (listed, digest)
        && said != actual
    {
        let mismatch =
            analyze::rules::listed_digest_mismatch(*list, span.clone(), &format!("{said:?}"), &format!("{actual:?}"));
        checked.analysed.diagnostics.push(mismatch);
    }
    checked.file = file;
    Ok(checked)
}

/// The size and digest of a component file too large to analyse, read in blocks.
fn stored_file(path: &Path) -> crate::Result<(u64, Digest)> {
    let size = std::fs::metadata(path).map_err(|e| crate::Error::read(path, e))?.len();
    Ok((size, content_digest(path)?))
}

/// One component's findings from the cache, or analysed and stored.
#[allow(
    clippy::too_many_arguments,
    reason = "one component's inputs, passed through from check_one"
)]
fn cached(
    catalogue: &Catalogue,
    path: &Path,
    bytes: &[u8],
    digest: Digest,
    binary: SourceId,
    manifest: Option<ManifestUse<'_>>,
    options: &Options<'_>,
    cache: &CacheUse<'_>,
) -> Checked {
    let manifest_text = manifest.as_ref().map(|m| {
        (
            m.path.to_string_lossy(),
            m.manifest.and_then(|_| cache.sources.get(m.source).text.as_deref()),
        )
    });
    let key = Cache::key(&cache.context, &path.display().to_string(), &digest, manifest_text);
    let places = Places {
        sources: cache.sources,
        component: binary,
        component_len: bytes.len(),
        manifest: manifest.as_ref().map(|m| m.source),
        policies: &cache.policies,
    };
    if let Some(analysed) = cache.cache.get(&key, &places) {
        return Checked {
            analysed,
            binary: None,
            imports: None,
            file: None,
        };
    }
    let checked = analyse(catalogue, path, bytes, binary, manifest.as_ref(), options);
    cache.cache.put(&key, &checked.analysed, &places);
    checked
}

impl Checked {
    fn invalid(binary: SourceId, invalid: &component::Invalid) -> Self {
        Checked {
            analysed: Analysed {
                diagnostics: vec![invalid_binary(binary, invalid)],
                policy: None,
                kind: None,
            },
            binary: None,
            imports: None,
            file: None,
        }
    }
}

/// The analysis of one component's bytes against its manifest.
fn analyse(
    catalogue: &Catalogue,
    path: &Path,
    bytes: &[u8],
    binary: SourceId,
    manifest: Option<&ManifestUse<'_>>,
    options: &Options<'_>,
) -> Checked {
    let mut kept = None;
    let artifact = match component::to_binary(bytes).and_then(|b| {
        let artifact = component::read(&b)?;
        if options.keep {
            kept = Some(Arc::<[u8]>::from(b.as_ref()));
        }
        Ok(artifact)
    }) {
        Ok(a) => a,
        Err(invalid) => return Checked::invalid(binary, &invalid),
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
        Some(ManifestUse { manifest: None, .. }) => {}
        Some(&ManifestUse {
            source,
            manifest: Some(manifest),
            ..
        }) => {
            out.extend(analyze::permission_findings(
                &c.functions,
                &ManifestRef { manifest, source },
                binary,
            ));
            if let Some((policies, _)) = options.policies {
                let mut found = policies.import_findings(&c.functions, binary);
                found.extend(policies.kind_findings(c.kind, binary));
                policy = Some(found);
            }
        }
    }
    Checked {
        analysed: Analysed {
            diagnostics: out,
            policy,
            kind: Some(c.kind),
        },
        binary: kept,
        imports: options.keep.then(|| Arc::from(c.functions)),
        file: None,
    }
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
