//! Payload codecs from closures, for one-off formats that do not deserve a type.

use bytes::{Bytes, BytesMut};

use super::{PayloadDecoder, PayloadEncoder, PayloadError};

/// A payload codec made of a decode closure and an encode closure; build it with [`fn_codec`].
///
/// ```
/// use framekit::payload::{fn_codec, FnCodec, PayloadError};
/// let codec = fn_codec(
///     |p: bytes::Bytes| -> Result<usize, PayloadError> { Ok(p.len()) },
///     |n: usize, dst: &mut bytes::BytesMut| -> Result<(), PayloadError> { dst.resize(n, 0); Ok(()) },
/// );
/// ```
#[derive(Debug, Clone, Copy)]
pub struct FnCodec<D, E> {
    decode: D,
    encode: E,
}

/// Makes a payload codec from two closures.
///
/// `decode` turns a payload into an item; `encode` appends an item's payload bytes to a buffer.
///
/// ```
/// use bytes::{Bytes, BytesMut, BufMut};
/// use framekit::payload::{fn_codec, PayloadDecoder, PayloadEncoder, PayloadError};
///
/// // Payloads are big-endian u32s.
/// let mut codec = fn_codec(
///     |p: Bytes| -> Result<u32, PayloadError> {
///         Ok(u32::from_be_bytes(p[..].try_into()?))
///     },
///     |n: u32, dst: &mut BytesMut| -> Result<(), PayloadError> {
///         dst.put_u32(n);
///         Ok(())
///     },
/// );
/// let mut out = BytesMut::new();
/// codec.encode_payload(9, &mut out).unwrap();
/// assert_eq!(codec.decode_payload(out.freeze()).unwrap(), 9);
/// ```
pub fn fn_codec<D, E>(decode: D, encode: E) -> FnCodec<D, E> {
    FnCodec { decode, encode }
}

impl<D, E, T> PayloadDecoder for FnCodec<D, E>
where
    D: FnMut(Bytes) -> Result<T, PayloadError>,
{
    type Item = T;

    fn decode_payload(&mut self, payload: Bytes) -> Result<T, PayloadError> {
        (self.decode)(payload)
    }
}

impl<D, E, T> PayloadEncoder<T> for FnCodec<D, E>
where
    E: FnMut(T, &mut BytesMut) -> Result<(), PayloadError>,
{
    fn encode_payload(&mut self, item: T, dst: &mut BytesMut) -> Result<(), PayloadError> {
        (self.encode)(item, dst)
    }
}
