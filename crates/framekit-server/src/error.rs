//! How the server names codec errors: a short, stable kind for counters, logs and close reasons.
//!
//! The server is generic over any `tokio_util` codec, so it only asks two things of the codec's
//! error type: [`CodecError::kind_name`], and whether the stream is still in sync after it
//! ([`CodecError::recoverable`]). The server's own input failure, [`InputBudgetExceeded`], is
//! here too.

use std::error::Error as StdError;
use std::io;

/// An error a codec's decoder or encoder may return, with a stable kind name for metrics.
///
/// Implemented for [`framekit::FrameError`] (its own `kind_name`), [`std::io::Error`] and the
/// codec errors of `tokio_util`. Implement it for your own codec's error type:
///
/// ```
/// use framekit_server::CodecError;
///
/// #[derive(Debug, thiserror::Error)]
/// #[error("bad command")]
/// struct BadCommand;
///
/// impl CodecError for BadCommand {
///     fn kind_name(&self) -> &'static str { "bad_command" }
/// }
/// assert_eq!(BadCommand.kind_name(), "bad_command");
/// ```
pub trait CodecError: StdError + Send + Sync + 'static {
    /// A short, stable name for the kind of error (`"too_long"`, `"malformed"`, ...).
    fn kind_name(&self) -> &'static str {
        "codec"
    }

    /// Whether the codec is still in sync with the stream after this error: the offending
    /// frame was consumed (or will be skipped by the codec itself), so decoding can go on with
    /// the next frame. The server then keeps the connection (see
    /// [`ServerConfig::recover_decode_errors`](crate::ServerConfig::recover_decode_errors)).
    ///
    /// The default is `false`: the stream position is unknown and the connection is closed.
    fn recoverable(&self) -> bool {
        false
    }
}

impl CodecError for framekit::FrameError {
    fn kind_name(&self) -> &'static str {
        framekit::FrameError::kind_name(self)
    }

    /// [`FrameError::is_recoverable`](framekit::FrameError::is_recoverable): a rejected
    /// payload (`Payload`) or a skipped over-long frame (`Skipped`).
    fn recoverable(&self) -> bool {
        self.is_recoverable()
    }
}

/// The input budget ran out while the codec still wanted more input: a frame (or a codec's
/// look-ahead) is larger than [`ServerConfig::input_budget`](crate::ServerConfig::input_budget)
/// allows. Its kind is `"input_budget"`; the error reply hook sees it (downcast
/// [`DecodeFailure::error`](crate::DecodeFailure::error) to it), then the connection closes.
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

impl CodecError for io::Error {
    fn kind_name(&self) -> &'static str {
        match self.kind() {
            io::ErrorKind::InvalidData => "invalid_data",
            io::ErrorKind::UnexpectedEof => "unexpected_eof",
            _ => "io",
        }
    }
}

impl CodecError for tokio_util::codec::LinesCodecError {
    fn kind_name(&self) -> &'static str {
        match self {
            tokio_util::codec::LinesCodecError::MaxLineLengthExceeded => "too_long",
            _ => "io",
        }
    }

    /// An over-long line is discarded by the codec up to its newline; the next line decodes.
    fn recoverable(&self) -> bool {
        matches!(
            self,
            tokio_util::codec::LinesCodecError::MaxLineLengthExceeded
        )
    }
}

impl CodecError for tokio_util::codec::AnyDelimiterCodecError {
    fn kind_name(&self) -> &'static str {
        match self {
            tokio_util::codec::AnyDelimiterCodecError::MaxChunkLengthExceeded => "too_long",
            _ => "io",
        }
    }

    /// An over-long chunk is discarded by the codec up to its delimiter; the next one decodes.
    fn recoverable(&self) -> bool {
        matches!(
            self,
            tokio_util::codec::AnyDelimiterCodecError::MaxChunkLengthExceeded
        )
    }
}
