//! What can go wrong, typed so a caller can decide whether to send a request again: every
//! request failure says whether the request may have been applied ([`Delivery`]), where it was
//! going, and why; connect failures say at which stage and after how many attempts.

use std::fmt;
use std::io;
use std::sync::Arc;
use std::time::Duration;

pub use framekit::connection::Delivery;

/// Whether a failed request may have reached the server (the machine's own [`Delivery`]), as
/// error messages say it.
fn delivered(delivery: &Delivery) -> &'static str {
    match delivery {
        Delivery::NotSent => "was not sent",
        Delivery::MaybeApplied => "may have been applied",
    }
}

/// Why the connection that carried a request ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cause {
    /// Reading or writing failed (a reset shows as `ConnectionReset`).
    Io(io::ErrorKind),
    /// The server closed the connection before answering (EOF, possibly mid-answer).
    PeerClosed,
    /// An answer could not be decoded and the stream could not go on; the codec's error kind.
    Decode(&'static str),
    /// The connection ended for another reason; the machine's close reason names it
    /// (`"idle_timeout"`, `"write_timeout"`, `"input_budget"`, `"unsolicited"`, `"shutdown"`, ...).
    Ended(&'static str),
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cause::Io(kind) => write!(f, "I/O error: {kind}"),
            Cause::PeerClosed => f.write_str("the server closed the connection"),
            Cause::Decode(kind) => write!(f, "an answer could not be decoded: {kind}"),
            Cause::Ended(reason) => write!(f, "the connection ended: {reason}"),
        }
    }
}

/// The step of a connect that failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectStage {
    /// Resolving `host:port`.
    Resolve,
    /// The TCP connect.
    Tcp,
    /// The Unix socket connect.
    Unix,
    /// The TLS handshake.
    Tls,
}

/// How a connect step failed.
#[derive(Debug, thiserror::Error)]
pub enum ConnectFailure {
    /// The step failed.
    #[error("{0}")]
    Io(#[source] io::Error),
    /// The whole connect took longer than the connect timeout.
    #[error("timed out after {0:?}")]
    TimedOut(Duration),
}

/// A connect that failed: where to, at which stage, after how many attempts.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// use framekit_client::{ConnectStage, Connector, Endpoint, Reconnect};
///
/// let error = Connector::new(Endpoint::unix("/nonexistent/socket"))
///     .connect_with(&Reconnect::Never)
///     .await
///     .unwrap_err();
/// assert_eq!((error.stage, error.attempts), (ConnectStage::Unix, 1));
/// assert!(error.to_string().starts_with("connect to unix:/nonexistent/socket failed at Unix"));
/// # }
/// ```
#[derive(Debug, thiserror::Error)]
#[error("connect to {endpoint} failed at {stage:?} (attempt {attempts}): {failure}")]
pub struct ConnectError {
    /// The endpoint, as it displays.
    pub endpoint: Arc<str>,
    /// The step that failed.
    pub stage: ConnectStage,
    /// Attempts made, this one included.
    pub attempts: u32,
    /// What happened.
    #[source]
    pub failure: ConnectFailure,
}

/// A request that got no answer, or an answer that could not be read.
///
/// ```
/// use std::time::Duration;
/// use framekit_client::{Cause, Delivery, Error};
///
/// let reset = Error::Failed {
///     endpoint: "127.0.0.1:6379".into(),
///     delivery: Delivery::MaybeApplied,
///     cause: Cause::Io(std::io::ErrorKind::ConnectionReset),
/// };
/// assert!(reset.may_have_been_applied());
/// assert_eq!(reset.kind(), "maybe_applied");
/// let late = Error::Timeout {
///     endpoint: "127.0.0.1:6379".into(),
///     after: Duration::from_millis(50),
///     delivery: Delivery::NotSent,
/// };
/// assert!(!late.may_have_been_applied());
/// assert_eq!(late.kind(), "timeout");
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No connection could be made; the request was not sent.
    #[error(transparent)]
    Connect(#[from] ConnectError),
    /// The connection carrying the request ended before its answer.
    #[error("request to {endpoint} {}: {cause}", delivered(delivery))]
    Failed {
        /// Where the request was going.
        endpoint: Arc<str>,
        /// Whether it may have been applied.
        delivery: Delivery,
        /// Why the connection ended.
        cause: Cause,
    },
    /// The request's deadline passed; its answer, if it comes, is dropped.
    #[error(
        "no answer from {endpoint} within {after:?} (the request {})",
        delivered(delivery)
    )]
    Timeout {
        /// Where the request was going.
        endpoint: Arc<str>,
        /// The deadline it had.
        after: Duration,
        /// Whether it may have been applied.
        delivery: Delivery,
    },
    /// The answer could not be decoded; the request was sent (and may have been applied).
    #[error("the answer from {endpoint} could not be decoded: {kind}")]
    Decode {
        /// Where the request went.
        endpoint: Arc<str>,
        /// The codec's error kind name.
        kind: &'static str,
    },
    /// The codec could not encode the request; nothing was sent.
    #[error("the request could not be encoded: {0}")]
    Encode(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The client (or its connection) is closed and takes no requests.
    #[error("the client is closed")]
    Closed,
}

impl Error {
    /// Whether the server may have applied the request: `false` means sending it again
    /// cannot apply it twice.
    pub fn may_have_been_applied(&self) -> bool {
        match self {
            Error::Connect(_) | Error::Encode(_) | Error::Closed => false,
            Error::Failed { delivery, .. } | Error::Timeout { delivery, .. } => {
                *delivery == Delivery::MaybeApplied
            }
            Error::Decode { .. } => true,
        }
    }

    /// A short stable name, for the `kind` label of
    /// [`ERRORS`](crate::metrics::names::ERRORS).
    pub fn kind(&self) -> &'static str {
        match self {
            Error::Connect(_) => "connect",
            Error::Failed {
                delivery: Delivery::NotSent,
                ..
            } => "not_sent",
            Error::Failed {
                delivery: Delivery::MaybeApplied,
                ..
            } => "maybe_applied",
            Error::Timeout { .. } => "timeout",
            Error::Decode { .. } => "decode",
            Error::Encode(_) => "encode",
            Error::Closed => "closed",
        }
    }
}
