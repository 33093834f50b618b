//! What a server does with messages, in two styles.
//!
//! - [`Handler`]: request/response. An async function of `(request, Ctx)` answering with
//!   `Option<Response>` (zero or one response) or a [`Reply`] (which may also be a stream of
//!   responses). Requests are read ahead and handled concurrently up to the in-flight limit; the
//!   responses go out in request order.
//! - [`DuplexHandler`]: the handler owns the connection's [`Inbox`] of requests and an
//!   [`Outbox`] for whatever it wants to send, whenever it wants (chat, pub/sub, push).
//!
//! Plain async closures are handlers of both kinds.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures::stream::BoxStream;
use futures::task::AtomicWaker;
use futures::{Sink, Stream};
use tokio::sync::mpsc;
use tokio_util::sync::PollSender;

use crate::context::Ctx;

/// What a request/response handler answers with.
///
/// ```
/// use framekit_server::Reply;
/// use futures::stream;
///
/// let none: Reply<&str> = Reply::None;
/// let one = Reply::One("pong");
/// let many = Reply::stream(stream::iter(["a", "b", "c"]));
/// let bye = Reply::last("+OK bye"); // then close the connection
/// let failed: Reply<&str> = Reply::failed("disk full"); // answered by the error reply hook
/// # let _ = (none, one, many, bye, failed);
/// ```
pub enum Reply<R> {
    /// No response to this request.
    None,
    /// One response.
    One(R),
    /// Several responses, written in order before any response to a later request.
    Stream(BoxStream<'static, R>),
    /// The connection's last response (or none), for `QUIT` or a protocol error: the responses
    /// to every earlier request go out first, in order, then this one; then the connection is
    /// flushed and closed (write side first, like any orderly close).
    ///
    /// Nothing after this request is handled: no later request is decoded, and requests already
    /// read ahead and being handled concurrently (see
    /// [`max_in_flight`](crate::ServerConfig::max_in_flight)) are dropped unanswered, their
    /// futures cancelled. A handler with side effects that must not run after a close should
    /// use `max_in_flight(1)`.
    Close(Option<R>),
    /// The handler failed: the error reply hook is asked for the answer (kind
    /// `"handler_error"`, with this error), which goes out in the request's place; the
    /// connection goes on. A [`tower`](crate::tower) service's error arrives this way.
    Failed(BoxError),
}

/// Any error a handler may fail with ([`Reply::Failed`]).
///
/// ```
/// use framekit_server::{BoxError, Reply};
/// let error: BoxError = "backend unavailable".into();
/// let _reply: Reply<&str> = Reply::Failed(error);
/// ```
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

impl<R> Reply<R> {
    /// Responds with every item of `stream`, in order.
    ///
    /// ```
    /// use framekit_server::Reply;
    /// let _many = Reply::stream(futures::stream::iter(["a", "b"]));
    /// ```
    pub fn stream(stream: impl Stream<Item = R> + Send + 'static) -> Self {
        Reply::Stream(Box::pin(stream))
    }

    /// Responds with `resp`, then closes the connection ([`Reply::Close`]).
    ///
    /// ```
    /// use framekit_server::Reply;
    /// assert!(matches!(Reply::last("+OK"), Reply::Close(Some("+OK"))));
    /// ```
    pub fn last(resp: R) -> Self {
        Reply::Close(Some(resp))
    }

    /// Closes the connection without a response, after the responses to earlier requests
    /// ([`Reply::Close`]).
    ///
    /// ```
    /// use framekit_server::Reply;
    /// assert!(matches!(Reply::<&str>::close(), Reply::Close(None)));
    /// ```
    pub fn close() -> Self {
        Reply::Close(None)
    }

    /// Fails with `error`, answered by the error reply hook ([`Reply::Failed`]).
    ///
    /// ```
    /// use framekit_server::Reply;
    /// assert!(matches!(Reply::<&str>::failed("no such key"), Reply::Failed(_)));
    /// ```
    pub fn failed(error: impl Into<BoxError>) -> Self {
        Reply::Failed(error.into())
    }
}

impl<R> std::fmt::Debug for Reply<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Reply::None => f.write_str("Reply::None"),
            Reply::One(_) => f.write_str("Reply::One(..)"),
            Reply::Stream(_) => f.write_str("Reply::Stream(..)"),
            Reply::Close(Some(_)) => f.write_str("Reply::Close(Some(..))"),
            Reply::Close(None) => f.write_str("Reply::Close(None)"),
            Reply::Failed(e) => write!(f, "Reply::Failed({e})"),
        }
    }
}

/// A handler's output that the server can turn into responses: `Option<R>` or [`Reply<R>`].
///
/// ```
/// use framekit_server::{IntoReply, Reply};
/// assert!(matches!(Some("pong").into_reply(), Reply::One("pong")));
/// assert!(matches!(None::<&str>.into_reply(), Reply::None));
/// ```
pub trait IntoReply {
    /// The response type.
    type Response: Send + 'static;
    /// Converts into a [`Reply`].
    fn into_reply(self) -> Reply<Self::Response>;
}

impl<R: Send + 'static> IntoReply for Option<R> {
    type Response = R;
    fn into_reply(self) -> Reply<R> {
        match self {
            Some(r) => Reply::One(r),
            None => Reply::None,
        }
    }
}

impl<R: Send + 'static> IntoReply for Reply<R> {
    type Response = R;
    fn into_reply(self) -> Reply<R> {
        self
    }
}

/// A request/response handler: called once per request, with the connection's [`Ctx`].
///
/// Any `Fn(Req, Ctx) -> impl Future<Output = Option<Resp>>` (or `Reply<Resp>`) that is `Send +
/// Sync + 'static` is one. The returned future must own what it uses (`async move`), since it
/// runs while the next requests are read.
///
/// ```
/// use bytes::Bytes;
/// use framekit_server::{Ctx, Handler};
///
/// fn is_handler<H: Handler<Bytes>>(_: &H) {}
///
/// let echo = |req: Bytes, _ctx: Ctx| async move { Some(req) };
/// is_handler(&echo);
/// ```
pub trait Handler<Req>: Send + Sync + 'static {
    /// What the handler answers with.
    type Output: IntoReply + Send;
    /// The handling future.
    type Future: Future<Output = Self::Output> + Send + 'static;
    /// Handles one request.
    fn call(&self, req: Req, ctx: Ctx) -> Self::Future;
}

impl<F, Fut, Req> Handler<Req> for F
where
    F: Fn(Req, Ctx) -> Fut + Send + Sync + 'static,
    Fut: Future + Send + 'static,
    Fut::Output: IntoReply + Send,
{
    type Output = Fut::Output;
    type Future = Fut;
    fn call(&self, req: Req, ctx: Ctx) -> Fut {
        self(req, ctx)
    }
}

/// A duplex handler: owns one connection's stream of requests and a sink of responses.
///
/// Any `Fn(Inbox<Req>, Outbox<Resp>, Ctx) -> impl Future<Output = ()>` that is `Send + Sync +
/// 'static` is one. The connection closes (after writing what was sent) when the future
/// returns. The inbox ends when the peer closes its side, on a framing error, or at shutdown.
///
/// The future runs in the connection's task and is polled all along, also while the connection
/// is paused above its outbound high water mark: pausing stops reading requests and makes
/// [`Outbox::send`] wait, but the handler's own timers keep running.
///
/// If the connection ends first (the peer reset, a write failed or timed out, the shutdown
/// deadline passed, a fatal decode error), [`Ctx::closing`] fires, then the future is dropped
/// where it waits. Tasks it spawned should watch [`Ctx::closing`]; cleanup that must run
/// belongs in a drop guard.
///
/// ```
/// use bytes::Bytes;
/// use framekit_server::{Ctx, DuplexHandler, Inbox, Outbox};
/// use futures::{SinkExt, StreamExt};
///
/// fn is_duplex<H: DuplexHandler<Bytes, Bytes>>(_: &H) {}
///
/// // Greets, then echoes every message twice.
/// let chatty = |mut inbox: Inbox<Bytes>, mut outbox: Outbox<Bytes>, _ctx: Ctx| async move {
///     if outbox.send(Bytes::from("hello")).await.is_err() { return; }
///     while let Some(msg) = inbox.next().await {
///         if outbox.send(msg.clone()).await.is_err() || outbox.send(msg).await.is_err() {
///             return;
///         }
///     }
/// };
/// is_duplex(&chatty);
/// ```
pub trait DuplexHandler<Req, Resp>: Send + Sync + 'static {
    /// The handling future.
    type Future: Future<Output = ()> + Send + 'static;
    /// Runs the connection.
    fn call(&self, inbox: Inbox<Req>, outbox: Outbox<Resp>, ctx: Ctx) -> Self::Future;
}

impl<F, Fut, Req, Resp> DuplexHandler<Req, Resp> for F
where
    F: Fn(Inbox<Req>, Outbox<Resp>, Ctx) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    type Future = Fut;
    fn call(&self, inbox: Inbox<Req>, outbox: Outbox<Resp>, ctx: Ctx) -> Fut {
        self(inbox, outbox, ctx)
    }
}

/// The requests of one connection, as a [`Stream`]. Its buffer is bounded by the in-flight
/// limit: a handler that stops reading stops the connection from reading.
///
/// The inbox may be moved into another task: every request taken out of it (and dropping it)
/// wakes the connection, which then reads and decodes again.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// use std::time::Duration;
/// use bytes::Bytes;
/// use framekit::{FrameCodec, framing::delimited::Delimited};
/// use framekit_server::{Ctx, Inbox, Outbox, Server};
/// use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
/// // Counts the requests, answers with the count when the peer is done.
/// let server = Server::bind("127.0.0.1:0").await?.serve_duplex(
///     FrameCodec::new(Delimited::newline()),
///     |mut inbox: Inbox<Bytes>, mut outbox: Outbox<Bytes>, _ctx: Ctx| async move {
///         let mut n = 0;
///         while inbox.recv().await.is_some() {
///             n += 1;
///         }
///         let _ = outbox.send(Bytes::from(n.to_string())).await;
///     },
/// );
/// let mut peer = tokio::net::TcpStream::connect(server.local_addr().as_tcp().unwrap()).await?;
/// peer.write_all(b"a\nb\nc\n").await?;
/// peer.shutdown().await?;
/// let mut lines = BufReader::new(peer).lines();
/// assert_eq!(lines.next_line().await?.as_deref(), Some("3"));
/// server.shutdown(Duration::from_secs(1)).await;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Inbox<Req> {
    rx: mpsc::Receiver<Req>,
    /// The connection's task, registered while it waits for a free slot in this inbox.
    slot_freed: Arc<AtomicWaker>,
}

impl<Req> Inbox<Req> {
    pub(crate) fn new(rx: mpsc::Receiver<Req>, slot_freed: Arc<AtomicWaker>) -> Self {
        Inbox { rx, slot_freed }
    }

    /// The next request, or `None` once the peer is done (or the connection is closing).
    ///
    /// ```
    /// use bytes::Bytes;
    /// use framekit_server::{Ctx, Inbox, Outbox};
    ///
    /// // A duplex handler that echoes until the peer is done.
    /// let echo = |mut inbox: Inbox<Bytes>, mut outbox: Outbox<Bytes>, _ctx: Ctx| async move {
    ///     while let Some(req) = inbox.recv().await {
    ///         if outbox.send(req).await.is_err() {
    ///             break;
    ///         }
    ///     }
    /// };
    /// # let _ = echo;
    /// ```
    pub async fn recv(&mut self) -> Option<Req> {
        std::future::poll_fn(|cx| self.poll_recv(cx)).await
    }

    fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<Req>> {
        let next = self.rx.poll_recv(cx);
        if let Poll::Ready(Some(_)) = next {
            // A slot freed up: a connection waiting for a slot may decode the next request.
            self.slot_freed.wake();
        }
        next
    }
}

impl<Req> Stream for Inbox<Req> {
    type Item = Req;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Req>> {
        self.poll_recv(cx)
    }
}

impl<Req> Drop for Inbox<Req> {
    fn drop(&mut self) {
        // Nobody listens any more: the connection stops waiting for a slot.
        self.rx.close();
        self.slot_freed.wake();
    }
}

/// The connection is gone: the response could not be queued for writing.
///
/// ```
/// use framekit_server::ConnectionClosed;
/// assert_eq!(ConnectionClosed.to_string(), "connection closed");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("connection closed")]
pub struct ConnectionClosed;

/// Where a duplex handler sends responses; a [`Sink`] that can be cloned (to hand to a
/// broadcast task, for instance).
///
/// Sending waits while the connection's outbound queue is above its high water mark. Once the
/// connection is gone (the peer left, a write failed or timed out) sending fails with
/// [`ConnectionClosed`]: writes are never dropped silently.
///
/// ```
/// use bytes::Bytes;
/// use framekit_server::{Ctx, Inbox, Outbox};
///
/// // Pushes a tick every second from a task of its own, until the connection is gone.
/// let ticker = |_inbox: Inbox<Bytes>, outbox: Outbox<Bytes>, ctx: Ctx| async move {
///     let mut pusher = outbox.clone();
///     let pushing = tokio::spawn(async move {
///         while pusher.send(Bytes::from_static(b"tick")).await.is_ok() {
///             tokio::time::sleep(std::time::Duration::from_secs(1)).await;
///         }
///     });
///     ctx.closing().cancelled().await;
///     pushing.abort();
///     drop(outbox);
/// };
/// # let _ = ticker;
/// ```
#[derive(Debug)]
pub struct Outbox<Resp> {
    tx: PollSender<Resp>,
}

impl<Resp> Clone for Outbox<Resp> {
    fn clone(&self) -> Self {
        Outbox {
            tx: self.tx.clone(),
        }
    }
}

impl<Resp: Send + 'static> Outbox<Resp> {
    pub(crate) fn new(tx: mpsc::Sender<Resp>) -> Self {
        Outbox {
            tx: PollSender::new(tx),
        }
    }

    /// Queues `resp` for writing, waiting for a free slot.
    ///
    /// ```
    /// use bytes::Bytes;
    /// use framekit_server::{Ctx, Inbox, Outbox};
    ///
    /// let greet = |_inbox: Inbox<Bytes>, mut outbox: Outbox<Bytes>, _ctx: Ctx| async move {
    ///     // Waits while the peer is slow to read; fails once it is gone.
    ///     let _ = outbox.send(Bytes::from_static(b"hello")).await;
    /// };
    /// # let _ = greet;
    /// ```
    pub async fn send(&mut self, resp: Resp) -> Result<(), ConnectionClosed> {
        futures::SinkExt::send(self, resp).await
    }

    /// Whether the connection is gone.
    ///
    /// ```
    /// use bytes::Bytes;
    /// use framekit_server::{Ctx, Inbox, Outbox};
    ///
    /// let watcher = |_inbox: Inbox<Bytes>, outbox: Outbox<Bytes>, _ctx: Ctx| async move {
    ///     while !outbox.is_closed() {
    ///         tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    ///     }
    /// };
    /// # let _ = watcher;
    /// ```
    pub fn is_closed(&self) -> bool {
        self.tx.get_ref().is_none_or(|tx| tx.is_closed())
    }
}

impl<Resp: Send + 'static> Sink<Resp> for Outbox<Resp> {
    type Error = ConnectionClosed;

    fn poll_ready(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.tx.poll_reserve(cx).map_err(|_| ConnectionClosed)
    }

    fn start_send(mut self: Pin<&mut Self>, item: Resp) -> Result<(), Self::Error> {
        self.tx.send_item(item).map_err(|_| ConnectionClosed)
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn poll_close(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Result<(), Self::Error>> {
        self.tx.close();
        Poll::Ready(Ok(()))
    }
}
