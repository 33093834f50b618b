//! How the server names codec errors: a short, stable kind for counters, logs and close reasons.
//!
//! The server is generic over any `tokio_util` codec, so it only asks one thing of the codec's
//! error type: [`CodecError::kind_name`].

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
}

impl CodecError for framekit::FrameError {
    fn kind_name(&self) -> &'static str {
        framekit::FrameError::kind_name(self)
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
}

impl CodecError for tokio_util::codec::AnyDelimiterCodecError {
    fn kind_name(&self) -> &'static str {
        match self {
            tokio_util::codec::AnyDelimiterCodecError::MaxChunkLengthExceeded => "too_long",
            _ => "io",
        }
    }
}
