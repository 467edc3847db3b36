//! Machine-readable renderers for CI: SARIF 2.1.0 (`report::sarif`) and GitHub Actions
//! workflow commands (`report::github`).
//!
//! The SARIF output is validated against the official schema, vendored as
//! `tests/fixtures/sarif-schema-2.1.0.json`. Provenance: a byte-for-byte copy of
//! `src/schema.json` from the crates.io package `serde-sarif` 0.8.0 (crate checksum
//! sha256 a053c46f18a8043570d4e32fefc4c6377f82bf29ec310a33e93f273048e3b0be; file sha256
//! af47e7b67f24efe74076621fd3a5fbe7398add9e84fe820c971219a385895cea). It is the OASIS SARIF
//! 2.1.0 schema (draft-07, `$id`
//! https://raw.githubusercontent.com/oasis-tcs/sarif-spec/master/Schemata/sarif-schema-2.1.0.json),
//! reformatted; spot-checked against oasis-tcs/sarif-spec
//! `Documents/CommitteeSpecifications/2.1.0/sarif-schema-2.1.0.json`, from which it differs
//! only by the published errata (for example a "identifer" typo fixed). It keeps the
//! published schema's known stray `]` in the `language` patterns (see `schema_validator`).

mod common;

use airssys_wasm::diagnostics::{Diagnostic, RULES, Severity, Sources, registry};
use airssys_wasm::manifest::Manifest;
use airssys_wasm::report::{github, sarif};
use common::sarif_schema::{schema_validator, violations};
use std::path::Path;

use serde_json::{Value, json};

/// A manifest with real findings: an unknown key, an unknown action, and a shadowed grant
/// (whose diagnostic has a secondary label). The name has a space to exercise URI encoding;
/// the description has non-ASCII text before the findings to exercise code-point columns.
const MANIFEST: &str = r#"[component]
name = "sarif-demo"
version = "1.0.0"
description = "Prüfung"

[permissions]
filesytem = []
network = [{ action = "conect", domain = "api.example.com", port = 443 }]
filesystem = [
  { action = "read", path = "/data/**" },
  { action = "read", path = "/data/x" },
]
"#;

/// Real manifest findings plus hand-built ones: a binary label with a byte offset, a finding
/// with no primary label, and one of each severity.
fn cases() -> (Sources, Vec<Diagnostic>) {
    let mut sources = Sources::new();
    let parsed = Manifest::parse_in(&mut sources, "manifests/my component/Component.toml", MANIFEST);
    let manifest = sources.add_text("Component.toml", "[permissions]\n");
    let wasm = sources.add_binary("target/demo.wasm");
    let mut diagnostics = parsed.diagnostics;
    diagnostics.push(
        Diagnostic::new(
            &registry::UNDECLARED_PERMISSION,
            "import `wasi:filesystem/types` needs filesystem read",
        )
        .at(wasm, 0x1a2..0x1a2, "imported here")
        .also(manifest, 0..13, "no grant in this table")
        .help("add `{ action = \"read\", path = \"...\" }` to `[permissions].filesystem`"),
    );
    diagnostics.push(Diagnostic::new(
        &registry::MISSING_MANIFEST,
        "no manifest was found for `target/demo.wasm`",
    ));
    let mut note = Diagnostic::new(&registry::UNUSED_GRANT, "grant `read /data/**` is never used")
        .at(manifest, 0..13, "")
        .note("demoted to a note by `[levels]`");
    note.severity = Severity::Note;
    diagnostics.push(note);
    (sources, diagnostics)
}

fn rendered_log() -> Value {
    let (sources, diagnostics) = cases();
    let text = sarif::render(&diagnostics, &sources);
    assert!(text.ends_with("}\n"), "pretty JSON with a trailing newline");
    serde_json::from_str(&text).expect("SARIF output is JSON")
}

fn results(log: &Value) -> &Vec<Value> {
    log["runs"][0]["results"].as_array().expect("results")
}

#[test]
fn sarif_output_conforms_to_the_schema() {
    let log = rendered_log();
    let errors = violations(&schema_validator(), &log);
    assert!(errors.is_empty(), "schema violations:\n{}", errors.join("\n"));
    assert_eq!(log["$schema"], "https://json.schemastore.org/sarif-2.1.0.json");
    assert_eq!(log["version"], "2.1.0");
    assert_eq!(log["runs"].as_array().unwrap().len(), 1);
}

#[test]
fn empty_log_conforms_and_keeps_an_empty_results_array() {
    let log: Value = serde_json::from_str(&sarif::render(&[], &Sources::new())).unwrap();
    assert!(violations(&schema_validator(), &log).is_empty());
    assert_eq!(log["runs"][0]["results"], json!([]));
}

/// A named way to break a valid log.
type Breakage = (&'static str, fn(&mut Value));

/// The validator really checks: documents broken in typical ways are rejected.
#[test]
fn schema_rejects_broken_logs() {
    let validator = schema_validator();
    let valid = rendered_log();
    let breakages: [Breakage; 7] = [
        ("unknown top-level property", |log| log["sarifVersion"] = json!("2.1.0")),
        ("wrong version", |log| log["version"] = json!("2.0.0")),
        ("result without message", |log| {
            log["runs"][0]["results"][0].as_object_mut().unwrap().remove("message");
        }),
        ("unknown level", |log| {
            log["runs"][0]["results"][0]["level"] = json!("fatal")
        }),
        ("zero line", |log| {
            log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]["startLine"] = json!(0)
        }),
        ("unencoded space in a URI", |log| {
            log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] =
                json!("my component/Component.toml")
        }),
        ("driver without name", |log| {
            log["runs"][0]["tool"]["driver"].as_object_mut().unwrap().remove("name");
        }),
    ];
    for (what, breakage) in breakages {
        let mut log = valid.clone();
        breakage(&mut log);
        assert!(!validator.is_valid(&log), "a log with {what} was accepted");
    }
}

#[test]
fn rules_are_the_whole_registry_and_results_point_into_them() {
    let log = rendered_log();
    let rules = log["runs"][0]["tool"]["driver"]["rules"].as_array().unwrap();
    assert_eq!(rules.len(), RULES.len());
    for (rule, registered) in rules.iter().zip(RULES) {
        assert_eq!(rule["id"], registered.code);
        assert_eq!(rule["name"], registered.name);
        assert_eq!(rule["shortDescription"]["text"], registered.summary);
        assert_eq!(rule["help"]["markdown"], registered.doc);
        assert_eq!(rule["defaultConfiguration"]["level"], registered.severity.as_str());
        let full = rule["fullDescription"]["text"].as_str().unwrap();
        assert!(
            !full.is_empty() && !full.contains('\n'),
            "{}: {full:?}",
            registered.code
        );
    }
    let results = results(&log);
    assert!(results.len() >= 6, "the cases produce several results: {results:#?}");
    for result in results {
        let id = result["ruleId"].as_str().unwrap();
        assert!(rules.iter().any(|r| r["id"] == id), "{id} is not a rule");
        let index = result["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rules[index]["id"], id, "ruleIndex of {id}");
    }
}

#[test]
fn results_follow_the_diagnostics() {
    let (sources, diagnostics) = cases();
    let log: Value = serde_json::from_str(&sarif::render(&diagnostics, &sources)).unwrap();
    let results = results(&log);
    assert_eq!(results.len(), diagnostics.len());
    for (result, d) in results.iter().zip(&diagnostics) {
        assert_eq!(result["ruleId"], d.rule.code);
        assert_eq!(result["level"], d.severity.as_str());
        let text = result["message"]["text"].as_str().unwrap();
        assert!(text.starts_with(&d.message), "{text:?}");
        if let Some(help) = &d.help {
            assert!(text.contains(&format!("\nhelp: {help}")), "{text:?}");
        }
        let labels = usize::from(d.primary.is_some()) + d.secondary.len();
        assert_eq!(result.get("locations").is_some(), labels > 0, "{}", d.rule.code);
        let related = result
            .get("relatedLocations")
            .and_then(Value::as_array)
            .map_or(0, Vec::len);
        assert_eq!(
            related,
            labels.saturating_sub(1),
            "{}: one label is the location",
            d.rule.code
        );
    }
    let levels: Vec<&str> = results.iter().map(|r| r["level"].as_str().unwrap()).collect();
    for level in ["error", "warning", "note"] {
        assert!(levels.contains(&level), "no {level} result in {levels:?}");
    }
}

/// The result for a rule code (the cases have one of each code used here).
fn result_for<'a>(log: &'a Value, code: &str) -> &'a Value {
    results(log)
        .iter()
        .find(|r| r["ruleId"] == code)
        .unwrap_or_else(|| panic!("no {code} result"))
}

#[test]
fn text_locations_are_line_column_regions() {
    let log = rendered_log();
    let unknown_key = &result_for(&log, "MAN004")["locations"][0]["physicalLocation"];
    assert_eq!(
        unknown_key["artifactLocation"]["uri"],
        "manifests/my%20component/Component.toml"
    );
    let region = &unknown_key["region"];
    assert_eq!(
        (region["startLine"].as_u64(), region["startColumn"].as_u64()),
        (Some(7), Some(1))
    );
    assert_eq!(
        (region["endLine"].as_u64(), region["endColumn"].as_u64()),
        (Some(7), Some(10))
    );
    assert_eq!(region["charLength"], 9, "`filesytem`");
    let offset = MANIFEST.find("filesytem").unwrap();
    assert_eq!(
        region["charOffset"],
        MANIFEST[..offset].chars().count(),
        "counted in code points"
    );
    assert_eq!(log["runs"][0]["columnKind"], "unicodeCodePoints");

    let shadowed = result_for(&log, "MAN018");
    let related = &shadowed["relatedLocations"][0];
    assert_eq!(related["id"], 0);
    assert!(related["message"]["text"].as_str().is_some_and(|t| !t.is_empty()));
    assert!(related["physicalLocation"]["region"]["startLine"].as_u64().is_some());
}

#[test]
fn binary_findings_anchor_on_the_manifest_and_keep_the_byte_region() {
    let log = rendered_log();
    let undeclared = result_for(&log, "CMP002");
    let physical = &undeclared["locations"][0]["physicalLocation"];
    assert_eq!(physical["artifactLocation"]["uri"], "Component.toml");
    assert_eq!(physical["region"]["startLine"], 1);
    assert_eq!(undeclared["locations"][0]["message"]["text"], "no grant in this table");
    let binary = &undeclared["relatedLocations"][0];
    assert_eq!(
        binary["physicalLocation"]["artifactLocation"]["uri"],
        "target/demo.wasm"
    );
    assert_eq!(
        binary["physicalLocation"]["region"],
        json!({ "byteOffset": 0x1a2, "byteLength": 1 })
    );
    assert_eq!(binary["message"]["text"], "imported here");
    assert_eq!(undeclared["properties"]["byteOffset"], 0x1a2);
    assert_eq!(undeclared["properties"]["component"], "target/demo.wasm");
    let text = undeclared["message"]["text"].as_str().unwrap();
    assert!(
        text.contains("needs filesystem read (at byte offset 0x1a2 of target/demo.wasm)\nhelp:"),
        "{text}"
    );

    // Only a hand-built diagnostic with no label at all has no location: every check places
    // its findings (see the mixed project below).
    let missing = result_for(&log, "CMP007");
    assert!(missing.get("locations").is_none(), "{missing:#}");
    assert_eq!(missing["level"], "error");
}

#[test]
fn a_binary_finding_without_a_manifest_line_is_on_line_1_of_the_component() {
    let mut sources = Sources::new();
    let wasm = sources.add_binary("build/x.wasm");
    let d = Diagnostic::new(&registry::INVALID_BINARY, "not a component").at(wasm, 8..12, "here");
    let log: Value = serde_json::from_str(&sarif::render(&[d], &sources)).unwrap();
    let result = &results(&log)[0];
    let region = &result["locations"][0]["physicalLocation"]["region"];
    assert_eq!(region, &json!({ "startLine": 1, "byteOffset": 8, "byteLength": 4 }));
    assert!(result.get("relatedLocations").is_none(), "{result:#}");
    assert!(violations(&schema_validator(), &log).is_empty());
}

#[test]
fn sarif_output_is_deterministic() {
    let (sources, diagnostics) = cases();
    assert_eq!(
        sarif::render(&diagnostics, &sources),
        sarif::render(&diagnostics, &sources)
    );
}

#[test]
fn github_commands_have_one_line_per_diagnostic() {
    let (sources, diagnostics) = cases();
    let out = github::render(&diagnostics, &sources);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), diagnostics.len());
    assert!(out.ends_with('\n'));
    for (line, d) in lines.iter().zip(&diagnostics) {
        let command = match d.severity {
            Severity::Error => "::error ",
            Severity::Warning => "::warning ",
            Severity::Note => "::notice ",
        };
        assert!(line.starts_with(command), "{line}");
        assert!(
            line.contains(&format!("title={} {}::", d.rule.code, d.rule.name)),
            "{line}"
        );
    }
    let unknown_key = lines.iter().find(|l| l.contains("MAN004")).unwrap();
    assert!(
        unknown_key.starts_with(
            "::error file=manifests/my component/Component.toml,line=7,col=1,endLine=7,endColumn=9,title=MAN004"
        ),
        "{unknown_key}"
    );
    let binary = lines.iter().find(|l| l.contains("CMP002")).unwrap();
    assert!(binary.starts_with("::error file=target/demo.wasm,title="), "{binary}");
    assert!(binary.contains("(at byte offset 0x1a2)%0Ahelp: add"), "{binary}");
    let missing = lines.iter().find(|l| l.contains("CMP007")).unwrap();
    assert!(
        missing.starts_with("::error title=CMP007 missing-manifest::"),
        "{missing}"
    );
}

#[test]
fn github_commands_escape_data_and_properties() {
    let mut sources = Sources::new();
    let file = sources.add_text("odd, name: 100%.toml", "x = 1\n");
    let d = Diagnostic::new(&registry::WRONG_TYPE, "50% of\r\nthe value: a, b")
        .at(file, 0..1, "")
        .help("line one\nline two");
    let out = github::render(&[d], &sources);
    assert_eq!(
        out,
        "::error file=odd%2C name%3A 100%25.toml,line=1,col=1,endLine=1,endColumn=1,title=MAN006 wrong-type\
         ::50%25 of%0D%0Athe value: a, b%0Ahelp: line one%0Aline two\n"
    );
    assert_eq!(github::escape_data("a%b\rc\nd:e,f"), "a%25b%0Dc%0Ad:e,f");
    assert_eq!(github::escape_property("a%b\rc\nd:e,f"), "a%25b%0Dc%0Ad%3Ae%2Cf");
}

/// A small case, snapshotted in both formats for review. The rule list is the same in every
/// log and is checked above, so the snapshot shows only the descriptor of the rule that fired.
#[test]
fn snapshot_small_case() {
    let mut sources = Sources::new();
    let parsed = Manifest::parse_in(
        &mut sources,
        "Component.toml",
        "[component]\nname = \"demo\"\nversion = \"1.0.0\"\n\n[permissions]\nfilesystem = [\n  \
         { action = \"read\", path = \"/data/**\" },\n  { action = \"read\", path = \"/data/x\" },\n]\n",
    );
    let mut log: Value = serde_json::from_str(&sarif::render(&parsed.diagnostics, &sources)).unwrap();
    let index = log["runs"][0]["results"][0]["ruleIndex"].as_u64().unwrap() as usize;
    let rules = &mut log["runs"][0]["tool"]["driver"]["rules"];
    let fired = rules[index].clone();
    *rules = json!([format!("... the registry's rules; [{index}] is:"), fired]);
    common::with_snapshots(|| {
        insta::assert_snapshot!("sarif-small", serde_json::to_string_pretty(&log).unwrap());
        insta::assert_snapshot!("github-small", github::render(&parsed.diagnostics, &sources));
    });
}

/// A mixed project: every `check` fixture in one directory (clean components, findings in
/// manifests and binaries, a missing manifest, an invalid binary), checked under a policy that
/// extends `builtin:default` and waives one finding, plus the `wit` findings that have no
/// place of their own (WIT001 from a package that does not parse, WIT006 from one without a
/// world). URIs are relative to the project's directory, as `--sarif-base` makes them.
fn mixed_project() -> Value {
    use airssys_wasm::catalogue::Catalogue;
    use airssys_wasm::check::{self, Options};
    use airssys_wasm::orgpolicy::PolicySet;

    let catalogue = Catalogue::embedded().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let components: Vec<_> = common::fixtures::check_fixtures()
        .iter()
        .map(|f| f.write(dir.path()))
        .collect();
    let mut sources = Sources::new();
    let policy_path = dir.path().join("policy.toml");
    std::fs::write(&policy_path, MIXED_POLICY).unwrap();
    let policies = PolicySet::load(&mut sources, &[policy_path]).unwrap();
    let options = Options {
        policies: Some((&policies, common::fixtures::TODAY)),
        ..Options::default()
    };
    let mut report = check::check_with_progress(&catalogue, &components, &options, sources, None).unwrap();
    for case in ["syntax-error", "no-world"] {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/wit")
            .join(case);
        let found = airssys_wasm::wit_world::check_path(&catalogue, &path, None, &mut report.sources).unwrap();
        report.diagnostics.extend(found);
    }
    let text = sarif::render_batch(
        &report.diagnostics,
        &report.sources,
        &report.components,
        &report.kinds,
        &sarif::Options::relative_to(dir.path(), dir.path()),
    );
    serde_json::from_str(&text).unwrap()
}

/// Extends the built-in policy (so its rules are related locations) and waives the fixtures'
/// unused grants.
const MIXED_POLICY: &str = r#"extends = ["builtin:default"]

[[waiver]]
component = "fixture"
code = "unused-grant"
reason = "kept for the next release (TICKET-7)"
expires = 2099-12-31
"#;

#[test]
fn sarif_of_a_mixed_project_conforms_to_the_schema() {
    let log = mixed_project();
    let errors = violations(&schema_validator(), &log);
    assert!(errors.is_empty(), "schema violations:\n{}", errors.join("\n"));
    assert!(results(&log).len() >= 30, "a mixed project has many results");
}

/// Every requirement GitHub code scanning adds to the schema, checked on every result.
#[test]
fn sarif_of_a_mixed_project_meets_github_requirements() {
    let log = mixed_project();
    let run = &log["runs"][0];
    let mut codes = std::collections::BTreeSet::new();
    let mut fingerprints = std::collections::BTreeSet::new();
    for result in results(&log) {
        let code = result["ruleId"].as_str().unwrap();
        codes.insert(code);
        // A location with startLine >= 1 on every result.
        let locations = result["locations"]
            .as_array()
            .unwrap_or_else(|| panic!("{code}: no locations"));
        assert_eq!(locations.len(), 1, "{code}");
        let physical = &locations[0]["physicalLocation"];
        assert!(
            physical["region"]["startLine"].as_u64().is_some_and(|l| l >= 1),
            "{code}: {physical}"
        );
        // Relative URIs: no scheme, no absolute path, no `builtin%3A`.
        for location in locations
            .iter()
            .chain(result["relatedLocations"].as_array().into_iter().flatten())
        {
            let uri = location["physicalLocation"]["artifactLocation"]["uri"]
                .as_str()
                .unwrap();
            assert!(
                !uri.contains(':') && !uri.starts_with('/') && !uri.contains("builtin"),
                "{code}: {uri}"
            );
            assert!(!uri.contains("%3A"), "{code}: {uri}");
        }
        // A fingerprint on every result, unique in the run.
        let fingerprint = result["partialFingerprints"][sarif::FINGERPRINT_KEY].as_str().unwrap();
        assert!(
            fingerprints.insert(fingerprint.to_string()),
            "{code}: duplicate fingerprint"
        );
    }
    for code in ["WIT001", "WIT006", "CMP001", "CMP002", "CMP003", "CMP007"] {
        assert!(codes.contains(code), "the mixed project reports {code}: {codes:?}");
    }
    // A binary finding anchored on the manifest line that governs it, the offset kept.
    let undeclared = result_for(&log, "CMP002");
    let uri = &undeclared["locations"][0]["physicalLocation"]["artifactLocation"]["uri"];
    assert!(uri.as_str().unwrap().ends_with(".toml"), "{undeclared:#}");
    assert!(
        undeclared["properties"]["byteOffset"].as_u64().is_some(),
        "{undeclared:#}"
    );
    assert!(
        undeclared["message"]["text"]
            .as_str()
            .unwrap()
            .contains("at byte offset 0x")
    );
    let binary_region = undeclared["relatedLocations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["physicalLocation"]["region"]["byteOffset"] == undeclared["properties"]["byteOffset"])
        .unwrap_or_else(|| panic!("the import's byte region is a related location: {undeclared:#}"));
    assert!(
        binary_region["physicalLocation"]["region"]["byteOffset"]
            .as_u64()
            .is_some()
    );
    // A binary with no manifest line: line 1 of the component.
    let invalid = result_for(&log, "CMP001");
    let physical = &invalid["locations"][0]["physicalLocation"];
    assert_eq!(physical["artifactLocation"]["uri"], "invalid-binary.wasm");
    assert_eq!(physical["region"]["startLine"], 1);
    // Built-in policies resolve through a base id, not a `builtin:` URI.
    let base = &run["originalUriBaseIds"][sarif::BUILTIN_POLICIES_BASE]["uri"];
    assert!(base.as_str().unwrap().starts_with("https://") && base.as_str().unwrap().ends_with('/'));
    // Every rule has a security-severity GitHub can rank.
    for rule in run["tool"]["driver"]["rules"].as_array().unwrap() {
        let severity: f64 = rule["properties"]["security-severity"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((0.1..=10.0).contains(&severity), "{}", rule["id"]);
    }
    // Waived findings are results with a suppression carrying the waiver's reason.
    let waived: Vec<&Value> = results(&log)
        .iter()
        .filter(|r| r.get("suppressions").is_some())
        .collect();
    assert!(!waived.is_empty());
    for result in &waived {
        assert_eq!(result["ruleId"], "CMP003");
        let suppression = &result["suppressions"][0];
        assert_eq!(suppression["kind"], "external");
        assert_eq!(suppression["status"], "accepted");
        assert_eq!(suppression["justification"], "kept for the next release (TICKET-7)");
        let at = &suppression["location"]["physicalLocation"];
        assert_eq!(at["artifactLocation"]["uri"], "policy.toml");
        assert_eq!(at["region"]["startLine"], 3);
    }
    assert!(
        results(&log)
            .iter()
            .all(|r| r["ruleId"] != "CMP003" || r.get("suppressions").is_some()),
        "every unused grant of `fixture` is waived"
    );
}

/// A finding keeps its fingerprint when lines above it move, so code scanning keeps its alert.
#[test]
fn fingerprints_survive_moved_lines() {
    let fingerprints = |text: &str| -> Vec<Value> {
        let mut sources = Sources::new();
        let parsed = Manifest::parse_in(&mut sources, "Component.toml", text);
        let log: Value = serde_json::from_str(&sarif::render(&parsed.diagnostics, &sources)).unwrap();
        results(&log).iter().map(|r| r["partialFingerprints"].clone()).collect()
    };
    let moved = MANIFEST.replace("[permissions]", "\n\n# moved down\n[permissions]");
    let before = fingerprints(MANIFEST);
    assert!(before.len() >= 3);
    assert_eq!(before, fingerprints(&moved));
}

/// docs/check.md states the number of rules in a log; it must not drift from the registry.
#[test]
fn documented_rule_count_is_the_registry() {
    let docs = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/check.md")).unwrap();
    let stated = format!("**all** {} rules of the tool", RULES.len());
    assert!(docs.contains(&stated), "docs/check.md should say {stated:?}");
}
