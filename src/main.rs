//! The `airssys-wasm` binary: all the work is in the library's [`airssys_wasm::cli`]-free
//! modules; this file only parses arguments, runs the command and sets the exit code.

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
