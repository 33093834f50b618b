//! How a connection finds the next message in its read buffer: [`Decode`] lends it out where it
//! lies (a view), and [`CodecError`] says whether the stream is still in sync after a failure.
//!
//! [`FrameCodec`] lends its raw payload (`&[u8]`); [`Owned`] turns any `tokio_util` decoder into
//! one whose view is the decoded item, for codecs that cannot lend.

use std::error::Error as StdError;
use std::io;

use bytes::BytesMut;
use tokio_util::codec::{Decoder, Encoder};

use crate::framing::Framing;
use crate::{FrameCodec, FrameError, InPlace};

/// A decoder that lends the next message out as a view of the read buffer.
///
/// ```
/// use bytes::{Buf, BytesMut};
/// use framekit::{FrameCodec, connection::Decode, framing::delimited::Delimited};
///
/// let mut codec = FrameCodec::new(Delimited::newline());
/// let mut buf = BytesMut::from(&b"ping\npong\n"[..]);
/// let (line, len) = codec.decode_view(&mut buf, false)?.unwrap();
/// assert_eq!(line, b"ping");
/// buf.advance(len); // the caller drops the message once it is done with the view
/// assert_eq!(codec.decode_view(&mut buf, false)?.unwrap().0, b"pong");
/// # Ok::<(), framekit::FrameError>(())
/// ```
pub trait Decode {
    /// Where a decoded message lies in the buffer (or the message itself, for a codec that
    /// cannot lend): what [`view`](Decode::view) turns into the view.
    type Found;
    /// The message as the caller sees it, borrowed from the read buffer (or owned).
    type View<'b>;
    /// The decoding error.
    type Error: CodecError;

    /// Finds the next message at the front of `buf`. Bytes the codec skips may be dropped from
    /// `buf` here. `Ok(None)` means wait for more bytes; `eof` says the peer has closed its
    /// side. An empty `buf` without `eof` must be answered `Ok(None)`.
    fn decode(&mut self, buf: &mut BytesMut, eof: bool)
        -> Result<Option<Self::Found>, Self::Error>;

    /// The message `found` (from [`decode`](Decode::decode) on this `buf`, unchanged since) as
    /// a view, and how many bytes at the front of `buf` it takes: the caller drops those once
    /// the view is gone.
    fn view<'b>(&self, buf: &'b BytesMut, found: Self::Found) -> (Self::View<'b>, usize);

    /// [`decode`](Decode::decode), then [`view`](Decode::view).
    fn decode_view<'b>(
        &mut self,
        buf: &'b mut BytesMut,
        eof: bool,
    ) -> Result<Option<(Self::View<'b>, usize)>, Self::Error> {
        match self.decode(buf, eof)? {
            Some(found) => Ok(Some(self.view(buf, found))),
            None => Ok(None),
        }
    }
}

/// What a connection needs to know about a decoding error.
///
/// ```
/// use framekit::{FrameError, connection::CodecError};
///
/// let skipped = FrameError::Skipped { len: 70_000, max: 65_536, offset: 0, reason: None };
/// assert!(CodecError::recoverable(&skipped));
/// assert_eq!(CodecError::kind_name(&skipped), "skipped");
/// ```
pub trait CodecError: StdError + Send + Sync + 'static {
    /// A short, stable name for the kind of error (`"too_long"`, `"malformed"`, ...).
    fn kind_name(&self) -> &'static str {
        "codec"
    }

    /// Whether the codec is still in sync with the stream after this error (the offending
    /// message was consumed or will be skipped), so the connection may go on. Default `false`.
    fn recoverable(&self) -> bool {
        false
    }
}

impl CodecError for FrameError {
    fn kind_name(&self) -> &'static str {
        FrameError::kind_name(self)
    }

    fn recoverable(&self) -> bool {
        self.is_recoverable()
    }
}

impl CodecError for io::Error {
    fn kind_name(&self) -> &'static str {
        match self.kind() {
            io::ErrorKind::InvalidData => "invalid_data",
            io::ErrorKind::UnexpectedEof => "unexpected_eof",
            _ => "io",
        }
    }
}

impl CodecError for tokio_util::codec::LinesCodecError {
    fn kind_name(&self) -> &'static str {
        match self {
            tokio_util::codec::LinesCodecError::MaxLineLengthExceeded => "too_long",
            tokio_util::codec::LinesCodecError::Io(_) => "io",
        }
    }

    /// An over-long line is discarded by the codec up to its newline; the next line decodes.
    fn recoverable(&self) -> bool {
        matches!(
            self,
            tokio_util::codec::LinesCodecError::MaxLineLengthExceeded
        )
    }
}

impl CodecError for tokio_util::codec::AnyDelimiterCodecError {
    fn kind_name(&self) -> &'static str {
        match self {
            tokio_util::codec::AnyDelimiterCodecError::MaxChunkLengthExceeded => "too_long",
            tokio_util::codec::AnyDelimiterCodecError::Io(_) => "io",
        }
    }

    /// An over-long chunk is discarded by the codec up to its delimiter; the next one decodes.
    fn recoverable(&self) -> bool {
        matches!(
            self,
            tokio_util::codec::AnyDelimiterCodecError::MaxChunkLengthExceeded
        )
    }
}

/// The view is the raw payload where it lies; the payload codec is not used for views.
impl<F: Framing, C> Decode for FrameCodec<F, C> {
    type Found = InPlace;
    type View<'b> = &'b [u8];
    type Error = FrameError;

    #[inline]
    fn decode(&mut self, buf: &mut BytesMut, eof: bool) -> Result<Option<InPlace>, FrameError> {
        self.decode_in_place(buf, eof)
    }

    #[inline]
    fn view<'b>(&self, buf: &'b BytesMut, found: InPlace) -> (&'b [u8], usize) {
        (&buf[found.payload], found.len)
    }
}

/// Any `tokio_util` codec as a [`Decode`] whose view is the decoded item (owned): the decoder
/// consumes the bytes itself, so the length it reports is 0. Encoding goes to the inner codec.
///
/// ```
/// use bytes::BytesMut;
/// use framekit::connection::{Decode, Owned};
/// use tokio_util::codec::LinesCodec;
///
/// let mut codec = Owned(LinesCodec::new());
/// let mut buf = BytesMut::from(&b"hi\n"[..]);
/// let (line, len) = codec.decode_view(&mut buf, false)?.unwrap();
/// assert_eq!((line.as_str(), len), ("hi", 0));
/// # Ok::<(), tokio_util::codec::LinesCodecError>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct Owned<D>(pub D);

impl<D> Decode for Owned<D>
where
    D: Decoder,
    D::Error: CodecError,
{
    type Found = D::Item;
    type View<'b> = D::Item;
    type Error = D::Error;

    fn decode(&mut self, buf: &mut BytesMut, eof: bool) -> Result<Option<D::Item>, D::Error> {
        if eof {
            self.0.decode_eof(buf)
        } else {
            self.0.decode(buf)
        }
    }

    fn view(&self, _: &BytesMut, item: D::Item) -> (D::Item, usize) {
        (item, 0)
    }
}

impl<D: Encoder<T>, T> Encoder<T> for Owned<D> {
    type Error = D::Error;

    fn encode(&mut self, item: T, dst: &mut BytesMut) -> Result<(), D::Error> {
        self.0.encode(item, dst)
    }
}
