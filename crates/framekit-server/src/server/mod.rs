//! A server being set up: where its connections come from (a TCP or Unix listener, any
//! [`Acceptor`](crate::listener::Acceptor)), its limits, its hooks (the failure reply, the reject reply at the connection
//! limit) and TLS. `serve.rs` starts it: one entry point per handler kind and codec style, all
//! through one serve path. The accept loop itself is `accept.rs`; the running server is a
//! [`ServerHandle`](crate::ServerHandle).
use std::io;
use std::path::Path;
use std::sync::Arc;

use tokio::net::{TcpListener, ToSocketAddrs};

use crate::config::ServerConfig;
use crate::error::Failure;
use crate::listener::Addr;
use crate::shared::ErrorHook;
use crate::threads::{OpenAcceptor, Spread};

mod serve;

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
    /// [`ServerHandle::local_addr`](crate::ServerHandle::local_addr)).
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
    /// Serves connections from `acceptor` (any [`Acceptor`](crate::listener::Acceptor): a listener, a
    /// [`StreamAcceptor`](crate::listener::StreamAcceptor), your own).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// use std::time::Duration;
    /// use bytes::Bytes;
    /// use framekit::{FrameCodec, framing::delimited::Delimited};
    /// use framekit_server::{Ctx, Server};
    /// let (_client, server_side) = tokio::io::duplex(1024);
    /// let acceptor = framekit_server::listener::StreamAcceptor::new(futures::stream::iter(vec![server_side]), "pipe");
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

impl<A: Spread, R> Server<A, R> {
    /// Serves on `n` threads instead of one runtime (thread-per-core): this runtime serves
    /// the connections of this listener, and `n - 1` new threads, each with a single-threaded
    /// runtime and its own listener ([`Spread`]), serve theirs. A connection stays on the
    /// thread that accepted it. One connection limit and one shutdown cover all the threads.
    ///
    /// Call it from a single-threaded runtime (`flavor = "current_thread"`) so that every
    /// thread is one core's worth; from a multi-threaded one, this listener's connections are
    /// served by that runtime's pool. `n` of 0 or 1 leaves the server on this runtime alone.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// use std::time::Duration;
    /// use bytes::Bytes;
    /// use framekit::{FrameCodec, framing::delimited::Delimited};
    /// use framekit_server::tcp::{TcpAcceptor, TcpOptions};
    /// use framekit_server::{Ctx, Server};
    /// use tokio::io::{AsyncReadExt, AsyncWriteExt};
    ///
    /// // Two threads, each with its own SO_REUSEPORT listener on one port.
    /// let listener = TcpAcceptor::bind("127.0.0.1:0", &TcpOptions::default().reuse_port(true))?;
    /// let server = Server::new(listener)
    ///     .threads(2)?
    ///     .serve(FrameCodec::new(Delimited::newline()), |req: Bytes, _ctx: Ctx| async move { Some(req) });
    ///
    /// let mut peer = tokio::net::TcpStream::connect(server.local_addr().as_tcp().unwrap()).await?;
    /// peer.write_all(b"hi\n").await?;
    /// peer.shutdown().await?;
    /// let mut answer = String::new();
    /// peer.read_to_string(&mut answer).await?;
    /// assert_eq!(answer, "hi\n");
    /// server.shutdown(Duration::from_secs(1)).await;
    /// # Ok(()) }
    /// ```
    pub fn threads(mut self, n: usize) -> io::Result<Self> {
        self.more_threads.clear();
        for _ in 1..n {
            let open = self.acceptor().another()?;
            self.more_threads.push(open);
        }
        Ok(self)
    }
}
