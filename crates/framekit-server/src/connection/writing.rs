//! The write side: gathering responses into the outbound queue, vectored writes, the water
//! marks, and the flush.
//!
//! Every response that is ready joins the queue before one (vectored) write goes out, which is
//! what makes pipelined answers leave in one system call. Above the high water mark the
//! connection stops reading and taking responses until the queue drains to the low one. A
//! response the codec cannot encode is taken back out of the queue and answered through the
//! error hook instead.
//!
//! Memory: the outbound queue's encode buffer is kept for reuse while answers flow and given
//! back to the thread's [`pool`](crate::pool) when the connection goes quiet.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::AsyncWrite;
use tokio::time::Instant;

use crate::codec::ConnectionCodec;
use crate::error::{CodecError, FailureOrigin};
use crate::metrics::Metrics;
use crate::outbound::Outbound;

use super::dispatch::Dispatch;
use super::Env;

/// Whether responses are taken and input read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Flow {
    /// Below the high water mark (or back under the low one).
    Flowing,
    /// Above the high water mark: no reading, no taking responses, until the low one.
    Paused,
}

/// A response could not be encoded, and the queue could not be repaired: the connection ends
/// (reason `EncodeError`).
#[derive(Debug)]
pub(crate) struct Unencodable;

/// Queues what `encode` appends to `out`. When it refuses, what it appended is taken back
/// and the error hook's reply (if any) goes in its place, so the connection goes on: the one
/// rule for every response, whichever handler style produced it. `Ok(true)`: a response or a
/// reply was queued; `Ok(false)`: the hook had no reply. [`Unencodable`]: the refused bytes
/// could not be taken back, or the reply was refused too; the connection must end.
pub(crate) fn encode_or_answer<C: ConnectionCodec<R>, R, E: CodecError>(
    codec: &mut C,
    out: &mut Outbound,
    env: Env<'_, R>,
    encode: impl FnOnce(&mut C, &mut Outbound) -> Result<(), E>,
) -> Result<bool, Unencodable> {
    let mark = out.mark();
    let Err(err) = encode(codec, out) else {
        return Ok(true);
    };
    tracing::warn!(error = %err, "response could not be encoded");
    if !out.rewind(mark) {
        env.shared
            .metrics
            .failure(FailureOrigin::Encode, err.kind_name());
        return Err(Unencodable);
    }
    let Some(reply) =
        env.shared
            .reject(FailureOrigin::Encode, err.kind_name(), &err, true, env.ctx)
    else {
        return Ok(false);
    };
    if let Err(err) = codec.queue_response(reply, out) {
        tracing::warn!(error = %err, "error reply could not be encoded");
        env.shared
            .metrics
            .failure(FailureOrigin::Encode, err.kind_name());
        return Err(Unencodable);
    }
    Ok(true)
}

/// The write side of one connection. It does not hold the transport: the connection lends it
/// to [`poll_output`](Writing::poll_output), so the read and write sides need no lock or
/// shared handle between them.
pub(crate) struct Writing {
    pub(super) out: Outbound,
    pub(super) flow: Flow,
    /// Written but not flushed: transports that buffer (TLS) hold those bytes until a flush.
    unflushed: bool,
    /// Since when the queue has waited for the peer to read: the write clock.
    pub(super) since: Instant,
    /// The most bytes queued so far (reported to the metrics when it grows).
    peak: usize,
}

/// What one turn of the output side did.
#[derive(Debug, Default)]
pub(super) struct Step {
    /// Responses encoded into the queue.
    pub(super) responses: u64,
    /// The most bytes queued after encoding them.
    pub(super) queued_peak: usize,
    /// Bytes written to the peer.
    pub(super) written: usize,
}

/// What the output side drives besides taking responses.
#[derive(Debug, Clone, Copy)]
pub(super) struct Drive {
    /// The dispatcher has background work of its own (a duplex handler's future).
    pub(super) background: bool,
    /// Wait for a slot for the next request to free up by other means than a response.
    pub(super) want_spare: bool,
}

/// Why the output side stopped.
pub(super) enum OutputError {
    Unencodable,
    Io(io::Error),
}

impl From<Unencodable> for OutputError {
    fn from(_: Unencodable) -> Self {
        OutputError::Unencodable
    }
}

impl Writing {
    pub(super) fn new(vectored_min: usize, now: Instant) -> Self {
        Writing {
            out: Outbound::new(vectored_min),
            flow: Flow::Flowing,
            unflushed: false,
            since: now,
            peak: 0,
        }
    }

    /// Whether output is queued or not yet flushed.
    pub(super) fn is_busy(&self) -> bool {
        !self.out.is_empty() || self.unflushed
    }

    /// Whether a response ready now may be encoded at once.
    pub(super) fn takes_direct(&self, high_water: usize) -> bool {
        self.flow == Flow::Flowing && self.out.len() <= high_water
    }

    /// Pauses above the high water mark, resumes at or below the low one.
    pub(super) fn update_flow(&mut self, low: usize, high: usize) {
        match self.flow {
            Flow::Paused if self.out.len() <= low => self.flow = Flow::Flowing,
            Flow::Flowing if self.out.len() > high => self.flow = Flow::Paused,
            _ => {}
        }
    }

    /// Encodes `resp` into the queue. When the codec refuses it, what it appended is taken
    /// back and the error hook's reply (if any) goes in its place; the connection goes on.
    pub(super) fn encode<C: ConnectionCodec<R>, R>(
        &mut self,
        codec: &mut C,
        resp: R,
        env: Env<'_, R>,
    ) -> Result<(), Unencodable> {
        encode_or_answer(codec, &mut self.out, env, |codec, out| {
            codec.queue_response(resp, out)
        })
        .map(drop)
    }

    /// `n` responses joined the queue at `now`, which then held `queued` bytes; `was_busy`
    /// says whether output was queued before them (if not, the write clock starts now).
    pub(super) fn answered(
        &mut self,
        n: u64,
        queued: usize,
        was_busy: bool,
        now: Instant,
        metrics: &Metrics,
    ) {
        metrics.frames_out(n);
        if queued > self.peak {
            self.peak = queued;
            metrics.outbound(queued);
        }
        if !was_busy {
            self.since = now;
        }
    }

    /// Books what an output turn did at `now` (`was_busy`: output was queued before it).
    /// Returns whether it was activity (for the idle clock).
    pub(super) fn record(
        &mut self,
        step: &Step,
        was_busy: bool,
        now: Instant,
        metrics: &Metrics,
    ) -> bool {
        if step.responses > 0 {
            self.answered(step.responses, step.queued_peak, was_busy, now, metrics);
        }
        if step.written > 0 {
            metrics.bytes_out(step.written);
            // The peer is reading: the write clock restarts.
            self.since = now;
        }
        step.responses > 0 || step.written > 0
    }

    /// One turn of the output side over the transport `wr`: what `drive` says is driven,
    /// every response that is ready joins the queue (while flowing and below the high water
    /// mark), then one (vectored) write goes out, or a flush once everything is written.
    /// Pending when none of that could progress.
    pub(super) fn poll_output<D, C, Req, Wr>(
        &mut self,
        wr: &mut Wr,
        dispatch: &mut D,
        codec: &mut C,
        drive: Drive,
        env: Env<'_, D::Resp>,
        cx: &mut Context<'_>,
    ) -> Poll<Result<Step, OutputError>>
    where
        D: Dispatch<Req>,
        C: ConnectionCodec<D::Resp>,
        Wr: AsyncWrite + Unpin,
    {
        let mut step = Step::default();
        let Drive {
            background,
            want_spare,
        } = drive;
        let mut progressed =
            (background || want_spare) && dispatch.poll_drive(cx, want_spare).is_ready();
        if self.flow == Flow::Flowing {
            let high_water = env.shared.config.high_water;
            while self.out.len() <= high_water && dispatch.responding() {
                match dispatch.poll_response(cx) {
                    Poll::Ready(Some(resp)) => {
                        self.encode(codec, resp, env)?;
                        step.responses += 1;
                        step.queued_peak = step.queued_peak.max(self.out.len());
                    }
                    Poll::Ready(None) => progressed = true,
                    Poll::Pending => break,
                }
            }
        }
        let mut flush = self.unflushed;
        if !self.out.is_empty() {
            if let Poll::Ready(written) = self.out.poll_write(wr, cx) {
                step.written = written.map_err(OutputError::Io)?;
                flush |= step.written > 0;
            }
        }
        let mut flushed = false;
        // Everything is written: flush in the same turn (free on a socket; TLS sends its records).
        if self.out.is_empty() && flush {
            if let Poll::Ready(done) = Pin::new(&mut *wr).poll_flush(cx) {
                done.map_err(OutputError::Io)?;
                flushed = true;
            }
        }
        if step.written > 0 {
            self.unflushed = true;
        }
        if flushed {
            self.unflushed = false;
        }
        if step.responses > 0 || step.written > 0 || flushed || progressed {
            Poll::Ready(Ok(step))
        } else {
            Poll::Pending
        }
    }

    /// Keeps no encode buffer while nothing is queued.
    pub(super) fn release(&mut self) {
        self.out.release();
    }
}
