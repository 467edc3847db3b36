//! The documentation's `console` examples that run on files the repository ships
//! (`docs/examples/`, `tests/fixtures/`, `policies/`) are run, and their output must be what
//! the documentation shows, so that it cannot drift. A block is a series of `$ command` lines,
//! each followed by its expected output; `$ echo $?` is the previous command's exit code.
//! Commands with pipes or redirections, and commands that name files the repository does not
//! ship (the guide's illustrative `components/`), are not run.

use std::path::Path;
use std::process::Command;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const DOCS: &[&str] = &[
    "README.md",
    "docs/check.md",
    "docs/json-output.md",
    "docs/manifest.md",
    "docs/policies.md",
    "docs/report.md",
    "docs/runtime.md",
    "docs/wit.md",
];

/// One `$ airssys-wasm ...` command of a block, the output shown after it, and the exit code
/// an `$ echo $?` after it shows.
struct Example {
    doc: &'static str,
    args: Vec<String>,
    output: String,
    exit: Option<i32>,
}

fn examples() -> Vec<Example> {
    let mut out = Vec::new();
    for doc in DOCS {
        let text = std::fs::read_to_string(Path::new(ROOT).join(doc)).unwrap();
        for block in text.split("```console\n").skip(1) {
            let block = block.split("\n```").next().unwrap();
            parse_block(doc, block, &mut out);
        }
    }
    out
}

fn parse_block(doc: &'static str, block: &str, out: &mut Vec<Example>) {
    let mut current: Option<Example> = None;
    let mut lines = block.lines().peekable();
    while let Some(line) = lines.next() {
        let Some(command) = line.strip_prefix("$ ") else {
            if let Some(e) = current.as_mut() {
                e.output.push_str(line);
                e.output.push('\n');
            }
            continue;
        };
        if command == "echo $?" {
            let code = lines.next().and_then(|l| l.trim().parse().ok());
            if let Some(e) = current.as_mut() {
                e.exit = code;
            }
            continue;
        }
        out.extend(current.take().filter(runnable));
        current = command.strip_prefix("airssys-wasm ").map(|rest| Example {
            doc,
            args: rest
                .split_whitespace()
                .map(|a| a.trim_matches('"').to_string())
                .collect(),
            output: String::new(),
            exit: None,
        });
        if command.contains(['|', '>', '<', '"', '\'']) {
            current = None;
        }
    }
    out.extend(current.filter(runnable));
}

/// The subcommands, and the options whose value is not a file.
const COMMANDS: &[&str] = &[
    "check",
    "inspect",
    "wit",
    "manifest",
    "explain-request",
    "catalogue",
    "explain",
    "run",
    "report",
];
const NOT_PATHS: &[&str] = &[
    "--format", "--world", "-D", "-W", "-A", "--deny", "--warn", "--allow", "--kind", "--color",
];

/// Every argument that names a file (not a subcommand, a flag, or a flag's non-file value)
/// names one the repository ships.
fn runnable(e: &Example) -> bool {
    let mut after_value_flag = false;
    e.args.iter().all(|a| {
        let skip =
            after_value_flag || a.starts_with('-') || COMMANDS.contains(&a.as_str()) || a.starts_with("builtin:");
        after_value_flag = NOT_PATHS.contains(&a.as_str());
        skip || Path::new(ROOT).join(a).exists()
    })
}

#[test]
fn console_examples_on_shipped_files_match_the_tool() {
    let examples = examples();
    assert!(examples.len() >= 5, "{} runnable examples", examples.len());
    let mut stale = Vec::new();
    for e in &examples {
        let run = Command::new(env!("CARGO_BIN_EXE_airssys-wasm"))
            .args(&e.args)
            .current_dir(ROOT)
            .env_remove("NO_COLOR")
            .output()
            .unwrap();
        let got = format!(
            "{}{}",
            String::from_utf8_lossy(&run.stdout),
            String::from_utf8_lossy(&run.stderr)
        );
        let same_exit = e.exit.is_none_or(|code| run.status.code() == Some(code));
        if got.trim_end() != e.output.trim_end() || !same_exit {
            stale.push(format!(
                "{}: `airssys-wasm {}` (exit {:?}, documented {:?}) prints:\n{got}",
                e.doc,
                e.args.join(" "),
                run.status.code(),
                e.exit
            ));
        }
    }
    assert!(stale.is_empty(), "stale documentation:\n{}", stale.join("\n"));
}
