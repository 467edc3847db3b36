//! The vocabulary of permissions: the three domains of a manifest (`filesystem`, `network`,
//! `process`) and the actions each one grants, with their manifest spellings. Parsing an action
//! name is the only fallible step here; it fails with a "did you mean" so that a typo in a
//! manifest never silently becomes a different permission.

use std::fmt;
use std::str::FromStr;

use super::error::{PatternError, PatternErrorKind};

/// A permission domain: one of the `[permissions]` arrays of a manifest.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Domain {
    /// `[[permissions.filesystem]]`
    Filesystem,
    /// `[[permissions.network]]`
    Network,
    /// `[[permissions.process]]`
    Process,
}

impl Domain {
    /// Every domain, in manifest order.
    pub const ALL: [Domain; 3] = [Domain::Filesystem, Domain::Network, Domain::Process];

    /// The manifest key of the domain (`"filesystem"`, `"network"`, `"process"`).
    pub fn as_str(self) -> &'static str {
        match self {
            Domain::Filesystem => "filesystem",
            Domain::Network => "network",
            Domain::Process => "process",
        }
    }
}

impl fmt::Display for Domain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Defines an action enum with its manifest spellings, `ALL`, `as_str`, `Display` and
/// `FromStr`; the three action enums differ only in their names, so one definition keeps their
/// spelling tables from drifting apart.
macro_rules! action_enum {
    ($(#[$meta:meta])* $name:ident in $domain:expr => { $($(#[$vmeta:meta])* $variant:ident = $text:literal,)+ }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
        }

        impl $name {
            /// Every action of this domain, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];

            /// The manifest spelling of the action.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }

            /// The domain whose manifest array holds grants of this action.
            pub fn domain(self) -> Domain {
                $domain
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = PatternError;

            /// Parses the manifest spelling exactly (actions are lowercase keywords).
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::ALL.iter().copied().find(|a| a.as_str() == s).ok_or_else(|| {
                    PatternError::new(PatternErrorKind::UnknownAction {
                        input: s.to_owned(),
                        domain: $domain,
                        expected: Self::ALL.iter().map(|a| a.as_str()).collect(),
                    })
                })
            }
        }
    };
}

action_enum! {
    /// What a filesystem grant allows.
    FsAction in Domain::Filesystem => {
        /// Read file contents or list a directory.
        Read = "read",
        /// Create, write or truncate.
        Write = "write",
        /// Remove a file or directory.
        Delete = "delete",
        /// Stat: size, times, permissions, existence.
        Metadata = "metadata",
    }
}

action_enum! {
    /// What a network grant allows.
    NetAction in Domain::Network => {
        /// Open an outgoing connection to a host and port.
        Connect = "connect",
        /// Resolve a host name to addresses (the port is irrelevant).
        Resolve = "resolve",
        /// Bind a local port.
        Bind = "bind",
        /// Accept incoming connections on a local port.
        Listen = "listen",
    }
}

action_enum! {
    /// What a process grant allows.
    ProcAction in Domain::Process => {
        /// Start one named executable.
        Spawn = "spawn",
        /// Send one named signal.
        Signal = "signal",
    }
}

/// Any action of any domain.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Action {
    /// A filesystem action.
    Fs(FsAction),
    /// A network action.
    Net(NetAction),
    /// A process action.
    Proc(ProcAction),
}

impl Action {
    /// Every action, filesystem first; the position is [`Action::ordinal`].
    pub const ALL: [Action; 10] = [
        Action::Fs(FsAction::Read),
        Action::Fs(FsAction::Write),
        Action::Fs(FsAction::Delete),
        Action::Fs(FsAction::Metadata),
        Action::Net(NetAction::Connect),
        Action::Net(NetAction::Resolve),
        Action::Net(NetAction::Bind),
        Action::Net(NetAction::Listen),
        Action::Proc(ProcAction::Spawn),
        Action::Proc(ProcAction::Signal),
    ];

    /// The manifest spelling of the action.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Fs(a) => a.as_str(),
            Action::Net(a) => a.as_str(),
            Action::Proc(a) => a.as_str(),
        }
    }

    /// The domain of the action.
    pub fn domain(self) -> Domain {
        match self {
            Action::Fs(_) => Domain::Filesystem,
            Action::Net(_) => Domain::Network,
            Action::Proc(_) => Domain::Process,
        }
    }

    /// The position of the action in [`Action::ALL`], for tables indexed by action.
    pub fn ordinal(self) -> usize {
        match self {
            Action::Fs(a) => a as usize,
            Action::Net(a) => 4 + a as usize,
            Action::Proc(a) => 8 + a as usize,
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.domain(), self.as_str())
    }
}

impl From<FsAction> for Action {
    fn from(a: FsAction) -> Self {
        Action::Fs(a)
    }
}

impl From<NetAction> for Action {
    fn from(a: NetAction) -> Self {
        Action::Net(a)
    }
}

impl From<ProcAction> for Action {
    fn from(a: ProcAction) -> Self {
        Action::Proc(a)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_round_trip() {
        for a in FsAction::ALL {
            assert_eq!(a.as_str().parse::<FsAction>().unwrap(), *a);
        }
        for a in NetAction::ALL {
            assert_eq!(a.as_str().parse::<NetAction>().unwrap(), *a);
        }
        for a in ProcAction::ALL {
            assert_eq!(a.as_str().parse::<ProcAction>().unwrap(), *a);
        }
    }

    #[test]
    fn ordinals_index_all() {
        for (i, a) in Action::ALL.iter().enumerate() {
            assert_eq!(a.ordinal(), i);
        }
    }

    #[test]
    fn unknown_action_suggests_the_closest() {
        let err = "raed".parse::<FsAction>().unwrap_err();
        assert_eq!(err.to_string(), "unknown filesystem action `raed`");
        assert!(err.help().unwrap().contains("did you mean `read`"));
        let err = "READ".parse::<FsAction>().unwrap_err();
        assert!(err.help().unwrap().contains("did you mean `read`"));
        let err = "frobnicate".parse::<NetAction>().unwrap_err();
        assert_eq!(
            err.help().unwrap(),
            "expected one of `connect`, `resolve`, `bind`, `listen`"
        );
    }

    #[test]
    fn actions_know_their_domain() {
        assert_eq!(Action::from(NetAction::Bind).domain(), Domain::Network);
        assert_eq!(Action::from(ProcAction::Signal).as_str(), "signal");
        assert_eq!(Action::from(FsAction::Write).to_string(), "filesystem.write");
    }
}
