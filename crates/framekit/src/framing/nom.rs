//! Any streaming `nom` parser as a framing: the parser both finds the frame's end and produces
//! the decoded item, so no byte is parsed twice.
//!
//! ```text
//! parser(input) = Ok((rest, item))         -> a frame of input.len() - rest.len() bytes: item
//! parser(input) = Err(Incomplete(Size(n))) -> wait for n more bytes before parsing again
//! parser(input) = Err(Error(e) | Failure(e)) -> FrameError::Malformed at e.input's offset
//! ```
//!
//! Parsers see `&[u8]` and, through [`StreamParser`], the [`Bytes`] it points into, so their
//! items can hold zero-copy slices of the frame (`buf.slice_ref(sub)`). To make that possible
//! the codec parses every whole frame buffered in one pass and keeps the items in a small queue;
//! a partial frame left at the end is moved back into the read buffer (at most one copy of it
//! per read).

use std::collections::VecDeque;
use std::fmt;

use bytes::{Bytes, BytesMut};
use nom::{Err as NomErr, IResult, Needed};
use tokio_util::codec::Decoder;

use crate::FrameError;

/// Default maximum frame length for a nom codec: 64 KiB, like delimited frames.
///
/// ```
/// use framekit::framing::nom::{parser_fn, NomCodec};
/// fn any(i: &[u8]) -> nom::IResult<&[u8], u8> { nom::number::streaming::u8(i) }
/// let codec = NomCodec::new(parser_fn(any)); // limited to DEFAULT_MAX_FRAME_LEN
/// ```
pub const DEFAULT_MAX_FRAME_LEN: usize = 64 * 1024;

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

/// A `tokio_util` [`Decoder`] driven by a streaming nom parser.
///
/// ```
/// use bytes::BytesMut;
/// use nom::{IResult, Parser, bytes::streaming::take, number::streaming::u8 as byte};
/// use framekit::framing::nom::{NomCodec, parser_fn};
/// use tokio_util::codec::Decoder;
///
/// // A count byte, then that many bytes, parsed to a Vec.
/// fn counted(input: &[u8]) -> IResult<&[u8], Vec<u8>> {
///     let (rest, n) = byte(input)?;
///     let (rest, body) = take(n).parse(rest)?;
///     Ok((rest, body.to_vec()))
/// }
///
/// let mut codec = NomCodec::new(parser_fn(counted));
/// let mut buf = BytesMut::from(&b"\x02hi\x03ab"[..]);
/// assert_eq!(codec.decode(&mut buf).unwrap(), Some(b"hi".to_vec()));
/// assert_eq!(codec.decode(&mut buf).unwrap(), None); // "ab" of 3: waits for 1 more byte
/// ```
pub struct NomCodec<P: StreamParser> {
    parser: P,
    max_frame_len: usize,
    ready: VecDeque<P::Item>,
    want: usize,
    consumed: u64,
    /// An error found after some good frames, returned once those are delivered.
    pending_error: Option<FrameError>,
}

/// A clone is a fresh codec with the same parser and limits: parsed items and stream position
/// belong to one stream and are not copied.
impl<P: StreamParser + Clone> Clone for NomCodec<P> {
    fn clone(&self) -> Self {
        NomCodec::new(self.parser.clone()).max_frame_len(self.max_frame_len)
    }
}

impl<P: StreamParser> fmt::Debug for NomCodec<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NomCodec")
            .field("max_frame_len", &self.max_frame_len)
            .field("ready", &self.ready.len())
            .field("consumed", &self.consumed)
            .finish_non_exhaustive()
    }
}

impl<P: StreamParser> NomCodec<P> {
    /// A codec for `parser`, with the default maximum frame length.
    ///
    /// ```
    /// use framekit::framing::nom::{parser_fn, NomCodec};
    /// fn byte(i: &[u8]) -> nom::IResult<&[u8], u8> { nom::number::streaming::u8(i) }
    /// let codec = NomCodec::new(parser_fn(byte));
    /// ```
    pub fn new(parser: P) -> Self {
        NomCodec {
            parser,
            max_frame_len: DEFAULT_MAX_FRAME_LEN,
            ready: VecDeque::new(),
            want: 0,
            consumed: 0,
            pending_error: None,
        }
    }

    /// Sets the maximum frame length. A frame still incomplete at this many buffered bytes is
    /// [`FrameError::TooLong`], and so is a parsed frame longer than it.
    ///
    /// ```
    /// use framekit::framing::nom::{parser_fn, NomCodec};
    /// fn byte(i: &[u8]) -> nom::IResult<&[u8], u8> { nom::number::streaming::u8(i) }
    /// let codec = NomCodec::new(parser_fn(byte)).max_frame_len(512);
    /// ```
    pub fn max_frame_len(mut self, max: usize) -> Self {
        self.max_frame_len = max;
        self
    }

    /// The parser.
    ///
    /// ```
    /// use framekit::framing::nom::{parser_fn, NomCodec};
    /// fn byte(i: &[u8]) -> nom::IResult<&[u8], u8> { nom::number::streaming::u8(i) }
    /// let codec = NomCodec::new(parser_fn(byte));
    /// let _p = codec.parser();
    /// ```
    pub fn parser(&self) -> &P {
        &self.parser
    }

    /// The parser, mutably.
    ///
    /// ```
    /// use framekit::framing::nom::{parser_fn, NomCodec};
    /// fn byte(i: &[u8]) -> nom::IResult<&[u8], u8> { nom::number::streaming::u8(i) }
    /// let mut codec = NomCodec::new(parser_fn(byte));
    /// let _p = codec.parser_mut();
    /// ```
    pub fn parser_mut(&mut self) -> &mut P {
        &mut self.parser
    }

    /// Stream offset of the first byte not yet parsed.
    ///
    /// ```
    /// use framekit::framing::nom::{parser_fn, NomCodec};
    /// fn byte(i: &[u8]) -> nom::IResult<&[u8], u8> { nom::number::streaming::u8(i) }
    /// use tokio_util::codec::Decoder;
    /// let mut codec = NomCodec::new(parser_fn(byte));
    /// codec.decode(&mut bytes::BytesMut::from(&b"ab"[..])).unwrap();
    /// assert_eq!(codec.bytes_consumed(), 2);
    /// ```
    pub fn bytes_consumed(&self) -> u64 {
        self.consumed
    }

    /// Items parsed but not yet returned. They hold no unparsed bytes: switching protocol after
    /// draining them loses nothing.
    ///
    /// ```
    /// use framekit::framing::nom::{parser_fn, NomCodec};
    /// fn byte(i: &[u8]) -> nom::IResult<&[u8], u8> { nom::number::streaming::u8(i) }
    /// use tokio_util::codec::Decoder;
    /// let mut codec = NomCodec::new(parser_fn(byte));
    /// assert_eq!(codec.decode(&mut bytes::BytesMut::from(&b"ab"[..])).unwrap(), Some(b'a'));
    /// assert_eq!(codec.parsed_items(), 1); // b'b' is parsed, waiting to be returned
    /// ```
    pub fn parsed_items(&self) -> usize {
        self.ready.len()
    }

    /// Parses every whole frame in `src` into the queue; leaves the partial tail in `src`.
    fn parse_buffered(&mut self, src: &mut BytesMut) {
        if src.is_empty() || src.len() < self.want {
            return;
        }
        let whole = src.split().freeze();
        let mut at = 0;
        while at < whole.len() {
            let input = &whole[at..];
            match self.parser.parse(input, &whole) {
                Ok((rest, item)) => {
                    let used = input.len() - rest.len();
                    if used == 0 {
                        self.pending_error = Some(FrameError::Malformed {
                            offset: self.consumed,
                            reason: "parser succeeded without consuming input".into(),
                        });
                        break;
                    }
                    if used > self.max_frame_len {
                        self.pending_error = Some(FrameError::TooLong {
                            len: used as u64,
                            max: self.max_frame_len,
                            offset: self.consumed,
                            exact: true,
                        });
                        break;
                    }
                    at += used;
                    self.consumed += used as u64;
                    self.want = 0;
                    self.ready.push_back(item);
                }
                Err(NomErr::Incomplete(needed)) => {
                    if input.len() >= self.max_frame_len {
                        self.pending_error = Some(FrameError::TooLong {
                            len: input.len() as u64,
                            max: self.max_frame_len,
                            offset: self.consumed,
                            exact: false,
                        });
                    } else {
                        let needed = match needed {
                            Needed::Size(n) => n.get(),
                            Needed::Unknown => 1,
                        };
                        // Never wait past the maximum: a parser asking for a declared
                        // length would otherwise have us buffer all of it before any check.
                        self.want = input.len().saturating_add(needed).min(self.max_frame_len);
                    }
                    break;
                }
                Err(NomErr::Error(e) | NomErr::Failure(e)) => {
                    let where_ = (e.input.as_ptr() as usize)
                        .checked_sub(input.as_ptr() as usize)
                        .filter(|&o| o <= input.len())
                        .unwrap_or(0);
                    self.pending_error = Some(FrameError::Malformed {
                        offset: self.consumed + where_ as u64,
                        reason: format!("parser rejected the input ({:?})", e.code).into(),
                    });
                    break;
                }
            }
        }
        // Give the unparsed tail back. With no item sharing the buffer this is free; otherwise
        // it copies only the partial frame.
        *src = if at == 0 {
            BytesMut::from(whole)
        } else {
            BytesMut::from(whole.slice(at..))
        };
        if self.pending_error.is_some() {
            self.want = 0;
        }
    }
}

impl<P: StreamParser> Decoder for NomCodec<P> {
    type Item = P::Item;
    type Error = FrameError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<P::Item>, FrameError> {
        if self.ready.is_empty() && self.pending_error.is_none() {
            self.parse_buffered(src);
        }
        if let Some(item) = self.ready.pop_front() {
            return Ok(Some(item));
        }
        match self.pending_error.take() {
            Some(err) => Err(err),
            None => Ok(None),
        }
    }

    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<P::Item>, FrameError> {
        // Nom's `Needed` is not always the least that can change the answer (`tag(b"\r\n")`
        // asks for 2 bytes when 1 wrong byte already decides): at the end, parse what is there
        // once more, so a stream that stops early gets the parser's own verdict.
        if self.ready.is_empty() && self.pending_error.is_none() {
            self.want = 0;
        }
        match self.decode(src)? {
            Some(item) => Ok(Some(item)),
            None if src.is_empty() => Ok(None),
            None => Err(FrameError::UnexpectedEof {
                buffered: src.len(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nom::bytes::streaming::{tag, take};
    use nom::number::streaming::be_u8;
    use nom::Parser;

    fn counted(input: &[u8]) -> IResult<&[u8], Vec<u8>> {
        let (rest, _) = tag(&b"#"[..]).parse(input)?;
        let (rest, n) = be_u8(rest)?;
        let (rest, body) = take(n).parse(rest)?;
        Ok((rest, body.to_vec()))
    }

    struct ZeroCopy;
    impl StreamParser for ZeroCopy {
        type Item = Bytes;
        fn parse<'a>(&mut self, input: &'a [u8], buf: &Bytes) -> IResult<&'a [u8], Bytes> {
            let (rest, n) = be_u8(input)?;
            let (rest, body) = take(n).parse(rest)?;
            Ok((rest, buf.slice_ref(body)))
        }
    }

    #[test]
    fn incomplete_size_becomes_the_wait_hint() {
        let mut c = NomCodec::new(parser_fn(counted));
        let mut buf = BytesMut::from(&b"#\x05ab"[..]);
        assert_eq!(c.decode(&mut buf).unwrap(), None);
        assert_eq!(c.want, 2 + 2 + 3);
        assert_eq!(&buf[..], b"#\x05ab", "the partial frame stays buffered");
        buf.extend_from_slice(b"cde#\x01z");
        assert_eq!(c.decode(&mut buf).unwrap(), Some(b"abcde".to_vec()));
        assert_eq!(c.decode(&mut buf).unwrap(), Some(b"z".to_vec()));
        assert_eq!(c.decode(&mut buf).unwrap(), None);
        assert_eq!(c.bytes_consumed(), 10);
    }

    #[test]
    fn parser_errors_are_malformed_with_stream_offsets() {
        let mut c = NomCodec::new(parser_fn(counted));
        let mut buf = BytesMut::from(&b"#\x01a!bad"[..]);
        assert_eq!(c.decode(&mut buf).unwrap(), Some(b"a".to_vec()));
        let err = c.decode(&mut buf).unwrap_err();
        assert!(
            matches!(err, FrameError::Malformed { offset: 3, .. }),
            "{err}"
        );
    }

    #[test]
    fn zero_copy_items_share_the_read_buffer() {
        let mut c = NomCodec::new(ZeroCopy);
        let mut buf = BytesMut::from(&b"\x03abc\x02de\x05"[..]);
        let first = c.decode(&mut buf).unwrap().unwrap();
        assert_eq!(first, "abc");
        assert_eq!(c.decode(&mut buf).unwrap().unwrap(), "de");
        assert_eq!(c.decode(&mut buf).unwrap(), None);
        assert_eq!(&buf[..], b"\x05");
    }

    #[test]
    fn incomplete_past_the_maximum_is_too_long() {
        let mut c = NomCodec::new(ZeroCopy).max_frame_len(4);
        let mut buf = BytesMut::from(&b"\xff1234"[..]);
        assert!(c.decode(&mut buf).unwrap_err().is_too_long());
    }

    #[test]
    fn a_declared_length_never_makes_it_buffer_past_the_maximum() {
        // The header declares 255 bytes; the maximum is 8. Bytes arrive one at a time.
        let mut c = NomCodec::new(ZeroCopy).max_frame_len(8);
        let mut buf = BytesMut::new();
        let mut result = Ok(None);
        for _ in 0..20 {
            buf.extend_from_slice(if buf.is_empty() { b"\xff" } else { b"x" });
            result = c.decode(&mut buf);
            if result.is_err() {
                break;
            }
        }
        assert!(result.unwrap_err().is_too_long());
        assert_eq!(buf.len(), 8, "failed as the 8th byte arrived");
    }

    #[test]
    fn at_eof_the_parser_decides_even_before_its_wait_hint() {
        fn byte_then_crlf(input: &[u8]) -> IResult<&[u8], u8> {
            let (rest, b) = be_u8(input)?;
            let (rest, _) = tag(&b"\r\n"[..]).parse(rest)?;
            Ok((rest, b))
        }
        let mut c = NomCodec::new(parser_fn(byte_then_crlf));
        let mut buf = BytesMut::from(&b"a"[..]);
        assert_eq!(
            c.decode(&mut buf).unwrap(),
            None,
            "tag asks for 2 more bytes"
        );
        buf.extend_from_slice(b"x");
        assert_eq!(
            c.decode(&mut buf).unwrap(),
            None,
            "1 of 2: not parsed again yet"
        );
        // Whole, "ax" is malformed; cut short by EOF it must be malformed too.
        let err = c.decode_eof(&mut buf).unwrap_err();
        assert!(err.is_malformed(), "{err}");
    }

    #[test]
    fn a_clone_is_a_fresh_codec() {
        let mut c = NomCodec::new(parser_fn(counted)).max_frame_len(100);
        let mut buf = BytesMut::from(&b"#\x01a#\x01b"[..]);
        assert!(c.decode(&mut buf).unwrap().is_some());
        let fresh = c.clone();
        assert_eq!((fresh.parsed_items(), fresh.bytes_consumed()), (0, 0));
        assert_eq!(fresh.max_frame_len, 100);
    }

    #[test]
    fn eof_inside_a_frame_is_reported() {
        let mut c = NomCodec::new(ZeroCopy);
        let mut buf = BytesMut::from(&b"\x01a\x03b"[..]);
        assert_eq!(c.decode_eof(&mut buf).unwrap().unwrap(), "a");
        let err = c.decode_eof(&mut buf).unwrap_err();
        assert!(matches!(err, FrameError::UnexpectedEof { buffered: 2 }));
        assert_eq!(c.decode_eof(&mut BytesMut::new()).unwrap(), None);
    }
}
