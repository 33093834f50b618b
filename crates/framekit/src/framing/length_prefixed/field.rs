//! Reading and writing the length field, and the limits its width implies: the arithmetic
//! between the field's value, the header and the body, all of it checked.

use bytes::{BufMut, BytesMut};

use super::{Endian, LengthField, LengthPrefixed, MAX_VARINT_LEN};
use crate::FrameError;

impl LengthPrefixed {
    /// The largest body a frame can have: the maximum, or less when the length field cannot
    /// announce that much (a `u8` field, say, or one that counts its header).
    pub(super) fn body_limit(&self) -> usize {
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

    /// The body a field `value` announces behind a `header`-byte header; negative when the
    /// field counts more header than there is.
    #[inline]
    pub(super) fn body_len(&self, value: u64, header: usize) -> i128 {
        let body = value as i128 + self.adjustment as i128;
        match self.includes_header {
            true => body - header as i128,
            false => body,
        }
    }

    /// Where the payload starts in a frame with a `header`-byte header.
    #[inline]
    pub(super) fn payload_start(&self, header: usize) -> usize {
        match (self.strip, self.keep_header) {
            (Some(n), _) => n,
            (None, true) => 0,
            (None, false) => header,
        }
    }

    /// Header bytes the payload may keep, at most.
    pub(super) fn kept_header(&self) -> usize {
        match (self.strip, self.keep_header) {
            (Some(n), _) => self.max_header_len().saturating_sub(n),
            (None, true) => self.max_header_len(),
            (None, false) => 0,
        }
    }

    /// Reads the length field at `buf[self.header_offset..]`: `Ok(Some((value, width)))`, or
    /// `Ok(None)` with the bytes still missing.
    #[inline]
    pub(super) fn read_field(&self, buf: &[u8]) -> Result<Result<(u64, usize), usize>, FrameError> {
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
    pub(super) fn field_value(&self, body: usize, header: usize) -> Option<u64> {
        let mut v = body as i128 - self.adjustment as i128;
        if self.includes_header {
            v += header as i128;
        }
        u64::try_from(v).ok()
    }

    /// Writes the prefix and the length field announcing a `body`-byte body. Every check comes
    /// before the first byte is written: a refusal leaves `dst` as it was.
    pub(super) fn write_header(&self, body: usize, dst: &mut BytesMut) -> Result<(), FrameError> {
        let too_wide = || FrameError::unencodable(body, "the length does not fit the length field");
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

fn varint_len(mut v: u64) -> usize {
    let mut n = 1;
    while v >= 0x80 {
        v >>= 7;
        n += 1;
    }
    n
}
