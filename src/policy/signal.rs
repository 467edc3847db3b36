//! POSIX signals as signal grants name them: the standard signals, spelled `SIGNAME`, with their
//! Linux numbers. The table is small and fixed, so it lives here rather than in a dependency;
//! the numbers are those of Linux on x86, ARM and RISC-V (MIPS, SPARC and Alpha differ, and the
//! runtime must translate through the host's own constants there).

use std::fmt;
use std::str::FromStr;

use super::error::{PatternError, PatternErrorKind, closest};

/// A standard POSIX signal.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
#[allow(missing_docs)] // Each variant is its `SIG` name; see `as_str`.
pub enum Signal {
    Hup,
    Int,
    Quit,
    Ill,
    Trap,
    Abrt,
    Bus,
    Fpe,
    Kill,
    Usr1,
    Segv,
    Usr2,
    Pipe,
    Alrm,
    Term,
    Stkflt,
    Chld,
    Cont,
    Stop,
    Tstp,
    Ttin,
    Ttou,
    Urg,
    Xcpu,
    Xfsz,
    Vtalrm,
    Prof,
    Winch,
    Io,
    Pwr,
    Sys,
}

/// Every signal with its canonical name and Linux number, in number order.
const TABLE: [(Signal, &str, i32); 31] = [
    (Signal::Hup, "SIGHUP", 1),
    (Signal::Int, "SIGINT", 2),
    (Signal::Quit, "SIGQUIT", 3),
    (Signal::Ill, "SIGILL", 4),
    (Signal::Trap, "SIGTRAP", 5),
    (Signal::Abrt, "SIGABRT", 6),
    (Signal::Bus, "SIGBUS", 7),
    (Signal::Fpe, "SIGFPE", 8),
    (Signal::Kill, "SIGKILL", 9),
    (Signal::Usr1, "SIGUSR1", 10),
    (Signal::Segv, "SIGSEGV", 11),
    (Signal::Usr2, "SIGUSR2", 12),
    (Signal::Pipe, "SIGPIPE", 13),
    (Signal::Alrm, "SIGALRM", 14),
    (Signal::Term, "SIGTERM", 15),
    (Signal::Stkflt, "SIGSTKFLT", 16),
    (Signal::Chld, "SIGCHLD", 17),
    (Signal::Cont, "SIGCONT", 18),
    (Signal::Stop, "SIGSTOP", 19),
    (Signal::Tstp, "SIGTSTP", 20),
    (Signal::Ttin, "SIGTTIN", 21),
    (Signal::Ttou, "SIGTTOU", 22),
    (Signal::Urg, "SIGURG", 23),
    (Signal::Xcpu, "SIGXCPU", 24),
    (Signal::Xfsz, "SIGXFSZ", 25),
    (Signal::Vtalrm, "SIGVTALRM", 26),
    (Signal::Prof, "SIGPROF", 27),
    (Signal::Winch, "SIGWINCH", 28),
    (Signal::Io, "SIGIO", 29),
    (Signal::Pwr, "SIGPWR", 30),
    (Signal::Sys, "SIGSYS", 31),
];

/// Other names of the same signals; refused with the canonical name as the fix, so that every
/// grant is written one way.
const ALIASES: [(&str, &str); 4] = [
    ("SIGIOT", "SIGABRT"),
    ("SIGPOLL", "SIGIO"),
    ("SIGCLD", "SIGCHLD"),
    ("SIGUNUSED", "SIGSYS"),
];

impl Signal {
    /// Every signal, in number order.
    pub const ALL: [Signal; 31] = {
        let mut all = [Signal::Hup; 31];
        let mut i = 0;
        while i < TABLE.len() {
            all[i] = TABLE[i].0;
            i += 1;
        }
        all
    };

    /// Parses a signal name: `SIGTERM`, case-insensitively (`sigterm`).
    ///
    /// # Errors
    /// Anything else, with the canonical name as help when one was plainly meant (`TERM`,
    /// `15`, `SIGIOT`, `SIGTREM`).
    pub fn parse(input: &str) -> Result<Signal, PatternError> {
        let upper = input.to_ascii_uppercase();
        if let Some(&(signal, _, _)) = TABLE.iter().find(|(_, name, _)| *name == upper) {
            return Ok(signal);
        }
        let suggestion = suggest(&upper);
        Err(PatternErrorKind::UnknownSignal {
            input: input.into(),
            suggestion,
        }
        .into())
    }

    /// The signal with this Linux number.
    pub fn from_number(number: i32) -> Option<Signal> {
        TABLE.iter().find(|(_, _, n)| *n == number).map(|(s, _, _)| *s)
    }

    /// The canonical name, such as `"SIGTERM"`.
    pub fn as_str(self) -> &'static str {
        TABLE[self as usize].1
    }

    /// The Linux signal number.
    pub fn number(self) -> i32 {
        TABLE[self as usize].2
    }
}

/// The canonical name meant by an upper-cased near miss.
fn suggest(upper: &str) -> Option<&'static str> {
    if let Some(&(_, canonical)) = ALIASES.iter().find(|(alias, _)| *alias == upper) {
        return Some(canonical);
    }
    // Real-time signals are outside the table; a near spelling like SIGTTIN would mislead.
    if upper.starts_with("SIGRT") {
        return None;
    }
    if let Ok(number) = upper.parse::<i32>() {
        return Signal::from_number(number).map(Signal::as_str);
    }
    let prefixed = format!("SIG{upper}");
    if let Some(&(_, name, _)) = TABLE.iter().find(|(_, name, _)| *name == prefixed) {
        return Some(name);
    }
    closest(upper, TABLE.iter().map(|(_, name, _)| *name))
}

impl fmt::Display for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Signal {
    type Err = PatternError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn suggestion(input: &str) -> Option<&'static str> {
        match Signal::parse(input).unwrap_err().into_kind() {
            PatternErrorKind::UnknownSignal { suggestion, .. } => suggestion,
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn table_is_in_declaration_and_number_order() {
        for (i, (signal, name, number)) in TABLE.iter().enumerate() {
            assert_eq!(*signal as usize, i);
            assert_eq!(signal.as_str(), *name);
            assert_eq!(signal.number(), *number);
            assert_eq!(Signal::ALL[i], *signal);
            assert_eq!(Signal::parse(name).unwrap(), *signal);
        }
    }

    #[test]
    fn well_known_numbers() {
        assert_eq!(Signal::Term.number(), 15);
        assert_eq!(Signal::Kill.number(), 9);
        assert_eq!(Signal::Chld.number(), 17);
        assert_eq!(Signal::Stop.number(), 19);
        assert_eq!(Signal::from_number(28), Some(Signal::Winch));
        assert_eq!(Signal::from_number(0), None);
        assert_eq!(Signal::from_number(64), None);
    }

    #[test]
    fn case_insensitive_with_prefix_only() {
        assert_eq!(Signal::parse("sigterm").unwrap(), Signal::Term);
        assert_eq!(Signal::parse("SigHup").unwrap(), Signal::Hup);
        assert_eq!("SIGUSR1".parse::<Signal>().unwrap(), Signal::Usr1);
        assert_eq!(Signal::Term.to_string(), "SIGTERM");
    }

    #[test]
    fn near_misses_get_the_canonical_name() {
        assert_eq!(suggestion("TERM"), Some("SIGTERM"));
        assert_eq!(suggestion("term"), Some("SIGTERM"));
        assert_eq!(suggestion("15"), Some("SIGTERM"));
        assert_eq!(suggestion("SIGIOT"), Some("SIGABRT"));
        assert_eq!(suggestion("SIGTREM"), Some("SIGTERM"));
        assert_eq!(suggestion("SIGRTMIN"), None);
        assert_eq!(suggestion("SIGRTMIN+1"), None);
        assert_eq!(suggestion("SIGFOOBAR"), None);
        assert_eq!(suggestion(""), None);
        let err = Signal::parse("TERM").unwrap_err();
        assert_eq!(err.to_string(), "unknown signal `TERM`");
        assert_eq!(err.help().unwrap(), "did you mean `SIGTERM`?");
    }
}
