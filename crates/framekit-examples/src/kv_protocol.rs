//! The binary key-value protocol of `kv_server` and `kv_client`: GET, SET and DEL with status
//! codes, each message the payload of one frame behind a u32 big-endian length prefix.
//!
//! ```text
//! frame     +----------------+---------------------------+
//!           | length: u32 BE | payload (length bytes)    |
//!           +----------------+---------------------------+
//!
//! request   +--------+-----------------+-----------+---------------------------+
//! payload   | op: u8 | key_len: u16 BE | key       | value (SET only: the rest) |
//!           +--------+-----------------+-----------+---------------------------+
//!           op: 0x01 GET, 0x02 SET, 0x03 DEL
//!
//! response  +------------+------------------------------------+
//! payload   | status: u8 | value (GET with status OK: the rest) |
//!           +------------+------------------------------------+
//!           status: 0x00 OK, 0x01 NOT_FOUND, 0x02 BAD_REQUEST, 0x03 TOO_LARGE
//!
//! GET "k"        00 00 00 04 | 01 00 01 6b
//! SET "k" = "v"  00 00 00 05 | 02 00 01 6b 76
//! reply OK "v"   00 00 00 02 | 00 76
//! ```
//!
//! Responses come in request order, one per request. A payload that is not a valid request gets
//! `BAD_REQUEST` and the connection goes on (the frame boundary is intact); a frame over the
//! server's maximum gets `TOO_LARGE` and the connection is closed.

use std::fmt;
use std::time::Instant;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use framekit::framing::length_prefixed::LengthPrefixed;
use framekit::payload::{PayloadDecoder, PayloadEncoder, PayloadError};
use framekit::FrameCodec;

use crate::store::{Condition, Expiry, Store};

/// Default largest frame payload: 1 MiB.
pub const DEFAULT_MAX_FRAME_LEN: usize = 1024 * 1024;

/// Operation code of GET.
pub const OP_GET: u8 = 0x01;
/// Operation code of SET.
pub const OP_SET: u8 = 0x02;
/// Operation code of DEL.
pub const OP_DEL: u8 = 0x03;

/// A request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KvRequest {
    /// Read `key`: OK with the value, or NOT_FOUND.
    Get {
        /// The key.
        key: Bytes,
    },
    /// Write `value` under `key`: OK.
    Set {
        /// The key.
        key: Bytes,
        /// The value.
        value: Bytes,
    },
    /// Remove `key`: OK if it existed, else NOT_FOUND.
    Del {
        /// The key.
        key: Bytes,
    },
}

/// A response status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Status {
    /// Done; a GET response carries the value.
    Ok = 0x00,
    /// No such key.
    NotFound = 0x01,
    /// The payload was not a valid request.
    BadRequest = 0x02,
    /// The frame was over the server's maximum; the server closes the connection after it.
    TooLarge = 0x03,
}

/// A response: a status and, for a successful GET, the value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KvResponse {
    /// The status.
    pub status: Status,
    /// The value (empty unless a GET succeeded).
    pub value: Bytes,
}

impl KvResponse {
    /// A response with `status` and no value.
    pub fn status(status: Status) -> Self {
        KvResponse {
            status,
            value: Bytes::new(),
        }
    }

    /// An OK response carrying `value`.
    pub fn value(value: Bytes) -> Self {
        KvResponse {
            status: Status::Ok,
            value,
        }
    }
}

/// Why a payload is not a valid message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KvDecodeError {
    /// The payload is shorter than its header says.
    Truncated {
        /// Bytes needed.
        needed: usize,
        /// Bytes present.
        len: usize,
    },
    /// An operation or status byte that is not defined.
    UnknownCode(u8),
    /// A GET or DEL with bytes after the key.
    TrailingBytes(usize),
}

impl fmt::Display for KvDecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KvDecodeError::Truncated { needed, len } => {
                write!(f, "payload of {len} bytes, its header needs {needed}")
            }
            KvDecodeError::UnknownCode(c) => write!(f, "unknown code 0x{c:02x}"),
            KvDecodeError::TrailingBytes(n) => write!(f, "{n} bytes after the key"),
        }
    }
}

impl std::error::Error for KvDecodeError {}

/// A request as it lies in the read buffer: keys and values borrowed from the payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KvView<'a> {
    /// Read `key`.
    Get {
        /// The key.
        key: &'a [u8],
    },
    /// Write `value` under `key`.
    Set {
        /// The key.
        key: &'a [u8],
        /// The value.
        value: &'a [u8],
    },
    /// Remove `key`.
    Del {
        /// The key.
        key: &'a [u8],
    },
}

impl<'a> KvView<'a> {
    /// Parses a request payload where it lies (the one request parser: [`KvRequest::decode`]
    /// uses it too).
    ///
    /// ```
    /// use framekit_examples::kv_protocol::KvView;
    /// assert_eq!(KvView::parse(b"\x02\x00\x01kv"), Ok(KvView::Set { key: b"k", value: b"v" }));
    /// assert!(KvView::parse(b"\x01\x00\x05k").is_err());
    /// ```
    pub fn parse(payload: &'a [u8]) -> Result<KvView<'a>, KvDecodeError> {
        let len = payload.len();
        let [op, hi, lo, rest @ ..] = payload else {
            return Err(KvDecodeError::Truncated { needed: 3, len });
        };
        let key_len = usize::from(u16::from_be_bytes([*hi, *lo]));
        let Some((key, value)) = rest.split_at_checked(key_len) else {
            return Err(KvDecodeError::Truncated {
                needed: 3 + key_len,
                len,
            });
        };
        match *op {
            OP_SET => Ok(KvView::Set { key, value }),
            OP_GET | OP_DEL if !value.is_empty() => Err(KvDecodeError::TrailingBytes(value.len())),
            OP_GET => Ok(KvView::Get { key }),
            OP_DEL => Ok(KvView::Del { key }),
            other => Err(KvDecodeError::UnknownCode(other)),
        }
    }
}

impl KvRequest {
    /// Parses a request payload; keys and values are zero-copy slices of it.
    pub fn decode(payload: Bytes) -> Result<KvRequest, KvDecodeError> {
        Ok(match KvView::parse(&payload)? {
            KvView::Get { key } => KvRequest::Get {
                key: payload.slice_ref(key),
            },
            KvView::Set { key, value } => KvRequest::Set {
                key: payload.slice_ref(key),
                value: payload.slice_ref(value),
            },
            KvView::Del { key } => KvRequest::Del {
                key: payload.slice_ref(key),
            },
        })
    }

    /// The request as a view of its own bytes.
    pub fn as_view(&self) -> KvView<'_> {
        match self {
            KvRequest::Get { key } => KvView::Get { key },
            KvRequest::Set { key, value } => KvView::Set { key, value },
            KvRequest::Del { key } => KvView::Del { key },
        }
    }

    /// Appends the request payload to `dst`. Keys over 65535 bytes cannot be encoded.
    pub fn encode(&self, dst: &mut BytesMut) -> Result<(), PayloadError> {
        let (op, key, value) = match self {
            KvRequest::Get { key } => (OP_GET, key, None),
            KvRequest::Set { key, value } => (OP_SET, key, Some(value)),
            KvRequest::Del { key } => (OP_DEL, key, None),
        };
        let key_len = u16::try_from(key.len()).map_err(|_| "key over 65535 bytes")?;
        dst.reserve(3 + key.len() + value.map_or(0, |v| v.len()));
        dst.put_u8(op);
        dst.put_u16(key_len);
        dst.put_slice(key);
        if let Some(value) = value {
            dst.put_slice(value);
        }
        Ok(())
    }
}

impl KvResponse {
    /// Parses a response payload.
    pub fn decode(mut payload: Bytes) -> Result<KvResponse, KvDecodeError> {
        let Some(&code) = payload.first() else {
            return Err(KvDecodeError::Truncated { needed: 1, len: 0 });
        };
        let status = match code {
            0x00 => Status::Ok,
            0x01 => Status::NotFound,
            0x02 => Status::BadRequest,
            0x03 => Status::TooLarge,
            other => return Err(KvDecodeError::UnknownCode(other)),
        };
        payload.advance(1);
        Ok(KvResponse {
            status,
            value: payload,
        })
    }

    /// Appends the response payload to `dst`.
    pub fn encode(&self, dst: &mut BytesMut) {
        dst.reserve(1 + self.value.len());
        dst.put_u8(self.status as u8);
        dst.put_slice(&self.value);
    }
}

/// Runs one request against `store`; values are copied out of the read buffer before they are
/// stored.
///
/// ```
/// use std::time::Instant;
/// use bytes::Bytes;
/// use framekit_examples::kv_protocol::{apply, KvRequest, KvResponse, Status};
/// use framekit_examples::store::Store;
///
/// let mut store = Store::new();
/// let now = Instant::now();
/// let set = KvRequest::Set { key: Bytes::from("k"), value: Bytes::from("v") };
/// assert_eq!(apply(&mut store, Ok(set), now), KvResponse::status(Status::Ok));
/// let get = KvRequest::Get { key: Bytes::from("k") };
/// assert_eq!(apply(&mut store, Ok(get), now), KvResponse::value(Bytes::from("v")));
/// ```
pub fn apply(
    store: &mut Store,
    request: Result<KvRequest, KvDecodeError>,
    now: Instant,
) -> KvResponse {
    apply_view(
        store,
        request
            .as_ref()
            .map(KvRequest::as_view)
            .map_err(Clone::clone),
        now,
    )
}

/// Runs one request, as it lies in the read buffer, against `store` (what [`apply`] does for
/// an owned request).
///
/// ```
/// use std::time::Instant;
/// use framekit_examples::kv_protocol::{apply_view, KvView, Status};
/// use framekit_examples::store::Store;
///
/// let mut store = Store::new();
/// let set = KvView::Set { key: b"k", value: b"v" };
/// assert_eq!(apply_view(&mut store, Ok(set), Instant::now()).status, Status::Ok);
/// ```
pub fn apply_view(
    store: &mut Store,
    request: Result<KvView<'_>, KvDecodeError>,
    now: Instant,
) -> KvResponse {
    match request {
        Err(_) => KvResponse::status(Status::BadRequest),
        Ok(KvView::Get { key }) => match store.get(key, now) {
            Some(value) => KvResponse::value(Bytes::copy_from_slice(value)),
            None => KvResponse::status(Status::NotFound),
        },
        Ok(KvView::Set { key, value }) => {
            store.set(key, value, Expiry::Never, Condition::Always, now);
            KvResponse::status(Status::Ok)
        }
        Ok(KvView::Del { key }) => match store.remove(key, now) {
            true => KvResponse::status(Status::Ok),
            false => KvResponse::status(Status::NotFound),
        },
    }
}

/// The server's payload codec: requests in (a bad one is an `Err` item, not a stream error),
/// responses out.
#[derive(Debug, Clone, Copy, Default)]
pub struct ServerPayload;

impl PayloadDecoder for ServerPayload {
    type Item = Result<KvRequest, KvDecodeError>;
    fn decode_payload(&mut self, payload: Bytes) -> Result<Self::Item, PayloadError> {
        Ok(KvRequest::decode(payload))
    }
}

impl PayloadEncoder<KvResponse> for ServerPayload {
    fn encode_payload(&mut self, item: KvResponse, dst: &mut BytesMut) -> Result<(), PayloadError> {
        item.encode(dst);
        Ok(())
    }
}

/// The client's payload codec: requests out, responses in.
#[derive(Debug, Clone, Copy, Default)]
pub struct ClientPayload;

impl PayloadDecoder for ClientPayload {
    type Item = KvResponse;
    fn decode_payload(&mut self, payload: Bytes) -> Result<KvResponse, PayloadError> {
        Ok(KvResponse::decode(payload)?)
    }
}

impl PayloadEncoder<KvRequest> for ClientPayload {
    fn encode_payload(&mut self, item: KvRequest, dst: &mut BytesMut) -> Result<(), PayloadError> {
        item.encode(dst)
    }
}

/// The server's codec: u32 BE length prefix, frames up to `max_frame_len` bytes.
pub fn server_codec(max_frame_len: usize) -> FrameCodec<LengthPrefixed, ServerPayload> {
    FrameCodec::with_payload(
        LengthPrefixed::u32_be().max_frame_len(max_frame_len),
        ServerPayload,
    )
}

/// The client's codec: u32 BE length prefix, frames up to `max_frame_len` bytes.
pub fn client_codec(max_frame_len: usize) -> FrameCodec<LengthPrefixed, ClientPayload> {
    FrameCodec::with_payload(
        LengthPrefixed::u32_be().max_frame_len(max_frame_len),
        ClientPayload,
    )
}

#[cfg(test)]
mod tests;
