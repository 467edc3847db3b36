//! Reading input files within the size limit of their format, before anything is read.
//!
//! Every policy, manifest, WIT, component, catalogue and request file goes through
//! [`read`]: the file is opened without blocking (a FIFO would otherwise wait for a writer),
//! refused unless it is a regular file (`/dev/zero`, `/dev/urandom`, a FIFO or a socket never
//! end), and read at most one byte past the limit, so that neither a large file nor one that
//! grows while it is read can make the tool allocate more than the limit.

use std::fs::{File, Metadata, OpenOptions};
use std::io::{self, Read};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;

/// What a bounded read found.
#[derive(Debug)]
pub enum Bounded {
    /// The whole file, at most the limit.
    Bytes(Vec<u8>),
    /// The file is larger than the limit: at least this many bytes (nothing was kept).
    TooLarge(u64),
}

/// Reads `path` if it is a regular file of at most `limit` bytes.
///
/// # Errors
/// The file cannot be opened or read, or it is not a regular file (the error says what it
/// is: "a character device, not a regular file").
pub fn read(path: &Path, limit: usize) -> io::Result<Bounded> {
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)?;
    let meta = file.metadata()?;
    regular(&meta)?;
    if meta.len() > limit as u64 {
        return Ok(Bounded::TooLarge(meta.len()));
    }
    read_open(file, limit)
}

fn read_open(file: File, limit: usize) -> io::Result<Bounded> {
    let mut bytes = Vec::new();
    file.take(limit as u64 + 1).read_to_end(&mut bytes)?;
    if bytes.len() > limit {
        return Ok(Bounded::TooLarge(bytes.len() as u64));
    }
    Ok(Bounded::Bytes(bytes))
}

/// Like [`read`] for text: a file that is not UTF-8 is an error.
///
/// # Errors
/// As [`read`]; too large, or not UTF-8, is an `InvalidData` error that says so.
pub fn read_text(path: &Path, limit: usize) -> io::Result<String> {
    match read(path, limit)? {
        Bounded::Bytes(bytes) => String::from_utf8(bytes).map_err(|e| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "not UTF-8 text (invalid byte at offset {})",
                    e.utf8_error().valid_up_to()
                ),
            )
        }),
        Bounded::TooLarge(n) => Err(too_large(n, limit)),
    }
}

/// The error of a file over the limit.
pub fn too_large(size: u64, limit: usize) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("the file is {size} bytes, over the limit of {limit}"),
    )
}

fn regular(meta: &Metadata) -> io::Result<()> {
    let t = meta.file_type();
    let what = if t.is_file() {
        return Ok(());
    } else if t.is_dir() {
        "a directory"
    } else if t.is_char_device() {
        "a character device"
    } else if t.is_block_device() {
        "a block device"
    } else if t.is_fifo() {
        "a FIFO (named pipe)"
    } else if t.is_socket() {
        "a socket"
    } else {
        "not a file"
    };
    Err(io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("{what}, not a regular file; give the path of a file"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(path: &str) -> String {
        read(Path::new(path), 1 << 20).unwrap_err().to_string()
    }

    #[test]
    fn endless_files_are_refused_unread() {
        assert_eq!(
            message("/dev/zero"),
            "a character device, not a regular file; give the path of a file"
        );
        assert!(message("/dev/urandom").starts_with("a character device"));
        assert!(message("/").starts_with("a directory"));
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        rustix::fs::mkfifoat(rustix::fs::CWD, &fifo, rustix::fs::Mode::from_raw_mode(0o600)).unwrap();
        // Opening a FIFO for reading would block until a writer came; it is refused at once.
        assert!(message(fifo.to_str().unwrap()).starts_with("a FIFO"));
    }

    #[test]
    fn files_over_the_limit_are_not_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big");
        std::fs::write(&path, vec![b'x'; 101]).unwrap();
        assert!(matches!(read(&path, 100).unwrap(), Bounded::TooLarge(101)));
        assert!(matches!(read(&path, 101).unwrap(), Bounded::Bytes(b) if b.len() == 101));
        assert!(
            read_text(&path, 100)
                .unwrap_err()
                .to_string()
                .contains("101 bytes, over the limit of 100")
        );
    }
}
