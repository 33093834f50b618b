//! The accept loop: connection permits taken before `accept` (or, with several threads,
//! right after it), the reject slots, the set of connection tasks and how each is spawned, and
//! the shutdown sequence that drains them.

use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use futures::future::BoxFuture;
use tokio::sync::{oneshot, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tracing::Instrument;

use crate::config::expiry_or_far;
use crate::config::ServerConfig;
use crate::context::{Ctx, Live};
use crate::listener::{is_per_connection, AcceptBackoff, Acceptor, Addr};
use crate::metrics::{CloseReason, IoFailure, Metrics};
use crate::shutdown::ShutdownReport;
use crate::watch::Shutdown;

/// Most connections being sent the reject reply at once; beyond it the server waits for a
/// permit instead of accepting.
const MAX_REJECTING: usize = 64;

/// Serves one accepted connection to its end: the future it returns is the connection task's,
/// spawned as it is. Not boxed behind a `dyn Fn`: that future is most of what an idle
/// connection weighs, and a box of its own would add an allocation header and a rounding per
/// connection (tokio's task cell holds it inline instead).
pub(crate) trait Serve<Io>: Send + Sync + 'static {
    type Connection: Future<Output = CloseReason> + Send + 'static;

    fn serve(&self, io: Io, ctx: Ctx) -> Self::Connection;
}

impl<Io, F, Fut> Serve<Io> for F
where
    F: Fn(Io, Ctx) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = CloseReason> + Send + 'static,
{
    type Connection = Fut;

    fn serve(&self, io: Io, ctx: Ctx) -> Fut {
        self(io, ctx)
    }
}

/// Sends the reject reply to a connection accepted at the limit.
pub(crate) type RejectFn<Io> = Arc<dyn Fn(Io, Addr) -> BoxFuture<'static, ()> + Send + Sync>;

/// The connection limit and the reject slots: one of each per server, shared by its accept
/// loops when it runs on several threads (a permit is per connection, never per request).
#[derive(Clone)]
pub(crate) struct Limits {
    permits: Arc<Semaphore>,
    rejecting: Option<Arc<Semaphore>>,
}

impl Limits {
    pub(crate) fn new(config: &ServerConfig, rejects: bool) -> Self {
        Limits {
            permits: Arc::new(Semaphore::new(config.max_connections)),
            rejecting: rejects.then(|| Arc::new(Semaphore::new(MAX_REJECTING))),
        }
    }
}

/// When a loop takes its slot. Alone, it takes the permit before `accept`, so at the limit
/// peers wait in the kernel backlog. One of several loops sharing the limit must not hold a
/// permit while its own listener is quiet (a peer arriving at another loop's listener would
/// wait for nothing), so it accepts first and then waits for a slot, holding at most that one
/// connection unserved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Order {
    PermitFirst,
    AcceptFirst,
}

/// What the loop holds before accepting: a connection permit, or a slot to reject one.
enum Slot {
    Serve(OwnedSemaphorePermit),
    Reject(OwnedSemaphorePermit),
}

async fn take_slot(permits: &Arc<Semaphore>, rejecting: Option<&Arc<Semaphore>>) -> Slot {
    let Some(rejecting) = rejecting else {
        return match permits.clone().acquire_owned().await {
            Ok(p) => Slot::Serve(p),
            Err(_) => std::future::pending().await,
        };
    };
    if let Ok(p) = permits.clone().try_acquire_owned() {
        return Slot::Serve(p);
    }
    tokio::select! {
        Ok(p) = permits.clone().acquire_owned() => Slot::Serve(p),
        Ok(p) = rejecting.clone().acquire_owned() => Slot::Reject(p),
    }
}

/// Sets the close reason metric when the connection task ends, however it ends.
struct CloseGuard {
    metrics: Arc<Metrics>,
    reason: Option<CloseReason>,
}

impl Drop for CloseGuard {
    fn drop(&mut self) {
        let reason = self.reason.unwrap_or(if std::thread::panicking() {
            CloseReason::Panicked
        } else {
            CloseReason::Aborted
        });
        self.metrics.closed(reason);
    }
}

/// What one accept loop does with its connections: its counters, how it serves and rejects.
pub(crate) struct Loop<Io, S> {
    pub(crate) metrics: Arc<Metrics>,
    pub(crate) serve: S,
    pub(crate) reject: Option<RejectFn<Io>>,
    /// The first connection id and the step between ids: loop `i` of `n` numbers its
    /// connections `i + 1`, `i + 1 + n`, ... so ids are unique across threads without a shared
    /// counter.
    pub(crate) ids: (u64, u64),
}

pub(crate) async fn accept_loop<A: Acceptor, S: Serve<A::Io>>(
    mut acceptor: A,
    this: Loop<A::Io, S>,
    config: ServerConfig,
    limits: Limits,
    order: Order,
    mut stop: oneshot::Receiver<Duration>,
) -> ShutdownReport {
    let Loop {
        metrics,
        serve,
        reject,
        ids: (mut next_id, id_step),
    } = this;
    let Limits { permits, rejecting } = limits;
    let shutdown = Shutdown::new();
    let mut tasks = JoinSet::new();
    let mut backoff = AcceptBackoff::new();
    let mut resume_at: Option<Instant> = None;
    let mut slot: Option<Slot> = None;
    // A connection accepted before its slot ([`Order::AcceptFirst`]).
    let mut pending: Option<(A::Io, Addr)> = None;
    let accept_first = order == Order::AcceptFirst;
    let mut detached = false;
    let mut exhausted = false;

    let deadline = loop {
        tokio::select! {
            biased;
            stop = &mut stop, if !detached => match stop {
                Ok(deadline) => break deadline,
                Err(_) => detached = true,
            },
            Some(joined) = tasks.join_next(), if !tasks.is_empty() => report_join(joined),
            () = async { tokio::time::sleep_until(resume_at.unwrap_or_else(Instant::now)).await }, if resume_at.is_some() => {
                resume_at = None;
            }
            taken = take_slot(&permits, rejecting.as_ref()), if slot.is_none() && (!accept_first || pending.is_some()) => slot = Some(taken),
            accepted = poll_fn(|cx| acceptor.poll_accept(cx)), if (slot.is_some() || accept_first) && pending.is_none() && resume_at.is_none() && !exhausted => {
                match accepted {
                    None => {
                        tracing::debug!("acceptor exhausted");
                        exhausted = true;
                    }
                    Some(Err(e)) => {
                        metrics.io_error(IoFailure::Accept);
                        if is_per_connection(&e) {
                            tracing::debug!(error = %e, "accept failed for one peer");
                        } else {
                            let pause = backoff.pause();
                            tracing::warn!(error = %e, ?pause, "accept failed, backing off");
                            resume_at = Some(expiry_or_far(pause.into(), Instant::now()));
                        }
                    }
                    Some(Ok(accepted)) => {
                        backoff.reset();
                        pending = Some(accepted);
                    }
                }
            }
        }
        if slot.is_none() {
            continue;
        }
        let Some((io, peer)) = pending.take() else {
            continue;
        };
        // A reject slot is upgraded if a connection permit freed up meanwhile.
        let taken = match slot.take() {
            Some(Slot::Reject(r)) => match permits.clone().try_acquire_owned() {
                Ok(p) => Slot::Serve(p),
                Err(_) => Slot::Reject(r),
            },
            Some(serve) => serve,
            None => continue,
        };
        match (taken, &reject) {
            (Slot::Serve(permit), _) => {
                acceptor.configure(&io, config.tcp_nodelay);
                let id = next_id;
                next_id += id_step;
                spawn_connection(
                    &mut tasks, &metrics, &serve, &shutdown, io, peer, id, permit,
                );
            }
            (Slot::Reject(permit), Some(reject)) => {
                metrics.rejected();
                tracing::debug!(%peer, "at the connection limit, rejecting");
                let fut = reject(io, peer);
                let metrics = metrics.clone();
                tasks.spawn(async move {
                    fut.await;
                    metrics.close_counted(CloseReason::Rejected);
                    drop(permit);
                });
            }
            (Slot::Reject(_), None) => {}
        }
    };

    // Graceful shutdown: stop accepting, signal, drain until the deadline, abort the rest.
    drop(acceptor);
    drop(slot);
    drop(pending);
    let open = tasks.len();
    tracing::info!(open, ?deadline, "shutting down");
    shutdown.begin();
    // `Duration::MAX` waits for every connection, with no panic.
    let until = expiry_or_far(deadline.into(), Instant::now());
    let mut closed = 0;
    while let Ok(Some(joined)) = tokio::time::timeout_at(until, tasks.join_next()).await {
        report_join(joined);
        closed += 1;
    }
    let aborted = tasks.len();
    if aborted > 0 {
        tracing::warn!(
            aborted,
            "connections still open at the shutdown deadline, aborting"
        );
    }
    tasks.abort_all();
    while tasks.join_next().await.is_some() {}
    ShutdownReport { closed, aborted }
}

#[allow(clippy::too_many_arguments)]
fn spawn_connection<Io: Send + 'static, S: Serve<Io>>(
    tasks: &mut JoinSet<()>,
    metrics: &Arc<Metrics>,
    serve: &S,
    shutdown: &Arc<Shutdown>,
    io: Io,
    peer: Addr,
    id: u64,
    permit: OwnedSemaphorePermit,
) {
    metrics.accepted();
    metrics.opened();
    // At debug level: an enabled span costs every connection its formatted fields and the
    // subscriber's record of it (about 300 bytes with the fmt subscriber) for as long as the
    // connection lives, idle or not. The events an operator sees at info level name their
    // connection themselves (`conn`, `peer`).
    let span = tracing::debug_span!("conn", id, %peer);
    let ctx = Ctx::serving(id, peer, shutdown.clone());
    let ended = ctx.clone().live();
    let fut = serve.serve(io, ctx);
    let task = Task {
        connection: fut,
        ended,
        _permit: permit,
        guard: CloseGuard {
            metrics: metrics.clone(),
            reason: None,
        },
    };
    // A disabled span would still weigh on the task cell of every connection.
    if span.is_disabled() {
        tracing::debug!(conn = id, "connection opened");
        tasks.spawn(task);
    } else {
        span.in_scope(|| tracing::debug!("connection opened"));
        tasks.spawn(task.instrument(span));
    }
}

pin_project_lite::pin_project! {
    /// A connection task: the connection's future and what must go when it ends, however it
    /// ends (fields drop in this order: the connection, then its context is ended, then the
    /// permit is given back, then the close is counted).
    ///
    /// A future of its own rather than an `async` block: a block that awaits a future it
    /// captured keeps two slots for it (the capture and the await), which would double the
    /// biggest part of every connection's task.
    struct Task<F> {
        #[pin]
        connection: F,
        ended: Live,
        _permit: OwnedSemaphorePermit,
        guard: CloseGuard,
    }
}

impl<F: Future<Output = CloseReason>> Future for Task<F> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.project();
        let reason = ready!(this.connection.poll(cx));
        match reason {
            CloseReason::WriteTimeout | CloseReason::FrameTimeout | CloseReason::InputBudget => {
                let ctx = &*this.ended;
                tracing::info!(conn = ctx.id(), peer = %ctx.peer(), %reason, "connection closed")
            }
            _ => tracing::debug!(%reason, "connection closed"),
        }
        this.guard.reason = Some(reason);
        Poll::Ready(())
    }
}

fn report_join(joined: Result<(), tokio::task::JoinError>) {
    if let Err(e) = joined {
        if e.is_panic() {
            tracing::error!("connection task panicked");
        }
    }
}
