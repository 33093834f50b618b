//! One connection's request decoder: [`MemcacheFraming`] through framekit's
//! [`FrameCodec`], each request lent out where it lies in the read buffer as a [`Request`]
//! (its line, and its data block or the news that the block is being dropped).

use bytes::{Bytes, BytesMut};
use framekit::connection::Decode;
use framekit::framing::Framing;
use framekit::{FrameCodec, FrameError};
use tokio_util::codec::Decoder;

use super::framing::{Block, MemcacheFraming};
use super::line::StorageLine;

/// A request as it lies in the read buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Request<'b> {
    /// The command line, line ending excluded.
    pub line: &'b [u8],
    /// What followed the line.
    pub data: Data<'b>,
    /// The line read as a classic storage command, when the framing read it so (it reads a
    /// storage line to find its block; the command then need not read it again). `None` for
    /// every other line, and where a request is made by hand: the command reads the line.
    pub storage: Option<StorageLine<'b>>,
}

/// The data part of a [`Request`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Data<'b> {
    /// No block: the line is the request.
    None,
    /// A block, and whether its last two bytes were CRLF (memcached answers `CLIENT_ERROR bad
    /// data chunk` when not).
    Block {
        /// The data, terminator excluded.
        value: &'b [u8],
        /// Whether the terminator was CRLF.
        terminated: bool,
    },
    /// A block over the item size limit, being dropped as it arrives.
    TooLarge,
}

/// The request decoder of a memcached connection.
///
/// ```
/// use bytes::BytesMut;
/// use framekit_examples::memcached::{Request, RequestDecoder, MemcacheFraming};
/// use framekit_examples::memcached::request::Data;
///
/// let mut decoder = RequestDecoder::new(MemcacheFraming::new());
/// let mut buf = BytesMut::from(&b"set k 0 0 2\r\nhiXX"[..]);
/// let (req, len) = decoder.next_request(&mut buf, false)?.unwrap();
/// assert_eq!(req.line, b"set k 0 0 2");
/// assert_eq!(req.data, Data::Block { value: b"hi", terminated: false });
/// assert_eq!(req.storage.map(|s| (s.key, s.bytes)), Some((&b"k"[..], 2)));
/// assert_eq!(len, 17);
/// # Ok::<(), framekit::FrameError>(())
/// ```
#[derive(Debug)]
pub struct RequestDecoder {
    frames: FrameCodec<MemcacheFraming>,
}

impl Clone for RequestDecoder {
    /// A fresh decoder with the same limits (no stream state is copied).
    fn clone(&self) -> Self {
        let mut framing = self.frames.framing().clone();
        framing.reset();
        RequestDecoder::new(framing)
    }
}

impl RequestDecoder {
    /// A decoder framing with `framing`.
    pub fn new(framing: MemcacheFraming) -> Self {
        RequestDecoder {
            frames: FrameCodec::new(framing),
        }
    }

    /// The framing's limits.
    pub fn framing(&self) -> &MemcacheFraming {
        self.frames.framing()
    }

    /// The next request at the front of `buf` and how many bytes it takes there (the caller
    /// drops them once done with the request); `Ok(None)` waits for more bytes. Dropped block
    /// bytes leave `buf` here. ([`Decode::decode_view`].)
    pub fn next_request<'b>(
        &mut self,
        buf: &'b mut BytesMut,
        eof: bool,
    ) -> Result<Option<(Request<'b>, usize)>, FrameError> {
        self.decode_view(buf, eof)
    }
}

/// Requests are lent where they lie: the framing remembers the last request's layout (its
/// line, its block), which [`view`](Decode::view) reads.
impl Decode for RequestDecoder {
    /// The request's length on the wire.
    type Found = usize;
    type View<'b> = Request<'b>;
    type Error = FrameError;

    #[inline]
    fn decode(&mut self, buf: &mut BytesMut, eof: bool) -> Result<Option<usize>, FrameError> {
        Ok(self
            .frames
            .decode_in_place(buf, eof)?
            .map(|frame| frame.len))
    }

    fn view<'b>(&self, buf: &'b BytesMut, len: usize) -> (Request<'b>, usize) {
        let layout = self.frames.framing().last();
        let bytes = &buf[..len];
        let data = match layout.block {
            Block::None => Data::None,
            Block::Skipped { .. } => Data::TooLarge,
            Block::Data { .. } => {
                let range = layout.data();
                Data::Block {
                    value: &bytes[range.clone()],
                    terminated: &bytes[range.end..] == b"\r\n",
                }
            }
        };
        let line = &bytes[..layout.line];
        let request = Request {
            line,
            data,
            storage: layout.storage(line),
        };
        (request, len)
    }
}

/// Owned decoding (each request's payload: its line, and CRLF and data for a block), for the
/// server's owned path and tests; the server lends requests through
/// [`next_request`](RequestDecoder::next_request).
impl Decoder for RequestDecoder {
    type Item = Bytes;
    type Error = FrameError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Bytes>, FrameError> {
        Decoder::decode(&mut self.frames, src)
    }

    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<Bytes>, FrameError> {
        Decoder::decode_eof(&mut self.frames, src)
    }
}
