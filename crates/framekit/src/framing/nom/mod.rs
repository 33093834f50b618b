//! Any streaming `nom` parser as a framing, with linear work however the bytes arrive.
//!
//! ```text
//! parser(input) = Ok((rest, item))         -> a frame of input.len() - rest.len() bytes: item
//! parser(input) = Err(Incomplete(Size(n))) -> wait for n more bytes before parsing again
//! parser(input) = Err(Error(e) | Failure(e)) -> FrameError::Malformed at e.input's offset
//! ```
//!
//! A nom parser cannot resume: asked again after more bytes arrive, it starts over from the
//! frame's first byte. Parsing on every read would cost O(n²) for a frame of n bytes that
//! arrives in small pieces, so the codec decides *when* to parse in one of two ways.
//!
//! ## With a boundary: the parser runs once per frame
//!
//! A [`Boundary`] ([`NomCodec::with_boundary`]) is fed each byte once and says where a frame
//! ends; the parser runs only then, on exactly that frame. Work per frame: the frame's bytes
//! once through the boundary, once through the parser. See [`Boundary`] for the
//! contract a boundary must meet.
//!
//! ## No boundary: bounded guessing
//!
//! Without one ([`NomCodec::new`]), the parser is the only judge, and every `Incomplete` costs
//! the bytes it was handed. The codec keeps the total handed for the frame in progress at most
//! [`GUESS_BUDGET`] times the frame's buffered length: after an `Incomplete` it waits for the
//! parser's `Needed` hint *and* for the buffer to grow until the budget allows the next try, a
//! geometric back-off (the buffer grows by at least half between tries once small tries have
//! used the budget). A frame of n bytes thus costs at most `(GUESS_BUDGET + 1) * n` bytes of
//! parsing, whatever its chunking. The price: a frame that completes between two tries is
//! parsed when more bytes arrive, at the maximum frame length, or at the end of the stream, so
//! a peer that sends one large frame in many small pieces and then waits for an answer may wait.
//!
//! **The liveness contract without a boundary.** A finished frame is delivered without any
//! later byte only when the parser's last `Needed::Size` hint covered the rest of the frame
//! (one length up front, as in a TLV: the budget never binds before the single retry it asks
//! for). A parser whose hints are per element (a count, then many small elements) may see its
//! finished frame held until about half as many bytes again arrive, or the stream ends. A
//! sans-IO codec cannot tell "the peer is done" from "more is coming", and trying again on
//! every read, or whenever the socket is drained, is exactly the quadratic work a dripping peer
//! exploits. So **request/response protocols need a [`Boundary`]** (or a parser whose first
//! hint covers the frame); guessing is for streams where the next request follows.
//!
//! Parsers see `&[u8]` and, through [`StreamParser`], the [`Bytes`] it points into, so their
//! items can hold zero-copy slices of the frame (`buf.slice_ref(sub)`). To make that possible
//! the codec parses every whole frame buffered in one pass and keeps the items in a small queue;
//! [`NomCodec::give_back`] returns the bytes of items not yet delivered, for a protocol switch.
//!
//! # Knobs and defaults
//!
//! | knob | default | what it does |
//! |---|---|---|
//! | [`NomCodec::with_boundary`] | none ([`NomCodec::new`]) | a [`Boundary`] that finds frame ends, so the parser runs once per frame |
//! | [`max_frame_len`](NomCodec::max_frame_len) | [`DEFAULT_MAX_FRAME_LEN`] (64 KiB) | a frame not decided within this many bytes is [`FrameError::TooLong`](crate::FrameError::TooLong) |
//! | [`encoder`](NomCodec::encoder) | none | pairs the decoder with any `Encoder`, for `Framed` |
//! | [`GUESS_BUDGET`] | 3 | without a boundary, the bytes handed to short tries stay within this many times the frame's buffered length |

use std::fmt;

use bytes::Bytes;
use nom::IResult;

mod boundary;
mod codec;
mod parsing;

pub use boundary::{Boundary, NoBoundary, Scan};
pub use codec::NomCodec;

/// Default maximum frame length for a nom codec: 64 KiB, like delimited frames.
///
/// ```
/// use framekit::framing::nom::{parser_fn, NomCodec};
/// fn any(i: &[u8]) -> nom::IResult<&[u8], u8> { nom::number::streaming::u8(i) }
/// let codec = NomCodec::new(parser_fn(any)); // limited to DEFAULT_MAX_FRAME_LEN
/// ```
pub const DEFAULT_MAX_FRAME_LEN: usize = 64 * 1024;

/// Without a boundary, the bytes handed to the parser by tries that came back `Incomplete`
/// stay at most this many times the frame's buffered length (see
/// [bounded guessing](self#no-boundary-bounded-guessing)): a frame of n bytes costs at most
/// `(GUESS_BUDGET + 1) * n` bytes of parsing in any chunking, and the buffer grows by half
/// between two tries once the budget binds.
///
/// ```
/// assert_eq!(framekit::framing::nom::GUESS_BUDGET, 3);
/// ```
pub const GUESS_BUDGET: usize = 3;

/// A streaming parser for one frame.
///
/// `input` is the unparsed part of `buf`; slices of `input` can be turned into zero-copy
/// [`Bytes`] with `buf.slice_ref(slice)`. The parser must be *streaming*: when `input` ends
/// before the frame does, it returns `Err(nom::Err::Incomplete(..))`, never a short result.
///
/// ```
/// use bytes::Bytes;
/// use nom::{IResult, Parser, bytes::streaming::{tag, take_until}};
/// use framekit::framing::nom::StreamParser;
///
/// /// `+` followed by a CRLF-terminated word, kept as zero-copy `Bytes`.
/// struct Word;
///
/// impl StreamParser for Word {
///     type Item = Bytes;
///     fn parse<'a>(&mut self, input: &'a [u8], buf: &Bytes) -> IResult<&'a [u8], Bytes> {
///         let (rest, _) = tag(&b"+"[..]).parse(input)?;
///         let (rest, word) = take_until(&b"\r\n"[..]).parse(rest)?;
///         Ok((&rest[2..], buf.slice_ref(word)))
///     }
/// }
/// # let buf = Bytes::from_static(b"+OK\r\n");
/// # assert_eq!(Word.parse(&buf, &buf).unwrap().1, "OK");
/// ```
pub trait StreamParser {
    /// What one frame parses to.
    type Item;

    /// Parses one frame from the front of `input`, a suffix of `buf`.
    fn parse<'a>(&mut self, input: &'a [u8], buf: &Bytes) -> IResult<&'a [u8], Self::Item>;
}

/// A [`StreamParser`] made from a plain nom function whose output owns its data.
///
/// ```
/// use nom::{IResult, Parser, number::streaming::be_u16};
/// use framekit::framing::nom::{parser_fn, StreamParser};
///
/// fn port(input: &[u8]) -> IResult<&[u8], u16> {
///     be_u16(input)
/// }
/// let buf = bytes::Bytes::from_static(b"\x1f\x90");
/// assert_eq!(parser_fn(port).parse(&buf, &buf).unwrap().1, 8080);
/// ```
pub fn parser_fn<F, O>(f: F) -> ParserFn<F>
where
    F: FnMut(&[u8]) -> IResult<&[u8], O>,
{
    ParserFn(f)
}

/// See [`parser_fn`].
///
/// ```
/// use framekit::framing::nom::{parser_fn, NomCodec};
/// fn byte(i: &[u8]) -> nom::IResult<&[u8], u8> { nom::number::streaming::u8(i) }
/// let p = parser_fn(byte);
/// ```
#[derive(Clone, Copy)]
pub struct ParserFn<F>(F);

impl<F> fmt::Debug for ParserFn<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ParserFn")
    }
}

impl<F, O> StreamParser for ParserFn<F>
where
    F: FnMut(&[u8]) -> IResult<&[u8], O>,
{
    type Item = O;

    fn parse<'a>(&mut self, input: &'a [u8], _buf: &Bytes) -> IResult<&'a [u8], O> {
        (self.0)(input)
    }
}

#[cfg(test)]
mod tests;
