//! `check` and `inspect` on components that real toolchains build, from the sources in
//! `tests/guests/`, inside the tests (see `common/toolchain.rs`): C programs linked against
//! wasi-libc and made components with the WASI preview1 adapter, an airssys component written
//! in C with wit-bindgen, and an airssys component written in Python with componentize-py.
//!
//! Each is checked under an empty manifest and under a narrow one, and the verdicts are the
//! ones a reviewer expects: what the program can reach is charged, what the toolchain imports
//! along the way is not.

mod common;

use std::path::{Path, PathBuf};

use airssys_wasm::analyze::{ComponentKind, ImportedFunction, Mapping, wasi};
use airssys_wasm::catalogue::Catalogue;
use airssys_wasm::check::{self, Options, Report};
use airssys_wasm::component;
use airssys_wasm::diagnostics::{Severity, Sources};
use airssys_wasm::policy::Action;
use common::toolchain::{self, Adapter};

fn manifest(name: &str, body: &str) -> String {
    format!("[component]\nname = \"{name}\"\nversion = \"0.1.0\"\n\n{body}")
}

/// Checks `bytes` as `<dir>/<name>.wasm` against `manifest` (written beside it).
fn check_with(dir: &Path, name: &str, bytes: &[u8], manifest_text: &str) -> (PathBuf, Report) {
    let path = dir.join(format!("{name}.wasm"));
    std::fs::write(&path, bytes).unwrap();
    std::fs::write(dir.join(format!("{name}.toml")), manifest_text).unwrap();
    let catalogue = Catalogue::embedded().unwrap();
    let report = check::check(&catalogue, std::slice::from_ref(&path), &Options::default()).unwrap();
    (path, report)
}

fn error_codes(report: &Report) -> Vec<&'static str> {
    let mut c: Vec<_> = report
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .map(|d| d.rule.code)
        .collect();
    c.sort();
    c.dedup();
    c
}

/// What the classifier makes of `bytes`.
fn classified(bytes: &[u8]) -> airssys_wasm::analyze::Classified {
    let catalogue = Catalogue::embedded().unwrap();
    let artifact = component::read(bytes).unwrap();
    let mut sources = Sources::new();
    let binary = sources.add_binary("guest.wasm");
    check::classify(&catalogue, &artifact, binary)
}

/// The charged requirements, as `import::function needs ...` lines.
fn charged(functions: &[ImportedFunction]) -> Vec<String> {
    functions
        .iter()
        .filter_map(|f| {
            let r = f.charged()?;
            (!r.is_none()).then(|| format!("{}::{} {r}", f.import, f.function))
        })
        .collect()
}

/// One C program: its verdict under an empty manifest and under a narrow one.
struct Program {
    name: &'static str,
    /// Error codes with an empty manifest.
    empty: &'static [&'static str],
    /// The narrow `[permissions]` that lets it pass (`""`: none needed).
    narrow: &'static str,
    /// What is charged, as `module::function requirement` (the program's imports).
    charges: &'static [&'static str],
}

const READ_DATA: &str = "[permissions]\nfilesystem = [{ action = \"read\", path = \"/data/**\" }]\n";

const PROGRAMS: &[Program] = &[
    Program {
        name: "hello",
        empty: &[],
        narrow: "",
        charges: &[],
    },
    Program {
        name: "write-only",
        empty: &[],
        narrow: "",
        charges: &[],
    },
    Program {
        name: "getenv",
        empty: &[],
        narrow: "",
        charges: &[],
    },
    Program {
        name: "reader",
        empty: &["CMP002"],
        narrow: READ_DATA,
        charges: &["wasi_snapshot_preview1::path_open filesystem:read|write()"],
    },
    Program {
        name: "lister",
        empty: &["CMP002"],
        narrow: READ_DATA,
        charges: &[
            "wasi_snapshot_preview1::fd_readdir filesystem:read() + filesystem:read|metadata()",
            "wasi_snapshot_preview1::path_open filesystem:read|write()",
        ],
    },
    Program {
        name: "writer",
        empty: &["CMP002"],
        narrow: "[permissions]\nfilesystem = [{ action = \"write\", path = \"/data/out/*.txt\" }]\n",
        charges: &["wasi_snapshot_preview1::path_open filesystem:read|write()"],
    },
    Program {
        name: "deleter",
        empty: &["CMP002"],
        narrow: "[permissions]\nfilesystem = [{ action = \"delete\", path = \"/data/old/*\" }]\n",
        charges: &["wasi_snapshot_preview1::path_unlink_file filesystem:delete()"],
    },
    // Reaching a preopened directory without any `path_open`: still charged.
    Program {
        name: "readdir-preopen",
        empty: &["CMP002"],
        narrow: READ_DATA,
        charges: &["wasi_snapshot_preview1::fd_readdir filesystem:read() + filesystem:read|metadata()"],
    },
    Program {
        name: "touch-preopen",
        empty: &["CMP002"],
        narrow: "[permissions]\nfilesystem = [{ action = \"write\", path = \"/data\" }]\n",
        charges: &["wasi_snapshot_preview1::fd_filestat_set_times filesystem:write()"],
    },
];

#[test]
fn c_programs_are_charged_what_they_can_reach() {
    let dir = tempfile::tempdir().unwrap();
    for p in PROGRAMS {
        let bytes = toolchain::c_command(p.name);
        let c = classified(&bytes);
        assert_eq!(c.kind, ComponentKind::WasiCommand, "{}", p.name);
        let mut charges = charged(&c.functions);
        charges.sort();
        assert_eq!(charges, p.charges, "{}: what is charged", p.name);

        let (_, report) = check_with(dir.path(), p.name, &bytes, &manifest(p.name, ""));
        let human = common::render(&report.diagnostics, &report.sources);
        assert_eq!(
            error_codes(&report),
            p.empty,
            "{} with an empty manifest:\n{human}",
            p.name
        );
        assert!(
            !report
                .diagnostics
                .iter()
                .any(|d| ["WIT002", "WIT005", "CMP006"].contains(&d.rule.code)),
            "{}: no finding about the toolchain's imports:\n{human}",
            p.name
        );

        let (_, report) = check_with(dir.path(), p.name, &bytes, &manifest(p.name, p.narrow));
        assert!(
            report.diagnostics.iter().all(|d| d.severity == Severity::Note),
            "{} with its narrow manifest:\n{}",
            p.name,
            common::render(&report.diagnostics, &report.sources)
        );
    }
}

#[test]
fn findings_point_at_the_programs_import() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = toolchain::c_command("deleter");
    let (path, report) = check_with(dir.path(), "deleter", &bytes, &manifest("deleter", READ_DATA));
    let d = report
        .diagnostics
        .iter()
        .find(|d| d.rule.code == "CMP002")
        .expect("delete is not granted");
    let primary = d.primary.as_ref().unwrap();
    assert_eq!(report.sources.get(primary.source).name, path.display().to_string());
    assert_eq!(
        &bytes[primary.span.clone()],
        b"path_unlink_file",
        "the program's own import"
    );
    assert!(
        primary
            .message
            .contains("`main` imports it from `wasi_snapshot_preview1`"),
        "{}",
        primary.message
    );
    assert!(d.message.contains("[method]descriptor.unlink-file-at"), "{}", d.message);
    // The adapter's own imports of the descriptor methods are not charged.
    let c = classified(&bytes);
    let unlink = c
        .functions
        .iter()
        .find(|f| f.function == "[method]descriptor.unlink-file-at")
        .unwrap();
    assert!(unlink.charged().is_none());
}

#[test]
fn bare_preview1_modules_are_mapped() {
    let dir = tempfile::tempdir().unwrap();
    let hello = toolchain::c_core("hello", Adapter::Command);
    let c = classified(&hello);
    assert_eq!(c.kind, ComponentKind::CoreModule);
    assert!(
        c.functions.iter().all(|f| f.source == Mapping::Preview1),
        "{:?}",
        c.functions
    );
    assert!(charged(&c.functions).is_empty());
    let (_, report) = check_with(dir.path(), "hello-core", &hello, &manifest("hello-core", ""));
    assert_eq!(error_codes(&report), ["CMP005"]);

    let deleter = toolchain::c_core("deleter", Adapter::Command);
    let (_, report) = check_with(dir.path(), "deleter-core", &deleter, &manifest("deleter-core", ""));
    assert_eq!(error_codes(&report), ["CMP002", "CMP005"]);
    let d = report.diagnostics.iter().find(|d| d.rule.code == "CMP002").unwrap();
    let span = d.primary.as_ref().unwrap().span.clone();
    assert_eq!(&deleter[span], b"path_unlink_file", "each import at its own offset");
}

/// Whether two requirements are satisfied by exactly the same sets of actions: terms implied
/// by another term (a subset of its alternatives) are dropped before comparing.
fn normalised(terms: &[&[Action]]) -> Vec<Vec<&'static str>> {
    let mut sets: Vec<Vec<&'static str>> = terms
        .iter()
        .map(|t| {
            let mut v: Vec<&'static str> = t.iter().map(|a| a.as_str()).collect();
            v.sort();
            v.dedup();
            v
        })
        .collect();
    sets.sort();
    sets.dedup();
    let all = sets.clone();
    sets.retain(|s| !all.iter().any(|o| o != s && o.iter().all(|a| s.contains(a))));
    sets
}

/// The preview1 table (used for bare core modules) says what the real adapter reaches: a
/// program importing every preview1 function, made a component with the adapter, is charged
/// at each import exactly what the table gives that function (`sock_accept` aside: the table
/// charges more, see below).
#[test]
fn the_preview1_table_agrees_with_the_adapter() {
    for adapter in [Adapter::Command, Adapter::Reactor] {
        let exports = adapter_preview1_exports(adapter.bytes());
        let mut names: Vec<&str> = exports.iter().map(|(n, _)| n.as_str()).collect();
        names.sort();
        let mut table: Vec<&str> = wasi::preview1_names().collect();
        table.sort();
        assert_eq!(
            names, table,
            "the adapter implements every preview1 function of the table"
        );

        let mut wat = String::from("(module\n");
        for (name, ty) in &exports {
            wat.push_str(&format!(
                "  (import \"wasi_snapshot_preview1\" \"{name}\" (func {ty}))\n"
            ));
        }
        wat.push_str("  (memory (export \"memory\") 1)\n");
        if let Adapter::Command = adapter {
            wat.push_str("  (func (export \"_start\"))\n");
        }
        wat.push_str(")\n");
        let core = wat::parse_str(&wat).unwrap();
        let bytes = toolchain::componentize(&core, adapter);
        let c = classified(&bytes);
        for (name, _) in &exports {
            let site = c
                .functions
                .iter()
                .find(|f| matches!(f.source, Mapping::Adapter { .. }) && f.function == *name)
                .unwrap_or_else(|| panic!("{name} is charged where the program imports it"));
            let reached: Vec<Vec<Action>> = site
                .charged()
                .unwrap()
                .terms
                .iter()
                .map(|t| t.actions.clone())
                .collect();
            let reached: Vec<&[Action]> = reached.iter().map(Vec::as_slice).collect();
            let (reached, table) = (normalised(&reached), normalised(wasi::preview1(name).unwrap().terms));
            if name == "sock_accept" {
                // A core module may be given a preopened listening socket by its host; the
                // adapter has none (nothing in it yields a network), so it reaches less.
                assert!(
                    reached.is_empty() && table == [["listen"]],
                    "{name}: {reached:?} {table:?}"
                );
                continue;
            }
            assert_eq!(
                reached, table,
                "{name} ({adapter:?}): the adapter reaches {:?}",
                site.source
            );
        }
    }
}

/// The preview1 functions an adapter exports, with their types as WAT.
fn adapter_preview1_exports(adapter: &[u8]) -> Vec<(String, String)> {
    use wasmparser::{ExternalKind, Parser, Payload, TypeRef};
    let preview1: Vec<&str> = wasi::preview1_names().collect();
    let mut types = Vec::new();
    let mut funcs = Vec::new();
    let mut exports = Vec::new();
    for payload in Parser::new(0).parse_all(adapter) {
        match payload.unwrap() {
            Payload::TypeSection(r) => {
                for ty in r.into_iter_err_on_gc_types() {
                    types.push(ty.unwrap());
                }
            }
            Payload::ImportSection(r) => {
                for i in r.into_imports() {
                    if let TypeRef::Func(t) = i.unwrap().ty {
                        funcs.push(t);
                    }
                }
            }
            Payload::FunctionSection(r) => funcs.extend(r.into_iter().map(Result::unwrap)),
            Payload::ExportSection(r) => {
                for e in r {
                    let e = e.unwrap();
                    if e.kind == ExternalKind::Func && preview1.contains(&e.name) {
                        exports.push((e.name.to_string(), e.index));
                    }
                }
            }
            _ => {}
        }
    }
    let val = |v: &wasmparser::ValType| v.to_string();
    exports
        .into_iter()
        .map(|(name, f)| {
            let ty = &types[funcs[f as usize] as usize];
            let params: Vec<String> = ty.params().iter().map(val).collect();
            let results: Vec<String> = ty.results().iter().map(val).collect();
            (
                name,
                format!("(param {}) (result {})", params.join(" "), results.join(" ")),
            )
        })
        .collect()
}

/// An airssys component written in C with wit-bindgen: its lifecycle is checked, its WASI
/// imports (stdio through the adapter) need nothing, and its airssys import needs its grant.
#[test]
fn airssys_component_in_c_with_stdio() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = toolchain::airssys_c("file-reader", "filesystem-component");
    let c = classified(&bytes);
    assert_eq!(c.kind, ComponentKind::Airssys);
    assert!(c.diagnostics.is_empty(), "{:?}", c.diagnostics);
    assert_eq!(
        charged(&c.functions),
        ["airssys:ext-filesystem/filesystem@1.0.0::read-file filesystem:read(path)"]
    );
    let (_, report) = check_with(dir.path(), "c-reader", &bytes, &manifest("c-reader", ""));
    assert_eq!(error_codes(&report), ["CMP002"]);
    let (_, report) = check_with(dir.path(), "c-reader", &bytes, &manifest("c-reader", READ_DATA));
    assert!(
        report.diagnostics.is_empty(),
        "{}",
        common::render(&report.diagnostics, &report.sources)
    );
}

/// An airssys component written in Python: componentize-py imports whole interfaces (WASI's
/// filesystem and sockets for the interpreter, every operation of the world's airssys
/// interfaces), far more than the script uses. With `[acknowledged]` it passes under a narrow
/// manifest, and the acknowledgment is shown in every format.
#[test]
fn python_component_with_acknowledgments() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = toolchain::python("file-reader", "filesystem-component");
    let c = classified(&bytes);
    assert_eq!(c.kind, ComponentKind::Airssys);

    let (_, report) = check_with(dir.path(), "py-reader", &bytes, &manifest("py-reader", READ_DATA));
    let undeclared = report.diagnostics.iter().filter(|d| d.rule.code == "CMP002").count();
    assert!(
        undeclared > 20,
        "the interpreter's imports need much more: {undeclared}"
    );

    let acknowledged = format!(
        "{READ_DATA}\n[acknowledged]\nreason = \"CPython and the world import whole interfaces; the script only reads /data\"\nfilesystem = [\"write\", \"delete\", \"metadata\"]\nnetwork = [\"connect\", \"resolve\", \"bind\", \"listen\"]\n"
    );
    let (path, report) = check_with(dir.path(), "py-reader", &bytes, &manifest("py-reader", &acknowledged));
    let human = common::render(&report.diagnostics, &report.sources);
    assert_eq!(error_codes(&report), Vec::<&str>::new(), "{human}");
    let notes: Vec<_> = report.diagnostics.iter().filter(|d| d.rule.code == "CMP008").collect();
    assert_eq!(notes.len(), 7, "one note per acknowledged action:\n{human}");
    assert!(notes.iter().all(|d| d.severity == Severity::Note));
    let delete = notes
        .iter()
        .find(|d| d.message.contains("filesystem `delete`"))
        .unwrap();
    assert!(
        delete.notes.iter().any(|n| n.contains("unlink-file-at"))
            && delete.notes.iter().any(|n| n.contains("reason: CPython")),
        "{:?}",
        delete.notes
    );
    assert!(human.contains("acknowledged as never granted"), "{human}");
    let json = airssys_wasm::report::json::to_string(&airssys_wasm::report::json::BatchReport::new(
        &report.diagnostics,
        &report.sources,
        &report.components,
        &report.kinds,
    ));
    assert!(json.contains("\"acknowledged-never-granted\""), "{json}");
    let sarif = airssys_wasm::report::sarif::render_batch(
        &report.diagnostics,
        &report.sources,
        &report.components,
        &report.kinds,
        &Default::default(),
    );
    assert!(
        sarif.contains("\"ruleId\": \"CMP008\"") && sarif.contains("\"kind\": \"airssys\""),
        "{sarif}"
    );
    assert_eq!(report.components, [path]);
}

/// componentize-js imports the world's every operation and, for `fetch`, WASI HTTP: with the
/// read it needs granted and the rest acknowledged, it passes.
#[test]
fn javascript_component_with_acknowledgments() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = toolchain::js("file-reader", "filesystem-component");
    let c = classified(&bytes);
    assert_eq!(c.kind, ComponentKind::Airssys);
    assert!(
        c.imports
            .iter()
            .any(|i| i.starts_with("wasi:http/outgoing-handler@0.2.")),
        "{:?}",
        c.imports
    );

    let (_, report) = check_with(dir.path(), "js-reader", &bytes, &manifest("js-reader", READ_DATA));
    let human = common::render(&report.diagnostics, &report.sources);
    let undeclared: Vec<&str> = report
        .diagnostics
        .iter()
        .filter(|d| d.rule.code == "CMP002")
        .map(|d| d.message.as_str())
        .collect();
    assert!(
        undeclared.iter().any(|m| m.contains("network `connect`")),
        "fetch needs network connect:\n{human}"
    );
    assert!(
        !undeclared.iter().any(|m| m.contains("filesystem `read`")),
        "the read is granted:\n{human}"
    );

    let acknowledged = format!(
        "{READ_DATA}\n[acknowledged]\nreason = \"componentize-js links fetch and the world imports every filesystem operation; the script only reads /data\"\nfilesystem = [\"write\", \"delete\", \"metadata\"]\nnetwork = [\"connect\"]\n"
    );
    let (_, report) = check_with(dir.path(), "js-reader", &bytes, &manifest("js-reader", &acknowledged));
    let human = common::render(&report.diagnostics, &report.sources);
    assert_eq!(error_codes(&report), Vec::<&str>::new(), "{human}");
    let connect = report
        .diagnostics
        .iter()
        .find(|d| d.rule.code == "CMP008" && d.message.contains("network `connect`"))
        .unwrap_or_else(|| panic!("{human}"));
    assert!(
        connect.notes.iter().any(|n| n.contains("wasi:http/outgoing-handler")),
        "{:?}",
        connect.notes
    );
}

#[test]
fn acknowledgments_that_match_nothing_or_contradict_a_grant_are_findings() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = toolchain::c_command("reader");
    // `delete` is imported by nothing this program can reach.
    let text = format!("{READ_DATA}\n[acknowledged]\nreason = \"belt and braces\"\nfilesystem = [\"delete\"]\n");
    let (_, report) = check_with(dir.path(), "reader", &bytes, &manifest("reader", &text));
    assert_eq!(common::codes(&report.diagnostics), ["CMP009"]);
    // Acknowledging what a grant gives is a contradiction.
    let text = format!("{READ_DATA}\n[acknowledged]\nreason = \"confused\"\nfilesystem = [\"read\"]\n");
    let (_, report) = check_with(dir.path(), "reader", &bytes, &manifest("reader", &text));
    assert_eq!(common::codes(&report.diagnostics), ["CMP009", "MAN022"]);
}

/// The `console` examples of docs/check.md that run on components real toolchains build (the C
/// file reader, the Python one) print what the documentation shows: each component is built
/// here into a `components/` directory, with the manifest the documentation gives it (the
/// `toml` block before the example; none is shown for the C reader, which has no grant), and
/// the command runs as written. A documented line `...` stands for any number of lines.
#[test]
fn documented_examples_on_real_components_match_the_tool() {
    let doc = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/check.md")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let components = dir.path().join("components");
    std::fs::create_dir(&components).unwrap();
    std::fs::write(components.join("reader.wasm"), toolchain::c_command("reader")).unwrap();
    std::fs::write(components.join("reader.toml"), manifest("reader", "")).unwrap();
    let python = "$ airssys-wasm check components/py-reader.wasm";
    let before = &doc[..doc.find(python).expect("the Python example")];
    let toml = before
        .rsplit("```toml\n")
        .next()
        .unwrap()
        .split("\n```")
        .next()
        .unwrap();
    std::fs::write(
        components.join("py-reader.wasm"),
        toolchain::python("file-reader", "filesystem-component"),
    )
    .unwrap();
    std::fs::write(components.join("py-reader.toml"), format!("{toml}\n")).unwrap();

    let mut ran = 0;
    for block in doc.split("```console\n").skip(1) {
        let block = block.split("\n```").next().unwrap();
        let Some(command) = block.lines().next().and_then(|l| l.strip_prefix("$ airssys-wasm ")) else {
            continue;
        };
        let args: Vec<&str> = command.split_whitespace().collect();
        if !args
            .iter()
            .any(|a| a.starts_with("components/") && a.ends_with(".wasm"))
            || args.iter().any(|a| !a.starts_with("components/") && a.contains('/'))
            || !args
                .iter()
                .all(|a| !a.ends_with(".wasm") || components.join(&a[11..]).exists())
        {
            continue;
        }
        let expected: Vec<&str> = block.lines().skip(1).collect();
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_airssys-wasm"))
            .args(&args)
            .current_dir(dir.path())
            .env_remove("NO_COLOR")
            .output()
            .unwrap();
        let got = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            matches_with_elision(&expected, &got.lines().collect::<Vec<_>>()),
            "docs/check.md: `airssys-wasm {command}` prints:\n{got}\ndocumented:\n{}",
            expected.join("\n")
        );
        ran += 1;
    }
    assert_eq!(ran, 3, "the C reader's check and inspect, the Python reader's check");
}

/// Whether `got` is `expected`, line for line, where a line `...` (indented or not) in
/// `expected` stands for any number of lines.
fn matches_with_elision(expected: &[&str], got: &[&str]) -> bool {
    let got: Vec<&str> = got.iter().map(|l| l.trim_end()).collect();
    fn go(expected: &[&str], got: &[&str]) -> bool {
        match expected.split_first() {
            None => got.iter().all(|l| l.is_empty()),
            Some((line, rest)) if line.trim() == "..." => (0..=got.len()).any(|skip| go(rest, &got[skip..])),
            Some((line, rest)) => got
                .split_first()
                .is_some_and(|(first, more)| *first == line.trim_end() && go(rest, more)),
        }
    }
    go(expected, &got)
}
