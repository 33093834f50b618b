//! What a client needs from its codec ([`ClientCodec`]): the machine's [`Decode`] and an
//! encoder for requests, plus a way to turn an answer lent from the read buffer into a value
//! the caller owns. Framekit framings (answers as [`Bytes`]) and any tokio-util codec wrapped
//! in [`Owned`] (answers as its items) are client codecs as they are.

use bytes::Bytes;
use framekit::connection::{Decode, Owned};
use framekit::framing::Framing;
use framekit::FrameCodec;
use tokio_util::codec::{Decoder, Encoder};

/// A codec a client connection can run: it decodes answers for the connection machine,
/// encodes requests of type `Req`, and owns each answer before it goes to its caller.
///
/// ```
/// use bytes::{Bytes, BytesMut};
/// use framekit::{FrameCodec, framing::delimited::Delimited};
/// use framekit::connection::{Decode, Owned};
/// use framekit_client::ClientCodec;
/// use tokio_util::codec::LinesCodec;
///
/// let mut frames = FrameCodec::new(Delimited::newline());
/// let mut buf = BytesMut::from(&b"+OK\n"[..]);
/// let (view, _) = frames.decode_view(&mut buf, false)?.unwrap();
/// let answer: Bytes = <FrameCodec<Delimited> as ClientCodec<Bytes>>::own(view);
/// assert_eq!(answer, "+OK");
///
/// let mut lines = Owned(LinesCodec::new());
/// let mut buf = BytesMut::from(&b"pong\n"[..]);
/// let (view, _) = lines.decode_view(&mut buf, false).unwrap().unwrap();
/// assert_eq!(<Owned<LinesCodec> as ClientCodec<String>>::own(view), "pong");
/// # Ok::<(), framekit::FrameError>(())
/// ```
pub trait ClientCodec<Req>: Decode + Encoder<Req> + Send + 'static {
    /// An answer as its caller receives it.
    type Answer: Send + 'static;

    /// The answer lent by the machine, as an owned value.
    fn own(view: Self::View<'_>) -> Self::Answer;
}

/// A framing's answers are the payload bytes (one copy, out of the read buffer).
impl<F, P, Req> ClientCodec<Req> for FrameCodec<F, P>
where
    F: Framing + Send + 'static,
    P: Send + 'static,
    FrameCodec<F, P>: Encoder<Req>,
{
    type Answer = Bytes;

    fn own(view: &[u8]) -> Bytes {
        Bytes::copy_from_slice(view)
    }
}

/// A tokio-util codec's answers are its items, already owned.
impl<D, Req> ClientCodec<Req> for Owned<D>
where
    D: Decoder + Encoder<Req> + Send + 'static,
    <D as Decoder>::Error: framekit::connection::CodecError,
    D::Item: Send + 'static,
{
    type Answer = D::Item;

    fn own(view: D::Item) -> D::Item {
        view
    }
}
