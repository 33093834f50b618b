//! A codec made of two: one decodes what arrives, the other encodes what leaves.
//!
//! framekit's [`FrameCodec`](framekit::FrameCodec) checks its one maximum frame length in both
//! directions, but a reply can rightly be longer than the request it answers (`ack:` + a line
//! of the maximum length; `<id>: ` + a chat line). Splitting the halves lets each direction
//! carry its own limit.

use bytes::BytesMut;
use framekit_server::ViewDecoder;
use tokio_util::codec::{Decoder, Encoder};

/// Decodes with `D`, encodes with `E`.
///
/// ```
/// use bytes::BytesMut;
/// use framekit::{FrameCodec, framing::delimited::Delimited};
/// use framekit_examples::split_codec::SplitCodec;
/// use tokio_util::codec::{Decoder, Encoder};
///
/// let mut codec = SplitCodec::new(
///     FrameCodec::new(Delimited::newline().max_frame_len(4)),
///     FrameCodec::new(Delimited::newline().max_frame_len(8)),
/// );
/// let mut out = BytesMut::new();
/// codec.encode(&b"ack:1234"[..], &mut out).unwrap(); // 8 bytes out, though only 4 come in
/// let mut input = BytesMut::from(&b"12345\n"[..]);
/// assert!(codec.decode(&mut input).unwrap_err().is_too_long());
/// ```
#[derive(Debug, Clone)]
pub struct SplitCodec<D, E> {
    decoder: D,
    encoder: E,
}

impl<D, E> SplitCodec<D, E> {
    /// A codec decoding with `decoder` and encoding with `encoder`.
    pub fn new(decoder: D, encoder: E) -> Self {
        SplitCodec { decoder, encoder }
    }
}

impl<D: Decoder, E> Decoder for SplitCodec<D, E> {
    type Item = D::Item;
    type Error = D::Error;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<D::Item>, D::Error> {
        self.decoder.decode(src)
    }

    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<D::Item>, D::Error> {
        self.decoder.decode_eof(src)
    }
}

impl<D, E: Encoder<T>, T> Encoder<T> for SplitCodec<D, E> {
    type Error = E::Error;

    fn encode(&mut self, item: T, dst: &mut BytesMut) -> Result<(), E::Error> {
        self.encoder.encode(item, dst)
    }
}

/// Borrowed requests come from the decoding half, as they do owned ones.
impl<D: ViewDecoder, E: Send + 'static> ViewDecoder for SplitCodec<D, E> {
    type View<'b> = D::View<'b>;
    type Error = D::Error;

    fn decode_view<'b>(
        &mut self,
        buf: &'b mut BytesMut,
        eof: bool,
    ) -> Result<Option<(D::View<'b>, usize)>, D::Error> {
        self.decoder.decode_view(buf, eof)
    }
}
