//! What a handler knows about its connection: who the peer is, which connection this is, when
//! to stop, and how to run blocking work without stalling the event loop.
//!
//! A [`Ctx`] is cheap to clone (one `Arc`), so handlers may move it into the futures they
//! return or into tasks they spawn. It is one allocation per connection: the connection's own
//! cancellation token ([`Ctx::closing`]) is made only when a handler first asks for it (most
//! never do), and the connection itself watches the server's shutdown through a flag and a
//! waker registered once (its key kept here, in a [`Registration`]), not through a token of its
//! own.

use std::net::SocketAddr;
use std::sync::atomic::{fence, AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};

use tokio_util::sync::{CancellationToken, WaitForCancellationFuture};

use crate::listener::Addr;
use crate::preamble::ProxyHeader;
use crate::watch::{Registration, Shutdown, Watch};

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

#[derive(Debug)]
struct CtxInner {
    id: u64,
    /// The client: the PROXY header's source when there is one, else the socket's peer.
    peer: Addr,
    /// What a PROXY preamble said, when the connection started with one (boxed: a connection
    /// without one, as most are, carries one pointer instead of a header and a second address).
    proxy: Option<Box<Proxied>>,
    /// The server's shutdown, shared by every connection of an accept loop.
    shutdown: Arc<Shutdown>,
    /// This connection's own token, a child of the shutdown's: made at the first
    /// [`Ctx::closing`] (a token is an allocation of its own and a slot in its parent's list of
    /// children, which most handlers never need).
    closing: OnceLock<CancellationToken>,
    /// Set when the connection ends ([`Ctx::close`]): a token made after that is born
    /// cancelled.
    ended: AtomicBool,
    /// The connection loop's place in the shutdown's registry of wakers, once it polled.
    watching: Registration,
    /// What the TLS handshake agreed on (boxed: plain connections carry one pointer).
    #[cfg(feature = "tls")]
    tls: Option<Box<TlsInfo>>,
}

impl CtxInner {
    /// This context's fields for a derived one, without a second allocation when this
    /// context is not shared (as in the setup stages, which own the only one).
    fn into_owned(inner: Arc<CtxInner>) -> CtxInner {
        Arc::try_unwrap(inner).unwrap_or_else(|shared| CtxInner {
            id: shared.id,
            peer: shared.peer.clone(),
            proxy: shared.proxy.clone(),
            shutdown: shared.shutdown.clone(),
            // A token already handed out stays the one both contexts cancel.
            closing: shared.closing.clone(),
            ended: AtomicBool::new(shared.ended.load(Ordering::Relaxed)),
            // Only the connection's loop registers, with the context it was started with.
            watching: Registration::default(),
            #[cfg(feature = "tls")]
            tls: shared.tls.clone(),
        })
    }
}

/// A connection that came through a balancer speaking the PROXY protocol.
#[derive(Debug, Clone)]
struct Proxied {
    /// The other end of the socket: the balancer.
    socket_peer: Addr,
    header: ProxyHeader,
}

impl Ctx {
    /// A context for connection `id` with `peer`; its [`closing`](Ctx::closing) token is
    /// cancelled when `shutdown` is (a child of it, made when first asked for) or when the
    /// connection ends.
    ///
    /// The server makes these; build one yourself to unit-test a handler without a socket:
    ///
    /// ```
    /// use framekit_server::{Addr, Ctx};
    /// use tokio_util::sync::CancellationToken;
    ///
    /// let shutdown = CancellationToken::new();
    /// let ctx = Ctx::new(7, Addr::other("test"), shutdown.clone());
    /// assert_eq!(ctx.id(), 7);
    /// assert!(!ctx.is_closing());
    /// shutdown.cancel();
    /// assert!(ctx.is_closing() && ctx.closing().is_cancelled());
    /// ```
    pub fn new(id: u64, peer: Addr, shutdown: CancellationToken) -> Self {
        Ctx::serving(id, peer, Shutdown::following(shutdown))
    }

    /// The server's context for connection `id`, watching its accept loop's `shutdown`.
    pub(crate) fn serving(id: u64, peer: Addr, shutdown: Arc<Shutdown>) -> Self {
        Ctx {
            inner: Arc::new(CtxInner {
                id,
                peer,
                proxy: None,
                shutdown,
                closing: OnceLock::new(),
                ended: AtomicBool::new(false),
                watching: Registration::default(),
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
        let mut inner = CtxInner::into_owned(self.inner);
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
    pub(crate) fn with_tls(self, info: TlsInfo) -> Self {
        let mut inner = CtxInner::into_owned(self.inner);
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
    pub fn tls(&self) -> Option<&TlsInfo> {
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
    /// The token is made at the first call (a child of the server's shutdown token), so a
    /// connection whose handler never asks carries none; asked for after the connection
    /// ended, it is already cancelled. Cancelling it yourself tells the handler's own tasks;
    /// it does not end the connection.
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
        let inner = &*self.inner;
        let token = inner
            .closing
            .get_or_init(|| inner.shutdown.token.child_token());
        // Paired with the fence in `close`: either it sees this token, or this sees `ended`.
        fence(Ordering::SeqCst);
        if inner.ended.load(Ordering::Relaxed) {
            token.cancel();
        }
        token
    }

    /// Whether [`closing`](Ctx::closing) has fired (asked without making the token).
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
        let inner = &*self.inner;
        inner.ended.load(Ordering::Acquire)
            || inner.shutdown.flagged()
            || match inner.closing.get() {
                Some(token) => token.is_cancelled(),
                None => inner.shutdown.token.is_cancelled(),
            }
    }

    /// The connection has ended (or is ending, with handler futures still to drop): cancels
    /// its token if one was made, and any made later is born cancelled; its loop leaves the
    /// shutdown's registry (a handler may keep a clone of this context for longer, and the
    /// registry must not keep the finished task's waker, and with it the task, that long).
    pub(crate) fn close(&self) {
        let inner = &*self.inner;
        inner.shutdown.unregister(&inner.watching);
        inner.ended.store(true, Ordering::Release);
        // Paired with the fence in `closing`.
        fence(Ordering::SeqCst);
        if let Some(token) = inner.closing.get() {
            token.cancel();
        }
    }

    /// This context as a connection's task holds it: closed when dropped, however the task
    /// ends (see [`Live`]).
    pub(crate) fn live(self) -> Live {
        Live(self)
    }

    /// Resolves when the server begins its shutdown: for the setup stages, which wait once
    /// (the connection's loop keeps a [`Watch`]).
    pub(crate) fn shutdown(&self) -> WaitForCancellationFuture<'_> {
        self.inner.shutdown.token.cancelled()
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

#[cfg(feature = "tls")]
/// What a TLS handshake agreed on, for handlers ([`Ctx::tls`]).
///
/// ```
/// use framekit_server::Ctx;
/// // A handler that speaks by the protocol the client chose.
/// fn protocol(ctx: &Ctx) -> &[u8] {
///     ctx.tls().and_then(|tls| tls.alpn_protocol()).unwrap_or(b"plain")
/// }
/// # let _ = protocol;
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsInfo {
    alpn: Option<Box<[u8]>>,
    server_name: Option<Box<str>>,
}

#[cfg(feature = "tls")]
impl TlsInfo {
    /// The ALPN protocol agreed on, if the client offered one the server has (see the
    /// [module](crate::tls) example for a whole exchange).
    ///
    /// ```
    /// use framekit_server::Ctx;
    /// // Speaks RESP3 only to clients that asked for it.
    /// fn resp3(ctx: &Ctx) -> bool {
    ///     ctx.tls().and_then(|tls| tls.alpn_protocol()) == Some(&b"resp3"[..])
    /// }
    /// # let _ = resp3;
    /// ```
    pub fn alpn_protocol(&self) -> Option<&[u8]> {
        self.alpn.as_deref()
    }

    /// The server name (SNI) the client asked for (see the [module](crate::tls) example).
    ///
    /// ```
    /// use framekit_server::Ctx;
    /// // Picks a tenant by the name the client connected to.
    /// fn tenant(ctx: &Ctx) -> &str {
    ///     ctx.tls().and_then(|tls| tls.server_name()).unwrap_or("default")
    /// }
    /// # let _ = tenant;
    /// ```
    pub fn server_name(&self) -> Option<&str> {
        self.server_name.as_deref()
    }

    pub(crate) fn new(alpn: Option<Box<[u8]>>, server_name: Option<Box<str>>) -> Self {
        TlsInfo { alpn, server_name }
    }
}

#[cfg(test)]
#[path = "context_tests.rs"]
mod tests;

/// A connection's context as its task holds it: [`Ctx::close`]d when dropped, so a task that
/// ends any way (returned, a handler panicked, aborted at the shutdown deadline) cancels the
/// connection's token and leaves the shutdown's registry. The accept loop keeps one for the
/// context it made; the connection's loop one for the context its setup stages derived (another
/// allocation once a PROXY header or a TLS handshake derived it), the only one that registers,
/// since only a `Live` polls the shutdown: a handler may keep a clone of it for longer, and the
/// registry must not keep the finished task's waker, and with it the task, that long.
#[derive(Debug)]
pub(crate) struct Live(Ctx);

impl Live {
    /// Whether the server's shutdown has begun, for the connection's loop, which keeps
    /// `watch` and polls this on every turn with the same waker (see
    /// [`Shutdown::poll_watch`]).
    #[inline]
    pub(crate) fn poll_shutdown(&self, watch: &mut Watch, cx: &mut Context<'_>) -> Poll<()> {
        let inner = &*self.0.inner;
        inner.shutdown.poll_watch(&inner.watching, watch, cx)
    }
}

impl std::ops::Deref for Live {
    type Target = Ctx;

    fn deref(&self) -> &Ctx {
        &self.0
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        self.0.close();
    }
}
