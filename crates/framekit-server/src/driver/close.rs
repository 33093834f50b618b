//! The orderly close: everything owed is written; the write side is shut down (FIN), then the
//! connection lingers, reading and discarding what the peer still sends, so that the kernel
//! does not answer our last bytes with a reset.
//!
//! The FIN is bounded by [`Timer::Write`], the linger by [`Timer::Linger`]
//! ([`ServerConfig::linger`](crate::ServerConfig::linger)) and by a byte budget. A peer that
//! closed first gets no linger: there is nothing left to read.

use std::future::poll_fn;
use std::pin::{pin, Pin};
use std::sync::Arc;
use std::task::Poll;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

use crate::config::{deadline, expiry};
use crate::metrics::CloseReason;
use crate::shared::Shared;
use crate::timers::{Timer, TimerTable};

/// The least a closing connection reads and discards (when the input budget is smaller).
const LINGER_DISCARD_MIN: usize = 64 * 1024;

/// Closes a connection that ended in order (`reason`): FIN, then the linger (`eof`: the peer
/// closed its side already). Returns why it closed.
///
/// It owns the transport and its own sleep: it runs once per connection, boxed, so none of it
/// sits in the future a connection carries for its whole life.
pub(crate) async fn close<Io, R>(
    mut io: Io,
    eof: bool,
    reason: CloseReason,
    shared: Arc<Shared<R>>,
) -> CloseReason
where
    Io: AsyncRead + AsyncWrite + Unpin,
{
    let cfg = &shared.config;
    let sleep = pin!(tokio::time::sleep(std::time::Duration::ZERO));
    let mut sleep: Pin<&mut Sleep> = sleep;
    let mut timers = TimerTable::default();
    timers.set(Timer::Write, expiry(cfg.write_timeout, Instant::now()));
    let fin = poll_fn(|cx| {
        if let Poll::Ready(done) = Pin::new(&mut io).poll_shutdown(cx) {
            return Poll::Ready(Some(done));
        }
        timers.poll_expired(sleep.as_mut(), cx).map(|_| None)
    })
    .await;
    match fin {
        Some(Ok(())) => {}
        Some(Err(e)) => {
            tracing::debug!(error = %e, "write shutdown failed");
            return reason;
        }
        None => return CloseReason::WriteTimeout,
    }
    if eof || reason == CloseReason::PeerClosed || cfg.linger.is_zero() {
        return reason;
    }
    timers.clear();
    timers.set(Timer::Linger, deadline(Instant::now(), cfg.linger));
    // On the heap, and only now: the connection's future stays small while it runs.
    let mut discard = vec![0u8; 1024];
    let mut budget = cfg.input_budget.max(LINGER_DISCARD_MIN);
    let _ = poll_fn(|cx| {
        while budget > 0 {
            let mut scratch = ReadBuf::new(&mut discard);
            match Pin::new(&mut io).poll_read(cx, &mut scratch) {
                // The end, or an error: nothing more to discard either way.
                Poll::Ready(Err(_)) => return Poll::Ready(()),
                Poll::Ready(Ok(())) if scratch.filled().is_empty() => return Poll::Ready(()),
                Poll::Ready(Ok(())) => budget = budget.saturating_sub(scratch.filled().len()),
                Poll::Pending => return timers.poll_expired(sleep.as_mut(), cx).map(|_| ()),
            }
        }
        Poll::Ready(())
    })
    .await;
    reason
}
