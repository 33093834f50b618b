//! What a strategy does with a frame over its maximum: fail, or skip it and carry on.
//!
//! One policy for every strategy that can resynchronise after an over-long frame: delimiters
//! skip to the next delimiter, length prefixes skip by the declared length.

/// What to do with a frame longer than the maximum.
///
/// ```
/// use bytes::BytesMut;
/// use tokio_util::codec::Decoder;
/// use framekit::{FrameCodec, framing::delimited::{Delimited, Overlong}};
///
/// let lines = Delimited::newline().max_frame_len(4).on_overlong(Overlong::Discard);
/// let mut codec = FrameCodec::new(lines);
/// let mut buf = BytesMut::from(&b"far too long\nok\n"[..]);
/// assert!(codec.decode(&mut buf).unwrap_err().is_too_long()); // reported once...
/// assert_eq!(codec.decode(&mut buf).unwrap().unwrap(), "ok"); // ...and decoding goes on
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Overlong {
    /// Fail with [`FrameError::TooLong`](crate::FrameError::TooLong); the stream cannot
    /// continue (the default).
    #[default]
    Error,
    /// Drop the frame's bytes as they arrive (up to and including the next delimiter, or by the
    /// declared length of a length prefix), report it once, after its last byte, as
    /// [`FrameError::Skipped`](crate::FrameError::Skipped) (the codec keeps decoding after
    /// it), and go on with the next frame. Memory stays bounded while discarding.
    Discard,
    /// Like [`Discard`](Overlong::Discard), but report first (Netty's `failFast`): for a
    /// delimiter, on the call that brings byte `max + 1` with no delimiter, with a length of
    /// `max + 1` (what is known then), unless the bytes from `max + 1` on may still begin a
    /// delimiter that ends a frame of the maximum (the CR of a CRLF after a line of the
    /// maximum): then on the byte that decides, so the answer never depends on how the bytes
    /// arrived. For a length prefix, as soon as the header is read, with the declared length.
    /// The rest of the frame is then dropped silently. [`Overlong::Error`] reports at the same
    /// point.
    ///
    /// ```
    /// use bytes::BytesMut;
    /// use tokio_util::codec::Decoder;
    /// use framekit::{FrameCodec, FrameError, framing::delimited::{Delimited, Overlong}};
    ///
    /// let lines = Delimited::newline().max_frame_len(4).on_overlong(Overlong::DiscardFailFast);
    /// let mut codec = FrameCodec::new(lines);
    /// let mut buf = BytesMut::from(&b"far too"[..]); // no newline yet
    /// assert!(matches!(codec.decode(&mut buf), Err(FrameError::Skipped { len: 5, .. })));
    /// buf.extend_from_slice(b" long\nok\n");
    /// assert_eq!(codec.decode(&mut buf).unwrap().unwrap(), "ok");
    /// ```
    DiscardFailFast,
}
