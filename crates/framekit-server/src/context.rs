//! What a handler knows about its connection: who the peer is, which connection this is, when
//! to stop, and how to run blocking work without stalling the event loop.
//!
//! A [`Ctx`] is cheap to clone (one `Arc`), so handlers may move it into the futures they
//! return or into tasks they spawn.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use crate::listener::Addr;
use crate::preamble::ProxyHeader;

/// The connection context given to handlers with every request.
///
/// ```
/// use framekit_server::{Addr, Ctx};
/// use tokio_util::sync::CancellationToken;
///
/// let ctx = Ctx::new(3, Addr::other("test"), CancellationToken::new());
/// let moved = ctx.clone(); // one Arc: cheap to move into a spawned task
/// assert_eq!(moved.id(), 3);
/// ```
#[derive(Debug, Clone)]
pub struct Ctx {
    inner: Arc<CtxInner>,
}

#[derive(Debug, Clone)]
struct CtxInner {
    id: u64,
    /// The client: the PROXY header's source when there is one, else the socket's peer.
    peer: Addr,
    /// What a PROXY preamble said, when the connection started with one (boxed: a connection
    /// without one, as most are, carries one pointer instead of a header and a second address).
    proxy: Option<Box<Proxied>>,
    closing: CancellationToken,
    /// What the TLS handshake agreed on (boxed: plain connections carry one pointer).
    #[cfg(feature = "tls")]
    tls: Option<Box<crate::tls::TlsInfo>>,
}

/// A connection that came through a balancer speaking the PROXY protocol.
#[derive(Debug, Clone)]
struct Proxied {
    /// The other end of the socket: the balancer.
    socket_peer: Addr,
    header: ProxyHeader,
}

impl Ctx {
    /// A context for connection `id` with `peer`, cancelled with `closing`.
    ///
    /// The server makes these; build one yourself to unit-test a handler without a socket:
    ///
    /// ```
    /// use framekit_server::{Addr, Ctx};
    /// use tokio_util::sync::CancellationToken;
    ///
    /// let ctx = Ctx::new(7, Addr::other("test"), CancellationToken::new());
    /// assert_eq!(ctx.id(), 7);
    /// assert!(!ctx.is_closing());
    /// ```
    pub fn new(id: u64, peer: Addr, closing: CancellationToken) -> Self {
        Ctx {
            inner: Arc::new(CtxInner {
                id,
                peer,
                proxy: None,
                closing,
                #[cfg(feature = "tls")]
                tls: None,
            }),
        }
    }

    /// This context after the connection's PROXY `header`: [`peer`](Ctx::peer) becomes the
    /// client the header names (unless it is `LOCAL` or `UNKNOWN`), and the header is kept.
    ///
    /// ```
    /// use framekit::framing::proxy::ProxyHeader;
    /// use framekit_server::{Addr, Ctx};
    /// use tokio_util::sync::CancellationToken;
    ///
    /// let balancer = Addr::Tcp("127.0.0.1:40000".parse().unwrap());
    /// let ctx = Ctx::new(7, balancer.clone(), CancellationToken::new()).with_proxy_header(
    ///     ProxyHeader::v2_proxy("192.0.2.1:5000".parse().unwrap(), "10.0.0.1:6379".parse().unwrap()),
    /// );
    /// assert_eq!(ctx.peer().to_string(), "192.0.2.1:5000");
    /// assert_eq!(ctx.socket_peer(), &balancer);
    /// assert_eq!(ctx.destination(), Some("10.0.0.1:6379".parse().unwrap()));
    /// ```
    pub fn with_proxy_header(self, header: ProxyHeader) -> Ctx {
        let mut inner = CtxInner::clone(&self.inner);
        let socket_peer = match header.source() {
            Some(source) => std::mem::replace(&mut inner.peer, Addr::Tcp(source)),
            None => inner.peer.clone(),
        };
        inner.proxy = Some(Box::new(Proxied {
            socket_peer,
            header,
        }));
        Ctx {
            inner: Arc::new(inner),
        }
    }

    /// This context with what the TLS handshake agreed on; the setup stage calls it before
    /// the handler is started.
    #[cfg(feature = "tls")]
    pub(crate) fn with_tls(self, info: crate::tls::TlsInfo) -> Self {
        let mut inner = CtxInner::clone(&self.inner);
        inner.tls = Some(Box::new(info));
        Ctx {
            inner: Arc::new(inner),
        }
    }

    /// What the TLS handshake agreed on (ALPN protocol, server name), when the connection is
    /// TLS (feature `tls`, [`Server::tls`](crate::Server::tls)).
    ///
    /// ```
    /// use framekit_server::{Addr, Ctx};
    /// let ctx = Ctx::new(7, Addr::other("test"), Default::default());
    /// assert!(ctx.tls().is_none(), "not a TLS connection");
    /// ```
    #[cfg(feature = "tls")]
    pub fn tls(&self) -> Option<&crate::tls::TlsInfo> {
        self.inner.tls.as_deref()
    }

    /// The connection id, unique within the server (it also appears in the connection's
    /// tracing span).
    ///
    /// ```
    /// use framekit_server::{Addr, Ctx};
    /// use tokio_util::sync::CancellationToken;
    ///
    /// assert_eq!(Ctx::new(9, Addr::other("t"), CancellationToken::new()).id(), 9);
    /// ```
    pub fn id(&self) -> u64 {
        self.inner.id
    }

    /// The client's address: the one a PROXY header named, else the socket's peer.
    ///
    /// ```
    /// use framekit_server::{Addr, Ctx};
    /// use tokio_util::sync::CancellationToken;
    ///
    /// let ctx = Ctx::new(1, Addr::Tcp("127.0.0.1:4000".parse().unwrap()), CancellationToken::new());
    /// assert_eq!(ctx.peer().as_tcp().unwrap().port(), 4000);
    /// ```
    pub fn peer(&self) -> &Addr {
        &self.inner.peer
    }

    /// The other end of the socket: the balancer when a PROXY header came first, else the
    /// same as [`peer`](Ctx::peer).
    ///
    /// ```
    /// use framekit_server::{Addr, Ctx};
    /// let ctx = Ctx::new(1, Addr::Tcp("127.0.0.1:4000".parse().unwrap()), Default::default());
    /// assert_eq!(ctx.socket_peer(), ctx.peer()); // no PROXY header
    /// assert_eq!(ctx.destination(), None);
    /// assert!(ctx.proxy_header().is_none());
    /// ```
    pub fn socket_peer(&self) -> &Addr {
        self.inner
            .proxy
            .as_ref()
            .map_or(&self.inner.peer, |proxied| &proxied.socket_peer)
    }

    /// The address the client connected to, as the PROXY header says (`None` without one, or
    /// for `LOCAL` and `UNKNOWN`); see [`with_proxy_header`](Ctx::with_proxy_header).
    ///
    /// ```
    /// use framekit_server::{Addr, Ctx};
    /// let ctx = Ctx::new(1, Addr::Tcp("127.0.0.1:4000".parse().unwrap()), Default::default());
    /// assert_eq!(ctx.socket_peer(), ctx.peer()); // no PROXY header
    /// assert_eq!(ctx.destination(), None);
    /// assert!(ctx.proxy_header().is_none());
    /// ```
    pub fn destination(&self) -> Option<SocketAddr> {
        self.proxy_header().and_then(ProxyHeader::destination)
    }

    /// The PROXY header the connection started with, TLVs and all (ALPN, authority, unique
    /// id, SSL information: see [`ProxyHeader`]).
    ///
    /// ```
    /// use framekit::framing::proxy::{ProxyHeader, Tlv};
    /// use framekit_server::{Addr, Ctx};
    /// let header = ProxyHeader::v2_local().with_tlv(Tlv::UniqueId(b"req-7".to_vec()));
    /// let ctx = Ctx::new(1, Addr::other("test"), Default::default()).with_proxy_header(header);
    /// assert_eq!(ctx.proxy_header().and_then(|h| h.unique_id()), Some(&b"req-7"[..]));
    /// ```
    pub fn proxy_header(&self) -> Option<&ProxyHeader> {
        self.inner.proxy.as_ref().map(|proxied| &proxied.header)
    }

    /// The signal cancelled when the server begins a graceful shutdown or this connection
    /// ends. Long-running handlers and tasks they spawn should watch it.
    ///
    /// When a connection ends while handler futures still run (the peer reset, a write failed,
    /// the shutdown deadline passed), this fires *before* those futures are dropped, so tasks
    /// they spawned see it; the futures themselves are dropped at their current `.await`, not
    /// polled again.
    ///
    /// ```
    /// use framekit_server::{Addr, Ctx};
    /// use tokio_util::sync::CancellationToken;
    ///
    /// let token = CancellationToken::new();
    /// let ctx = Ctx::new(1, Addr::other("t"), token.clone());
    /// token.cancel();
    /// assert!(ctx.closing().is_cancelled());
    /// ```
    pub fn closing(&self) -> &CancellationToken {
        &self.inner.closing
    }

    /// Whether [`closing`](Ctx::closing) has fired.
    ///
    /// ```
    /// use framekit_server::{Addr, Ctx};
    /// use tokio_util::sync::CancellationToken;
    ///
    /// let token = CancellationToken::new();
    /// let ctx = Ctx::new(1, Addr::other("t"), token.clone());
    /// assert!(!ctx.is_closing());
    /// token.cancel();
    /// assert!(ctx.is_closing());
    /// ```
    pub fn is_closing(&self) -> bool {
        self.inner.closing.is_cancelled()
    }

    /// Runs blocking or CPU-heavy `work` on tokio's blocking pool and waits for its result,
    /// so the event loop keeps serving every other connection meanwhile.
    ///
    /// If the handler's future is dropped (the peer left), the work still runs to completion in
    /// the background, but its result is discarded. A panic in `work` resumes in the caller.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// use framekit_server::{Addr, Ctx};
    /// use tokio_util::sync::CancellationToken;
    ///
    /// let ctx = Ctx::new(1, Addr::other("test"), CancellationToken::new());
    /// let sum = ctx.blocking(|| (1..=100u64).sum::<u64>()).await;
    /// assert_eq!(sum, 5050);
    /// # }
    /// ```
    pub async fn blocking<T, F>(&self, work: F) -> T
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        match tokio::task::spawn_blocking(work).await {
            Ok(value) => value,
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            // The runtime is shutting down; there is no result to give.
            Err(_) => std::future::pending().await,
        }
    }
}
