//! The running server seen from outside: its address, its counters, and how it stops.
//!
//! [`ServerHandle::shutdown`] runs the graceful sequence: stop accepting, signal every
//! connection (their [`Ctx::closing`](crate::Ctx::closing) fires), let them answer what they
//! already read, flush and half-close, wait up to the deadline, then abort the rest and report.
//! [`shutdown_signal`] resolves on SIGINT or SIGTERM, to wire process signals to it.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::listener::Addr;
use crate::metrics::{Metrics, MetricsSnapshot};

/// What a graceful shutdown achieved.
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
/// let report = server.shutdown(Duration::from_secs(1)).await;
/// assert_eq!((report.closed, report.aborted), (0, 0));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ShutdownReport {
    /// Connections that were open when shutdown began and closed by themselves in time.
    pub closed: usize,
    /// Connections still open at the deadline, aborted.
    pub aborted: usize,
}

/// A running server: its address, its counters, and its shutdown.
///
/// Dropping the handle leaves the server running (detached) until the runtime stops.
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
/// println!("listening on {}", server.local_addr());
/// server.shutdown(Duration::from_secs(1)).await;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct ServerHandle {
    /// Every listener's address, in the acceptor's order; never empty.
    pub(crate) local_addrs: Vec<Addr>,
    pub(crate) metrics: Arc<Metrics>,
    pub(crate) stop: Option<oneshot::Sender<Duration>>,
    pub(crate) task: JoinHandle<ShutdownReport>,
}

impl ServerHandle {
    /// The address the server listens on (with the real port when bound to port 0); with
    /// several listeners ([`Acceptor::and`](crate::listener::Acceptor::and)), the first one's
    /// ([`local_addrs`](ServerHandle::local_addrs) has them all).
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
    /// assert!(server.local_addr().as_tcp().is_some());
    /// server.shutdown(Duration::from_secs(1)).await;
    /// # Ok(()) }
    /// ```
    pub fn local_addr(&self) -> &Addr {
        &self.local_addrs[0]
    }

    /// The address of every listener the server accepts on, in the order they were joined
    /// with [`Acceptor::and`](crate::listener::Acceptor::and) (one for a single listener).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// use std::time::Duration;
    /// use bytes::Bytes;
    /// use framekit::{FrameCodec, framing::delimited::Delimited};
    /// use framekit_server::{listener::Acceptor, Ctx, Server};
    /// use tokio::net::TcpListener;
    ///
    /// let v4 = TcpListener::bind("127.0.0.1:0").await?;
    /// let v4_addr = v4.local_addr()?;
    /// let other = TcpListener::bind("127.0.0.1:0").await?;
    /// let other_addr = other.local_addr()?;
    /// let server = Server::new(v4.and(other))
    ///     .serve(FrameCodec::new(Delimited::newline()), |req: Bytes, _ctx: Ctx| async move { Some(req) });
    /// let addrs: Vec<_> = server.local_addrs().iter().map(|a| a.as_tcp()).collect();
    /// assert_eq!(addrs, [Some(v4_addr), Some(other_addr)]);
    /// assert_eq!(server.local_addr().as_tcp(), Some(v4_addr));
    /// server.shutdown(Duration::from_secs(1)).await;
    /// # Ok(()) }
    /// ```
    pub fn local_addrs(&self) -> &[Addr] {
        &self.local_addrs
    }

    /// A copy of the live counters.
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
    /// assert_eq!(server.metrics().accepted, 0);
    /// server.shutdown(Duration::from_secs(1)).await;
    /// # Ok(()) }
    /// ```
    pub fn metrics(&self) -> MetricsSnapshot {
        self.metrics.snapshot()
    }

    /// The live counters themselves, to read later or from elsewhere.
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
    /// let live = server.metrics_source();
    /// assert_eq!(live.active(), 0);
    /// server.shutdown(Duration::from_secs(1)).await;
    /// # Ok(()) }
    /// ```
    pub fn metrics_source(&self) -> Arc<Metrics> {
        self.metrics.clone()
    }

    /// Stops the server gracefully, aborting connections still open after `deadline`.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// use std::time::Duration;
    /// use bytes::Bytes;
    /// use framekit::{FrameCodec, framing::delimited::Delimited};
    /// use framekit_server::{Ctx, Server};
    ///
    /// let server = Server::bind("127.0.0.1:0").await?
    ///     .serve(FrameCodec::new(Delimited::newline()), |req: Bytes, _ctx: Ctx| async move { Some(req) });
    /// let report = server.shutdown(Duration::from_secs(1)).await;
    /// assert_eq!(report.aborted, 0);
    /// # Ok(()) }
    /// ```
    pub async fn shutdown(mut self, deadline: Duration) -> ShutdownReport {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(deadline);
        }
        match (&mut self.task).await {
            Ok(report) => report,
            Err(e) => {
                tracing::error!(error = %e, "server task failed");
                ShutdownReport::default()
            }
        }
    }

    /// Waits for SIGINT or SIGTERM (Ctrl-C elsewhere), then shuts down with `deadline`.
    ///
    /// The signal handlers are installed when this is called, before the returned future is
    /// first polled (see [`shutdown_signal`]).
    ///
    /// ```no_run
    /// # #[tokio::main]
    /// # async fn main() -> std::io::Result<()> {
    /// use std::time::Duration;
    /// use bytes::Bytes;
    /// use framekit::{FrameCodec, framing::delimited::Delimited};
    /// use framekit_server::{Ctx, Server};
    ///
    /// let server = Server::bind("127.0.0.1:7000").await?
    ///     .serve(FrameCodec::new(Delimited::newline()), |req: Bytes, _ctx: Ctx| async move { Some(req) });
    /// let stopping = server.shutdown_on_signal(Duration::from_secs(30)); // handlers installed now
    /// println!("ready");
    /// stopping.await;
    /// # Ok(()) }
    /// ```
    pub fn shutdown_on_signal(
        self,
        deadline: Duration,
    ) -> impl Future<Output = ShutdownReport> + Send + 'static {
        self.shutdown_on(shutdown_signal(), deadline)
    }

    /// Waits for `signal`, then shuts down with `deadline`.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// use std::time::Duration;
    /// use bytes::Bytes;
    /// use framekit::{FrameCodec, framing::delimited::Delimited};
    /// use framekit_server::{shutdown_signal, Ctx, Server};
    ///
    /// // Install the handlers first, then tell the world the server is ready: a SIGTERM sent
    /// // right after the announcement is never missed.
    /// let stop = shutdown_signal();
    /// let server = Server::bind("127.0.0.1:0").await?
    ///     .serve(FrameCodec::new(Delimited::newline()), |req: Bytes, _ctx: Ctx| async move { Some(req) });
    /// println!("listening on {}", server.local_addr());
    /// # let stop = async {}; // the doctest does not wait for a signal
    /// let report = server.shutdown_on(stop, Duration::from_secs(1)).await;
    /// assert_eq!(report.aborted, 0);
    /// # Ok(()) }
    /// ```
    pub async fn shutdown_on(
        self,
        signal: impl Future<Output = ()>,
        deadline: Duration,
    ) -> ShutdownReport {
        signal.await;
        tracing::info!("shutdown signal received, shutting down");
        self.shutdown(deadline).await
    }
}

/// Resolves when the process receives SIGINT or SIGTERM (on non-Unix systems, Ctrl-C).
///
/// The handlers are installed when this function is called, not when the future is first
/// polled: call it before announcing that the server is ready, so a signal sent right after the
/// announcement is not missed (it would otherwise kill the process with the default action).
/// Must be called within a tokio runtime.
///
/// ```no_run
/// # #[tokio::main]
/// # async fn main() {
/// let stop = framekit_server::shutdown_signal(); // handlers installed here
/// println!("ready");
/// stop.await;
/// println!("stopping");
/// # }
/// ```
pub fn shutdown_signal() -> impl Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let term = signal(SignalKind::terminate());
        let int = signal(SignalKind::interrupt());
        async move {
            match (term, int) {
                (Ok(mut term), Ok(mut int)) => {
                    tokio::select! {
                        _ = term.recv() => {}
                        _ = int.recv() => {}
                    }
                }
                (Err(e), Ok(mut int)) => {
                    tracing::warn!(error = %e, "cannot listen for SIGTERM; waiting for SIGINT only");
                    int.recv().await;
                }
                (Ok(mut term), Err(e)) => {
                    tracing::warn!(error = %e, "cannot listen for SIGINT; waiting for SIGTERM only");
                    term.recv().await;
                }
                (Err(e), Err(_)) => {
                    tracing::warn!(error = %e, "cannot listen for signals; waiting for Ctrl-C");
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
        }
    }
    #[cfg(not(unix))]
    {
        async {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
