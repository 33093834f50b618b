//! What every connection of one server shares: the limits, the counters, and the error reply
//! hook, which every failure that has an answer goes through.

use std::error::Error as StdError;
use std::sync::Arc;

use crate::config::ServerConfig;
use crate::context::Ctx;
use crate::error::{Failure, FailureOrigin};
use crate::metrics::Metrics;

/// The error reply hook: the response to send on a failure.
pub(crate) type ErrorHook<R> = Arc<dyn Fn(&Failure<'_>) -> Option<R> + Send + Sync>;

/// What every connection of one server shares.
pub(crate) struct Shared<R> {
    pub(crate) config: ServerConfig,
    /// The connection machine's settings, from `config`.
    pub(crate) settings: Arc<framekit::connection::Settings>,
    pub(crate) metrics: Arc<Metrics>,
    pub(crate) on_error: Option<ErrorHook<R>>,
    /// The TLS handshake stage, when the server serves TLS.
    #[cfg(feature = "tls")]
    pub(crate) tls: Option<crate::tls::TlsStage>,
}

impl<R> Shared<R> {
    pub(crate) fn new(config: ServerConfig, on_error: Option<ErrorHook<R>>) -> Self {
        Shared {
            settings: Arc::new(config.machine_settings()),
            config,
            metrics: Arc::new(Metrics::default()),
            on_error,
            #[cfg(feature = "tls")]
            tls: None,
        }
    }

    /// Counts a failure of `kind` under its `origin`'s counter and asks the hook for a reply.
    pub(crate) fn reject(
        &self,
        origin: FailureOrigin,
        kind: &'static str,
        error: &(dyn StdError + Send + Sync + 'static),
        recoverable: bool,
        ctx: &Ctx,
    ) -> Option<R> {
        self.metrics.failure(origin, kind);
        let hook = self.on_error.as_ref()?;
        hook(&Failure {
            origin,
            kind,
            error,
            recoverable,
            ctx,
        })
    }
}
