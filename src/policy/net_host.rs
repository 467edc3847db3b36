//! Network hosts: normalising a host as a resolver or browser would see it, and the host
//! patterns of network grants (`api.example.com`, `*.example.com`, `**`, IP literals). The
//! normal form is what makes look-alikes compare equal: names are lowercased, lose one trailing
//! dot and go through IDNA (UTS #46) into their ASCII (punycode) form; IP literals are parsed the
//! way the WHATWG URL standard parses them (`0x7f.1`, `2130706433` and `0177.0.0.1` are all
//! `127.0.0.1`), and IPv4-mapped IPv6 addresses become the IPv4 address they carry.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::error::{HostError, PatternError, PatternErrorKind};

/// A normalised host: a lowercase ASCII domain name or an IP address.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Host {
    /// A domain name in ASCII form, lowercase, without a trailing dot.
    Name(String),
    /// An IP address; never an IPv4-mapped IPv6 address.
    Ip(IpAddr),
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Host::Name(name) => f.write_str(name),
            Host::Ip(ip) => write!(f, "{ip}"),
        }
    }
}

/// Normalises a host name or IP literal (see the module documentation). IPv6 may be written
/// bare (`::1`) or bracketed (`[::1]`).
///
/// # Errors
/// Empty, `%` (percent-encoding is a URL notion that resolvers do not apply), `*`, a name that
/// IDNA rejects, a malformed number-like name (`1.2.3.4.5`), or a name beyond DNS limits
/// (labels of 1 to 63 bytes, 253 in all).
pub fn normalize_host(input: &str) -> Result<Host, HostError> {
    if input.is_empty() {
        return Err(PatternErrorKind::EmptyHost.into());
    }
    if input.contains('%') {
        return Err(PatternErrorKind::PercentInHost { input: input.into() }.into());
    }
    if input.contains('*') {
        return Err(invalid(input, "`*` is only allowed in grant patterns"));
    }
    if let Ok(v6) = input.parse::<Ipv6Addr>() {
        return Ok(Host::Ip(canonical_ip(IpAddr::V6(v6))));
    }
    let trimmed = input.strip_suffix('.').unwrap_or(input);
    match url::Host::parse(trimmed) {
        Ok(url::Host::Domain(name)) => check_dns_limits(input, &name).map(|()| Host::Name(name)),
        Ok(url::Host::Ipv4(v4)) => Ok(Host::Ip(IpAddr::V4(v4))),
        Ok(url::Host::Ipv6(v6)) => Ok(Host::Ip(canonical_ip(IpAddr::V6(v6)))),
        Err(e) => Err(invalid(input, &e.to_string())),
    }
}

/// A requested host in normal form, borrowed when the request already was.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum HostView<'a> {
    Name(&'a str),
    Ip(IpAddr),
}

impl<'a> From<&'a Host> for HostView<'a> {
    fn from(host: &'a Host) -> Self {
        match host {
            Host::Name(name) => HostView::Name(name),
            Host::Ip(ip) => HostView::Ip(*ip),
        }
    }
}

/// The decision's fast path: the normal form of `input` when it is cheap to tell, without
/// allocating or running IDNA, else `None` (then call [`normalize_host`]). Covers the common
/// requests: lowercase ASCII names and canonical dotted-decimal IPv4 (the standard library's
/// parser accepts only that form: no octal, hex or short forms, which the slow path handles).
pub(crate) fn normal_view(input: &str) -> Option<HostView<'_>> {
    if is_normal_name(input) {
        return Some(HostView::Name(input));
    }
    input.parse::<Ipv4Addr>().ok().map(|v4| HostView::Ip(IpAddr::V4(v4)))
}

/// Whether [`normalize_host`] would return `input` unchanged as a name: lowercase ASCII
/// labels of 1 to 63 bytes, none of them punycode (`xn--` needs validating), and a last label
/// that does not look like a number (that would make it an IPv4 address). One pass over the
/// bytes; a property test checks it against the slow path.
pub(crate) fn is_normal_name(input: &str) -> bool {
    let bytes = input.as_bytes();
    let label_ok = |label: &[u8]| !label.is_empty() && label.len() <= 63 && !label.starts_with(b"xn--");
    if bytes.len() > 253 {
        return false;
    }
    let mut start = 0;
    for (i, &byte) in bytes.iter().enumerate() {
        match byte {
            b'.' if !label_ok(&bytes[start..i]) => return false,
            b'.' => start = i + 1,
            b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' => {}
            _ => return false,
        }
    }
    let last = &bytes[start..];
    let numeric = last.iter().all(u8::is_ascii_digit)
        || last
            .strip_prefix(b"0x")
            .is_some_and(|hex| hex.iter().all(u8::is_ascii_hexdigit));
    label_ok(last) && !numeric
}

fn invalid(input: &str, reason: &str) -> PatternError {
    PatternErrorKind::InvalidHost {
        input: input.into(),
        reason: reason.into(),
    }
    .into()
}

/// The loopback address an unspecified address reaches: on Linux a connection (or a datagram)
/// to `0.0.0.0` goes to `127.0.0.1`, and one to `::` goes to `::1`. Every decision treats an
/// unspecified address as the loopback address it reaches (as well as itself), so that a rule
/// about loopback covers it: a grant of `127.0.0.1` allows a connect to `0.0.0.0`, and a denial
/// of `127.0.0.0/8` denies it (and a bind to every interface, which includes loopback).
/// `None` for every other address.
pub fn unspecified_reaches(ip: IpAddr) -> Option<IpAddr> {
    match ip {
        IpAddr::V4(v4) if v4.is_unspecified() => Some(IpAddr::V4(Ipv4Addr::LOCALHOST)),
        IpAddr::V6(v6) if v6.is_unspecified() => Some(IpAddr::V6(Ipv6Addr::LOCALHOST)),
        _ => None,
    }
}

/// IPv4-mapped IPv6 (`::ffff:a.b.c.d`) reaches the IPv4 host, so it must compare as one.
fn canonical_ip(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        IpAddr::V4(_) => ip,
    }
}

fn check_dns_limits(input: &str, name: &str) -> Result<(), HostError> {
    if name.len() > 253 {
        return Err(invalid(input, "longer than 253 characters"));
    }
    if name.split('.').any(|label| label.is_empty() || label.len() > 63) {
        return Err(invalid(input, "every label must have 1 to 63 characters"));
    }
    Ok(())
}

/// The host part of a network grant.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum HostPattern {
    /// One host: a name or an IP address.
    Exact(Host),
    /// `*.suffix`: any name strictly below the normalised `suffix`, at any depth; not the
    /// suffix itself and never an IP address.
    Subdomains(String),
    /// `**`: any host, names and addresses alike.
    Any,
}

impl HostPattern {
    /// Parses a grant host: `**`, `*.example.com`, or a host for [`normalize_host`].
    ///
    /// # Errors
    /// Anything [`normalize_host`] rejects, a `*` other than a whole first label, and a
    /// wildcard over an IP address (`*.10.0.0.1`).
    pub fn parse(input: &str) -> Result<Self, PatternError> {
        if input == "**" {
            return Ok(HostPattern::Any);
        }
        let misplaced = || PatternErrorKind::MisplacedHostWildcard { input: input.into() };
        if let Some(suffix) = input.strip_prefix("*.") {
            if suffix.contains('*') {
                return Err(misplaced().into());
            }
            return match normalize_host(suffix)? {
                Host::Name(name) => Ok(HostPattern::Subdomains(name)),
                Host::Ip(_) => Err(PatternErrorKind::WildcardIpSuffix { input: input.into() }.into()),
            };
        }
        if input.contains('*') {
            return Err(misplaced().into());
        }
        normalize_host(input).map(HostPattern::Exact)
    }

    /// True for `**` and for a wildcard over a bare top-level domain (`*.com`): such a grant
    /// reaches hosts nobody can enumerate.
    pub fn is_overly_broad(&self) -> bool {
        match self {
            HostPattern::Any => true,
            HostPattern::Subdomains(suffix) => !suffix.contains('.'),
            HostPattern::Exact(_) => false,
        }
    }

    /// Whether a normalised host matches.
    pub fn matches(&self, host: &Host) -> bool {
        match (self, host) {
            (HostPattern::Any, _) => true,
            (HostPattern::Exact(h), _) => h == host,
            (HostPattern::Subdomains(suffix), Host::Name(name)) => is_strict_subdomain(name, suffix),
            (HostPattern::Subdomains(_), Host::Ip(_)) => false,
        }
    }

    /// Whether a requested host matches, normalising it first; one that cannot be normalised
    /// matches nothing.
    pub fn matches_str(&self, host: &str) -> bool {
        normalize_host(host).is_ok_and(|h| self.matches(&h))
    }

    /// Whether every host that `other` matches is matched by `self` (exact; used to report
    /// shadowed grants).
    pub fn covers(&self, other: &HostPattern) -> bool {
        match (self, other) {
            (HostPattern::Any, _) => true,
            (_, HostPattern::Any) => false,
            (HostPattern::Exact(a), HostPattern::Exact(b)) => a == b,
            (HostPattern::Exact(_), HostPattern::Subdomains(_)) => false,
            (HostPattern::Subdomains(_), HostPattern::Exact(h)) => self.matches(h),
            (HostPattern::Subdomains(a), HostPattern::Subdomains(b)) => a == b || is_strict_subdomain(b, a),
        }
    }

    /// The pattern in normal form again, or `None` when it was built by hand from a value that
    /// does not normalise (the compiler then drops it: fail closed).
    pub(crate) fn renormalized(&self) -> Option<HostPattern> {
        match self {
            HostPattern::Any => Some(HostPattern::Any),
            HostPattern::Exact(h) => normalize_host(&h.to_string()).ok().map(HostPattern::Exact),
            HostPattern::Subdomains(s) => HostPattern::parse(&format!("*.{s}")).ok(),
        }
    }
}

/// `name` is `suffix` with at least one more label in front.
pub(crate) fn is_strict_subdomain(name: &str, suffix: &str) -> bool {
    name.len() > suffix.len() + 1 && name.ends_with(suffix) && name.as_bytes()[name.len() - suffix.len() - 1] == b'.'
}

impl fmt::Display for HostPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HostPattern::Exact(h) => write!(f, "{h}"),
            HostPattern::Subdomains(suffix) => write!(f, "*.{suffix}"),
            HostPattern::Any => f.write_str("**"),
        }
    }
}

impl std::str::FromStr for HostPattern {
    type Err = PatternError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::net::Ipv4Addr;

    fn host(s: &str) -> Host {
        normalize_host(s).unwrap()
    }

    fn pat(s: &str) -> HostPattern {
        HostPattern::parse(s).unwrap()
    }

    fn v4(a: u8, b: u8, c: u8, d: u8) -> Host {
        Host::Ip(IpAddr::V4(Ipv4Addr::new(a, b, c, d)))
    }

    #[test]
    fn names_normalise() {
        assert_eq!(host("Example.COM"), Host::Name("example.com".into()));
        assert_eq!(host("example.com."), Host::Name("example.com".into()));
        assert_eq!(host("bücher.ch"), Host::Name("xn--bcher-kva.ch".into()));
        assert_eq!(host("BÜCHER.ch"), host("xn--bcher-kva.ch"));
        // Fullwidth letters are a classic look-alike; UTS #46 maps them to ASCII.
        assert_eq!(host("ｅｘａｍｐｌｅ.com"), host("example.com"));
        assert_eq!(host("_dmarc.example.com"), Host::Name("_dmarc.example.com".into()));
        assert_eq!(host("localhost"), Host::Name("localhost".into()));
    }

    #[test]
    fn cyrillic_look_alike_is_a_different_host() {
        // "е" below is CYRILLIC SMALL LETTER IE.
        let fake = host("\u{0435}xample.com");
        assert_ne!(fake, host("example.com"));
        assert!(fake.to_string().starts_with("xn--"));
    }

    #[test]
    fn ip_literals_parse_like_browsers() {
        let loopback = v4(127, 0, 0, 1);
        for s in ["127.0.0.1", "0x7f.1", "2130706433", "0177.0.0.1", "127.1", "0x7f000001"] {
            assert_eq!(host(s), loopback, "{s}");
        }
        assert_eq!(host("127.0.0.1."), loopback);
        assert_eq!(host("::ffff:127.0.0.1"), loopback);
        assert_eq!(host("[::ffff:7f00:1]"), loopback);
        assert_eq!(host("[::1]"), host("::1"));
        assert_eq!(host("0:0:0:0:0:0:0:1"), host("::1"));
        assert_eq!(host("169.254.169.254"), v4(169, 254, 169, 254));
        assert_eq!(host("0"), v4(0, 0, 0, 0));
    }

    #[test]
    fn bad_hosts_are_errors() {
        assert_eq!(normalize_host("").unwrap_err().into_kind(), PatternErrorKind::EmptyHost);
        let bad = [
            "1.2.3.4.5",
            "256.0.0.1",
            "a..b",
            ".",
            "..",
            "a b",
            "x.09",
            "[::1",
            "a/b",
        ];
        for s in bad {
            assert!(normalize_host(s).is_err(), "{s}");
        }
        assert!(matches!(
            normalize_host("ex%61mple.com").unwrap_err().into_kind(),
            PatternErrorKind::PercentInHost { .. }
        ));
        assert!(normalize_host(&"a".repeat(64)).is_err());
        assert!(normalize_host(&["a"; 130].join(".")).is_err());
        assert!(normalize_host("*.x.com").is_err());
    }

    #[test]
    fn patterns_parse() {
        assert_eq!(pat("**"), HostPattern::Any);
        assert_eq!(pat("*.Example.com."), HostPattern::Subdomains("example.com".into()));
        assert_eq!(pat("API.example.com"), HostPattern::Exact(host("api.example.com")));
        assert_eq!(pat("10.0.0.1"), HostPattern::Exact(v4(10, 0, 0, 1)));
        for s in ["*", "a.*.com", "*a.com", "**.x.com", "*.*.com", "x.com*"] {
            let err = HostPattern::parse(s).unwrap_err();
            assert!(
                matches!(err.kind(), PatternErrorKind::MisplacedHostWildcard { .. }),
                "{s}"
            );
        }
        let err = HostPattern::parse("*.10.0.0.1").unwrap_err();
        assert!(matches!(err.kind(), PatternErrorKind::WildcardIpSuffix { .. }));
        assert_eq!(pat("*.x.com").to_string(), "*.x.com");
        assert_eq!(pat("**").to_string(), "**");
        assert_eq!(pat("[::1]").to_string(), "::1");
    }

    #[test]
    fn subdomain_wildcards_exclude_the_apex() {
        let p = pat("*.example.com");
        assert!(p.matches(&host("a.example.com")));
        assert!(p.matches(&host("a.b.example.com")));
        assert!(p.matches(&host("A.EXAMPLE.COM.")));
        assert!(!p.matches(&host("example.com")));
        assert!(!p.matches(&host("badexample.com")));
        assert!(!p.matches(&host("example.com.evil.org")));
        assert!(!p.matches(&v4(1, 2, 3, 4)));
        assert!(pat("**").matches(&v4(1, 2, 3, 4)));
        assert!(pat("127.0.0.1").matches_str("0x7f.1"));
        assert!(!pat("127.0.0.1").matches_str("not a host"));
    }

    #[test]
    fn overly_broad() {
        assert!(pat("**").is_overly_broad());
        assert!(pat("*.com").is_overly_broad());
        assert!(!pat("*.example.com").is_overly_broad());
        assert!(!pat("com").is_overly_broad());
    }

    #[test]
    fn covers_examples() {
        let covers = |a: &str, b: &str| pat(a).covers(&pat(b));
        assert!(covers("*.x.com", "a.x.com"));
        assert!(covers("*.x.com", "*.a.x.com"));
        assert!(covers("*.x.com", "*.x.com"));
        assert!(!covers("*.x.com", "x.com"));
        assert!(!covers("*.a.x.com", "*.x.com"));
        assert!(!covers("a.x.com", "*.x.com"));
        assert!(covers("**", "*.x.com"));
        assert!(covers("**", "1.2.3.4"));
        assert!(!covers("*.x.com", "**"));
        assert!(covers("0x7f.1", "127.0.0.1"));
    }

    fn messy_host() -> impl Strategy<Value = String> {
        prop_oneof![
            "[a-zA-Z0-9_-]{1,5}(\\.[a-zA-Z0-9-]{1,5}){0,3}\\.?",
            "(0x[0-9a-f]{1,2}|[0-9]{1,3})(\\.[0-9]{1,3}){0,3}",
            Just("bücher.ch".to_owned()),
            Just("::ffff:10.0.0.1".to_owned()),
            "[a-z]{1,3}\\.example\\.com",
            Just("example.com".to_owned()),
        ]
    }

    #[test]
    fn fast_path_leaves_odd_ipv4_forms_to_the_slow_path() {
        for s in ["010.0.0.1", "0x7f.0.0.1", "127.1", "2130706433", "1.2.3.4."] {
            assert_eq!(normal_view(s), None, "{s}");
        }
        assert_eq!(
            normal_view("10.0.0.1"),
            Some(HostView::Ip(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1))))
        );
    }

    #[test]
    fn fast_path_examples() {
        assert!(is_normal_name("api.example.com"));
        assert!(is_normal_name("_dmarc.x-y.com"));
        for s in [
            "Example.com",
            "x.com.",
            "1.2.3.4",
            "x.0x1f",
            "x.12",
            "xn--bcher-kva.ch",
            "",
            "a..b",
        ] {
            assert!(!is_normal_name(s), "{s}");
        }
    }

    proptest! {
        #[test]
        fn fast_path_agrees_with_normalisation(input in "[a-z0-9x._-]{1,12}|[0-9]{1,4}(\\.[0-9]{1,4}){0,4}") {
            if let Some(view) = normal_view(&input) {
                let slow = normalize_host(&input);
                prop_assert_eq!(slow.as_ref().map(HostView::from), Ok(view));
            }
        }

        #[test]
        fn host_normalisation_is_idempotent(input in messy_host()) {
            if let Ok(h) = normalize_host(&input) {
                prop_assert_eq!(normalize_host(&h.to_string()).unwrap(), h);
            }
        }

        #[test]
        fn host_normalisation_never_panics(input in ".{0,30}") {
            let _ = normalize_host(&input);
            let _ = HostPattern::parse(&input);
        }

        #[test]
        fn wildcard_never_matches_its_apex(input in messy_host()) {
            let p = pat("*.example.com");
            prop_assert!(!p.matches_str("example.com"));
            if let Ok(Host::Name(name)) = normalize_host(&input) {
                let wild = HostPattern::Subdomains(name.clone());
                prop_assert!(!wild.matches(&Host::Name(name)));
            }
        }

        #[test]
        fn covering_host_patterns_match_what_they_cover(
            a in messy_host(), b in messy_host(), h in messy_host(), wild_a: bool, wild_b: bool,
        ) {
            let to_pat = |s: &str, wild: bool| {
                HostPattern::parse(&if wild { format!("*.{s}") } else { s.to_owned() }).ok()
            };
            if let (Some(a), Some(b)) = (to_pat(&a, wild_a), to_pat(&b, wild_b))
                && a.covers(&b)
                && b.matches_str(&h)
            {
                prop_assert!(a.matches_str(&h));
            }
        }
    }
}
