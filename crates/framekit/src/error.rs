//! The one error type of framekit: what went wrong at a frame boundary, and where.
//!
//! Every variant carries the context a log line or a peer-facing reply needs (lengths, limits,
//! stream offsets), so callers match on values instead of parsing strings.

use std::borrow::Cow;
use std::error::Error as StdError;
use std::io;

/// A framing, payload or I/O error.
///
/// Offsets are byte positions in the decoded stream, counted from the first byte the decoder
/// ever saw (a strategy called directly reports offsets relative to the slice it was given).
///
/// ```
/// use framekit::FrameError;
///
/// let err = FrameError::TooLong { len: 70_000, max: 65_536, offset: 12, exact: false, reason: None };
/// assert_eq!(
///     err.to_string(),
///     "frame at byte 12 is at least 70000 bytes, over the maximum of 65536"
/// );
/// assert!(err.is_too_long());
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FrameError {
    /// A frame is longer than the configured maximum.
    ///
    /// `exact` is `true` when `len` is the length the frame declared (a length prefix), and
    /// `false` when it is only how far the decoder looked without finding the end (a delimiter).
    #[error(
        "frame at byte {offset} is {}{len} bytes, over the maximum of {max}{}",
        if *exact { "" } else { "at least " },
        Because(*reason)
    )]
    TooLong {
        /// The frame's length, or a lower bound of it when `exact` is false.
        len: u64,
        /// The configured maximum.
        max: usize,
        /// Where the frame starts in the stream.
        offset: u64,
        /// Whether `len` is exact.
        exact: bool,
        /// The protocol's reason for the limit, in its own words, for the answer to the peer
        /// (see [`too_long`](FrameError::too_long)); `None` for the built-in strategies.
        reason: Option<&'static str>,
    },
    /// An over-long frame is skipped whole, because the strategy is configured to discard such
    /// frames ([`Overlong`](crate::framing::Overlong)): up to the next delimiter, or by the
    /// length its prefix declares. Reported once, after the skip or (fail fast) as soon as it is
    /// known. The stream is still in sync: decoding can go on with the next frame.
    ///
    /// A strategy produces it through a [`SkipReport`](crate::framing::SkipReport) on a
    /// [`Decision::Discard`](crate::framing::Decision::Discard), with the protocol's reason if
    /// it has one ([`SkipReport::because`](crate::framing::SkipReport::because)).
    #[error("skipped an over-long frame of {len} bytes at byte {offset} (maximum {max}){}", Because(*reason))]
    Skipped {
        /// The skipped frame's length: as its prefix declared it (header included), or up to
        /// and including its delimiter (`max + 1` when a delimiter search fails fast).
        len: u64,
        /// The configured maximum.
        max: usize,
        /// Where the skipped frame started in the stream.
        offset: u64,
        /// The protocol's reason for the limit, in its own words; `None` for the built-in
        /// strategies.
        reason: Option<&'static str>,
    },
    /// The bytes do not follow the framing's rules (a bare LF under strict CRLF, a length field
    /// shorter than its own header, a parser rejection, ...).
    #[error("malformed frame at byte {offset}: {reason}")]
    Malformed {
        /// Where the offending byte or field is in the stream.
        offset: u64,
        /// What rule was broken.
        reason: Cow<'static, str>,
    },
    /// The stream ended inside a frame.
    #[error("stream ended inside a frame with {buffered} bytes buffered")]
    UnexpectedEof {
        /// How many bytes of the unfinished frame were buffered.
        buffered: usize,
    },
    /// A whole frame was cut out, but the payload codec rejected its contents (invalid UTF-8,
    /// bad JSON, ...). The frame was consumed, so the stream stays in sync.
    #[error("payload of frame at byte {offset} rejected: {source}")]
    Payload {
        /// Where the frame starts in the stream.
        offset: u64,
        /// The codec's own error.
        #[source]
        source: Box<dyn StdError + Send + Sync>,
    },
    /// A payload could not be encoded under this framing (too long for the length field, it
    /// contains the delimiter, wrong size for fixed records, ...).
    #[error("cannot encode a {len}-byte payload: {reason}")]
    Unencodable {
        /// The payload's length.
        len: usize,
        /// Why it cannot be framed.
        reason: Cow<'static, str>,
    },
    /// The framing strategy broke its contract with the caller (see
    /// [the decoding contract](crate::framing::Framing#the-decoding-contract)): a bug in the
    /// strategy, not in the peer's bytes. Reported at once instead of looping or panicking; the
    /// stream position is unknown afterwards.
    ///
    /// ```
    /// use framekit::{FrameError, error::StrategyFault};
    /// let err = FrameError::Strategy { offset: 7, fault: StrategyFault::EmptyDiscard };
    /// assert_eq!(
    ///     err.to_string(),
    ///     "framing strategy broke its contract at byte 7: it discarded zero bytes without \
    ///      reporting a skipped frame"
    /// );
    /// ```
    #[error("framing strategy broke its contract at byte {offset}: {fault}")]
    Strategy {
        /// The stream offset of the buffer's first byte when the strategy answered.
        offset: u64,
        /// Which rule it broke.
        fault: StrategyFault,
    },
    /// The underlying transport failed.
    #[error("I/O error: {0}")]
    Io(#[from] io::Error),
}

/// A rule of the [decoding contract](crate::framing::Framing#the-decoding-contract) that a
/// strategy's answer broke, carried by [`FrameError::Strategy`].
///
/// ```
/// use framekit::error::StrategyFault;
/// assert_eq!(
///     StrategyFault::RepeatedEmptyDiscard.to_string(),
///     "it discarded zero bytes twice in a row"
/// );
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StrategyFault {
    /// A [`Decision::Frame`](crate::framing::Decision::Frame) longer than the buffer, empty, or
    /// with its payload outside it.
    #[error("it answered a frame outside the buffer")]
    FrameOutsideBuffer,
    /// A [`Decision::Discard`](crate::framing::Decision::Discard) of more bytes than the buffer
    /// holds: a strategy never asks to drop bytes that have not arrived (it drops them as they
    /// do, piece by piece).
    #[error("it discarded more bytes than the buffer holds")]
    DiscardOutsideBuffer,
    /// A [`Decision::Discard`](crate::framing::Decision::Discard) of zero bytes that reports no
    /// skipped frame: it changes nothing the caller can see, so asking again would loop.
    #[error("it discarded zero bytes without reporting a skipped frame")]
    EmptyDiscard,
    /// A second zero-byte [`Decision::Discard`](crate::framing::Decision::Discard) with no frame
    /// or dropped byte since the first: it would report a skipped frame of no bytes, and a
    /// strategy that does this once does it for ever.
    #[error("it discarded zero bytes twice in a row")]
    RepeatedEmptyDiscard,
}

/// Prints a too-long error's reason after a colon, or nothing.
struct Because(Option<&'static str>);

impl std::fmt::Display for Because {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            Some(reason) => write!(f, ": {reason}"),
            None => Ok(()),
        }
    }
}

impl FrameError {
    /// A frame of exactly `len` bytes (as its header declared it) at `offset`, over the
    /// maximum `max`, refused for the protocol's `reason`: what a hand-written strategy
    /// returns when it cannot skip the frame and the connection must end. To skip the frame
    /// instead and carry on, discard it with a [`SkipReport`](crate::framing::SkipReport)
    /// [`because`](crate::framing::SkipReport::because) of the same reason.
    ///
    /// ```
    /// let e = framekit::FrameError::too_long(0, 2_000_000, 1 << 20, "object too large for cache");
    /// assert!(e.is_too_long());
    /// assert_eq!(e.reason(), Some("object too large for cache"));
    /// assert_eq!(
    ///     e.to_string(),
    ///     "frame at byte 0 is 2000000 bytes, over the maximum of 1048576: object too large for cache"
    /// );
    /// ```
    pub fn too_long(offset: usize, len: u64, max: usize, reason: &'static str) -> Self {
        FrameError::TooLong {
            len,
            max,
            offset: offset as u64,
            exact: true,
            reason: Some(reason),
        }
    }

    /// The protocol's reason for refusing an over-long frame ([`FrameError::TooLong`] or
    /// [`FrameError::Skipped`]), when the strategy gave one.
    ///
    /// ```
    /// use framekit::{FrameError, framing::SkipReport};
    /// let skipped = SkipReport::new(9, 0, 8).because("line too long").error(0);
    /// assert_eq!(skipped.reason(), Some("line too long"));
    /// assert_eq!(FrameError::malformed(0, "x").reason(), None);
    /// ```
    pub fn reason(&self) -> Option<&'static str> {
        match self {
            FrameError::TooLong { reason, .. } | FrameError::Skipped { reason, .. } => *reason,
            _ => None,
        }
    }

    /// A malformed-frame error at `offset`.
    ///
    /// ```
    /// let e = framekit::FrameError::malformed(3, "bad magic");
    /// assert_eq!(e.to_string(), "malformed frame at byte 3: bad magic");
    /// ```
    pub fn malformed(offset: usize, reason: impl Into<Cow<'static, str>>) -> Self {
        FrameError::Malformed {
            offset: offset as u64,
            reason: reason.into(),
        }
    }

    /// A payload-codec error for the frame at `offset`.
    ///
    /// ```
    /// let e = framekit::FrameError::payload(9, "not a number");
    /// assert_eq!(e.to_string(), "payload of frame at byte 9 rejected: not a number");
    /// ```
    pub fn payload(offset: u64, source: impl Into<Box<dyn StdError + Send + Sync>>) -> Self {
        FrameError::Payload {
            offset,
            source: source.into(),
        }
    }

    /// An encoding refusal for a payload of `len` bytes.
    ///
    /// ```
    /// let e = framekit::FrameError::unencodable(300, "over 255 bytes");
    /// assert_eq!(e.to_string(), "cannot encode a 300-byte payload: over 255 bytes");
    /// ```
    pub fn unencodable(len: usize, reason: impl Into<Cow<'static, str>>) -> Self {
        FrameError::Unencodable {
            len,
            reason: reason.into(),
        }
    }

    /// Whether a frame was over the maximum: [`FrameError::TooLong`], or
    /// [`FrameError::Skipped`] when the strategy discards such frames.
    ///
    /// ```
    /// let e = framekit::FrameError::too_long(0, 9, 8, "over 8 bytes");
    /// assert!(e.is_too_long() && !e.is_malformed());
    /// ```
    pub fn is_too_long(&self) -> bool {
        matches!(
            self,
            FrameError::TooLong { .. } | FrameError::Skipped { .. }
        )
    }

    /// Whether the stream is still in sync after this error, so decoding can go on: the
    /// offending frame was consumed whole ([`FrameError::Payload`], [`FrameError::Skipped`]).
    /// Every other decoding error leaves the stream position unknown; close the connection.
    ///
    /// ```
    /// use framekit::FrameError;
    /// assert!(FrameError::payload(0, "bad utf-8").is_recoverable());
    /// assert!(FrameError::Skipped { len: 70_000, max: 65_536, offset: 0, reason: None }.is_recoverable());
    /// assert!(!FrameError::malformed(0, "bare LF").is_recoverable());
    /// ```
    pub fn is_recoverable(&self) -> bool {
        matches!(
            self,
            FrameError::Payload { .. } | FrameError::Skipped { .. }
        )
    }

    /// Whether this is [`FrameError::Malformed`].
    ///
    /// ```
    /// assert!(framekit::FrameError::malformed(0, "x").is_malformed());
    /// ```
    pub fn is_malformed(&self) -> bool {
        matches!(self, FrameError::Malformed { .. })
    }

    /// Whether this is [`FrameError::UnexpectedEof`].
    ///
    /// ```
    /// assert!(framekit::FrameError::UnexpectedEof { buffered: 1 }.is_unexpected_eof());
    /// ```
    pub fn is_unexpected_eof(&self) -> bool {
        matches!(self, FrameError::UnexpectedEof { .. })
    }

    /// Whether this is [`FrameError::Io`].
    ///
    /// ```
    /// let e = framekit::FrameError::from(std::io::Error::other("reset"));
    /// assert!(e.is_io());
    /// ```
    pub fn is_io(&self) -> bool {
        matches!(self, FrameError::Io(_))
    }

    /// The stream offset the error points at, when it has one.
    ///
    /// ```
    /// assert_eq!(framekit::FrameError::malformed(7, "x").offset(), Some(7));
    /// assert_eq!(framekit::FrameError::UnexpectedEof { buffered: 1 }.offset(), None);
    /// ```
    pub fn offset(&self) -> Option<u64> {
        match self {
            FrameError::TooLong { offset, .. }
            | FrameError::Skipped { offset, .. }
            | FrameError::Malformed { offset, .. }
            | FrameError::Payload { offset, .. }
            | FrameError::Strategy { offset, .. } => Some(*offset),
            _ => None,
        }
    }

    /// A short, stable name for the kind of error, for metrics labels and close reasons.
    ///
    /// ```
    /// assert_eq!(framekit::FrameError::UnexpectedEof { buffered: 3 }.kind_name(), "unexpected_eof");
    /// ```
    pub fn kind_name(&self) -> &'static str {
        match self {
            FrameError::TooLong { .. } => "too_long",
            FrameError::Skipped { .. } => "skipped",
            FrameError::Malformed { .. } => "malformed",
            FrameError::UnexpectedEof { .. } => "unexpected_eof",
            FrameError::Payload { .. } => "payload",
            FrameError::Unencodable { .. } => "unencodable",
            FrameError::Strategy { .. } => "strategy",
            FrameError::Io(_) => "io",
        }
    }

    /// Moves a slice-relative offset to a stream offset by adding `base`.
    pub(crate) fn shifted(mut self, base: u64) -> Self {
        match &mut self {
            FrameError::TooLong { offset, .. }
            | FrameError::Skipped { offset, .. }
            | FrameError::Malformed { offset, .. }
            | FrameError::Payload { offset, .. }
            | FrameError::Strategy { offset, .. } => *offset += base,
            _ => {}
        }
        self
    }
}

/// The peer's bad bytes are [`InvalidData`](io::ErrorKind::InvalidData); a stream cut short is
/// [`UnexpectedEof`](io::ErrorKind::UnexpectedEof); a message this side asked to send that the
/// framing cannot carry ([`FrameError::Unencodable`]) is the caller's mistake,
/// [`InvalidInput`](io::ErrorKind::InvalidInput); a strategy that broke its contract
/// ([`FrameError::Strategy`]) is a bug on this side, [`Other`](io::ErrorKind::Other).
///
/// ```
/// use std::io;
/// use framekit::FrameError;
/// let err: io::Error = FrameError::unencodable(300, "over 255 bytes").into();
/// assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
/// let err: io::Error = FrameError::malformed(3, "bad byte").into();
/// assert_eq!(err.kind(), io::ErrorKind::InvalidData);
/// ```
impl From<FrameError> for io::Error {
    fn from(err: FrameError) -> Self {
        match err {
            FrameError::Io(e) => e,
            FrameError::UnexpectedEof { .. } => io::Error::new(io::ErrorKind::UnexpectedEof, err),
            FrameError::Unencodable { .. } => io::Error::new(io::ErrorKind::InvalidInput, err),
            FrameError::Strategy { .. } => io::Error::other(err),
            other => io::Error::new(io::ErrorKind::InvalidData, other),
        }
    }
}
