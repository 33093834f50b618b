//! What a connection needs from its codec: requests lent from the read buffer
//! ([`framekit::connection::Decode`]) and answers encoded into the output (`tokio_util`'s
//! `Encoder`). [`ServerCodec`] names that pair; [`WithEncoder`] builds one from a request-only
//! decoder and an encoder of your own, for a protocol whose answers have another shape than its
//! requests; [`Codecs`] is how a server gets one codec per connection (a clone, or a factory).

use bytes::BytesMut;
use framekit::connection::{CodecError, Decode};
use tokio_util::codec::{Decoder, Encoder};

/// A codec a server can run: it lends requests out of the read buffer and encodes `R`, with
/// errors that say their kind ([`CodecError`]).
///
/// Implemented for every type that is both; [`framekit::FrameCodec`] lends each frame's payload
/// as `&[u8]`, [`framekit::connection::Owned`] turns any `tokio_util` decoder into one that
/// lends owned items.
///
/// ```
/// use bytes::Bytes;
/// use framekit::{FrameCodec, framing::delimited::Delimited};
/// use framekit_server::codec::ServerCodec;
///
/// fn runs<C: ServerCodec<Bytes>>(_: &C) {}
/// runs(&FrameCodec::new(Delimited::newline()));
/// ```
pub trait ServerCodec<R>:
    Decode<Error: CodecError> + Encoder<R, Error: CodecError> + Send + 'static
{
}

impl<C, R> ServerCodec<R> for C where
    C: Decode<Error: CodecError> + Encoder<R, Error: CodecError> + Send + 'static
{
}

/// Where a server gets each connection's codec: a codec that is `Clone` is cloned; a
/// function of no arguments is called (for a codec that is not `Clone`, or that must start
/// fresh). `How` is inferred: [`Cloned`] or [`Made`]; `R` is what the codec encodes.
///
/// ```
/// use bytes::Bytes;
/// use framekit::{FrameCodec, framing::delimited::Delimited};
/// use framekit_server::codec::{Cloned, Codecs, Made};
///
/// let cloned = FrameCodec::new(Delimited::newline());
/// let made = || FrameCodec::new(Delimited::crlf().max_frame_len(1024));
/// let _ = Codecs::<Cloned, Bytes>::make(&cloned);
/// let _ = Codecs::<Made, Bytes>::make(&made);
/// ```
pub trait Codecs<How, R>: Send + Sync + 'static {
    /// The codec each connection gets.
    type Codec: Send + 'static;
    /// The codec of a new connection.
    fn make(&self) -> Self::Codec;
}

/// [`Codecs`] of a codec that is cloned for every connection.
#[derive(Debug)]
pub enum Cloned {}

/// [`Codecs`] of a function that makes every connection's codec.
#[derive(Debug)]
pub enum Made {}

impl<C: Encoder<R> + Clone + Send + Sync + 'static, R> Codecs<Cloned, R> for C {
    type Codec = C;
    fn make(&self) -> C {
        self.clone()
    }
}

impl<F, C, R> Codecs<Made, R> for F
where
    F: Fn() -> C + Send + Sync + 'static,
    C: Encoder<R> + Send + 'static,
{
    type Codec = C;
    fn make(&self) -> C {
        self()
    }
}

/// A request decoder paired with an encoder of your own: requests are decoded by `decoder`,
/// answers encoded by `encoder`. For a framing that only describes requests (memcached's
/// command lines and data blocks), so its answers need no fake request encoding.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// use std::time::Duration;
/// use bytes::Bytes;
/// use framekit::{FrameCodec, framing::delimited::Delimited};
/// use framekit_server::{Ctx, Server, codec::WithEncoder};
/// use tokio_util::codec::BytesCodec;
///
/// // Requests are lines; answers are raw bytes, written as they are.
/// let codec = WithEncoder::new(FrameCodec::new(Delimited::newline()), BytesCodec::new());
/// let server = Server::bind("127.0.0.1:0").await?
///     .serve(codec, |line: Bytes, _ctx: Ctx| async move { Some(Bytes::from(format!("{}\r\n", line.len()))) });
/// server.shutdown(Duration::from_secs(1)).await;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Default)]
pub struct WithEncoder<D, E> {
    decoder: D,
    encoder: E,
}

impl<D, E> WithEncoder<D, E> {
    /// Decodes with `decoder`, encodes answers with `encoder`.
    ///
    /// ```
    /// use framekit::{FrameCodec, framing::delimited::Delimited};
    /// use framekit_server::codec::WithEncoder;
    /// use tokio_util::codec::BytesCodec;
    ///
    /// let pair = WithEncoder::new(FrameCodec::new(Delimited::newline()), BytesCodec::new());
    /// let (_decoder, _encoder) = (pair.decoder(), pair.encoder());
    /// ```
    pub fn new(decoder: D, encoder: E) -> Self {
        WithEncoder { decoder, encoder }
    }

    /// The decoder.
    ///
    /// ```
    /// use framekit::{FrameCodec, framing::delimited::Delimited};
    /// use framekit_server::codec::WithEncoder;
    /// let pair = WithEncoder::new(FrameCodec::new(Delimited::newline()), ());
    /// let _decoder: &FrameCodec<Delimited> = pair.decoder();
    /// ```
    pub fn decoder(&self) -> &D {
        &self.decoder
    }

    /// The encoder.
    ///
    /// ```
    /// use framekit_server::codec::WithEncoder;
    /// let pair = WithEncoder::new((), 7u8);
    /// assert_eq!(*pair.encoder(), 7);
    /// ```
    pub fn encoder(&self) -> &E {
        &self.encoder
    }

    /// The decoder and the encoder.
    ///
    /// ```
    /// use framekit_server::codec::WithEncoder;
    /// assert_eq!(WithEncoder::new(1u8, 2u8).into_parts(), (1, 2));
    /// ```
    pub fn into_parts(self) -> (D, E) {
        (self.decoder, self.encoder)
    }
}

impl<D: Decode, E> Decode for WithEncoder<D, E> {
    type Found = D::Found;
    type View<'b> = D::View<'b>;
    type Error = D::Error;

    #[inline]
    fn decode(&mut self, buf: &mut BytesMut, eof: bool) -> Result<Option<D::Found>, D::Error> {
        self.decoder.decode(buf, eof)
    }

    #[inline]
    fn view<'b>(&self, buf: &'b BytesMut, found: D::Found) -> (D::View<'b>, usize) {
        self.decoder.view(buf, found)
    }
}

/// For the owned style ([`framekit::connection::Owned`] over the pair).
impl<D: Decoder, E> Decoder for WithEncoder<D, E> {
    type Item = D::Item;
    type Error = D::Error;

    fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<D::Item>, D::Error> {
        self.decoder.decode(buf)
    }

    fn decode_eof(&mut self, buf: &mut BytesMut) -> Result<Option<D::Item>, D::Error> {
        self.decoder.decode_eof(buf)
    }
}

impl<D, E: Encoder<T>, T> Encoder<T> for WithEncoder<D, E> {
    type Error = E::Error;

    #[inline]
    fn encode(&mut self, item: T, dst: &mut BytesMut) -> Result<(), E::Error> {
        self.encoder.encode(item, dst)
    }
}
