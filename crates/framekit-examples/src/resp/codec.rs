//! The RESP connection codec: requests found by [`RequestBoundary`] and decoded once each by
//! [`RequestParser`] through framekit's [`NomCodec`], replies encoded from [`Value`]s.

use bytes::{Bytes, BytesMut};
use framekit::framing::nom::NomCodec;
use framekit::FrameError;
use tokio_util::codec::{Decoder, Encoder};

use super::{Request, RequestBoundary, RequestParser, Value};

/// A `tokio_util` codec for the server side of RESP2.
///
/// ```
/// use bytes::{Bytes, BytesMut};
/// use framekit_examples::resp::{RequestParser, RespCodec, Value};
/// use tokio_util::codec::{Decoder, Encoder};
///
/// let mut codec = RespCodec::new(RequestParser::new());
/// let mut input = BytesMut::from(&b"PING\r\n"[..]);
/// assert_eq!(codec.decode(&mut input).unwrap().unwrap().unwrap(), ["PING"]);
/// let mut output = BytesMut::new();
/// codec.encode(Value::Simple("PONG"), &mut output).unwrap();
/// assert_eq!(&output[..], b"+PONG\r\n");
/// ```
#[derive(Debug)]
pub struct RespCodec {
    requests: NomCodec<RequestParser, RequestBoundary>,
}

impl RespCodec {
    /// A codec with `parser`'s limits. The frame limit of the underlying [`NomCodec`] sits just
    /// above the parser's request limit, so oversized requests are answered as protocol errors
    /// by the parser instead of failing the decoder. A [`RequestBoundary`] with the same limits
    /// finds where each request ends, so the parser runs once per request: a request of n
    /// bytes costs O(n) however it is chunked.
    pub fn new(parser: RequestParser) -> Self {
        let max = parser.get_max_request_len().saturating_add(1);
        let boundary = RequestBoundary::new(&parser);
        RespCodec {
            requests: NomCodec::with_boundary(parser, boundary).max_frame_len(max),
        }
    }
}

impl Decoder for RespCodec {
    type Item = Request;
    type Error = FrameError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Request>, FrameError> {
        self.requests.decode(src)
    }

    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<Request>, FrameError> {
        self.requests.decode_eof(src)
    }
}

impl Encoder<Value> for RespCodec {
    type Error = FrameError;

    fn encode(&mut self, value: Value, dst: &mut BytesMut) -> Result<(), FrameError> {
        value.encode(dst);
        Ok(())
    }
}

/// Replies that are RESP bytes already (a proxy passes a backend's reply on as it came) go out
/// as they are.
///
/// ```
/// use bytes::{Bytes, BytesMut};
/// use framekit_examples::resp::{RequestParser, RespCodec};
/// use tokio_util::codec::Encoder;
///
/// let mut output = BytesMut::new();
/// RespCodec::new(RequestParser::new()).encode(Bytes::from_static(b"$-1\r\n"), &mut output)?;
/// assert_eq!(&output[..], b"$-1\r\n");
/// # Ok::<(), framekit::FrameError>(())
/// ```
impl Encoder<Bytes> for RespCodec {
    type Error = FrameError;

    fn encode(&mut self, reply: Bytes, dst: &mut BytesMut) -> Result<(), FrameError> {
        dst.extend_from_slice(&reply);
        Ok(())
    }
}

/// A clone is a fresh codec with the same limits: parsed-but-undelivered requests belong to
/// one connection and are not copied (the server clones a template codec per connection).
impl Clone for RespCodec {
    fn clone(&self) -> Self {
        RespCodec::new(self.requests.parser().fresh())
    }
}
