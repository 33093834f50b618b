//! Framing strategies: pure decisions about where a frame ends in the bytes buffered so far.
//!
//! A [`Framing`] never touches a socket. It is asked about a byte slice and answers with a
//! [`Decision`]; [`FrameCodec`](crate::FrameCodec) is the thin shell that turns any strategy into
//! a `tokio_util` `Decoder` + `Encoder`. That split is what lets every strategy be unit-tested,
//! property-tested and fuzzed without a runtime.

use std::ops::Range;

use bytes::{BufMut, BytesMut};

use crate::FrameError;

pub mod borrowed;
pub mod delimited;
pub mod fixed;
pub mod length_prefixed;
pub mod nom;
mod overlong;
pub mod proxy;
mod skip_report;
pub mod work;

pub use borrowed::Frames;
pub use overlong::Overlong;
pub use skip_report::SkipReport;

/// The answer of a [`Framing`] about the bytes at the front of a buffer.
///
/// ```
/// use framekit::framing::{Decision, Framing, fixed::FixedSize};
/// match FixedSize::new(4).decide(b"ab").unwrap() {
///     Decision::Incomplete { needed } => assert_eq!(needed, 2),
///     other => panic!("{other:?}"),
/// }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// A whole frame of `len` bytes sits at the front of the buffer; `payload` is the range of
    /// the payload inside it (headers and delimiters excluded).
    Frame {
        /// Total bytes the frame occupies, headers and delimiters included.
        len: usize,
        /// Where the payload is inside those `len` bytes.
        payload: Range<usize>,
    },
    /// No whole frame yet: at least `needed` more bytes (always >= 1) must arrive before asking
    /// again. The caller may skip asking until then, and may reserve room for them within its
    /// memory rules.
    Incomplete {
        /// The least number of additional bytes that can change the answer.
        needed: usize,
    },
    /// Drop the first `len` bytes without producing a frame, and ask again about what follows.
    ///
    /// For any bytes the protocol says to skip rather than deliver:
    /// - the pieces of an over-long frame, skipped so the stream can resynchronise
    ///   ([`Overlong::Discard`], [`Overlong::DiscardFailFast`]);
    /// - protocol data the strategy has decided to drop: a memcached data block too large for
    ///   the cache, a padding or keep-alive run, a preamble already handled;
    /// - the end of such a skip at the end of the stream ([`Framing::decide_eof`]).
    ///
    /// Skipped bytes are dropped **as they arrive**: a strategy never answers
    /// [`Decision::Incomplete`] to have a block it will drop buffered first (that would hold up
    /// to the block's length in memory, which is what skipping avoids). It discards what the
    /// buffer holds of the block now (at most `buf.len()` bytes), remembers how much is left,
    /// and discards the rest in later answers.
    ///
    /// Set `skipped_frame` on exactly one piece of each skipped unit to have it reported once
    /// as [`FrameError::Skipped`] (recoverable: decoding goes on); a skip the peer should not
    /// hear about reports nothing. `len` is between 1 and `buf.len()`, except for a zero-byte
    /// discard that only carries the report (see
    /// [every answer makes progress](Framing#every-answer-makes-progress)).
    ///
    /// ```
    /// use framekit::framing::{Decision, SkipReport};
    /// // A 100-byte block over a 64-byte limit, of which 40 bytes have arrived: drop them now,
    /// // and report the block, in the protocol's words, with its last piece (60 bytes later).
    /// let first = Decision::Discard { len: 40, skipped_frame: None };
    /// let report = SkipReport::new(100, 40, 64).because("object too large for cache");
    /// let last = Decision::Discard { len: 60, skipped_frame: Some(report) };
    /// # let _ = (first, last);
    /// ```
    Discard {
        /// How many bytes to drop: at most the bytes buffered.
        len: usize,
        /// Set on the piece that reports the skipped frame, which the codec turns into
        /// [`FrameError::Skipped`] and carries on: the last piece, or, when a strategy fails
        /// fast, the first one.
        skipped_frame: Option<SkipReport>,
    },
}

/// Where a whole frame lies at the front of a buffer: what [`Framing::decide_frame`] finds and
/// [`FrameCodec::decode_in_place`](crate::FrameCodec::decode_in_place) leaves in the read
/// buffer.
///
/// ```
/// use bytes::BytesMut;
/// use framekit::{FrameCodec, framing::length_prefixed::LengthPrefixed};
///
/// let mut codec = FrameCodec::new(LengthPrefixed::u16_be());
/// let mut buf = BytesMut::from(&b"\0\x02hi"[..]);
/// let frame = codec.decode_in_place(&mut buf, false)?.unwrap();
/// assert_eq!((frame.len, frame.payload), (4, 2..4));
/// # Ok::<(), framekit::FrameError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InPlace {
    /// Bytes the frame takes at the front of the buffer (header and delimiter included).
    pub len: usize,
    /// Where its payload lies in the buffer.
    pub payload: Range<usize>,
}

impl Decision {
    /// A frame of `len` bytes whose payload is `payload`.
    ///
    /// ```
    /// use framekit::framing::Decision;
    /// // A 2-byte header, then 3 payload bytes.
    /// let d = Decision::frame(5, 2..5);
    /// ```
    pub fn frame(len: usize, payload: Range<usize>) -> Self {
        debug_assert!(payload.start <= payload.end && payload.end <= len);
        Decision::Frame { len, payload }
    }

    /// Not enough bytes yet; `needed` is clamped to at least 1.
    ///
    /// ```
    /// use framekit::framing::Decision;
    /// assert_eq!(Decision::incomplete(0), Decision::Incomplete { needed: 1 });
    /// ```
    pub fn incomplete(needed: usize) -> Self {
        Decision::Incomplete {
            needed: needed.max(1),
        }
    }
}

/// A framing strategy: decides where frames end and writes the bytes that mark them.
///
/// # The decoding contract
///
/// [`decide`](Framing::decide) is called with the bytes buffered so far, starting at the first
/// byte of the next frame. Between a call and the next one the caller may only *append* bytes,
/// until a call returns [`Decision::Frame`] or [`Decision::Discard`] and the caller removes that
/// many bytes from the front (or until an error, after which the strategy must be
/// [`reset`](Framing::reset) before reuse). This lets a strategy remember how far it has searched
/// and never scan a byte twice.
///
/// ## Empty buffers
///
/// [`decide`](Framing::decide) and [`decide_frame`](Framing::decide_frame) are never asked
/// about an empty buffer: a frame takes at least one byte (a zero-byte frame would be an
/// endless stream of them), so [`FrameCodec`](crate::FrameCodec) and [`Frames`] answer an
/// empty buffer "wait for more" themselves, also when a [`Decision::Discard`] has just emptied
/// it. Only [`decide_eof`](Framing::decide_eof) sees an empty buffer: at the end of the stream
/// it is asked about whatever is left, nothing included, and asked again after every
/// `Discard` it answers, until it answers `Ok(None)` (nothing more), a frame, or an error.
/// Callers may ask it again after that (`decode_eof` is called until it yields nothing), so
/// an empty buffer with nothing left to report must keep answering `Ok(None)`.
///
/// ## Every answer makes progress
///
/// A [`Decision::Frame`] takes between 1 and `buf.len()` bytes. A [`Decision::Discard`] drops
/// between 1 and `buf.len()` bytes, with one exception: a `Discard { len: 0 }` that carries a
/// [`SkipReport`], to report a skipped frame whose bytes were all dropped by earlier answers
/// (the stream ended right after them, say). It never comes twice in a row: a second zero-byte
/// discard before a frame or a dropped byte would report a skipped frame of no bytes. Anything
/// else would have the caller ask again about the same bytes for ever, so the codec and
/// [`Frames`] stop at once with [`FrameError::Strategy`]
/// ([`StrategyFault`](crate::error::StrategyFault) says which rule broke) instead of looping.
/// The law kit's every run checks this (law `progress`).
///
/// ```
/// use bytes::BytesMut;
/// use tokio_util::codec::Decoder;
/// use framekit::{FrameCodec, FrameError, error::StrategyFault};
/// use framekit::framing::{Decision, Framing};
///
/// /// Answers a discard that changes nothing: asked again, it would answer it again.
/// struct Stuck;
/// impl Framing for Stuck {
///     fn decide(&mut self, _: &[u8]) -> Result<Decision, FrameError> {
///         Ok(Decision::Discard { len: 0, skipped_frame: None })
///     }
///     fn frame_limit(&self) -> usize { 16 }
///     fn encode_head(&mut self, _: &[u8], _: &mut BytesMut) -> Result<(), FrameError> { Ok(()) }
/// }
///
/// let mut buf = BytesMut::from(&b"abc"[..]);
/// let err = FrameCodec::new(Stuck).decode(&mut buf).unwrap_err();
/// assert!(matches!(err, FrameError::Strategy { fault: StrategyFault::EmptyDiscard, .. }));
/// ```
///
/// A strategy must never ask the caller to hold more than its maximum frame length plus its
/// header: once that is reached without a frame it returns [`FrameError::TooLong`] (or discards).
///
/// # Request-only framings
///
/// When a protocol's answers have another shape than its requests (memcached: requests are a
/// command line and maybe a data block, answers are `VALUE` / `STORED` / `END` lines; RESP;
/// HTTP), the framing decodes the requests only: implement the decoding methods and leave
/// [`encode_head`](Framing::encode_head) and [`encode_tail`](Framing::encode_tail) out (their
/// defaults refuse to encode). Pair it with the answers' own encoder: read with a
/// [`FrameCodec`](crate::FrameCodec) of the framing and write with the encoder, each on its
/// half of the connection, or join the two in one codec that decodes with one and encodes with
/// the other (framekit-server's `codec::WithEncoder`).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), framekit::FrameError> {
/// use bytes::{BufMut, BytesMut};
/// use futures::{SinkExt, StreamExt};
/// use tokio::io::AsyncWriteExt;
/// use tokio_util::codec::{Encoder, FramedRead, FramedWrite};
/// use framekit::{FrameCodec, FrameError, framing::{Decision, Framing, delimited::Delimited}};
///
/// /// Requests are lines; nothing here writes them.
/// struct Commands(Delimited);
/// impl Framing for Commands {
///     fn decide(&mut self, buf: &[u8]) -> Result<Decision, FrameError> { self.0.decide(buf) }
///     fn frame_limit(&self) -> usize { self.0.frame_limit() }
///     fn reset(&mut self) { self.0.reset() }
/// }
///
/// /// Answers are `+` and a word, or a length-prefixed value: another shape than a request.
/// enum Answer { Ok, Value(&'static str) }
/// struct Answers;
/// impl Encoder<Answer> for Answers {
///     type Error = FrameError;
///     fn encode(&mut self, answer: Answer, dst: &mut BytesMut) -> Result<(), FrameError> {
///         match answer {
///             Answer::Ok => dst.put_slice(b"+OK\r\n"),
///             Answer::Value(v) => {
///                 dst.put_slice(format!("${}\r\n{v}\r\n", v.len()).as_bytes())
///             }
///         }
///         Ok(())
///     }
/// }
///
/// let (server, mut client) = tokio::io::duplex(256);
/// let (read, write) = tokio::io::split(server);
/// let mut requests = FramedRead::new(read, FrameCodec::new(Commands(Delimited::newline())));
/// let mut answers = FramedWrite::new(write, Answers);
///
/// client.write_all(b"set k v\nget k\n").await?;
/// assert_eq!(requests.next().await.unwrap()?, "set k v");
/// answers.send(Answer::Ok).await?;
/// assert_eq!(requests.next().await.unwrap()?, "get k");
/// answers.send(Answer::Value("v")).await?;
///
/// // The framing says it does not encode requests, with a typed error rather than a panic.
/// let refused = Commands(Delimited::newline()).encode(b"set k v", &mut BytesMut::new());
/// assert!(matches!(refused, Err(FrameError::Unencodable { .. })));
/// # let mut seen = vec![0; 12];
/// # tokio::io::AsyncReadExt::read_exact(&mut client, &mut seen).await?;
/// # assert_eq!(seen, b"+OK\r\n$1\r\nv\r\n");
/// # Ok(()) }
/// ```
///
/// # Example: a strategy by hand
///
/// ```
/// use bytes::BytesMut;
/// use framekit::framing::{Decision, Framing};
/// use framekit::FrameError;
///
/// /// Frames are a one-byte count followed by that many bytes.
/// struct Counted;
///
/// impl Framing for Counted {
///     fn decide(&mut self, buf: &[u8]) -> Result<Decision, FrameError> {
///         match buf.first() {
///             None => Ok(Decision::incomplete(1)),
///             Some(&n) if buf.len() > n as usize => Ok(Decision::frame(1 + n as usize, 1..1 + n as usize)),
///             Some(&n) => Ok(Decision::incomplete(1 + n as usize - buf.len())),
///         }
///     }
///     fn frame_limit(&self) -> usize { 255 }
///     fn encode_head(&mut self, payload: &[u8], dst: &mut BytesMut) -> Result<(), FrameError> {
///         let n = u8::try_from(payload.len())
///             .map_err(|_| FrameError::unencodable(payload.len(), "over 255 bytes"))?;
///         dst.extend_from_slice(&[n]);
///         Ok(())
///     }
/// }
///
/// assert_eq!(Counted.decide(b"\x02hi!").unwrap(), Decision::frame(3, 1..3));
/// ```
pub trait Framing {
    /// Decides whether a whole frame sits at the front of `buf`.
    ///
    /// Error offsets are relative to `buf[0]`; the codec shifts them to stream offsets.
    fn decide(&mut self, buf: &[u8]) -> Result<Decision, FrameError>;

    /// The common case of [`decide`](Framing::decide), for callers that walk frame after frame
    /// ([`Frames`], [`FrameCodec::decode_in_place`](crate::FrameCodec::decode_in_place)):
    /// `Some` with the whole frame at the front of `buf` when finding it is the cheap, usual
    /// path, `None` to have `decide` answer instead.
    ///
    /// `Some(InPlace { len, payload })` must be exactly what `decide` would have answered as
    /// [`Decision::Frame`], with the same effect on the strategy's state. `None` may record
    /// progress, as `decide` does (how far a search got), so that the `decide` call that follows
    /// on the same bytes does not look at them again; it must not change what that call
    /// answers. The default is always `None`: a strategy without a fast path loses nothing.
    ///
    /// ```
    /// use framekit::framing::{Framing, InPlace, delimited::Delimited};
    /// let mut lines = Delimited::newline();
    /// assert_eq!(lines.decide_frame(b"hi\r\nrest"), Some(InPlace { len: 4, payload: 0..2 }));
    /// assert_eq!(lines.decide_frame(b"no end yet"), None);
    /// ```
    #[inline(always)]
    fn decide_frame(&mut self, buf: &[u8]) -> Option<InPlace> {
        let _ = buf;
        None
    }

    /// Decides what the bytes left at end of stream are.
    ///
    /// The default: nothing left is a clean end (`Ok(None)`); a whole frame is still delivered;
    /// anything else is [`FrameError::UnexpectedEof`].
    fn decide_eof(&mut self, buf: &[u8]) -> Result<Option<Decision>, FrameError> {
        decide_eof_by_decide(self, buf)
    }

    /// The largest payload a decoded frame can have, in bytes (headers and delimiters
    /// excluded unless the strategy keeps them in the payload).
    fn frame_limit(&self) -> usize;

    /// The most bytes the strategy may need buffered before it can decide (the maximum frame plus
    /// headers and delimiters). Memory bounds are stated against this.
    fn buffer_limit(&self) -> usize {
        self.frame_limit()
    }

    /// Writes what precedes `payload` on the wire (a length prefix, nothing for delimiters), after
    /// checking that `payload` can be framed at all.
    ///
    /// The default refuses every payload with [`FrameError::Unencodable`]: a
    /// [request-only framing](Framing#request-only-framings) does not write the messages it
    /// reads, and says so by leaving this (and [`encode_tail`](Framing::encode_tail)) out. A
    /// framing that encodes must override it; the law kit's `round_trip` law catches one that
    /// forgot.
    fn encode_head(&mut self, payload: &[u8], dst: &mut BytesMut) -> Result<(), FrameError> {
        let _ = dst;
        Err(FrameError::unencodable(
            payload.len(),
            "this framing only decodes: its answers are written by their own encoder",
        ))
    }

    /// Writes what follows the payload on the wire (a delimiter, nothing for length prefixes).
    fn encode_tail(&mut self, dst: &mut BytesMut) -> Result<(), FrameError> {
        let _ = dst;
        Ok(())
    }

    /// Writes one whole frame carrying `payload`: head, payload, tail.
    fn encode(&mut self, payload: &[u8], dst: &mut BytesMut) -> Result<(), FrameError> {
        dst.reserve(payload.len() + 16);
        self.encode_head(payload, dst)?;
        dst.put_slice(payload);
        self.encode_tail(dst)
    }

    /// Forgets any progress remembered between calls, for a fresh stream or after an error.
    fn reset(&mut self) {}

    /// Whether the strategy reports the bytes it examines through [`work::examined`]. When it
    /// does not (the default), [`FrameCodec`](crate::FrameCodec) charges it the whole buffer
    /// on every call, the most it could have looked at, so the law kit's `linear_work` law
    /// holds an unreporting strategy to the worst case instead of trusting silence.
    fn reports_work(&self) -> bool {
        false
    }
}

/// The default end of stream: nothing left is a clean end, a whole frame is still delivered,
/// anything else is [`FrameError::UnexpectedEof`]. For strategies that override
/// [`Framing::decide_eof`] only for a state of their own.
pub(crate) fn decide_eof_by_decide<F: Framing + ?Sized>(
    framing: &mut F,
    buf: &[u8],
) -> Result<Option<Decision>, FrameError> {
    if buf.is_empty() {
        return Ok(None);
    }
    match framing.decide(buf)? {
        Decision::Incomplete { .. } => Err(FrameError::UnexpectedEof {
            buffered: buf.len(),
        }),
        done => Ok(Some(done)),
    }
}

impl<F: Framing + ?Sized> Framing for &mut F {
    fn decide(&mut self, buf: &[u8]) -> Result<Decision, FrameError> {
        (**self).decide(buf)
    }
    #[inline(always)]
    fn decide_frame(&mut self, buf: &[u8]) -> Option<InPlace> {
        (**self).decide_frame(buf)
    }
    fn decide_eof(&mut self, buf: &[u8]) -> Result<Option<Decision>, FrameError> {
        (**self).decide_eof(buf)
    }
    fn frame_limit(&self) -> usize {
        (**self).frame_limit()
    }
    fn buffer_limit(&self) -> usize {
        (**self).buffer_limit()
    }
    fn encode_head(&mut self, payload: &[u8], dst: &mut BytesMut) -> Result<(), FrameError> {
        (**self).encode_head(payload, dst)
    }
    fn encode_tail(&mut self, dst: &mut BytesMut) -> Result<(), FrameError> {
        (**self).encode_tail(dst)
    }
    fn reset(&mut self) {
        (**self).reset()
    }
    fn reports_work(&self) -> bool {
        (**self).reports_work()
    }
}
