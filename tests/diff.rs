//! `airssys-wasm diff OLD NEW`, the upgrade gate, end to end: a v2 that imports a new
//! operation and widens a grant fails the gate, a policy's `[upgrade] allow-gains` lets chosen
//! gains through, directories pair components by name, and bad inputs are exit 2.

mod common;

use std::path::Path;
use std::process::{Command, Output};

/// The operations of the bundled example (docs/examples/csv-export).
const V1_USES: &[&str] = common::CSV_EXPORT_USES;

const V1_MANIFEST: &str = r#"[component]
name = "csv-export"
version = "1.2.0"

[permissions]
filesystem = [
  { action = "read", path = "/data/in/**" },
  { action = "write", path = "/data/out/*" },
]
network = [
  { action = "resolve", domain = "reports.example.com" },
  { action = "connect", domain = "reports.example.com", port = 443 },
]
"#;

/// v2 deletes what it has exported, and reads all of /data.
fn v2_manifest() -> String {
    V1_MANIFEST
        .replace("1.2.0", "2.0.0")
        .replace("/data/in/**", "/data/**")
        .replace(
            "{ action = \"write\", path = \"/data/out/*\" },",
            "{ action = \"write\", path = \"/data/out/*\" },\n  { action = \"delete\", path = \"/data/out/*\" },",
        )
}

fn write_version(dir: &Path, uses: &[&str], manifest: &str) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("csv-export.wasm"), common::component_importing(uses, "", "")).unwrap();
    std::fs::write(dir.join("Component.toml"), manifest).unwrap();
}

fn versions() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write_version(&dir.path().join("v1"), V1_USES, V1_MANIFEST);
    let mut v2_uses = V1_USES.to_vec();
    v2_uses.insert(3, "filesystem.delete-file");
    write_version(&dir.path().join("v2"), &v2_uses, &v2_manifest());
    dir
}

fn airssys(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_airssys-wasm"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the binary runs")
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

/// `(kind, gained, text)` of each change.
fn changes(doc: &serde_json::Value) -> Vec<(String, bool, String)> {
    doc["components"][0]["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["kind"].as_str().unwrap().to_string(),
                c["gained"].as_bool().unwrap(),
                c["text"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn a_gained_capability_fails_the_gate() {
    let dir = versions();
    let out = airssys(dir.path(), &["diff", "--format", "json", "v1", "v2"]);
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    let doc = json(&out);
    assert_eq!(doc["version"], 1);
    assert_eq!(doc["components"][0]["name"], "csv-export");
    let got = changes(&doc);
    let want = [
        ("operation", true, "airssys:ext-filesystem/filesystem@1.0.0#delete-file"),
        ("permission", true, "filesystem:delete"),
        ("grant", true, "delete `/data/out/*`"),
        ("grant", true, "read `/data/**`"),
        ("path", true, "/data/**"),
    ];
    for (kind, gained, text) in want {
        assert!(
            got.contains(&(kind.to_string(), gained, text.to_string())),
            "no {kind} {gained} {text} in {got:#?}"
        );
    }
    let op = &doc["components"][0]["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["kind"] == "operation")
        .unwrap();
    assert_eq!(op["requires"], "filesystem:delete(path)");
    assert_eq!(op["permission"], "filesystem:delete");
    assert_eq!(doc["summary"]["fails"], true);

    // The reverse upgrade only loses.
    let out = airssys(dir.path(), &["diff", "v2", "v1"]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("  lost                        operation  airssys:ext-filesystem/filesystem@1.0.0#delete-file\n"),
        "{text}"
    );
    assert!(
        text.ends_with(" lost: no capability gained that the policies do not allow\n"),
        "{text}"
    );
    assert!(
        text.contains("\n  lost                        grant      read `/data/**`\n"),
        "{text}"
    );
}

#[test]
fn a_policy_allows_chosen_gains() {
    let dir = versions();
    std::fs::write(
        dir.path().join("upgrade.toml"),
        "extends = [\"builtin:default\"]\n\n[upgrade]\nallow-gains = [\"filesystem:read\", \"filesystem:delete\"]\n",
    )
    .unwrap();
    let out = airssys(
        dir.path(),
        &["diff", "--policy", "upgrade.toml", "--format", "json", "v1", "v2"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));
    let doc = json(&out);
    assert_eq!(
        doc["allowed_gains"],
        serde_json::json!(["filesystem:delete", "filesystem:read"])
    );
    assert!(
        doc["components"][0]["changes"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["gained"] == true)
            .all(|c| c["allowed"] == true)
    );
    // Allowing only reads still fails on the new delete.
    std::fs::write(
        dir.path().join("reads.toml"),
        "[upgrade]\nallow-gains = [\"filesystem:read\"]\n",
    )
    .unwrap();
    assert_eq!(
        airssys(dir.path(), &["diff", "--policy", "reads.toml", "v1", "v2"])
            .status
            .code(),
        Some(1)
    );
    // An unknown permission is an invalid policy.
    std::fs::write(
        dir.path().join("bad.toml"),
        "[upgrade]\nallow-gains = [\"filesystem:reed\"]\n",
    )
    .unwrap();
    let out = airssys(dir.path(), &["diff", "--policy", "bad.toml", "v1", "v2"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("`filesystem:reed` is not a permission") && err.contains("did you mean `filesystem:read`?"),
        "{err}"
    );
}

#[test]
fn manifests_components_and_unpaired_components() {
    let dir = versions();
    let out = airssys(
        dir.path(),
        &["diff", "--format", "json", "v1/Component.toml", "v2/Component.toml"],
    );
    assert_eq!(out.status.code(), Some(1));
    let got = changes(&json(&out));
    assert!(
        got.iter().all(|(kind, _, _)| kind != "operation"),
        "manifests have no imports: {got:?}"
    );
    let out = airssys(dir.path(), &["diff", "v1/csv-export.wasm", "v2/csv-export.wasm"]);
    assert_eq!(out.status.code(), Some(1));

    // A component only in NEW gains everything it has; one only in OLD loses everything.
    write_version(
        &dir.path().join("v2/extra"),
        &["host-services.log"],
        &V1_MANIFEST.replace("csv-export", "extra"),
    );
    let out = airssys(dir.path(), &["diff", "--format", "json", "v1", "v2"]);
    let doc = json(&out);
    let names: Vec<&str> = doc["components"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["csv-export", "extra"]);
    assert!(doc["components"][1].get("old").is_none());
    let out = airssys(dir.path(), &["diff", "--format", "json", "v2", "v1"]);
    let doc = json(&out);
    let extra = &doc["components"][1];
    assert!(extra.get("new").is_none());
    assert!(
        extra["changes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["gained"] == false)
    );
}

#[test]
fn bad_inputs_are_exit_2() {
    let dir = versions();
    let out = airssys(dir.path(), &["diff", "v1", "v2/Component.toml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("give two components, two manifests or two directories"));
    assert_eq!(airssys(dir.path(), &["diff", "v1", "nope"]).status.code(), Some(2));
    std::fs::write(
        dir.path().join("v2/Component.toml"),
        "[component]\nname = \"csv-export\"\nversion = \"v2\"\n",
    )
    .unwrap();
    let out = airssys(dir.path(), &["diff", "v1", "v2"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("MAN008")
            || String::from_utf8_lossy(&out.stderr).contains("MAN008")
    );
}

#[test]
fn markdown_fits_a_pull_request_comment() {
    let dir = versions();
    let out = airssys(dir.path(), &["diff", "--format", "markdown", "v1", "v2"]);
    assert_eq!(out.status.code(), Some(1));
    common::with_snapshots(|| insta::assert_snapshot!("diff-markdown", String::from_utf8_lossy(&out.stdout)));
}

/// `--format sarif`: one result per change on line 1 of the component, valid against the
/// schema, with fingerprints and GitHub's `security-severity`.
#[test]
fn sarif_reports_each_change_for_code_scanning() {
    let dir = versions();
    let out = airssys(dir.path(), &["diff", "--format", "sarif", "v1", "v2"]);
    assert_eq!(out.status.code(), Some(1));
    let log = json(&out);
    let errors = common::sarif_schema::violations(&common::sarif_schema::schema_validator(), &log);
    assert!(errors.is_empty(), "{}", errors.join("\n"));
    let results = log["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), 5);
    for r in results {
        assert_eq!(r["ruleId"], "capability-gained");
        assert_eq!(r["level"], "error");
        let physical = &r["locations"][0]["physicalLocation"];
        assert_eq!(physical["artifactLocation"]["uri"], "v2/csv-export.wasm");
        assert_eq!(physical["region"]["startLine"], 1);
        assert!(r["partialFingerprints"]["airssysFinding/v1"].is_string());
    }
    assert!(
        results
            .iter()
            .any(|r| r["message"]["text"] == "`csv-export` gained permission filesystem:delete")
    );
    for rule in log["runs"][0]["tool"]["driver"]["rules"].as_array().unwrap() {
        assert!(rule["properties"]["security-severity"].is_string(), "{rule}");
    }
}
