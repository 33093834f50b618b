//! Duplex handling: the handler owns an inbox of requests and an outbox of responses, and its
//! future is driven by the connection, always (also while output is paused, so its timers run).
//!
//! Memory: the two bounded channels and the boxed handler future live as long as the
//! connection; the inbox's capacity is the in-flight limit. A duplex connection never parks
//! (its handler runs the whole time), so it also keeps the busy phase's state (840 bytes
//! with a line codec: the two sides, the timer table) for its whole life: an idle duplex connection costs
//! that on top of a parked request/response one, plus its handler's own future.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::BytesMut;
use futures::task::AtomicWaker;
use tokio::sync::mpsc;

use crate::codec::ConnectionCodec;
use crate::context::Ctx;
use crate::handler::{DuplexHandler, Inbox, Outbox};

use super::dispatch::{Dispatch, Signal, Status, Work};
use super::intake::{take_owned, Intake, Refused, Taken};
use super::kind::HandlerKind;
use super::writing::Writing;
use super::{Env, Shared};

/// The duplex handler kind: a [`DuplexHandler`] called once per connection.
pub(crate) struct PerConnection<H>(pub(crate) H);

impl<H, C, Resp> HandlerKind<C, Resp> for PerConnection<H>
where
    C: ConnectionCodec<Resp>,
    H: DuplexHandler<<C as ConnectionCodec<Resp>>::Request, Resp>,
    Resp: Send + 'static,
{
    type Input = <C as ConnectionCodec<Resp>>::Request;
    type Dispatch = Duplex<Self::Input, Resp>;
    fn start(&self, ctx: &Ctx, shared: &Arc<Shared<Resp>>) -> Self::Dispatch {
        Duplex::new(&self.0, ctx.clone(), shared.config.max_in_flight)
    }
}

/// One duplex handler and its two channels.
pub(crate) struct Duplex<Req, Resp> {
    inbox: Option<mpsc::Sender<Req>>,
    /// Woken by the [`Inbox`] whenever a request is taken out of it.
    slot_freed: Arc<AtomicWaker>,
    outbox: mpsc::Receiver<Resp>,
    /// Error replies, sent before what the handler queues next.
    replies: VecDeque<Resp>,
    handler: Option<Pin<Box<dyn Future<Output = ()> + Send>>>,
    finished: bool,
    ctx: Ctx,
}

impl<Req: Send + 'static, Resp: Send + 'static> Duplex<Req, Resp> {
    pub(crate) fn new<H: DuplexHandler<Req, Resp>>(handler: &H, ctx: Ctx, capacity: usize) -> Self {
        let (in_tx, in_rx) = mpsc::channel(capacity.max(1));
        let (out_tx, out_rx) = mpsc::channel(capacity.max(1));
        let slot_freed = Arc::new(AtomicWaker::new());
        let fut = handler.call(
            Inbox::new(in_rx, slot_freed.clone()),
            Outbox::new(out_tx),
            ctx.clone(),
        );
        Duplex {
            inbox: Some(in_tx),
            slot_freed,
            outbox: out_rx,
            replies: VecDeque::new(),
            handler: Some(Box::pin(fut)),
            finished: false,
            ctx,
        }
    }
}

impl<Req, Resp> Duplex<Req, Resp> {
    fn has_spare(&self) -> bool {
        self.inbox
            .as_ref()
            .is_some_and(|tx| tx.is_closed() || tx.capacity() > 0)
    }
}

impl<Req, Resp> Drop for Duplex<Req, Resp> {
    fn drop(&mut self) {
        // The handler (and the tasks it spawned) learn that the connection is gone before its
        // future is dropped.
        self.ctx.close();
    }
}

impl<C, Resp> Intake<C, Resp> for Duplex<<C as ConnectionCodec<Resp>>::Request, Resp>
where
    C: ConnectionCodec<Resp>,
    Resp: Send + 'static,
{
    type Error = C::DecodeError;
    fn take(
        &mut self,
        codec: &mut C,
        buf: &mut BytesMut,
        eof: bool,
        writing: &mut Writing,
        env: Env<'_, Resp>,
        cx: &mut Context<'_>,
    ) -> Result<Taken, Refused<C::DecodeError>> {
        take_owned(self, codec, buf, eof, writing, env, cx)
    }
}

impl<Req: Send, Resp: Send + 'static> Dispatch<Req> for Duplex<Req, Resp> {
    type Resp = Resp;

    fn status(&self) -> Status {
        Status {
            spare: self.has_spare(),
            // The handler decides what to wait for; it keeps its own timers.
            quiet: true,
            done: self.finished,
            closing: None,
            responding: !self.finished,
            background: self.handler.is_some(),
            request_deadline: None,
        }
    }

    fn push(&mut self, work: Work<Req, Resp>, _cx: &mut Context<'_>) -> Option<Resp> {
        match work {
            Work::Request { req, .. } => {
                if let Some(tx) = &self.inbox {
                    // Room was checked; a closed inbox means the handler stopped listening.
                    let _ = tx.try_send(req);
                }
            }
            Work::Reply(resp) => self.replies.push_back(resp),
        }
        None
    }

    fn signal(&mut self, signal: Signal) {
        match signal {
            Signal::EndInput => self.inbox = None,
            Signal::Abandon => {
                self.ctx.close();
                self.handler = None;
                self.finished = true;
                self.outbox.close();
            }
            // Nothing kept for reuse; request deadlines do not apply (no request is owed an
            // answer).
            Signal::Release | Signal::Expire(_) => {}
        }
    }

    fn poll_drive(&mut self, cx: &mut Context<'_>, want_spare: bool) -> Poll<()> {
        let mut progressed = false;
        if let Some(handler) = self.handler.as_mut() {
            if handler.as_mut().poll(cx).is_ready() {
                self.handler = None;
                progressed = true;
            }
        }
        if want_spare {
            self.slot_freed.register(cx.waker());
            progressed |= self.has_spare();
        }
        if progressed {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }

    fn poll_response(&mut self, cx: &mut Context<'_>) -> Poll<Option<Resp>> {
        if let Some(reply) = self.replies.pop_front() {
            return Poll::Ready(Some(reply));
        }
        match self.outbox.poll_recv(cx) {
            Poll::Ready(Some(resp)) => Poll::Ready(Some(resp)),
            Poll::Ready(None) => {
                self.finished = self.handler.is_none();
                if self.finished {
                    Poll::Ready(None)
                } else {
                    // Every outbox is gone but the handler still runs (reading, say); its
                    // end is seen by `poll_drive`.
                    Poll::Pending
                }
            }
            Poll::Pending if self.handler.is_none() => {
                // The handler returned and what it queued is written: done, even if a clone
                // of its outbox still lives in some other task.
                self.finished = true;
                Poll::Ready(None)
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

#[cfg(test)]
#[path = "duplex_tests.rs"]
mod tests;
