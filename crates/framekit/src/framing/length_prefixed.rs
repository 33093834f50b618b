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

use bytes::{BufMut, BytesMut};

use super::{Decision, Framing};
use crate::FrameError;

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
    /// The frame whose header was read and accepted: `(frame length, payload start)`. It
    /// completes under the limit it was accepted with, even if the maximum is lowered meanwhile.
    accepted: Option<(usize, usize)>,
}

/// Builds a [`LengthPrefixed`] layout knob by knob; [`build`](Self::build) validates it.
///
/// ```
/// use framekit::framing::{Decision, Framing, length_prefixed::{LengthPrefixed, Endian}};
///
/// // A 1-byte type, then a u16 LE length that counts the whole 3-byte header.
/// let mut lp = LengthPrefixed::builder()
///     .header_offset(1)
///     .length_field(2, Endian::Little)
///     .length_includes_header(true)
///     .build()
///     .unwrap();
/// assert_eq!(lp.decide(b"T\x05\x00hi").unwrap(), Decision::frame(5, 3..5));
/// ```
#[derive(Debug, Clone)]
pub struct LengthPrefixedBuilder {
    field: Result<LengthField, InvalidLayout>,
    header_offset: usize,
    adjustment: i64,
    includes_header: bool,
    keep_header: bool,
    strip: Option<usize>,
    max_frame_len: usize,
    encode_prefix: Option<Box<[u8]>>,
}

impl Default for LengthPrefixedBuilder {
    fn default() -> Self {
        LengthPrefixedBuilder {
            field: Ok(LengthField::Fixed {
                width: 4,
                endian: Endian::Big,
            }),
            header_offset: 0,
            adjustment: 0,
            includes_header: false,
            keep_header: false,
            strip: None,
            max_frame_len: DEFAULT_MAX_FRAME_LEN,
            encode_prefix: None,
        }
    }
}

impl LengthPrefixedBuilder {
    /// A fixed-width length field of `width` bytes (1, 2, 3, 4 or 8). Default: 4, big endian.
    ///
    /// ```
    /// use framekit::framing::length_prefixed::{Endian, LengthPrefixed};
    /// let layout = LengthPrefixed::builder().length_field(2, Endian::Little).build().unwrap();
    /// # let _ = Endian::Big;
    /// ```
    pub fn length_field(mut self, width: usize, endian: Endian) -> Self {
        self.field = match width {
            1 | 2 | 3 | 4 | 8 => Ok(LengthField::Fixed {
                width: width as u8,
                endian,
            }),
            _ => Err(InvalidLayout(
                "length field width must be 1, 2, 3, 4 or 8 bytes",
            )),
        };
        self
    }

    /// An unsigned LEB128 varint length field (as in protobuf's delimited streams).
    ///
    /// ```
    /// use framekit::framing::length_prefixed::{Endian, LengthPrefixed};
    /// let layout = LengthPrefixed::builder().varint().build().unwrap();
    /// # let _ = Endian::Big;
    /// ```
    pub fn varint(mut self) -> Self {
        self.field = Ok(LengthField::Varint);
        self
    }

    /// Bytes before the length field. Default 0. Encoding writes zeros there unless
    /// [`encode_prefix`](Self::encode_prefix) says otherwise.
    ///
    /// ```
    /// use framekit::framing::length_prefixed::{Endian, LengthPrefixed};
    /// let layout = LengthPrefixed::builder().header_offset(1).build().unwrap();
    /// # let _ = Endian::Big;
    /// ```
    pub fn header_offset(mut self, bytes: usize) -> Self {
        self.header_offset = bytes;
        self
    }

    /// A fixed amount added to the field's value to get the body length. Default 0.
    ///
    /// ```
    /// use framekit::framing::length_prefixed::{Endian, LengthPrefixed};
    /// let layout = LengthPrefixed::builder().length_adjustment(-2).build().unwrap();
    /// # let _ = Endian::Big;
    /// ```
    pub fn length_adjustment(mut self, adjustment: i64) -> Self {
        self.adjustment = adjustment;
        self
    }

    /// Whether the field counts the header (offset bytes and the field itself). Default false.
    ///
    /// ```
    /// use framekit::framing::length_prefixed::{Endian, LengthPrefixed};
    /// let layout = LengthPrefixed::builder().length_includes_header(true).build().unwrap();
    /// # let _ = Endian::Big;
    /// ```
    pub fn length_includes_header(mut self, includes: bool) -> Self {
        self.includes_header = includes;
        self
    }

    /// Whether decoded payloads keep the header (offset bytes and length field). Default false.
    ///
    /// ```
    /// use framekit::framing::length_prefixed::{Endian, LengthPrefixed};
    /// let layout = LengthPrefixed::builder().keep_header(true).build().unwrap();
    /// # let _ = Endian::Big;
    /// ```
    pub fn keep_header(mut self, keep: bool) -> Self {
        self.keep_header = keep;
        self
    }

    /// Strips exactly `n` bytes from the front of each frame (tokio-util's `num_skip`): the
    /// payload keeps the rest of the header. `strip(0)` keeps the whole header, like
    /// `keep_header(true)`; by default the whole header is stripped. At most the header
    /// (`header_offset` plus the field's width; for a varint, whose width varies, at most
    /// `header_offset`), and not together with `keep_header`: [`build`](Self::build) refuses
    /// either.
    ///
    /// ```
    /// use framekit::framing::{Decision, Framing, length_prefixed::{Endian, LengthPrefixed}};
    /// // [type][u16 length] body: strip the type, keep the length in the payload.
    /// let mut lp = LengthPrefixed::builder()
    ///     .header_offset(1)
    ///     .length_field(2, Endian::Big)
    ///     .strip(1)
    ///     .build()
    ///     .unwrap();
    /// assert_eq!(lp.decide(b"T\x00\x02hi").unwrap(), Decision::frame(5, 1..5));
    /// assert!(LengthPrefixed::builder().strip(5).build().is_err()); // a u32 header has 4 bytes
    /// ```
    pub fn strip(mut self, n: usize) -> Self {
        self.strip = Some(n);
        self
    }

    /// Maximum body length (bytes after the header). Default [`DEFAULT_MAX_FRAME_LEN`].
    ///
    /// ```
    /// use framekit::framing::length_prefixed::{Endian, LengthPrefixed};
    /// let layout = LengthPrefixed::builder().max_frame_len(1024).build().unwrap();
    /// # let _ = Endian::Big;
    /// ```
    pub fn max_frame_len(mut self, max: usize) -> Self {
        self.max_frame_len = max;
        self
    }

    /// The `header_offset` bytes the encoder writes before the length field.
    ///
    /// ```
    /// use framekit::framing::length_prefixed::{Endian, LengthPrefixed};
    /// let layout = LengthPrefixed::builder().header_offset(1).encode_prefix(b"T").build().unwrap();
    /// # let _ = Endian::Big;
    /// ```
    pub fn encode_prefix(mut self, prefix: &[u8]) -> Self {
        self.encode_prefix = Some(prefix.into());
        self
    }

    /// Validates the layout.
    ///
    /// ```
    /// use framekit::framing::length_prefixed::{LengthPrefixed, Endian};
    /// let err = LengthPrefixed::builder().length_field(5, Endian::Big).build().unwrap_err();
    /// assert_eq!(err.to_string(), "invalid length-prefixed layout: length field width must be 1, 2, 3, 4 or 8 bytes");
    /// ```
    pub fn build(self) -> Result<LengthPrefixed, InvalidLayout> {
        let field = self.field?;
        if self.header_offset > MAX_HEADER_OFFSET {
            return Err(InvalidLayout("header offset is over 64 KiB"));
        }
        if self.keep_header && self.max_frame_len > usize::MAX / 2 {
            return Err(InvalidLayout("maximum frame length is too large"));
        }
        let encode_prefix = match self.encode_prefix {
            Some(p) if p.len() != self.header_offset => {
                return Err(InvalidLayout(
                    "encode prefix must be exactly header_offset bytes",
                ))
            }
            Some(p) => p,
            None => vec![0; self.header_offset].into(),
        };
        if self.adjustment.unsigned_abs() > (u64::MAX >> 2) {
            return Err(InvalidLayout("length adjustment is out of range"));
        }
        if let Some(n) = self.strip {
            if self.keep_header {
                return Err(InvalidLayout("strip and keep_header are exclusive"));
            }
            let header = match field {
                LengthField::Fixed { width, .. } => self.header_offset + width as usize,
                LengthField::Varint => self.header_offset,
            };
            if n > header {
                return Err(InvalidLayout("strip is longer than the header"));
            }
        }
        Ok(LengthPrefixed {
            field,
            header_offset: self.header_offset,
            adjustment: self.adjustment,
            includes_header: self.includes_header,
            keep_header: self.keep_header,
            strip: self.strip,
            max_frame_len: self.max_frame_len,
            encode_prefix,
            accepted: None,
        })
    }
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
            accepted: None,
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

    /// The largest body a frame can have: the maximum, or less when the length field cannot
    /// announce that much (a `u8` field, say, or one that counts its header).
    fn body_limit(&self) -> usize {
        let LengthField::Fixed { width, .. } = self.field else {
            return self.max_frame_len;
        };
        let field_max = match width {
            8 => u64::MAX as i128,
            w => (1i128 << (8 * w as u32)) - 1,
        };
        let mut body = field_max + self.adjustment as i128;
        if self.includes_header {
            body -= (self.header_offset + width as usize) as i128;
        }
        let body = usize::try_from(body.max(0)).unwrap_or(usize::MAX);
        body.min(self.max_frame_len)
    }

    /// Where the payload starts in a frame with a `header`-byte header.
    fn payload_start(&self, header: usize) -> usize {
        match (self.strip, self.keep_header) {
            (Some(n), _) => n,
            (None, true) => 0,
            (None, false) => header,
        }
    }

    /// Header bytes the payload may keep, at most.
    fn kept_header(&self) -> usize {
        match (self.strip, self.keep_header) {
            (Some(n), _) => self.max_header_len().saturating_sub(n),
            (None, true) => self.max_header_len(),
            (None, false) => 0,
        }
    }

    /// Reads the length field at `buf[self.header_offset..]`: `Ok(Some((value, width)))`, or
    /// `Ok(None)` with the bytes still missing.
    fn read_field(&self, buf: &[u8]) -> Result<Result<(u64, usize), usize>, FrameError> {
        let at = self.header_offset;
        match self.field {
            LengthField::Fixed { width, endian } => {
                let width = width as usize;
                let Some(field) = buf.get(at..at + width) else {
                    return Ok(Err(at + width - buf.len()));
                };
                let mut value = 0u64;
                match endian {
                    Endian::Big => field.iter().for_each(|&b| value = value << 8 | b as u64),
                    Endian::Little => field
                        .iter()
                        .rev()
                        .for_each(|&b| value = value << 8 | b as u64),
                }
                Ok(Ok((value, width)))
            }
            LengthField::Varint => {
                let mut value = 0u64;
                for (i, &b) in buf.get(at..).unwrap_or_default().iter().enumerate() {
                    if i == MAX_VARINT_LEN - 1 && b > 1 {
                        return Err(FrameError::malformed(at, "varint length overflows 64 bits"));
                    }
                    value |= ((b & 0x7f) as u64) << (7 * i);
                    if b & 0x80 == 0 {
                        return Ok(Ok((value, i + 1)));
                    }
                }
                Ok(Err(at.saturating_sub(buf.len()) + 1))
            }
        }
    }

    /// The field value that announces a body of `body` bytes behind a `header`-byte header.
    fn field_value(&self, body: usize, header: usize) -> Option<u64> {
        let mut v = body as i128 - self.adjustment as i128;
        if self.includes_header {
            v += header as i128;
        }
        u64::try_from(v).ok()
    }
}

fn varint_len(mut v: u64) -> usize {
    let mut n = 1;
    while v >= 0x80 {
        v >>= 7;
        n += 1;
    }
    n
}

impl Framing for LengthPrefixed {
    #[inline]
    fn decide(&mut self, buf: &[u8]) -> Result<Decision, FrameError> {
        if let Some((len, start)) = self.accepted {
            // The header was read before: only the body's arrival is left to decide.
            if buf.len() < len {
                return Ok(Decision::incomplete(len - buf.len()));
            }
            self.accepted = None;
            return Ok(Decision::frame(len, start..len));
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
        let mut body = value as i128 + self.adjustment as i128;
        if self.includes_header {
            body -= header as i128;
        }
        if body < 0 {
            return Err(FrameError::malformed(
                self.header_offset,
                format!(
                    "length field {value} leaves a negative body behind the {header}-byte header"
                ),
            ));
        }
        if body > self.max_frame_len as i128 {
            return Err(FrameError::TooLong {
                len: u64::try_from(body).unwrap_or(u64::MAX),
                max: self.max_frame_len,
                offset: 0,
                exact: true,
            });
        }
        // body <= max_frame_len: the sum cannot overflow.
        let len = header + body as usize;
        let start = self.payload_start(header);
        if buf.len() < len {
            self.accepted = Some((len, start));
            return Ok(Decision::incomplete(len - buf.len()));
        }
        Ok(Decision::frame(len, start..len))
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
        self.accepted = None;
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
        let too_wide = || FrameError::unencodable(body, "the length does not fit the length field");
        // Every check comes before the first byte is written: a refusal leaves `dst` as it was.
        match self.field {
            LengthField::Fixed { width, endian } => {
                let width = width as usize;
                let value = self
                    .field_value(body, self.header_offset + width)
                    .filter(|&v| width == 8 || v >> (8 * width) == 0)
                    .ok_or_else(too_wide)?;
                dst.put_slice(&self.encode_prefix);
                let be = value.to_be_bytes();
                match endian {
                    Endian::Big => dst.put_slice(&be[8 - width..]),
                    Endian::Little => dst.put_slice(&value.to_le_bytes()[..width]),
                }
            }
            LengthField::Varint => {
                // With the header counted, the value's own width changes the value: try widths.
                let value = (1..=MAX_VARINT_LEN)
                    .filter_map(|w| {
                        self.field_value(body, self.header_offset + w)
                            .map(|v| (v, w))
                    })
                    .find(|&(v, w)| varint_len(v) == w)
                    .map(|(v, _)| v)
                    .ok_or_else(too_wide)?;
                dst.put_slice(&self.encode_prefix);
                let mut v = value;
                while v >= 0x80 {
                    dst.put_u8((v as u8 & 0x7f) | 0x80);
                    v >>= 7;
                }
                dst.put_u8(v as u8);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoded(lp: &mut LengthPrefixed, payload: &[u8]) -> Vec<u8> {
        let mut dst = BytesMut::new();
        lp.encode(payload, &mut dst).unwrap();
        dst.to_vec()
    }

    #[test]
    fn every_fixed_width_and_order() {
        let cases: [(LengthPrefixed, &[u8]); 8] = [
            (LengthPrefixed::u8(), b"\x03"),
            (LengthPrefixed::u16_be(), b"\x00\x03"),
            (LengthPrefixed::u16_le(), b"\x03\x00"),
            (LengthPrefixed::u24_be(), b"\x00\x00\x03"),
            (LengthPrefixed::u32_be(), b"\x00\x00\x00\x03"),
            (LengthPrefixed::u32_le(), b"\x03\x00\x00\x00"),
            (LengthPrefixed::u64_be(), b"\0\0\0\0\0\0\0\x03"),
            (LengthPrefixed::u64_le(), b"\x03\0\0\0\0\0\0\0"),
        ];
        for (mut lp, header) in cases {
            let wire = encoded(&mut lp, b"abc");
            assert_eq!(&wire[..header.len()], header, "{lp:?}");
            let h = header.len();
            assert_eq!(lp.decide(&wire).unwrap(), Decision::frame(h + 3, h..h + 3));
            assert_eq!(lp.decide(&wire[..h - 1]).unwrap(), Decision::incomplete(1));
            assert_eq!(lp.decide(&wire[..h + 1]).unwrap(), Decision::incomplete(2));
        }
        let mut lp = LengthPrefixed::builder()
            .length_field(3, Endian::Little)
            .build()
            .unwrap();
        assert_eq!(encoded(&mut lp, b"x"), b"\x01\x00\x00x");
    }

    #[test]
    fn varint_lengths() {
        let mut lp = LengthPrefixed::varint();
        assert_eq!(encoded(&mut lp, b""), b"\x00");
        assert_eq!(&encoded(&mut lp, &[0; 127])[..1], b"\x7f");
        assert_eq!(&encoded(&mut lp, &[0; 128])[..2], b"\x80\x01");
        assert_eq!(lp.decide(b"\x80").unwrap(), Decision::incomplete(1));
        assert_eq!(lp.decide(b"\x80\x01").unwrap(), Decision::incomplete(128));
        lp.reset(); // a new stream: the accepted 128-byte frame is forgotten
                    // Non-minimal encodings are accepted, as protobuf does.
        assert_eq!(lp.decide(b"\x81\x00z").unwrap(), Decision::frame(3, 2..3));
    }

    #[test]
    fn varint_overflow_is_malformed() {
        let mut lp = LengthPrefixed::varint();
        let err = lp.decide(&[0xff; 10]).unwrap_err();
        assert!(
            matches!(err, FrameError::Malformed { offset: 0, .. }),
            "{err}"
        );
        // A u64::MAX varint is too long, not malformed.
        let max = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01];
        assert!(lp.decide(&max).unwrap_err().is_too_long());
    }

    #[test]
    fn too_long_fails_on_the_header_alone() {
        let mut lp = LengthPrefixed::u32_be().max_frame_len(10);
        let err = lp.decide(b"\x00\x00\x00\x0b").unwrap_err();
        assert!(matches!(
            err,
            FrameError::TooLong {
                len: 11,
                max: 10,
                exact: true,
                ..
            }
        ));
        assert_eq!(
            lp.decide(b"\x00\x00\x00\x0a").unwrap(),
            Decision::incomplete(10)
        );
    }

    #[test]
    fn header_offset_keep_header_and_prefix() {
        let mut lp = LengthPrefixed::builder()
            .header_offset(2)
            .length_field(2, Endian::Big)
            .keep_header(true)
            .encode_prefix(b"TV")
            .build()
            .unwrap();
        let wire = encoded(&mut lp, b"hey");
        assert_eq!(wire, b"TV\x00\x03hey");
        assert_eq!(lp.decide(&wire).unwrap(), Decision::frame(7, 0..7));
        assert_eq!(lp.decide(b"TV").unwrap(), Decision::incomplete(2));
    }

    #[test]
    fn includes_header_and_adjustment() {
        let mut lp = LengthPrefixed::builder()
            .length_field(2, Endian::Big)
            .length_includes_header(true)
            .build()
            .unwrap();
        assert_eq!(encoded(&mut lp, b"hello"), b"\x00\x07hello");
        assert_eq!(
            lp.decide(b"\x00\x07hello").unwrap(),
            Decision::frame(7, 2..7)
        );
        let err = lp.decide(b"\x00\x01").unwrap_err();
        assert!(err.is_malformed(), "{err}");

        let mut lp = LengthPrefixed::builder()
            .length_field(1, Endian::Big)
            .length_adjustment(-2)
            .build()
            .unwrap();
        assert_eq!(encoded(&mut lp, b"ab"), b"\x04ab");
        assert!(lp.decide(b"\x01").unwrap_err().is_malformed());

        let mut lp = LengthPrefixed::builder()
            .varint()
            .length_includes_header(true)
            .build()
            .unwrap();
        let wire = encoded(&mut lp, &[1; 127]);
        // 127 + a 2-byte varint = 129, which needs 2 bytes: consistent.
        assert_eq!(&wire[..2], [0x81, 0x01]);
        assert_eq!(lp.decide(&wire).unwrap(), Decision::frame(129, 2..129));
    }

    #[test]
    fn encoder_refuses_what_the_field_cannot_hold() {
        let mut dst = BytesMut::new();
        assert!(LengthPrefixed::u8().encode(&[0; 256], &mut dst).is_err());
        assert!(LengthPrefixed::u8().encode(&[0; 255], &mut dst).is_ok());
        let mut small = LengthPrefixed::u32_be().max_frame_len(4);
        let err = small.encode(b"12345", &mut BytesMut::new()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "cannot encode a 5-byte payload: over the maximum frame length of 4"
        );
        let mut negative = LengthPrefixed::builder()
            .length_field(1, Endian::Big)
            .length_adjustment(10)
            .build()
            .unwrap();
        assert!(negative.encode(b"abc", &mut BytesMut::new()).is_err());
    }

    #[test]
    fn invalid_layouts_are_refused_when_built() {
        assert!(LengthPrefixed::builder()
            .length_field(0, Endian::Big)
            .build()
            .is_err());
        assert!(LengthPrefixed::builder()
            .header_offset(1 << 20)
            .build()
            .is_err());
        assert!(LengthPrefixed::builder()
            .header_offset(2)
            .encode_prefix(b"x")
            .build()
            .is_err());
        assert!(LengthPrefixed::builder()
            .length_adjustment(i64::MIN)
            .build()
            .is_err());
    }

    #[test]
    fn u64_max_length_is_too_long_not_a_wrap() {
        let mut lp = LengthPrefixed::u64_be();
        assert!(lp.decide(&[0xff; 8]).unwrap_err().is_too_long());
        let mut lp = LengthPrefixed::builder()
            .length_field(8, Endian::Big)
            .length_adjustment(1 << 40)
            .build()
            .unwrap();
        assert!(lp.decide(&[0xff; 8]).unwrap_err().is_too_long());
    }

    #[test]
    fn strip_takes_exactly_n_header_bytes() {
        let layout = || {
            LengthPrefixed::builder()
                .header_offset(2)
                .encode_prefix(b"TV")
                .length_field(2, Endian::Big)
        };
        let mut lp = layout().strip(1).build().unwrap();
        assert_eq!(lp.decide(b"TV\x00\x01z").unwrap(), Decision::frame(5, 1..5));
        assert_eq!(
            lp.frame_limit(),
            u16::MAX as usize + 3,
            "the u16 field bounds the body"
        );
        let mut all = layout().strip(4).build().unwrap();
        assert_eq!(
            all.decide(b"TV\x00\x01z").unwrap(),
            Decision::frame(5, 4..5)
        );
        assert!(layout().strip(5).build().is_err(), "past the header");
        assert!(layout().strip(1).keep_header(true).build().is_err());
        let varint = || LengthPrefixed::builder().header_offset(1).varint();
        assert!(varint().strip(1).build().is_ok());
        assert!(
            varint().strip(2).build().is_err(),
            "a varint's width varies"
        );
    }

    #[test]
    fn frame_limit_is_what_the_field_can_carry() {
        assert_eq!(LengthPrefixed::u8().max_frame_len(256).frame_limit(), 255);
        assert_eq!(LengthPrefixed::u8().max_frame_len(100).frame_limit(), 100);
        let counts_header = LengthPrefixed::builder()
            .length_field(1, Endian::Big)
            .length_includes_header(true)
            .max_frame_len(1000)
            .build()
            .unwrap();
        assert_eq!(counts_header.frame_limit(), 254);
        let adjusted = LengthPrefixed::builder()
            .length_field(1, Endian::Big)
            .length_adjustment(-2)
            .max_frame_len(1000)
            .build()
            .unwrap();
        assert_eq!(adjusted.frame_limit(), 253);
        // Every frame the limit admits can be encoded.
        for mut lp in [
            counts_header,
            adjusted,
            LengthPrefixed::u8().max_frame_len(256),
        ] {
            let limit = lp.frame_limit();
            assert!(lp.encode(&vec![0; limit], &mut BytesMut::new()).is_ok());
            assert!(lp
                .encode(&vec![0; limit + 1], &mut BytesMut::new())
                .is_err());
        }
    }

    #[test]
    fn a_refused_encode_leaves_the_destination_as_it_was() {
        let mut lp = LengthPrefixed::builder()
            .header_offset(2)
            .encode_prefix(b"TV")
            .length_field(1, Endian::Big)
            .max_frame_len(1000)
            .build()
            .unwrap();
        let mut dst = BytesMut::from(&b"before"[..]);
        assert!(lp.encode(&[0; 300], &mut dst).is_err());
        assert_eq!(&dst[..], b"before");
    }

    #[test]
    fn a_lowered_maximum_applies_from_the_next_frame() {
        use crate::FrameCodec;
        use tokio_util::codec::Decoder;
        let mut codec = FrameCodec::new(LengthPrefixed::u16_be().max_frame_len(1000));
        let mut buf = BytesMut::from(&b"\x00\x64"[..]); // a 100-byte body is announced
        buf.extend_from_slice(&[b'x'; 50]);
        assert!(codec.decode(&mut buf).unwrap().is_none());
        let tighter = codec.framing().clone().max_frame_len(10);
        *codec.framing_mut() = tighter;
        buf.extend_from_slice(&[b'x'; 50]);
        assert_eq!(codec.decode(&mut buf).unwrap().unwrap().len(), 100);
        buf.extend_from_slice(b"\x00\x0b");
        assert!(
            codec.decode(&mut buf).unwrap_err().is_too_long(),
            "11 > the new 10"
        );
    }
}
