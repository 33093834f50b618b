//! The write side of a connection: encoded responses queued as a chain of buffers, written with
//! vectored I/O.
//!
//! Small responses are encoded into one buffer (from the thread's [`pool`] of released ones); large payloads are queued as their own
//! `Bytes` next to their header (see [`Vectored`]), so they reach the socket without being
//! copied. The connection compares [`Outbound::len`] with its water marks to pause and resume.

use std::collections::VecDeque;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use bytes::{Buf, Bytes, BytesMut};
use framekit::framing::Framing;
use framekit::{FrameCodec, FrameError};
use tokio::io::AsyncWrite;
use tokio_util::codec::{Decoder, Encoder};

use crate::error::CodecError;
use crate::pool;

/// Most buffers handed to one vectored write.
const MAX_IOVECS: usize = 64;
/// An emptied encode buffer larger than this is released rather than kept for reuse.
const KEEP_ENCODE_BUFFER: usize = 8 * 1024;

/// Bytes queued for one peer: a chain of buffers written in order.
///
/// ```
/// use bytes::Bytes;
/// use framekit_server::Outbound;
///
/// let mut out = Outbound::new(16 * 1024);
/// out.buf_mut().extend_from_slice(b"+OK\r\n");
/// out.push_bytes(Bytes::from(vec![0u8; 32 * 1024])); // queued as its own buffer
/// assert_eq!(out.chunk_count(), 2);
/// ```
#[derive(Debug, Default)]
pub struct Outbound {
    chunks: VecDeque<Bytes>,
    /// Where encoders append; sealed into `chunks` before a large payload and before writing.
    tail: BytesMut,
    /// Bytes in `chunks` (not counting `tail`).
    sealed: usize,
    vectored_min: usize,
}

impl Outbound {
    /// An empty queue that keeps payloads of at least `vectored_min` bytes as separate buffers.
    ///
    /// ```
    /// use framekit_server::Outbound;
    /// let out = Outbound::new(1024);
    /// assert!(out.is_empty());
    /// ```
    pub fn new(vectored_min: usize) -> Self {
        Outbound {
            vectored_min,
            ..Default::default()
        }
    }

    /// The buffer encoders append to (small headers and payloads are copied here).
    ///
    /// ```
    /// use framekit_server::Outbound;
    /// let mut out = Outbound::new(1024);
    /// out.buf_mut().extend_from_slice(b"hi\n");
    /// assert_eq!(out.len(), 3);
    /// ```
    pub fn buf_mut(&mut self) -> &mut BytesMut {
        if self.tail.capacity() == 0 {
            // Released while the connection was quiet: a kept buffer, not a doubling chain
            // from nothing.
            self.tail = pool::take();
        }
        &mut self.tail
    }

    /// Queues `payload` after what was appended so far: as its own buffer, without copying, when
    /// it has at least the configured minimum size; copied otherwise.
    ///
    /// ```
    /// use bytes::Bytes;
    /// use framekit_server::Outbound;
    ///
    /// let mut out = Outbound::new(4);
    /// out.buf_mut().extend_from_slice(b"\x05");
    /// out.push_bytes(Bytes::from_static(b"hello"));
    /// assert_eq!(out.len(), 6);
    /// assert_eq!(out.chunk_count(), 2);
    /// ```
    pub fn push_bytes(&mut self, payload: Bytes) {
        if payload.len() < self.vectored_min.max(1) {
            self.tail.extend_from_slice(&payload);
            return;
        }
        self.seal();
        self.sealed += payload.len();
        self.chunks.push_back(payload);
    }

    /// Bytes queued in all.
    ///
    /// ```
    /// use framekit_server::Outbound;
    /// let mut out = Outbound::new(1024);
    /// out.buf_mut().extend_from_slice(b"abc");
    /// assert_eq!(out.len(), 3);
    /// ```
    pub fn len(&self) -> usize {
        self.sealed + self.tail.len()
    }

    /// Whether nothing is queued.
    ///
    /// ```
    /// use framekit_server::Outbound;
    /// assert!(Outbound::new(1024).is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many separate buffers are queued (the pending encode buffer counts as one).
    ///
    /// ```
    /// use framekit_server::Outbound;
    /// let mut out = Outbound::new(1024);
    /// assert_eq!(out.chunk_count(), 0);
    /// out.buf_mut().extend_from_slice(b"x");
    /// assert_eq!(out.chunk_count(), 1);
    /// ```
    pub fn chunk_count(&self) -> usize {
        self.chunks.len() + usize::from(!self.tail.is_empty())
    }

    fn seal(&mut self) {
        if !self.tail.is_empty() {
            let chunk = self.tail.split().freeze();
            self.sealed += chunk.len();
            self.chunks.push_back(chunk);
        }
    }

    /// Writes some queued bytes with one (vectored) write; returns how many were written.
    pub(crate) fn poll_write<W: AsyncWrite + Unpin>(
        &mut self,
        io: &mut W,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<usize>> {
        if self.chunks.is_empty() {
            // Only small responses are queued (the common case): written from the encode
            // buffer itself, which is then reused without being split off or reallocated.
            if self.tail.is_empty() {
                return Poll::Ready(Ok(0));
            }
            let n = ready!(Pin::new(&mut *io).poll_write(cx, &self.tail))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            if n < self.tail.len() {
                self.tail.advance(n);
            } else if self.tail.capacity() > KEEP_ENCODE_BUFFER {
                self.tail = BytesMut::new();
            } else {
                // Written whole: the buffer is reused from its start.
                self.tail.clear();
            }
            return Poll::Ready(Ok(n));
        }
        self.seal();
        let n = if io.is_write_vectored() && self.chunks.len() > 1 {
            let mut slices = [IoSlice::new(&[]); MAX_IOVECS];
            let mut count = 0;
            for (slot, chunk) in slices.iter_mut().zip(self.chunks.iter()) {
                *slot = IoSlice::new(chunk);
                count += 1;
            }
            ready!(Pin::new(&mut *io).poll_write_vectored(cx, &slices[..count]))?
        } else {
            match self.chunks.front() {
                Some(chunk) => ready!(Pin::new(&mut *io).poll_write(cx, chunk))?,
                None => return Poll::Ready(Ok(0)),
            }
        };
        if n == 0 {
            return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
        }
        self.advance(n);
        Poll::Ready(Ok(n))
    }

    fn advance(&mut self, mut n: usize) {
        self.sealed -= n;
        while n > 0 {
            let Some(front) = self.chunks.front_mut() else {
                break;
            };
            if front.len() <= n {
                n -= front.len();
                self.chunks.pop_front();
            } else {
                front.advance(n);
                n = 0;
            }
        }
        if self.chunks.is_empty() && self.tail.capacity() > KEEP_ENCODE_BUFFER {
            self.tail = BytesMut::new();
        }
    }

    /// Where the queue ends now, to [`rewind`](Outbound::rewind) to.
    pub(crate) fn mark(&self) -> Mark {
        Mark {
            chunks: self.chunks.len(),
            sealed: self.sealed,
            tail: self.tail.len(),
        }
    }

    /// Takes back what was appended since `mark` (an encoder that failed half-way, perhaps
    /// after it queued a large payload as its own buffer). Nothing may be written between the
    /// mark and the rewind; encoders only append. False, and nothing changed, when the queue
    /// does not extend the marked one (bytes before the mark were taken away).
    pub(crate) fn rewind(&mut self, mark: Mark) -> bool {
        if self.chunks.len() < mark.chunks || self.sealed < mark.sealed {
            return false;
        }
        if self.chunks.len() == mark.chunks {
            if self.tail.len() < mark.tail {
                return false;
            }
            self.tail.truncate(mark.tail);
            return true;
        }
        // Buffers were sealed since the mark. The first of them begins with the marked tail
        // (sealing takes the whole tail) unless that was empty; what follows it, later buffers
        // and the current tail are the failed response's.
        let first = &self.chunks[mark.chunks];
        if first.len() < mark.tail {
            return false;
        }
        let kept = first.slice(..mark.tail);
        self.chunks.truncate(mark.chunks);
        self.sealed = mark.sealed;
        self.tail.clear();
        if !kept.is_empty() {
            // Kept sealed rather than copied back into the tail: no copy on this path.
            self.sealed += kept.len();
            self.chunks.push_back(kept);
        }
        true
    }

    /// Drops any encode buffer kept for reuse, when nothing is queued.
    pub(crate) fn release(&mut self) {
        if self.is_empty() && self.tail.capacity() > 0 {
            pool::give(std::mem::take(&mut self.tail));
        }
    }
}

/// A position in an [`Outbound`] queue (see [`Outbound::mark`]).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Mark {
    chunks: usize,
    sealed: usize,
    tail: usize,
}

/// Encodes a response into an [`Outbound`] queue.
///
/// Every `tokio_util` [`Encoder`] is one (it copies into the queue's buffer). [`Vectored`]
/// queues large payloads without copying. A codec that is an `Encoder` cannot also implement
/// this trait; write the queueing encoder as a second type and serve the pair with
/// [`WithEncoder`](crate::WithEncoder).
///
/// ```
/// use bytes::Bytes;
/// use framekit_server::{Outbound, ResponseEncoder};
///
/// /// Replies as `+<text>\r\n`, copying the text.
/// struct Status;
///
/// impl ResponseEncoder<Bytes> for Status {
///     type Error = std::io::Error;
///     fn encode_response(&mut self, text: Bytes, out: &mut Outbound) -> std::io::Result<()> {
///         out.buf_mut().extend_from_slice(b"+");
///         out.buf_mut().extend_from_slice(&text);
///         out.buf_mut().extend_from_slice(b"\r\n");
///         Ok(())
///     }
/// }
///
/// let mut out = Outbound::new(1024);
/// Status.encode_response(Bytes::from_static(b"OK"), &mut out).unwrap();
/// assert_eq!(out.len(), 5);
/// ```
pub trait ResponseEncoder<Resp> {
    /// The encoding error.
    type Error: CodecError;
    /// Appends the wire form of `resp` to `out`.
    fn encode_response(&mut self, resp: Resp, out: &mut Outbound) -> Result<(), Self::Error>;
}

impl<E, Resp> ResponseEncoder<Resp> for E
where
    E: Encoder<Resp>,
    E::Error: CodecError,
{
    type Error = E::Error;
    fn encode_response(&mut self, resp: Resp, out: &mut Outbound) -> Result<(), E::Error> {
        self.encode(resp, out.buf_mut())
    }
}

/// A framekit framing as a codec whose `Bytes` responses go out zero-copy: the framing's head
/// and tail are encoded into the queue, and a payload of at least
/// [`ServerConfig::vectored_min`](crate::ServerConfig::vectored_min) bytes is queued as its own
/// buffer and written with vectored I/O.
///
/// Decoding is [`FrameCodec`]'s, yielding raw `Bytes` payloads.
///
/// ```
/// use bytes::{Bytes, BytesMut};
/// use framekit::framing::length_prefixed::LengthPrefixed;
/// use framekit_server::{Outbound, ResponseEncoder, Vectored};
/// use tokio_util::codec::Decoder;
///
/// let mut codec = Vectored::new(LengthPrefixed::u32_be());
/// let mut out = Outbound::new(1024);
/// codec.encode_response(Bytes::from(vec![7u8; 4096]), &mut out).unwrap();
/// assert_eq!(out.len(), 4 + 4096);
/// assert_eq!(out.chunk_count(), 2); // the header, then the payload itself
///
/// let mut wire = BytesMut::from(&b"\0\0\0\x02hi"[..]);
/// assert_eq!(codec.decode(&mut wire).unwrap().unwrap(), "hi");
/// ```
#[derive(Debug, Clone)]
pub struct Vectored<F> {
    codec: FrameCodec<F>,
}

impl<F: Framing> Vectored<F> {
    /// Frames with `framing`.
    ///
    /// ```
    /// use framekit::framing::length_prefixed::LengthPrefixed;
    /// use framekit_server::Vectored;
    /// let _codec = Vectored::new(LengthPrefixed::u16_be());
    /// ```
    pub fn new(framing: F) -> Self {
        Vectored {
            codec: FrameCodec::new(framing),
        }
    }

    /// The decoding codec.
    ///
    /// ```
    /// use framekit::framing::delimited::Delimited;
    /// use framekit_server::Vectored;
    /// let codec = Vectored::new(Delimited::newline());
    /// let _decoding = codec.codec();
    /// ```
    pub fn codec(&self) -> &FrameCodec<F> {
        &self.codec
    }
}

impl<F: Framing> Decoder for Vectored<F> {
    type Item = Bytes;
    type Error = FrameError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Bytes>, FrameError> {
        self.codec.decode(src)
    }

    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<Bytes>, FrameError> {
        self.codec.decode_eof(src)
    }
}

impl<F: Framing> ResponseEncoder<Bytes> for Vectored<F> {
    type Error = FrameError;

    fn encode_response(&mut self, resp: Bytes, out: &mut Outbound) -> Result<(), FrameError> {
        let framing = self.codec.framing_mut();
        framing.encode_head(&resp, out.buf_mut())?;
        out.push_bytes(resp);
        framing.encode_tail(out.buf_mut())
    }
}

#[cfg(test)]
#[path = "outbound_tests.rs"]
mod tests;
