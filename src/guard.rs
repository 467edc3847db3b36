//! Third-party parsers (wit-parser, wasmparser, wat, toml) run on untrusted input inside
//! [`catch`]: should one of them panic on some input (a fuzzer found wit-parser doing so on a
//! doc comment `/**/`), the panic becomes an error value that the caller reports as a finding
//! about the input, and the tool goes on. While a guarded call runs, [`active`] is true, so that
//! a panic hook (the CLI installs one) can keep the caught panic's message off the terminal.

use std::cell::Cell;
use std::panic::{AssertUnwindSafe, catch_unwind};

thread_local! {
    static DEPTH: Cell<u32> = const { Cell::new(0) };
}

/// Runs `f`; a panic in it is returned as its message.
///
/// # Errors
/// The panic's message when `f` panicked.
pub fn catch<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    DEPTH.with(|d| d.set(d.get() + 1));
    let result = catch_unwind(AssertUnwindSafe(f));
    DEPTH.with(|d| d.set(d.get() - 1));
    result.map_err(|payload| {
        payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic without a message".to_string())
    })
}

/// Whether a guarded call is running on this thread.
pub fn active() -> bool {
    DEPTH.with(Cell::get) > 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_its_message() {
        assert_eq!(catch(|| 7), Ok(7));
        assert!(!active());
        let e = catch(|| -> u8 {
            assert!(active());
            panic!("boom {}", 1)
        });
        assert_eq!(e, Err("boom 1".to_string()));
        assert!(!active());
    }
}
