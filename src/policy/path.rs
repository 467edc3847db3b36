//! Filesystem paths: lexical normalisation of requested paths, and the path patterns of
//! filesystem grants (`/exact`, `/dir/*`, `/dir/**`, `/data/*.csv`, `~/...`). This file owns
//! what a pattern means: `*` matches within one segment and never crosses `/`, `**` is a whole
//! segment matching zero or more segments (so `/dir/**` matches `dir` itself), matching is
//! case-sensitive, and `~` is a root of its own until the compiler expands it with the home
//! directory. [`PathPattern::matches`] is the plain, obviously-correct matcher; the compiled
//! index in `fs_index.rs` must agree with it, and the property tests check that it does.

use std::borrow::Cow;
use std::cell::Cell;
use std::fmt;

use super::error::{PathError, PatternError, PatternErrorKind};

/// The anchor of a path: the filesystem root or the (possibly unknown) home directory.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Root {
    /// `/...`
    Slash,
    /// `~` or `~/...`
    Home,
}

impl Root {
    fn as_str(self) -> &'static str {
        match self {
            Root::Slash => "/",
            Root::Home => "~",
        }
    }
}

/// Normalises a requested path lexically: `.` segments and repeated or trailing `/` go away,
/// `..` removes the previous segment and never climbs above `/` (`/../etc` is `/etc`, as the
/// kernel resolves it). `~` and `~/...` stay anchored at `~`; there a `..` that would leave the
/// home directory is an error, because its target is unknown until the home is.
///
/// Symbolic links are not resolved: that needs the filesystem, which the decision never touches.
///
/// # Errors
/// An empty path, a NUL byte, a relative path, or a `..` above `~`.
pub fn normalize_path(path: &str) -> Result<String, PathError> {
    normalize_cow(path).map(Cow::into_owned)
}

/// [`normalize_path`] that borrows when the path is already normal, which is the common case
/// on the decision's hot path and saves an allocation.
pub(crate) fn normalize_cow(path: &str) -> Result<Cow<'_, str>, PathError> {
    if is_normal(path) {
        return Ok(Cow::Borrowed(path));
    }
    let (root, rest) = split_root(path)?;
    let mut segments: Vec<&str> = Vec::new();
    for segment in rest.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                if segments.pop().is_none() && root == Root::Home {
                    return Err(PatternErrorKind::ClimbsAboveHome { input: path.into() }.into());
                }
            }
            s => segments.push(s),
        }
    }
    Ok(Cow::Owned(join(root, segments)))
}

/// Splits off the root; everything after it is a `/`-separated list of segments.
fn split_root(path: &str) -> Result<(Root, &str), PathError> {
    if path.is_empty() {
        return Err(PatternErrorKind::EmptyPath.into());
    }
    if path.contains('\0') {
        return Err(PatternErrorKind::NulByte { input: path.into() }.into());
    }
    if let Some(rest) = path.strip_prefix('/') {
        Ok((Root::Slash, rest))
    } else if path == "~" {
        Ok((Root::Home, ""))
    } else if let Some(rest) = path.strip_prefix("~/") {
        Ok((Root::Home, rest))
    } else {
        Err(PatternErrorKind::RelativePath { input: path.into() }.into())
    }
}

/// Whether `path` is already normal: `/` or `~` alone, or a root followed by segments that
/// are neither empty, `.` nor `..`, and no NUL. One pass over the bytes, without the
/// allocation of the general case: spawn decisions run it every time. (Filesystem decisions
/// check normality while walking the index instead; see `fs_index.rs`.)
fn is_normal(path: &str) -> bool {
    let rest = match path.as_bytes() {
        [b'/'] | [b'~'] => return true,
        [b'/', rest @ ..] | [b'~', b'/', rest @ ..] => rest,
        _ => return false,
    };
    // Length and number of dots of the current segment: all dots and at most two is `.`/`..`.
    let (mut len, mut dots) = (0usize, 0usize);
    let not_normal = |len: usize, dots: usize| len == 0 || (len == dots && len <= 2);
    for &byte in rest {
        match byte {
            b'/' if not_normal(len, dots) => return false,
            b'/' => (len, dots) = (0, 0),
            0 => return false,
            b'.' => (len, dots) = (len + 1, dots + 1),
            _ => len += 1,
        }
    }
    !not_normal(len, dots)
}

fn join<S: AsRef<str>>(root: Root, segments: impl IntoIterator<Item = S>) -> String {
    let mut out = String::from(root.as_str());
    for (i, segment) in segments.into_iter().enumerate() {
        if i > 0 || root == Root::Home {
            out.push('/');
        }
        out.push_str(segment.as_ref());
    }
    out
}

/// Replaces a leading `~` of a normalised path with the home directory (itself normalised and
/// absolute). Paths under `/` come back unchanged.
pub(crate) fn expand_home<'a>(path: Cow<'a, str>, home: Option<&str>) -> Cow<'a, str> {
    let (Some(home), Some(rest)) = (home, path.strip_prefix('~')) else {
        return path;
    };
    match (home, rest) {
        (_, "") => Cow::Owned(home.to_owned()),
        ("/", rest) => Cow::Owned(rest.to_owned()),
        (home, rest) => Cow::Owned(format!("{home}{rest}")),
    }
}

/// The segments of a normalised path, without its root.
pub(crate) fn segments_of(normal: &str) -> (Root, impl Iterator<Item = &str>) {
    let (root, rest) = match normal.strip_prefix('/') {
        Some(rest) => (Root::Slash, rest),
        None => (Root::Home, normal.strip_prefix('~').unwrap_or(normal)),
    };
    (root, rest.split('/').filter(|s| !s.is_empty()))
}

/// One segment of a path pattern.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Segment {
    /// Matches exactly this name.
    Literal(String),
    /// `*`: any one segment.
    Star,
    /// A segment with `*` among other characters, such as `*.csv`; stored as written.
    Glob(String),
    /// `**`: zero or more segments.
    AnyDepth,
}

impl Segment {
    fn as_str(&self) -> &str {
        match self {
            Segment::Literal(s) | Segment::Glob(s) => s,
            Segment::Star => "*",
            Segment::AnyDepth => "**",
        }
    }

    /// Whether this single-segment element matches the path segment `name`.
    fn matches(&self, name: &str) -> bool {
        match self {
            Segment::Literal(s) => s == name,
            Segment::Star => true,
            Segment::Glob(g) => glob_match(g, name),
            Segment::AnyDepth => false,
        }
    }

    /// Whether every segment this single-segment element matches is matched by `self`; `None`
    /// when `fuel` ran out first.
    fn covers_within(&self, other: &Segment, fuel: &Cell<u64>) -> Option<bool> {
        Some(match (self, other) {
            (_, Segment::AnyDepth) | (Segment::AnyDepth, _) => false,
            (Segment::Star, _) => true,
            (Segment::Literal(a), Segment::Literal(b)) => a == b,
            (Segment::Literal(_), _) => false,
            // A glob has a literal character, so it cannot match every name that `*` can.
            (Segment::Glob(_), Segment::Star) => false,
            // The other glob's `*`, treated as a character that only our `*` can absorb, makes
            // this test sound: whatever it stands for, our `*` absorbs it too.
            (Segment::Glob(a), Segment::Literal(b) | Segment::Glob(b)) => {
                wildcard_match_within(a.as_bytes(), b.as_bytes(), |b| *b == b'*', |p, t| Some(p == t), fuel)?
            }
        })
    }
}

/// `*`-only glob matching within one segment. Byte-wise is enough: a literal run of valid UTF-8
/// can only match at a character boundary of valid UTF-8.
fn glob_match(glob: &str, name: &str) -> bool {
    wildcard_match(glob.as_bytes(), name.as_bytes(), |b| *b == b'*', |p, t| p == t)
}

/// The classic linear-space wildcard matcher with back-tracking to the last star, generic over
/// what a star is and how a non-star element matches one text element. Its cost is bounded by
/// `pattern.len() * text.len()`, so hostile inputs cannot make it exponential.
fn wildcard_match<P, T>(pattern: &[P], text: &[T], is_star: impl Fn(&P) -> bool, one: impl Fn(&P, &T) -> bool) -> bool {
    wildcard_match_within(pattern, text, is_star, |p, t| Some(one(p, t)), &Cell::new(u64::MAX)).unwrap_or(false)
}

/// [`wildcard_match`] that spends one unit of `fuel` per step (and whatever `one` spends), and
/// answers `None` when the fuel runs out.
fn wildcard_match_within<P, T>(
    pattern: &[P],
    text: &[T],
    is_star: impl Fn(&P) -> bool,
    one: impl Fn(&P, &T) -> Option<bool>,
    fuel: &Cell<u64>,
) -> Option<bool> {
    let (mut p, mut t) = (0, 0);
    let mut resume: Option<(usize, usize)> = None;
    while t < text.len() {
        fuel.set(fuel.get().checked_sub(1)?);
        if p < pattern.len() && is_star(&pattern[p]) {
            resume = Some((p, t));
            p += 1;
        } else if p < pattern.len() && one(&pattern[p], &text[t])? {
            p += 1;
            t += 1;
        } else if let Some((star, matched)) = resume {
            // Let the last star absorb one more element and retry from there.
            resume = Some((star, matched + 1));
            p = star + 1;
            t = matched + 1;
        } else {
            return Some(false);
        }
    }
    Some(pattern[p..].iter().all(is_star))
}

/// How a pattern can be indexed: most grants are one of the first three shapes and are looked
/// up by hashing; only [`Shape::General`] needs a glob engine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Shape {
    /// Literal segments only.
    Exact,
    /// Literal segments, then `*`.
    Children,
    /// Literal segments, then `**`.
    Subtree,
    /// Anything else, such as `/data/*.csv` or `/a/**/b`.
    General,
}

/// The path of a filesystem grant, parsed and normalised. See the module documentation for
/// what it matches.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PathPattern {
    text: String,
    root: Root,
    segments: Vec<Segment>,
}

impl PathPattern {
    /// Parses a grant path: absolute or `~/`, with `*` inside segments and `**` as whole
    /// segments. `.` segments and repeated `/` are dropped and `/**/**` collapses to `/**`.
    ///
    /// # Errors
    /// Empty, relative, NUL, `..`, `**` inside a segment, or other glob syntax (`?`, `[`, `{`,
    /// `\`): a grant must say plainly what it grants.
    pub fn parse(input: &str) -> Result<Self, PatternError> {
        let (root, rest) = split_root(input)?;
        let mut segments: Vec<Segment> = Vec::new();
        for raw in rest.split('/') {
            if raw.is_empty() || raw == "." {
                continue;
            }
            let segment = parse_segment(input, raw)?;
            let repeated_any_depth = segment == Segment::AnyDepth && segments.last() == Some(&Segment::AnyDepth);
            if !repeated_any_depth {
                segments.push(segment);
            }
        }
        Ok(Self::from_parts(root, segments))
    }

    fn from_parts(root: Root, segments: Vec<Segment>) -> Self {
        let text = join(root, segments.iter().map(Segment::as_str));
        PathPattern { text, root, segments }
    }

    /// The normalised pattern, as it would be written in a manifest.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether the pattern is anchored at `~` (expanded only when the home is known).
    pub fn is_home_relative(&self) -> bool {
        self.root == Root::Home
    }

    /// Whether the pattern has no wildcard, so it names exactly one path.
    pub fn is_literal(&self) -> bool {
        self.shape() == Shape::Exact
    }

    /// True when the first segment is a bare wildcard (`/**`, `/*`, `/*/x`, `~/**`): the grant
    /// reaches every top-level directory of the filesystem or of the home.
    pub fn is_overly_broad(&self) -> bool {
        matches!(self.segments.first(), Some(Segment::Star | Segment::AnyDepth))
    }

    /// Whether the requested `path` (normalised first; a path that cannot be is not matched)
    /// matches the pattern. `~` is matched literally here: expansion is the compiler's job.
    pub fn matches(&self, path: &str) -> bool {
        normalize_cow(path).is_ok_and(|p| self.matches_normal(&p))
    }

    /// [`PathPattern::matches`] for an already-normalised path.
    pub(crate) fn matches_normal(&self, normal: &str) -> bool {
        let (root, names) = segments_of(normal);
        let names: Vec<&str> = names.collect();
        root == self.root
            && wildcard_match(
                &self.segments,
                &names,
                |s| *s == Segment::AnyDepth,
                |s, name| s.matches(name),
            )
    }

    /// Whether every path this pattern's `other` matches is also matched by `self`. Sound but
    /// not complete: `true` is always right; a few exotic inclusions between general globs are
    /// missed. Used to report shadowed grants.
    pub fn covers(&self, other: &PathPattern) -> bool {
        self.covers_within(other, &Cell::new(u64::MAX)).unwrap_or(false)
    }

    /// [`PathPattern::covers`] within a budget of work (one unit per element compared);
    /// `None` when `fuel` runs out before the answer.
    pub(crate) fn covers_within(&self, other: &PathPattern, fuel: &Cell<u64>) -> Option<bool> {
        if self.root != other.root {
            return Some(false);
        }
        wildcard_match_within(
            &self.segments,
            &other.segments,
            |s| *s == Segment::AnyDepth,
            |a, b| a.covers_within(b, fuel),
            fuel,
        )
    }

    /// How many segments the pattern has (`/a/*/**` has three).
    pub(crate) fn segment_count(&self) -> usize {
        self.segments.len()
    }

    /// Whether the last segment is `**`.
    pub(crate) fn ends_with_any_depth(&self) -> bool {
        self.segments.last() == Some(&Segment::AnyDepth)
    }

    /// Whether the last segment is `*`.
    pub(crate) fn ends_with_star(&self) -> bool {
        self.segments.last() == Some(&Segment::Star)
    }

    /// How the compiler can index this pattern, and its leading literal segments (all of them
    /// for [`Shape::Exact`], all but the last otherwise; empty for [`Shape::General`]).
    pub(crate) fn shape(&self) -> Shape {
        let Some((last, init)) = self.segments.split_last() else {
            return Shape::Exact;
        };
        if !init.iter().all(|s| matches!(s, Segment::Literal(_))) {
            return Shape::General;
        }
        match last {
            Segment::Literal(_) => Shape::Exact,
            Segment::Star => Shape::Children,
            Segment::AnyDepth => Shape::Subtree,
            Segment::Glob(_) => Shape::General,
        }
    }

    /// The literal names of the leading literal segments (see [`PathPattern::shape`]).
    pub(crate) fn literal_prefix(&self) -> impl Iterator<Item = &str> {
        self.segments.iter().map_while(|s| match s {
            Segment::Literal(name) => Some(name.as_str()),
            _ => None,
        })
    }

    pub(crate) fn root(&self) -> Root {
        self.root
    }

    /// The pattern with `~` replaced by `home` (a normalised absolute path).
    pub(crate) fn with_home(&self, home: &str) -> PathPattern {
        if self.root == Root::Slash {
            return self.clone();
        }
        let (_, names) = segments_of(home);
        let mut segments: Vec<Segment> = names.map(|n| Segment::Literal(n.to_owned())).collect();
        segments.extend(self.segments.iter().cloned());
        Self::from_parts(Root::Slash, segments)
    }

    /// The globset globs equivalent to this pattern. A trailing `**` also matches the
    /// directory itself, which globset's `dir/**` does not, hence a second glob without it.
    /// Literal text is escaped, so a home directory with glob characters stays literal.
    pub(crate) fn globset_globs(&self) -> Vec<String> {
        let body = |segments: &[Segment]| {
            let parts = segments.iter().map(|s| match s {
                Segment::Literal(name) => globset::escape(name),
                Segment::Glob(g) => g.split('*').map(globset::escape).collect::<Vec<_>>().join("*"),
                Segment::Star => "*".into(),
                Segment::AnyDepth => "**".into(),
            });
            join(self.root, parts)
        };
        let mut globs = vec![body(&self.segments)];
        if let Some((Segment::AnyDepth, init)) = self.segments.split_last() {
            globs.push(body(init));
        }
        globs
    }
}

fn parse_segment(input: &str, raw: &str) -> Result<Segment, PatternError> {
    if raw == ".." {
        let suggestion = normalize_path(input).ok();
        let input = input.into();
        return Err(PatternErrorKind::ParentInPattern { input, suggestion }.into());
    }
    if let Some(found) = raw.chars().find(|c| matches!(c, '?' | '[' | '{' | '\\')) {
        return Err(PatternErrorKind::UnsupportedGlob {
            input: input.into(),
            found,
        }
        .into());
    }
    Ok(match raw {
        "**" => Segment::AnyDepth,
        "*" => Segment::Star,
        _ if raw.contains("**") => {
            return Err(PatternErrorKind::DoubleStarInSegment { input: input.into() }.into());
        }
        _ if raw.contains('*') => Segment::Glob(raw.into()),
        _ => Segment::Literal(raw.into()),
    })
}

impl fmt::Display for PathPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl std::str::FromStr for PathPattern {
    type Err = PatternError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::proptests::{messy_path, pattern};
    use proptest::prelude::*;

    fn pat(s: &str) -> PathPattern {
        PathPattern::parse(s).unwrap()
    }

    fn kind(r: Result<impl fmt::Debug, PatternError>) -> PatternErrorKind {
        r.unwrap_err().into_kind()
    }

    #[test]
    fn normalize_resolves_dots_and_slashes() {
        let cases = [
            ("/", "/"),
            ("//", "/"),
            ("/.", "/"),
            ("/..", "/"),
            ("/../etc", "/etc"),
            ("/a/../../../etc/passwd", "/etc/passwd"),
            ("/data/./x", "/data/x"),
            ("/data//x///y", "/data/x/y"),
            ("/data/x/", "/data/x"),
            ("/data/x/.", "/data/x"),
            ("/data/x/..", "/data"),
            ("/data/x/../y", "/data/y"),
            ("/data/.../x", "/data/.../x"),
            ("/data/..x", "/data/..x"),
            ("~", "~"),
            ("~/", "~"),
            ("~/a/./b/../c", "~/a/c"),
            ("~/a/..", "~"),
            ("/Data/X", "/Data/X"),
        ];
        for (input, want) in cases {
            assert_eq!(normalize_path(input).unwrap(), want, "{input}");
        }
    }

    #[test]
    fn normalize_rejects_what_it_cannot_resolve() {
        assert_eq!(kind(normalize_path("")), PatternErrorKind::EmptyPath);
        assert!(matches!(
            kind(normalize_path("data/x")),
            PatternErrorKind::RelativePath { .. }
        ));
        assert!(matches!(
            kind(normalize_path("./x")),
            PatternErrorKind::RelativePath { .. }
        ));
        assert!(matches!(
            kind(normalize_path("~root/x")),
            PatternErrorKind::RelativePath { .. }
        ));
        assert!(matches!(
            kind(normalize_path("/a\0b")),
            PatternErrorKind::NulByte { .. }
        ));
        assert!(matches!(
            kind(normalize_path("~/..")),
            PatternErrorKind::ClimbsAboveHome { .. }
        ));
        assert!(matches!(
            kind(normalize_path("~/a/../../b")),
            PatternErrorKind::ClimbsAboveHome { .. }
        ));
    }

    #[test]
    fn normal_paths_are_borrowed() {
        for p in ["/", "~", "/data/x", "~/a", "/.../..x/x..", "/a/.b/c."] {
            assert!(is_normal(p), "{p}");
            assert!(matches!(normalize_cow(p).unwrap(), Cow::Borrowed(_)), "{p}");
        }
        for p in [
            "", "~/", "//", "/a/", "/a//b", "/.", "/..", "/a/./b", "/a/../b", "a", "~x", "/a\0",
        ] {
            assert!(!is_normal(p), "{p:?}");
        }
    }

    #[test]
    fn home_expansion() {
        let exp = |p: &str, h| expand_home(Cow::Borrowed(p), h).into_owned();
        assert_eq!(exp("~/x", Some("/home/u")), "/home/u/x");
        assert_eq!(exp("~", Some("/home/u")), "/home/u");
        assert_eq!(exp("~/x", Some("/")), "/x");
        assert_eq!(exp("~/x", None), "~/x");
        assert_eq!(exp("/x", Some("/home/u")), "/x");
    }

    #[test]
    fn patterns_normalise_and_display() {
        assert_eq!(pat("/data/./x").as_str(), "/data/x");
        assert_eq!(pat("/data//x/").as_str(), "/data/x");
        assert_eq!(pat("/data/**/**").as_str(), "/data/**");
        assert_eq!(pat("~/notes/*.md").to_string(), "~/notes/*.md");
        assert_eq!(pat("~").as_str(), "~");
        assert_eq!(pat("/").as_str(), "/");
        assert_eq!(pat("/data/x"), pat("/data/./x"));
    }

    #[test]
    fn patterns_reject_unclear_grants() {
        let k = kind(PathPattern::parse("/data/../etc"));
        assert_eq!(
            k,
            PatternErrorKind::ParentInPattern {
                input: "/data/../etc".into(),
                suggestion: Some("/etc".into())
            }
        );
        for (input, found) in [("/a?", '?'), ("/a/[ab]", '['), ("/{a,b}", '{'), ("/a\\*", '\\')] {
            let k = kind(PathPattern::parse(input));
            assert_eq!(
                k,
                PatternErrorKind::UnsupportedGlob {
                    input: input.into(),
                    found
                }
            );
        }
        for input in ["/a**b", "/**.txt", "/data/x**"] {
            let k = kind(PathPattern::parse(input));
            assert_eq!(k, PatternErrorKind::DoubleStarInSegment { input: input.into() });
        }
        assert_eq!(kind(PathPattern::parse("")), PatternErrorKind::EmptyPath);
        assert!(matches!(
            kind(PathPattern::parse("data/*")),
            PatternErrorKind::RelativePath { .. }
        ));
        assert!(matches!(
            kind(PathPattern::parse("*")),
            PatternErrorKind::RelativePath { .. }
        ));
        assert!(matches!(
            kind(PathPattern::parse("/a\0")),
            PatternErrorKind::NulByte { .. }
        ));
        let err = PathPattern::parse("/a?").unwrap_err();
        assert_eq!(err.to_string(), "unsupported glob syntax `?` in path `/a?`");
        assert!(err.help().unwrap().contains("only `*`"));
    }

    #[test]
    fn exact_matches_only_itself() {
        let p = pat("/data/x");
        assert!(p.matches("/data/x"));
        assert!(p.matches("/data/./x/"));
        assert!(p.matches("/data/y/../x"));
        assert!(!p.matches("/data/x/y"));
        assert!(!p.matches("/data"));
        assert!(!p.matches("/data/X"));
        assert!(!p.matches("data/x"));
        assert!(!p.matches("/data/x\0"));
    }

    #[test]
    fn star_matches_direct_children_only() {
        let p = pat("/data/*");
        assert!(p.matches("/data/x"));
        assert!(p.matches("/data/.hidden"));
        assert!(!p.matches("/data"));
        assert!(!p.matches("/data/"));
        assert!(!p.matches("/data/x/y"));
        assert!(!p.matches("/datax"));
    }

    #[test]
    fn double_star_matches_the_directory_and_everything_below() {
        let p = pat("/data/**");
        assert!(p.matches("/data"));
        assert!(p.matches("/data/x"));
        assert!(p.matches("/data/x/y/z"));
        assert!(!p.matches("/datax"));
        assert!(!p.matches("/dat"));
        assert!(!p.matches("/data/../etc/passwd"));
        assert!(p.matches("/etc/../data/secret"));
        assert!(pat("/**").matches("/"));
        assert!(pat("/**").matches("/anything/at/all"));
    }

    #[test]
    fn globs_inside_segments() {
        let p = pat("/data/*.csv");
        assert!(p.matches("/data/a.csv"));
        assert!(p.matches("/data/.csv"));
        assert!(!p.matches("/data/a.csv/b"));
        assert!(!p.matches("/data/sub/a.csv"));
        assert!(!p.matches("/data/a.CSV"));
        let p = pat("/a/**/b.txt");
        assert!(p.matches("/a/b.txt"));
        assert!(p.matches("/a/x/y/b.txt"));
        assert!(!p.matches("/a/x/y/c.txt"));
        let p = pat("/logs/*/app-*.log");
        assert!(p.matches("/logs/2024/app-1.log"));
        assert!(!p.matches("/logs/2024/x/app-1.log"));
    }

    #[test]
    fn home_is_its_own_root() {
        let p = pat("~/notes/**");
        assert!(p.matches("~/notes/a"));
        assert!(p.matches("~/notes"));
        assert!(!p.matches("/notes/a"));
        assert!(!pat("/**").matches("~/x"));
        assert_eq!(p.with_home("/home/u").as_str(), "/home/u/notes/**");
        assert_eq!(pat("~").with_home("/home/u").as_str(), "/home/u");
        assert_eq!(pat("/x").with_home("/home/u").as_str(), "/x");
    }

    #[test]
    fn shapes() {
        assert_eq!(pat("/").shape(), Shape::Exact);
        assert_eq!(pat("/a/b").shape(), Shape::Exact);
        assert_eq!(pat("/a/*").shape(), Shape::Children);
        assert_eq!(pat("/*").shape(), Shape::Children);
        assert_eq!(pat("/a/**").shape(), Shape::Subtree);
        assert_eq!(pat("/**").shape(), Shape::Subtree);
        assert_eq!(pat("/a/*.csv").shape(), Shape::General);
        assert_eq!(pat("/a/*/b").shape(), Shape::General);
        assert_eq!(pat("/a/**/b").shape(), Shape::General);
        assert_eq!(pat("/a/b/**").literal_prefix().collect::<Vec<_>>(), ["a", "b"]);
    }

    #[test]
    fn overly_broad() {
        for p in ["/**", "/*", "~/**", "~/*", "/*/x", "/**/x.txt"] {
            assert!(pat(p).is_overly_broad(), "{p}");
        }
        for p in ["/data/**", "/", "~/notes/*", "/*.txt"] {
            assert!(!pat(p).is_overly_broad(), "{p}");
        }
    }

    #[test]
    fn covers_examples() {
        let covers = |a: &str, b: &str| pat(a).covers(&pat(b));
        assert!(covers("/data/**", "/data/x"));
        assert!(covers("/data/**", "/data"));
        assert!(covers("/data/**", "/data/*"));
        assert!(covers("/data/**", "/data/a/**"));
        assert!(covers("/data/**", "/data/*.csv"));
        assert!(covers("/data/*", "/data/x"));
        assert!(covers("/data/*", "/data/*.csv"));
        assert!(covers("/data/*.csv", "/data/a.csv"));
        assert!(covers("/data/*.csv", "/data/a*.csv"));
        assert!(covers("/**", "/data/**"));
        assert!(covers("/a/**/b", "/a/x/b"));
        assert!(!covers("/data/*", "/data/x/y"));
        assert!(!covers("/data/*", "/data/**"));
        assert!(!covers("/data/*", "/data"));
        assert!(!covers("/data/*.csv", "/data/*"));
        assert!(!covers("/data/x", "/data/*"));
        assert!(!covers("/**", "~/x"));
        assert!(!covers("/data/a*", "/data/*a"));
    }

    #[test]
    fn globset_translation() {
        assert_eq!(pat("/data/*.csv").globset_globs(), ["/data/*.csv"]);
        assert_eq!(pat("/a/*/**").globset_globs(), ["/a/*/**", "/a/*"]);
        let in_odd_home = pat("~/*.txt").with_home("/home/a*b");
        assert_eq!(in_odd_home.globset_globs(), ["/home/a[*]b/*.txt"]);
    }

    #[test]
    fn wildcard_match_is_not_exponential() {
        let glob = "*a*a*a*a*a*a*a*a*a*a*a*a*a*b";
        let name = "a".repeat(4000);
        assert!(!glob_match(glob, &name));
    }

    proptest! {
        #[test]
        fn normalisation_is_idempotent(path in messy_path()) {
            if let Ok(once) = normalize_path(&path) {
                prop_assert_eq!(normalize_path(&once).unwrap(), once.clone());
                prop_assert!(!once.contains("/./") && !once.contains("/../") && !once.contains("//"));
            }
        }

        #[test]
        fn fast_normal_check_agrees(path in messy_path()) {
            prop_assert_eq!(is_normal(&path), normalize_path(&path).is_ok_and(|n| n == path));
        }

        #[test]
        fn normalisation_never_panics(path in ".{0,40}") {
            let _ = normalize_path(&path);
            let _ = PathPattern::parse(&path);
        }

        #[test]
        fn star_never_crosses_a_slash(segs in prop::collection::vec("[a-z*_]{1,3}", 2..5)) {
            let path = format!("/d/{}", segs.join("/"));
            prop_assert!(!pat("/d/*").matches(&path));
        }

        #[test]
        fn paths_outside_data_never_match_data_grants(
            path in messy_path(),
            tail in prop_oneof![Just("**"), Just("*"), Just("x"), Just("*.csv"), Just("**/x")],
        ) {
            let normal = normalize_path(&path);
            let inside = normal.as_ref().is_ok_and(|n| n == "/data" || n.starts_with("/data/"));
            if !inside {
                let grant = pat(&format!("/data/{tail}"));
                prop_assert!(!grant.matches(&path));
            }
        }

        #[test]
        fn dot_dot_decides_like_its_normal_form(path in messy_path(), grant in pattern()) {
            if let Ok(normal) = normalize_path(&path) {
                prop_assert_eq!(grant.matches(&path), grant.matches(&normal));
            }
        }

        #[test]
        fn covering_patterns_match_what_they_cover(a in pattern(), b in pattern(), path in messy_path()) {
            if a.covers(&b) && b.matches(&path) {
                prop_assert!(a.matches(&path), "{} covers {} but not {}", a, b, path);
            }
        }

        #[test]
        fn every_pattern_covers_itself(a in pattern()) {
            prop_assert!(a.covers(&a));
        }
    }
}
