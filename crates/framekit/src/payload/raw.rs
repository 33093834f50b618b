//! The identity payload codec: a frame's payload is the item, as zero-copy `Bytes`.

use bytes::{Bytes, BytesMut};

use super::{PayloadDecoder, PayloadEncoder, PayloadError};
use crate::framing::Framing;
use crate::FrameError;

/// Payloads are raw bytes: decoding yields the payload as a zero-copy [`Bytes`] slice of the
/// read buffer, and anything that is `AsRef<[u8]>` encodes as itself.
///
/// ```
/// use bytes::Bytes;
/// use framekit::payload::{PayloadDecoder, Raw};
///
/// assert_eq!(Raw.decode_payload(Bytes::from_static(b"abc")).unwrap(), "abc");
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Raw;

impl PayloadDecoder for Raw {
    type Item = Bytes;

    #[inline]
    fn decode_payload(&mut self, payload: Bytes) -> Result<Bytes, PayloadError> {
        Ok(payload)
    }
}

impl<T: AsRef<[u8]>> PayloadEncoder<T> for Raw {
    fn encode_payload(&mut self, item: T, dst: &mut BytesMut) -> Result<(), PayloadError> {
        dst.extend_from_slice(item.as_ref());
        Ok(())
    }

    #[inline]
    fn encode_frame<F: Framing + ?Sized>(
        &mut self,
        item: T,
        framing: &mut F,
        _scratch: &mut BytesMut,
        dst: &mut BytesMut,
    ) -> Result<(), FrameError> {
        // The item already is the payload: frame it straight into `dst`, no scratch copy.
        framing.encode(item.as_ref(), dst)
    }
}
