//! What a connection's driver and its handles share ([`Shared`]), and how a multiplexed
//! request carries its tag ([`Tagger`]): below both the driver and the handles, so neither
//! reaches into the other.

use std::sync::atomic::{AtomicBool, AtomicUsize};
use std::sync::Arc;

use crate::metrics::ClientMetrics;

/// Sets a request's tag, for a multiplexed protocol: the connection picks a tag no request in
/// flight has and calls this before encoding; the connection's [`Match`](framekit::connection::Match) reads it back from
/// the answer.
pub type Tagger<Req> = Arc<dyn Fn(&mut Req, u64) + Send + Sync>;

/// What the driver and the handles share.
pub(crate) struct Shared {
    pub(crate) endpoint: Arc<str>,
    pub(crate) metrics: ClientMetrics,
    /// False once the connection stopped taking requests (closing or closed).
    pub(crate) accepting: AtomicBool,
    /// Requests sent through a handle and not yet answered (the balancer's load).
    pub(crate) carried: AtomicUsize,
}
