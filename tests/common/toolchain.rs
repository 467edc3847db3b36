//! Guests built by real toolchains from the sources in `tests/guests/`, inside the tests:
//!
//! - C programs: Debian's clang, lld and wasi-libc (`--target=wasm32-wasi`, sysroot `/usr`),
//!   made components with the WASI preview1 adapter (`wasi-preview1-component-adapter-provider`)
//!   by `wit_component::ComponentEncoder`, as `wasm-tools component new --adapt` does;
//! - an airssys component in C: wit-bindgen's C generator over the catalogue's world, clang,
//!   and the reactor adapter;
//! - a Python airssys component: componentize-py (PyPI);
//! - a JavaScript airssys component: componentize-js (npm), installed by the tests themselves
//!   with `npm ci` from the lock file in `tests/guests/js/`.
//!
//! `.ci/run` installs every tool. A missing tool fails the test with the command that would
//! install it: a real-toolchain test that silently skips proves nothing.
//!
//! Builds are cached in the target directory (`CARGO_TARGET_TMPDIR/guests`) under a digest of
//! everything that decides their bytes (sources, flags, tool versions, adapter), written to a
//! temporary file and renamed, so parallel tests share them safely.
#![allow(dead_code)]

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::process::Command;

use wasi_preview1_component_adapter_provider as adapters;

/// The directory of the guest sources.
pub fn guests_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/guests")
}

/// Which preview1 adapter a C program is made a component with.
#[derive(Clone, Copy, Debug)]
pub enum Adapter {
    /// `wasi_snapshot_preview1.command.wasm`: exports `wasi:cli/run`, which calls `_start`.
    Command,
    /// `wasi_snapshot_preview1.reactor.wasm`: the program's own exports only.
    Reactor,
}

impl Adapter {
    pub fn bytes(self) -> &'static [u8] {
        match self {
            Adapter::Command => adapters::WASI_SNAPSHOT_PREVIEW1_COMMAND_ADAPTER,
            Adapter::Reactor => adapters::WASI_SNAPSHOT_PREVIEW1_REACTOR_ADAPTER,
        }
    }
}

fn run(cmd: &mut Command, what: &str, install: &str) -> std::process::Output {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {what} ({cmd:?}): {e}; install it: {install}"));
    assert!(
        out.status.success(),
        "{what} failed ({cmd:?}):\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

const CLANG_INSTALL: &str = "apt-get install clang lld wasi-libc libclang-rt-dev-wasm32";

fn clang_version() -> String {
    static V: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    V.get_or_init(|| {
        let out = run(Command::new("clang").arg("--version"), "clang", CLANG_INSTALL);
        String::from_utf8_lossy(&out.stdout).into_owned()
    })
    .clone()
}

/// The cached bytes for `key`, or `build`'s, written to the cache.
fn cached(name: &str, key: &impl Hash, build: impl FnOnce(&Path) -> Vec<u8>) -> Vec<u8> {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    key.hash(&mut h);
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("guests");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{name}-{:016x}.wasm", h.finish()));
    if let Ok(bytes) = std::fs::read(&path) {
        return bytes;
    }
    let work = tempfile::tempdir_in(&dir).unwrap();
    let bytes = build(work.path());
    let tmp = work.path().join("out.wasm");
    std::fs::write(&tmp, &bytes).unwrap();
    std::fs::rename(&tmp, &path).unwrap();
    bytes
}

/// `tests/guests/c/<name>.c` compiled by clang against wasi-libc: a preview1 core module.
pub fn c_core(name: &str, exec_model: Adapter) -> Vec<u8> {
    let src = guests_dir().join(format!("c/{name}.c"));
    let source = std::fs::read(&src).unwrap_or_else(|e| panic!("{}: {e}", src.display()));
    let flags = c_flags(exec_model);
    cached(&format!("c-{name}-core"), &(&source, &flags, clang_version()), |dir| {
        let out = dir.join("core.wasm");
        run(
            Command::new("clang").args(&flags).arg(&src).arg("-o").arg(&out),
            "clang",
            CLANG_INSTALL,
        );
        std::fs::read(out).unwrap()
    })
}

fn c_flags(exec_model: Adapter) -> Vec<&'static str> {
    let mut flags = vec!["--target=wasm32-wasi", "--sysroot=/usr", "-O2", "-Wall", "-Werror"];
    if let Adapter::Reactor = exec_model {
        flags.push("-mexec-model=reactor");
    }
    flags
}

/// A core module made a component with the preview1 adapter.
pub fn componentize(core: &[u8], adapter: Adapter) -> Vec<u8> {
    wit_component::ComponentEncoder::default()
        .module(core)
        .unwrap()
        .adapter(adapters::WASI_SNAPSHOT_PREVIEW1_ADAPTER_NAME, adapter.bytes())
        .unwrap()
        .validate(true)
        .encode()
        .unwrap()
}

/// `tests/guests/c/<name>.c` as a WASI command component.
pub fn c_command(name: &str) -> Vec<u8> {
    componentize(&c_core(name, Adapter::Command), Adapter::Command)
}

/// The catalogue's packages resolved together (the same WIT the host links).
pub fn catalogue_resolve() -> wit_parser::Resolve {
    let mut resolve = wit_parser::Resolve::default();
    let wit = Path::new(env!("CARGO_MANIFEST_DIR")).join("wit");
    // Dependencies first: the core package refers to the extensions in its worlds.
    for pkg in ["ext-filesystem", "ext-network", "ext-process", "core"] {
        resolve.push_dir(wit.join(pkg)).unwrap();
    }
    resolve
}

/// `tests/guests/c/airssys/<name>.c`: an airssys component written in C against the world
/// `airssys:core/<world>` with wit-bindgen's C bindings, built as a reactor with the preview1
/// adapter (wasi-libc's stdio goes through it).
pub fn airssys_c(name: &str, world: &str) -> Vec<u8> {
    let src = guests_dir().join(format!("c/airssys/{name}.c"));
    let source = std::fs::read(&src).unwrap_or_else(|e| panic!("{}: {e}", src.display()));
    let wit: Vec<(String, String)> = airssys_wasm::catalogue::Catalogue::embedded().unwrap().files;
    let flags = c_flags(Adapter::Reactor);
    let key = (&source, &wit, world, &flags, clang_version(), "wit-bindgen-c 0.60.0");
    let core = cached(&format!("airssys-c-{name}-core"), &key, |dir| {
        let mut resolve = catalogue_resolve();
        let pkg = resolve
            .packages
            .iter()
            .find(|(_, p)| p.name.namespace == "airssys" && p.name.name == "core")
            .map(|(id, _)| id)
            .unwrap();
        let world_id = resolve.select_world(&[pkg], Some(world)).unwrap();
        let mut files = wit_bindgen_core::Files::default();
        wit_bindgen_c::Opts::default()
            .build()
            .generate(&mut resolve, world_id, &mut files)
            .unwrap();
        let mut objects = Vec::new();
        for (file, contents) in files.iter() {
            let path = dir.join(file);
            std::fs::write(&path, contents).unwrap();
            if file.ends_with(".c") || file.ends_with(".o") {
                objects.push(path);
            }
        }
        let out = dir.join("core.wasm");
        run(
            Command::new("clang")
                .args(&flags)
                .arg("-I")
                .arg(dir)
                .arg(&src)
                .args(&objects)
                .arg("-o")
                .arg(&out),
            "clang",
            CLANG_INSTALL,
        );
        std::fs::read(out).unwrap()
    });
    componentize(&core, Adapter::Reactor)
}

/// WASI 0.2's WIT packages (io, clocks, random, cli, filesystem, sockets, http), as
/// wasmtime-wasi-http ships them.
fn wasi_wit_deps() -> PathBuf {
    super::crate_dir::dependency_dir("wasmtime-wasi-http").join("wit/deps")
}

/// `tests/guests/python/<name>/app.py` made an airssys component for `airssys:core/<world>`
/// by componentize-py. A `world.wit` beside the app adds worlds to the `airssys:core` package
/// (with WASI 0.2's packages available to import).
pub fn python(name: &str, world: &str) -> Vec<u8> {
    const INSTALL: &str = "pip install componentize-py";
    let app_dir = guests_dir().join(format!("python/{name}"));
    let source = std::fs::read(app_dir.join("app.py")).unwrap();
    let extra_world = std::fs::read_to_string(app_dir.join("world.wit")).ok();
    let version = run(
        Command::new("componentize-py").arg("--version"),
        "componentize-py",
        INSTALL,
    )
    .stdout;
    let wit: Vec<(String, String)> = airssys_wasm::catalogue::Catalogue::embedded().unwrap().files;
    cached(
        &format!("python-{name}"),
        &(&source, &wit, world, &version, &extra_world),
        |dir| {
            // componentize-py writes `__pycache__` beside the app: build from a copy, so that the
            // source tree is not written to.
            let app = dir.join("app");
            std::fs::create_dir_all(&app).unwrap();
            std::fs::write(app.join("app.py"), &source).unwrap();
            let witdir = airssys_wit_dir(dir);
            if let Some(extra) = &extra_world {
                std::fs::write(witdir.join("extra-world.wit"), extra).unwrap();
                for entry in std::fs::read_dir(wasi_wit_deps()).unwrap() {
                    let path = entry.unwrap().path();
                    let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
                    let to = witdir.join("deps").join(format!("wasi-{stem}"));
                    std::fs::create_dir_all(&to).unwrap();
                    std::fs::copy(&path, to.join(path.file_name().unwrap())).unwrap();
                }
            }
            componentize_py(&witdir, &format!("airssys:core/{world}"), &app, dir)
        },
    )
}

/// `tests/guests/python/<name>/app.py` made a WASI command (`wasi:cli/command`, as
/// wasmtime-wasi-http's WIT spells it) by componentize-py: a component `wasmtime run` runs too.
pub fn python_command(name: &str) -> Vec<u8> {
    const INSTALL: &str = "pip install componentize-py";
    let source = std::fs::read(guests_dir().join(format!("python/{name}/app.py"))).unwrap();
    let version = run(
        Command::new("componentize-py").arg("--version"),
        "componentize-py",
        INSTALL,
    )
    .stdout;
    let deps: Vec<(String, Vec<u8>)> = std::fs::read_dir(wasi_wit_deps())
        .unwrap()
        .map(|e| {
            let path = e.unwrap().path();
            (
                path.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&path).unwrap(),
            )
        })
        .collect();
    let cli = String::from_utf8_lossy(&deps.iter().find(|(n, _)| n == "cli.wit").unwrap().1).into_owned();
    let version_of_cli = cli
        .lines()
        .find_map(|l| l.strip_prefix("package wasi:cli@"))
        .unwrap()
        .trim_end_matches(';')
        .to_string();
    cached(&format!("python-command-{name}"), &(&source, &deps, &version), |dir| {
        let app = dir.join("app");
        std::fs::create_dir_all(&app).unwrap();
        std::fs::write(app.join("app.py"), &source).unwrap();
        let wit = dir.join("wit");
        std::fs::create_dir_all(&wit).unwrap();
        std::fs::write(
            wit.join("world.wit"),
            format!("package local:command;\n\nworld command {{\n  include wasi:cli/command@{version_of_cli};\n}}\n"),
        )
        .unwrap();
        for (file, text) in &deps {
            let to = wit.join("deps").join(file.trim_end_matches(".wit"));
            std::fs::create_dir_all(&to).unwrap();
            std::fs::write(to.join(file), text).unwrap();
        }
        componentize_py(&wit, "local:command/command", &app, dir)
    })
}

/// componentize-py's build of the module `app` in `app_dir` for `world` of the WIT in `wit`,
/// into `dir/app.wasm`; its bytes.
fn componentize_py(wit: &Path, world: &str, app_dir: &Path, dir: &Path) -> Vec<u8> {
    let out = dir.join("app.wasm");
    run(
        Command::new("componentize-py")
            .arg("-d")
            .arg(wit)
            .arg("-w")
            .arg(world)
            .arg("componentize")
            .arg("-p")
            .arg(app_dir)
            .arg("app")
            .arg("-o")
            .arg(&out),
        "componentize-py",
        "pip install componentize-py",
    );
    std::fs::read(out).unwrap()
}

/// The catalogue's WIT laid out as one package with its dependencies under `deps/` (what
/// componentize-py and componentize-js read), in `dir/wit`.
fn airssys_wit_dir(dir: &Path) -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("wit");
    let witdir = dir.join("wit");
    std::fs::create_dir_all(witdir.join("deps")).unwrap();
    for entry in std::fs::read_dir(root.join("core")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), witdir.join(entry.file_name())).unwrap();
    }
    for pkg in ["ext-filesystem", "ext-network", "ext-process"] {
        let to = witdir.join("deps").join(pkg);
        std::fs::create_dir_all(&to).unwrap();
        for entry in std::fs::read_dir(root.join(pkg)).unwrap() {
            let entry = entry.unwrap();
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
    witdir
}

/// componentize-js's command-line entry point, installed on first use with `npm ci` from
/// `tests/guests/js/package-lock.json` into the target directory (once per lock file).
fn componentize_js() -> PathBuf {
    static CLI: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    CLI.get_or_init(|| {
        const INSTALL: &str = "apt-get install nodejs npm";
        let lock = std::fs::read(guests_dir().join("js/package-lock.json")).unwrap();
        let mut h = std::collections::hash_map::DefaultHasher::new();
        lock.hash(&mut h);
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("js-toolchain-{:016x}", h.finish()));
        let cli = dir.join("node_modules/@bytecodealliance/componentize-js/src/cli.js");
        if !cli.exists() {
            // Installed beside and renamed into place, so that an interrupted install is not
            // taken for a complete one.
            let parent = dir.parent().unwrap();
            std::fs::create_dir_all(parent).unwrap();
            let work = tempfile::tempdir_in(parent).unwrap();
            for file in ["package.json", "package-lock.json"] {
                std::fs::copy(guests_dir().join("js").join(file), work.path().join(file)).unwrap();
            }
            run(
                Command::new("npm")
                    .args(["ci", "--no-audit", "--no-fund", "--prefix"])
                    .arg(work.path()),
                "npm",
                INSTALL,
            );
            if std::fs::rename(work.path(), &dir).is_err() {
                // Another test process installed it first.
                assert!(cli.exists(), "{} is incomplete: remove it", dir.display());
            }
        }
        cli
    })
    .clone()
}

/// `tests/guests/js/<name>/app.js` made an airssys component for `airssys:core/<world>` by
/// componentize-js (StarlingMonkey), with its default WASI features (stdio, clocks, random,
/// and fetch over `wasi:http`).
pub fn js(name: &str, world: &str) -> Vec<u8> {
    let source = std::fs::read(guests_dir().join(format!("js/{name}/app.js"))).unwrap();
    let lock = std::fs::read(guests_dir().join("js/package-lock.json")).unwrap();
    let wit: Vec<(String, String)> = airssys_wasm::catalogue::Catalogue::embedded().unwrap().files;
    let cli = componentize_js();
    cached(&format!("js-{name}"), &(&source, &lock, &wit, world), |dir| {
        let witdir = airssys_wit_dir(dir);
        std::fs::write(dir.join("app.js"), &source).unwrap();
        let out = dir.join("app.wasm");
        run(
            // From the app's own directory: componentize-js makes the module's path relative to
            // the working directory by cutting it off as a string, so that a target directory
            // whose name merely starts with the working directory's (`/src/x` and
            // `/src/x-target`) would name a file that does not exist.
            Command::new("node")
                .current_dir(dir)
                .arg(&cli)
                .arg(dir.join("app.js"))
                .arg("--wit")
                .arg(&witdir)
                .arg("--world-name")
                .arg(world)
                .arg("-o")
                .arg(&out),
            "componentize-js",
            "apt-get install nodejs npm",
        );
        std::fs::read(out).unwrap()
    })
}
