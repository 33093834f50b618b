//! A small tag-length-value protocol for exercising nom-based codecs: the streaming parser,
//! its encoder and its message type, shared by framekit's own property tests and fuzz targets.
//!
//! ```text
//! S <u16 BE length> <bytes>    a string, kept as a zero-copy slice of the read buffer
//! I <u32 BE>                   a number
//! anything else                a protocol error (Malformed at the tag byte)
//! ```
//!
//! ```
//! use bytes::BytesMut;
//! use framekit::framing::nom::NomCodec;
//! use framekit::testing::tlv::{Msg, Tlv};
//! use tokio_util::codec::Decoder;
//!
//! let mut wire = BytesMut::new();
//! Msg::Int(7).write(64, &mut wire).unwrap();
//! Msg::Str("hi".into()).write(64, &mut wire).unwrap();
//! assert_eq!(&wire[..], b"I\0\0\0\x07S\0\x02hi");
//! let mut codec = NomCodec::new(Tlv);
//! assert_eq!(codec.decode(&mut wire).unwrap(), Some(Msg::Int(7)));
//! assert_eq!(codec.decode(&mut wire).unwrap(), Some(Msg::Str("hi".into())));
//! ```

use bytes::{BufMut, Bytes, BytesMut};
use nom::bytes::streaming::take;
use nom::number::streaming::{be_u16, be_u32, u8 as byte};
use nom::{IResult, Parser};

use crate::framing::nom::StreamParser;

/// One message of the protocol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Msg {
    /// `S`, a length and that many bytes.
    Str(Bytes),
    /// `I` and a big-endian u32.
    Int(u32),
}

impl Msg {
    /// Bytes the message takes on the wire.
    pub fn wire_len(&self) -> usize {
        match self {
            Msg::Str(s) => 3 + s.len(),
            Msg::Int(_) => 5,
        }
    }

    /// Appends the message to `dst`, or refuses (writing nothing) when it would take more than
    /// `max` bytes on the wire or its string is over 64 KiB.
    pub fn write(&self, max: usize, dst: &mut BytesMut) -> Result<(), String> {
        if self.wire_len() > max {
            return Err(format!("a {}-byte message is over {max}", self.wire_len()));
        }
        match self {
            Msg::Str(s) => {
                let len = u16::try_from(s.len()).map_err(|_| "string over 64 KiB")?;
                dst.put_u8(b'S');
                dst.put_u16(len);
                dst.put_slice(s);
            }
            Msg::Int(n) => {
                dst.put_u8(b'I');
                dst.put_u32(*n);
            }
        }
        Ok(())
    }
}

/// The protocol's streaming parser, for [`NomCodec`](crate::framing::nom::NomCodec).
#[derive(Debug, Clone, Copy, Default)]
pub struct Tlv;

impl StreamParser for Tlv {
    type Item = Msg;

    fn parse<'a>(&mut self, input: &'a [u8], buf: &Bytes) -> IResult<&'a [u8], Msg> {
        let (rest, tag) = byte(input)?;
        match tag {
            b'S' => {
                let (rest, len) = be_u16(rest)?;
                let (rest, body) = take(len).parse(rest)?;
                Ok((rest, Msg::Str(buf.slice_ref(body))))
            }
            b'I' => be_u32(rest).map(|(rest, n)| (rest, Msg::Int(n))),
            _ => Err(nom::Err::Error(nom::error::Error::new(
                input,
                nom::error::ErrorKind::Tag,
            ))),
        }
    }
}
