//! The `airssys-wasm` binary. All the work is in the library; the `cli` module parses
//! arguments, runs the command, prints, and sets the exit code.

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
