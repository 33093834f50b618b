//! Starting a server: the `serve*` entry points, one per handler kind (request/response,
//! duplex, borrowed) and codec style (cloned, or made per connection), all through one serve
//! path, `serve_kind`. It builds each thread's shared state, the reject reply at the limit and
//! the accept loop, and returns the [`ServerHandle`].

use std::future::poll_fn;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::oneshot;

use super::Server;
use crate::accept::{accept_loop, Limits, Loop, Order, RejectFn, Serve};
use crate::borrowed::{BorrowedHandler, ViewDecoder};
use crate::codec::ConnectionCodec;
use crate::connection::kind::HandlerKind;
use crate::connection::{self, PerConnection, PerRequest, PerView};
use crate::context::Ctx;
use crate::handler::{DuplexHandler, Handler, IntoReply};
use crate::listener::{Acceptor, Addr};
use crate::outbound::Outbound;
use crate::shared::Shared;
use crate::shutdown::ServerHandle;
use crate::threads;

/// How long a rejected peer gets to take the reject reply.
const REJECT_WRITE_TIMEOUT: Duration = Duration::from_secs(1);

impl<A: Acceptor, R: Send + 'static> Server<A, R> {
    /// The address connections arrive at.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// use std::time::Duration;
    /// use bytes::Bytes;
    /// use framekit::{FrameCodec, framing::delimited::Delimited};
    /// use framekit_server::{Ctx, Server};
    /// # let _ = Duration::ZERO;
    /// let server = Server::<_, Bytes>::bind("127.0.0.1:0").await?;
    /// assert!(server.local_addr()?.as_tcp().is_some());
    /// # let _ = (FrameCodec::new(Delimited::newline()), |_: Bytes, _: Ctx| async { None::<Bytes> });
    /// # Ok(()) }
    /// ```
    pub fn local_addr(&self) -> io::Result<Addr> {
        self.acceptor.local_addr()
    }

    /// Starts serving request/response: `handler` is called for every decoded request and
    /// its answers are encoded with `codec` (cloned for every connection), in request order.
    ///
    /// `codec` is any `tokio_util` codec that decodes requests and encodes `R` (see
    /// [`ConnectionCodec`]), or a [`WithEncoder`](crate::WithEncoder) pairing a decoder with an
    /// encoder of your own. Must be called within a tokio runtime.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// use std::time::Duration;
    /// use bytes::Bytes;
    /// use framekit::{FrameCodec, framing::delimited::Delimited};
    /// use framekit_server::{Ctx, Server};
    /// let server = Server::bind("127.0.0.1:0").await?
    ///     .serve(FrameCodec::new(Delimited::newline()), |req: Bytes, _ctx: Ctx| async move { Some(req) });
    /// server.shutdown(Duration::from_secs(1)).await;
    /// # Ok(()) }
    /// ```
    pub fn serve<C, H>(self, codec: C, handler: H) -> ServerHandle
    where
        C: ConnectionCodec<R> + Clone + Sync,
        H: Handler<C::Request>,
        H::Output: IntoReply<Response = R>,
    {
        self.serve_with(move || codec.clone(), handler)
    }

    /// Like [`serve`](Server::serve), with a codec made by `make_codec` for every connection,
    /// so it need not be `Clone` (and starts from a fresh state).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// use std::time::Duration;
    /// use bytes::Bytes;
    /// use framekit::{FrameCodec, framing::delimited::Delimited};
    /// use framekit_server::{Ctx, Server};
    ///
    /// let server = Server::bind("127.0.0.1:0").await?.serve_with(
    ///     || FrameCodec::new(Delimited::crlf().max_frame_len(1024)),
    ///     |req: Bytes, _ctx: Ctx| async move { Some(req) },
    /// );
    /// server.shutdown(Duration::from_secs(1)).await;
    /// # Ok(()) }
    /// ```
    pub fn serve_with<F, C, H>(self, make_codec: F, handler: H) -> ServerHandle
    where
        F: Fn() -> C + Send + Sync + 'static,
        C: ConnectionCodec<R>,
        H: Handler<C::Request>,
        H::Output: IntoReply<Response = R>,
    {
        self.serve_kind(make_codec, PerRequest(Arc::new(handler)))
    }

    /// Starts serving duplex: `handler` is called once per connection with the connection's
    /// requests and a sink for its responses.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// use std::time::Duration;
    /// use bytes::Bytes;
    /// use framekit::{FrameCodec, framing::delimited::Delimited};
    /// use framekit_server::{Ctx, Inbox, Outbox, Server};
    /// use futures::StreamExt;
    /// use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    ///
    /// // Pushes a welcome before the client says anything, then counts messages.
    /// let server = Server::bind("127.0.0.1:0").await?.serve_duplex(
    ///     FrameCodec::new(Delimited::newline()),
    ///     |mut inbox: Inbox<Bytes>, mut outbox: Outbox<Bytes>, _ctx: Ctx| async move {
    ///         let _ = outbox.send(Bytes::from("welcome")).await;
    ///         let mut n = 0;
    ///         while inbox.next().await.is_some() {
    ///             n += 1;
    ///             let _ = outbox.send(Bytes::from(format!("got {n}"))).await;
    ///         }
    ///     },
    /// );
    /// let peer = tokio::net::TcpStream::connect(server.local_addr().as_tcp().unwrap()).await?;
    /// let mut lines = BufReader::new(peer).lines();
    /// assert_eq!(lines.next_line().await?.unwrap(), "welcome");
    /// lines.get_mut().write_all(b"a\nb\n").await?;
    /// assert_eq!(lines.next_line().await?.unwrap(), "got 1");
    /// assert_eq!(lines.next_line().await?.unwrap(), "got 2");
    /// server.shutdown(Duration::from_secs(1)).await;
    /// # Ok(()) }
    /// ```
    pub fn serve_duplex<C, H>(self, codec: C, handler: H) -> ServerHandle
    where
        C: ConnectionCodec<R> + Clone + Sync,
        H: DuplexHandler<C::Request, R>,
    {
        self.serve_duplex_with(move || codec.clone(), handler)
    }

    /// Like [`serve_duplex`](Server::serve_duplex), with a codec made by `make_codec` for every
    /// connection, so it need not be `Clone`.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// use std::time::Duration;
    /// use bytes::Bytes;
    /// use framekit::{FrameCodec, framing::delimited::Delimited};
    /// use framekit_server::{Ctx, Server};
    /// let server = Server::bind("127.0.0.1:0").await?.serve_duplex_with(
    ///     || FrameCodec::new(Delimited::newline()),
    ///     |_inbox: framekit_server::Inbox<Bytes>, _outbox: framekit_server::Outbox<Bytes>, _ctx: Ctx| async move {},
    /// );
    /// server.shutdown(Duration::from_secs(1)).await;
    /// # Ok(()) }
    /// ```
    pub fn serve_duplex_with<F, C, H>(self, make_codec: F, handler: H) -> ServerHandle
    where
        F: Fn() -> C + Send + Sync + 'static,
        C: ConnectionCodec<R>,
        H: DuplexHandler<C::Request, R>,
    {
        self.serve_kind(make_codec, PerConnection(handler))
    }

    /// Starts serving in the borrowed style: `handler` is lent every request where it lies in
    /// the read buffer (as `codec`'s [`ViewDecoder::View`](crate::ViewDecoder::View)) and
    /// writes its answer straight into the output queue; `codec` is cloned for every
    /// connection. See [`BorrowedHandler`] for an example and [`borrowed`](crate::borrowed)
    /// for the ordering contract.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// use std::time::Duration;
    /// use bytes::Bytes;
    /// use framekit::{FrameCodec, framing::length_prefixed::LengthPrefixed};
    /// use framekit_server::{Answer, BorrowedHandler, Ctx, Responder, Server};
    /// use futures::{SinkExt, StreamExt};
    /// use tokio_util::codec::Framed;
    ///
    /// type Frames = FrameCodec<LengthPrefixed>;
    /// struct Len;
    /// impl BorrowedHandler<Frames, Bytes> for Len {
    ///     type State = ();
    ///     type Later = std::future::Ready<Option<Bytes>>;
    ///     fn open(&self, _ctx: &Ctx) {}
    ///     fn call(&self, frame: &[u8], _: &mut (), _ctx: &Ctx, out: &mut Responder<'_, Frames, Bytes>)
    ///         -> Answer<Self::Later>
    ///     {
    ///         out.send(&(frame.len() as u32).to_be_bytes()[..]);
    ///         Answer::Done
    ///     }
    /// }
    ///
    /// let server = Server::bind("127.0.0.1:0").await?
    ///     .serve_borrowed(FrameCodec::new(LengthPrefixed::u32_be()), Len);
    /// let socket = tokio::net::TcpStream::connect(server.local_addr().as_tcp().unwrap()).await?;
    /// let mut client = Framed::new(socket, FrameCodec::new(LengthPrefixed::u32_be()));
    /// client.send(&b"hello"[..]).await?;
    /// assert_eq!(client.next().await.unwrap()?, &[0u8, 0, 0, 5][..]);
    /// server.shutdown(Duration::from_secs(1)).await;
    /// # Ok(()) }
    /// ```
    pub fn serve_borrowed<C, H>(self, codec: C, handler: H) -> ServerHandle
    where
        C: ConnectionCodec<R> + ViewDecoder + Clone + Sync,
        H: BorrowedHandler<C, R>,
    {
        self.serve_borrowed_with(move || codec.clone(), handler)
    }

    /// Like [`serve_borrowed`](Server::serve_borrowed), with a codec made by `make_codec` for
    /// every connection, so it need not be `Clone`.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// use std::time::Duration;
    /// use bytes::Bytes;
    /// use framekit::{FrameCodec, framing::delimited::Delimited};
    /// use framekit_server::{Answer, BorrowedHandler, Ctx, Responder, Server};
    ///
    /// type Lines = FrameCodec<Delimited>;
    /// struct Quiet;
    /// impl BorrowedHandler<Lines, Bytes> for Quiet {
    ///     type State = ();
    ///     type Later = std::future::Ready<Option<Bytes>>;
    ///     fn open(&self, _ctx: &Ctx) {}
    ///     fn call(&self, _line: &[u8], _: &mut (), _ctx: &Ctx, _out: &mut Responder<'_, Lines, Bytes>)
    ///         -> Answer<Self::Later>
    ///     {
    ///         Answer::Done // no response
    ///     }
    /// }
    /// let server = Server::bind("127.0.0.1:0").await?
    ///     .serve_borrowed_with(|| FrameCodec::new(Delimited::crlf()), Quiet);
    /// server.shutdown(Duration::from_secs(1)).await;
    /// # Ok(()) }
    /// ```
    pub fn serve_borrowed_with<F, C, H>(self, make_codec: F, handler: H) -> ServerHandle
    where
        F: Fn() -> C + Send + Sync + 'static,
        C: ConnectionCodec<R> + ViewDecoder,
        H: BorrowedHandler<C, R>,
    {
        self.serve_kind(make_codec, PerView::new(handler))
    }

    /// The one serve path: every connection gets a codec from `make_codec` and a dispatcher
    /// from `kind`.
    fn serve_kind<F, C, K>(self, make_codec: F, kind: K) -> ServerHandle
    where
        F: Fn() -> C + Send + Sync + 'static,
        C: ConnectionCodec<R>,
        K: HandlerKind<C, R>,
    {
        let make_codec = Arc::new(make_codec);
        let kind = Arc::new(kind);
        let threads = 1 + self.more_threads.len() as u64;
        // Each thread gets its own shared state, so its counters are its own.
        let make_loop = |thread: u64| {
            #[allow(unused_mut)] // without TLS nothing more is set
            let mut shared = Shared::new(self.config.clone(), self.on_failure.clone());
            #[cfg(feature = "tls")]
            {
                shared.tls = self.tls.clone();
            }
            let shared = Arc::new(shared);
            let reject = self.reject_fn(make_codec.clone(), &shared);
            let (make_codec, kind) = (make_codec.clone(), kind.clone());
            let metrics = shared.metrics.clone();
            let serve = move |io: A::Io, ctx: Ctx| {
                connection::serve(io, make_codec(), kind.clone(), shared.clone(), ctx)
            };
            Loop {
                metrics,
                serve,
                reject,
                ids: (thread + 1, threads),
            }
        };
        let first = make_loop(0);
        let more: Vec<_> = (1..threads).map(make_loop).collect();
        let limits = Limits::new(&self.config, self.on_reject.is_some());
        if more.is_empty() {
            return self.start(first, limits);
        }
        let Server {
            acceptor,
            config,
            more_threads,
            ..
        } = self;
        let more = more_threads.into_iter().zip(more).collect();
        threads::start(acceptor, first, more, config, limits)
    }

    fn reject_fn<F, C>(
        &self,
        make_codec: Arc<F>,
        shared: &Arc<Shared<R>>,
    ) -> Option<RejectFn<A::Io>>
    where
        F: Fn() -> C + Send + Sync + 'static,
        C: ConnectionCodec<R>,
    {
        let hook = self.on_reject.clone()?;
        let vectored_min = shared.config.vectored_min;
        #[cfg(feature = "tls")]
        let tls = self.tls.clone();
        Some(Arc::new(move |io, peer| {
            let mut out = Outbound::new(vectored_min);
            if let Some(reply) = hook(&peer) {
                if let Err(e) = make_codec().queue_response(reply, &mut out) {
                    tracing::warn!(error = %e, "reject reply could not be encoded");
                }
            }
            #[cfg(feature = "tls")]
            if let Some(tls) = tls.clone() {
                // The reply is only readable over TLS; the handshake gets the same short
                // bound as the reply.
                return Box::pin(async move {
                    if let Some(io) = tls.handshake_rejected(io, REJECT_WRITE_TIMEOUT).await {
                        reject_connection(io, out).await;
                    }
                });
            }
            Box::pin(reject_connection(io, out))
        }))
    }

    fn start<S: Serve<A::Io>>(self, first: Loop<A::Io, S>, limits: Limits) -> ServerHandle {
        let mut local_addrs = self.acceptor.local_addrs();
        if local_addrs.is_empty() {
            // An acceptor that cannot say: the handle still names one address.
            local_addrs.push(Addr::other("unknown"));
        }
        let (stop_tx, stop_rx) = oneshot::channel();
        let metrics = first.metrics.clone();
        let task = tokio::spawn(accept_loop(
            self.acceptor,
            first,
            self.config,
            limits,
            Order::PermitFirst,
            stop_rx,
        ));
        ServerHandle {
            local_addrs,
            metrics,
            stop: Some(stop_tx),
            task,
        }
    }
}

/// Writes the reject reply, half-closes, and briefly drains the peer.
async fn reject_connection<Io: AsyncRead + AsyncWrite + Unpin>(mut io: Io, mut out: Outbound) {
    let _ = tokio::time::timeout(REJECT_WRITE_TIMEOUT, async {
        while !out.is_empty() {
            poll_fn(|cx| out.poll_write(&mut io, cx)).await?;
        }
        io.shutdown().await?;
        let mut discard = [0u8; 512];
        while io.read(&mut discard).await? > 0 {}
        Ok::<(), io::Error>(())
    })
    .await;
}
