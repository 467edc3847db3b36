//! `airssys-wasm run`: the static check, then the components in one enforcing host.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use airssys_wasm::analyze::ComponentKind;
use airssys_wasm::bounded::{self, Bounded};
use airssys_wasm::check::{self, Loaded, Options};
use airssys_wasm::component;
use airssys_wasm::diagnostics::registry::UNDECLARED_PERMISSION;
use airssys_wasm::diagnostics::{Levels, Severity, Sink, Sources, count};
use airssys_wasm::digest::Digest;
use airssys_wasm::manifest::{Limits, parse_size};
use airssys_wasm::manifest::{MAX_MANIFEST_BYTES, Manifest};
use airssys_wasm::orgpolicy::PolicySet;
use airssys_wasm::report::human;
use airssys_wasm::runtime::services::LogSink;
use airssys_wasm::runtime::{
    AuditLog, CallError, CompileCache, Host, Mode, Observer, Runtime, RuntimeConfig, WasiOptions,
};
use airssys_wasm::{Error, ErrorKind};

use super::run_args::{Invoke, RunArgs};
use super::run_learn::Learn;
use super::{Cli, LazyCatalogue, Outcome, style};

/// One component to load: its file and its manifest file.
struct Unit {
    path: PathBuf,
    manifest: PathBuf,
    /// The manifest's text when it is not read from `manifest` (`--learn` without one).
    manifest_text: Option<String>,
}

impl Unit {
    /// The component at `path` (a file, or a directory holding exactly one component) and its
    /// manifest: `manifest`, or the one found beside the component.
    fn new(path: &Path, manifest: Option<PathBuf>) -> Result<Unit, Error> {
        let path = component_file(path)?;
        let manifest = check::manifest_for(
            &path,
            &Options {
                manifest,
                ..Options::default()
            },
        );
        Ok(Unit {
            path,
            manifest,
            manifest_text: None,
        })
    }
}

/// `path` itself when it is a file; the one component (`.wasm` or `.wat`) directly in it when
/// it is a directory. Anything else is an error that says what was found.
fn component_file(path: &Path) -> Result<PathBuf, Error> {
    let meta = std::fs::metadata(path).map_err(|e| Error::read(path, e))?;
    if !meta.is_dir() {
        return Ok(path.to_path_buf());
    }
    let entries = std::fs::read_dir(path).map_err(|e| Error::read(path, e))?;
    let mut found = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| Error::read(path, e))?;
        let file = entry.path();
        let is_component = matches!(file.extension().and_then(|e| e.to_str()), Some("wasm" | "wat"));
        if is_component && file.is_file() {
            found.push(file);
        }
    }
    found.sort();
    match found.len() {
        1 => Ok(found.remove(0)),
        0 => Err(Error::usage(format!(
            "{} is a directory with no component in it (.wasm or .wat); name the component file",
            path.display()
        ))),
        _ => Err(Error::usage(format!(
            "{} holds {} components; name the one to run: {}",
            path.display(),
            found.len(),
            found
                .iter()
                .map(|f| f.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

pub(super) fn run(cli: &Cli, catalogue: &LazyCatalogue<'_>, args: &RunArgs) -> Result<Outcome, Error> {
    let learn = Learn::from_args(args)?;
    let mut units = units(args)?;
    if learn.is_some() {
        units[0].manifest_text = Learn::starter(&units[0].path, &units[0].manifest);
        if units[0].manifest_text.is_some() {
            eprintln!(
                "note: {} does not exist: learning starts from an empty manifest (no grant)",
                units[0].manifest.display()
            );
        }
    }
    // Opened before anything runs, so that a missing input file stops the run at once.
    let input = Input::open(args.input.as_deref())?;
    let overrides = overrides(args)?;
    let wasi = wasi_options(args)?;

    // 1. The static check of every component against its manifest and the policies.
    let mut policy_sources = Sources::new();
    let policies = super::policy_cmd::load(cli, &mut policy_sources, &args.policy)?;
    let cache = compile_cache(args);
    let (errors, loaded) = static_check(cli, catalogue, &units, &policies, learn.is_some(), cache.as_deref())?;
    if errors > 0 && !args.force {
        eprintln!(
            "error: refusing to run: the static check found {errors} error(s); fix them, or pass --force to run anyway (every operation is still enforced)"
        );
        return Ok(Outcome::Findings);
    }

    // 2. The host, and every component loaded into it.
    let audit = open_audit_log(args)?;
    let host = start_host(args, policies, overrides, &audit, learn.as_ref(), cache)?;
    let first = loaded.first().cloned().unwrap_or_default();
    let calls = Calls {
        host: &host,
        audit: &audit,
        log_name: args
            .audit_log
            .as_ref()
            .map_or_else(|| "standard error".to_string(), |p| p.display().to_string()),
    };
    let result = load_and_call(&calls, args, &units, loaded, &wasi, input);
    // 4. The end line of every component loaded, with the run's exit code.
    let exit = match &result {
        Ok(Outcome::Clean) => 0,
        Ok(Outcome::Findings) => 1,
        Ok(Outcome::Exit(code)) => i32::from(*code),
        Err(_) => 2,
    };
    let finished = host.finish(Some(exit));
    let outcome = result?;
    if finished.is_err() {
        calls.checked(())?;
    }
    if let Some(learn) = &learn {
        let failed = !matches!(outcome, Outcome::Clean);
        learn.finish(catalogue.get()?, &host, &units[0].path, &first, failed)?;
    }
    Ok(outcome)
}

/// Loads every unit into the host, then makes the calls (steps 2 and 3 of `run`).
fn load_and_call(
    calls: &Calls<'_>,
    args: &RunArgs,
    units: &[Unit],
    loaded: Vec<Loaded>,
    wasi: &WasiOptions,
    input: Input,
) -> Result<Outcome, Error> {
    let host = calls.host;
    // A start line that cannot be written is the audit log's failure, not the component's.
    let loaded = calls.checked(load_all(host, units, loaded, wasi))?;
    for note in host.cache_notes() {
        eprintln!("warning: {note}");
    }
    let (names, first_memory) = loaded?;
    let command = host.is_command(&names[0]);
    if command && args.input.is_some() {
        return Err(Error::usage(format!(
            "--input feeds the `execute` export of an airssys component, but {} is a WASI command: it reads its standard input",
            units[0].path.display()
        )));
    }
    // `execute` goes to the first component, so its memory bounds the input.
    let input = input.read(first_memory, &names[0])?;

    // 3. The calls.
    calls.make(&names, command, args.invoke, &input)
}

/// The audit log: `--audit-log` (appended to), else standard error.
fn open_audit_log(args: &RunArgs) -> Result<AuditLog, Error> {
    match &args.audit_log {
        Some(path) => AuditLog::append_to(path).map_err(|e| {
            Error::from(ErrorKind::AuditLog(format!(
                "cannot open the audit log {} for appending: {e}",
                path.display()
            )))
        }),
        None => Ok(AuditLog::stderr()),
    }
}

/// The runtime and its host, in the mode and with the policies and limits `run` was given
/// (learning runs in report-only mode, with the collector watching the guard).
fn start_host(
    args: &RunArgs,
    policies: PolicySet,
    overrides: Limits,
    audit: &AuditLog,
    learn: Option<&Learn>,
    cache: Option<Arc<CompileCache>>,
) -> Result<Host, Error> {
    let config = RuntimeConfig {
        mode: if args.report_only || learn.is_some() {
            Mode::ReportOnly
        } else {
            Mode::Enforce
        },
        observer: learn.map(|l| Arc::clone(&l.collector) as Arc<dyn Observer>),
        audit: audit.clone(),
        log: LogSink::stderr(),
        policies,
        overrides,
        cache,
        ..RuntimeConfig::default()
    };
    let runtime = Runtime::new(config).map_err(|e| Error::from(ErrorKind::RuntimeStart(format!("{e:#}"))))?;
    Ok(Host::new(Arc::new(runtime)))
}

/// The compilation cache, unless `--no-cache`. One that cannot be used safely is not used: a
/// warning says why, and the run goes on compiling afresh.
fn compile_cache(args: &RunArgs) -> Option<Arc<CompileCache>> {
    if args.no_cache {
        return None;
    }
    let Some(dir) = CompileCache::default_dir() else {
        eprintln!(
            "warning: no compilation cache: neither AIRSSYS_CACHE_DIR, XDG_CACHE_HOME nor HOME is set (set one, or run with --no-cache)"
        );
        return None;
    };
    match CompileCache::open(&dir) {
        Ok(cache) => Some(Arc::new(cache)),
        Err(why) => {
            eprintln!("warning: {why}");
            None
        }
    }
}

/// Loads every unit; their names in order and the first one's memory limit. The first
/// component gets the arguments and the environment; every one gets stdio.
fn load_all(host: &Host, units: &[Unit], loaded: Vec<Loaded>, wasi: &WasiOptions) -> Result<(Vec<String>, u64), Error> {
    let mut names = Vec::with_capacity(units.len());
    let mut first_memory = None;
    for (i, (unit, loaded)) in units.iter().zip(loaded).enumerate() {
        let options = if i == 0 {
            wasi.clone()
        } else {
            WasiOptions {
                args: vec![file_name(&unit.path)],
                inherit_stdio: true,
                ..WasiOptions::default()
            }
        };
        let (name, memory) = load(host, unit, loaded, &options)?;
        names.push(name);
        first_memory.get_or_insert(memory);
    }
    Ok((names, first_memory.unwrap_or_default()))
}

/// The calls of a run, each followed by a look at the audit log: a line that cannot be written
/// stops the run there, as the host's failure (exit 2), whatever the component made of the
/// refused operation.
struct Calls<'a> {
    host: &'a Host,
    audit: &'a AuditLog,
    /// Where the audit log goes, for the message.
    log_name: String,
}

impl Calls<'_> {
    /// `result`, unless the audit log has failed meanwhile.
    fn checked<T>(&self, result: T) -> Result<T, Error> {
        match self.audit.failure() {
            Some(reason) => Err(Error::from(ErrorKind::AuditLog(format!(
                "the audit log ({}) cannot be written: {reason}; the run stopped there, because no operation takes effect without its audit line",
                self.log_name
            )))),
            None => Ok(result),
        }
    }

    /// `init` on every airssys component; the command's `run`, or the requested export of the
    /// first component; `shutdown` on every airssys component.
    fn make(&self, names: &[String], command: bool, invoke: Invoke, input: &[u8]) -> Result<Outcome, Error> {
        let host = self.host;
        let lifecycles: Vec<&String> = names.iter().filter(|n| !host.is_command(n)).collect();
        let mut failed = false;
        for name in &lifecycles {
            failed |= report("init", self.checked(host.init(name))?);
        }
        let mut exit = None;
        if !failed && command {
            match self.checked(host.run_command(&names[0]))? {
                Ok(code) => exit = Some(code.code()),
                Err(e) => failed |= report("run", Err(e)),
            }
        } else if !failed && invoke == Invoke::Execute {
            let output = self.checked(host.execute(&names[0], input))?;
            failed |= report(
                "execute",
                output.map(|bytes| {
                    let mut out = std::io::stdout().lock();
                    let _ = out.write_all(&bytes);
                    let _ = out.flush();
                }),
            );
        }
        for name in &lifecycles {
            failed |= report("shutdown", self.checked(host.shutdown(name))?);
        }
        if self.audit.flush().is_err() {
            self.checked(())?;
        }
        Ok(match exit {
            // A command's exit code is the run's, as `wasmtime run` passes it on (only its low
            // 8 bits reach the operating system).
            Some(code) if !failed => match code {
                0 => Outcome::Clean,
                code => Outcome::Exit((code & 0xff) as u8),
            },
            _ if failed => Outcome::Findings,
            _ => Outcome::Clean,
        })
    }
}

/// The components to load: the one named, then each `--with`.
fn units(args: &RunArgs) -> Result<Vec<Unit>, Error> {
    let mut units = vec![Unit::new(&args.component, args.manifest.clone())?];
    for spec in &args.with {
        let (path, manifest) = match spec.split_once('=') {
            Some((p, m)) => (PathBuf::from(p), Some(PathBuf::from(m))),
            None => (PathBuf::from(spec), None),
        };
        if path.as_os_str().is_empty() {
            return Err(Error::usage(format!(
                "--with `{spec}` names no component: write COMPONENT or COMPONENT=MANIFEST"
            )));
        }
        units.push(Unit::new(&path, manifest)?);
    }
    Ok(units)
}

/// The limits the command line sets over the manifests.
fn overrides(args: &RunArgs) -> Result<Limits, Error> {
    let overrides = Limits {
        memory: match &args.memory {
            Some(text) => Some(parse_size(text).filter(|n| *n > 0).ok_or_else(|| {
                Error::usage(format!(
                    "--memory `{text}` is not a size: write bytes or a number with B, KiB, MiB or GiB (`64 MiB`)"
                ))
            })?),
            None => None,
        },
        fuel: args.fuel,
        timeout_ms: args.timeout_ms,
        instances: args.instances.map(|n| n as u64),
        tables: args.tables.map(|n| n as u64),
        memories: args.memories.map(|n| n as u64),
    };
    if overrides.fuel == Some(0) || overrides.timeout_ms == Some(0) {
        return Err(Error::usage("--fuel and --timeout-ms must be positive"));
    }
    for (flag, value) in [
        ("--instances", args.instances),
        ("--tables", args.tables),
        ("--memories", args.memories),
    ] {
        if value == Some(0) {
            return Err(Error::usage(format!("{flag} must be positive")));
        }
    }
    Ok(overrides)
}

/// The file name of a component, as a command's `argv[0]`.
fn file_name(path: &Path) -> String {
    path.file_name()
        .map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into_owned())
}

/// What the first component's WASI imports get: `argv[0]` and the arguments after `--`, the
/// `--env` variables (never the host's), and the host's stdio.
fn wasi_options(args: &RunArgs) -> Result<WasiOptions, Error> {
    let mut env: Vec<(String, String)> = Vec::with_capacity(args.env.len());
    for spec in &args.env {
        let Some((key, value)) = spec.split_once('=') else {
            return Err(Error::usage(format!(
                "--env `{spec}` has no `=`: write KEY=VALUE (the component sees only the variables given this way)"
            )));
        };
        if key.is_empty() {
            return Err(Error::usage(format!(
                "--env `{spec}` names no variable: write KEY=VALUE"
            )));
        }
        if env.iter().any(|(k, _)| k == key) {
            return Err(Error::usage(format!("--env gives `{key}` twice")));
        }
        env.push((key.to_string(), value.to_string()));
    }
    let mut argv = vec![file_name(&args.component)];
    argv.extend(args.args.iter().cloned());
    Ok(WasiOptions {
        args: argv,
        env,
        inherit_stdio: true,
    })
}

/// The static check of every unit; prints what it found and returns the number of errors
/// that stop the run, and what it loaded for each unit (in order). An imported operation the
/// manifest does not grant (CMP002) does not stop it: the operation is denied and audited if it
/// is called, and it is shown as a warning (not when `learning`: finding those is the point).
fn static_check(
    cli: &Cli,
    catalogue: &LazyCatalogue<'_>,
    units: &[Unit],
    policies: &PolicySet,
    learning: bool,
    cache: Option<&CompileCache>,
) -> Result<(usize, Vec<Loaded>), Error> {
    let mut levels = Levels::default();
    policies.apply_levels(&mut levels);
    let mut errors = 0;
    let mut loaded = Vec::with_capacity(units.len());
    for unit in units {
        // A check that found nothing, with nothing it depends on changed since, is not made
        // again (a learning run checks a manifest it is writing; a catalogue given on the command
        // line may have changed on disk).
        let verdict = cache
            .filter(|_| !learning && unit.manifest_text.is_none() && cli.catalogue.is_none())
            .and_then(|cache| Some((cache, Verdict::read(unit, policies)?)));
        if let Some((cache, verdict)) = &verdict
            && cache.knows_clean(&verdict.key)
            && let Some(known) = verdict.loaded(unit)
        {
            loaded.push(known);
            continue;
        }
        let report = check::check(
            catalogue.get()?,
            std::slice::from_ref(&unit.path),
            &Options {
                manifest: Some(unit.manifest.clone()),
                manifest_text: unit.manifest_text.clone(),
                policies: Some((policies, super::policy_cmd::today())),
                // The host runs airssys components and WASI commands.
                kinds: vec![ComponentKind::Airssys, ComponentKind::WasiCommand],
                keep: true,
                ..Options::default()
            },
        )?;
        loaded.push(report.loaded.first().cloned().unwrap_or_default());
        let mut sink = Sink::new(levels.clone());
        sink.extend(report.diagnostics);
        let shown: Vec<_> = sink
            .finish(&report.sources)
            .into_iter()
            .filter(|d| d.severity == Severity::Error && d.waived.is_none())
            .collect();
        // Operations without a grant are listed in one line, not rendered one by one: an
        // interpreter imports dozens it never calls.
        let (ungranted, shown): (Vec<_>, Vec<_>) = shown
            .into_iter()
            .partition(|d| d.rule.code == UNDECLARED_PERMISSION.code);
        if shown.is_empty()
            && ungranted.is_empty()
            && let Some((cache, verdict)) = &verdict
        {
            // One that cannot be stored is made again next time; nothing else depends on it.
            let _ = cache.remember_clean(&verdict.key);
        }
        errors += count(&shown).errors;
        if !shown.is_empty() {
            eprint!("{}", human::render(&shown, &report.sources, style(cli)));
        }
        if !ungranted.is_empty() && !learning {
            let mut operations: Vec<&str> = ungranted.iter().filter_map(|d| d.message.split('`').nth(1)).collect();
            operations.sort_unstable();
            operations.dedup();
            const SHOWN: usize = 8;
            let more = operations.len().saturating_sub(SHOWN);
            let mut list = operations.iter().take(SHOWN).copied().collect::<Vec<_>>().join(", ");
            if more > 0 {
                list.push_str(&format!(", and {more} more"));
            }
            eprintln!(
                "warning[{}]: {}: {} imported operation(s) have no grant; they are denied (and audited) if the component calls them: {list} (`airssys-wasm check` shows each)",
                UNDECLARED_PERMISSION.code,
                unit.path.display(),
                operations.len()
            );
        }
    }
    Ok((errors, loaded))
}

/// What the static check of a unit depends on, read once: the component's bytes, the manifest's,
/// and the key they make with this build of the tool, the policies in force and today's date
/// (waivers expire). The key names the executable by its size and time, so that a rebuilt tool
/// checks again.
struct Verdict {
    key: String,
    component: Vec<u8>,
    manifest: Vec<u8>,
    digest: Digest,
}

impl Verdict {
    /// `None` when something cannot be read or named (the check then runs, and says why).
    fn read(unit: &Unit, policies: &PolicySet) -> Option<Verdict> {
        let component = component::read_file(&unit.path).ok()?.ok()?;
        let manifest = match bounded::read(&unit.manifest, MAX_MANIFEST_BYTES).ok()? {
            Bounded::Bytes(bytes) => bytes,
            Bounded::TooLarge(_) => return None,
        };
        let exe = std::env::current_exe().ok()?.metadata().ok()?;
        let tool = format!("{} {:?}", exe.len(), exe.modified().ok()?);
        let mut in_force = String::new();
        for policy in &policies.policies {
            in_force.push_str(&format!("{}\0{}\0", policy.name, policy.digest?.hex()));
        }
        let today = super::policy_cmd::today().to_string();
        let digest = Digest::of(&component);
        let key = CompileCache::verdict_key(&[
            tool.as_bytes(),
            unit.path.as_os_str().as_encoded_bytes(),
            digest.hex().as_bytes(),
            unit.manifest.as_os_str().as_encoded_bytes(),
            &manifest,
            in_force.as_bytes(),
            today.as_bytes(),
        ]);
        Some(Verdict {
            key,
            component,
            manifest,
            digest,
        })
    }

    /// What the check would have loaded for `unit`, from the bytes read for the key.
    fn loaded(&self, unit: &Unit) -> Option<Loaded> {
        let binary = component::to_binary(&self.component).ok()?;
        let name = unit.manifest.display().to_string();
        let manifest = Manifest::from_bytes(&mut Sources::new(), &name, &self.manifest)
            .into_valid()
            .ok()?;
        Some(Loaded {
            manifest: Some(Arc::new(manifest)),
            binary: Some(Arc::from(binary.as_ref())),
            imports: None,
            file: Some((self.component.len() as u64, self.digest)),
        })
    }
}

/// Prints a failed call; true when it failed.
fn report(what: &str, result: Result<(), CallError>) -> bool {
    match result {
        Ok(()) => false,
        Err(e) => {
            eprintln!("error: {what}: {e}");
            true
        }
    }
}

/// Loads a unit into the host from what the static check loaded (nothing is read or parsed
/// again); its name and the memory limit it runs under.
fn load(host: &Host, unit: &Unit, loaded: Loaded, wasi: &WasiOptions) -> Result<(String, u64), Error> {
    let load_error = |path: &Path, reason: String| {
        Error::from(ErrorKind::Load {
            path: path.to_path_buf(),
            reason,
        })
    };
    let manifest = loaded.manifest.ok_or_else(|| {
        load_error(
            &unit.manifest,
            format!(
                "missing or has errors (see `airssys-wasm manifest {}`): a manifest with errors cannot be enforced, even with --force",
                unit.manifest.display()
            ),
        )
    })?;
    let binary = loaded.binary.ok_or_else(|| {
        load_error(
            &unit.path,
            "not a valid component (see the findings above), so there is nothing to run".to_string(),
        )
    })?;
    let manifest = Arc::unwrap_or_clone(manifest);
    let memory = host.runtime().limits_for(&manifest).memory_bytes;
    let name = host
        .load_with(&binary, manifest, wasi)
        .map_err(|e| load_error(&unit.path, e.to_string()))?;
    Ok((name, memory))
}

/// Where the input of `execute` comes from, opened but not yet read.
enum Input {
    Empty,
    Stdin,
    File(PathBuf, std::fs::File),
}

impl Input {
    fn open(input: Option<&Path>) -> Result<Input, Error> {
        Ok(match input {
            None => Input::Empty,
            Some(p) if p == Path::new("-") => Input::Stdin,
            Some(p) => Input::File(p.to_path_buf(), std::fs::File::open(p).map_err(|e| Error::read(p, e))?),
        })
    }

    /// All of the input, refused when it is larger than `limit` bytes (the memory limit of
    /// `component`, which could not hold it): reading an endless or huge stream is not left to
    /// exhaust the host's memory first.
    fn read(self, limit: u64, component: &str) -> Result<Vec<u8>, Error> {
        let (name, reader): (String, Box<dyn Read>) = match self {
            Input::Empty => return Ok(Vec::new()),
            Input::Stdin => ("standard input".to_string(), Box::new(std::io::stdin().lock())),
            Input::File(path, file) => (path.display().to_string(), Box::new(file)),
        };
        let mut bytes = Vec::new();
        reader
            .take(limit.saturating_add(1))
            .read_to_end(&mut bytes)
            .map_err(|e| Error::read(&name, e))?;
        if bytes.len() as u64 > limit {
            return Err(Error::usage(format!(
                "the input ({name}) is larger than {limit} bytes, the memory limit of `{component}`, so the component could not hold it; raise the limit with --memory or the manifest's [limits] memory"
            )));
        }
        Ok(bytes)
    }
}
