//! TCP listeners with the socket options deployments set: `SO_REUSEPORT`, the listen backlog,
//! `SO_REUSEADDR`, and TCP keepalive on every accepted connection (through `socket2`).
//!
//! This room owns building the listening socket and the per-connection options; accepting is
//! the plain tokio listener's. `TCP_NODELAY` stays in
//! [`ServerConfig::tcp_nodelay`](crate::ServerConfig::tcp_nodelay), applied here too.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> std::io::Result<()> {
//! use std::time::Duration;
//! use bytes::Bytes;
//! use framekit::{FrameCodec, framing::delimited::Delimited};
//! use framekit_server::tcp::{TcpAcceptor, TcpOptions};
//! use framekit_server::{Ctx, Server};
//!
//! let options = TcpOptions::default()
//!     .backlog(511)
//!     .keepalive(Some(Duration::from_secs(300)));
//! let server = Server::new(TcpAcceptor::bind("127.0.0.1:0", &options)?)
//!     .serve(FrameCodec::new(Delimited::newline()), |req: Bytes, _ctx: Ctx| async move { Some(req) });
//! assert!(server.local_addr().as_tcp().is_some());
//! server.shutdown(Duration::from_secs(1)).await;
//! # Ok(()) }
//! ```

use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::task::{Context, Poll};
use std::time::Duration;

use socket2::{Domain, Protocol, SockRef, Socket, TcpKeepalive, Type};
use tokio::net::{TcpListener, TcpStream};

use crate::listener::{Accepted, Acceptor, Addr};

/// The listen backlog unless [`TcpOptions::backlog`] says otherwise (tokio's and redis's
/// default is close: 1024 and 511; the kernel caps it at `net.core.somaxconn`).
///
/// ```
/// use framekit_server::tcp::{TcpOptions, DEFAULT_BACKLOG};
/// assert_eq!(TcpOptions::default().backlog_len(), DEFAULT_BACKLOG);
/// ```
pub const DEFAULT_BACKLOG: u32 = 1024;

/// How a TCP listener is set up.
///
/// ```
/// use std::time::Duration;
/// use framekit_server::tcp::{TcpOptions, DEFAULT_BACKLOG};
///
/// let options = TcpOptions::default().reuse_port(true).keepalive(Some(Duration::from_secs(300)));
/// assert_eq!(options.backlog_len(), DEFAULT_BACKLOG);
/// assert!(options.is_reuse_port());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TcpOptions {
    reuse_port: bool,
    reuse_address: bool,
    backlog: u32,
    keepalive: Option<Duration>,
}

impl Default for TcpOptions {
    fn default() -> Self {
        TcpOptions {
            reuse_port: false,
            reuse_address: true,
            backlog: DEFAULT_BACKLOG,
            keepalive: None,
        }
    }
}

impl TcpOptions {
    /// `SO_REUSEPORT` (off by default): several processes bound to one port share its
    /// connections, the kernel spreading them; a new process can take over before the old one
    /// stops. Every process on the port must set it. Unix only; elsewhere binding fails.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// use framekit_server::tcp::{TcpAcceptor, TcpOptions};
    /// use framekit_server::listener::Acceptor;
    ///
    /// let shared = TcpOptions::default().reuse_port(true);
    /// let first = TcpAcceptor::bind("127.0.0.1:0", &shared)?;
    /// let addr = first.local_addr()?.as_tcp().unwrap();
    /// // A second listener on the same port: allowed because both set it.
    /// assert!(TcpAcceptor::bind(addr, &shared).is_ok());
    /// // Without it, the port is taken.
    /// assert!(TcpAcceptor::bind(addr, &TcpOptions::default()).is_err());
    /// # Ok(()) }
    /// ```
    pub fn reuse_port(mut self, on: bool) -> Self {
        self.reuse_port = on;
        self
    }

    /// `SO_REUSEADDR` (on by default, as tokio and most servers do): a restarted server can
    /// bind while the old one's connections are in `TIME_WAIT`.
    ///
    /// ```
    /// use framekit_server::tcp::TcpOptions;
    /// let options = TcpOptions::default().reuse_address(false);
    /// assert_ne!(options, TcpOptions::default());
    /// ```
    pub fn reuse_address(mut self, on: bool) -> Self {
        self.reuse_address = on;
        self
    }

    /// The listen backlog: connections the kernel completes and holds before they are
    /// accepted (default [`DEFAULT_BACKLOG`]).
    ///
    /// ```
    /// use framekit_server::tcp::TcpOptions;
    /// assert_eq!(TcpOptions::default().backlog(4096).backlog_len(), 4096);
    /// ```
    pub fn backlog(mut self, backlog: u32) -> Self {
        self.backlog = backlog;
        self
    }

    /// TCP keepalive on every accepted connection: probes after this long without traffic, so
    /// a peer that vanished is noticed (off by default; redis uses 300 s).
    ///
    /// ```
    /// use std::time::Duration;
    /// use framekit_server::tcp::TcpOptions;
    /// let options = TcpOptions::default().keepalive(Some(Duration::from_secs(300)));
    /// assert_eq!(options.keepalive_idle(), Some(Duration::from_secs(300)));
    /// ```
    pub fn keepalive(mut self, idle: Option<Duration>) -> Self {
        self.keepalive = idle;
        self
    }

    /// Whether `SO_REUSEPORT` is set.
    ///
    /// ```
    /// use framekit_server::tcp::TcpOptions;
    /// assert!(!TcpOptions::default().is_reuse_port());
    /// assert!(TcpOptions::default().reuse_port(true).is_reuse_port());
    /// ```
    pub fn is_reuse_port(&self) -> bool {
        self.reuse_port
    }

    /// The listen backlog.
    ///
    /// ```
    /// use framekit_server::tcp::TcpOptions;
    /// assert_eq!(TcpOptions::default().backlog(128).backlog_len(), 128);
    /// ```
    pub fn backlog_len(&self) -> u32 {
        self.backlog
    }

    /// The keepalive idle time, if keepalive is on.
    ///
    /// ```
    /// use framekit_server::tcp::TcpOptions;
    /// assert_eq!(TcpOptions::default().keepalive_idle(), None, "off by default");
    /// ```
    pub fn keepalive_idle(&self) -> Option<Duration> {
        self.keepalive
    }

    fn listen(&self, addr: SocketAddr) -> io::Result<TcpListener> {
        TcpListener::from_std(self.listen_std(addr)?)
    }

    /// The listening socket, not yet registered with a runtime (so any thread's may take it).
    pub(crate) fn listen_std(&self, addr: SocketAddr) -> io::Result<std::net::TcpListener> {
        let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
        socket.set_reuse_address(self.reuse_address)?;
        if self.reuse_port {
            #[cfg(unix)]
            socket.set_reuse_port(true)?;
            #[cfg(not(unix))]
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "SO_REUSEPORT is not available on this platform",
            ));
        }
        socket.set_nonblocking(true)?;
        socket.bind(&addr.into())?;
        let backlog = i32::try_from(self.backlog).unwrap_or(i32::MAX);
        socket.listen(backlog)?;
        Ok(socket.into())
    }
}

/// A TCP listener bound with [`TcpOptions`]; it sets keepalive and nodelay on every
/// connection it accepts.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// use framekit_server::tcp::{TcpAcceptor, TcpOptions};
/// use framekit_server::listener::Acceptor;
///
/// // Two listeners on one port: both serve, the kernel spreads the connections.
/// let first = TcpAcceptor::bind("127.0.0.1:0", &TcpOptions::default().reuse_port(true))?;
/// let port = first.local_addr()?.as_tcp().unwrap().port();
/// let second = TcpAcceptor::bind(("127.0.0.1", port), &TcpOptions::default().reuse_port(true))?;
/// assert_eq!(second.local_addr()?, first.local_addr()?);
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct TcpAcceptor {
    listener: TcpListener,
    keepalive: Option<TcpKeepalive>,
    /// How it was set up, for the listeners of more threads ([`crate::Server::threads`]).
    options: TcpOptions,
}

impl TcpAcceptor {
    /// Binds to the first address of `addr` that works (like `TcpListener::bind`). Must be
    /// called within a tokio runtime.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// use framekit_server::tcp::{TcpAcceptor, TcpOptions};
    /// use framekit_server::listener::Acceptor;
    ///
    /// let acceptor = TcpAcceptor::bind("127.0.0.1:0", &TcpOptions::default())?;
    /// assert_ne!(acceptor.local_addr()?.as_tcp().unwrap().port(), 0);
    /// // An address that cannot be bound is an error, not a panic.
    /// assert!(TcpAcceptor::bind("192.0.2.1:1", &TcpOptions::default()).is_err());
    /// # Ok(()) }
    /// ```
    pub fn bind(addr: impl ToSocketAddrs, options: &TcpOptions) -> io::Result<Self> {
        let mut last = None;
        for addr in addr.to_socket_addrs()? {
            match options.listen(addr) {
                Ok(listener) => {
                    return Ok(TcpAcceptor {
                        listener,
                        keepalive: options
                            .keepalive
                            .map(|idle| TcpKeepalive::new().with_time(idle)),
                        options: options.clone(),
                    })
                }
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidInput, "no address to bind to")
        }))
    }

    /// Serves a listening socket bound elsewhere: inherited from a supervisor (systemd socket
    /// activation passes it as `LISTEN_FDS`), so it outlives this process and a successor
    /// takes over the port without a refused connection. Only the per-connection options
    /// (keepalive) apply; the socket's own were set by whoever bound it. Must be called within
    /// a tokio runtime.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// use framekit_server::tcp::{TcpAcceptor, TcpOptions};
    /// use framekit_server::listener::Acceptor;
    ///
    /// let bound = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// let addr = bound.local_addr()?;
    /// let acceptor = TcpAcceptor::from_std(bound, &TcpOptions::default())?;
    /// assert_eq!(acceptor.local_addr()?.as_tcp(), Some(addr));
    /// # Ok(()) }
    /// ```
    pub fn from_std(listener: std::net::TcpListener, options: &TcpOptions) -> io::Result<Self> {
        listener.set_nonblocking(true)?;
        Ok(TcpAcceptor {
            listener: TcpListener::from_std(listener)?,
            keepalive: options
                .keepalive
                .map(|idle| TcpKeepalive::new().with_time(idle)),
            options: options.clone(),
        })
    }

    /// How this listener was set up.
    pub(crate) fn options(&self) -> &TcpOptions {
        &self.options
    }

    /// The listener.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// use framekit_server::tcp::{TcpAcceptor, TcpOptions};
    /// let acceptor = TcpAcceptor::bind("127.0.0.1:0", &TcpOptions::default())?;
    /// assert!(acceptor.listener().local_addr()?.ip().is_loopback());
    /// # Ok(()) }
    /// ```
    pub fn listener(&self) -> &TcpListener {
        &self.listener
    }
}

impl Acceptor for TcpAcceptor {
    type Io = TcpStream;

    fn poll_accept(&mut self, cx: &mut Context<'_>) -> Poll<Option<Accepted<TcpStream>>> {
        Acceptor::poll_accept(&mut self.listener, cx)
    }

    fn local_addr(&self) -> io::Result<Addr> {
        self.listener.local_addr().map(Addr::Tcp)
    }

    fn configure(&self, io: &TcpStream, nodelay: bool) {
        self.listener.configure(io, nodelay);
        if let Some(keepalive) = &self.keepalive {
            if let Err(e) = SockRef::from(io).set_tcp_keepalive(keepalive) {
                tracing::debug!(error = %e, "could not set TCP keepalive");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn accepted_connections_get_keepalive_and_nodelay() {
        let options = TcpOptions::default().keepalive(Some(Duration::from_secs(77)));
        let mut acceptor = TcpAcceptor::bind("127.0.0.1:0", &options).unwrap();
        let addr = acceptor.local_addr().unwrap().as_tcp().unwrap();
        let _client = TcpStream::connect(addr).await.unwrap();
        let (io, peer) = std::future::poll_fn(|cx| acceptor.poll_accept(cx))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(peer.as_tcp(), Some(_client.local_addr().unwrap()));
        acceptor.configure(&io, true);
        let sock = SockRef::from(&io);
        assert!(sock.keepalive().unwrap());
        #[cfg(any(target_os = "linux", target_os = "android"))]
        assert_eq!(sock.tcp_keepalive_time().unwrap(), Duration::from_secs(77));
        assert!(io.nodelay().unwrap());
    }

    #[tokio::test]
    async fn a_second_bind_without_reuse_port_fails() {
        let first = TcpAcceptor::bind("127.0.0.1:0", &TcpOptions::default()).unwrap();
        let addr = first.local_addr().unwrap().as_tcp().unwrap();
        let err = TcpAcceptor::bind(addr, &TcpOptions::default().reuse_port(true)).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AddrInUse);
    }
}
