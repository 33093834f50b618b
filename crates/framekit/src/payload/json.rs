//! The JSON payload codec (feature `json`): one serde value per frame.

use std::fmt;
use std::marker::PhantomData;

use bytes::{BufMut, Bytes, BytesMut};
use serde::{de::DeserializeOwned, Serialize};

use super::{PayloadDecoder, PayloadEncoder, PayloadError};

/// Payloads are JSON documents: each frame decodes to a `T` and each `T` (or anything
/// serializable, by reference or by value) encodes as one frame.
///
/// ```
/// use bytes::{Bytes, BytesMut};
/// use framekit::payload::{Json, PayloadDecoder, PayloadEncoder};
///
/// #[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
/// struct Ping { seq: u32 }
///
/// let mut codec = Json::<Ping>::new();
/// let mut out = BytesMut::new();
/// codec.encode_payload(&Ping { seq: 7 }, &mut out).unwrap();
/// assert_eq!(&out[..], br#"{"seq":7}"#);
/// assert_eq!(codec.decode_payload(out.freeze()).unwrap(), Ping { seq: 7 });
/// ```
pub struct Json<T> {
    _item: PhantomData<fn() -> T>,
}

impl<T> Json<T> {
    /// A JSON codec for items of type `T`.
    ///
    /// ```
    /// let codec = framekit::payload::Json::<serde_json::Value>::new();
    /// ```
    pub const fn new() -> Self {
        Json { _item: PhantomData }
    }
}

impl<T> Default for Json<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> Clone for Json<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for Json<T> {}

impl<T> fmt::Debug for Json<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Json<{}>", std::any::type_name::<T>())
    }
}

impl<T: DeserializeOwned> PayloadDecoder for Json<T> {
    type Item = T;

    fn decode_payload(&mut self, payload: Bytes) -> Result<T, PayloadError> {
        Ok(serde_json::from_slice(&payload)?)
    }
}

impl<T, U: Serialize> PayloadEncoder<U> for Json<T> {
    fn encode_payload(&mut self, item: U, dst: &mut BytesMut) -> Result<(), PayloadError> {
        Ok(serde_json::to_writer(dst.writer(), &item)?)
    }
}
