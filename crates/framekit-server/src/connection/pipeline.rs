//! The pipelining ring: request/response handlers run concurrently, their answers go out in
//! request order.
//!
//! The fast path allocates nothing per request: a handler's future is polled once as soon as
//! it is created, with the connection task's context, and when it is ready and no earlier
//! answer is waiting, its response goes straight back to be encoded. Only futures that are
//! pending (and answers that must wait behind them) take a slot in the ring; pending futures
//! are all polled, in order, when the connection is woken and the oldest is still pending.
//!
//! Memory: the ring (`VecDeque`) and the spare future boxes are allocated on the first pending
//! request and released when the connection goes quiet (one small box is kept so a connection
//! answering one slow request at a time does not allocate per request).

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use bytes::BytesMut;
use futures::stream::BoxStream;
use futures::StreamExt;
use tokio::time::Instant;

use crate::codec::ConnectionCodec;
use crate::config::{expiry, limit};
use crate::context::Ctx;
use crate::error::{CodecError, FailureOrigin, RequestTimeout, HANDLER_ERROR};
use crate::handler::{Handler, IntoReply, Reply};
use crate::metrics::CloseReason;

use super::dispatch::{Dispatch, Signal, Status, Work};
use super::intake::{take_owned, Intake, Refused, Taken};
use super::kind::HandlerKind;
use super::writing::Writing;
use super::{Env, Shared};

/// The response type of a request/response handler.
type RespOf<H, Req> = <<H as Handler<Req>>::Output as IntoReply>::Response;
/// A handler future's home: boxed once, polled in place, and reused for a later request once
/// its future is done (`None` between uses).
type FutureBox<H, Req> = Pin<Box<Option<<H as Handler<Req>>::Future>>>;
/// A kept future box no larger than this survives quiet periods; larger ones are released.
const KEEP_FUTURE_BOX: usize = 256;

/// The request/response handler kind: a [`Handler`] called once per request.
pub(crate) struct PerRequest<H>(pub(crate) Arc<H>);

impl<H, C, R> HandlerKind<C, R> for PerRequest<H>
where
    C: ConnectionCodec<R>,
    H: Handler<<C as ConnectionCodec<R>>::Request>,
    H::Output: IntoReply<Response = R>,
    R: Send + 'static,
{
    type Input = <C as ConnectionCodec<R>>::Request;
    type Dispatch = Pipeline<H, Self::Input>;
    fn start(&self, ctx: &Ctx, shared: &Arc<Shared<R>>) -> Self::Dispatch {
        Pipeline::new(self.0.clone(), ctx.clone(), shared.clone())
    }
}

impl<H, C, R> Intake<C, R> for Pipeline<H, <C as ConnectionCodec<R>>::Request>
where
    C: ConnectionCodec<R>,
    H: Handler<<C as ConnectionCodec<R>>::Request>,
    H::Output: IntoReply<Response = R>,
    R: Send + 'static,
{
    type Error = C::DecodeError;
    fn take(
        &mut self,
        codec: &mut C,
        buf: &mut BytesMut,
        eof: bool,
        writing: &mut Writing,
        env: Env<'_, R>,
        cx: &mut Context<'_>,
    ) -> Result<Taken, Refused<C::DecodeError>> {
        take_owned(self, codec, buf, eof, writing, env, cx)
    }
}

/// One request's place in the response order.
enum Slot<H: Handler<Req>, Req> {
    /// Its handler's future, still pending, when it was decoded (for the duration metric),
    /// and when it runs out of time.
    Waiting {
        fut: FutureBox<H, Req>,
        since: Instant,
        deadline: Option<Instant>,
    },
    /// Its answer, waiting for the answers to earlier requests.
    Done(Reply<RespOf<H, Req>>),
}

/// Request/response with pipelining (see the module doc).
pub(crate) struct Pipeline<H: Handler<Req>, Req> {
    handler: Arc<H>,
    ctx: Ctx,
    shared: Arc<Shared<RespOf<H, Req>>>,
    /// Answers that could not go out yet, oldest first (at most `max_in_flight`).
    order: VecDeque<Slot<H, Req>>,
    /// How many slots of `order` are [`Slot::Waiting`].
    waiting: usize,
    /// Empty future boxes, reused for the next requests.
    spare: Vec<FutureBox<H, Req>>,
    /// The response stream of the oldest request, being drained.
    current: Option<BoxStream<'static, RespOf<H, Req>>>,
    input_ended: bool,
    /// The connection ends after the answers already in order ([`Reply::Close`], or a request
    /// deadline configured to close): nothing after it is handled.
    close: Option<CloseReason>,
}

impl<H: Handler<Req>, Req> Pipeline<H, Req> {
    pub(crate) fn new(handler: Arc<H>, ctx: Ctx, shared: Arc<Shared<RespOf<H, Req>>>) -> Self {
        Pipeline {
            handler,
            ctx,
            shared,
            order: VecDeque::new(),
            waiting: 0,
            spare: Vec::new(),
            current: None,
            input_ended: false,
            close: None,
        }
    }

    /// Whether nothing is in flight: no answer waits, none is being drained.
    pub(crate) fn is_quiet(&self) -> bool {
        self.in_flight() == 0
    }

    /// The connection's context.
    pub(crate) fn ctx(&self) -> &Ctx {
        &self.ctx
    }

    fn in_flight(&self) -> usize {
        self.order.len() + usize::from(self.current.is_some())
    }

    fn max_in_flight(&self) -> usize {
        self.shared.config.max_in_flight
    }

    /// The request that ends the connection was seen: nothing after it is handled.
    fn start_closing(&mut self, reason: CloseReason) {
        self.close.get_or_insert(reason);
        self.input_ended = true;
    }

    /// Gives an emptied future box back for reuse.
    fn recycle(&mut self, mut emptied: FutureBox<H, Req>) {
        emptied.as_mut().set(None);
        if self.spare.len() < self.max_in_flight() {
            self.spare.push(emptied);
        }
    }

    /// Polls every pending future once, in request order; the finished ones become answers
    /// and give their box back.
    fn drive_waiting(&mut self, cx: &mut Context<'_>) {
        let mut left = self.waiting;
        let mut emptied = Vec::new();
        for slot in self.order.iter_mut() {
            if left == 0 {
                break;
            }
            let Slot::Waiting { fut, .. } = slot else {
                continue;
            };
            left -= 1;
            let done = match fut.as_mut().as_pin_mut() {
                Some(f) => match f.poll(cx) {
                    Poll::Ready(output) => settle(&self.shared, &self.ctx, output.into_reply()),
                    Poll::Pending => continue,
                },
                None => Reply::None,
            };
            if let Slot::Waiting { fut, since, .. } = std::mem::replace(slot, Slot::Done(done)) {
                emptied.push(fut);
                self.shared.metrics.settled(Some(since.elapsed()));
            }
            self.waiting -= 1;
        }
        for fut in emptied {
            self.recycle(fut);
        }
    }

    /// Answers every request whose deadline passed at `now` through the error hook, in its
    /// place in the order; its handler future is dropped (cancelled).
    fn expire(&mut self, now: Instant) {
        let Some(after) = limit(self.shared.config.request_timeout) else {
            return;
        };
        let close = self.shared.config.close_on_request_timeout;
        let mut emptied = Vec::new();
        for slot in self.order.iter_mut() {
            let Slot::Waiting { deadline, .. } = slot else {
                continue;
            };
            if deadline.is_none_or(|at| at > now) {
                // Later requests started later: none of them is due either.
                break;
            }
            tracing::info!(
                conn = self.ctx.id(),
                peer = %self.ctx.peer(),
                ?after,
                "request timeout: handler cancelled"
            );
            let err = RequestTimeout { after };
            let reply = self.shared.reject(
                FailureOrigin::RequestTimeout,
                err.kind_name(),
                &err,
                !close,
                &self.ctx,
            );
            let answer = match (close, reply) {
                (true, last) => Reply::Close(last),
                (false, Some(resp)) => Reply::One(resp),
                (false, None) => Reply::None,
            };
            if let Slot::Waiting { fut, since, .. } = std::mem::replace(slot, Slot::Done(answer)) {
                emptied.push(fut);
                self.shared.metrics.settled(Some(now - since));
            }
            self.waiting -= 1;
            if close {
                // Nothing read after it is handled; later requests are dropped when its
                // answer's turn comes.
                self.close = Some(CloseReason::RequestTimeout);
                break;
            }
        }
        for fut in emptied {
            self.recycle(fut);
        }
    }
}

/// A failed handler's answer comes from the error reply hook; every other reply stays.
fn settle<R>(shared: &Shared<R>, ctx: &Ctx, reply: Reply<R>) -> Reply<R> {
    let Reply::Failed(err) = reply else {
        return reply;
    };
    tracing::debug!(error = %err, "handler failed");
    match shared.reject(FailureOrigin::Handler, HANDLER_ERROR, &*err, true, ctx) {
        Some(resp) => Reply::One(resp),
        None => Reply::None,
    }
}

impl<H: Handler<Req>, Req> Drop for Pipeline<H, Req> {
    fn drop(&mut self) {
        // Handlers (and the tasks they spawned) learn that the connection is gone before their
        // futures are dropped.
        self.ctx.close();
        for _ in 0..self.waiting {
            self.shared.metrics.settled(None);
        }
    }
}

impl<H: Handler<Req>, Req: Send> Dispatch<Req> for Pipeline<H, Req> {
    type Resp = RespOf<H, Req>;

    fn status(&self) -> Status {
        let in_flight = self.in_flight();
        if in_flight == 0 {
            // Nothing in flight (every answer given at once): nothing waits, no deadline.
            return Status {
                spare: self.close.is_none() && self.max_in_flight() > 0,
                quiet: true,
                done: self.input_ended,
                closing: self.close,
                responding: false,
                background: false,
                request_deadline: None,
            };
        }
        let request_deadline = if self.waiting == 0 {
            None
        } else {
            // Deadlines grow with request order: the first waiting slot's is the earliest.
            self.order
                .iter()
                .find_map(|slot| match slot {
                    Slot::Waiting { deadline, .. } => Some(*deadline),
                    Slot::Done(_) => None,
                })
                .flatten()
        };
        Status {
            spare: self.close.is_none() && in_flight < self.max_in_flight(),
            quiet: in_flight == 0,
            done: self.input_ended && in_flight == 0,
            closing: self.close,
            responding: in_flight > 0,
            background: false,
            request_deadline,
        }
    }

    fn spare(&self) -> bool {
        self.close.is_none() && self.in_flight() < self.max_in_flight()
    }

    fn responding(&self) -> bool {
        self.in_flight() > 0
    }

    fn push(&mut self, work: Work<Req, Self::Resp>, cx: &mut Context<'_>) -> Option<Self::Resp> {
        let (req, direct) = match work {
            Work::Request { req, direct } => (req, direct),
            Work::Reply(resp) => {
                self.order.push_back(Slot::Done(Reply::One(resp)));
                return None;
            }
        };
        if self.close.is_some() {
            return None;
        }
        let mut fut = self.spare.pop().unwrap_or_else(|| Box::pin(None));
        fut.as_mut()
            .set(Some(self.handler.call(req, self.ctx.clone())));
        let polled = match fut.as_mut().as_pin_mut() {
            Some(f) => f.poll(cx),
            None => unreachable!("the future was just set"),
        };
        let reply = match polled {
            Poll::Ready(output) => {
                self.recycle(fut);
                settle(&self.shared, &self.ctx, output.into_reply())
            }
            Poll::Pending => {
                // One clock reading per pending request (a handler that did not answer at
                // once costs a wake-up anyway).
                let since = Instant::now();
                let deadline = expiry(self.shared.config.request_timeout, since);
                self.order.push_back(Slot::Waiting {
                    fut,
                    since,
                    deadline,
                });
                self.waiting += 1;
                self.shared.metrics.waiting();
                return None;
            }
        };
        let in_order = direct && self.order.is_empty() && self.current.is_none();
        match reply {
            Reply::None => None,
            Reply::One(resp) if in_order => Some(resp),
            Reply::Close(last) if in_order => {
                self.start_closing(CloseReason::HandlerDone);
                last
            }
            Reply::Close(last) => {
                // Nothing read after it is handled, even while earlier answers still wait.
                self.close = Some(CloseReason::HandlerDone);
                self.order.push_back(Slot::Done(Reply::Close(last)));
                None
            }
            other => {
                self.order.push_back(Slot::Done(other));
                None
            }
        }
    }

    fn signal(&mut self, signal: Signal) {
        match signal {
            Signal::EndInput => self.input_ended = true,
            // Requests already decoded are still answered: the error reply follows them.
            Signal::Abandon => {}
            Signal::Release => {
                // Asked at every quiet turn: only what is actually kept is let go.
                let keep = usize::from(std::mem::size_of::<Option<H::Future>>() <= KEEP_FUTURE_BOX);
                if self.spare.len() > keep || self.spare.capacity() > self.spare.len() {
                    self.spare.truncate(keep);
                    self.spare.shrink_to_fit();
                }
                if self.order.is_empty() && self.order.capacity() > 0 {
                    self.order = VecDeque::new();
                }
            }
            Signal::Expire(now) => self.expire(now),
        }
    }

    fn poll_drive(&mut self, _cx: &mut Context<'_>, _want_spare: bool) -> Poll<()> {
        // No background work, and a slot only frees up when a response is taken, which the
        // caller sees.
        Poll::Pending
    }

    fn poll_response(&mut self, cx: &mut Context<'_>) -> Poll<Option<Self::Resp>> {
        loop {
            if let Some(stream) = self.current.as_mut() {
                match ready!(stream.poll_next_unpin(cx)) {
                    Some(resp) => return Poll::Ready(Some(resp)),
                    None => {
                        self.current = None;
                        if self.order.is_empty() {
                            return Poll::Ready(None);
                        }
                    }
                }
            }
            if matches!(self.order.front(), Some(Slot::Waiting { .. })) {
                self.drive_waiting(cx);
            }
            let reply = match self.order.front() {
                None => return Poll::Ready(None),
                Some(Slot::Waiting { .. }) => return Poll::Pending,
                Some(Slot::Done(_)) => match self.order.pop_front() {
                    Some(Slot::Done(reply)) => reply,
                    _ => unreachable!("the front slot was done"),
                },
            };
            match reply {
                // A slot is free: the caller may decode another request.
                Reply::None => return Poll::Ready(None),
                Reply::One(resp) => return Poll::Ready(Some(resp)),
                Reply::Stream(stream) => self.current = Some(stream),
                // Settled when the future finished; no failure waits in the ring.
                Reply::Failed(_) => return Poll::Ready(None),
                Reply::Close(last) => {
                    // Later requests read ahead are dropped unanswered (their futures
                    // cancelled), and no more are decoded.
                    self.start_closing(CloseReason::HandlerDone);
                    self.order.clear();
                    for _ in 0..self.waiting {
                        self.shared.metrics.settled(None);
                    }
                    self.waiting = 0;
                    return Poll::Ready(last);
                }
            }
        }
    }
}

#[cfg(test)]
#[path = "pipeline_tests.rs"]
mod tests;
