//! The running server seen from outside: its address, its counters, and how it stops.
//!
//! [`ServerHandle::shutdown`] runs the graceful sequence: stop accepting, signal every
//! connection (their [`Ctx::closing`](crate::Ctx::closing) fires), let them answer what they
//! already read, flush and half-close, wait up to the deadline, then abort the rest and report.
//! [`shutdown_signal`] resolves on SIGINT or SIGTERM, to wire process signals to it.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::listener::Addr;
use crate::metrics::{Metrics, MetricsSnapshot};

/// What a graceful shutdown achieved.
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
#[derive(Debug)]
pub struct ServerHandle {
    pub(crate) local_addr: Addr,
    pub(crate) metrics: Arc<Metrics>,
    pub(crate) stop: Option<oneshot::Sender<Duration>>,
    pub(crate) task: JoinHandle<ShutdownReport>,
}

impl ServerHandle {
    /// The address the server listens on (with the real port when bound to port 0).
    pub fn local_addr(&self) -> &Addr {
        &self.local_addr
    }

    /// A copy of the live counters.
    pub fn metrics(&self) -> MetricsSnapshot {
        self.metrics.snapshot()
    }

    /// The live counters themselves, to read later or from elsewhere.
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
    pub async fn shutdown_on_signal(self, deadline: Duration) -> ShutdownReport {
        shutdown_signal().await;
        tracing::info!("signal received, shutting down");
        self.shutdown(deadline).await
    }
}

/// Resolves when the process receives SIGINT or SIGTERM (on non-Unix systems, Ctrl-C).
///
/// ```no_run
/// # #[tokio::main]
/// # async fn main() {
/// framekit_server::shutdown_signal().await;
/// println!("stopping");
/// # }
/// ```
pub async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM; waiting for SIGINT only");
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
