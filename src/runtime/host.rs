//! The engine, the linker, instance stores, and [`Host`]: components loaded together, their
//! lifecycle calls, and the faults that end an instance without ending the host.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::thread::JoinHandle;
use std::time::Instant;

use wasmtime::component::{Component, Linker};
use wasmtime::{Config, Engine, Store};

use super::audit::{self, AuditLog, End, Mode, Observer, Phase, PolicyInForce, Start, Trail};
use super::bindings::FullComponent;
use super::bindings::core_types::ComponentError;
use super::fault::CallError;
use super::guard::ComponentPolicy;
use super::hub::{Exit, Exports, Hub, Slot};
use super::limits::RunLimits;
use super::services::{Components, LogSink, describe_component_error};
use super::state::{self, EPOCH_TICK, InstanceState};
use super::wasi::WasiOptions;
use crate::manifest::{Limits, Manifest};
use crate::orgpolicy::PolicySet;
use crate::policy::Env;

/// How the runtime runs components.
#[derive(Clone, Debug)]
pub struct RuntimeConfig {
    /// Enforce, or only report what would be denied.
    pub mode: Mode,
    /// Where decisions are written (default: nowhere).
    pub audit: AuditLog,
    /// Where `host-services.log` records go (default: nowhere; the CLI sends them to stderr).
    pub log: LogSink,
    /// The organisation's policies; their denials hold at run time as they do in `check`.
    pub policies: PolicySet,
    /// The home directory that `~/` grants stand for.
    pub env: Env,
    /// Limits of every instance before its manifest's `[limits]` apply.
    pub limits: RunLimits,
    /// Limits that win over the manifest (the command line's `--memory`, `--fuel`, `--timeout-ms`).
    pub overrides: Limits,
    /// Count fuel (needed for fuel limits; costs a little speed when no limit is set). Without
    /// it, [`Host::load`] refuses a component whose limits set fuel rather than ignore them.
    pub fuel_metering: bool,
    /// Where compiled components are kept between runs (default: none; see
    /// [`CompileCache`](super::CompileCache)).
    pub cache: Option<Arc<super::CompileCache>>,
    /// Shown every decision of every instance (default: none); see [`Observer`].
    pub observer: Option<Arc<dyn Observer>>,
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        RuntimeConfig {
            mode: Mode::Enforce,
            audit: AuditLog::disabled(),
            log: LogSink::disabled(),
            policies: PolicySet::default(),
            env: Env {
                home: std::env::var("HOME").ok(),
            },
            limits: RunLimits::default(),
            overrides: Limits::default(),
            fuel_metering: true,
            cache: None,
            observer: None,
        }
    }
}

/// The engine, a linker with every catalogued interface, and the configuration.
pub struct Runtime {
    engine: Engine,
    linker: Linker<InstanceState>,
    config: RuntimeConfig,
    /// The run id of every audit line of this runtime's instances.
    run: Arc<str>,
    /// The policies of `config`, as `start` lines name them.
    policies: Vec<PolicyInForce>,
    ticker: Option<JoinHandle<()>>,
    stop: Arc<AtomicBool>,
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Runtime {
    /// Creates the engine and links the 108 host operations (`host-services` and the three
    /// extensions) and WASI 0.2 (see `runtime/wasi.rs`).
    ///
    /// # Errors
    /// Wasmtime refused the configuration (not expected on a supported platform), or the
    /// operating system gave no random bytes for the run id.
    pub fn new(config: RuntimeConfig) -> wasmtime::Result<Self> {
        let run: Arc<str> = audit::new_run_id().map_err(wasmtime::Error::msg)?.into();
        let policies = config
            .policies
            .policies
            .iter()
            .map(|p| PolicyInForce {
                name: p.name.clone(),
                digest: p.digest.map(|d| d.hex()).unwrap_or_default(),
            })
            .collect();
        let mut wasm = Config::new();
        wasm.wasm_component_model(true)
            // The component-model async builtins, as far as Wasmtime supports them, so that
            // components built with them (componentize-js's QuickJS backend) load.
            .wasm_component_model_async(true)
            .wasm_component_model_more_async_builtins(true)
            .epoch_interruption(true)
            .consume_fuel(config.fuel_metering)
            .max_wasm_stack(1 << 20);
        let engine = Engine::new(&wasm)?;
        let mut linker = Linker::new(&engine);
        super::iface::add_to_linker(&mut linker)?;
        super::iface::add_wasi_to_linker(&mut linker)?;
        let stop = Arc::new(AtomicBool::new(false));
        let ticker = {
            let engine = engine.weak();
            let stop = Arc::clone(&stop);
            std::thread::Builder::new()
                .name("airssys-epoch".into())
                .spawn(move || {
                    // A tick every EPOCH_TICK; parked rather than asleep, so that dropping the
                    // runtime wakes the thread at once instead of waiting out the tick.
                    let mut next = Instant::now() + EPOCH_TICK;
                    loop {
                        let now = Instant::now();
                        if now < next {
                            std::thread::park_timeout(next - now);
                        }
                        if stop.load(Ordering::Acquire) {
                            break;
                        }
                        let now = Instant::now();
                        if now < next {
                            continue;
                        }
                        // After a stall, one tick and on from now (not a burst to catch up).
                        next = (next + EPOCH_TICK).max(now);
                        match engine.upgrade() {
                            Some(engine) => engine.increment_epoch(),
                            None => break,
                        }
                    }
                })?
        };
        Ok(Runtime {
            engine,
            linker,
            config,
            run,
            policies,
            ticker: Some(ticker),
            stop,
        })
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The linker: every catalogued import, for hosts that instantiate their own worlds.
    pub fn linker(&self) -> &Linker<InstanceState> {
        &self.linker
    }

    pub fn config(&self) -> &RuntimeConfig {
        &self.config
    }

    /// The run id that every audit line of this runtime's instances carries: a random UUID
    /// drawn when the runtime was made.
    pub fn run_id(&self) -> &str {
        &self.run
    }

    /// The organisation policies in force, with the SHA-256 of each file's text.
    pub fn policies_in_force(&self) -> &[PolicyInForce] {
        &self.policies
    }

    /// Compiles a component (binary or text format).
    ///
    /// # Errors
    /// The bytes are not a valid component.
    pub fn compile(&self, bytes: &[u8]) -> wasmtime::Result<Component> {
        self.compile_cached(bytes).map(|(component, _)| component)
    }

    /// [`Self::compile`], through the compilation cache when the configuration has one, and what
    /// the cache did (`None` without one).
    ///
    /// # Errors
    /// The bytes are not a valid component.
    pub fn compile_cached(&self, bytes: &[u8]) -> wasmtime::Result<(Component, Option<super::CacheOutcome>)> {
        self.compile_digested(bytes, &crate::digest::Digest::of(bytes))
    }

    /// [`Self::compile_cached`] of `bytes` whose SHA-256 digest is `digest`.
    fn compile_digested(
        &self,
        bytes: &[u8],
        digest: &crate::digest::Digest,
    ) -> wasmtime::Result<(Component, Option<super::CacheOutcome>)> {
        match &self.config.cache {
            Some(cache) => cache
                .compile_digested(&self.engine, bytes, digest)
                .map(|(component, outcome)| (component, Some(outcome))),
            None => Component::new(&self.engine, bytes).map(|component| (component, None)),
        }
    }

    /// The limits one component runs under: the defaults, then its manifest, then the overrides.
    pub fn limits_for(&self, manifest: &Manifest) -> RunLimits {
        self.config
            .limits
            .with_manifest(&manifest.limits)
            .with_manifest(&self.config.overrides)
    }

    /// The compiled policy of a component under this runtime's policies, home and mode.
    pub fn policy_for(&self, manifest: Manifest) -> Arc<ComponentPolicy> {
        Arc::new(ComponentPolicy::new(
            manifest,
            &self.config.policies,
            self.config.env.clone(),
            self.config.mode,
        ))
    }

    /// A store for one instance of a component with `policy`, its limits installed. Before each
    /// call, [`Runtime::arm`] renews the call's time and fuel budget.
    pub fn store(&self, policy: Arc<ComponentPolicy>) -> Store<InstanceState> {
        self.make_store(policy, self.config.audit.clone(), None, &WasiOptions::default())
    }

    /// [`Runtime::store`] with its own audit log instead of the runtime's.
    pub fn store_with(&self, policy: Arc<ComponentPolicy>, audit: AuditLog) -> Store<InstanceState> {
        self.make_store(policy, audit, None, &WasiOptions::default())
    }

    /// [`Runtime::store`] for an instance of `hub`'s host, whose components it can message.
    fn store_in(&self, policy: Arc<ComponentPolicy>, hub: &Arc<Hub>, wasi: &WasiOptions) -> Store<InstanceState> {
        let hub: Weak<dyn Components> = Arc::downgrade(hub) as Weak<Hub>;
        self.make_store(policy, self.config.audit.clone(), Some(hub), wasi)
    }

    fn make_store(
        &self,
        policy: Arc<ComponentPolicy>,
        audit: AuditLog,
        hub: Option<Weak<dyn Components>>,
        wasi: &WasiOptions,
    ) -> Store<InstanceState> {
        let limits = self.limits_for(&policy.manifest);
        let trail = Arc::new(Trail::new(Arc::clone(&self.run), self.config.observer.clone()));
        let guard = super::guard::Guard::new(policy, audit, trail, limits);
        let state = InstanceState::new(guard, hub, self.config.log.clone(), wasi);
        let fuel = limits.hostcall_fuel();
        let mut store = Store::new(&self.engine, state);
        store.limiter(|state| &mut state.guard.limits);
        store.set_hostcall_fuel(fuel);
        store.epoch_deadline_trap();
        Self::arm(&mut store);
        store
    }

    /// Gives the next call of `store` its full budget: `timeout_ms` of wall-clock time and, when
    /// a fuel limit is set, that much fuel.
    pub fn arm(store: &mut Store<InstanceState>) {
        state::arm(store);
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(ticker) = self.ticker.take() {
            ticker.thread().unpark();
            let _ = ticker.join();
        }
    }
}

/// Components loaded together in one host: they can message each other through
/// `host-services`. Each has its own store, limits and guard; a fault ends only its instance.
pub struct Host {
    runtime: Arc<Runtime>,
    hub: Arc<Hub>,
    /// What the compilation cache refused or could not store, for [`Host::cache_notes`].
    cache_notes: std::sync::Mutex<Vec<String>>,
}

impl std::fmt::Debug for Host {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Host").field("components", &self.hub.names()).finish()
    }
}

impl Host {
    pub fn new(runtime: Arc<Runtime>) -> Self {
        let hub = Arc::new(Hub::new());
        Host {
            runtime,
            hub,
            cache_notes: std::sync::Mutex::new(Vec::new()),
        }
    }

    /// What the compilation cache refused (an entry and why, then replaced) or could not store
    /// since the last call; each load still compiled its component.
    pub fn cache_notes(&self) -> Vec<String> {
        std::mem::take(
            &mut *self
                .cache_notes
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        )
    }

    pub fn runtime(&self) -> &Arc<Runtime> {
        &self.runtime
    }

    /// Compiles and instantiates a component under `manifest` (its name is the component's id
    /// in this host), with no arguments, no environment and no stdio for its WASI imports.
    /// `init` is not called: see [`Host::init`].
    ///
    /// # Errors
    /// See [`Host::load_with`].
    pub fn load(&self, bytes: &[u8], manifest: Manifest) -> Result<String, CallError> {
        self.load_with(bytes, manifest, &WasiOptions::default())
    }

    /// [`Host::load`] with what the component's WASI imports are given.
    ///
    /// # Errors
    /// Another component has the same name, the bytes are not a component, it imports
    /// something the host does not provide, it exports neither
    /// `airssys:core/component-lifecycle` nor `wasi:cli/run`, or it needs more than a limit
    /// allows (the error names the limit).
    pub fn load_with(&self, bytes: &[u8], manifest: Manifest, wasi: &WasiOptions) -> Result<String, CallError> {
        let name = manifest.component.name.clone();
        if self.hub.slot(&name).is_some() {
            return Err(CallError::Load(format!("a component named `{name}` is already loaded")));
        }
        // One digest of the bytes: the compilation cache's key and the audit log's start line.
        let digest = crate::digest::Digest::of(bytes);
        let (component, outcome) = self
            .runtime
            .compile_digested(bytes, &digest)
            .map_err(|e| CallError::Load(format!("`{name}`: {e:#}")))?;
        let note = match outcome {
            Some(super::CacheOutcome::Refused(why)) => Some(format!("the cached compilation {why}; compiled again")),
            Some(super::CacheOutcome::NotStored(why)) => Some(format!("the compilation was not cached: {why}")),
            _ => None,
        };
        if let Some(note) = note {
            self.cache_notes
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .push(format!("`{name}`: {note}"));
        }
        let limits = self.runtime.limits_for(&manifest);
        if !self.runtime.config.fuel_metering && limits.fuel.is_some() {
            return Err(CallError::Load(format!(
                "`{name}` has a fuel limit, but this runtime does not meter fuel (RuntimeConfig::fuel_metering)"
            )));
        }
        let policy = self.runtime.policy_for(manifest);
        let version = policy.manifest.component.version.as_ref().map(ToString::to_string);
        let mut store = self.runtime.store_in(policy, &self.hub, wasi);
        let audit = store.data().guard.audit.clone();
        let trail = Arc::clone(&store.data().guard.trail);
        audit
            .write_start(&Start {
                time: audit::now_rfc3339(),
                run: trail.run(),
                component: &name,
                version,
                digest: digest.hex(),
                mode: self.runtime.config.mode,
                policies: self.runtime.policies_in_force(),
            })
            .map_err(|e| CallError::Load(format!("`{name}`: the audit log cannot be written: {e}")))?;
        let exports = match instantiate(&self.runtime, &mut store, &component, &name, &limits) {
            Ok(exports) => exports,
            Err(why) => {
                // The start line has its end: the component never ran.
                let _ = audit.write_end(&End {
                    time: audit::now_rfc3339(),
                    run: trail.run(),
                    component: &name,
                    mode: self.runtime.config.mode,
                    counts: trail.counts(),
                    outcome: "not-loaded",
                    detail: Some(&why),
                    exit: None,
                });
                return Err(CallError::Load(why));
            }
        };
        self.hub.insert(Slot::new(name.clone(), store, exports));
        Ok(name)
    }

    /// Whether the loaded component `name` is a WASI command (it exports `wasi:cli/run`).
    pub fn is_command(&self, name: &str) -> bool {
        self.hub.slot(name).is_some_and(|slot| slot.is_command())
    }

    /// Runs a WASI command: calls its `wasi:cli/run`.
    ///
    /// # Errors
    /// See [`CallError`]; a component that is not a command is `Unavailable`.
    pub fn run_command(&self, component: &str) -> Result<Exit, CallError> {
        self.hub.run_command(component)
    }

    /// The ids of the loaded components, in load order.
    pub fn components(&self) -> Vec<String> {
        self.hub.names()
    }

    /// Calls `init` with the manifest's `[config]`.
    ///
    /// # Errors
    /// See [`CallError`].
    pub fn init(&self, component: &str) -> Result<(), CallError> {
        let result = self.hub.call(component, false, None, Phase::Init, |store, bindings| {
            let config = store.data().guard.policy.manifest.config.clone();
            bindings.airssys_core_component_lifecycle().call_init(store, &config)
        });
        self.settle(component, Phase::Init, result)
    }

    /// Calls `execute` with `input` and returns its output.
    ///
    /// # Errors
    /// See [`CallError`].
    pub fn execute(&self, component: &str, input: &[u8]) -> Result<Vec<u8>, CallError> {
        let result = self
            .hub
            .call(component, false, None, Phase::Execute, |store, bindings| {
                bindings.airssys_core_component_lifecycle().call_execute(store, input)
            });
        self.settle(component, Phase::Execute, result)
    }

    /// Calls `shutdown`.
    ///
    /// # Errors
    /// See [`CallError`].
    pub fn shutdown(&self, component: &str) -> Result<(), CallError> {
        let result = self
            .hub
            .call(component, false, None, Phase::Shutdown, |store, bindings| {
                bindings.airssys_core_component_lifecycle().call_shutdown(store)
            });
        self.settle(component, Phase::Shutdown, result)
    }

    /// Delivers the requests made with `send-request` (and their callbacks) until none is left,
    /// then maps the call's own outcome.
    fn settle<T>(
        &self,
        component: &str,
        phase: Phase,
        result: Result<Result<T, ComponentError>, CallError>,
    ) -> Result<T, CallError> {
        self.hub.deliver_requests();
        match result? {
            Ok(value) => Ok(value),
            Err(error) => {
                let error = describe_component_error(&error);
                if let Some(slot) = self.hub.slot(component) {
                    slot.failed(|| format!("{} returned an error: {error}", phase.as_str()));
                }
                Err(CallError::Component {
                    component: component.to_string(),
                    error,
                })
            }
        }
    }

    /// Writes the `end` line of every loaded component (in load order): the decision lines
    /// written for it by verdict, `ok` or `failed` with what failed first, and the run's
    /// `exit` code when the caller gives one. Call it once, when the run is over; a log without
    /// a component's `end` line is the log of a host that stopped before it finished.
    ///
    /// # Errors
    /// The audit log cannot be written.
    pub fn finish(&self, exit: Option<i32>) -> std::io::Result<()> {
        let audit = &self.runtime.config.audit;
        for slot in self.hub.slots() {
            let failure = slot.failure();
            audit.write_end(&End {
                time: audit::now_rfc3339(),
                run: self.runtime.run_id(),
                component: slot.name(),
                mode: self.runtime.config.mode,
                counts: slot.trail().counts(),
                outcome: if failure.is_some() { "failed" } else { "ok" },
                detail: failure.as_deref(),
                exit,
            })?;
        }
        audit.flush()
    }
}

// Hosts share a runtime and its loaded components across threads.
const _: () = {
    const fn send_and_sync<T: Send + Sync>() {}
    send_and_sync::<Runtime>();
    send_and_sync::<Host>();
};

/// Instantiates `component` in `store` and finds what it exports for the host to call; why
/// not, in words that name what to change.
fn instantiate(
    runtime: &Runtime,
    store: &mut Store<InstanceState>,
    component: &Component,
    name: &str,
    limits: &RunLimits,
) -> Result<Exports, String> {
    let instance = runtime
        .linker()
        .instantiate(&mut *store, component)
        .map_err(|e| format!("`{name}` cannot be instantiated: {}", explain_instantiation(&e, limits)))?;
    if let Ok(bindings) = FullComponent::new(&mut *store, &instance) {
        return Ok(Exports::Lifecycle(bindings));
    }
    match wasmtime_wasi::p2::bindings::sync::Command::new(&mut *store, &instance) {
        Ok(command) => Ok(Exports::Command(command)),
        Err(_) => Err(format!(
            "`{name}` exports neither `airssys:core/component-lifecycle@1.0.0` (an airssys component) nor `wasi:cli/run@0.2.x` (a WASI command), so there is nothing to call"
        )),
    }
}

/// Why instantiation failed, in words that name what to change: a count limit with the option
/// that raises it, an import the host does not serve.
fn explain_instantiation(error: &wasmtime::Error, limits: &RunLimits) -> String {
    let text = format!("{error:#}");
    let limit = [
        (
            "instance count too high",
            "core instances",
            limits.instances,
            "instances",
        ),
        ("table count too high", "tables", limits.tables, "tables"),
        ("memory count too high", "memories", limits.memories, "memories"),
    ]
    .into_iter()
    .find(|(needle, ..)| text.contains(needle));
    if let Some((_, what, max, name)) = limit {
        return format!(
            "{text}: it creates more {what} than the limit of {max}; raise it with the manifest's `[limits] {name} = N` or `run --{name} N` (RunLimits::{name} in the library)"
        );
    }
    if text.contains("matching implementation was not found in the linker") {
        return format!(
            "{text} (the host serves the airssys catalogue and WASI 0.2: cli, clocks, random, io, filesystem, sockets)"
        );
    }
    text
}
