//! Payload codecs: what a frame's bytes mean, independent of where the frame ends.
//!
//! A framing cuts frames; a payload codec turns each frame's payload into an item and back.
//! [`FrameCodec`](crate::FrameCodec) composes one of each. Built in: [`Raw`] (the bytes
//! themselves), [`Utf8`] (validated text), `Json` (serde, feature `json`), and [`FnCodec`] for
//! closures; implement [`PayloadDecoder`] / [`PayloadEncoder`] for anything else.

use std::error::Error as StdError;

use bytes::{Bytes, BytesMut};

use crate::framing::Framing;
use crate::FrameError;

mod closure;
#[cfg(feature = "json")]
mod json;
mod raw;
mod text;

pub use closure::{fn_codec, FnCodec};
#[cfg(feature = "json")]
pub use json::Json;
pub use raw::Raw;
pub use text::{Text, Utf8};

/// The error a payload codec reports; the frame codec wraps it with the frame's offset.
///
/// ```
/// let e: framekit::payload::PayloadError = "bad payload".into();
/// assert_eq!(e.to_string(), "bad payload");
/// ```
pub type PayloadError = Box<dyn StdError + Send + Sync>;

/// Turns one frame's payload into an item.
///
/// The payload is a zero-copy [`Bytes`] slice of the read buffer; keep it (or slices of it) in
/// the item to avoid copying.
///
/// ```
/// use bytes::Bytes;
/// use framekit::payload::{PayloadDecoder, PayloadError};
///
/// /// Payloads are ASCII decimal numbers.
/// struct Decimal;
///
/// impl PayloadDecoder for Decimal {
///     type Item = u64;
///     fn decode_payload(&mut self, payload: Bytes) -> Result<u64, PayloadError> {
///         Ok(std::str::from_utf8(&payload)?.parse()?)
///     }
/// }
///
/// assert_eq!(Decimal.decode_payload(Bytes::from_static(b"42")).unwrap(), 42);
/// assert!(Decimal.decode_payload(Bytes::from_static(b"4x")).is_err());
/// ```
pub trait PayloadDecoder {
    /// What a payload decodes to.
    type Item;

    /// Decodes one payload.
    fn decode_payload(&mut self, payload: Bytes) -> Result<Self::Item, PayloadError>;
}

/// Turns an item into the payload of one frame.
///
/// ```
/// use bytes::BytesMut;
/// use framekit::payload::{PayloadEncoder, PayloadError};
///
/// struct Decimal;
///
/// impl PayloadEncoder<u64> for Decimal {
///     fn encode_payload(&mut self, item: u64, dst: &mut BytesMut) -> Result<(), PayloadError> {
///         dst.extend_from_slice(item.to_string().as_bytes());
///         Ok(())
///     }
/// }
///
/// let mut dst = BytesMut::new();
/// Decimal.encode_payload(42, &mut dst).unwrap();
/// assert_eq!(&dst[..], b"42");
/// ```
pub trait PayloadEncoder<T> {
    /// Appends the payload bytes of `item` to `dst` (no framing: no prefix, no delimiter).
    fn encode_payload(&mut self, item: T, dst: &mut BytesMut) -> Result<(), PayloadError>;

    /// Writes `item` as one whole frame of `framing` into `dst`.
    ///
    /// The default encodes the payload into the reusable `scratch` buffer first, because a
    /// framing may need the payload's length before its first byte (a length prefix). Codecs whose
    /// items already are bytes override this to frame them without the extra copy.
    fn encode_frame<F: Framing + ?Sized>(
        &mut self,
        item: T,
        framing: &mut F,
        scratch: &mut BytesMut,
        dst: &mut BytesMut,
    ) -> Result<(), FrameError> {
        scratch.clear();
        self.encode_payload(item, scratch)
            .map_err(|e| FrameError::unencodable(scratch.len(), e.to_string()))?;
        framing.encode(scratch, dst)
    }
}
