//! The proxy guest: a real component, generated here from the catalogue, that imports every
//! host interface (the three extensions and `host-services`) and exports a copy of each,
//! `test:proxy/<interface>`, whose functions forward their arguments to the import of the same
//! name and return its result. Tests call the exports with [`Val`] arguments, so each call
//! crosses the canonical ABI twice (host -> guest -> host) exactly as a compiled guest's
//! would: the guest lowers the arguments, the host lifts them, the guard decides, and the
//! result is lowered back into guest memory.
//!
//! The core module is written out as WAT from the lowered signatures that `wit-parser`
//! computes: a forwarder per function (allocating the import's return area when it has one,
//! and dropping borrowed handles before it returns, as the component model requires), a bump
//! allocator behind `cabi_realloc`, and one page of memory to start.
//!
//! Use: `let mut p = Proxy::of(FS, manifest_toml); let r = p.call("filesystem.read-file",
//! &[s("/tmp/x")]); assert!(is_denied(&r)); p.audit()` (the audit lines as JSON values).
//! `Proxy::new` proxies every interface at once.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex, OnceLock};

use airssys_wasm::manifest::Manifest;
use airssys_wasm::orgpolicy::PolicySet;
use airssys_wasm::policy::Env;
use airssys_wasm::runtime::{AuditLog, InstanceState, Mode, Runtime, RuntimeConfig, services::LogSink};
use wasmtime::Store;
use wasmtime::component::{Component, Instance, Val};
use wit_parser::abi::{FlatTypes, WasmType};
use wit_parser::{
    Handle, LiftLowerAbi, ManglingAndAbi, Resolve, Type, TypeDefKind, TypeId, WasmExport, WasmExportKind, WasmImport,
    WorldItem, WorldKey,
};

use crate::support::Captured;

/// The interfaces the proxy copies: (package, interface).
const PROXIED: &[(&str, &str)] = &[
    ("airssys:ext-filesystem", "filesystem"),
    ("airssys:ext-filesystem", "metadata"),
    ("airssys:ext-network", "socket"),
    ("airssys:ext-network", "connection"),
    ("airssys:ext-process", "lifecycle"),
    ("airssys:ext-process", "signals"),
    ("airssys:core", "host-services"),
];

const MANGLING: ManglingAndAbi = ManglingAndAbi::Legacy(LiftLowerAbi::Sync);

/// Every return area fits in this many bytes (the largest, `child-info`, needs under 64).
const RETURN_AREA: u32 = 256;

/// The WIT of the proxy package: each proxied interface's body with its `use types.{...}`
/// pointed at the catalogue's `types` interface.
fn proxy_wit(proxied: &[(&str, &str)]) -> String {
    let catalogue = airssys_wasm::catalogue::Catalogue::embedded().unwrap();
    let mut wit = String::from("package test:proxy;\n");
    let mut world = String::from("world proxy {\n");
    for (package, interface) in proxied {
        let header = format!("interface {interface} {{");
        let (_, text) = catalogue
            .files
            .iter()
            .find(|(_, text)| text.contains(&header) && text.contains(&format!("package {package}@")))
            .unwrap_or_else(|| panic!("no WIT file has {header}"));
        let start = text.find(&header).unwrap();
        let body = &text[start..];
        let end = body.rfind('}').unwrap();
        let body = body[..=end].replace("use types.", &format!("use {package}/types@1.0.0."));
        wit.push_str(&body);
        wit.push('\n');
        writeln!(
            world,
            "    import {package}/{interface}@1.0.0;\n    export {interface};"
        )
        .unwrap();
    }
    world.push_str("}\n");
    wit + &world
}

/// The resource a handle type refers to, through `use` aliases.
fn resource_of(resolve: &Resolve, mut id: TypeId) -> TypeId {
    loop {
        match &resolve.types[id].kind {
            TypeDefKind::Type(Type::Id(next)) => id = *next,
            _ => return id,
        }
    }
}

/// If `ty` is `borrow<r>` or `option<borrow<r>>`, the resource `r` and whether it is optional.
fn borrowed(resolve: &Resolve, ty: &Type) -> Option<(TypeId, bool)> {
    let Type::Id(id) = ty else { return None };
    match &resolve.types[*id].kind {
        TypeDefKind::Handle(Handle::Borrow(r)) => Some((resource_of(resolve, *r), false)),
        TypeDefKind::Option(inner) => borrowed(resolve, inner).map(|(r, _)| (r, true)),
        TypeDefKind::Type(inner) => borrowed(resolve, inner),
        _ => None,
    }
}

fn wasm_ty(ty: &WasmType) -> &'static str {
    match ty {
        WasmType::I32 | WasmType::Pointer | WasmType::Length => "i32",
        WasmType::I64 | WasmType::PointerOrI64 => "i64",
        WasmType::F32 => "f32",
        WasmType::F64 => "f64",
    }
}

fn push_sig(wat: &mut String, params: &[WasmType], results: &[WasmType]) {
    for p in params {
        write!(wat, " (param {})", wasm_ty(p)).unwrap();
    }
    for r in results {
        write!(wat, " (result {})", wasm_ty(r)).unwrap();
    }
}

/// The core module of the proxy, as WAT.
fn proxy_core_wat(resolve: &Resolve, world: wit_parser::WorldId) -> String {
    let w = &resolve.worlds[world];
    let mut wat = String::from("(module\n");
    // Imports: every function of every imported interface, and a drop for every resource.
    let mut imported_funcs: BTreeMap<(String, String), String> = BTreeMap::new();
    let mut drops: BTreeMap<TypeId, String> = BTreeMap::new();
    for (key, item) in &w.imports {
        let WorldItem::Interface { id, .. } = item else {
            continue;
        };
        let iface = &resolve.interfaces[*id];
        for (name, func) in &iface.functions {
            let sig = resolve.wasm_signature(MANGLING.import_variant(), func);
            let (module, field) = resolve.wasm_import_name(
                MANGLING,
                WasmImport::Func {
                    interface: Some(key),
                    func,
                },
            );
            let label = format!("$imp{}", imported_funcs.len());
            write!(wat, "  (import {module:?} {field:?} (func {label}").unwrap();
            push_sig(&mut wat, &sig.params, &sig.results);
            wat.push_str("))\n");
            imported_funcs.insert((iface.name.clone().unwrap(), name.clone()), label);
        }
        for (_, ty) in &iface.types {
            if resolve.types[*ty].kind != TypeDefKind::Resource {
                continue;
            }
            let (module, field) = resolve.wasm_import_name(
                MANGLING,
                WasmImport::ResourceIntrinsic {
                    interface: Some(key),
                    resource: *ty,
                    intrinsic: wit_parser::ResourceIntrinsic::ImportedDrop,
                },
            );
            let label = format!("$drop{}", drops.len());
            writeln!(wat, "  (import {module:?} {field:?} (func {label} (param i32)))").unwrap();
            drops.insert(*ty, label);
        }
    }
    wat.push_str(
        r#"  (memory (export "memory") 1)
  (global $heap (mut i32) (i32.const 1024))
  (func $alloc (param $size i32) (param $align i32) (result i32)
    (local $ptr i32) (local $end i32)
    (local.set $ptr (i32.and
      (i32.add (global.get $heap) (i32.sub (local.get $align) (i32.const 1)))
      (i32.sub (i32.const 0) (local.get $align))))
    (local.set $end (i32.add (local.get $ptr) (local.get $size)))
    (if (i32.gt_u (local.get $end) (i32.mul (memory.size) (i32.const 65536)))
      (then
        (if (i32.eq (i32.const -1)
              (memory.grow (i32.add (i32.shr_u (i32.sub (local.get $end) (i32.mul (memory.size) (i32.const 65536)))
                                               (i32.const 16))
                                    (i32.const 1))))
          (then unreachable))))
    (global.set $heap (local.get $end))
    (local.get $ptr))
  (func (export "cabi_realloc") (param $old i32) (param $old_size i32) (param $align i32) (param $new_size i32) (result i32)
    (local $new i32)
    (local.set $new (call $alloc (local.get $new_size) (local.get $align)))
    (if (local.get $old)
      (then (memory.copy (local.get $new) (local.get $old)
              (select (local.get $old_size) (local.get $new_size) (i32.lt_u (local.get $old_size) (local.get $new_size))))))
    (local.get $new))
  (func (export "_initialize"))
"#,
    );
    // Exports: a forwarder per function of every exported interface.
    for (key, item) in &w.exports {
        let WorldItem::Interface { id, .. } = item else {
            continue;
        };
        let iface = &resolve.interfaces[*id];
        let iface_name = iface.name.clone().unwrap();
        for (name, func) in &iface.functions {
            let import = &imported_funcs[&(iface_name.clone(), name.clone())];
            let export_sig = resolve.wasm_signature(MANGLING.export_variant(), func);
            let import_sig = resolve.wasm_signature(MANGLING.import_variant(), func);
            let export_name = resolve.wasm_export_name(
                MANGLING,
                WasmExport::Func {
                    interface: Some(key as &WorldKey),
                    func,
                    kind: WasmExportKind::Normal,
                },
            );
            write!(wat, "  (func (export {export_name:?})").unwrap();
            push_sig(&mut wat, &export_sig.params, &export_sig.results);
            wat.push_str(" (local $ret i32)\n");
            let n = export_sig.params.len();
            if import_sig.retptr {
                writeln!(
                    wat,
                    "    (local.set $ret (call $alloc (i32.const {RETURN_AREA}) (i32.const 8)))"
                )
                .unwrap();
            }
            wat.push_str("    (call ");
            wat.push_str(import);
            for i in 0..n {
                write!(wat, " (local.get {i})").unwrap();
            }
            if import_sig.retptr {
                wat.push_str(" (local.get $ret)");
            }
            wat.push_str(")\n");
            // Borrowed handles lent to this call must be dropped before it returns.
            if !export_sig.indirect_params {
                let mut flat = 0usize;
                for param in &func.params {
                    let ty = &param.ty;
                    if let Some((resource, optional)) = borrowed(resolve, ty) {
                        let drop = &drops[&resource];
                        if optional {
                            writeln!(
                                wat,
                                "    (if (local.get {flat}) (then (call {drop} (local.get {}))))",
                                flat + 1
                            )
                            .unwrap();
                        } else {
                            writeln!(wat, "    (call {drop} (local.get {flat}))").unwrap();
                        }
                    }
                    let mut storage = [WasmType::I32; 32];
                    let mut parts = FlatTypes::new(&mut storage);
                    assert!(resolve.push_flat(ty, &mut parts), "parameter too wide to flatten");
                    flat += parts.to_vec().len();
                }
            }
            if import_sig.retptr {
                wat.push_str("    (local.get $ret)\n");
            }
            wat.push_str("  )\n");
        }
    }
    wat.push_str(")\n");
    wat
}

/// Only `host-services`, for tests that need no extension.
pub const SERVICES_ONLY: &[(&str, &str)] = &[("airssys:core", "host-services")];
/// The filesystem extension only (`Proxy::of(FS, toml)`): instantiates with just that host linked.
pub const FS: &[(&str, &str)] = &[
    ("airssys:ext-filesystem", "filesystem"),
    ("airssys:ext-filesystem", "metadata"),
];
/// The network extension only.
pub const NET: &[(&str, &str)] = &[("airssys:ext-network", "socket"), ("airssys:ext-network", "connection")];
/// The process extension only.
pub const PROCESS: &[(&str, &str)] = &[("airssys:ext-process", "lifecycle"), ("airssys:ext-process", "signals")];

/// The proxy component's bytes for every host interface.
pub fn proxy_component() -> Vec<u8> {
    proxy_component_of(PROXIED)
}

/// A proxy of the interfaces `proxied` only.
pub fn proxy_component_of(proxied: &[(&str, &str)]) -> Vec<u8> {
    {
        let (resolve, world) = crate::common::resolve_world(&proxy_wit(proxied), "proxy");
        let wat = proxy_core_wat(&resolve, world);
        let module = wat::parse_str(&wat).unwrap_or_else(|e| panic!("proxy WAT: {e}\n{wat}"));
        crate::common::encode_core(module, &resolve, world)
    }
}

/// One runtime (one engine) for the whole test binary, with no organisation policy.
pub fn runtime() -> &'static Runtime {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        Runtime::new(RuntimeConfig {
            log: LogSink::disabled(),
            env: Env::default(),
            policies: PolicySet::default(),
            ..RuntimeConfig::default()
        })
        .unwrap()
    })
}

/// The proxy of `proxied`, compiled once per test binary.
fn proxy_compiled(proxied: &'static [(&'static str, &'static str)]) -> Component {
    static COMPILED: OnceLock<Mutex<Vec<(usize, Component)>>> = OnceLock::new();
    let cache = COMPILED.get_or_init(Default::default);
    let key = proxied.as_ptr() as usize;
    let mut cache = cache.lock().unwrap_or_else(|p| p.into_inner());
    if let Some((_, c)) = cache.iter().find(|(k, _)| *k == key) {
        return c.clone();
    }
    let compiled = runtime().compile(&proxy_component_of(proxied)).unwrap();
    cache.push((key, compiled.clone()));
    compiled
}

/// A valid manifest from TOML (panics with the diagnostics otherwise).
pub fn manifest(toml: &str) -> Manifest {
    Manifest::parse("Component.toml", toml)
        .into_valid()
        .unwrap_or_else(|d| panic!("invalid test manifest: {d:#?}"))
}

/// An instance of the proxy guest under a manifest.
pub struct Proxy {
    pub store: Store<InstanceState>,
    instance: Instance,
    pub audit: Captured,
}

impl Proxy {
    /// An enforcing instance under the manifest `toml`.
    pub fn new(toml: &str) -> Proxy {
        Self::with_mode(toml, Mode::Enforce)
    }

    pub fn with_mode(toml: &str, mode: Mode) -> Proxy {
        Self::with_policies(toml, mode, &PolicySet::default())
    }

    /// An instance under `toml` and the organisation policies `policies`.
    pub fn with_policies(toml: &str, mode: Mode, policies: &PolicySet) -> Proxy {
        Self::build(PROXIED, toml, mode, policies)
    }

    /// An enforcing instance of a proxy of the interfaces `proxied` only (`FS`, `NET`, `PROCESS`,
    /// `SERVICES_ONLY`), under the manifest `toml`.
    pub fn of(proxied: &'static [(&'static str, &'static str)], toml: &str) -> Proxy {
        Self::build(proxied, toml, Mode::Enforce, &PolicySet::default())
    }

    /// [`Proxy::of`] in another mode or with organisation policies.
    pub fn of_with(
        proxied: &'static [(&'static str, &'static str)],
        toml: &str,
        mode: Mode,
        policies: &PolicySet,
    ) -> Proxy {
        Self::build(proxied, toml, mode, policies)
    }

    /// An enforcing instance of the `host-services`-only proxy.
    pub fn services(toml: &str) -> Proxy {
        Self::build(SERVICES_ONLY, toml, Mode::Enforce, &PolicySet::default())
    }

    fn build(proxied: &'static [(&'static str, &'static str)], toml: &str, mode: Mode, policies: &PolicySet) -> Proxy {
        Self::build_on(runtime(), &proxy_compiled(proxied), toml, mode, policies)
    }

    /// An enforcing instance of `compiled` (a proxy compiled for `rt`'s engine) in a runtime of
    /// the test's own (other default limits, for example), under the manifest `toml`.
    pub fn on(rt: &Runtime, compiled: &Component, toml: &str) -> Proxy {
        Self::build_on(rt, compiled, toml, Mode::Enforce, &PolicySet::default())
    }

    fn build_on(rt: &Runtime, compiled: &Component, toml: &str, mode: Mode, policies: &PolicySet) -> Proxy {
        let policy = Arc::new(airssys_wasm::runtime::ComponentPolicy::new(
            manifest(toml),
            policies,
            Env::default(),
            mode,
        ));
        let audit = Captured::default();
        let mut store = rt.store_with(policy, AuditLog::to_writer(audit.clone()));
        let instance = rt.linker().instantiate(&mut store, compiled).unwrap();
        Proxy { store, instance, audit }
    }

    /// Calls `interface.function` (`"filesystem.open"`) through the guest and returns its
    /// result (unit results come back as an empty record).
    pub fn try_call(&mut self, op: &str, args: &[Val]) -> wasmtime::Result<Val> {
        let (iface, func) = op.split_once('.').expect("interface.function");
        let outer = self
            .instance
            .get_export_index(&mut self.store, None, &format!("test:proxy/{iface}"))
            .unwrap_or_else(|| panic!("the proxy exports no {iface}"));
        let index = self
            .instance
            .get_export_index(&mut self.store, Some(&outer), func)
            .unwrap_or_else(|| panic!("the proxy exports no {op}"));
        let f = self.instance.get_func(&mut self.store, index).unwrap();
        let n = f.ty(&self.store).results().len();
        let mut results = vec![Val::Bool(false); n];
        Runtime::arm(&mut self.store);
        f.call(&mut self.store, args, &mut results)?;
        Ok(results.pop().unwrap_or(Val::Record(Vec::new())))
    }

    /// [`Proxy::try_call`], panicking on a trap (a denial is never a trap).
    pub fn call(&mut self, op: &str, args: &[Val]) -> Val {
        self.try_call(op, args)
            .unwrap_or_else(|e| panic!("{op} trapped: {e:?}"))
    }

    /// The audit lines so far.
    pub fn audit(&self) -> Vec<serde_json::Value> {
        self.audit.lines()
    }
}

/// (operation, resource, verdict) of each audit line of `p`.
pub fn lines(p: &Proxy) -> Vec<(String, String, String)> {
    p.audit()
        .iter()
        .map(|l| {
            let f = |k: &str| l[k].as_str().unwrap().to_string();
            (f("operation"), f("resource"), f("verdict"))
        })
        .collect()
}

/// Asserts a permission-denied result, and an audit line of `p` that denies `resource`.
#[track_caller]
pub fn assert_denied(p: &Proxy, r: &Val, resource: &str) {
    assert!(is_denied(r), "expected permission-denied, got {r:?}");
    let denied: Vec<_> = lines(p).into_iter().filter(|l| l.2 == "denied").collect();
    assert!(
        denied.iter().any(|l| l.1 == resource),
        "no denied audit line for {resource}: {denied:?}"
    );
}

/// A string argument.
pub fn s(text: &str) -> Val {
    Val::String(text.to_string())
}

/// The error case name of a `result` value (`"permission-denied"`), if it is an error.
pub fn err_case(v: &Val) -> Option<&str> {
    match v {
        Val::Result(Err(Some(e))) => match &**e {
            Val::Variant(case, _) => Some(case.as_str()),
            Val::Enum(case) => Some(case.as_str()),
            _ => Some("?"),
        },
        Val::Result(Err(None)) => Some(""),
        _ => None,
    }
}

/// Whether a result is the operation's `permission-denied` error.
pub fn is_denied(v: &Val) -> bool {
    err_case(v) == Some("permission-denied")
}

/// The ok payload of a result (panics with the error otherwise); `Val::Tuple(vec![])` for
/// `result<_, e>`.
pub fn ok(v: Val) -> Val {
    match v {
        Val::Result(Ok(Some(x))) => *x,
        Val::Result(Ok(None)) => Val::Tuple(Vec::new()),
        other => panic!("expected ok, got {other:?}"),
    }
}

#[test]
fn the_proxy_forwards_every_host_operation() {
    let (resolve, world) = crate::common::resolve_world(&proxy_wit(PROXIED), "proxy");
    let exported: usize = resolve.worlds[world]
        .exports
        .values()
        .map(|item| match item {
            WorldItem::Interface { id, .. } => resolve.interfaces[*id].functions.len(),
            _ => 0,
        })
        .sum();
    assert_eq!(exported, 100 + 8, "100 extension operations and 8 host services");
    // The component is valid.
    wasmparser::Validator::new().validate_all(&proxy_component()).unwrap();
}

#[test]
fn the_services_proxy_calls_the_host() {
    let mut proxy = Proxy::services("[component]\nname = \"proxy\"\nversion = \"1.0.0\"\n");
    let now = proxy.call("host-services.current-time-millis", &[]);
    assert!(matches!(now, Val::U64(ms) if ms > 1_700_000_000_000), "{now:?}");
}

/// A `list<u8>` argument.
pub fn bytes(data: &[u8]) -> Val {
    Val::List(data.iter().map(|b| Val::U8(*b)).collect())
}

/// The bytes of a `list<u8>` value.
pub fn unbytes(v: &Val) -> Vec<u8> {
    match v {
        Val::List(items) => items
            .iter()
            .map(|b| match b {
                Val::U8(b) => *b,
                other => panic!("not a byte: {other:?}"),
            })
            .collect(),
        other => panic!("not a list: {other:?}"),
    }
}

/// A field of a record value.
pub fn field<'a>(record: &'a Val, name: &str) -> &'a Val {
    match record {
        Val::Record(fields) => &fields.iter().find(|(k, _)| k == name).unwrap().1,
        other => panic!("not a record: {other:?}"),
    }
}
