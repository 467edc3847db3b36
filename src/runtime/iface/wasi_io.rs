//! `wasi:io/poll` and `wasi:io/streams`, bounded by the call's deadline.
//!
//! wasmtime-wasi implements both. Every operation that waits is wrapped here: `poll`,
//! `pollable.block`, and the streams' `blocking-*` methods. A guest waiting on a clock
//! (`subscribe-duration` then `block`), on a socket that never answers, or on a pipe cannot hold
//! its call past the instance's wall-clock limit. Epoch interruption stops only guest code, not
//! a wait in the host. Past the deadline, the call ends as a timeout fault (the same
//! `Trap::Interrupt` the epoch deadline raises). Non-blocking operations are wasmtime-wasi's
//! as they are.

use std::future::Future;
use std::time::Instant;

use wasmtime::component::{HasData, Linker, Resource, ResourceTable};
use wasmtime_wasi::p2::bindings::sync::io::{poll, streams};
use wasmtime_wasi::p2::{DynPollable, StreamError, StreamResult};
use wasmtime_wasi::runtime::in_tokio;
use wasmtime_wasi_io::bindings::wasi::io::poll as async_poll;
use wasmtime_wasi_io::bindings::wasi::io::streams::{HostInputStream as AsyncInput, HostOutputStream as AsyncOutput};

use crate::runtime::guard::Guard;
use crate::runtime::state::InstanceState;

/// What `wasi:io` is implemented on: the resource table, and the guard for the current call's
/// deadline (read only by the operations that wait).
pub(crate) struct IoView<'a> {
    pub(crate) table: &'a mut ResourceTable,
    pub(crate) guard: &'a Guard,
}

/// The `HasData` of `wasi:io/poll` and `wasi:io/streams`.
pub(crate) struct HasIo;

impl HasData for HasIo {
    type Data<'a> = IoView<'a>;
}

pub(crate) fn add_to_linker(linker: &mut Linker<InstanceState>) -> wasmtime::Result<()> {
    poll::add_to_linker::<InstanceState, HasIo>(linker, InstanceState::io_view)?;
    streams::add_to_linker::<InstanceState, HasIo>(linker, InstanceState::io_view)
}

/// The fault a wait past the deadline ends the call with: the epoch deadline's own.
fn past_deadline() -> wasmtime::Error {
    wasmtime::Error::from(wasmtime::Trap::Interrupt)
}

/// Runs a waiting operation until the deadline at most.
fn bounded<T>(deadline: Instant, wait: impl Future<Output = T>) -> Result<T, wasmtime::Error> {
    let left = deadline.saturating_duration_since(Instant::now());
    in_tokio(async { tokio::time::timeout(left, wait).await }).map_err(|_| past_deadline())
}

/// [`bounded`] for the streams, whose errors carry traps.
fn bounded_stream<T>(deadline: Instant, wait: impl Future<Output = StreamResult<T>>) -> StreamResult<T> {
    bounded(deadline, wait).map_err(StreamError::Trap)?
}

impl poll::Host for IoView<'_> {
    fn poll(&mut self, pollables: Vec<Resource<DynPollable>>) -> wasmtime::Result<Vec<u32>> {
        bounded(
            self.guard.call_deadline(),
            async_poll::Host::poll(self.table, pollables),
        )?
    }
}

impl poll::HostPollable for IoView<'_> {
    fn ready(&mut self, pollable: Resource<DynPollable>) -> wasmtime::Result<bool> {
        poll::HostPollable::ready(self.table, pollable)
    }

    fn block(&mut self, pollable: Resource<DynPollable>) -> wasmtime::Result<()> {
        bounded(
            self.guard.call_deadline(),
            async_poll::HostPollable::block(self.table, pollable),
        )?
    }

    fn drop(&mut self, pollable: Resource<DynPollable>) -> wasmtime::Result<()> {
        poll::HostPollable::drop(self.table, pollable)
    }
}

impl streams::Host for IoView<'_> {
    fn convert_stream_error(&mut self, err: StreamError) -> wasmtime::Result<streams::StreamError> {
        streams::Host::convert_stream_error(self.table, err)
    }
}

impl streams::HostInputStream for IoView<'_> {
    fn drop(&mut self, stream: Resource<streams::InputStream>) -> wasmtime::Result<()> {
        streams::HostInputStream::drop(self.table, stream)
    }

    fn read(&mut self, stream: Resource<streams::InputStream>, len: u64) -> StreamResult<Vec<u8>> {
        streams::HostInputStream::read(self.table, stream, len)
    }

    fn blocking_read(&mut self, stream: Resource<streams::InputStream>, len: u64) -> StreamResult<Vec<u8>> {
        bounded_stream(
            self.guard.call_deadline(),
            AsyncInput::blocking_read(self.table, stream, len),
        )
    }

    fn skip(&mut self, stream: Resource<streams::InputStream>, len: u64) -> StreamResult<u64> {
        streams::HostInputStream::skip(self.table, stream, len)
    }

    fn blocking_skip(&mut self, stream: Resource<streams::InputStream>, len: u64) -> StreamResult<u64> {
        bounded_stream(
            self.guard.call_deadline(),
            AsyncInput::blocking_skip(self.table, stream, len),
        )
    }

    fn subscribe(&mut self, stream: Resource<streams::InputStream>) -> wasmtime::Result<Resource<DynPollable>> {
        streams::HostInputStream::subscribe(self.table, stream)
    }
}

impl streams::HostOutputStream for IoView<'_> {
    fn drop(&mut self, stream: Resource<streams::OutputStream>) -> wasmtime::Result<()> {
        streams::HostOutputStream::drop(self.table, stream)
    }

    fn check_write(&mut self, stream: Resource<streams::OutputStream>) -> StreamResult<u64> {
        streams::HostOutputStream::check_write(self.table, stream)
    }

    fn write(&mut self, stream: Resource<streams::OutputStream>, bytes: Vec<u8>) -> StreamResult<()> {
        streams::HostOutputStream::write(self.table, stream, bytes)
    }

    fn blocking_write_and_flush(
        &mut self,
        stream: Resource<streams::OutputStream>,
        bytes: Vec<u8>,
    ) -> StreamResult<()> {
        bounded_stream(
            self.guard.call_deadline(),
            AsyncOutput::blocking_write_and_flush(self.table, stream, bytes),
        )
    }

    fn blocking_write_zeroes_and_flush(
        &mut self,
        stream: Resource<streams::OutputStream>,
        len: u64,
    ) -> StreamResult<()> {
        bounded_stream(
            self.guard.call_deadline(),
            AsyncOutput::blocking_write_zeroes_and_flush(self.table, stream, len),
        )
    }

    fn subscribe(&mut self, stream: Resource<streams::OutputStream>) -> wasmtime::Result<Resource<DynPollable>> {
        streams::HostOutputStream::subscribe(self.table, stream)
    }

    fn write_zeroes(&mut self, stream: Resource<streams::OutputStream>, len: u64) -> StreamResult<()> {
        streams::HostOutputStream::write_zeroes(self.table, stream, len)
    }

    fn flush(&mut self, stream: Resource<streams::OutputStream>) -> StreamResult<()> {
        streams::HostOutputStream::flush(self.table, stream)
    }

    fn blocking_flush(&mut self, stream: Resource<streams::OutputStream>) -> StreamResult<()> {
        bounded_stream(
            self.guard.call_deadline(),
            AsyncOutput::blocking_flush(self.table, stream),
        )
    }

    fn splice(
        &mut self,
        dst: Resource<streams::OutputStream>,
        src: Resource<streams::InputStream>,
        len: u64,
    ) -> StreamResult<u64> {
        streams::HostOutputStream::splice(self.table, dst, src, len)
    }

    fn blocking_splice(
        &mut self,
        dst: Resource<streams::OutputStream>,
        src: Resource<streams::InputStream>,
        len: u64,
    ) -> StreamResult<u64> {
        bounded_stream(
            self.guard.call_deadline(),
            AsyncOutput::blocking_splice(self.table, dst, src, len),
        )
    }
}
