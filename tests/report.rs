//! `airssys-wasm report`, end to end, over one batch: the three bundled examples, a component
//! built here that asks for too much (policy denials, a waiver, a shell, a delete of `/**`), a
//! component whose file name is markup and that has no manifest, an invalid binary, and a
//! manifest reviewed alone whose grant path is markup. The HTML page is loaded in a real
//! browser (Debian's `chromium`, which `.ci/run` installs): the DOM after the page's script ran
//! has one matrix row per component with the expected cells, the filter and the sort work, no
//! input became markup, and a screenshot and a PDF are written into the target directory. The
//! Markdown comment is a snapshot; the JSON document is checked field by field.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const CLEANER_MANIFEST: &str = r#"[component]
name = "cleaner"
version = "0.3.1"
license = "MIT"

[permissions]
filesystem = [
  { action = "read", path = "/var/log/**" },
  { action = "delete", path = "/**" },
]
network = [
  { action = "resolve", domain = "metadata.google.internal" },
  { action = "connect", domain = "logs.example.com", port = 443 },
]
process = [
  { action = "spawn", executable = "/bin/sh" },
  { action = "signal", signal = "SIGTERM" },
]
"#;

/// The review's policy: the default rules, and a waiver for the cleaner's look-up of the
/// metadata name.
const POLICY: &str = r#"extends = ["builtin:default"]

[[waiver]]
component = "cleaner"
code = "POL005"
reason = "resolves the metadata name to detect the cloud (SEC-42)"
expires = 2099-12-31
"#;

/// A manifest reviewed without a component, whose grant path is markup.
const ODD_PATHS: &str = r#"[component]
name = "odd-paths"
version = "1.0.0"

[permissions]
filesystem = [{ action = "read", path = "/srv/<script>alert(1)</script>/**" }]
"#;

/// The batch, written into a fresh directory: `(directory, the arguments that name it)`.
fn batch() -> (tempfile::TempDir, Vec<&'static str>) {
    let dir = tempfile::tempdir().unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for example in ["csv-export", "file-reader", "purge"] {
        let to = dir.path().join("examples").join(example);
        std::fs::create_dir_all(&to).unwrap();
        for file in [format!("{example}.wat"), "Component.toml".to_string()] {
            std::fs::copy(root.join("docs/examples").join(example).join(&file), to.join(&file)).unwrap();
        }
    }
    let cleaner = dir.path().join("cleaner");
    std::fs::create_dir_all(&cleaner).unwrap();
    let uses = [
        "filesystem.read-file",
        "filesystem.remove-dir-all",
        "connection.resolve",
        "connection.connect-host",
        "lifecycle.spawn-shell",
    ];
    std::fs::write(cleaner.join("cleaner.wasm"), common::component_importing(&uses, "", "")).unwrap();
    std::fs::write(cleaner.join("Component.toml"), CLEANER_MANIFEST).unwrap();
    let odd = dir.path().join("odd");
    std::fs::create_dir_all(&odd).unwrap();
    std::fs::write(odd.join("<script>.wat"), "(component)\n").unwrap();
    std::fs::write(odd.join("broken.wasm"), b"\0asm\x0d\0\x01\0not a component").unwrap();
    std::fs::write(odd.join("odd-paths.toml"), ODD_PATHS).unwrap();
    std::fs::write(dir.path().join("review.toml"), POLICY).unwrap();
    let args = vec![
        "report",
        "--policy",
        "review.toml",
        "examples",
        "cleaner",
        "odd",
        "odd/odd-paths.toml",
    ];
    (dir, args)
}

fn airssys(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_airssys-wasm"))
        .args(args)
        .current_dir(dir)
        .env_remove("NO_COLOR")
        .output()
        .expect("the binary runs")
}

fn stdout(out: &Output) -> String {
    assert_eq!(
        out.status.code(),
        Some(0),
        "report exits 0 whatever the findings: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

/// The components of the batch, in report order: name, kind, version, verdict.
const ROWS: &[(&str, &str, &str, &str)] = &[
    ("csv-export", "airssys", "1.2.0", "pass"),
    ("file-reader", "airssys", "1.0.0", "pass"),
    ("purge", "library", "0.1.0", "fail"),
    ("cleaner", "airssys", "0.3.1", "fail"),
    ("<script>", "library", "—", "fail"),
    ("broken", "—", "—", "fail"),
    ("odd-paths", "—", "1.0.0", "pass"),
];

#[test]
fn markdown_fits_a_pull_request_comment() {
    let (dir, mut args) = batch();
    args.extend(["--format", "markdown"]);
    let text = stdout(&airssys(dir.path(), &args));
    assert!(text.len() < airssys_wasm::review::markdown::LIMIT);
    // A name or path from the inputs never becomes HTML: outside code spans, the only tags
    // are the report's own.
    assert!(text.contains("`<script>`"), "{text}");
    for line in text.lines() {
        let outside: String = line.split('`').step_by(2).collect();
        let mut rest = outside.as_str();
        while let Some(at) = rest.find('<') {
            let tag = &rest[at..];
            let ours = [
                "<details>",
                "</details>",
                "<summary>",
                "</summary>",
                "<code>",
                "</code>",
                "<br>",
            ];
            assert!(
                ours.iter().any(|t| tag.starts_with(t)) || rest[..at].ends_with('\\'),
                "markup from an input in: {line}"
            );
            rest = &rest[at + 1..];
        }
    }
    common::with_snapshots(|| insta::assert_snapshot!("markdown", text));
}

#[test]
fn json_document_is_versioned_and_complete() {
    let (dir, mut args) = batch();
    args.extend(["--format", "json"]);
    let doc: serde_json::Value = serde_json::from_str(&stdout(&airssys(dir.path(), &args))).unwrap();
    assert_eq!(doc["version"], 1);
    assert_eq!(doc["tool"]["name"], "airssys-wasm");
    assert_eq!(doc["policies"], serde_json::json!(["builtin:default", "review.toml"]));
    let components = doc["components"].as_array().unwrap();
    let names: Vec<&str> = components.iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(names, ROWS.iter().map(|r| r.0).collect::<Vec<_>>());
    for (c, (_, kind, _, verdict)) in components.iter().zip(ROWS) {
        assert_eq!(c["verdict"], *verdict, "{c}");
        assert_eq!(c["kind"].as_str().unwrap_or("—"), *kind, "{c}");
    }
    let cleaner = &components[3];
    assert_eq!(cleaner["file"], "cleaner/cleaner.wasm");
    assert_eq!(cleaner["manifest"], "cleaner/Component.toml");
    assert!(cleaner["digest"].as_str().unwrap().starts_with("sha256:"));
    assert!(cleaner["size"].as_u64().unwrap() > 100);
    let grant = |text: &str| {
        cleaner["grants"]
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["grant"] == text)
            .unwrap_or_else(|| panic!("no grant {text}: {cleaner}"))
            .clone()
    };
    let delete = grant("delete `/**`");
    assert_eq!(delete["risk"], "high");
    assert_eq!(delete["policy"], "denied", "it reaches /etc/shadow: {delete}");
    assert_eq!(
        delete["used_by"],
        serde_json::json!(["airssys:ext-filesystem/filesystem@1.0.0#remove-dir-all"])
    );
    let shell = grant("spawn `/bin/sh`");
    assert_eq!(
        (shell["risk"].as_str(), shell["policy"].as_str()),
        (Some("high"), Some("denied"))
    );
    let resolve = grant("resolve `metadata.google.internal`");
    assert_eq!(resolve["policy"], "waived", "{resolve}");
    let signal = grant("signal `SIGTERM`");
    assert_eq!(signal["used_by"], serde_json::json!([]), "no import sends signals");
    assert!(signal["findings"].as_array().unwrap().contains(&"CMP003".into()));
    assert_eq!(cleaner["reach"]["executables"][0]["name"], "/bin/sh");
    assert_eq!(cleaner["reach"]["signals"][0]["name"], "SIGTERM");
    let hosts: Vec<&str> = cleaner["reach"]["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["host"].as_str().unwrap())
        .collect();
    assert_eq!(hosts, ["metadata.google.internal", "logs.example.com"]);
    // Findings carry their rule's explanation, and a waived one its waiver.
    let findings = cleaner["findings"].as_array().unwrap();
    let code = |c: &str| {
        findings
            .iter()
            .find(|f| f["code"] == c)
            .unwrap_or_else(|| panic!("no {c}"))
    };
    assert!(code("POL011")["explanation"].as_str().unwrap().len() > 40);
    assert!(code("POL011")["fix"].is_string());
    assert_eq!(code("POL005")["waiver"]["file"], "review.toml");
    // The summary ranks the riskiest grants first.
    let summary = &doc["summary"];
    assert_eq!(summary["components"], 7);
    assert_eq!(summary["riskiest"][0]["risk"], "high");
    assert_eq!(summary["riskiest"][0]["name"], "cleaner");
    assert!(summary["findings"]["waived"].as_u64().unwrap() >= 1);
    assert_eq!(summary["kinds"]["airssys"], 3);
}

#[test]
fn html_is_self_contained_and_escapes_every_input() {
    let (dir, args) = batch();
    let html = stdout(&airssys(dir.path(), &args));
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert_eq!(html.matches("<script").count(), 1, "only the page's own script");
    assert_eq!(html.matches("<style").count(), 1);
    for external in ["http://", "https://", "src=", "<link", "url(", "@import"] {
        assert!(!html.contains(external), "the page names {external}");
    }
    assert!(html.contains("&lt;script&gt;"), "the markup file name is text");
    assert!(html.contains("/srv/&lt;script&gt;alert(1)&lt;/script&gt;/**"));
    assert!(html.contains("Content-Security-Policy\" content=\"default-src 'none'; style-src 'sha256-"));
}

/// Runs headless Chromium on `url` with `args`; its standard output.
fn chromium(args: &[String], url: &str) -> String {
    let profile = tempfile::tempdir().unwrap();
    let out = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(args)
        .arg(url)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run `chromium` ({e}): the HTML report is tested in a real browser; install Debian's \
                 chromium (`apt-get install chromium`, as .ci/run does)"
            )
        });
    assert!(
        out.status.success(),
        "chromium failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// A matrix row of a DOM that Chromium dumped: whether it is hidden, and its cells' text (list
/// items separated by `; `).
#[derive(Debug)]
struct Row {
    hidden: bool,
    cells: Vec<String>,
}

fn matrix_rows(dom: &str) -> Vec<Row> {
    let table = &dom[dom.find("id=\"matrix\"").expect("the matrix")..];
    let body = &table[table.find("<tbody>").unwrap()..table.find("</tbody>").unwrap()];
    body.split("<tr")
        .skip(1)
        .map(|row| {
            let open = &row[..row.find('>').unwrap()];
            assert!(open.contains("class=\"component\""), "{open}");
            Row {
                hidden: open.contains(" hidden"),
                cells: row.split("<td").skip(1).map(cell_text).collect(),
            }
        })
        .collect()
}

/// The text of `<td ...>...</td>...`, tags removed, character references decoded.
fn cell_text(cell: &str) -> String {
    let inner = &cell[cell.find('>').unwrap() + 1..cell.find("</td>").unwrap()];
    let mut text = String::new();
    let mut in_tag = false;
    for (i, c) in inner.char_indices() {
        match c {
            '<' => {
                in_tag = true;
                if inner[i..].starts_with("</li>") {
                    text.push_str("; ");
                }
            }
            '>' => in_tag = false,
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    let text = text
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&");
    text.trim().trim_end_matches(';').trim().to_string()
}

/// The report written into the target directory (kept for a look), and its URL.
fn html_report() -> (PathBuf, String) {
    let (dir, mut args) = batch();
    let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("report");
    std::fs::create_dir_all(&out).unwrap();
    let page = out.join("report.html");
    let page_arg = page.display().to_string();
    args.extend(["-o", &page_arg]);
    let run = airssys(dir.path(), &args);
    assert_eq!(run.status.code(), Some(0), "{}", String::from_utf8_lossy(&run.stderr));
    assert!(run.stdout.is_empty(), "-o writes the file, not stdout");
    assert_eq!(
        String::from_utf8_lossy(&run.stderr),
        format!("wrote {page_arg} (7 components)\n")
    );
    (page.clone(), format!("file://{}", page.display()))
}

#[test]
fn html_in_a_browser_has_one_row_per_component_with_its_cells() {
    let (page, url) = html_report();
    let dom = chromium(&["--dump-dom".to_string()], &url);
    assert!(dom.contains("data-ready=\"true\""), "the page's script ran");
    assert_eq!(dom.matches("<script").count(), 1, "no input became a script element");
    assert!(!dom.contains("<img"), "no input became an element");
    assert!(dom.contains("7 of 7 shown"));
    let rows = matrix_rows(&dom);
    assert_eq!(rows.len(), ROWS.len(), "{rows:#?}");
    for (row, (name, kind, version, verdict)) in rows.iter().zip(ROWS) {
        assert!(!row.hidden);
        assert_eq!(row.cells.len(), 10, "{row:?}");
        assert!(row.cells[0].starts_with(name), "{row:?}");
        assert_eq!(
            (&*row.cells[1], &*row.cells[2], &*row.cells[9]),
            (*kind, *version, *verdict)
        );
    }
    let cell = |row: usize, column: usize| rows[row].cells[column].as_str();
    assert_eq!(cell(0, 5), "/data/in/** read; /data/out/* write");
    assert_eq!(cell(0, 6), "reports.example.com resolve, connect 443");
    assert!(
        cell(0, 4).starts_with("sha256:") && cell(0, 3).ends_with("KiB"),
        "{rows:?}"
    );
    assert_eq!(cell(3, 5), "/var/log/** read; /** delete");
    assert_eq!(cell(3, 7), "/bin/sh");
    assert_eq!(cell(3, 8), "SIGTERM");
    assert!(cell(5, 4).starts_with("sha256:"), "an invalid binary has a digest");
    assert_ne!(cell(5, 3), "—", "and a size");
    assert_eq!(cell(6, 5), "/srv/<script>alert(1)</script>/** read");
    assert!(page.exists());
}

#[test]
fn html_in_a_browser_filters_and_sorts_from_the_address() {
    let (_, url) = html_report();
    let dom = chromium(&["--dump-dom".to_string()], &format!("{url}#filter=CLEANER"));
    let rows = matrix_rows(&dom);
    let shown: Vec<&str> = rows.iter().filter(|r| !r.hidden).map(|r| &*r.cells[0]).collect();
    assert_eq!(shown, ["cleanercleaner/cleaner.wasm"], "case-insensitive filter");
    assert!(dom.contains("1 of 7 shown"));
    let article = |id: &str| {
        let at = dom.find(&format!("<article class=\"component\" id=\"{id}\"")).unwrap();
        dom[at..at + dom[at..].find('>').unwrap()].to_string()
    };
    assert!(!article("c-4").contains("hidden"), "the cleaner's section stays");
    assert!(article("c-1").contains("hidden"), "the others' sections are hidden");

    let dom = chromium(&["--dump-dom".to_string()], &format!("{url}#sort=size&order=desc"));
    let sizes: Vec<String> = matrix_rows(&dom).iter().map(|r| r.cells[3].clone()).collect();
    let bytes = |s: &str| -> f64 {
        let (n, unit) = s.split_once(' ').unwrap_or(("0", "B"));
        n.parse::<f64>().unwrap() * if unit == "KiB" { 1024.0 } else { 1.0 }
    };
    let parsed: Vec<f64> = sizes.iter().filter(|s| *s != "—").map(|s| bytes(s)).collect();
    assert!(parsed.windows(2).all(|w| w[0] >= w[1]), "descending by size: {sizes:?}");
    assert!(dom.contains("aria-sort=\"descending\""));
}

#[test]
fn html_in_a_browser_renders_a_screenshot_and_prints() {
    let (page, url) = html_report();
    let dir = page.parent().unwrap();
    let shoot = |flag: &str, file: &str, magic: &[u8]| {
        let out = dir.join(file);
        let _ = std::fs::remove_file(&out);
        chromium(
            &[
                "--window-size=1400,1800".to_string(),
                "--no-pdf-header-footer".to_string(),
                format!("{flag}={}", out.display()),
            ],
            &url,
        );
        let bytes = std::fs::read(&out).unwrap_or_else(|e| panic!("chromium wrote no {file}: {e}"));
        assert!(
            bytes.starts_with(magic) && bytes.len() > 10_000,
            "{file}: {} bytes",
            bytes.len()
        );
    };
    shoot("--screenshot", "report.png", b"\x89PNG\r\n\x1a\n");
    shoot("--print-to-pdf", "report.pdf", b"%PDF-");
}

#[test]
fn unreadable_inputs_are_exit_2_naming_the_file() {
    let (dir, _) = batch();
    let fail = |args: &[&str], want: &str| {
        let out = airssys(dir.path(), args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(want), "{args:?}: {stderr}");
        assert!(out.stdout.is_empty(), "{args:?}");
    };
    fail(&["report", "no/such.wasm"], "error: cannot read no/such.wasm");
    fail(
        &["report", "examples", "missing.toml"],
        "error: cannot read missing.toml",
    );
    std::fs::create_dir_all(dir.path().join("empty")).unwrap();
    fail(&["report", "empty"], "no .wasm, .wat or .toml files found under empty");
    fail(
        &["report", "examples", "-o", "no/such/dir/report.html"],
        "error: cannot write no/such/dir/report.html",
    );
    std::fs::write(
        dir.path().join("bad-policy.toml"),
        "[network]\nallow-any-hosts = false\n",
    )
    .unwrap();
    fail(
        &["report", "--policy", "bad-policy.toml", "examples"],
        "the policy is invalid",
    );
    fail(&["report", "--manifest", "none.toml", "examples"], "none.toml");
}

#[test]
fn the_format_follows_the_output_file_unless_given() {
    let (dir, _) = batch();
    for (file, starts) in [
        ("r.md", "## airssys-wasm report"),
        ("r.json", "{"),
        ("r.htm", "<!DOCTYPE html>"),
    ] {
        let out = airssys(dir.path(), &["report", "examples", "-o", file]);
        assert_eq!(out.status.code(), Some(0));
        let text = std::fs::read_to_string(dir.path().join(file)).unwrap();
        assert!(text.starts_with(starts), "{file}: {text}");
    }
    let out = airssys(dir.path(), &["report", "examples", "--format", "json", "-o", "r.md"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        std::fs::read_to_string(dir.path().join("r.md"))
            .unwrap()
            .starts_with('{')
    );
}
