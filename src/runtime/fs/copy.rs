//! `copy`'s transfer: the kernel copies between files in bounded steps, the host chunks what
//! it cannot, and both stop at the size budget and the call's deadline.

use std::io::{self, Read, Write};

use super::ops::CHUNK;
use super::{FsError, io_error};

/// Copies `input` to `output` until the end of `input`, at most `budget` bytes (more is
/// `limit-exceeded`) and until `deadline` (then `timeout`); the destination keeps what was
/// copied by then. Both files may be non-blocking (FIFOs): the copy then waits for them, but
/// not past the deadline.
pub(crate) fn bounded_copy(
    input: &mut std::fs::File,
    output: &mut std::fs::File,
    budget: u64,
    deadline: std::time::Instant,
    (from, to): (&str, &str),
) -> Result<u64, FsError> {
    use rustix::event::PollFlags;
    let mut copied: u64 = 0;
    // Between files the kernel copies (and may share blocks), in steps that let the budget
    // and the deadline be checked; sources it cannot copy that way (devices, FIFOs) go
    // through the host, chunk by chunk.
    loop {
        let step = budget.saturating_add(1).saturating_sub(copied).min(KERNEL_STEP);
        match rustix::fs::copy_file_range(&*input, None, &*output, None, step as usize) {
            Ok(0) => return Ok(copied),
            Ok(n) => {
                copied += n as u64;
                if copied > budget {
                    return Err(over_copy_budget(budget, from, to));
                }
                if std::time::Instant::now() >= deadline {
                    return Err(FsError::Timeout);
                }
            }
            Err(rustix::io::Errno::INTR) => {}
            Err(_) => break,
        }
    }
    let mut chunk = vec![0u8; CHUNK];
    loop {
        let n = match input.read(&mut chunk) {
            Ok(0) => return Ok(copied),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                wait_for(&*input, PollFlags::IN, deadline).map_err(|e| io_error(&e, from))?;
                continue;
            }
            Err(e) => return Err(io_error(&e, from)),
        };
        if copied + n as u64 > budget {
            return Err(over_copy_budget(budget, from, to));
        }
        let mut data = &chunk[..n];
        while !data.is_empty() {
            match output.write(data) {
                Ok(0) => return Err(io_error(&io::Error::from(io::ErrorKind::WriteZero), to)),
                Ok(written) => data = &data[written..],
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    wait_for(&*output, PollFlags::OUT, deadline).map_err(|e| io_error(&e, to))?;
                }
                Err(e) => return Err(io_error(&e, to)),
            }
        }
        copied += n as u64;
        if std::time::Instant::now() >= deadline {
            return Err(FsError::Timeout);
        }
    }
}

/// Bytes the kernel copies in one step of [`bounded_copy`].
const KERNEL_STEP: u64 = 16 << 20;

fn over_copy_budget(budget: u64, from: &str, to: &str) -> FsError {
    FsError::LimitExceeded(format!(
        "{from} -> {to}: the source gives more than {budget} bytes (its size when the copy began, and at least the read limit)"
    ))
}

/// Waits until `file` is ready for `events` (or hung up), or fails with `ETIMEDOUT` once
/// `deadline` has passed.
fn wait_for(file: &std::fs::File, events: rustix::event::PollFlags, deadline: std::time::Instant) -> io::Result<()> {
    use rustix::event::{PollFd, Timespec, poll};
    let left = deadline.saturating_duration_since(std::time::Instant::now());
    if left.is_zero() {
        return Err(io::Error::from_raw_os_error(libc::ETIMEDOUT));
    }
    let timeout = Timespec::try_from(left).unwrap_or(Timespec {
        tv_sec: i64::MAX,
        tv_nsec: 0,
    });
    let mut fds = [PollFd::new(file, events)];
    match poll(&mut fds, Some(&timeout)) {
        Ok(_) | Err(rustix::io::Errno::INTR) => Ok(()),
        Err(e) => Err(e.into()),
    }
}
