//! The compiled form of the filesystem grants, built so that a decision costs a few hash lookups
//! whatever the number of grants. Exact paths, `dir/*` and `dir/**` grants (nearly all of them)
//! hang off a trie of literal path segments: walking a requested path down the trie visits each
//! ancestor once, and the walk stops at the first segment no grant mentions. Each trie node keeps,
//! per action, the lowest grant index of each kind, so the answer is a minimum, never a scan.
//! Only general globs (`/data/*.csv`, `/a/**/b`) go to a globset, consulted last and only when
//! one of them could beat the trie's answer.

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};

use super::action::FsAction;
use super::path::{PathPattern, Root, Shape, segments_of};
use super::{Map, NONE};

/// Per filesystem action, the lowest grant index (or [`NONE`]).
type Slots = [u32; 4];

const EMPTY: Slots = [NONE; 4];

/// One literal path: what the grants say about it and about what lies below it.
#[derive(Clone, Debug)]
struct Node {
    /// Child nodes by segment name.
    next: Map<Box<str>, u32>,
    /// Grants naming exactly this path.
    exact: Slots,
    /// `this/*` grants.
    children: Slots,
    /// `this/**` grants (they also match this path itself).
    subtree: Slots,
}

impl Node {
    fn new() -> Self {
        Node {
            next: Map::default(),
            exact: EMPTY,
            children: EMPTY,
            subtree: EMPTY,
        }
    }
}

/// The general globs of one action.
#[derive(Clone, Debug)]
struct Globs {
    set: GlobSet,
    /// The grant index of each glob of `set`.
    grant_of: Vec<u32>,
    /// The lowest of them: when the trie already found a lower one, the globs cannot matter.
    lowest: u32,
}

/// Filesystem grants of one manifest, compiled.
#[derive(Clone, Debug)]
pub(crate) struct FsIndex {
    /// `nodes[Root::Slash as usize]` is `/`, `nodes[Root::Home as usize]` is `~`.
    nodes: Vec<Node>,
    globs: [Option<Globs>; 4],
}

/// Collects grants before the glob sets are built.
pub(crate) struct FsIndexBuilder {
    nodes: Vec<Node>,
    globs: [Vec<(String, u32)>; 4],
}

impl FsIndexBuilder {
    pub(crate) fn new() -> Self {
        FsIndexBuilder {
            nodes: vec![Node::new(), Node::new()],
            globs: Default::default(),
        }
    }

    /// Adds grant `index`; `pattern` has already had `~` expanded when the home is known.
    pub(crate) fn add(&mut self, index: u32, action: FsAction, pattern: &PathPattern) {
        let a = action as usize;
        let shape = pattern.shape();
        if shape == Shape::General {
            let globs = pattern.globset_globs();
            self.globs[a].extend(globs.into_iter().map(|g| (g, index)));
            return;
        }
        let at = self.node_for(pattern.root(), pattern.literal_prefix());
        let node = &mut self.nodes[at];
        let slots = match shape {
            Shape::Exact => &mut node.exact,
            Shape::Children => &mut node.children,
            Shape::Subtree | Shape::General => &mut node.subtree,
        };
        slots[a] = slots[a].min(index);
    }

    /// The node of a literal path, created on the way as needed.
    fn node_for<'p>(&mut self, root: Root, names: impl Iterator<Item = &'p str>) -> usize {
        let mut at = root as usize;
        for name in names {
            let fresh = self.nodes.len();
            let next = *self.nodes[at].next.entry(name.into()).or_insert(fresh as u32);
            if next as usize == fresh {
                self.nodes.push(Node::new());
            }
            at = next as usize;
        }
        at
    }

    pub(crate) fn build(self) -> FsIndex {
        let globs = self.globs.map(build_globs);
        FsIndex {
            nodes: self.nodes,
            globs,
        }
    }
}

/// Builds one action's glob set. A glob that globset refuses cannot match anything, which is
/// the fail-closed outcome; `PathPattern` only produces globs it accepts, so this is defensive.
fn build_globs(globs: Vec<(String, u32)>) -> Option<Globs> {
    let mut builder = GlobSetBuilder::new();
    let mut grant_of = Vec::new();
    for (text, index) in globs {
        // `*` must not cross `/`, and `\` is literal in paths (PathPattern rejects it, but a
        // home directory may contain one).
        let glob = GlobBuilder::new(&text)
            .literal_separator(true)
            .backslash_escape(false)
            .build();
        if let Ok(glob) = glob {
            builder.add(glob);
            grant_of.push(index);
        }
    }
    let lowest = grant_of.iter().copied().min()?;
    let set = builder.build().ok()?;
    Some(Globs { set, grant_of, lowest })
}

impl FsIndex {
    /// The lowest index of a grant of `action` that matches the normalised, home-expanded
    /// `path`, or [`NONE`].
    pub(crate) fn lookup(&self, action: FsAction, path: &str) -> u32 {
        let a = action as usize;
        let best = self.walk(a, path);
        match &self.globs[a] {
            Some(globs) if globs.lowest < best => best.min(globs.lookup(path)),
            _ => best,
        }
    }

    /// Walks the trie along `path`, taking the minimum of every grant that applies: `**` of
    /// each ancestor and of the path, `*` of the parent, the exact grant of the path.
    fn walk(&self, a: usize, path: &str) -> u32 {
        let (root, names) = segments_of(path);
        let mut node = &self.nodes[root as usize];
        let mut best = node.subtree[a];
        let mut names = names.peekable();
        if names.peek().is_none() {
            return best.min(node.exact[a]);
        }
        while let Some(name) = names.next() {
            let last = names.peek().is_none();
            if last {
                best = best.min(node.children[a]);
            }
            let Some(&next) = node.next.get(name) else {
                break;
            };
            node = &self.nodes[next as usize];
            best = best.min(node.subtree[a]);
            if last {
                best = best.min(node.exact[a]);
            }
        }
        best
    }
}

impl Globs {
    fn lookup(&self, path: &str) -> u32 {
        // A root (`/`, `~`) is matched by no general glob (only `/**` would, and that is a
        // subtree grant), but globset's `*` matches the empty name after `/`: `/*` would.
        let is_root = path.len() == 1;
        // `is_match` does not allocate; `matches` does, so only when a glob does match.
        if is_root || !self.set.is_match(path) {
            return NONE;
        }
        let matched = self.set.matches(path).into_iter().map(|k| self.grant_of[k]);
        matched.min().unwrap_or(NONE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index(grants: &[(FsAction, &str)]) -> FsIndex {
        let mut b = FsIndexBuilder::new();
        for (i, (action, p)) in grants.iter().enumerate() {
            b.add(i as u32, *action, &PathPattern::parse(p).unwrap());
        }
        b.build()
    }

    #[test]
    fn lowest_index_wins_across_kinds() {
        use FsAction::Read;
        let idx = index(&[
            (Read, "/data/*.csv"),
            (Read, "/data/**"),
            (Read, "/data/*"),
            (Read, "/data/a.csv"),
        ]);
        assert_eq!(idx.lookup(Read, "/data/a.csv"), 0);
        assert_eq!(idx.lookup(Read, "/data/b.txt"), 1);
        assert_eq!(idx.lookup(Read, "/data"), 1);
        assert_eq!(idx.lookup(Read, "/data/x/y"), 1);
        assert_eq!(idx.lookup(Read, "/etc"), NONE);
        assert_eq!(idx.lookup(FsAction::Write, "/data/a.csv"), NONE);
    }

    #[test]
    fn trie_kinds_apply_where_they_should() {
        use FsAction::Read;
        let idx = index(&[(Read, "/a/*"), (Read, "/b/**"), (Read, "/c"), (Read, "/")]);
        assert_eq!(idx.lookup(Read, "/a/x"), 0);
        assert_eq!(idx.lookup(Read, "/a"), NONE);
        assert_eq!(idx.lookup(Read, "/a/x/y"), NONE);
        assert_eq!(idx.lookup(Read, "/b"), 1);
        assert_eq!(idx.lookup(Read, "/b/x/y"), 1);
        assert_eq!(idx.lookup(Read, "/c"), 2);
        assert_eq!(idx.lookup(Read, "/c/d"), NONE);
        assert_eq!(idx.lookup(Read, "/"), 3);
        assert_eq!(idx.lookup(Read, "~/c"), NONE);
    }

    #[test]
    fn general_globs_keep_their_semantics() {
        use FsAction::Read;
        let idx = index(&[(Read, "/a/**/b"), (Read, "/x/*/**"), (Read, "/**/k.txt")]);
        assert_eq!(idx.lookup(Read, "/a/b"), 0);
        assert_eq!(idx.lookup(Read, "/a/1/2/b"), 0);
        assert_eq!(idx.lookup(Read, "/x/1"), 1);
        assert_eq!(idx.lookup(Read, "/x/1/2"), 1);
        assert_eq!(idx.lookup(Read, "/x"), NONE);
        assert_eq!(idx.lookup(Read, "/k.txt"), 2);
        assert_eq!(idx.lookup(Read, "/q/k.txt"), 2);
        assert_eq!(idx.lookup(Read, "~/k.txt"), NONE);
    }

    #[test]
    fn general_globs_never_match_a_bare_root() {
        // globset's `*` matches the empty name after `/`; ours needs a segment.
        use FsAction::Read;
        let idx = index(&[(Read, "/**/*"), (Read, "/*/**"), (Read, "~/*/**")]);
        assert_eq!(idx.lookup(Read, "/"), NONE);
        assert_eq!(idx.lookup(Read, "~"), NONE);
        assert_eq!(idx.lookup(Read, "/a"), 0);
        assert_eq!(idx.lookup(Read, "~/a"), 2);
    }
}
