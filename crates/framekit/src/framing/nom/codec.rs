//! [`NomCodec`]: the decoder that decides when to run a nom parser (after a [`Boundary`] says a
//! frame ended, or under bounded guessing) and queues the items of every whole frame buffered.

use std::collections::VecDeque;
use std::fmt;

use bytes::{Bytes, BytesMut};
use nom::{Err as NomErr, Needed};
use tokio_util::codec::{Decoder, Encoder};

use super::{Boundary, NoBoundary, Scan, StreamParser, DEFAULT_MAX_FRAME_LEN, GUESS_BUDGET};
use crate::framing::work;
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
    boundary: B,
    encoder: E,
    pub(super) max_frame_len: usize,
    /// Parsed items not yet returned, each with the bytes its frame took on the wire.
    ready: VecDeque<(P::Item, usize)>,
    /// The frozen bytes the queued items were parsed from, from the first undelivered one.
    batch: Bytes,
    /// Buffer length below which parsing again cannot help (guessing mode).
    pub(super) want: usize,
    consumed: u64,
    /// An error found after some good frames, returned once those are delivered.
    pending_error: Option<FrameError>,
    /// Bytes at the front of the read buffer already handed to the boundary.
    scanned: usize,
    /// The boundary gave no usable answer for the frame in progress: guess until it ends.
    guessing: bool,
    /// Bytes handed to the parser for the frame in progress by tries that came back short.
    spent: usize,
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
    fn restart_frame(&mut self) {
        self.boundary.reset();
        self.scanned = 0;
        self.guessing = !B::SCANS;
        self.spent = 0;
        self.want = 0;
    }

    /// Takes one parsed item of `used` bytes: counted as work, checked against the limits and
    /// queued. Returns false, with the error pending, when the parser's answer is refused.
    fn accept(&mut self, item: P::Item, used: usize) -> bool {
        work::examined(used);
        if let Err(e) = self.check_used(used) {
            self.pending_error = Some(e);
            return false;
        }
        self.consumed += used as u64;
        self.ready.push_back((item, used));
        true
    }

    /// Parses what `src` holds: whole frames into the queue, the partial tail left in `src`.
    fn parse_buffered(&mut self, src: &mut BytesMut, eof: bool) {
        if self.ready.is_empty() {
            self.batch = Bytes::new();
        }
        while self.pending_error.is_none() && !src.is_empty() {
            let progressed = if !self.guessing && B::SCANS {
                self.parse_scanned(src)
            } else {
                false
            };
            if progressed {
                continue;
            }
            // Guess when the boundary has given up on this frame, or when there is none; and,
            // whatever the boundary says, at the maximum and at the end of the stream, where
            // only the parser's verdict counts.
            let must = eof || src.len() >= self.max_frame_len;
            if (self.guessing && src.len() >= self.want) || must {
                if !self.guess(src, eof) {
                    break;
                }
                continue;
            }
            break;
        }
    }

    /// Feeds the boundary what it has not seen; parses the whole frames it finds. Returns
    /// whether any frame was queued (or an error found).
    fn parse_scanned(&mut self, src: &mut BytesMut) -> bool {
        let mut whole_end = 0;
        while self.scanned < src.len() {
            let new = &src[self.scanned..];
            match self.boundary.scan(new) {
                Scan::More => {
                    work::examined(new.len());
                    self.scanned = src.len();
                }
                Scan::Ends(n) => {
                    let n = n.min(new.len());
                    work::examined(n);
                    self.scanned += n;
                    if self.scanned == whole_end {
                        // An empty frame: the boundary is confused; let the parser judge.
                        self.guessing = true;
                        break;
                    }
                    whole_end = self.scanned;
                }
            }
        }
        if whole_end == 0 {
            return self.guessing;
        }
        // Parse exactly the whole frames; the partial frame after them stays in `src` uncopied.
        let whole = src.split_to(whole_end).freeze();
        self.scanned -= whole_end;
        let mut at = 0;
        while at < whole.len() {
            let input = &whole[at..];
            match self.parser.parse(input, &whole) {
                Ok((rest, item)) => {
                    let used = input.len() - rest.len();
                    if !self.accept(item, used) {
                        break;
                    }
                    at += used;
                }
                Err(NomErr::Incomplete(_)) => {
                    // The boundary ended a frame the parser finds unfinished: guess from here,
                    // with this try counted against the budget, and not on these same bytes.
                    work::examined(input.len());
                    self.guessing = true;
                    self.spent = self.spent.saturating_add(input.len());
                    self.want = self
                        .spent
                        .div_ceil(GUESS_BUDGET - 1)
                        .max(input.len() + 1)
                        .min(self.max_frame_len);
                    break;
                }
                Err(NomErr::Error(e) | NomErr::Failure(e)) => {
                    self.pending_error = Some(self.malformed(input, e.input, e.code));
                    break;
                }
            }
        }
        if at < whole.len() {
            // The parser and the boundary disagree: give back what the parser did not take
            // (one copy, on this rare path) and scan it again from a fresh boundary.
            let mut back = BytesMut::with_capacity(whole.len() - at + src.len());
            back.extend_from_slice(&whole[at..]);
            back.extend_from_slice(src);
            *src = back;
            self.boundary.reset();
            self.scanned = 0;
        }
        self.keep_batch(whole, at);
        true
    }

    /// One try of the parser over everything buffered; returns whether a frame was queued.
    fn guess(&mut self, src: &mut BytesMut, eof: bool) -> bool {
        let whole = src.split().freeze();
        let mut at = 0;
        let mut queued = false;
        while at < whole.len() {
            let input = &whole[at..];
            match self.parser.parse(input, &whole) {
                Ok((rest, item)) => {
                    let used = input.len() - rest.len();
                    if !self.accept(item, used) {
                        break;
                    }
                    at += used;
                    queued = true;
                    self.spent = 0;
                    self.want = 0;
                    if B::SCANS {
                        // Back to the boundary from the next frame on.
                        self.boundary.reset();
                        self.scanned = 0;
                        self.guessing = false;
                        break;
                    }
                }
                Err(NomErr::Incomplete(needed)) => {
                    work::examined(input.len());
                    self.spent = self.spent.saturating_add(input.len());
                    if input.len() >= self.max_frame_len {
                        self.pending_error = Some(FrameError::TooLong {
                            len: input.len() as u64,
                            max: self.max_frame_len,
                            offset: self.consumed,
                            exact: false,
                        });
                    } else if !eof {
                        self.guessing = true;
                        let needed = match needed {
                            Needed::Size(n) => n.get(),
                            Needed::Unknown => 1,
                        };
                        // The parser's hint, and the budget: the next try (L bytes) may not
                        // take the bytes spent on this frame past GUESS_BUDGET * L, so
                        // L >= spent / (GUESS_BUDGET - 1). Never past the maximum, where the
                        // verdict is due.
                        let budget = self.spent.div_ceil(GUESS_BUDGET - 1);
                        self.want = input
                            .len()
                            .saturating_add(needed)
                            .max(budget)
                            .min(self.max_frame_len);
                    }
                    break;
                }
                Err(NomErr::Error(e) | NomErr::Failure(e)) => {
                    self.pending_error = Some(self.malformed(input, e.input, e.code));
                    break;
                }
            }
        }
        *src = BytesMut::from(whole.slice(at..));
        self.keep_batch(whole, at);
        queued
    }

    fn check_used(&self, used: usize) -> Result<(), FrameError> {
        if used == 0 {
            return Err(FrameError::Malformed {
                offset: self.consumed,
                reason: "parser succeeded without consuming input".into(),
            });
        }
        if used > self.max_frame_len {
            return Err(FrameError::TooLong {
                len: used as u64,
                max: self.max_frame_len,
                offset: self.consumed,
                exact: true,
            });
        }
        Ok(())
    }

    /// The error a parser reported at `at`; what it examined counts up to there.
    fn malformed(&self, input: &[u8], at: &[u8], code: nom::error::ErrorKind) -> FrameError {
        let where_ = (at.as_ptr() as usize)
            .checked_sub(input.as_ptr() as usize)
            .filter(|&o| o <= input.len())
            .unwrap_or(0);
        work::examined((where_ + 1).min(input.len()));
        FrameError::Malformed {
            offset: self.consumed + where_ as u64,
            reason: format!("parser rejected the input ({code:?})").into(),
        }
    }

    /// Keeps the bytes of the frames just queued, for [`give_back`](Self::give_back).
    fn keep_batch(&mut self, whole: Bytes, parsed: usize) {
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
