//! How the server names codec errors: a short, stable kind for counters, logs and close reasons.
//!
//! The server is generic over any `tokio_util` codec, so it only asks two things of the codec's
//! error type: [`CodecError::kind_name`], and whether the stream is still in sync after it
//! ([`CodecError::recoverable`]). What the error reply hook is told ([`Failure`], with its
//! [`FailureOrigin`]) and the server's own failures ([`InputBudgetExceeded`], [`RequestTimeout`])
//! are here too.

use std::error::Error as StdError;
use std::time::Duration;

use crate::context::Ctx;

pub use framekit::connection::CodecError;

/// The input budget ran out while the codec still wanted more input: a frame (or a codec's
/// look-ahead) is larger than [`ServerConfig::input_budget`](crate::ServerConfig::input_budget)
/// allows. Its kind is `"input_budget"`; the error reply hook sees it (downcast
/// [`Failure::error`](crate::Failure::error) to it), then the connection closes.
///
/// ```
/// use framekit_server::{CodecError, error::InputBudgetExceeded};
///
/// let e = InputBudgetExceeded { budget: 1024, buffered: 1024 };
/// assert_eq!(e.kind_name(), "input_budget");
/// assert!(!e.recoverable());
/// assert_eq!(
///     e.to_string(),
///     "1024 bytes buffered without a whole frame, the input budget is 1024 bytes"
/// );
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{buffered} bytes buffered without a whole frame, the input budget is {budget} bytes")]
pub struct InputBudgetExceeded {
    /// The configured per-connection input budget.
    pub budget: usize,
    /// How many undecoded bytes were buffered.
    pub buffered: usize,
}

impl CodecError for InputBudgetExceeded {
    fn kind_name(&self) -> &'static str {
        "input_budget"
    }
}

/// A request/response handler did not answer within
/// [`ServerConfig::request_timeout`](crate::ServerConfig::request_timeout): its future was
/// dropped. Its kind is `"request_timeout"`; the error reply hook sees it (downcast
/// [`Failure::error`] to it) and answers in the request's place.
///
/// ```
/// use std::time::Duration;
/// use framekit_server::{CodecError, error::RequestTimeout};
///
/// let e = RequestTimeout { after: Duration::from_secs(2) };
/// assert_eq!(e.kind_name(), "request_timeout");
/// assert_eq!(e.to_string(), "no answer within 2s");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("no answer within {after:?}")]
pub struct RequestTimeout {
    /// The configured request deadline.
    pub after: Duration,
}

impl CodecError for RequestTimeout {
    fn kind_name(&self) -> &'static str {
        "request_timeout"
    }

    /// The connection goes on after the answer, unless configured to close.
    fn recoverable(&self) -> bool {
        true
    }
}

/// Where a request failed: the codec refused its bytes, its response could not be encoded, its
/// handler returned an error, or its handler did not answer in time. The origin decides the
/// counter a failure is reported under (see [`metrics::names`](crate::metrics::names)).
///
/// ```
/// use framekit_server::FailureOrigin;
///
/// assert_eq!(FailureOrigin::Encode.as_str(), "encode");
/// assert_ne!(FailureOrigin::Decode, FailureOrigin::Handler);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FailureOrigin {
    /// The codec rejected the input, or the input budget ran out while it wanted more
    /// ([`InputBudgetExceeded`]). Counted as `framekit_decode_errors_total{kind}`.
    Decode,
    /// The codec could not encode a response; the reply takes its place. Counted as
    /// `framekit_encode_errors_total{kind}`.
    Encode,
    /// The handler answered with an error ([`Reply::Failed`](crate::Reply::Failed), a tower
    /// service's `Err`). Counted as `framekit_errors_total{kind="handler_error"}`.
    Handler,
    /// The handler did not answer within the request timeout ([`RequestTimeout`]). Counted as
    /// `framekit_errors_total{kind="request_timeout"}`.
    RequestTimeout,
}

impl FailureOrigin {
    /// A short, stable name (`"decode"`, `"encode"`, `"handler"`, `"request_timeout"`), for
    /// logs.
    ///
    /// ```
    /// use framekit_server::FailureOrigin;
    /// assert_eq!(FailureOrigin::RequestTimeout.as_str(), "request_timeout");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            FailureOrigin::Decode => "decode",
            FailureOrigin::Encode => "encode",
            FailureOrigin::Handler => "handler",
            FailureOrigin::RequestTimeout => "request_timeout",
        }
    }
}

/// Any error a handler may fail with ([`Answer::Failed`](crate::Answer::Failed),
/// [`Reply::Failed`](crate::Reply::Failed)).
///
/// ```
/// use framekit_server::{BoxError, Reply};
/// let error: BoxError = "backend unavailable".into();
/// let _reply: Reply<&str> = Reply::Failed(error);
/// ```
pub type BoxError = Box<dyn StdError + Send + Sync + 'static>;

/// A failure's error behind a reference, with its kind name: what the error reply hook is
/// told.
pub(crate) trait CodecErrorDyn {
    fn kind(&self) -> &'static str;
    fn as_error(&self) -> &(dyn StdError + Send + Sync + 'static);
}

impl<E: CodecError> CodecErrorDyn for E {
    fn kind(&self) -> &'static str {
        self.kind_name()
    }
    fn as_error(&self) -> &(dyn StdError + Send + Sync + 'static) {
        self
    }
}

/// A handler's error ([`FailureOrigin::Handler`]), named `"handler_error"`: its type is the
/// user's, so it has no [`CodecError::kind_name`] of its own.
pub(crate) struct HandlerFailure<'a>(pub(crate) &'a BoxError);

impl CodecErrorDyn for HandlerFailure<'_> {
    fn kind(&self) -> &'static str {
        "handler_error"
    }
    fn as_error(&self) -> &(dyn StdError + Send + Sync + 'static) {
        &**self.0
    }
}

/// A request that failed, as the error reply hook
/// ([`Server::on_failure`](crate::Server::on_failure)) is told about it: where it failed
/// ([`origin`](Failure::origin)), the error and its kind name.
///
/// When [`recoverable`](Failure::recoverable) is true the connection carries on after the
/// reply (see [`ServerConfig::recover_decode_errors`](crate::ServerConfig::recover_decode_errors));
/// otherwise the reply is the connection's last response.
///
/// ```
/// use bytes::Bytes;
/// use framekit::FrameError;
/// use framekit_server::{Failure, FailureOrigin};
///
/// // A hook that names the offset of malformed input, when the codec is a framekit one.
/// fn reply(failure: &Failure<'_>) -> Option<Bytes> {
///     if failure.origin == FailureOrigin::RequestTimeout {
///         return Some(Bytes::from_static(b"-ERR timeout"));
///     }
///     let at = failure.error.downcast_ref::<FrameError>().and_then(|e| e.offset());
///     Some(Bytes::from(format!("-ERR {} at {:?}", failure.kind, at)))
/// }
/// # let _ = reply;
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub struct Failure<'a> {
    /// Where the request failed.
    pub origin: FailureOrigin,
    /// The error's kind name ([`CodecError::kind_name`]; `"handler_error"` for a handler's
    /// error): `"too_long"`, `"malformed"`, `"request_timeout"`, ...
    pub kind: &'static str,
    /// The error; downcast it (to [`framekit::FrameError`], [`InputBudgetExceeded`],
    /// [`RequestTimeout`], or the handler's own error type) for details.
    pub error: &'a (dyn StdError + Send + Sync + 'static),
    /// Whether the connection goes on after this failure (the reply is then sent in request
    /// order, and later requests are handled as usual).
    pub recoverable: bool,
    /// The connection.
    pub ctx: &'a Ctx,
}

impl Failure<'_> {
    /// Whether the input budget ran out ([`InputBudgetExceeded`]), rather than the codec
    /// rejecting the input.
    ///
    /// ```
    /// use framekit_server::Failure;
    ///
    /// // In an error reply hook: a budget overrun gets its own answer.
    /// fn reply(failure: &Failure<'_>) -> Option<&'static str> {
    ///     Some(if failure.is_input_budget() { "-ERR request too large" } else { "-ERR protocol error" })
    /// }
    /// # let _ = reply;
    /// ```
    pub fn is_input_budget(&self) -> bool {
        self.error.is::<InputBudgetExceeded>()
    }
}
