//! The duplex model: a handler that owns one connection's stream of requests ([`Inbox`]) and a
//! sink for whatever it sends, whenever it sends it ([`Outbox`]): chat, pub/sub, push. Its output
//! is not answers to requests, so it is not held to the request/response machine's exchange
//! laws; its connection is driven by its own task over `tokio_util`'s `Framed`.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures::{Sink, Stream};
use tokio::sync::mpsc;
use tokio_util::sync::PollSender;

use crate::context::Ctx;

pub(crate) mod driver;

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
}

impl<Req> Inbox<Req> {
    pub(crate) fn new(rx: mpsc::Receiver<Req>) -> Self {
        Inbox { rx }
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
        self.rx.recv().await
    }
}

impl<Req> Stream for Inbox<Req> {
    type Item = Req;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Req>> {
        self.rx.poll_recv(cx)
    }
}

/// The connection is gone: the response could not be queued for writing.
///
/// ```
/// use framekit_server::duplex::ConnectionClosed;
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
