//! Starting a server: the two entry points, [`Server::serve`] (request/response) and
//! [`Server::serve_duplex`], each taking a codec or a factory of codecs, through one serve
//! path, `serve_kind`. It builds each thread's shared state, the reject reply at the limit and
//! the accept loop, and returns the [`ServerHandle`].

use std::future::Future;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use framekit::connection::CodecError;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::oneshot;
use tokio_util::codec::{Decoder, Encoder};

use super::Server;
use crate::accept::{accept_loop, Limits, Loop, Order, RejectFn, Serve};
use crate::codec::Codecs;
use crate::context::Ctx;
use crate::driver;
use crate::duplex::DuplexHandler;
use crate::handler::IntoHandler;
use crate::listener::{Acceptor, Addr};
use crate::metrics::CloseReason;
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
    /// answers in request order. `codecs` is a codec (cloned for every connection) or a
    /// function that makes each connection's codec; `handler` is a [`Handler`](crate::Handler) of that codec
    /// (lent each request where it lies) or an async closure of owned requests
    /// ([`owned`](crate::handler::owned)). Must be called within a tokio runtime.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// use std::time::Duration;
    /// use bytes::Bytes;
    /// use framekit::{FrameCodec, framing::delimited::Delimited};
    /// use framekit_server::{Ctx, Server};
    /// use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    ///
    /// let server = Server::bind("127.0.0.1:0").await?.serve(
    ///     || FrameCodec::new(Delimited::newline().max_frame_len(1024)), // one per connection
    ///     |req: Bytes, _ctx: Ctx| async move { Some(req) },
    /// );
    /// let mut peer = tokio::net::TcpStream::connect(server.local_addr().as_tcp().unwrap()).await?;
    /// peer.write_all(b"echo\n").await?;
    /// let mut lines = BufReader::new(peer).lines();
    /// assert_eq!(lines.next_line().await?.as_deref(), Some("echo"));
    /// server.shutdown(Duration::from_secs(1)).await;
    /// # Ok(()) }
    /// ```
    pub fn serve<K, How, H, Via>(self, codecs: K, handler: H) -> ServerHandle
    where
        K: Codecs<How, R>,
        H: IntoHandler<K::Codec, R, Via>,
    {
        let handler = Arc::new(handler.into_handler());
        let make = Arc::new(move || H::codec(codecs.make()));
        self.serve_kind(make, move |io, codec, shared, ctx| {
            driver::serve(io, codec, handler.clone(), shared, ctx)
        })
    }

    /// Starts serving duplex: `handler` is called once per connection with the connection's
    /// requests and a sink for whatever it sends. `codecs` is a `tokio_util` codec (cloned for
    /// every connection) or a function that makes each connection's codec.
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
    pub fn serve_duplex<K, How, H>(self, codecs: K, handler: H) -> ServerHandle
    where
        K: Codecs<How, R>,
        K::Codec: Decoder<Item: Send, Error: CodecError> + Encoder<R, Error: CodecError>,
        H: DuplexHandler<<K::Codec as Decoder>::Item, R>,
    {
        let handler = Arc::new(handler);
        let make = Arc::new(move || codecs.make());
        self.serve_kind(make, move |io, codec, shared, ctx| {
            crate::duplex::driver::serve(io, codec, handler.clone(), shared, ctx)
        })
    }

    /// The one serve path: every connection gets a codec from `make_codec` and runs in
    /// `connection`'s future.
    fn serve_kind<F, C, S, Fut>(self, make_codec: Arc<F>, connection: S) -> ServerHandle
    where
        F: Fn() -> C + Send + Sync + 'static,
        C: Encoder<R> + Send + 'static,
        S: Fn(A::Io, C, Arc<Shared<R>>, Ctx) -> Fut + Clone + Send + Sync + 'static,
        Fut: Future<Output = CloseReason> + Send + 'static,
    {
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
            let reject = self.reject_fn(make_codec.clone());
            let (make_codec, connection) = (make_codec.clone(), connection.clone());
            let metrics = shared.metrics.clone();
            let serve =
                move |io: A::Io, ctx: Ctx| connection(io, make_codec(), shared.clone(), ctx);
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

    fn reject_fn<F, C>(&self, make_codec: Arc<F>) -> Option<RejectFn<A::Io>>
    where
        F: Fn() -> C + Send + Sync + 'static,
        C: Encoder<R> + Send + 'static,
    {
        let hook = self.on_reject.clone()?;
        #[cfg(feature = "tls")]
        let tls = self.tls.clone();
        Some(Arc::new(move |io, peer| {
            let mut out = BytesMut::new();
            if let Some(reply) = hook(&peer) {
                if make_codec().encode(reply, &mut out).is_err() {
                    tracing::warn!("reject reply could not be encoded");
                    out.clear();
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
async fn reject_connection<Io: AsyncRead + AsyncWrite + Unpin>(mut io: Io, out: BytesMut) {
    let _ = tokio::time::timeout(REJECT_WRITE_TIMEOUT, async {
        io.write_all(&out).await?;
        io.shutdown().await?;
        let mut discard = [0u8; 512];
        while io.read(&mut discard).await? > 0 {}
        Ok::<(), io::Error>(())
    })
    .await;
}
