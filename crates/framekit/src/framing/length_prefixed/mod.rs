//! Frames announced by a length field: 1, 2, 3, 4 or 8 bytes in either byte order, or an
//! unsigned LEB128 varint, optionally after a fixed header and with a length adjustment.
//!
//! Each layout, with the builder calls that produce it (`LL` is the length field):
//!
//! ```text
//! u32_be()                        [00 00 00 05] h e l l o          -> "hello"
//! u16_le()                        [05 00] h e l l o                -> "hello"
//! varint()                        [05] h e l l o                   -> "hello"
//!                                 [ac 02] <300 bytes>              -> 300-byte payload
//! builder().length_field(3, Big)  [00 00 05] h e l l o             -> "hello"
//!
//! header_offset(2): two bytes (a type, a version, ...) before the length field
//!                                 [T V][00 05] h e l l o           -> "hello"
//!     .keep_header(true)                                           -> [T V 00 05] "hello"
//!
//! length_includes_header(true): the field counts the header too
//!                                 [00 07] h e l l o   (7 = 2 + 5)  -> "hello"
//!
//! length_adjustment(-2): the field counts 2 trailing bytes the body does not have,
//! or any fixed difference between the field and the bytes that follow it
//!                                 [00 07] h e l l o   (7 - 2 = 5)  -> "hello"
//! ```
//!
//! The body length is checked against the maximum as soon as the field is read, before any of
//! the body is buffered; all arithmetic is checked, so a hostile field is an error, never a wrap.
//!
//! An over-long frame is an error by default. With
//! [`on_overlong`](LengthPrefixedBuilder::on_overlong) it is skipped by its declared length
//! instead, so the stream resynchronises at the next header (Netty's discarding mode), and
//! reported once as [`FrameError::Skipped`]: as soon as its header is read
//! ([`Overlong::DiscardFailFast`]) or once its last byte has been dropped
//! ([`Overlong::Discard`]). Its bytes are dropped as they arrive, never buffered:
//!
//! ```text
//! u16_be().max_frame_len(3), on_overlong(Discard)
//!                                 [00 05] h e l l o [00 02] o k
//!                                     -> Skipped { len: 7, offset: 0 }, then "ok"
//! ```
//!
//! # Knobs and defaults
//!
//! Shortcuts ([`u8`](LengthPrefixed::u8), [`u16_be`](LengthPrefixed::u16_be),
//! [`u24_be`](LengthPrefixed::u24_be), [`u32_be`](LengthPrefixed::u32_be),
//! [`u64_be`](LengthPrefixed::u64_be), the `_le` ones, [`varint`](LengthPrefixed::varint)) cover
//! the plain layouts; [`builder`](LengthPrefixed::builder) the others, validated at
//! [`build`](LengthPrefixedBuilder::build):
//!
//! | knob | default | what it does |
//! |---|---|---|
//! | [`length_field`](LengthPrefixedBuilder::length_field), [`varint`](LengthPrefixedBuilder::varint) | 4 bytes, big endian | the field: 1, 2, 3, 4 or 8 bytes in either order, or LEB128 |
//! | [`header_offset`](LengthPrefixedBuilder::header_offset) | 0 | bytes before the field |
//! | [`length_adjustment`](LengthPrefixedBuilder::length_adjustment) | 0 | added to the field's value to get the body length |
//! | [`length_includes_header`](LengthPrefixedBuilder::length_includes_header) | off | the field counts the header too |
//! | [`keep_header`](LengthPrefixedBuilder::keep_header), [`strip`](LengthPrefixedBuilder::strip) | header stripped | keep the header in the payload, or strip exactly n header bytes (tokio-util's `num_skip`) |
//! | [`max_frame_len`](LengthPrefixedBuilder::max_frame_len) | [`DEFAULT_MAX_FRAME_LEN`] (8 MiB) | the largest body, checked as soon as the field is read; [`frame_limit`](crate::framing::Framing::frame_limit) is what the field can carry when that is less |
//! | [`on_overlong`](LengthPrefixedBuilder::on_overlong) | [`Overlong::Error`] | skip an over-long frame by its declared length instead (Netty's discarding mode), reported once |
//! | [`encode_prefix`](LengthPrefixedBuilder::encode_prefix) | zeros | the header bytes before the field when encoding |

use bytes::BytesMut;

use super::{Decision, Framing, InPlace};
use crate::FrameError;

mod builder;
mod field;
mod skip;
#[cfg(test)]
mod tests;

pub use super::overlong::Overlong;
pub use builder::LengthPrefixedBuilder;
use skip::Skip;

/// Default maximum body length of a length-prefixed frame: 8 MiB.
///
/// ```
/// use framekit::framing::{Framing, length_prefixed::{LengthPrefixed, DEFAULT_MAX_FRAME_LEN}};
/// assert_eq!(LengthPrefixed::u32_be().frame_limit(), DEFAULT_MAX_FRAME_LEN);
/// ```
pub const DEFAULT_MAX_FRAME_LEN: usize = 8 * 1024 * 1024;

/// Longest header offset accepted by the builder (bytes before the length field).
///
/// ```
/// use framekit::framing::length_prefixed::{LengthPrefixed, MAX_HEADER_OFFSET};
/// assert!(LengthPrefixed::builder().header_offset(MAX_HEADER_OFFSET + 1).build().is_err());
/// ```
pub const MAX_HEADER_OFFSET: usize = 64 * 1024;

/// Longest varint accepted: ten 7-bit groups hold a `u64`.
const MAX_VARINT_LEN: usize = 10;

/// Byte order of a fixed-width length field.
///
/// ```
/// use framekit::framing::length_prefixed::{Endian, LengthPrefixed};
/// let lp = LengthPrefixed::builder().length_field(2, Endian::Little).build().unwrap();
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endian {
    /// Most significant byte first (network order).
    Big,
    /// Least significant byte first.
    Little,
}

/// How the length is written.
///
/// ```
/// use framekit::framing::length_prefixed::{Endian, LengthField, LengthPrefixed};
/// assert_eq!(LengthPrefixed::u16_le().length_field(), LengthField::Fixed { width: 2, endian: Endian::Little });
/// assert_eq!(LengthPrefixed::varint().length_field(), LengthField::Varint);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LengthField {
    /// `width` bytes (1, 2, 3, 4 or 8) in `endian` order.
    Fixed {
        /// Bytes in the field.
        width: u8,
        /// Byte order.
        endian: Endian,
    },
    /// Unsigned LEB128: 7 bits per byte, low group first, high bit set on all but the last.
    Varint,
}

/// A length-prefixed layout that cannot work, reported when it is built.
///
/// ```
/// use framekit::framing::length_prefixed::LengthPrefixed;
/// let err = LengthPrefixed::builder().header_offset(1).encode_prefix(b"ab").build().unwrap_err();
/// assert_eq!(err.to_string(), "invalid length-prefixed layout: encode prefix must be exactly header_offset bytes");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid length-prefixed layout: {0}")]
pub struct InvalidLayout(&'static str);

/// Frames whose length is announced by a field. See the [module docs](self) for the layouts.
///
/// ```
/// use framekit::framing::{Decision, Framing, length_prefixed::LengthPrefixed};
///
/// let mut lp = LengthPrefixed::u16_be().max_frame_len(1024);
/// assert_eq!(lp.decide(b"\x00\x02hi").unwrap(), Decision::frame(4, 2..4));
/// // Only the header so far: the strategy says how many body bytes are missing.
/// assert_eq!(lp.decide(b"\x00\x02").unwrap(), Decision::incomplete(2));
/// // A length over the maximum fails as soon as the field is read (a fresh stream here: the
/// // strategy remembers the 2-byte frame above until it completes).
/// let mut fresh = LengthPrefixed::u16_be().max_frame_len(1024);
/// assert!(fresh.decide(b"\xff\xff").unwrap_err().is_too_long());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LengthPrefixed {
    field: LengthField,
    header_offset: usize,
    adjustment: i64,
    includes_header: bool,
    keep_header: bool,
    /// Bytes stripped from the front of each frame, when set apart from the header.
    strip: Option<usize>,
    max_frame_len: usize,
    encode_prefix: Box<[u8]>,
    overlong: Overlong,
    state: State,
}

/// Where the strategy is in the current frame, between calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// The next frame's length field has not been read yet.
    Header,
    /// The header was read and accepted: `len` bytes in all, the payload from `start`. The
    /// frame completes under the limit it was accepted with, even if the maximum is lowered
    /// meanwhile.
    Body { len: usize, start: usize },
    /// An over-long frame is being dropped as it arrives.
    Skipping(Skip),
}

impl LengthPrefixed {
    /// Starts a layout with every knob at its default (u32 big endian, no offset, no adjustment,
    /// header stripped, 8 MiB maximum).
    ///
    /// ```
    /// use framekit::framing::length_prefixed::LengthPrefixed;
    /// assert_eq!(LengthPrefixed::builder().build().unwrap(), LengthPrefixed::u32_be());
    /// ```
    pub fn builder() -> LengthPrefixedBuilder {
        LengthPrefixedBuilder::default()
    }

    fn fixed(width: u8, endian: Endian) -> Self {
        LengthPrefixed {
            field: LengthField::Fixed { width, endian },
            header_offset: 0,
            adjustment: 0,
            includes_header: false,
            keep_header: false,
            strip: None,
            max_frame_len: DEFAULT_MAX_FRAME_LEN,
            encode_prefix: Box::default(),
            overlong: Overlong::Error,
            state: State::Header,
        }
    }

    /// A 1-byte length.
    ///
    /// ```
    /// use framekit::framing::{Framing, length_prefixed::LengthPrefixed};
    /// let mut out = bytes::BytesMut::new();
    /// LengthPrefixed::u8().encode(b"hi", &mut out).unwrap();
    /// assert_eq!(out.len(), LengthPrefixed::u8().max_header_len() + 2);
    /// ```
    pub fn u8() -> Self {
        Self::fixed(1, Endian::Big)
    }
    /// A 2-byte big-endian length.
    ///
    /// ```
    /// use framekit::framing::{Framing, length_prefixed::LengthPrefixed};
    /// let mut out = bytes::BytesMut::new();
    /// LengthPrefixed::u16_be().encode(b"hi", &mut out).unwrap();
    /// assert_eq!(out.len(), LengthPrefixed::u16_be().max_header_len() + 2);
    /// ```
    pub fn u16_be() -> Self {
        Self::fixed(2, Endian::Big)
    }
    /// A 2-byte little-endian length.
    ///
    /// ```
    /// use framekit::framing::{Framing, length_prefixed::LengthPrefixed};
    /// let mut out = bytes::BytesMut::new();
    /// LengthPrefixed::u16_le().encode(b"hi", &mut out).unwrap();
    /// assert_eq!(out.len(), LengthPrefixed::u16_le().max_header_len() + 2);
    /// ```
    pub fn u16_le() -> Self {
        Self::fixed(2, Endian::Little)
    }
    /// A 3-byte big-endian length (as in TLS handshake messages).
    ///
    /// ```
    /// use framekit::framing::{Framing, length_prefixed::LengthPrefixed};
    /// let mut out = bytes::BytesMut::new();
    /// LengthPrefixed::u24_be().encode(b"hi", &mut out).unwrap();
    /// assert_eq!(out.len(), LengthPrefixed::u24_be().max_header_len() + 2);
    /// ```
    pub fn u24_be() -> Self {
        Self::fixed(3, Endian::Big)
    }
    /// A 4-byte big-endian length, the most common layout.
    ///
    /// ```
    /// use framekit::framing::{Framing, length_prefixed::LengthPrefixed};
    /// let mut out = bytes::BytesMut::new();
    /// LengthPrefixed::u32_be().encode(b"hi", &mut out).unwrap();
    /// assert_eq!(&out[..], b"\0\0\0\x02hi");
    /// ```
    pub fn u32_be() -> Self {
        Self::fixed(4, Endian::Big)
    }
    /// A 4-byte little-endian length.
    ///
    /// ```
    /// use framekit::framing::{Framing, length_prefixed::LengthPrefixed};
    /// let mut out = bytes::BytesMut::new();
    /// LengthPrefixed::u32_le().encode(b"hi", &mut out).unwrap();
    /// assert_eq!(out.len(), LengthPrefixed::u32_le().max_header_len() + 2);
    /// ```
    pub fn u32_le() -> Self {
        Self::fixed(4, Endian::Little)
    }
    /// An 8-byte big-endian length.
    ///
    /// ```
    /// use framekit::framing::{Framing, length_prefixed::LengthPrefixed};
    /// let mut out = bytes::BytesMut::new();
    /// LengthPrefixed::u64_be().encode(b"hi", &mut out).unwrap();
    /// assert_eq!(out.len(), LengthPrefixed::u64_be().max_header_len() + 2);
    /// ```
    pub fn u64_be() -> Self {
        Self::fixed(8, Endian::Big)
    }
    /// An 8-byte little-endian length.
    ///
    /// ```
    /// use framekit::framing::{Framing, length_prefixed::LengthPrefixed};
    /// let mut out = bytes::BytesMut::new();
    /// LengthPrefixed::u64_le().encode(b"hi", &mut out).unwrap();
    /// assert_eq!(out.len(), LengthPrefixed::u64_le().max_header_len() + 2);
    /// ```
    pub fn u64_le() -> Self {
        Self::fixed(8, Endian::Little)
    }
    /// An unsigned LEB128 varint length.
    ///
    /// ```
    /// use framekit::framing::{Decision, Framing, length_prefixed::LengthPrefixed};
    /// let mut out = bytes::BytesMut::new();
    /// LengthPrefixed::varint().encode(&[7u8; 300], &mut out).unwrap();
    /// assert_eq!(&out[..2], [0xac, 0x02]);
    /// assert_eq!(LengthPrefixed::varint().decide(&out).unwrap(), Decision::frame(302, 2..302));
    /// ```
    pub fn varint() -> Self {
        LengthPrefixed {
            field: LengthField::Varint,
            ..Self::fixed(4, Endian::Big)
        }
    }

    /// Sets the maximum body length. Default [`DEFAULT_MAX_FRAME_LEN`].
    ///
    /// Lowered mid-stream (through `FrameCodec::framing_mut`), the new maximum applies from the
    /// next frame: a frame whose header was already read and accepted completes under the
    /// limit it started with, as with tokio-util's `LengthDelimitedCodec`.
    ///
    /// ```
    /// use framekit::framing::{Framing, length_prefixed::LengthPrefixed};
    /// assert_eq!(LengthPrefixed::u16_be().max_frame_len(100).frame_limit(), 100);
    /// // A u8 field cannot announce more than 255 bytes, whatever the maximum says.
    /// assert_eq!(LengthPrefixed::u8().max_frame_len(256).frame_limit(), 255);
    /// ```
    pub fn max_frame_len(mut self, max: usize) -> Self {
        self.max_frame_len = max;
        self
    }

    /// The length field's layout.
    ///
    /// ```
    /// use framekit::framing::length_prefixed::{LengthField, LengthPrefixed};
    /// assert_eq!(LengthPrefixed::varint().length_field(), LengthField::Varint);
    /// ```
    pub fn length_field(&self) -> LengthField {
        self.field
    }

    /// Bytes in the header before the body: the offset plus the widest length field.
    ///
    /// ```
    /// use framekit::framing::length_prefixed::LengthPrefixed;
    /// assert_eq!(LengthPrefixed::u32_be().max_header_len(), 4);
    /// assert_eq!(LengthPrefixed::varint().max_header_len(), 10);
    /// ```
    pub fn max_header_len(&self) -> usize {
        self.header_offset
            + match self.field {
                LengthField::Fixed { width, .. } => width as usize,
                LengthField::Varint => MAX_VARINT_LEN,
            }
    }
}

impl Framing for LengthPrefixed {
    #[inline]
    fn decide(&mut self, buf: &[u8]) -> Result<Decision, FrameError> {
        match self.state {
            State::Header => {}
            // The header was read before: only the body's arrival is left to decide.
            State::Body { len, start } => {
                if buf.len() < len {
                    return Ok(Decision::incomplete(len - buf.len()));
                }
                self.state = State::Header;
                return Ok(Decision::frame(len, start..len));
            }
            State::Skipping(skip) => return Ok(self.skip(skip, buf)),
        }
        // Only the length field is read; the bytes before it and the body are not.
        super::work::examined(
            buf.len()
                .saturating_sub(self.header_offset)
                .min(MAX_VARINT_LEN),
        );
        let (value, width) = match self.read_field(buf)? {
            Ok(field) => field,
            Err(missing) => return Ok(Decision::incomplete(missing)),
        };
        let header = self.header_offset + width;
        let body = self.body_len(value, header);
        if body < 0 {
            return Err(FrameError::malformed(
                self.header_offset,
                format!(
                    "length field {value} leaves a negative body behind the {header}-byte header"
                ),
            ));
        }
        if body > self.max_frame_len as i128 {
            let declared = u64::try_from(body).unwrap_or(u64::MAX);
            return match self.overlong {
                Overlong::Error => Err(FrameError::TooLong {
                    len: declared,
                    max: self.max_frame_len,
                    offset: 0,
                    exact: true,
                    reason: None,
                }),
                policy => {
                    let frame = declared.saturating_add(header as u64);
                    let skip = Skip::new(
                        frame,
                        policy == Overlong::DiscardFailFast,
                        self.max_frame_len,
                    );
                    Ok(self.skip(skip, buf))
                }
            };
        }
        // body <= max_frame_len: the sum cannot overflow.
        let len = header + body as usize;
        let start = self.payload_start(header);
        if buf.len() < len {
            self.state = State::Body { len, start };
            return Ok(Decision::incomplete(len - buf.len()));
        }
        Ok(Decision::frame(len, start..len))
    }

    /// A whole frame under the maximum, its header read now or before; otherwise `None`,
    /// having remembered an accepted header whose body is still arriving (as `decide` does),
    /// so that `decide` is left only errors, over-long frames, skipping and a header still
    /// arriving.
    #[inline]
    fn decide_frame(&mut self, buf: &[u8]) -> Option<InPlace> {
        let (len, start) = match self.state {
            State::Body { len, start } => (len, start),
            State::Header => {
                // Metered as `decide` meters reading the field.
                super::work::examined(
                    buf.len()
                        .saturating_sub(self.header_offset)
                        .min(MAX_VARINT_LEN),
                );
                let Ok(Ok((value, width))) = self.read_field(buf) else {
                    return None;
                };
                let header = self.header_offset + width;
                let body = self.body_len(value, header);
                if body < 0 || body > self.max_frame_len as i128 {
                    return None;
                }
                // body <= max_frame_len: the sum cannot overflow.
                (header + body as usize, self.payload_start(header))
            }
            State::Skipping(_) => return None,
        };
        if buf.len() < len {
            self.state = State::Body { len, start };
            return None;
        }
        self.state = State::Header;
        Some(InPlace {
            len,
            payload: start..len,
        })
    }

    /// A frame being skipped ends with the stream (reported now unless it was when its header
    /// was read); otherwise the default: a cut frame is [`FrameError::UnexpectedEof`].
    fn decide_eof(&mut self, buf: &[u8]) -> Result<Option<Decision>, FrameError> {
        if let State::Skipping(skip) = self.state {
            self.state = State::Header;
            return Ok(skip.end_of_stream(buf.len()));
        }
        super::decide_eof_by_decide(self, buf)
    }

    /// The body maximum (what the length field can carry, if less), plus the header bytes
    /// decoded payloads keep.
    fn frame_limit(&self) -> usize {
        self.body_limit().saturating_add(self.kept_header())
    }

    fn buffer_limit(&self) -> usize {
        self.body_limit().saturating_add(self.max_header_len())
    }

    fn reset(&mut self) {
        self.state = State::Header;
    }

    fn reports_work(&self) -> bool {
        true
    }

    fn encode_head(&mut self, payload: &[u8], dst: &mut BytesMut) -> Result<(), FrameError> {
        let body = payload.len();
        if body > self.max_frame_len {
            return Err(FrameError::unencodable(
                body,
                format!("over the maximum frame length of {}", self.max_frame_len),
            ));
        }
        self.write_header(body, dst)
    }
}
