//! Frames that end at a delimiter: a newline, a byte, a byte sequence, or one of several.
//!
//! ```text
//! newline()                      "GET /\n"            -> "GET /"
//!   strips a CR before the LF    "GET /\r\n"          -> "GET /"
//! crlf() (strict)                "EHLO x\r\n"         -> "EHLO x"
//!   a bare LF or CR is an error  "EHLO x\n"           -> Malformed at byte 6
//! byte(0)                        "abc\0"              -> "abc"
//! sequence(b"\r\n\r\n")          "a: b\r\n\r\n"       -> "a: b"
//! any_of([b"\n", b"\r\n"])       the match that ends first wins
//! ```
//!
//! The search is incremental: bytes already searched are never searched again, whatever the
//! chunking of the input (a multi-byte delimiter only re-reads its own length minus one).
//!
//! # Knobs and defaults
//!
//! | knob | default | what it does |
//! |---|---|---|
//! | [`max_frame_len`](Delimited::max_frame_len) | [`DEFAULT_MAX_FRAME_LEN`] (64 KiB) | the largest payload; the search gives up at it plus the delimiter, before buffering more |
//! | [`on_overlong`](Delimited::on_overlong) | [`Overlong::Error`] | `Discard`: resynchronise at the next delimiter and report the skipped frame once it is skipped; `DiscardFailFast`: report on the read that brings byte max + 1 with no delimiter (or, when it may begin one ending a frame of the maximum, on the byte that decides), then skip silently |
//! | [`on_trailing`](Delimited::on_trailing) | [`Trailing::Error`] | unterminated bytes at the end of the stream: an error, a last frame (`Deliver`), or a last frame without a final CR (`DeliverWithoutCr`, as Go's `ScanLines`) |
//! | [`strip_cr`](Delimited::strip_cr) | on for [`newline`](Delimited::newline) | strip a CR right before the LF |
//! | [`keep_delimiter`](Delimited::keep_delimiter) | off | keep the delimiter in the payload (Netty's `stripDelimiter = false`) |
//! | [`encode_with`](Delimited::encode_with) | the delimiter read | the delimiter written when encoding (read LF or CRLF, write CRLF) |
//!
//! Delimiters are at most [`MAX_DELIMITER_LEN`] bytes. The encoder refuses a payload that contains
//! the delimiter or is over the maximum: it would not decode back.

use bytes::{BufMut, BytesMut};
use memchr::memmem;

pub use self::builder::InvalidDelimiter;
pub use super::overlong::Overlong;
use super::{Decision, Framing, InPlace, SkipReport};
use crate::FrameError;

mod builder;
mod lone;
mod search;

use self::lone::{Lone, Searcher};
use self::search::*;

/// Default maximum payload length of a delimited frame: 64 KiB.
///
/// ```
/// use framekit::framing::{Framing, delimited::{Delimited, DEFAULT_MAX_FRAME_LEN}};
/// assert_eq!(Delimited::newline().frame_limit(), DEFAULT_MAX_FRAME_LEN);
/// ```
pub const DEFAULT_MAX_FRAME_LEN: usize = 64 * 1024;

/// Longest delimiter accepted, so a delimiter straddling two reads costs a bounded re-read.
///
/// ```
/// use framekit::framing::delimited::{Delimited, MAX_DELIMITER_LEN};
/// let _fits = Delimited::sequence(&[b'-'; MAX_DELIMITER_LEN]);
/// ```
pub const MAX_DELIMITER_LEN: usize = 64;

/// What to do with bytes left after the last delimiter when the stream ends.
///
/// ```
/// use bytes::BytesMut;
/// use tokio_util::codec::Decoder;
/// use framekit::{FrameCodec, framing::delimited::{Delimited, Trailing}};
///
/// let mut codec = FrameCodec::new(Delimited::newline().on_trailing(Trailing::Deliver));
/// let mut buf = BytesMut::from(&b"no newline"[..]);
/// assert_eq!(codec.decode_eof(&mut buf).unwrap().unwrap(), "no newline");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Trailing {
    /// An unterminated frame at end of stream is [`FrameError::UnexpectedEof`] (the default).
    #[default]
    Error,
    /// Deliver the unterminated bytes as a final frame. Bytes over the maximum are never
    /// delivered: a stream cut inside a multi-byte delimiter, just after a payload at the
    /// maximum, leaves a tail longer than the maximum, and that tail gets the
    /// [`Overlong`] policy's answer instead.
    Deliver,
    /// Deliver them without a final CR, as Go's `bufio.ScanLines` does (the stripping of CR
    /// before LF, for the last line that has no LF).
    ///
    /// ```
    /// use framekit::framing::{Decision, Framing, delimited::{Delimited, Trailing}};
    /// let mut d = Delimited::newline().on_trailing(Trailing::DeliverWithoutCr);
    /// assert_eq!(d.decide_eof(b"last\r").unwrap(), Some(Decision::frame(5, 0..4)));
    /// ```
    DeliverWithoutCr,
}

#[derive(Debug, Clone)]
enum Matcher {
    /// One byte, found with `memchr`.
    Byte(u8),
    /// LF, optionally dropping a CR right before it from the payload.
    Newline { strip_cr: bool },
    /// CRLF only: a CR not followed by LF, or an LF not preceded by CR, is malformed.
    StrictCrlf,
    /// One multi-byte sequence, found with `memmem`.
    Sequence(Box<memmem::Finder<'static>>),
    /// Several delimiters; the one whose match ends first wins, ties go to the longest.
    AnyOf(Vec<Box<[u8]>>),
}

/// Where a delimiter was found: the payload ends at `payload_end`, the frame at `end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Found {
    payload_end: usize,
    end: usize,
}

/// The result of one search.
enum Search {
    Found(Found),
    /// No delimiter yet; positions before `resume` can never start one.
    NotYet {
        resume: usize,
    },
}

/// Frames that end at a delimiter. See the [module docs](self) for the layouts.
///
/// ```
/// use framekit::framing::{Decision, Framing, delimited::{Delimited, Overlong}};
///
/// let mut lines = Delimited::newline().max_frame_len(1024).on_overlong(Overlong::Discard);
/// assert_eq!(lines.decide(b"hi\r\nrest").unwrap(), Decision::frame(4, 0..2));
/// assert_eq!(lines.decide(b"no end yet").unwrap(), Decision::incomplete(1));
/// ```
#[derive(Debug, Clone)]
pub struct Delimited {
    matcher: Matcher,
    /// Written after each encoded payload.
    encode_with: Box<[u8]>,
    /// The longest delimiter's length (at most [`MAX_DELIMITER_LEN`]); see [`longest`](Self::longest).
    longest: u8,
    max_frame_len: usize,
    overlong: Overlong,
    trailing: Trailing,
    /// Search progress in the current buffer: no delimiter starts before it.
    searched: usize,
    /// `Some(bytes dropped so far)` while skipping an over-long frame.
    discarding: Option<u64>,
    /// The frame being skipped was reported already (fail fast): its end is dropped silently.
    reported: bool,
    /// Whether decoded payloads keep their delimiter (Netty's `stripDelimiter = false`).
    keep_delimiter: bool,
    /// The delimiter and its searcher when the matcher is one byte (`Byte`, `Newline`), for the
    /// inlined per-frame path: read without matching on the matcher per frame.
    lone: Option<Lone>,
    /// The search for `lone`'s byte.
    searcher: Searcher,
}

impl Delimited {
    /// The longest delimiter's length in bytes. Kept in a byte (delimiters are at most
    /// [`MAX_DELIMITER_LEN`] long): the codec is part of every idle connection.
    #[inline(always)]
    fn longest(&self) -> usize {
        usize::from(self.longest)
    }

    /// Handles the bytes of an over-long frame being skipped.
    fn decide_discarding(&mut self, buf: &[u8], skipped: u64) -> Result<Decision, FrameError> {
        // While skipping, only the delimiter matters: a stray bare LF in the junk is not news.
        let found = match &self.matcher {
            Matcher::StrictCrlf => {
                let from = self.searched.saturating_sub(1).min(buf.len());
                let found = memmem::find(&buf[from..], b"\r\n").map(|i| from + i + 2);
                crate::framing::work::examined(found.unwrap_or(buf.len()) - from);
                found
            }
            _ => match self.search(buf)? {
                Search::Found(f) => Some(f.end),
                Search::NotYet { .. } => None,
            },
        };
        match found {
            Some(end) => {
                self.discarding = None;
                self.searched = 0;
                let reported = std::mem::take(&mut self.reported);
                Ok(Decision::Discard {
                    len: end,
                    skipped_frame: (!reported).then(|| {
                        SkipReport::new(skipped + end as u64, skipped, self.max_frame_len)
                    }),
                })
            }
            None => {
                // Keep what could be the start of a delimiter; drop the rest.
                let keep = (self.longest() - 1).min(buf.len());
                let len = buf.len() - keep;
                if len == 0 {
                    self.searched = 0;
                    return Ok(Decision::incomplete(1));
                }
                self.discarding = Some(skipped + len as u64);
                self.searched = 0;
                Ok(Decision::Discard {
                    len,
                    skipped_frame: None,
                })
            }
        }
    }

    /// Rejects a frame of `len` payload bytes (a lower bound unless `exact`), or starts skipping it.
    fn overlong(&mut self, buf: &[u8], len: usize, exact: bool) -> Result<Decision, FrameError> {
        match self.overlong {
            Overlong::Error => Err(FrameError::TooLong {
                len: len as u64,
                max: self.max_frame_len,
                offset: 0,
                exact,
                reason: None,
            }),
            Overlong::Discard => {
                self.searched = 0;
                self.decide_discarding(buf, 0)
            }
            Overlong::DiscardFailFast => {
                // The first max + 1 bytes hold no delimiter (a delimiter found later, or none
                // within the buffer limit): report them now; drop the rest to the delimiter.
                let len = self.max_frame_len + 1;
                self.searched = 0;
                self.discarding = Some(len as u64);
                self.reported = true;
                Ok(Decision::Discard {
                    len,
                    skipped_frame: Some(SkipReport::new(len as u64, 0, self.max_frame_len)),
                })
            }
        }
    }

    /// Whether `payload` followed by the encoding delimiter decodes back to exactly `payload`.
    #[inline]
    fn check_payload(&self, payload: &[u8]) -> Result<(), &'static str> {
        let contains = |needle: &[u8]| memmem::find(payload, needle).is_some();
        match &self.matcher {
            Matcher::Byte(b) => {
                if contains_byte(payload, *b) {
                    return Err("payload contains the delimiter");
                }
            }
            Matcher::Newline { strip_cr } => {
                if contains_byte(payload, b'\n') {
                    return Err("payload contains LF, the delimiter");
                }
                if *strip_cr && !self.keep_delimiter && payload.last() == Some(&b'\r') {
                    return Err("payload ends in CR, which the decoder strips");
                }
            }
            Matcher::StrictCrlf => {
                if contains_either(payload, b'\r', b'\n') {
                    return Err("payload contains CR or LF in a strict CRLF stream");
                }
            }
            Matcher::Sequence(finder) => {
                if contains(finder.needle())
                    || straddles(payload, &self.encode_with, |t| {
                        finder.find(t).map(|i| Found {
                            payload_end: i,
                            end: i + finder.needle().len(),
                        })
                    })
                {
                    return Err("payload contains or runs into the delimiter");
                }
            }
            Matcher::AnyOf(delimiters) => {
                if delimiters.iter().any(|d| contains(d))
                    || straddles(payload, &self.encode_with, |t| {
                        match any_of_search(delimiters, t, 0) {
                            Search::Found(f) => Some(f),
                            Search::NotYet { .. } => None,
                        }
                    })
                {
                    return Err("payload contains or runs into a delimiter");
                }
            }
        }
        Ok(())
    }
}

impl Delimited {
    /// Everything the inlined path ([`decide_lone`](Self::decide_lone)) leaves: no delimiter
    /// yet, a strict CRLF, a sequence, several delimiters, an over-long frame, skipping.
    #[inline(never)]
    fn decide_any(&mut self, buf: &[u8]) -> Result<Decision, FrameError> {
        if let Some(skipped) = self.discarding {
            return self.decide_discarding(buf, skipped);
        }
        let search = match self.search(buf) {
            // A bad byte past the maximum sits in a frame that is over-long anyway; a reader
            // given the bytes in small pieces gives up at the limit before seeing it, so say
            // too long here as well: the answer must not depend on how the bytes arrived.
            Err(FrameError::Malformed { offset, .. }) if offset > self.max_frame_len as u64 => {
                self.searched = 0;
                return self.overlong(buf, offset as usize, false);
            }
            other => other?,
        };
        match search {
            Search::Found(found) => {
                self.searched = 0;
                if found.payload_end > self.max_frame_len {
                    return self.overlong(buf, found.payload_end, true);
                }
                let payload_end = match self.keep_delimiter {
                    true => found.end,
                    false => found.payload_end,
                };
                Ok(Decision::frame(found.end, 0..payload_end))
            }
            Search::NotYet { resume } => {
                self.searched = resume;
                // Over-long as soon as no frame within the maximum can end any more: on the
                // read that brings byte max + 1, unless it may be the start of a delimiter
                // (a CR before LF), as Netty's failFast and tokio-util's LinesCodec report.
                if buf.len() > self.max_frame_len && !self.may_still_end(buf) {
                    return self.overlong(buf, buf.len(), false);
                }
                Ok(Decision::incomplete(1))
            }
        }
    }
}

impl Framing for Delimited {
    #[inline]
    fn decide(&mut self, buf: &[u8]) -> Result<Decision, FrameError> {
        match self.decide_lone(buf) {
            Some(InPlace { len, payload }) => Ok(Decision::Frame { len, payload }),
            None => self.decide_any(buf),
        }
    }

    #[inline(always)]
    fn decide_frame(&mut self, buf: &[u8]) -> Option<InPlace> {
        self.decide_lone(buf)
    }

    fn decide_eof(&mut self, buf: &[u8]) -> Result<Option<Decision>, FrameError> {
        if let Some(skipped) = self.discarding {
            // The skipped frame ends with the stream: drop the rest and report it (unless it
            // was reported when the skipping began).
            self.discarding = None;
            self.searched = 0;
            let reported = std::mem::take(&mut self.reported);
            let report = (!reported)
                .then(|| SkipReport::new(skipped + buf.len() as u64, skipped, self.max_frame_len));
            // Nothing to drop and nothing to report is a clean end, not an empty discard.
            return Ok(
                (!buf.is_empty() || report.is_some()).then_some(Decision::Discard {
                    len: buf.len(),
                    skipped_frame: report,
                }),
            );
        }
        if buf.is_empty() {
            return Ok(None);
        }
        match self.decide(buf)? {
            Decision::Incomplete { .. } => {
                self.searched = 0;
                match self.trailing {
                    Trailing::Error => Err(FrameError::UnexpectedEof {
                        buffered: buf.len(),
                    }),
                    Trailing::Deliver | Trailing::DeliverWithoutCr
                        if buf.len() > self.max_frame_len =>
                    {
                        self.overlong(buf, buf.len(), true).map(Some)
                    }
                    Trailing::Deliver => Ok(Some(Decision::frame(buf.len(), 0..buf.len()))),
                    Trailing::DeliverWithoutCr => {
                        let end = buf.len() - usize::from(buf.last() == Some(&b'\r'));
                        Ok(Some(Decision::frame(buf.len(), 0..end)))
                    }
                }
            }
            other => Ok(Some(other)),
        }
    }

    /// The maximum, plus the delimiter when payloads keep it.
    fn frame_limit(&self) -> usize {
        match self.keep_delimiter {
            true => self.max_frame_len.saturating_add(self.longest()),
            false => self.max_frame_len,
        }
    }

    fn buffer_limit(&self) -> usize {
        self.max_frame_len.saturating_add(self.longest())
    }

    #[inline]
    fn encode_head(&mut self, payload: &[u8], _dst: &mut BytesMut) -> Result<(), FrameError> {
        let payload = match self.keep_delimiter {
            false => payload,
            true => payload.strip_suffix(&self.encode_with[..]).ok_or_else(|| {
                FrameError::unencodable(payload.len(), "payload does not end in the delimiter")
            })?,
        };
        if payload.len() > self.max_frame_len {
            return Err(FrameError::unencodable(
                payload.len(),
                format!("over the maximum frame length of {}", self.max_frame_len),
            ));
        }
        self.check_payload(payload)
            .map_err(|reason| FrameError::unencodable(payload.len(), reason))
    }

    #[inline]
    fn encode_tail(&mut self, dst: &mut BytesMut) -> Result<(), FrameError> {
        // A kept delimiter is part of the payload already.
        if !self.keep_delimiter {
            // A one-byte delimiter (the usual LF) is a store, not a call to copy one byte.
            match *self.encode_with {
                [byte] => dst.put_u8(byte),
                ref delimiter => dst.put_slice(delimiter),
            }
        }
        Ok(())
    }

    fn reset(&mut self) {
        self.searched = 0;
        self.discarding = None;
        self.reported = false;
    }

    fn reports_work(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests;
