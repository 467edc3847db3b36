//! The compiled form of the filesystem grants, built so that a decision costs a few hash lookups
//! whatever the number of grants. Exact paths, `dir/*` and `dir/**` grants (nearly all of them)
//! hang off a trie of literal path segments: walking a requested path down the trie visits each
//! ancestor once, and the walk stops at the first segment no grant mentions. Each trie node keeps,
//! per action, the lowest grant index of each kind, so the answer is a minimum, never a scan.
//! General globs (`/data/*.csv`, `/a/**/b`) hang off the node of their literal prefix
//! (`/data`, `/a`) in small globsets, so a request only meets the globs of its own ancestors,
//! and only those that could beat the answer found so far.
//!
//! The walk also checks that the path is normal as it goes, so the common request costs one
//! pass over its bytes; a path that is not normal is reported as such, and the caller
//! normalises it and asks again.

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};

use super::action::FsAction;
use super::path::{PathPattern, Root, Shape};
use super::{Map, NONE};

/// Per filesystem action, the lowest grant index (or [`NONE`]).
type Slots = [u32; 4];

const EMPTY: Slots = [NONE; 4];

/// One literal path: what the grants say about it and about what lies below it.
#[derive(Clone, Debug)]
struct Node {
    /// Whether any grant path continues below this one; saves hashing at the leaves.
    has_children: bool,
    /// Children whose names are too long for [`short_key`], by name; rare, hence boxed.
    long_children: Option<Box<Map<Box<str>, u32>>>,
    /// Grants naming exactly this path.
    exact: Slots,
    /// `this/*` grants.
    children: Slots,
    /// `this/**` grants (they also match this path itself).
    subtree: Slots,
    /// Per action, the general globs whose literal prefix is this path; rare, hence boxed.
    globs: Option<Box<[Option<Globs>; 4]>>,
}

impl Node {
    fn new() -> Self {
        Node {
            has_children: false,
            long_children: None,
            exact: EMPTY,
            children: EMPTY,
            subtree: EMPTY,
            globs: None,
        }
    }

    /// The lowest index of a glob of action `a` here that matches `path`, when one could be
    /// lower than `best`.
    fn glob_match(&self, a: usize, path: &str, best: u32) -> u32 {
        match self.globs.as_ref().and_then(|globs| globs[a].as_ref()) {
            Some(globs) if globs.lowest < best => globs.lookup(path),
            _ => NONE,
        }
    }
}

/// A trie edge with a short name: the parent node and the name's length, then the name's
/// bytes read as two words (see [`short_key`]).
type EdgeKey = (u64, u64, u64);

/// The edge from `parent` by a name of at most 16 bytes, as integers: hashing and comparing
/// them needs no pointer chase into a heap string, and most path segments are this short. The
/// words are read straight from the name, possibly overlapping (first and last 8 bytes, or 4,
/// or single bytes); with the length in the key that still identifies the name. Building the
/// key through a stack buffer instead stalled on store forwarding and cost more than the lookup.
fn short_key(parent: u32, name: &str) -> Option<EdgeKey> {
    let b = name.as_bytes();
    // Little-endian words of 1, 4 or 8 bytes; the slices always have that length.
    let byte = |at: usize| u64::from(b[at]);
    let word4 = |at: usize| u64::from(u32::from_le_bytes(b[at..at + 4].try_into().unwrap_or_default()));
    let word8 = |at: usize| u64::from_le_bytes(b[at..at + 8].try_into().unwrap_or_default());
    let (first, last) = match b.len() {
        0 => (0, 0),
        1..=3 => (byte(0) | byte(b.len() / 2) << 8, byte(b.len() - 1)),
        4..=7 => (word4(0), word4(b.len() - 4)),
        8..=16 => (word8(0), word8(b.len() - 8)),
        _ => return None,
    };
    Some((u64::from(parent) << 8 | b.len() as u64, first, last))
}

/// The segment at the start of `rest` and what follows its `/` (`None` for the last one); `Err`
/// when the segment is empty, `.` or `..` or contains NUL, i.e. the path is not normal.
fn next_segment(rest: &str) -> Result<(&str, Option<&str>), NotNormal> {
    let (name, tail) = match find_slash_or_nul(rest.as_bytes()) {
        Some(at) if rest.as_bytes()[at] == 0 => return Err(NotNormal),
        Some(at) => (&rest[..at], Some(&rest[at + 1..])),
        None => (rest, None),
    };
    match name {
        "" | "." | ".." => Err(NotNormal),
        _ => Ok((name, tail)),
    }
}

/// The position of the first `/` or NUL byte. It looks at eight bytes at a time: a byte-wise
/// scan was the largest cost of a decision that misses the trie early.
fn find_slash_or_nul(bytes: &[u8]) -> Option<usize> {
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    const SLASHES: u64 = 0x2f2f_2f2f_2f2f_2f2f;
    // The high bit of each zero byte of `w`, exactly (no carry crosses a byte).
    let zero_bytes = |w: u64| !(((w & LOW7) + LOW7) | w | LOW7);
    let mut start = 0;
    for chunk in bytes.chunks_exact(8) {
        let w = u64::from_le_bytes(chunk.try_into().unwrap_or_default());
        let hits = zero_bytes(w ^ SLASHES) | zero_bytes(w);
        if hits != 0 {
            return Some(start + hits.trailing_zeros() as usize / 8);
        }
        start += 8;
    }
    let tail = bytes[start..].iter().position(|&b| b == b'/' || b == 0);
    tail.map(|at| start + at)
}

/// The root of a path and the rest after `/` or `~/`, if it starts the way a normal path does.
fn split_root(path: &str) -> Result<(Root, &str), NotNormal> {
    match path.as_bytes() {
        [b'/', ..] => Ok((Root::Slash, &path[1..])),
        [b'~'] => Ok((Root::Home, "")),
        // `~/` alone is not normal (that is `~`); the empty segment after it is caught later.
        [b'~', b'/', ..] if path.len() > 2 => Ok((Root::Home, &path[2..])),
        _ => Err(NotNormal),
    }
}

/// The request path is not in normal form; normalise it and ask again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct NotNormal;

/// The general globs of one action at one node.
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
    /// Trie edges with short names, all in one table: [`short_key`] to child.
    edges: Map<EdgeKey, u32>,
}

/// Collects grants before the glob sets are built.
pub(crate) struct FsIndexBuilder {
    nodes: Vec<Node>,
    edges: Map<EdgeKey, u32>,
    /// General globs by node and action: `(glob, grant index)`.
    globs: Map<(u32, usize), Vec<(String, u32)>>,
}

impl FsIndexBuilder {
    pub(crate) fn new() -> Self {
        FsIndexBuilder {
            nodes: vec![Node::new(), Node::new()],
            edges: Map::default(),
            globs: Map::default(),
        }
    }

    /// Adds grant `index`; `pattern` has already had `~` expanded when the home is known.
    pub(crate) fn add(&mut self, index: u32, action: FsAction, pattern: &PathPattern) {
        let a = action as usize;
        // A trie beyond u32::MAX nodes cannot be built; the grant is left out (fail closed).
        let Some(at) = self.node_for(pattern.root(), pattern.literal_prefix()) else {
            return;
        };
        let node = &mut self.nodes[at as usize];
        let slots = match pattern.shape() {
            Shape::Exact => &mut node.exact,
            Shape::Children => &mut node.children,
            Shape::Subtree => &mut node.subtree,
            Shape::General => {
                let globs = pattern.globset_globs().into_iter().map(|g| (g, index));
                self.globs.entry((at, a)).or_default().extend(globs);
                return;
            }
        };
        slots[a] = slots[a].min(index);
    }

    /// The node of a literal path, created on the way as needed.
    fn node_for<'p>(&mut self, root: Root, names: impl Iterator<Item = &'p str>) -> Option<u32> {
        let mut at = root as u32;
        for name in names {
            at = match self.child(at, name) {
                Some(next) => next,
                None => self.add_child(at, name)?,
            };
        }
        Some(at)
    }

    fn child(&self, at: u32, name: &str) -> Option<u32> {
        match short_key(at, name) {
            Some(key) => self.edges.get(&key).copied(),
            None => self.nodes[at as usize].long_children.as_ref()?.get(name).copied(),
        }
    }

    fn add_child(&mut self, at: u32, name: &str) -> Option<u32> {
        let fresh = u32::try_from(self.nodes.len()).ok()?;
        self.nodes.push(Node::new());
        let parent = &mut self.nodes[at as usize];
        parent.has_children = true;
        match short_key(at, name) {
            Some(key) => {
                self.edges.insert(key, fresh);
            }
            None => {
                parent.long_children.get_or_insert_default().insert(name.into(), fresh);
            }
        }
        Some(fresh)
    }

    pub(crate) fn build(mut self) -> FsIndex {
        for ((at, a), globs) in self.globs {
            let node = &mut self.nodes[at as usize];
            node.globs.get_or_insert_default()[a] = build_globs(globs);
        }
        FsIndex {
            nodes: self.nodes,
            edges: self.edges,
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
    /// The lowest index of a grant of `action` that matches the home-expanded `path`, or
    /// [`NONE`]; `Err` when `path` is not normal.
    ///
    /// It walks the trie along `path`, taking the minimum of every grant that applies: `**` of
    /// each ancestor and of the path, `*` of the parent, the exact grant of the path, and the
    /// globs of each of them. Past the last trie node it goes on checking that the path is
    /// normal, since a `..` further on could lead anywhere. (Globs may have been tried on a path
    /// that then turns out not to be normal; that answer is dropped.)
    pub(crate) fn lookup(&self, action: FsAction, path: &str) -> Result<u32, NotNormal> {
        let a = action as usize;
        let (root, mut rest) = split_root(path)?;
        let root_node = &self.nodes[root as usize];
        let mut best = root_node.subtree[a];
        best = best.min(root_node.glob_match(a, path, best));
        if rest.is_empty() {
            return Ok(best.min(root_node.exact[a]));
        }
        let mut at = Some(root as u32);
        loop {
            let (name, tail) = next_segment(rest)?;
            if let Some(parent) = at {
                let last = tail.is_none();
                at = self.step(parent, name);
                best = best.min(self.matches_at(a, parent, at, last));
                if let Some(child) = at {
                    best = best.min(self.nodes[child as usize].glob_match(a, path, best));
                }
            }
            match tail {
                Some(tail) => rest = tail,
                None => return Ok(best),
            }
        }
    }

    /// The child of node `at` named `name`.
    fn step(&self, at: u32, name: &str) -> Option<u32> {
        let node = &self.nodes[at as usize];
        if !node.has_children {
            return None;
        }
        match short_key(at, name) {
            Some(key) => self.edges.get(&key).copied(),
            None => node.long_children.as_ref()?.get(name).copied(),
        }
    }

    /// What one step of the walk grants: `**` of the child, and for the last segment `*` of
    /// the parent and the exact grant of the child.
    fn matches_at(&self, a: usize, parent: u32, child: Option<u32>, last: bool) -> u32 {
        let child = child.map(|c| &self.nodes[c as usize]);
        let mut best = child.map_or(NONE, |c| c.subtree[a]);
        if last {
            best = best.min(self.nodes[parent as usize].children[a]);
            best = best.min(child.map_or(NONE, |c| c.exact[a]));
        }
        best
    }
}

impl Globs {
    fn lookup(&self, path: &str) -> u32 {
        // A root (`/`, `~`) is matched by no general glob (only `/**` would, and that is a
        // subtree grant), but globset's `*` matches the empty name after `/`: `/*` would.
        let is_root = path.len() == 1;
        // `is_match` does not allocate; `matches` does, so only when a glob does match, and
        // not at all when the globs are all one grant's (the usual case: one grant per prefix).
        if is_root || !self.set.is_match(path) {
            return NONE;
        }
        if self.grant_of.iter().all(|&g| g == self.lowest) {
            return self.lowest;
        }
        let matched = self.set.matches(path).into_iter().map(|k| self.grant_of[k]);
        matched.min().unwrap_or(NONE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An index whose `lookup` unwraps, for requests that are normal.
    struct Idx(FsIndex);

    impl Idx {
        fn lookup(&self, action: FsAction, path: &str) -> u32 {
            self.0.lookup(action, path).unwrap()
        }
    }

    fn index(grants: &[(FsAction, &str)]) -> Idx {
        let mut b = FsIndexBuilder::new();
        for (i, (action, p)) in grants.iter().enumerate() {
            b.add(i as u32, *action, &PathPattern::parse(p).unwrap());
        }
        Idx(b.build())
    }

    #[test]
    fn paths_that_are_not_normal_are_reported() {
        let idx = index(&[(FsAction::Read, "/data/**")]).0;
        for path in [
            "/data/../etc",
            "/data/./x",
            "/data//x",
            "/data/x/",
            "/data/x\0",
            "~/",
            "data",
            "",
            "/x/..",
        ] {
            assert_eq!(idx.lookup(FsAction::Read, path), Err(NotNormal), "{path:?}");
        }
        for path in ["/", "~", "~/a", "/data/.x", "/data/...", "/a..b"] {
            assert!(idx.lookup(FsAction::Read, path).is_ok(), "{path:?}");
        }
    }

    #[test]
    fn finds_the_first_slash_or_nul() {
        let naive = |s: &[u8]| s.iter().position(|&b| b == b'/' || b == 0);
        let cases: [&[u8]; 9] = [
            b"",
            b"/",
            b"abc",
            b"abcdefgh/",
            b"abcdefghijklmnop",
            b"abcdefghijklm/nop",
            b"ab\0cd/",
            b"\xff\x80/",
            b"\xaf/",
        ];
        for case in cases {
            assert_eq!(find_slash_or_nul(case), naive(case), "{case:?}");
        }
    }

    proptest::proptest! {
        #[test]
        fn slash_search_agrees_with_a_byte_scan(bytes in proptest::collection::vec(proptest::sample::select(&[0u8, b'/', b'.', b'a', 0x2e, 0xaf, 0x7f, 0x80][..]), 0..40)) {
            let naive = bytes.iter().position(|&b| b == b'/' || b == 0);
            proptest::prop_assert_eq!(find_slash_or_nul(&bytes), naive);
        }
    }

    #[test]
    fn short_keys_identify_names() {
        let names = [
            "a", "b", "ab", "ba", "aa", "abc", "acb", "abcd", "abce", "abcdefg", "abcdefh", "bbcdefg",
        ];
        let more = [
            "abcdefgh",
            "abcdefghijklmnop",
            "abcdefghijklmnoq",
            "bbcdefghijklmnop",
            "abcdefghi",
        ];
        let keys: std::collections::HashSet<_> = names.iter().chain(&more).map(|n| short_key(7, n)).collect();
        assert_eq!(keys.len(), names.len() + more.len());
    }

    proptest::proptest! {
        #[test]
        fn short_keys_are_injective(a in "[ab/.]{0,16}", b in "[ab/.]{0,16}", p in 0u32..3, q in 0u32..3) {
            proptest::prop_assert_eq!(short_key(p, &a) == short_key(q, &b), (p, &a) == (q, &b));
        }
    }

    #[test]
    fn long_names_use_their_own_map() {
        use FsAction::Read;
        let idx = index(&[
            (Read, "/a-directory-name-longer-than-16/x"),
            (Read, "/sixteen-bytes-xx/**"),
        ]);
        assert_eq!(idx.lookup(Read, "/a-directory-name-longer-than-16/x"), 0);
        assert_eq!(idx.lookup(Read, "/a-directory-name-longer-than-1/x"), NONE);
        assert_eq!(idx.lookup(Read, "/sixteen-bytes-xx/y"), 1);
        assert!(short_key(0, "sixteen-bytes-xx").is_some());
        assert_eq!(short_key(0, "seventeen-bytes-x"), None);
        assert_ne!(short_key(0, "a"), short_key(1, "a"));
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
