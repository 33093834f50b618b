//! What a handler knows about its connection: who the peer is, which connection this is, when
//! to stop, and how to run blocking work without stalling the event loop.
//!
//! A [`Ctx`] is cheap to clone (one `Arc`), so handlers may move it into the futures they
//! return or into tasks they spawn.

use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use crate::listener::Addr;

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
    peer: Addr,
    closing: CancellationToken,
    /// What the TLS handshake agreed on (boxed: plain connections carry one pointer).
    #[cfg(feature = "tls")]
    tls: Option<Box<crate::tls::TlsInfo>>,
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
                closing,
                #[cfg(feature = "tls")]
                tls: None,
            }),
        }
    }

    /// This context with what the TLS handshake agreed on; the setup stage calls it before
    /// the handler is started.
    #[cfg(feature = "tls")]
    pub(crate) fn with_tls(self, info: crate::tls::TlsInfo) -> Self {
        Ctx {
            inner: Arc::new(CtxInner {
                id: self.inner.id,
                peer: self.inner.peer.clone(),
                closing: self.inner.closing.clone(),
                tls: Some(Box::new(info)),
            }),
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

    /// The peer's address.
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
