//! SHA-256 content digests: what shards are chosen by (`check --shard`), what cache entries are
//! keyed by (`check --cache`), and what tells a merge that its shards checked the same batch.
//!
//! [`Hasher`] writes every field with its length first, so that two different sequences of
//! fields can never hash the same way by running into each other (`"ab" + "c"` vs `"a" + "bc"`).

use std::fmt;
use std::io::{self, Read};
use std::path::Path;

use sha2::{Digest as _, Sha256};

/// A SHA-256 digest.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Digest(pub [u8; 32]);

impl Digest {
    /// The digest of `bytes`.
    pub fn of(bytes: &[u8]) -> Self {
        Digest(Sha256::digest(bytes).into())
    }

    /// The digest of a file's contents, read in blocks (for files too large to keep).
    ///
    /// # Errors
    /// The file cannot be read.
    pub fn of_file(path: &Path) -> io::Result<Self> {
        let mut file = std::fs::File::open(path)?;
        let mut hasher = Sha256::new();
        let mut buffer = vec![0; 64 * 1024];
        loop {
            let n = file.read(&mut buffer)?;
            if n == 0 {
                return Ok(Digest(hasher.finalize().into()));
            }
            hasher.update(&buffer[..n]);
        }
    }

    /// The first eight bytes as a number: what a shard is chosen by.
    pub fn prefix(&self) -> u64 {
        let mut first = [0; 8];
        first.copy_from_slice(&self.0[..8]);
        u64::from_be_bytes(first)
    }

    /// Parses `sha256:` followed by 64 hexadecimal digits.
    pub fn parse(s: &str) -> Option<Self> {
        let hex = s.strip_prefix("sha256:")?.as_bytes();
        if hex.len() != 64 {
            return None;
        }
        let mut out = [0; 32];
        for (byte, pair) in out.iter_mut().zip(hex.chunks(2)) {
            *byte = u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok()?;
        }
        Some(Digest(out))
    }

    /// Lowercase hexadecimal.
    pub fn hex(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sha256:{self}")
    }
}

/// Hashes a sequence of fields, each prefixed with its length.
#[derive(Clone, Default)]
pub struct Hasher(Sha256);

impl Hasher {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one field.
    pub fn field(&mut self, bytes: impl AsRef<[u8]>) -> &mut Self {
        let bytes = bytes.as_ref();
        self.0.update((bytes.len() as u64).to_be_bytes());
        self.0.update(bytes);
        self
    }

    pub fn finish(&self) -> Digest {
        Digest(self.0.clone().finalize().into())
    }
}

/// A shard of a batch, `index` of `count` (1-based, as written on the command line: `2/8`).
/// A component belongs to the shard its content digest falls into, so a shard keeps its
/// members when other files are added, removed, renamed or listed in another order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

impl Shard {
    /// Parses `I/N` with `1 <= I <= N`; the error says what is wrong and how to write it.
    ///
    /// # Errors
    /// Not two positive numbers separated by `/`, or the index is out of range.
    pub fn parse(s: &str) -> Result<Self, String> {
        let usage = "write the shard as I/N, for example 2/8 (shard 2 of 8)";
        let (i, n) = s
            .split_once('/')
            .ok_or_else(|| format!("`{s}` is not a shard: {usage}"))?;
        let number = |part: &str, what: &str| {
            part.trim()
                .parse::<u32>()
                .map_err(|_| format!("`{s}`: the shard {what} `{part}` is not a whole number: {usage}"))
        };
        let (index, count) = (number(i, "index")?, number(n, "count")?);
        if count == 0 {
            return Err(format!("`{s}`: the shard count must be at least 1: {usage}"));
        }
        if index == 0 || index > count {
            return Err(format!(
                "`{s}`: the shard index counts from 1 to {count}; a Kubernetes JOB_COMPLETION_INDEX counts from 0, so pass $((JOB_COMPLETION_INDEX + 1))/{count}"
            ));
        }
        Ok(Shard { index, count })
    }

    /// Whether a component with this content digest belongs to the shard.
    pub fn contains(&self, digest: &Digest) -> bool {
        digest.prefix() % u64::from(self.count) == u64::from(self.index - 1)
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_parse_and_refuse_with_the_fix() {
        assert_eq!(Shard::parse("2/8"), Ok(Shard { index: 2, count: 8 }));
        assert_eq!(Shard::parse("1/1"), Ok(Shard { index: 1, count: 1 }));
        assert!(Shard::parse("0/4").unwrap_err().contains("JOB_COMPLETION_INDEX + 1"));
        assert!(Shard::parse("5/4").unwrap_err().contains("from 1 to 4"));
        assert!(Shard::parse("1/0").unwrap_err().contains("at least 1"));
        assert!(Shard::parse("3").unwrap_err().contains("I/N"));
        assert!(Shard::parse("a/4").unwrap_err().contains("not a whole number"));
    }

    #[test]
    fn every_digest_falls_in_exactly_one_shard() {
        for count in 1..=9 {
            for i in 0..200u32 {
                let d = Digest::of(&i.to_le_bytes());
                let hits = (1..=count).filter(|&index| Shard { index, count }.contains(&d)).count();
                assert_eq!(hits, 1);
            }
        }
    }

    #[test]
    fn fields_do_not_run_into_each_other() {
        let ab_c = Hasher::new().field("ab").field("c").finish();
        let a_bc = Hasher::new().field("a").field("bc").finish();
        assert_ne!(ab_c, a_bc);
        assert_eq!(Digest::parse(&format!("sha256:{ab_c}")), Some(ab_c));
        assert_eq!(Digest::parse(&format!("{ab_c}")), None);
        assert_eq!(Digest::parse("sha256:abc"), None);
        assert_eq!(Digest::parse(&format!("sha256:{}", "g".repeat(64))), None);
        assert_eq!(
            Digest::of(b"abc").hex(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
