//! Frames of a fixed size: every record is exactly N bytes.
//!
//! ```text
//! FixedSize::new(4)     [a b c d][e f g h][i j]   -> "abcd", "efgh", then at EOF:
//!                                                    UnexpectedEof { buffered: 2 }
//! ```
//!
//! # Knobs and defaults
//!
//! The record size is the only knob ([`FixedSize::new`]); it is also the maximum frame length. A
//! partial record at the end of the stream is [`FrameError::UnexpectedEof`]
//! with the bytes it had; the encoder refuses a payload of any other size.

use bytes::BytesMut;

use super::{Decision, Framing, InPlace};
use crate::FrameError;

/// Records of exactly `size` bytes. A partial record at end of stream is
/// [`FrameError::UnexpectedEof`], which says how many bytes it had.
///
/// ```
/// use framekit::framing::{Decision, Framing, fixed::FixedSize};
///
/// let mut records = FixedSize::new(16);
/// assert_eq!(records.decide(&[0; 20]).unwrap(), Decision::frame(16, 0..16));
/// assert_eq!(records.decide(&[0; 10]).unwrap(), Decision::incomplete(6));
/// assert!(records.decide_eof(&[0; 10]).unwrap_err().is_unexpected_eof());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FixedSize {
    size: usize,
}

impl FixedSize {
    /// Records of `size` bytes.
    ///
    /// # Panics
    /// If `size` is zero: a zero-byte record would make an endless stream of empty frames.
    ///
    /// ```
    /// let records = framekit::framing::fixed::FixedSize::new(16);
    /// ```
    pub fn new(size: usize) -> Self {
        assert!(size > 0, "a fixed-size record needs at least one byte");
        FixedSize { size }
    }

    /// The record size.
    ///
    /// ```
    /// assert_eq!(framekit::framing::fixed::FixedSize::new(16).size(), 16);
    /// ```
    pub fn size(&self) -> usize {
        self.size
    }
}

impl Framing for FixedSize {
    #[inline]
    fn decide(&mut self, buf: &[u8]) -> Result<Decision, FrameError> {
        if buf.len() >= self.size {
            Ok(Decision::frame(self.size, 0..self.size))
        } else {
            Ok(Decision::incomplete(self.size - buf.len()))
        }
    }

    #[inline]
    fn decide_frame(&mut self, buf: &[u8]) -> Option<InPlace> {
        (buf.len() >= self.size).then_some(InPlace {
            len: self.size,
            payload: 0..self.size,
        })
    }

    fn frame_limit(&self) -> usize {
        self.size
    }

    /// It reads no byte at all: only the buffer's length decides.
    fn reports_work(&self) -> bool {
        true
    }

    fn encode_head(&mut self, payload: &[u8], _dst: &mut BytesMut) -> Result<(), FrameError> {
        if payload.len() != self.size {
            return Err(FrameError::unencodable(
                payload.len(),
                format!("records are exactly {} bytes", self.size),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_records_and_reports_partial_tail() {
        let mut f = FixedSize::new(3);
        let mut frames = crate::framing::Frames::new(&mut f, b"abcdefgh");
        let got: Vec<&[u8]> = frames.by_ref().map(Result::unwrap).collect();
        assert_eq!(got, [&b"abc"[..], b"def"]);
        assert_eq!(frames.consumed(), 6);
        let err = f.decide_eof(b"gh").unwrap_err();
        assert_eq!(
            err.to_string(),
            "stream ended inside a frame with 2 bytes buffered"
        );
        assert_eq!(f.decide_eof(b"").unwrap(), None);
    }

    #[test]
    fn encoder_wants_exact_size() {
        let mut dst = BytesMut::new();
        assert!(FixedSize::new(2).encode(b"abc", &mut dst).is_err());
        assert!(FixedSize::new(2).encode(b"a", &mut dst).is_err());
        FixedSize::new(2).encode(b"ab", &mut dst).unwrap();
        assert_eq!(&dst[..], b"ab");
    }

    #[test]
    #[should_panic(expected = "at least one byte")]
    fn zero_size_is_refused() {
        let _ = FixedSize::new(0);
    }
}
