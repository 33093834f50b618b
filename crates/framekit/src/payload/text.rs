//! The UTF-8 payload codec: frames are validated text, still zero-copy.

use std::fmt;
use std::ops::Deref;

use bytes::{Bytes, BytesMut};

use super::{PayloadDecoder, PayloadEncoder, PayloadError};
use crate::framing::Framing;
use crate::FrameError;

/// Payloads are UTF-8 text. Decoding validates each payload and yields a [`Text`] that shares
/// the read buffer; an invalid payload is a [`FrameError::Payload`] for that frame only, and the
/// next frame decodes normally.
///
/// ```
/// use bytes::Bytes;
/// use framekit::payload::{PayloadDecoder, Utf8};
///
/// assert_eq!(Utf8.decode_payload(Bytes::from_static("héllo".as_bytes())).unwrap(), "héllo");
/// assert!(Utf8.decode_payload(Bytes::from_static(b"\xff")).is_err());
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Utf8;

/// A zero-copy, validated UTF-8 string: a [`Bytes`] known to hold UTF-8.
///
/// ```
/// use framekit::payload::Text;
///
/// let t = Text::try_from(bytes::Bytes::from_static(b"hi")).unwrap();
/// assert_eq!(t.len(), 2);
/// assert_eq!(&*t, "hi");
/// ```
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Text(Bytes);

impl Text {
    /// The text as a `&str`.
    ///
    /// ```
    /// assert_eq!(framekit::payload::Text::from_static("hi").as_str(), "hi");
    /// ```
    pub fn as_str(&self) -> &str {
        // Construction validated the bytes; re-checking here would rescan every byte.
        match std::str::from_utf8(&self.0) {
            Ok(s) => s,
            Err(_) => unreachable!("Text is validated on construction"),
        }
    }

    /// The underlying bytes.
    ///
    /// ```
    /// assert_eq!(framekit::payload::Text::from_static("hi").into_bytes(), "hi");
    /// ```
    pub fn into_bytes(self) -> Bytes {
        self.0
    }

    /// A `'static` text without copying.
    ///
    /// ```
    /// const OK: framekit::payload::Text = framekit::payload::Text::from_static("OK");
    /// ```
    pub const fn from_static(s: &'static str) -> Self {
        Text(Bytes::from_static(s.as_bytes()))
    }
}

impl TryFrom<Bytes> for Text {
    type Error = std::str::Utf8Error;

    fn try_from(bytes: Bytes) -> Result<Self, Self::Error> {
        std::str::from_utf8(&bytes)?;
        Ok(Text(bytes))
    }
}

impl From<String> for Text {
    fn from(s: String) -> Self {
        Text(Bytes::from(s))
    }
}

impl From<&'static str> for Text {
    fn from(s: &'static str) -> Self {
        Text::from_static(s)
    }
}

impl Deref for Text {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for Text {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<[u8]> for Text {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl PartialEq<str> for Text {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Text {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self.as_str(), f)
    }
}

impl PayloadDecoder for Utf8 {
    type Item = Text;

    fn decode_payload(&mut self, payload: Bytes) -> Result<Text, PayloadError> {
        Ok(Text::try_from(payload)?)
    }
}

impl<T: AsRef<str>> PayloadEncoder<T> for Utf8 {
    fn encode_payload(&mut self, item: T, dst: &mut BytesMut) -> Result<(), PayloadError> {
        dst.extend_from_slice(item.as_ref().as_bytes());
        Ok(())
    }

    fn encode_frame<F: Framing + ?Sized>(
        &mut self,
        item: T,
        framing: &mut F,
        _scratch: &mut BytesMut,
        dst: &mut BytesMut,
    ) -> Result<(), FrameError> {
        framing.encode(item.as_ref().as_bytes(), dst)
    }
}
