//! Fixture files under tests/fixtures/, read the same way by the suite that checks them and by
//! the test that every registered rule is produced by some fixture (tests/rules.rs).
//!
//! A fixture whose text is the input under test carries its options in a header: the leading
//! comment lines (`// key: value` in WIT, `;; key: value` in WAT), ended by a blank line. The
//! header is cut off before the input is used, so spans and snapshots see only the input.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use airssys_wasm::analyze::{ComponentKind, ImportedFunction, Mapping};
use airssys_wasm::catalogue::Catalogue;
use airssys_wasm::check::{self, Options};
use airssys_wasm::diagnostics::Sources;
use airssys_wasm::manifest::Manifest;
use airssys_wasm::orgpolicy::{Date, PolicySet};

/// The fixture files of `tests/fixtures/<dir>` whose names end with one of `exts`, sorted.
pub fn files(dir: &str, exts: &[&str]) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(dir);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| exts.iter().any(|x| e == *x)))
        .collect();
    files.sort();
    files
}

/// The fixture directories under `tests/fixtures/<dir>`, sorted.
pub fn dirs(dir: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(dir);
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    dirs
}

/// The file name without its extension.
pub fn stem(path: &Path) -> String {
    path.file_stem().unwrap().to_str().unwrap().to_string()
}

/// A fixture's header options and the input after them.
pub struct Header {
    options: BTreeMap<String, String>,
}

impl Header {
    /// Splits `text` into its header (lines starting with `marker`, up to the first blank
    /// line) and the input that follows.
    pub fn split<'t>(text: &'t str, marker: &str) -> (Header, &'t str) {
        let mut options = BTreeMap::new();
        let mut rest = text;
        while let Some(line) = rest.lines().next().and_then(|l| l.strip_prefix(marker)) {
            let option = line.split_once(':').filter(|(key, _)| {
                let key = key.trim();
                !key.is_empty() && key.bytes().all(|b| b.is_ascii_lowercase() || b == b'-')
            });
            if let Some((key, value)) = option {
                options.insert(key.trim().to_string(), value.trim().to_string());
            }
            rest = rest.split_once('\n').map_or("", |(_, r)| r);
        }
        (Header { options }, rest.strip_prefix('\n').unwrap_or(rest))
    }

    /// Panics unless every option is one of `known` and `expect` is given (a misspelt key
    /// would otherwise be ignored, and the case test less than it says).
    pub fn check_keys(&self, path: &Path, known: &[&str]) {
        for key in self.options.keys() {
            assert!(
                known.contains(&key.as_str()),
                "{}: unknown header key `{key}`",
                path.display()
            );
        }
        assert!(self.get("expect").is_some(), "{}: no `expect:` line", path.display());
    }

    /// The comma-separated values of `key`.
    pub fn list(&self, key: &str) -> Vec<&str> {
        self.options
            .get(key)
            .map(|v| v.split(',').map(str::trim).filter(|s| !s.is_empty()).collect())
            .unwrap_or_default()
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.options.get(key).map(String::as_str)
    }

    /// The codes `expect:` names (`(none)` names none).
    pub fn expected_codes(&self) -> Vec<String> {
        codes_in(self.get("expect").unwrap_or(""))
    }
}

/// The diagnostic codes (`MAN004`) in `text`.
pub fn codes_in(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| {
            w.len() == 6 && w[..3].bytes().all(|b| b.is_ascii_uppercase()) && w[3..].bytes().all(|b| b.is_ascii_digit())
        })
        .map(str::to_string)
        .collect()
}

/// A `check` fixture (tests/fixtures/check): a component and, usually, its manifest.
pub struct CheckFixture {
    pub name: String,
    /// The artifact: WAT text as written, or a component built from WIT.
    pub bytes: Vec<u8>,
    pub ext: &'static str,
    pub manifest: Option<String>,
    /// The codes `check` must report, sorted.
    pub want: Vec<String>,
    /// The kinds `check --kind` accepts (empty: every kind).
    pub kinds: Vec<ComponentKind>,
}

/// Every `check` fixture: `<name>.wat` (checked as written) or `<name>.wit` (built into a
/// component, see [`build`]), with `<name>.toml` as its manifest when there is one.
pub fn check_fixtures() -> Vec<CheckFixture> {
    files("check", &["wat", "wit"])
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path).unwrap();
            let wat = path.extension().is_some_and(|e| e == "wat");
            let (header, input) = Header::split(&text, if wat { ";;" } else { "//" });
            header.check_keys(&path, &["expect", "uses", "kinds", "truncate"]);
            let bytes = if wat {
                input.as_bytes().to_vec()
            } else {
                build(input, &header)
            };
            CheckFixture {
                name: stem(&path),
                bytes,
                ext: if wat { "wat" } else { "wasm" },
                manifest: std::fs::read_to_string(path.with_extension("toml")).ok(),
                want: header.expected_codes(),
                kinds: header
                    .list("kinds")
                    .into_iter()
                    .map(|k| ComponentKind::parse(k).unwrap_or_else(|| panic!("{}: kind {k}", path.display())))
                    .collect(),
            }
        })
        .collect()
}

/// Builds a `.wit` fixture: world `app` resolved against the catalogue, encoded around a
/// dummy core module. `uses:` lists the catalogue functions the component imports
/// (`filesystem.read-file`): the other functions of their interfaces are dropped, as real
/// toolchains import only what a component calls. `truncate: half` cuts the result in half.
pub fn build(wit: &str, header: &Header) -> Vec<u8> {
    let (mut resolve, world) = super::resolve_world(wit, "app");
    let uses = header.list("uses");
    super::keep_only(&mut resolve, &uses);
    let mut bytes = super::encode(&resolve, world);
    if header.get("truncate") == Some("half") {
        bytes.truncate(bytes.len() / 2);
    }
    bytes
}

impl CheckFixture {
    /// Writes the fixture as `<dir>/<name>.<ext>` with its manifest as `<dir>/<name>.toml`.
    pub fn write(&self, dir: &Path) -> PathBuf {
        let path = dir.join(format!("{}.{}", self.name, self.ext));
        std::fs::write(&path, &self.bytes).unwrap();
        if let Some(m) = &self.manifest {
            std::fs::write(dir.join(format!("{}.toml", self.name)), m).unwrap();
        }
        path
    }

    /// `check` of the fixture written into `dir`, with its accepted kinds.
    pub fn check(&self, catalogue: &Catalogue, dir: &Path) -> check::Report {
        let path = self.write(dir);
        let options = Options {
            kinds: self.kinds.clone(),
            ..Options::default()
        };
        check::check(catalogue, &[path], &options).unwrap()
    }
}

/// The date policy cases are checked on, unless they name another.
pub const TODAY: Date = Date {
    year: 2025,
    month: 6,
    day: 15,
};

/// The manifest of a policy case: component `reporter` 1.4.0 with these permissions.
pub fn manifest_text(permissions: &str) -> String {
    format!("[component]\nname = \"reporter\"\nversion = \"1.4.0\"\n\n[permissions]\n{permissions}")
}

/// A policy case (tests/fixtures/policies/cases/<name>.toml): a policy, the permissions of a
/// manifest, the catalogue operations the component imports, the date, and the codes expected.
pub struct PolicyCase {
    pub name: String,
    pub policy: String,
    pub permissions: String,
    pub imports: Vec<String>,
    pub today: Date,
    pub expect: Vec<String>,
}

pub fn policy_cases() -> Vec<PolicyCase> {
    files("policies/cases", &["toml"])
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path).unwrap();
            let case: toml::Table = toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            for key in case.keys() {
                let known = ["expect", "policy", "permissions", "imports", "today"];
                assert!(known.contains(&key.as_str()), "{}: unknown key `{key}`", path.display());
            }
            assert!(case.contains_key("expect"), "{}: no `expect`", path.display());
            let string = |key: &str| case.get(key).and_then(|v| v.as_str()).unwrap_or("").to_string();
            let strings = |key: &str| -> Vec<String> {
                case.get(key)
                    .and_then(|v| v.as_array())
                    .map(|a| a.iter().map(|s| s.as_str().unwrap().to_string()).collect())
                    .unwrap_or_default()
            };
            let today = match case.get("today").and_then(|v| v.as_datetime()).and_then(|d| d.date) {
                Some(d) => Date::new(d.year, d.month, d.day).unwrap(),
                None => TODAY,
            };
            PolicyCase {
                name: stem(&path),
                policy: string("policy"),
                permissions: string("permissions"),
                imports: strings("imports"),
                today,
                expect: strings("expect"),
            }
        })
        .collect()
}

impl PolicyCase {
    /// The policy findings for the case, sorted, with their codes.
    pub fn run(&self) -> (Vec<&'static str>, String) {
        let imports: Vec<&str> = self.imports.iter().map(String::as_str).collect();
        run_policy(&self.policy, &self.permissions, &imports, self.today)
    }
}

/// Policy findings for a manifest (and optional imports) on `today`, rendered (waived ones
/// too), with the codes of those in force (not waived).
pub fn run_policy(policy: &str, permissions: &str, imports: &[&str], today: Date) -> (Vec<&'static str>, String) {
    let mut sources = Sources::new();
    let set = PolicySet::from_texts(&mut sources, &[("org.toml", policy)]).expect("a valid policy");
    let m = Manifest::parse_in(&mut sources, "Component.toml", &manifest_text(permissions))
        .into_valid()
        .expect("a valid manifest");
    let binary = sources.add_binary("app.wasm");
    let functions = imported(imports);
    let mut d = if imports.is_empty() {
        set.check_manifest(&m, today)
    } else {
        set.check_imports(&m, &functions, binary, today)
    };
    airssys_wasm::diagnostics::sort(&mut d, &sources);
    let in_force: Vec<_> = d.iter().filter(|d| d.waived.is_none()).cloned().collect();
    (super::codes(&in_force), super::render(&d, &sources))
}

/// Imports of catalogue operations (`airssys:ext-process/lifecycle.spawn`) at made-up offsets.
pub fn imported(ops: &[&str]) -> Vec<ImportedFunction> {
    ops.iter()
        .enumerate()
        .map(|(i, op)| {
            let (iface, function) = op.rsplit_once('.').unwrap();
            ImportedFunction::new(
                format!("{iface}@1.0.0"),
                function,
                i * 10..i * 10 + 8,
                Mapping::Catalogue {
                    operation: op.to_string(),
                },
                None,
            )
        })
        .collect()
}

/// A refused catalogue (tests/fixtures/catalogue/<name>.wit): the WIT of one package, loaded
/// as `cat/pkg/ops.wit`, and the codes expected.
pub struct CatalogueFixture {
    pub name: String,
    pub wit: String,
    pub expect: Vec<String>,
}

pub fn catalogue_fixtures() -> Vec<CatalogueFixture> {
    files("catalogue", &["wit"])
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path).unwrap();
            let (header, wit) = Header::split(&text, "//");
            header.check_keys(&path, &["expect"]);
            CatalogueFixture {
                name: stem(&path),
                wit: wit.to_string(),
                expect: header.expected_codes(),
            }
        })
        .collect()
}

impl CatalogueFixture {
    pub fn load(&self) -> Result<Catalogue, airssys_wasm::catalogue::CatalogueError> {
        Catalogue::from_files(vec![("cat/pkg/ops.wit".to_string(), self.wit.clone())])
    }
}
