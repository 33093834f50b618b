//! Borrowed handlers in the engine: each request is lent to the handler where it lies in the
//! read buffer, and what it writes goes straight into the output queue.
//!
//! The handler is called only when nothing earlier is still owed (the deferred-answer ring is
//! empty) and output is below its high water mark, so its writes land in request order without
//! being held anywhere. A deferred answer ([`Answer::Later`]) goes into the pipelining ring of
//! the owned style, which gives it the same ordering, request deadline, metrics and error hook;
//! while it is outstanding the dispatcher has no spare slot, so the next request stays undecoded in
//! the read buffer (and reading stops, as it does for a full ring).
//!
//! Per request on the immediate path: no allocation, no reference count, no clock reading
//! (the connection's [`Ctx`] and the handler's state are lent, not cloned). Memory: the
//! handler's state and an idle ring (no allocation until a deferred answer).

use std::future::Future;
use std::marker::PhantomData;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::{Buf, BytesMut};

use crate::borrowed::{Answer, BorrowedHandler, Responder, ViewDecoder};
use crate::codec::ConnectionCodec;
use crate::context::Ctx;
use crate::error::{FailureOrigin, HANDLER_ERROR};
use crate::handler::{Handler, IntoReply};
use crate::metrics::CloseReason;

use super::dispatch::{Dispatch, Signal, Status, Work};
use super::intake::{Intake, Refused, Taken};
use super::kind::HandlerKind;
use super::pipeline::Pipeline;
use super::writing::Writing;
use super::{Env, Shared};

/// The borrowed handler kind: a [`BorrowedHandler`] called once per request with a view of it.
pub(crate) struct PerView<H> {
    handler: Arc<H>,
    /// Shared by every connection's ring: cloning it is one count per connection.
    awaiting: Arc<Awaiting>,
}

impl<H> PerView<H> {
    pub(crate) fn new(handler: H) -> Self {
        PerView {
            handler: Arc::new(handler),
            awaiting: Arc::new(Awaiting),
        }
    }
}

/// The ring's handler for deferred answers: the request it is handed is the answer's future.
pub(crate) struct Awaiting;

impl<F> Handler<F> for Awaiting
where
    F: Future + Send + 'static,
    F::Output: IntoReply + Send,
{
    type Output = F::Output;
    type Future = F;
    fn call(&self, answer: F, _ctx: Ctx) -> F {
        answer
    }
}

impl<H, C, R> HandlerKind<C, R> for PerView<H>
where
    C: ConnectionCodec<R> + ViewDecoder,
    H: BorrowedHandler<C, R>,
    R: Send + 'static,
{
    type Input = H::Later;
    type Dispatch = Viewing<H, C, R>;
    fn start(&self, ctx: &Ctx, shared: &Arc<Shared<R>>) -> Self::Dispatch {
        Viewing {
            handler: self.handler.clone(),
            state: self.handler.open(ctx),
            later: Pipeline::new(self.awaiting.clone(), ctx.clone(), shared.clone()),
            close: None,
            _codec: PhantomData,
        }
    }
}

/// One connection's borrowed handler: its state, and the ring of deferred answers.
pub(crate) struct Viewing<H: BorrowedHandler<C, R>, C: ViewDecoder, R> {
    handler: Arc<H>,
    state: H::State,
    later: Pipeline<Awaiting, H::Later>,
    /// The handler answered [`Answer::Close`]: nothing read after it is handled.
    close: Option<CloseReason>,
    _codec: PhantomData<fn() -> (C, R)>,
}

impl<H, C, R> Intake<C, R> for Viewing<H, C, R>
where
    C: ConnectionCodec<R> + ViewDecoder,
    H: BorrowedHandler<C, R>,
    R: Send + 'static,
{
    type Error = <C as ViewDecoder>::Error;

    fn take(
        &mut self,
        codec: &mut C,
        buf: &mut BytesMut,
        eof: bool,
        writing: &mut Writing,
        env: Env<'_, R>,
        cx: &mut Context<'_>,
    ) -> Result<Taken, Refused<Self::Error>> {
        // What the handler writes goes out as it is written: only below the high water mark
        // (the ring is empty, or there would be no spare slot).
        if !writing.takes_direct(env.shared.config.high_water) {
            return Ok(Taken::Wait);
        }
        let (view, len) = match codec.decode_view(buf, eof) {
            Ok(Some(found)) => found,
            Ok(None) => return Ok(Taken::Incomplete),
            Err(err) => return Err(Refused::Decode(err)),
        };
        let mut out = Responder::new(codec, &mut writing.out, env);
        let answer = self
            .handler
            .call(view, &mut self.state, self.later.ctx(), &mut out);
        let (mut answered, broken) = out.outcome();
        buf.advance(len);
        if broken {
            return Err(Refused::Unencodable);
        }
        let owned = match answer {
            Answer::Done => None,
            Answer::Close => {
                self.close = Some(CloseReason::HandlerDone);
                None
            }
            Answer::Failed(err) => {
                tracing::debug!(error = %err, "handler failed");
                env.shared
                    .reject(FailureOrigin::Handler, HANDLER_ERROR, &*err, true, env.ctx)
            }
            // Polled once at once, with the connection's context: an answer that is ready
            // comes straight back; a pending one waits in the ring, in order.
            Answer::Later(answer) => self.later.push(
                Work::Request {
                    req: answer,
                    direct: true,
                },
                cx,
            ),
        };
        if let Some(resp) = owned {
            writing
                .encode(codec, resp, env)
                .map_err(|_| Refused::Unencodable)?;
            answered += 1;
        }
        Ok(Taken::Request { answered })
    }
}

impl<H, C, R> Dispatch<H::Later> for Viewing<H, C, R>
where
    C: ViewDecoder,
    H: BorrowedHandler<C, R>,
    R: Send + 'static,
{
    type Resp = R;

    fn status(&self) -> Status {
        let mut status = self.later.status();
        // One request at a time behind a deferred answer: the next one is handled (and
        // written straight out) only once every earlier answer is out of the ring.
        status.spare = status.spare && status.quiet && self.close.is_none();
        status.closing = status.closing.or(self.close);
        status
    }

    fn spare(&self) -> bool {
        // As in `status`: only with nothing deferred still owed.
        self.close.is_none() && self.later.is_quiet() && self.later.spare()
    }

    fn responding(&self) -> bool {
        self.later.responding()
    }

    fn push(&mut self, work: Work<H::Later, R>, cx: &mut Context<'_>) -> Option<R> {
        self.later.push(work, cx)
    }

    fn signal(&mut self, signal: Signal) {
        self.later.signal(signal);
    }

    fn poll_drive(&mut self, cx: &mut Context<'_>, want_spare: bool) -> Poll<()> {
        self.later.poll_drive(cx, want_spare)
    }

    fn poll_response(&mut self, cx: &mut Context<'_>) -> Poll<Option<R>> {
        self.later.poll_response(cx)
    }
}

#[cfg(test)]
#[path = "borrowed_tests.rs"]
mod tests;
