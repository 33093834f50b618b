//! The builder of [`LengthPrefixed`] layouts: one method a knob, and the validation that
//! refuses a layout that cannot work before any byte is framed.

use super::{
    Endian, InvalidLayout, LengthField, LengthPrefixed, Overlong, State, DEFAULT_MAX_FRAME_LEN,
    MAX_HEADER_OFFSET,
};

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
    overlong: Overlong,
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
            overlong: Overlong::Error,
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

    /// What happens to a frame whose declared body is over the maximum. Default
    /// [`Overlong::Error`]: [`FrameError::TooLong`](crate::FrameError::TooLong) as soon as the
    /// field is read, and the stream cannot go on. [`Overlong::Discard`] and
    /// [`Overlong::DiscardFailFast`] skip the frame by its declared length instead (Netty's
    /// discarding mode), dropping its bytes as they arrive, and report it once as
    /// [`FrameError::Skipped`](crate::FrameError::Skipped) with the declared frame length
    /// (header included), the maximum and the frame's offset: once the frame has been skipped,
    /// or as soon as its header is read. A length field that leaves a negative body is still
    /// malformed: there is no length to skip by.
    ///
    /// ```
    /// use bytes::BytesMut;
    /// use tokio_util::codec::Decoder;
    /// use framekit::{FrameCodec, FrameError};
    /// use framekit::framing::length_prefixed::{Endian, LengthPrefixed, Overlong};
    ///
    /// let lp = LengthPrefixed::builder()
    ///     .length_field(2, Endian::Big)
    ///     .max_frame_len(3)
    ///     .on_overlong(Overlong::DiscardFailFast)
    ///     .build()
    ///     .unwrap();
    /// let mut codec = FrameCodec::new(lp);
    /// let mut buf = BytesMut::from(&b"\x00\x05he"[..]); // 5 > 3: reported on the header alone
    /// assert!(matches!(
    ///     codec.decode(&mut buf),
    ///     Err(FrameError::Skipped { len: 7, max: 3, offset: 0, .. })
    /// ));
    /// buf.extend_from_slice(b"llo\x00\x02ok"); // the rest of it is dropped as it arrives
    /// assert_eq!(codec.decode(&mut buf).unwrap().unwrap(), "ok");
    /// ```
    pub fn on_overlong(mut self, policy: Overlong) -> Self {
        self.overlong = policy;
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
            overlong: self.overlong,
            state: State::Header,
        })
    }
}
