//! [`NomCodec`]: the decoder that runs a nom parser over the read buffer (when, is the parse
//! passes' business, in `parsing.rs`) and queues the items of every whole frame buffered, with
//! the bytes behind them so that [`give_back`](NomCodec::give_back) can return them.

use std::collections::VecDeque;
use std::fmt;

use bytes::{Bytes, BytesMut};
use tokio_util::codec::{Decoder, Encoder};

use super::{Boundary, NoBoundary, StreamParser, DEFAULT_MAX_FRAME_LEN};
use crate::FrameError;

/// A `tokio_util` [`Decoder`] driven by a streaming nom parser, optionally paced by a
/// [`Boundary`] and paired with an [`Encoder`].
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
pub struct NomCodec<P: StreamParser, B = NoBoundary, E = ()> {
    pub(super) parser: P,
    pub(super) boundary: B,
    pub(super) encoder: E,
    pub(super) max_frame_len: usize,
    /// Parsed items not yet returned, each with the bytes its frame took on the wire.
    pub(super) ready: VecDeque<(P::Item, usize)>,
    /// The frozen bytes the queued items were parsed from, from the first undelivered one.
    pub(super) batch: Bytes,
    /// Buffer length below which parsing again cannot help (guessing mode).
    pub(super) want: usize,
    pub(super) consumed: u64,
    /// An error found after some good frames, returned once those are delivered.
    pub(super) pending_error: Option<FrameError>,
    /// Bytes at the front of the read buffer already handed to the boundary.
    pub(super) scanned: usize,
    /// The boundary gave no usable answer for the frame in progress: guess until it ends.
    pub(super) guessing: bool,
    /// Bytes handed to the parser for the frame in progress by tries that came back short.
    pub(super) spent: usize,
}

/// A clone is a fresh codec with the same parser, boundary, encoder and limits: parsed items
/// and stream position belong to one stream and are not copied.
impl<P: StreamParser + Clone, B: Boundary + Clone, E: Clone> Clone for NomCodec<P, B, E> {
    fn clone(&self) -> Self {
        let mut boundary = self.boundary.clone();
        boundary.reset();
        NomCodec::with_boundary(self.parser.clone(), boundary)
            .max_frame_len(self.max_frame_len)
            .encoder(self.encoder.clone())
    }
}

impl<P: StreamParser, B, E> fmt::Debug for NomCodec<P, B, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NomCodec")
            .field("max_frame_len", &self.max_frame_len)
            .field("ready", &self.ready.len())
            .field("consumed", &self.consumed)
            .field("guessing", &self.guessing)
            .finish_non_exhaustive()
    }
}

impl<P: StreamParser> NomCodec<P> {
    /// A codec for `parser` without a boundary (bounded guessing), with the default maximum
    /// frame length.
    ///
    /// ```
    /// use framekit::framing::nom::{parser_fn, NomCodec};
    /// fn byte(i: &[u8]) -> nom::IResult<&[u8], u8> { nom::number::streaming::u8(i) }
    /// let codec = NomCodec::new(parser_fn(byte));
    /// ```
    pub fn new(parser: P) -> Self {
        Self::with_boundary(parser, NoBoundary)
    }
}

impl<P: StreamParser, B: Boundary> NomCodec<P, B> {
    /// A codec for `parser` paced by `boundary`: the parser runs once per whole frame.
    ///
    /// ```
    /// use framekit::framing::nom::{parser_fn, NomCodec, NoBoundary};
    /// fn byte(i: &[u8]) -> nom::IResult<&[u8], u8> { nom::number::streaming::u8(i) }
    /// let codec = NomCodec::with_boundary(parser_fn(byte), NoBoundary);
    /// ```
    pub fn with_boundary(parser: P, boundary: B) -> Self {
        NomCodec {
            parser,
            boundary,
            encoder: (),
            max_frame_len: DEFAULT_MAX_FRAME_LEN,
            ready: VecDeque::new(),
            batch: Bytes::new(),
            want: 0,
            consumed: 0,
            pending_error: None,
            scanned: 0,
            guessing: !B::SCANS,
            spent: 0,
        }
    }
}

impl<P: StreamParser, B: Boundary, E> NomCodec<P, B, E> {
    /// Pairs the decoder with `encoder`, so one codec serves both halves of `Framed`: the
    /// codec is an [`Encoder<T>`] whenever `encoder` is.
    ///
    /// ```
    /// use bytes::BytesMut;
    /// use framekit::{FrameCodec, framing::{length_prefixed::LengthPrefixed, nom::{parser_fn, NomCodec}}};
    /// use tokio_util::codec::{Decoder, Encoder};
    ///
    /// fn counted(i: &[u8]) -> nom::IResult<&[u8], &[u8]> {
    ///     nom::multi::length_data(nom::number::streaming::u8).parse(i)
    /// }
    /// # use nom::Parser;
    /// fn owned(i: &[u8]) -> nom::IResult<&[u8], Vec<u8>> { counted(i).map(|(r, b)| (r, b.to_vec())) }
    /// let mut codec = NomCodec::new(parser_fn(owned)).encoder(FrameCodec::new(LengthPrefixed::u8()));
    /// let mut wire = BytesMut::new();
    /// codec.encode(&b"hi"[..], &mut wire).unwrap();
    /// assert_eq!(codec.decode(&mut wire).unwrap(), Some(b"hi".to_vec()));
    /// ```
    pub fn encoder<E2>(self, encoder: E2) -> NomCodec<P, B, E2> {
        NomCodec {
            parser: self.parser,
            boundary: self.boundary,
            encoder,
            max_frame_len: self.max_frame_len,
            ready: self.ready,
            batch: self.batch,
            want: self.want,
            consumed: self.consumed,
            pending_error: self.pending_error,
            scanned: self.scanned,
            guessing: self.guessing,
            spent: self.spent,
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

    /// Items parsed but not yet returned.
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

    /// Drops the items parsed but not yet returned and puts their bytes back at the front of
    /// `src`, so a protocol switch (`Framed::map_codec`, after `read_buffer_mut`) loses nothing.
    /// The stream position moves back by as many bytes.
    ///
    /// ```
    /// use bytes::BytesMut;
    /// use framekit::framing::nom::{parser_fn, NomCodec};
    /// use tokio_util::codec::Decoder;
    /// fn byte(i: &[u8]) -> nom::IResult<&[u8], u8> { nom::number::streaming::u8(i) }
    ///
    /// let mut codec = NomCodec::new(parser_fn(byte));
    /// let mut buf = BytesMut::from(&b"abc"[..]);
    /// assert_eq!(codec.decode(&mut buf).unwrap(), Some(b'a'));
    /// codec.give_back(&mut buf); // "b" and "c" were parsed but not returned
    /// assert_eq!(&buf[..], b"bc");
    /// assert_eq!(codec.parsed_items(), 0);
    /// ```
    pub fn give_back(&mut self, src: &mut BytesMut) {
        let queued: usize = self.ready.iter().map(|(_, len)| len).sum();
        if queued > 0 {
            let mut back = BytesMut::with_capacity(queued + src.len());
            back.extend_from_slice(&self.batch[..queued]);
            back.extend_from_slice(src);
            *src = back;
            self.consumed -= queued as u64;
        }
        self.ready.clear();
        self.batch = Bytes::new();
        self.pending_error = None;
        self.restart_frame();
    }

    /// Forgets the progress on the frame in progress: its next byte is the frame's first.
    pub(super) fn restart_frame(&mut self) {
        self.boundary.reset();
        self.scanned = 0;
        self.guessing = !B::SCANS;
        self.spent = 0;
        self.want = 0;
    }

    /// Keeps the bytes of the frames just queued, for [`give_back`](Self::give_back).
    pub(super) fn keep_batch(&mut self, whole: Bytes, parsed: usize) {
        if parsed == 0 {
            return;
        }
        let earlier: usize = self.ready.iter().map(|(_, len)| len).sum::<usize>() - parsed;
        self.batch = match earlier {
            0 => whole.slice(..parsed),
            _ => {
                // Items from an earlier pass are still queued: keep both runs of bytes.
                let mut joined = BytesMut::with_capacity(earlier + parsed);
                joined.extend_from_slice(&self.batch[..earlier]);
                joined.extend_from_slice(&whole[..parsed]);
                joined.freeze()
            }
        };
    }

    fn take_ready(&mut self) -> Option<P::Item> {
        let (item, len) = self.ready.pop_front()?;
        self.batch = match self.ready.is_empty() {
            true => Bytes::new(),
            false => self.batch.slice(len..),
        };
        Some(item)
    }

    fn decode_inner(
        &mut self,
        src: &mut BytesMut,
        eof: bool,
    ) -> Result<Option<P::Item>, FrameError> {
        if self.ready.is_empty() && self.pending_error.is_none() {
            self.parse_buffered(src, eof);
        }
        if let Some(item) = self.take_ready() {
            return Ok(Some(item));
        }
        match self.pending_error.take() {
            Some(err) => {
                self.restart_frame();
                Err(err)
            }
            None => Ok(None),
        }
    }
}

impl<P: StreamParser, B: Boundary, E> Decoder for NomCodec<P, B, E> {
    type Item = P::Item;
    type Error = FrameError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<P::Item>, FrameError> {
        self.decode_inner(src, false)
    }

    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<P::Item>, FrameError> {
        // Nom's `Needed` is not always the least that can change the answer (`tag(b"\r\n")`
        // asks for 2 bytes when 1 wrong byte already decides), and a boundary may end late: at
        // the end, the parser gets the last word on what is there.
        match self.decode_inner(src, true)? {
            Some(item) => Ok(Some(item)),
            None if src.is_empty() => Ok(None),
            None => Err(FrameError::UnexpectedEof {
                buffered: src.len(),
            }),
        }
    }
}

impl<P: StreamParser, B, E: Encoder<T>, T> Encoder<T> for NomCodec<P, B, E> {
    type Error = E::Error;

    fn encode(&mut self, item: T, dst: &mut BytesMut) -> Result<(), E::Error> {
        self.encoder.encode(item, dst)
    }
}
