//! The accept loop: a listener, a codec and a handler become a running server.
//!
//! This room owns the connection limit (a permit is taken *before* `accept`, so at the limit
//! the kernel backlog holds new peers), the optional reject reply at the limit, accept-error
//! backoff, the set of connection tasks, and the shutdown sequence that drains them.

use std::future::poll_fn;
use std::io;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, ToSocketAddrs};
use tokio::sync::oneshot;

use crate::accept::{accept_loop, Limits, Loop, Order, RejectFn, ServeFn};
use crate::borrowed::{BorrowedHandler, ViewDecoder};
use crate::codec::ConnectionCodec;
use crate::config::ServerConfig;
use crate::connection::dispatch::HandlerKind;
use crate::connection::{self, ErrorHook, PerConnection, PerRequest, PerView, Shared};
use crate::error::Failure;
use crate::handler::{DuplexHandler, Handler, IntoReply};
use crate::listener::{Acceptor, Addr};
use crate::outbound::Outbound;
use crate::shutdown::ServerHandle;
use crate::threads::{self, OpenAcceptor};

/// How long a rejected peer gets to take the reject reply.
const REJECT_WRITE_TIMEOUT: Duration = Duration::from_secs(1);

type RejectHook<R> = Arc<dyn Fn(&Addr) -> Option<R> + Send + Sync>;

/// A server being set up: a source of connections, limits, hooks. [`serve`](Server::serve) or
/// [`serve_duplex`](Server::serve_duplex) starts it; `R` is the response type.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// use std::time::Duration;
/// use bytes::Bytes;
/// use framekit::{FrameCodec, framing::delimited::Delimited};
/// use framekit_server::{Ctx, Server, ServerConfig};
/// use tokio::io::{AsyncReadExt, AsyncWriteExt};
///
/// let server = Server::bind("127.0.0.1:0").await?
///     .config(ServerConfig::default().max_connections(100))
///     .on_failure(|_| Some(Bytes::from_static(b"-ERR protocol error")))
///     .serve(FrameCodec::new(Delimited::newline()), |req: Bytes, _ctx: Ctx| async move {
///         Some(Bytes::from([&b"+"[..], &req[..]].concat()))
///     });
///
/// let mut peer = tokio::net::TcpStream::connect(server.local_addr().as_tcp().unwrap()).await?;
/// peer.write_all(b"ping\n").await?;
/// peer.shutdown().await?; // half-close: the answer still arrives
/// let mut answer = String::new();
/// peer.read_to_string(&mut answer).await?;
/// assert_eq!(answer, "+ping\n");
///
/// server.shutdown(Duration::from_secs(1)).await;
/// # Ok(()) }
/// ```
pub struct Server<A, R> {
    acceptor: A,
    config: ServerConfig,
    on_failure: Option<ErrorHook<R>>,
    on_reject: Option<RejectHook<R>>,
    #[cfg(feature = "tls")]
    tls: Option<crate::tls::TlsStage>,
    /// The listeners of the threads beyond this runtime's ([`Server::threads`]).
    pub(crate) more_threads: Vec<OpenAcceptor<A>>,
}

impl<R> Server<TcpListener, R> {
    /// Binds a TCP listener (IPv4 or IPv6; port 0 picks a free port, see
    /// [`ServerHandle::local_addr`]).
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
    /// assert_ne!(server.local_addr().as_tcp().unwrap().port(), 0);
    /// server.shutdown(Duration::from_secs(1)).await;
    /// # Ok(()) }
    /// ```
    pub async fn bind(addr: impl ToSocketAddrs) -> io::Result<Self> {
        Ok(Self::new(TcpListener::bind(addr).await?))
    }
}

#[cfg(unix)]
impl<R> Server<crate::UnixSocket, R> {
    /// Binds a Unix domain socket at `path` ([`UnixSocket::bind`](crate::UnixSocket::bind)):
    /// a stale socket file is replaced, a live one refused, and the file is removed when the
    /// server stops.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// use std::time::Duration;
    /// use bytes::Bytes;
    /// use framekit::{FrameCodec, framing::delimited::Delimited};
    /// use framekit_server::{Ctx, Server};
    /// let path = std::env::temp_dir().join(format!("framekit-bind-{}.sock", std::process::id()));
    /// let server = Server::bind_unix(&path)?
    ///     .serve(FrameCodec::new(Delimited::newline()), |req: Bytes, _ctx: Ctx| async move { Some(req) });
    /// server.shutdown(Duration::from_secs(1)).await;
    /// assert!(!path.exists(), "removed at shutdown");
    /// # Ok(()) }
    /// ```
    pub fn bind_unix(path: impl AsRef<Path>) -> io::Result<Self> {
        Ok(Self::new(crate::UnixSocket::bind(path)?))
    }
}

impl<A, R> Server<A, R> {
    /// Serves connections from `acceptor` (any [`Acceptor`]: a listener, a
    /// [`StreamAcceptor`](crate::StreamAcceptor), your own).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// use std::time::Duration;
    /// use bytes::Bytes;
    /// use framekit::{FrameCodec, framing::delimited::Delimited};
    /// use framekit_server::{Ctx, Server};
    /// let (_client, server_side) = tokio::io::duplex(1024);
    /// let acceptor = framekit_server::StreamAcceptor::new(futures::stream::iter(vec![server_side]), "pipe");
    /// let server = Server::new(acceptor)
    ///     .serve(FrameCodec::new(Delimited::newline()), |req: Bytes, _ctx: Ctx| async move { Some(req) });
    /// server.shutdown(Duration::from_secs(1)).await;
    /// # Ok(()) }
    /// ```
    pub fn new(acceptor: A) -> Self {
        Server {
            acceptor,
            config: ServerConfig::default(),
            on_failure: None,
            on_reject: None,
            #[cfg(feature = "tls")]
            tls: None,
            more_threads: Vec::new(),
        }
    }

    /// The source of this runtime's connections.
    pub(crate) fn acceptor(&self) -> &A {
        &self.acceptor
    }

    /// Sets the limits and timeouts.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// use std::time::Duration;
    /// use bytes::Bytes;
    /// use framekit::{FrameCodec, framing::delimited::Delimited};
    /// use framekit_server::{Ctx, Server};
    /// let server = Server::bind("127.0.0.1:0").await?
    ///     .config(framekit_server::ServerConfig::default().max_in_flight(1))
    ///     .serve(FrameCodec::new(Delimited::newline()), |req: Bytes, _ctx: Ctx| async move { Some(req) });
    /// server.shutdown(Duration::from_secs(1)).await;
    /// # Ok(()) }
    /// ```
    pub fn config(mut self, config: ServerConfig) -> Self {
        self.config = config;
        self
    }

    /// Sets the reply to a failed request: input the codec rejected (or the input budget running
    /// out), a response it could not encode, a handler's error, or a handler that did not answer
    /// within the request timeout ([`Failure::origin`] says which). The reply takes the failed
    /// request's place in request order. Then the connection closes, unless the failure is
    /// recoverable ([`Failure::recoverable`]: a recoverable decode error with
    /// [`ServerConfig::recover_decode_errors`] on, an encode or handler failure, a timeout
    /// without [`ServerConfig::close_on_request_timeout`]), in which case later requests are
    /// handled as usual. Returning `None` sends no reply.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// use std::time::Duration;
    /// use bytes::Bytes;
    /// use framekit::{FrameCodec, framing::delimited::Delimited};
    /// use framekit_server::{Ctx, Server};
    /// let server = Server::bind("127.0.0.1:0").await?
    ///     .on_failure(|failure| Some(Bytes::from(format!("-ERR {}", failure.kind))))
    ///     .serve(FrameCodec::new(Delimited::newline()), |req: Bytes, _ctx: Ctx| async move { Some(req) });
    /// server.shutdown(Duration::from_secs(1)).await;
    /// # Ok(()) }
    /// ```
    pub fn on_failure(
        mut self,
        hook: impl Fn(&Failure<'_>) -> Option<R> + Send + Sync + 'static,
    ) -> Self {
        self.on_failure = Some(Arc::new(hook));
        self
    }

    /// At the connection limit, accept anyway and send this reply before closing, instead of
    /// leaving new peers in the kernel backlog. Returning `None` closes without a reply.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// use std::time::Duration;
    /// use bytes::Bytes;
    /// use framekit::{FrameCodec, framing::delimited::Delimited};
    /// use framekit_server::{Ctx, Server};
    /// let server = Server::bind("127.0.0.1:0").await?
    ///     .config(framekit_server::ServerConfig::default().max_connections(100))
    ///     .on_reject(|_peer| Some(Bytes::from_static(b"-ERR server full")))
    ///     .serve(FrameCodec::new(Delimited::newline()), |req: Bytes, _ctx: Ctx| async move { Some(req) });
    /// server.shutdown(Duration::from_secs(1)).await;
    /// # Ok(()) }
    /// ```
    pub fn on_reject(mut self, hook: impl Fn(&Addr) -> Option<R> + Send + Sync + 'static) -> Self {
        self.on_reject = Some(Arc::new(hook));
        self
    }

    /// Serves TLS (feature `tls`): every connection starts with a handshake, run in its own
    /// task under the connection limit and bounded by the handshake timeout. A peer rejected
    /// at the limit gets its reject reply over TLS too.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use std::time::Duration;
    /// use bytes::Bytes;
    /// use framekit::{FrameCodec, framing::delimited::Delimited};
    /// use framekit_server::tls::TlsConfig;
    /// use framekit_server::{Ctx, Server};
    ///
    /// let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()])?;
    /// let tls = TlsConfig::from_pem(cert.cert.pem().as_bytes(), cert.signing_key.serialize_pem().as_bytes())?
    ///     .handshake_timeout(Duration::from_secs(5));
    /// let server = Server::bind("127.0.0.1:0").await?.tls(tls).serve(
    ///     FrameCodec::new(Delimited::newline()),
    ///     |line: Bytes, _ctx: Ctx| async move { Some(line) },
    /// );
    /// // TLS clients connect to server.local_addr(); see tests/tests/tls_server.rs.
    /// server.shutdown(Duration::from_secs(1)).await;
    /// # Ok(()) }
    /// ```
    #[cfg(feature = "tls")]
    pub fn tls(mut self, config: crate::tls::TlsConfig) -> Self {
        self.tls = Some(crate::tls::TlsStage::new(config));
        self
    }
}

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
            let serve: ServeFn<A::Io> = Arc::new(move |io, ctx| {
                Box::pin(connection::serve(
                    io,
                    make_codec(),
                    kind.clone(),
                    shared.clone(),
                    ctx,
                ))
            });
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

    fn start(self, first: Loop<A::Io>, limits: Limits) -> ServerHandle {
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
