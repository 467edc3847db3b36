//! `airssys-wasm merge FILES...`: the shards' `check --format jsonl` outputs combined into what
//! one process checking the whole batch prints (see `report::jsonl::merge`).

use std::io::{BufReader, BufWriter, Write};
use std::path::PathBuf;

use airssys_wasm::Error;
use airssys_wasm::report::jsonl::{Input, merge};

use super::Outcome;

pub(super) fn run(files: &[PathBuf]) -> Result<Outcome, Error> {
    let mut inputs = Vec::with_capacity(files.len());
    let mut stdin_used = false;
    for path in files {
        let reader: Box<dyn std::io::BufRead> = if path.as_os_str() == "-" {
            if std::mem::replace(&mut stdin_used, true) {
                return Err(Error::usage("`-` (standard input) is given twice; give it once"));
            }
            Box::new(std::io::stdin().lock())
        } else {
            let file = std::fs::File::open(path).map_err(|e| Error::read(path, e))?;
            Box::new(BufReader::with_capacity(1 << 16, file))
        };
        inputs.push(Input {
            path: path.clone(),
            reader,
        });
    }
    let mut out = BufWriter::new(std::io::stdout().lock());
    let counts = merge(inputs, &mut out)?;
    out.flush().map_err(|e| Error::read("the output", e))?;
    Ok(if counts.errors > 0 {
        Outcome::Findings
    } else {
        Outcome::Clean
    })
}
