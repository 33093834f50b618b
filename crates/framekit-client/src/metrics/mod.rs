//! What a client reports to the [`metrics`](https://docs.rs/metrics) facade: requests, errors by
//! kind, a latency histogram, open connections, connects and reconnects, under the [`names`],
//! labelled by endpoint. The handles are resolved once per endpoint ([`ClientMetrics::new`]),
//! so a recorder must be installed before the client is built; without one each is a no-op.
//!
//! ```
//! use std::time::Duration;
//! use framekit_client::metrics::ClientMetrics;
//! use framekit_client::Error;
//!
//! let metrics = ClientMetrics::new("127.0.0.1:6379");
//! let open = metrics.opened(); // the gauge goes up, and down when `open` is dropped
//! metrics.answered(Duration::from_micros(80));
//! metrics.failed(&Error::Closed);
//! drop(open);
//! ```

use std::sync::Arc;
use std::time::Duration;

use crate::error::Error;

pub mod names;

/// Error kinds, in the order of their handles.
const KINDS: [&str; 7] = [
    "connect",
    "not_sent",
    "maybe_applied",
    "timeout",
    "decode",
    "encode",
    "closed",
];

/// The facade handles of one endpoint. Cheap to clone (one `Arc`).
#[derive(Clone)]
pub struct ClientMetrics {
    handles: Arc<Handles>,
}

struct Handles {
    requests: metrics::Counter,
    errors: [metrics::Counter; KINDS.len()],
    duration: metrics::Histogram,
    open: metrics::Gauge,
    connects: metrics::Counter,
    reconnects: metrics::Counter,
}

impl std::fmt::Debug for ClientMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ClientMetrics")
    }
}

impl ClientMetrics {
    /// Resolves the handles of `endpoint` in the recorder installed now.
    pub fn new(endpoint: &str) -> ClientMetrics {
        let label = endpoint.to_owned();
        let handles = Handles {
            requests: metrics::counter!(names::REQUESTS, "endpoint" => label.clone()),
            errors: KINDS.map(|kind| {
                metrics::counter!(names::ERRORS, "endpoint" => label.clone(), "kind" => kind)
            }),
            duration: metrics::histogram!(names::REQUEST_DURATION, "endpoint" => label.clone()),
            open: metrics::gauge!(names::OPEN, "endpoint" => label.clone()),
            connects: metrics::counter!(names::CONNECTS, "endpoint" => label.clone()),
            reconnects: metrics::counter!(names::RECONNECTS, "endpoint" => label),
        };
        ClientMetrics {
            handles: Arc::new(handles),
        }
    }

    /// A request got its answer after `latency`.
    pub fn answered(&self, latency: Duration) {
        self.handles.requests.increment(1);
        self.handles.duration.record(latency.as_secs_f64());
    }

    /// A request failed with `error`.
    pub fn failed(&self, error: &Error) {
        self.handles.requests.increment(1);
        self.count_error(error);
    }

    /// A connect attempt failed (not a request).
    pub fn connect_failed(&self) {
        self.handles.errors[0].increment(1);
    }

    /// A connect succeeded.
    pub fn connected(&self) {
        self.handles.connects.increment(1);
    }

    /// A connect is tried again after a failed one.
    pub fn retried(&self) {
        self.handles.reconnects.increment(1);
    }

    /// A connection opened: the gauge counts it until the guard is dropped.
    pub fn opened(&self) -> OpenConnection {
        self.handles.open.increment(1.0);
        OpenConnection {
            metrics: self.clone(),
        }
    }

    fn count_error(&self, error: &Error) {
        let kind = error.kind();
        if let Some(slot) = KINDS.iter().position(|k| *k == kind) {
            self.handles.errors[slot].increment(1);
        }
    }
}

/// One open connection in the [`OPEN`](names::OPEN) gauge, until dropped.
#[derive(Debug)]
pub struct OpenConnection {
    metrics: ClientMetrics,
}

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.metrics.handles.open.decrement(1.0);
    }
}
