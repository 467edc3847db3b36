//! Whole-manifest grant checks: duplicates, grants shadowed by broader ones, and over-broad
//! grants. These compare grants with each other, so they run after every entry is parsed.
//!
//! A grant is reported once, against the lowest-index grant that makes it redundant: an equal
//! grant before it (duplicate), or an unequal grant anywhere that covers it (shadowed). The
//! comparison is not pairwise: candidates are found through indices, so the work grows with
//! the size of the manifest, not its square (a 1 MiB manifest has tens of thousands of grants).
//! - equal grants through a hash map of each grant's first index;
//! - filesystem grants through a trie of literal path prefixes per action and root: a grant
//!   that covers `/a/b/c` has a literal prefix that is a prefix of `/a/b/c`'s, so only the trie
//!   nodes along that prefix hold candidates. `prefix/**` and `prefix/*` are decided there in
//!   constant time; other wildcard patterns (`/data/*.csv`, `/a/**/b`) are compared with
//!   `PathPattern::covers` within a budget of [`FUEL`] steps for the whole manifest, and a note
//!   says so when the budget runs out (findings stay sound: what is reported is redundant);
//! - network grants through the few host patterns that can cover a host (itself, its parent
//!   domains as `*.suffix`, `**`, none) and the port (the same or any);
//! - process grants cover only equal grants.

use std::cell::Cell;
use std::collections::HashMap;
use std::fmt::Debug;
use std::hash::Hash;

use super::rules as rule;
use super::{Entry, Manifest};
use crate::diagnostics::{Diagnostic, SourceId};
use crate::policy::{Action, Domain, FsAction, FsGrant, Host, HostPattern, NetAction, NetGrant, Root};

/// Steps of wildcard comparison allowed per manifest for the general filesystem patterns.
pub(crate) const FUEL: u64 = 20_000_000;

/// What the checks need of a grant.
trait Grant: Eq + Hash + Debug + std::fmt::Display {
    fn overly_broad(&self) -> Option<&'static str> {
        None
    }
}

impl Grant for FsGrant {
    fn overly_broad(&self) -> Option<&'static str> {
        self.pattern
            .is_overly_broad()
            .then_some("grants a whole tree that is far wider than one component plausibly needs")
    }
}

impl Grant for NetGrant {
    fn overly_broad(&self) -> Option<&'static str> {
        match &self.host {
            Some(HostPattern::Any) => Some("`**` reaches every host on the network"),
            Some(h) if h.is_overly_broad() => {
                Some("a wildcard on a bare top-level domain reaches millions of unrelated hosts")
            }
            _ => None,
        }
    }
}

impl Grant for crate::policy::ProcGrant {}

impl Manifest {
    /// Why a grant is overly broad (what `overly-broad-grant` says), or `None` when it is not.
    pub fn overly_broad(&self, g: crate::policy::GrantRef) -> Option<&'static str> {
        match g.domain {
            Domain::Filesystem => self.filesystem.get(g.index)?.grant.overly_broad(),
            Domain::Network => self.network.get(g.index)?.grant.overly_broad(),
            Domain::Process => self.process.get(g.index)?.grant.overly_broad(),
        }
    }
}

/// Counts the candidate comparisons made, so that a test can check the work is linear.
#[derive(Default)]
pub(super) struct Work {
    pub comparisons: usize,
}

/// All pairwise and per-grant findings for a manifest.
pub(super) fn check(m: &Manifest) -> Vec<Diagnostic> {
    check_counted(m, &mut Work::default())
}

pub(super) fn check_counted(m: &Manifest, work: &mut Work) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let (fs, cut) = fs_redundant(&m.filesystem, work);
    report(m.source, &m.filesystem, &fs, &mut out);
    if let Some(j) = cut {
        out.push(rule::shadowing_checked_in_part(m.source, m.filesystem[j].span.clone()));
    }
    report(m.source, &m.network, &net_redundant(&m.network, work), &mut out);
    report(m.source, &m.process, &equal_only(&m.process), &mut out);
    broad(m.source, &m.filesystem, &mut out);
    broad(m.source, &m.network, &mut out);
    acknowledged_and_granted(m, &mut out);
    out
}

/// An action both acknowledged as never granted and granted.
fn acknowledged_and_granted(m: &Manifest, out: &mut Vec<Diagnostic>) {
    let Some(ack) = &m.acknowledged else { return };
    for g in m.grant_refs() {
        let (action, text) = match g.domain {
            Domain::Filesystem => (
                Action::Fs(m.filesystem[g.index].grant.action),
                m.filesystem[g.index].grant.to_string(),
            ),
            Domain::Network => (
                Action::Net(m.network[g.index].grant.action),
                m.network[g.index].grant.to_string(),
            ),
            Domain::Process => (
                Action::Proc(m.process[g.index].grant.action()),
                m.process[g.index].grant.to_string(),
            ),
        };
        let Some((_, span)) = ack.actions.iter().find(|(a, _)| *a == action) else {
            continue;
        };
        let granted = m.span_of(g).unwrap_or(0..0);
        out.push(rule::acknowledged_and_granted(
            m.source,
            span.clone(),
            granted,
            action,
            &text,
        ));
    }
}

fn broad<G: Grant>(source: SourceId, entries: &[Entry<G>], out: &mut Vec<Diagnostic>) {
    for e in entries {
        if let Some(why) = e.grant.overly_broad() {
            out.push(rule::overly_broad(source, e.value_span.clone(), &e.grant, why));
        }
    }
}

/// Reports each grant `j` with `redundant[j] == Some(i)`: a duplicate when the grants are
/// equal, else shadowed by grant `i`.
fn report<G: Grant>(source: SourceId, entries: &[Entry<G>], redundant: &[Option<usize>], out: &mut Vec<Diagnostic>) {
    for (j, i) in redundant.iter().enumerate() {
        let Some(i) = *i else { continue };
        let (a, b) = (&entries[i], &entries[j]);
        if a.grant == b.grant {
            out.push(rule::duplicate_grant(source, b.span.clone(), a.span.clone(), &b.grant));
        } else {
            out.push(rule::shadowed_grant(
                source,
                b.span.clone(),
                &b.grant,
                a.span.clone(),
                &a.grant,
            ));
        }
    }
}

/// The index of each grant's first equal grant.
fn first_indices<G: Grant>(entries: &[Entry<G>]) -> (HashMap<&G, usize>, Vec<usize>) {
    let mut first: HashMap<&G, usize> = HashMap::with_capacity(entries.len());
    let firsts = entries
        .iter()
        .enumerate()
        .map(|(j, e)| *first.entry(&e.grant).or_insert(j))
        .collect();
    (first, firsts)
}

/// For grants that only equal grants cover: the first equal grant before each.
fn equal_only<G: Grant>(entries: &[Entry<G>]) -> Vec<Option<usize>> {
    let (_, firsts) = first_indices(entries);
    firsts.iter().enumerate().map(|(j, f)| (*f < j).then_some(*f)).collect()
}

fn lower(best: &mut Option<usize>, i: usize) {
    if best.is_none_or(|b| i < b) {
        *best = Some(i);
    }
}

/// One node of the literal-prefix trie: the distinct grants whose literal prefix ends here.
#[derive(Default)]
struct Node<'a> {
    children: HashMap<&'a str, usize>,
    /// `prefix/**` (one distinct grant per node: the action and root are the trie's).
    subtree: Option<usize>,
    /// `prefix/*`.
    star: Option<usize>,
    /// Other wildcard patterns, in index order.
    general: Vec<usize>,
}

/// Filesystem duplicates and shadowing; also the first grant whose general comparisons were
/// cut short by the fuel budget.
fn fs_redundant(entries: &[Entry<FsGrant>], work: &mut Work) -> (Vec<Option<usize>>, Option<usize>) {
    let (_, firsts) = first_indices(entries);
    let mut nodes: Vec<Node<'_>> = Vec::new();
    let mut roots: HashMap<(FsAction, Root), usize> = HashMap::new();
    for (i, e) in entries.iter().enumerate() {
        if firsts[i] != i {
            continue;
        }
        let p = &e.grant.pattern;
        let root = *roots.entry((e.grant.action, p.root())).or_insert_with(|| {
            nodes.push(Node::default());
            nodes.len() - 1
        });
        let mut at = root;
        let mut depth = 0;
        for name in p.literal_prefix() {
            at = match nodes[at].children.get(name) {
                Some(&n) => n,
                None => {
                    nodes.push(Node::default());
                    let n = nodes.len() - 1;
                    nodes[at].children.insert(name, n);
                    n
                }
            };
            depth += 1;
        }
        let node = &mut nodes[at];
        match p.segment_count() - depth {
            0 => {}
            1 if p.ends_with_any_depth() => node.subtree = Some(i),
            1 if p.ends_with_star() => node.star = Some(i),
            _ => node.general.push(i),
        }
    }
    let fuel = Cell::new(FUEL);
    let mut cut = None;
    let out = entries
        .iter()
        .enumerate()
        .map(|(j, e)| {
            let b = &e.grant;
            let mut best = (firsts[j] < j).then_some(firsts[j]);
            let Some(&root) = roots.get(&(b.action, b.pattern.root())) else {
                return best;
            };
            let count = b.pattern.segment_count();
            let mut at = Some(root);
            let mut depth = 0;
            let mut names = b.pattern.literal_prefix();
            while let Some(n) = at {
                let node = &nodes[n];
                work.comparisons += 2;
                // `prefix/**` covers everything under a literal prefix of `b`.
                if let Some(i) = node.subtree.filter(|i| entries[*i].grant != *b) {
                    lower(&mut best, i);
                }
                // `prefix/*` covers `b` when `b` is one segment below it (not `**`).
                if let Some(i) = node.star.filter(|i| entries[*i].grant != *b)
                    && count == depth + 1
                    && !b.pattern.ends_with_any_depth()
                {
                    lower(&mut best, i);
                }
                for &i in &node.general {
                    if best.is_some_and(|best| best <= i) || cut.is_some_and(|c| c <= j) {
                        break;
                    }
                    if entries[i].grant == *b {
                        continue;
                    }
                    work.comparisons += 1;
                    match entries[i].grant.pattern.covers_within(&b.pattern, &fuel) {
                        Some(true) => lower(&mut best, i),
                        Some(false) => {}
                        None => {
                            cut = Some(j);
                            break;
                        }
                    }
                }
                at = names.next().and_then(|name| node.children.get(name).copied());
                depth += 1;
            }
            best
        })
        .collect();
    (out, cut)
}

/// Network duplicates and shadowing.
fn net_redundant(entries: &[Entry<NetGrant>], work: &mut Work) -> Vec<Option<usize>> {
    let (_, firsts) = first_indices(entries);
    // Grants by what decides coverage: action, host pattern and effective port. Grants in one
    // bucket cover the same requests; the first two distinct ones are enough to find the
    // lowest that is not equal to a given grant.
    type Key<'a> = (NetAction, Option<&'a HostPattern>, Option<u16>);
    let mut buckets: HashMap<Key<'_>, Vec<usize>> = HashMap::new();
    for (i, e) in entries.iter().enumerate() {
        if firsts[i] == i {
            let g = &e.grant;
            let bucket = buckets
                .entry((g.action, g.host.as_ref(), g.effective_port()))
                .or_default();
            if bucket.len() < 2 {
                bucket.push(i);
            }
        }
    }
    entries
        .iter()
        .enumerate()
        .map(|(j, e)| {
            let b = &e.grant;
            let mut best = (firsts[j] < j).then_some(firsts[j]);
            let suffixes: Vec<HostPattern> = match &b.host {
                Some(HostPattern::Exact(Host::Name(n))) => {
                    parents(n).map(|s| HostPattern::Subdomains(s.into())).collect()
                }
                Some(HostPattern::Subdomains(t)) => std::iter::once(t.as_str())
                    .chain(parents(t))
                    .map(|s| HostPattern::Subdomains(s.into()))
                    .collect(),
                _ => Vec::new(),
            };
            let hosts = [None, b.host.as_ref().map(|_| &HostPattern::Any), b.host.as_ref()]
                .into_iter()
                .chain(suffixes.iter().map(Some));
            for host in hosts {
                for port in [None, b.effective_port()] {
                    work.comparisons += 1;
                    let bucket = buckets.get(&(b.action, host, port)).map_or(&[][..], Vec::as_slice);
                    if let Some(&i) = bucket.iter().find(|i| entries[**i].grant != *b)
                        && entries[i].grant.covers(b)
                    {
                        lower(&mut best, i);
                    }
                    if b.effective_port().is_none() {
                        break;
                    }
                }
            }
            best
        })
        .collect()
}

/// The proper parent domains of a name: `a.b.c` gives `b.c`, then `c`.
fn parents(name: &str) -> impl Iterator<Item = &str> {
    name.match_indices('.').map(move |(i, _)| &name[i + 1..])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostics::Severity;
    use crate::manifest::Manifest;
    use crate::manifest::rules as r;
    use proptest::prelude::*;

    /// The definition: each later grant compared with every other one.
    fn naive<G: PartialEq>(grants: &[G], covers: impl Fn(&G, &G) -> bool) -> Vec<Option<usize>> {
        (0..grants.len())
            .map(|j| {
                (0..grants.len()).find(|&i| {
                    i != j
                        && if grants[i] == grants[j] {
                            i < j
                        } else {
                            covers(&grants[i], &grants[j])
                        }
                })
            })
            .collect()
    }

    fn entries<G>(grants: Vec<G>) -> Vec<Entry<G>> {
        grants
            .into_iter()
            .map(|grant| Entry {
                grant,
                span: 0..0,
                value_span: 0..0,
            })
            .collect()
    }

    fn fs_grant() -> impl Strategy<Value = FsGrant> {
        let segment = prop_oneof!["[ab]", Just("*".to_string()), Just("**".to_string()), "[ab]?\\*[ab]?"];
        (
            prop_oneof![Just(FsAction::Read), Just(FsAction::Write)],
            prop_oneof![Just("/"), Just("~/")],
            prop::collection::vec(segment, 0..4),
        )
            .prop_filter_map("a valid pattern", |(action, root, segments)| {
                let pattern = crate::policy::PathPattern::parse(&format!("{root}{}", segments.join("/"))).ok()?;
                Some(FsGrant { action, pattern })
            })
    }

    fn net_grant() -> impl Strategy<Value = NetGrant> {
        let host = prop_oneof![
            Just(None),
            Just(Some("**")),
            Just(Some("a.b.c")),
            Just(Some("b.c")),
            Just(Some("*.b.c")),
            Just(Some("*.c")),
            Just(Some("*.a.b.c")),
            Just(Some("10.0.0.1")),
        ];
        (
            prop_oneof![
                Just(NetAction::Connect),
                Just(NetAction::Resolve),
                Just(NetAction::Bind)
            ],
            host,
            prop_oneof![Just(None), Just(Some(443u16)), Just(Some(80))],
        )
            .prop_map(|(action, host, port)| NetGrant {
                action,
                host: host.map(|h| HostPattern::parse(h).unwrap()),
                port,
            })
    }

    proptest! {
        #[test]
        fn fs_index_agrees_with_the_definition(grants in prop::collection::vec(fs_grant(), 0..12)) {
            let (fast, cut) = fs_redundant(&entries(grants.clone()), &mut Work::default());
            prop_assert_eq!(cut, None);
            prop_assert_eq!(fast, naive(&grants, FsGrant::covers));
        }

        #[test]
        fn net_index_agrees_with_the_definition(grants in prop::collection::vec(net_grant(), 0..12)) {
            let fast = net_redundant(&entries(grants.clone()), &mut Work::default());
            prop_assert_eq!(fast, naive(&grants, NetGrant::covers));
        }
    }

    fn manifest(permissions: &str) -> Manifest {
        let text = format!("[component]\nname = \"big\"\nversion = \"1.0.0\"\n[permissions]\n{permissions}");
        Manifest::parse("Component.toml", &text).manifest.unwrap()
    }

    /// Hostile manifests near the 1 MiB limit: thousands of duplicates, nested subtrees and
    /// hosts. The work (candidate comparisons) stays linear in the number of grants; it was
    /// quadratic (n² comparisons) when every grant was compared with every other one.
    #[test]
    fn the_work_is_linear_in_the_grants() {
        let n = 5_000;
        let dup: Vec<String> = (0..n)
            .map(|_| "{ action = \"read\", path = \"/data/**\" }".into())
            .collect();
        let nested: Vec<String> = (0..n)
            .map(|i| format!("{{ action = \"read\", path = \"/d/{}**\" }}", "x/".repeat(i % 200)))
            .collect();
        let hosts: Vec<String> = (0..n)
            .map(|i| format!("{{ action = \"connect\", domain = \"h{i}.example.com\", port = 443 }}"))
            .collect();
        for (permissions, expected) in [
            (format!("filesystem = [{}]", dup.join(",")), n - 1),
            (format!("filesystem = [{}]", nested.join(",")), n - 1),
            (
                format!(
                    "network = [{}, {{ action = \"connect\", domain = \"*.example.com\", port = 443 }}]",
                    hosts.join(",")
                ),
                n,
            ),
        ] {
            let m = manifest(&permissions);
            let mut work = Work::default();
            let findings = check_counted(&m, &mut work);
            let redundant = findings
                .iter()
                .filter(|d| d.rule.code != r::OVERLY_BROAD_GRANT.code)
                .count();
            assert_eq!(redundant, expected);
            assert!(
                work.comparisons < 1_000 * n,
                "{} comparisons for {n} grants",
                work.comparisons
            );
        }
    }

    #[test]
    fn general_patterns_are_compared_within_a_budget() {
        // 3,000 distinct in-name wildcards under one prefix: 4.5 million pairs.
        let grants: Vec<String> = (0..3_000)
            .map(|i| format!("{{ action = \"read\", path = \"/d/*{i}*/**/x{i}\" }}"))
            .collect();
        let m = manifest(&format!("filesystem = [{}]", grants.join(",")));
        let mut work = Work::default();
        let findings = check_counted(&m, &mut work);
        let note = findings
            .iter()
            .find(|d| d.severity == Severity::Note)
            .expect("the budget note");
        assert!(note.message.contains("only in part"), "{}", note.message);
    }
}
