//! The names the server reports to the `metrics` facade, one constant per metric: the
//! stable contract with dashboards and alerts.
//!
//! ```
//! use framekit_server::metrics::names;
//! assert_eq!(names::REQUESTS, "framekit_requests_total");
//! ```

/// Counter: connections accepted and served.
///
/// ```
/// assert_eq!(framekit_server::metrics::names::ACCEPTED, "framekit_connections_accepted_total");
/// ```
pub const ACCEPTED: &str = "framekit_connections_accepted_total";
/// Counter, label `reason` ([`CloseReason::as_str`](super::CloseReason::as_str)):
/// connections closed.
///
/// ```
/// assert_eq!(framekit_server::metrics::names::CLOSED, "framekit_connections_closed_total");
/// ```
pub const CLOSED: &str = "framekit_connections_closed_total";
/// Gauge: connections open now.
///
/// ```
/// assert_eq!(framekit_server::metrics::names::OPEN, "framekit_connections_open");
/// ```
pub const OPEN: &str = "framekit_connections_open";
/// Counter: requests decoded.
///
/// ```
/// assert_eq!(framekit_server::metrics::names::REQUESTS, "framekit_requests_total");
/// ```
pub const REQUESTS: &str = "framekit_requests_total";
/// Gauge: requests whose handler is still working (answers that were not ready at once).
///
/// ```
/// assert_eq!(framekit_server::metrics::names::IN_FLIGHT, "framekit_requests_in_flight");
/// ```
pub const IN_FLIGHT: &str = "framekit_requests_in_flight";
/// Counter, label `kind` (`"too_long"`, `"malformed"`, `"input_budget"`, ...): inputs the
/// codec rejected ([`FailureOrigin::Decode`](crate::FailureOrigin::Decode)).
///
/// ```
/// assert_eq!(framekit_server::metrics::names::DECODE_ERRORS, "framekit_decode_errors_total");
/// ```
pub const DECODE_ERRORS: &str = "framekit_decode_errors_total";
/// Counter, label `kind` (the codec's [`kind_name`](crate::CodecError::kind_name), e.g.
/// `"unencodable"`): responses the codec could not encode
/// ([`FailureOrigin::Encode`](crate::FailureOrigin::Encode)).
///
/// ```
/// assert_eq!(framekit_server::metrics::names::ENCODE_ERRORS, "framekit_encode_errors_total");
/// ```
pub const ENCODE_ERRORS: &str = "framekit_encode_errors_total";
/// Counter, label `kind`: other failures: I/O while accepting, reading or writing
/// (`"accept"`, `"read"`, `"write"`), a handler's error (`"handler_error"`) and a handler
/// that did not answer in time (`"request_timeout"`).
///
/// ```
/// assert_eq!(framekit_server::metrics::names::ERRORS, "framekit_errors_total");
/// ```
pub const ERRORS: &str = "framekit_errors_total";
/// Counter: bytes read from peers.
///
/// ```
/// assert_eq!(framekit_server::metrics::names::BYTES_READ, "framekit_bytes_read_total");
/// ```
pub const BYTES_READ: &str = "framekit_bytes_read_total";
/// Counter: bytes written to peers.
///
/// ```
/// assert_eq!(framekit_server::metrics::names::BYTES_WRITTEN, "framekit_bytes_written_total");
/// ```
pub const BYTES_WRITTEN: &str = "framekit_bytes_written_total";
/// Counter, label `reason`: failed TLS handshakes (see `tls::HANDSHAKE_FAILURES`).
///
/// ```
/// assert_eq!(framekit_server::metrics::names::TLS_HANDSHAKE_FAILURES, "framekit_tls_handshake_failures_total");
/// ```
pub const TLS_HANDSHAKE_FAILURES: &str = "framekit_tls_handshake_failures_total";
/// Histogram, seconds: from the read that completed a request to its answer joining the
/// output queue. Requests answered in the turn that decoded them share one clock reading,
/// taken only when a recorder is installed (so no clock is read per request, and none at all
/// for this histogram without a recorder); a request whose handler answers later is timed
/// from its decoding.
///
/// ```
/// assert_eq!(framekit_server::metrics::names::REQUEST_DURATION, "framekit_request_duration_seconds");
/// ```
pub const REQUEST_DURATION: &str = "framekit_request_duration_seconds";
/// Histogram, bytes: the size of each decoded frame, as the codec consumed it.
///
/// ```
/// assert_eq!(framekit_server::metrics::names::FRAME_SIZE, "framekit_frame_size_bytes");
/// ```
pub const FRAME_SIZE: &str = "framekit_frame_size_bytes";
