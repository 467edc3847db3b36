//! Whole-manifest grant checks: duplicates, grants shadowed by broader ones, and over-broad
//! grants. These compare grants with each other, so they run after every entry is parsed.

use std::fmt::Debug;

use super::{Entry, Manifest};
use crate::diagnostics::registry as r;
use crate::diagnostics::{Diagnostic, SourceId};
use crate::policy::{Action, Domain, FsGrant, HostPattern, NetGrant, ProcGrant};

/// What the pairwise checks need of a grant.
trait Grant: PartialEq + Debug + std::fmt::Display {
    fn covers(&self, other: &Self) -> bool;
    fn overly_broad(&self) -> Option<&'static str> {
        None
    }
}

impl Grant for FsGrant {
    fn covers(&self, other: &Self) -> bool {
        FsGrant::covers(self, other)
    }
    fn overly_broad(&self) -> Option<&'static str> {
        self.pattern
            .is_overly_broad()
            .then_some("grants a whole tree that is far wider than one component plausibly needs")
    }
}

impl Grant for NetGrant {
    fn covers(&self, other: &Self) -> bool {
        NetGrant::covers(self, other)
    }
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

impl Grant for ProcGrant {
    fn covers(&self, other: &Self) -> bool {
        self == other
    }
}

/// All pairwise and per-grant findings for a manifest.
pub(super) fn check(m: &Manifest) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    pairwise(m.source, &m.filesystem, &mut out);
    pairwise(m.source, &m.network, &mut out);
    pairwise(m.source, &m.process, &mut out);
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
        out.push(
            Diagnostic::new(
                &r::ACKNOWLEDGED_AND_GRANTED,
                format!(
                    "{} `{}` is acknowledged as never granted, and grant {text} gives it",
                    action.domain().as_str(),
                    action.as_str()
                ),
            )
            .at(m.source, span.clone(), "acknowledged as never granted")
            .also(m.source, m.span_of(g).unwrap_or(0..0), "granted here")
            .help("remove the action from `[acknowledged]`, or remove the grants of it"),
        );
    }
}

fn broad<G: Grant>(source: SourceId, entries: &[Entry<G>], out: &mut Vec<Diagnostic>) {
    for e in entries {
        if let Some(why) = e.grant.overly_broad() {
            out.push(
                Diagnostic::new(&r::OVERLY_BROAD_GRANT, format!("{} is overly broad", e.grant))
                    .at(source, e.value_span.clone(), why)
                    .help("grant only the directories or hosts the component uses"),
            );
        }
    }
}

/// Duplicates and shadowing. Each later grant is compared with every earlier one; a grant is
/// reported once, against the first grant that makes it redundant.
fn pairwise<G: Grant>(source: SourceId, entries: &[Entry<G>], out: &mut Vec<Diagnostic>) {
    let mut reported = vec![false; entries.len()];
    for j in 0..entries.len() {
        for i in 0..entries.len() {
            if i == j || reported[j] {
                continue;
            }
            let (a, b) = (&entries[i], &entries[j]);
            if a.grant == b.grant {
                if i < j {
                    reported[j] = true;
                    out.push(
                        Diagnostic::new(&r::DUPLICATE_GRANT, format!("{} is granted twice", b.grant))
                            .at(source, b.span.clone(), "duplicate")
                            .also(source, a.span.clone(), "first granted here")
                            .help("remove the duplicate"),
                    );
                }
            } else if a.grant.covers(&b.grant) {
                reported[j] = true;
                out.push(
                    Diagnostic::new(
                        &r::SHADOWED_GRANT,
                        format!("{} is already covered by {}", b.grant, a.grant),
                    )
                    .at(source, b.span.clone(), "grants nothing more")
                    .also(source, a.span.clone(), "the broader grant")
                    .help("remove the narrower grant, or narrow the broader one"),
                );
            }
        }
    }
}
