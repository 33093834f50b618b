//! The names the client reports to the `metrics` facade, one constant per metric: the stable
//! contract with dashboards. Every metric carries the label `endpoint` (the
//! [`Endpoint`](crate::Endpoint) as it displays).
//!
//! ```
//! use framekit_client::metrics::names;
//! assert_eq!(names::REQUESTS, "framekit_client_requests_total");
//! ```

/// Counter: requests finished, answered or failed.
///
/// ```
/// assert_eq!(framekit_client::metrics::names::REQUESTS, "framekit_client_requests_total");
/// ```
pub const REQUESTS: &str = "framekit_client_requests_total";
/// Counter, label `kind` ([`Error::kind`](crate::Error::kind): `"connect"`, `"not_sent"`,
/// `"maybe_applied"`, `"timeout"`, `"decode"`, `"encode"`, `"closed"`): failed requests and
/// failed connects.
///
/// ```
/// assert_eq!(framekit_client::metrics::names::ERRORS, "framekit_client_errors_total");
/// ```
pub const ERRORS: &str = "framekit_client_errors_total";
/// Histogram, seconds: from a request's submission to its answer (answered requests only).
///
/// ```
/// assert_eq!(framekit_client::metrics::names::REQUEST_DURATION, "framekit_client_request_duration_seconds");
/// ```
pub const REQUEST_DURATION: &str = "framekit_client_request_duration_seconds";
/// Gauge: connections open now.
///
/// ```
/// assert_eq!(framekit_client::metrics::names::OPEN, "framekit_client_connections_open");
/// ```
pub const OPEN: &str = "framekit_client_connections_open";
/// Counter: connects that succeeded.
///
/// ```
/// assert_eq!(framekit_client::metrics::names::CONNECTS, "framekit_client_connects_total");
/// ```
pub const CONNECTS: &str = "framekit_client_connects_total";
/// Counter: connect attempts after a failed one (each retry of a backoff run).
///
/// ```
/// assert_eq!(framekit_client::metrics::names::RECONNECTS, "framekit_client_reconnects_total");
/// ```
pub const RECONNECTS: &str = "framekit_client_reconnects_total";
