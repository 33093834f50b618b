//! What a connection needs from its codec: requests decoded from the read buffer, responses
//! encoded into the outbound queue. [`ConnectionCodec`] is that contract.
//!
//! Every `tokio_util` codec that decodes requests and encodes responses is a
//! `ConnectionCodec`, through [`ResponseEncoder`] (which every `Encoder` is), so the simple path
//! stays simple. [`WithEncoder`] pairs a decoder with an encoder of your own, for a codec that
//! is an `Encoder` but should queue large payloads without copying them.

use bytes::BytesMut;
use tokio_util::codec::Decoder;

use crate::error::CodecError;
use crate::outbound::{Outbound, ResponseEncoder};

/// One connection's codec, as the server uses it: decode requests, encode `Resp`onses.
///
/// Implemented for every `tokio_util` [`Decoder`] that is also a [`ResponseEncoder<Resp>`]
/// (any `Encoder<Resp>`, or [`Vectored`](crate::Vectored)), and for [`WithEncoder`]. Each
/// connection has its own value: [`Server::serve`](crate::Server::serve) clones one,
/// [`Server::serve_with`](crate::Server::serve_with) calls a function for it.
///
/// ```
/// use bytes::{Bytes, BytesMut};
/// use framekit::{FrameCodec, framing::delimited::Delimited};
/// use framekit_server::{ConnectionCodec, Outbound};
///
/// let mut codec = FrameCodec::new(Delimited::newline());
/// let mut input = BytesMut::from(&b"ping\n"[..]);
/// let req = ConnectionCodec::<Bytes>::decode_request(&mut codec, &mut input, false).unwrap();
/// assert_eq!(req.as_deref(), Some(&b"ping"[..]));
/// let mut out = Outbound::new(1024);
/// codec.queue_response(Bytes::from_static(b"pong"), &mut out).unwrap();
/// assert_eq!(out.len(), 5);
/// ```
pub trait ConnectionCodec<Resp>: Send + 'static {
    /// The decoded request.
    type Request: Send + 'static;
    /// The decoder's error.
    type DecodeError: CodecError;
    /// The encoder's error.
    type EncodeError: CodecError;

    /// Decodes the next request from `buf` (`Decoder::decode`, or `Decoder::decode_eof` once
    /// the peer has closed its side).
    fn decode_request(
        &mut self,
        buf: &mut BytesMut,
        eof: bool,
    ) -> Result<Option<Self::Request>, Self::DecodeError>;

    /// Appends the wire form of `resp` to `out`.
    fn queue_response(&mut self, resp: Resp, out: &mut Outbound) -> Result<(), Self::EncodeError>;
}

impl<C, Resp> ConnectionCodec<Resp> for C
where
    C: Decoder + ResponseEncoder<Resp> + Send + 'static,
    C::Item: Send + 'static,
    <C as Decoder>::Error: CodecError,
{
    type Request = C::Item;
    type DecodeError = <C as Decoder>::Error;
    type EncodeError = <C as ResponseEncoder<Resp>>::Error;

    fn decode_request(
        &mut self,
        buf: &mut BytesMut,
        eof: bool,
    ) -> Result<Option<C::Item>, Self::DecodeError> {
        if eof {
            self.decode_eof(buf)
        } else {
            self.decode(buf)
        }
    }

    fn queue_response(&mut self, resp: Resp, out: &mut Outbound) -> Result<(), Self::EncodeError> {
        self.encode_response(resp, out)
    }
}

/// A decoder with a [`ResponseEncoder`] of your own: requests are decoded by `decoder`,
/// responses encoded by `encoder`.
///
/// For a codec that is a `tokio_util` `Encoder` (so clients can use it with `Framed`) and should
/// still write large payloads with vectored I/O on the server: every `Encoder` is a
/// `ResponseEncoder` that copies, so the vectored encoding is a second type, paired here.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// use std::time::Duration;
/// use bytes::{Bytes, BytesMut};
/// use framekit::framing::{Framing, length_prefixed::LengthPrefixed};
/// use framekit::{FrameCodec, FrameError};
/// use framekit_server::{Ctx, Outbound, ResponseEncoder, Server, WithEncoder};
///
/// /// Large values go to the socket as their own buffer, next to their length prefix.
/// #[derive(Clone)]
/// struct BigValues(LengthPrefixed);
///
/// impl ResponseEncoder<Bytes> for BigValues {
///     type Error = FrameError;
///     fn encode_response(&mut self, value: Bytes, out: &mut Outbound) -> Result<(), FrameError> {
///         self.0.encode_head(&value, out.buf_mut())?;
///         out.push_bytes(value); // not copied when large
///         Ok(())
///     }
/// }
///
/// let codec = FrameCodec::new(LengthPrefixed::u32_be()); // also an Encoder, for clients
/// let server = Server::bind("127.0.0.1:0").await?.serve(
///     WithEncoder::new(codec, BigValues(LengthPrefixed::u32_be())),
///     |_key: Bytes, _ctx: Ctx| async move { Some(Bytes::from(vec![b'v'; 64 * 1024])) },
/// );
/// server.shutdown(Duration::from_secs(1)).await;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Default)]
pub struct WithEncoder<D, E> {
    decoder: D,
    encoder: E,
}

impl<D, E> WithEncoder<D, E> {
    /// Decodes with `decoder`, encodes responses with `encoder`.
    ///
    /// ```
    /// use framekit::{FrameCodec, framing::delimited::Delimited};
    /// use framekit_server::{Vectored, WithEncoder};
    ///
    /// let pair = WithEncoder::new(FrameCodec::new(Delimited::newline()), Vectored::new(Delimited::newline()));
    /// let _ = (pair.decoder(), pair.encoder());
    /// ```
    pub fn new(decoder: D, encoder: E) -> Self {
        WithEncoder { decoder, encoder }
    }

    /// The decoder.
    ///
    /// ```
    /// use framekit::{FrameCodec, framing::delimited::Delimited};
    /// use framekit_server::{Vectored, WithEncoder};
    ///
    /// let pair = WithEncoder::new(FrameCodec::new(Delimited::newline()), Vectored::new(Delimited::newline()));
    /// let _decoder: &FrameCodec<Delimited> = pair.decoder();
    /// ```
    pub fn decoder(&self) -> &D {
        &self.decoder
    }

    /// The encoder.
    ///
    /// ```
    /// use framekit::{FrameCodec, framing::delimited::Delimited};
    /// use framekit_server::{Vectored, WithEncoder};
    ///
    /// let pair = WithEncoder::new(FrameCodec::new(Delimited::newline()), Vectored::new(Delimited::newline()));
    /// let _encoder: &Vectored<Delimited> = pair.encoder();
    /// ```
    pub fn encoder(&self) -> &E {
        &self.encoder
    }

    /// The decoder, to decode with.
    pub(crate) fn decoder_mut(&mut self) -> &mut D {
        &mut self.decoder
    }

    /// The decoder and the encoder.
    ///
    /// ```
    /// use framekit::{FrameCodec, framing::delimited::Delimited};
    /// use framekit_server::{Vectored, WithEncoder};
    ///
    /// let pair = WithEncoder::new(FrameCodec::new(Delimited::newline()), Vectored::new(Delimited::newline()));
    /// let (_decoder, _encoder) = pair.into_parts();
    /// ```
    pub fn into_parts(self) -> (D, E) {
        (self.decoder, self.encoder)
    }
}

impl<D, E, Resp> ConnectionCodec<Resp> for WithEncoder<D, E>
where
    D: Decoder + Send + 'static,
    D::Item: Send + 'static,
    D::Error: CodecError,
    E: ResponseEncoder<Resp> + Send + 'static,
{
    type Request = D::Item;
    type DecodeError = D::Error;
    type EncodeError = E::Error;

    fn decode_request(
        &mut self,
        buf: &mut BytesMut,
        eof: bool,
    ) -> Result<Option<D::Item>, D::Error> {
        if eof {
            self.decoder.decode_eof(buf)
        } else {
            self.decoder.decode(buf)
        }
    }

    fn queue_response(&mut self, resp: Resp, out: &mut Outbound) -> Result<(), E::Error> {
        self.encoder.encode_response(resp, out)
    }
}
