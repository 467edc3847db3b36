//! What a call into a component can end in besides its result: [`CallError`], and the
//! [`Fault`] that ends an instance without ending the host.

use wasmtime::Trap;

use super::limits::RunLimits;

/// Why a call into a component did not produce its result.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    #[error("no component named `{0}` is loaded")]
    NotLoaded(String),
    #[error("component `{component}` cannot be called: {reason}")]
    Unavailable { component: String, reason: String },
    #[error("component `{component}` was stopped: {fault}")]
    Fault { component: String, fault: Fault },
    #[error("component `{component}` returned an error: {error}")]
    Component { component: String, error: String },
    #[error("cannot load component: {0}")]
    Load(String),
}

/// What ended an instance. The host itself keeps running; the instance cannot be called again.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Fault {
    #[error("it ran past its time limit of {0} ms")]
    Timeout(u64),
    #[error("it used up its fuel limit of {0}")]
    OutOfFuel(u64),
    #[error("its call stack overflowed (too deep a recursion)")]
    StackOverflow,
    #[error("it tried to grow its memory past the limit of {0} bytes")]
    MemoryLimit(u64),
    #[error("it trapped: {0}")]
    Trap(String),
    /// It called `wasi:cli/exit`, which unwinds the instance.
    #[error("it exited with code {0}")]
    Exited(i32),
    /// The host could not write an audit line (the call stops there: nothing happens without
    /// its record). This is the host's failure, not the component's.
    #[error("the host cannot write its audit log: {0}")]
    AuditLog(String),
}

impl Fault {
    /// Whether the host itself failed (rather than the component).
    pub fn is_host_failure(&self) -> bool {
        matches!(self, Fault::AuditLog(_))
    }
}

impl Fault {
    /// Classifies the error of a failed call.
    pub fn from_error(error: &wasmtime::Error, limits: &RunLimits) -> Fault {
        match error.downcast_ref::<Trap>() {
            Some(Trap::Interrupt) => Fault::Timeout(limits.timeout_ms),
            Some(Trap::OutOfFuel) => Fault::OutOfFuel(limits.fuel.unwrap_or(u64::MAX)),
            Some(Trap::StackOverflow) => Fault::StackOverflow,
            _ => {
                let text = format!("{error:#}");
                if text.contains("forcing trap when growing memory") {
                    Fault::MemoryLimit(limits.memory_bytes)
                } else {
                    Fault::Trap(text)
                }
            }
        }
    }
}
