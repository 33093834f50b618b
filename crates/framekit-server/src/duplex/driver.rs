//! The duplex connection task: `tokio_util`'s `Framed` between the transport and the handler's
//! two channels. Each turn: the handler's future, what it sent (written while the write buffer
//! is under the high water mark), one decoded request into the inbox (only while the inbox has
//! a free slot, so a handler that stops reading stops the connection from reading), the
//! shutdown, and the idle and write deadlines.

use std::future::{poll_fn, Future};
use std::pin::{pin, Pin};
use std::sync::Arc;
use std::task::{Context, Poll};

use framekit::connection::CodecError;
use futures::{Sink, Stream};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::mpsc;
use tokio::time::{Instant, Sleep};
use tokio_util::codec::{Decoder, Encoder, Framed};
use tokio_util::sync::PollSender;

use super::{DuplexHandler, Inbox, Outbox};
use crate::config::{expiry_or_far, ServerConfig};
use crate::context::{Ctx, Live};
use crate::driver::{close::close, setup, Ending};
use crate::error::FailureOrigin;
use crate::metrics::CloseReason;
use crate::shared::Shared;
use crate::watch::Watch;

/// The duplex connection's life: the setup stages, the handler and the two directions until
/// one side ends, then the close.
pub(crate) fn serve<Io, C, H, R>(
    io: Io,
    codec: C,
    handler: Arc<H>,
    shared: Arc<Shared<R>>,
    ctx: Ctx,
) -> impl Future<Output = CloseReason>
where
    Io: AsyncRead + AsyncWrite + Unpin + Send,
    C: Decoder<Item: Send, Error: CodecError> + Encoder<R, Error: CodecError> + Send + 'static,
    H: DuplexHandler<C::Item, R>,
    R: Send + 'static,
{
    let setup = Box::pin(setup(io, shared.clone(), ctx));
    async move {
        let (io, ctx) = match setup.await {
            Ok(opened) => opened,
            Err(reason) => return reason,
        };
        // Closed however this block ends (see `Live`).
        let ctx = ctx.live();
        let config = &shared.config;
        let slots = config.max_in_flight.max(1);
        let (requests, inbox) = mpsc::channel(slots);
        let (outbox, sent) = mpsc::channel(slots);
        let task = handler.call(Inbox::new(inbox), Outbox::new(outbox), ctx.clone());
        drop(handler);
        let mut framed = Framed::new(io, codec);
        framed.set_backpressure_boundary(config.high_water);
        let mut duplex = Duplex {
            task: Some(Box::pin(task)),
            requests: Some(PollSender::new(requests)),
            sent,
            framed,
            flushing: false,
            eof: false,
            ending: None,
            reason: None,
            last_activity: Instant::now(),
            write_since: None,
        };
        let sleep = pin!(tokio::time::sleep(std::time::Duration::ZERO));
        let mut sleep: Pin<&mut Sleep> = sleep;
        let mut closing = Watch::default();
        let ending =
            poll_fn(|cx| duplex.poll_turn(cx, &shared, &ctx, sleep.as_mut(), &mut closing)).await;
        drop(ctx);
        let eof = duplex.eof;
        let io = duplex.framed.into_inner();
        drop(duplex.task);
        match ending {
            Ending::Abrupt(reason) => reason,
            Ending::Orderly(reason) => Box::pin(close(io, eof, reason, shared.clone())).await,
        }
    }
}

/// One duplex connection's state.
struct Duplex<T, Io, C, Req, R> {
    /// The handler's future, until it returns.
    task: Option<Pin<Box<T>>>,
    /// Where decoded requests go, until the peer is done (or the server shuts down).
    requests: Option<PollSender<Req>>,
    /// What the handler sent.
    sent: mpsc::Receiver<R>,
    framed: Framed<Io, C>,
    /// Written responses may sit in the framed buffer: flush them.
    flushing: bool,
    /// The peer closed its side.
    eof: bool,
    /// Set once the connection must end.
    ending: Option<Ending>,
    /// Why it ends once what is owed is written, when not for the usual reasons.
    reason: Option<CloseReason>,
    last_activity: Instant,
    /// Since when bytes wait to be written, while some do.
    write_since: Option<Instant>,
}

impl<T, Io, C, Req, R> Duplex<T, Io, C, Req, R>
where
    T: Future<Output = ()>,
    Io: AsyncRead + AsyncWrite + Unpin,
    C: Decoder<Item = Req, Error: CodecError> + Encoder<R, Error: CodecError>,
    Req: Send + 'static,
    R: Send + 'static,
{
    fn poll_turn(
        &mut self,
        cx: &mut Context<'_>,
        shared: &Shared<R>,
        ctx: &Live,
        mut sleep: Pin<&mut Sleep>,
        closing: &mut Watch,
    ) -> Poll<Ending> {
        loop {
            let mut moved = false;
            if let Some(task) = self.task.as_mut().filter(|_| self.reason.is_none()) {
                if task.as_mut().poll(cx).is_ready() {
                    // Its own senders are gone with it; what it sent is still written.
                    self.task = None;
                    self.requests = None;
                    self.sent.close();
                    moved = true;
                }
            }
            moved |= self.write(cx, shared);
            moved |= self.read(cx, shared, ctx);
            if self.requests.is_some() && ctx.poll_shutdown(closing, cx).is_ready() {
                // The inbox ends: the handler sees the shutdown and returns.
                self.requests = None;
                moved = true;
            }
            if let Some(ending) = self.ending {
                return Poll::Ready(ending);
            }
            let done = self.task.is_none() || self.reason.is_some();
            if done && self.sent.is_empty() && !self.flushing {
                let reason = if let Some(reason) = self.reason {
                    reason
                } else if self.eof {
                    CloseReason::PeerClosed
                } else if ctx.poll_shutdown(closing, cx).is_ready() {
                    CloseReason::Shutdown
                } else {
                    CloseReason::HandlerDone
                };
                return Poll::Ready(Ending::Orderly(reason));
            }
            if let Some(ending) = self.deadline(cx, &shared.config, sleep.as_mut()) {
                return Poll::Ready(ending);
            }
            if !moved {
                return Poll::Pending;
            }
        }
    }

    /// Encodes what the handler sent while the write buffer has room, then flushes.
    fn write(&mut self, cx: &mut Context<'_>, shared: &Shared<R>) -> bool {
        let mut moved = false;
        let mut framed = Pin::new(&mut self.framed);
        loop {
            match framed.as_mut().poll_ready(cx) {
                Poll::Ready(Ok(())) => {}
                Poll::Ready(Err(_)) => {
                    self.ending = Some(Ending::Abrupt(CloseReason::IoError));
                    return true;
                }
                Poll::Pending => break,
            }
            let Poll::Ready(Some(response)) = self.sent.poll_recv(cx) else {
                break;
            };
            moved = true;
            if let Err(error) = framed.as_mut().start_send(response) {
                self.ending = Some(Ending::Abrupt(CloseReason::EncodeError));
                shared
                    .metrics
                    .failure(FailureOrigin::Encode, error.kind_name());
                return true;
            }
            shared.metrics.frames_out(1);
            shared.metrics.outbound(framed.write_buffer().len());
            self.flushing = true;
        }
        if self.flushing {
            self.write_since.get_or_insert_with(Instant::now);
            match framed.poll_flush(cx) {
                Poll::Ready(Ok(())) => {
                    self.flushing = false;
                    self.write_since = None;
                    self.last_activity = Instant::now();
                    moved = true;
                }
                Poll::Ready(Err(_)) => {
                    self.ending = Some(Ending::Abrupt(CloseReason::Reset));
                    return true;
                }
                Poll::Pending => {}
            }
        }
        moved
    }

    /// Decodes one request into the inbox, if it has a free slot. Once nobody takes requests
    /// (the handler dropped its inbox, or the server is shutting down), what arrives is read
    /// and dropped, so a peer that closes or resets is still seen.
    fn read(&mut self, cx: &mut Context<'_>, shared: &Shared<R>, ctx: &Ctx) -> bool {
        if self.eof || self.reason.is_some() {
            return false;
        }
        let Some(requests) = &mut self.requests else {
            return match Pin::new(&mut self.framed).poll_next(cx) {
                Poll::Ready(Some(Ok(_))) => {
                    shared.metrics.frames_in(1);
                    true
                }
                Poll::Ready(Some(Err(_))) => {
                    self.ending = Some(Ending::Abrupt(CloseReason::Reset));
                    true
                }
                Poll::Ready(None) => {
                    self.eof = true;
                    true
                }
                Poll::Pending => false,
            };
        };
        match requests.poll_reserve(cx) {
            Poll::Ready(Ok(())) => {}
            Poll::Ready(Err(_)) => {
                // The handler dropped its inbox: nobody reads requests any more.
                self.requests = None;
                return true;
            }
            Poll::Pending => return false,
        }
        match Pin::new(&mut self.framed).poll_next(cx) {
            Poll::Ready(Some(Ok(request))) => {
                shared.metrics.frames_in(1);
                self.last_activity = Instant::now();
                let _ = requests.send_item(request);
            }
            Poll::Ready(Some(Err(error))) => {
                requests.abort_send();
                let goes_on = error.recoverable() && shared.config.recover_decode_errors;
                let reply = shared.reject(
                    FailureOrigin::Decode,
                    error.kind_name(),
                    &error,
                    goes_on,
                    ctx,
                );
                if let Some(reply) = reply {
                    // Ahead of what the handler sends next: it does not see the bad frame.
                    if Pin::new(&mut self.framed).start_send(reply).is_ok() {
                        self.flushing = true;
                    }
                }
                if !goes_on {
                    // The handler is dropped after `Ctx::closing` fires, by the close.
                    self.reason = Some(CloseReason::DecodeError);
                    self.requests = None;
                    self.sent.close();
                }
            }
            Poll::Ready(None) => {
                requests.abort_send();
                self.eof = true;
                self.requests = None;
            }
            Poll::Pending => {
                requests.abort_send();
                return false;
            }
        }
        true
    }

    /// The idle and write deadlines: the first to pass ends the connection.
    fn deadline(
        &mut self,
        cx: &mut Context<'_>,
        config: &ServerConfig,
        mut sleep: Pin<&mut Sleep>,
    ) -> Option<Ending> {
        let (at, reason) = match self.write_since {
            Some(since) => (
                expiry_or_far(config.write_timeout, since),
                CloseReason::WriteTimeout,
            ),
            None => (
                expiry_or_far(config.idle_timeout, self.last_activity),
                CloseReason::IdleTimeout,
            ),
        };
        if sleep.deadline() != at {
            sleep.as_mut().reset(at);
        }
        sleep.poll(cx).is_ready().then_some(Ending::Abrupt(reason))
    }
}
