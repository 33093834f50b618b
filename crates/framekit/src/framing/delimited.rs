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

use bytes::{BufMut, BytesMut};
use memchr::memmem;

pub use super::overlong::Overlong;
use super::{Decision, Framing, SkipReport};
use crate::FrameError;

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
    longest: usize,
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
    /// The byte the inlined path looks for and whether a CR before it is stripped, when the
    /// matcher is one byte (`Byte`, `Newline`); read without matching on the matcher per frame.
    lone: Option<(u8, bool)>,
}

impl Delimited {
    fn with_matcher(matcher: Matcher, encode_with: &[u8], longest: usize) -> Self {
        Delimited {
            lone: lone(&matcher),
            matcher,
            encode_with: encode_with.into(),
            longest,
            max_frame_len: DEFAULT_MAX_FRAME_LEN,
            overlong: Overlong::default(),
            trailing: Trailing::default(),
            searched: 0,
            discarding: None,
            reported: false,
            keep_delimiter: false,
        }
    }

    /// Lines ending in LF; a CR right before the LF is stripped too (lenient line endings).
    /// Encodes with LF.
    ///
    /// ```
    /// use framekit::framing::{Decision, Framing, delimited::Delimited};
    /// assert_eq!(Delimited::newline().decide(b"a\r\n").unwrap(), Decision::frame(3, 0..1));
    /// assert_eq!(Delimited::newline().decide(b"a\n").unwrap(), Decision::frame(2, 0..1));
    /// ```
    pub fn newline() -> Self {
        Self::with_matcher(Matcher::Newline { strip_cr: true }, b"\n", 2)
    }

    /// Lines ending in CRLF, strictly: a bare CR or a bare LF anywhere is
    /// [`FrameError::Malformed`]. This closes the parser differential behind SMTP smuggling,
    /// where two hops disagree on whether a bare LF ends a line. Encodes with CRLF.
    ///
    /// ```
    /// use framekit::framing::{Framing, delimited::Delimited};
    /// let err = Delimited::crlf().decide(b"DATA\n").unwrap_err();
    /// assert_eq!(err.to_string(), "malformed frame at byte 4: bare LF without CR in a CRLF-delimited stream");
    /// ```
    pub fn crlf() -> Self {
        Self::with_matcher(Matcher::StrictCrlf, b"\r\n", 2)
    }

    /// Frames ending at the byte `delimiter` (NUL-terminated records, for example).
    ///
    /// ```
    /// use framekit::framing::{Decision, Framing, delimited::Delimited};
    /// assert_eq!(Delimited::byte(0).decide(b"ab\0").unwrap(), Decision::frame(3, 0..2));
    /// ```
    pub fn byte(delimiter: u8) -> Self {
        Self::with_matcher(Matcher::Byte(delimiter), &[delimiter], 1)
    }

    /// Frames ending at a byte sequence, such as `\r\n\r\n` after HTTP headers.
    ///
    /// # Panics
    /// If `delimiter` is empty or longer than [`MAX_DELIMITER_LEN`]; a framing is configured
    /// once, by code, so a bad delimiter is a programming error.
    ///
    /// ```
    /// use framekit::framing::{Decision, Framing, delimited::Delimited};
    /// let mut headers = Delimited::sequence(b"\r\n\r\n");
    /// assert_eq!(headers.decide(b"a: b\r\n\r\nbody").unwrap(), Decision::frame(8, 0..4));
    /// ```
    pub fn sequence(delimiter: &[u8]) -> Self {
        check_delimiter(delimiter);
        match delimiter {
            [b] => Self::byte(*b),
            _ => Self::with_matcher(
                Matcher::Sequence(Box::new(memmem::Finder::new(delimiter).into_owned())),
                delimiter,
                delimiter.len(),
            ),
        }
    }

    /// Frames ending at any of several delimiters. The match that ends first wins (the shortest
    /// frame); when two end at the same byte, the longer delimiter wins (the shorter payload).
    /// Deciding by the end keeps the result independent of how the input is chunked.
    /// Encodes with the first delimiter that decodes as itself: in `[b"\r\n\r\n", b"\r\n"]`
    /// that is CRLF, which would end a frame first inside the blank line.
    ///
    /// # Panics
    /// If `delimiters` is empty, or one of them is empty or longer than [`MAX_DELIMITER_LEN`].
    ///
    /// ```
    /// use framekit::framing::{Decision, Framing, delimited::Delimited};
    /// let mut d = Delimited::any_of([&b";"[..], b"\r\n"]);
    /// assert_eq!(d.decide(b"a;b\r\n").unwrap(), Decision::frame(2, 0..1));
    /// ```
    pub fn any_of<'a>(delimiters: impl IntoIterator<Item = &'a [u8]>) -> Self {
        let delimiters: Vec<Box<[u8]>> = delimiters.into_iter().map(Box::from).collect();
        assert!(
            !delimiters.is_empty(),
            "Delimited::any_of needs at least one delimiter"
        );
        delimiters.iter().for_each(|d| check_delimiter(d));
        if delimiters.len() == 1 {
            return Self::sequence(&delimiters[0]);
        }
        let longest = delimiters.iter().map(|d| d.len()).max().unwrap_or(1);
        // A delimiter can only end an encoded frame if, written alone, no other one ends first
        // inside it (in ["\r\n\r\n", "\r\n"], CRLF ends first inside the blank line).
        let encode_with = delimiters
            .iter()
            .find(|d| {
                matches!(
                    any_of_search(&delimiters, d, 0),
                    Search::Found(Found { payload_end: 0, end }) if end == d.len()
                )
            })
            .cloned()
            .expect("some delimiter of any_of decodes as itself: the shortest always does");
        Self::with_matcher(Matcher::AnyOf(delimiters), &encode_with, longest)
    }

    /// Sets the maximum payload length (delimiter excluded). Default [`DEFAULT_MAX_FRAME_LEN`].
    ///
    /// ```
    /// use framekit::framing::{Framing, delimited::Delimited};
    /// let err = Delimited::newline().max_frame_len(3).decide(b"abcdef").unwrap_err();
    /// assert!(err.is_too_long());
    /// ```
    pub fn max_frame_len(mut self, max: usize) -> Self {
        self.max_frame_len = max;
        self
    }

    /// Sets what happens to an over-long frame. Default [`Overlong::Error`].
    ///
    /// ```
    /// use framekit::framing::delimited::{Delimited, Overlong};
    /// let lines = Delimited::newline().on_overlong(Overlong::Discard);
    /// ```
    pub fn on_overlong(mut self, policy: Overlong) -> Self {
        self.overlong = policy;
        self
    }

    /// Sets what happens to unterminated bytes at end of stream. Default [`Trailing::Error`].
    ///
    /// ```
    /// use framekit::framing::{Decision, Framing, delimited::{Delimited, Trailing}};
    /// let mut d = Delimited::newline().on_trailing(Trailing::Deliver);
    /// assert_eq!(d.decide_eof(b"last").unwrap(), Some(Decision::frame(4, 0..4)));
    /// ```
    pub fn on_trailing(mut self, policy: Trailing) -> Self {
        self.trailing = policy;
        self
    }

    /// Keeps the delimiter at the end of each decoded payload (Netty's `stripDelimiter =
    /// false`); the maximum still counts the bytes before it. Encoding then takes payloads that
    /// end in the encoding delimiter and writes them as they are.
    ///
    /// ```
    /// use bytes::BytesMut;
    /// use framekit::framing::{Decision, Framing, delimited::Delimited};
    /// let mut d = Delimited::newline().keep_delimiter(true);
    /// assert_eq!(d.decide(b"a\r\nb").unwrap(), Decision::frame(3, 0..3));
    /// let mut wire = BytesMut::new();
    /// d.encode(b"a\n", &mut wire).unwrap();
    /// assert_eq!(&wire[..], b"a\n");
    /// assert!(d.encode(b"no delimiter", &mut wire).is_err());
    /// ```
    pub fn keep_delimiter(mut self, keep: bool) -> Self {
        self.keep_delimiter = keep;
        self
    }

    /// Encodes with `delimiter` instead of the default one (for [`any_of`](Self::any_of): the
    /// first of the set that decodes as itself). It must end a frame by itself under the
    /// decoding rules, or encoded frames would not decode back.
    ///
    /// # Panics
    /// If `delimiter`, decoded alone, is not exactly one empty frame: a framing is configured
    /// once, by code, so this is a programming error.
    ///
    /// ```
    /// use bytes::BytesMut;
    /// use framekit::framing::{Framing, delimited::Delimited};
    /// // Read LF or CRLF; write CRLF.
    /// let mut d = Delimited::any_of([&b"\n"[..], b"\r\n"]).encode_with(b"\r\n");
    /// let mut wire = BytesMut::new();
    /// d.encode(b"hi", &mut wire).unwrap();
    /// assert_eq!(&wire[..], b"hi\r\n");
    /// ```
    pub fn encode_with(mut self, delimiter: &[u8]) -> Self {
        check_delimiter(delimiter);
        let mut probe = self.clone();
        probe.reset();
        probe.keep_delimiter = false;
        assert!(
            matches!(
                probe.search_unmetered(delimiter),
                Ok(Search::Found(Found { payload_end: 0, end })) if end == delimiter.len()
            ),
            "{:?} does not decode as one delimiter of this framing",
            delimiter.escape_ascii().to_string()
        );
        self.encode_with = delimiter.into();
        self
    }

    /// With [`newline`](Self::newline): whether a CR before the LF is stripped (default true).
    /// Has no effect on other delimiters.
    ///
    /// ```
    /// use framekit::framing::{Decision, Framing, delimited::Delimited};
    /// let mut raw = Delimited::newline().strip_cr(false);
    /// assert_eq!(raw.decide(b"a\r\n").unwrap(), Decision::frame(3, 0..2));
    /// ```
    pub fn strip_cr(mut self, strip: bool) -> Self {
        if let Matcher::Newline { strip_cr } = &mut self.matcher {
            *strip_cr = strip;
        }
        self.lone = lone(&self.matcher);
        self
    }

    /// Finds the first delimiter at or after `self.searched`, and reports what it read to the
    /// work meter: from a delimiter's length before the new bytes to where the search stopped.
    fn search(&self, buf: &[u8]) -> Result<Search, FrameError> {
        let result = self.search_unmetered(buf);
        let stopped = match &result {
            Ok(Search::Found(found)) => found.end,
            Ok(Search::NotYet { .. }) => buf.len(),
            Err(FrameError::Malformed { offset, .. }) => (*offset as usize + 2).min(buf.len()),
            Err(_) => buf.len(),
        };
        let from = self.searched.saturating_sub(self.longest).min(stopped);
        super::work::examined(stopped - from);
        result
    }

    fn search_unmetered(&self, buf: &[u8]) -> Result<Search, FrameError> {
        let from = self.searched.min(buf.len());
        let hay = &buf[from..];
        Ok(match &self.matcher {
            Matcher::Byte(b) => match memchr::memchr(*b, hay) {
                Some(i) => Search::Found(Found {
                    payload_end: from + i,
                    end: from + i + 1,
                }),
                None => Search::NotYet { resume: buf.len() },
            },
            Matcher::Newline { strip_cr } => match memchr::memchr(b'\n', hay) {
                Some(i) => {
                    let lf = from + i;
                    let cr = *strip_cr && lf > 0 && buf[lf - 1] == b'\r';
                    Search::Found(Found {
                        payload_end: lf - usize::from(cr),
                        end: lf + 1,
                    })
                }
                None => Search::NotYet { resume: buf.len() },
            },
            Matcher::StrictCrlf => match memchr::memchr2(b'\r', b'\n', hay) {
                Some(i) => {
                    let at = from + i;
                    if buf[at] == b'\n' {
                        return Err(FrameError::malformed(
                            at,
                            "bare LF without CR in a CRLF-delimited stream",
                        ));
                    }
                    match buf.get(at + 1) {
                        Some(b'\n') => Search::Found(Found {
                            payload_end: at,
                            end: at + 2,
                        }),
                        Some(_) => {
                            return Err(FrameError::malformed(
                                at,
                                "bare CR without LF in a CRLF-delimited stream",
                            ))
                        }
                        None => Search::NotYet { resume: at },
                    }
                }
                None => Search::NotYet { resume: buf.len() },
            },
            Matcher::Sequence(finder) => {
                // A match may straddle the previous search's end: back up by len - 1.
                let dlen = finder.needle().len();
                let from = self.searched.saturating_sub(dlen - 1).min(buf.len());
                match finder.find(&buf[from..]) {
                    Some(i) => Search::Found(Found {
                        payload_end: from + i,
                        end: from + i + dlen,
                    }),
                    // The next search backs up by `dlen - 1` from here by itself.
                    None => Search::NotYet { resume: buf.len() },
                }
            }
            Matcher::AnyOf(delimiters) => any_of_search(delimiters, buf, from),
        })
    }

    /// Handles the bytes of an over-long frame being skipped.
    fn decide_discarding(&mut self, buf: &[u8], skipped: u64) -> Result<Decision, FrameError> {
        // While skipping, only the delimiter matters: a stray bare LF in the junk is not news.
        let found = match &self.matcher {
            Matcher::StrictCrlf => {
                let from = self.searched.saturating_sub(1).min(buf.len());
                let found = memmem::find(&buf[from..], b"\r\n").map(|i| from + i + 2);
                super::work::examined(found.unwrap_or(buf.len()) - from);
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
                    skipped_frame: (!reported)
                        .then(|| SkipReport::new(skipped + end as u64, skipped)),
                })
            }
            None => {
                // Keep what could be the start of a delimiter; drop the rest.
                let keep = (self.longest - 1).min(buf.len());
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
                    skipped_frame: Some(SkipReport::new(len as u64, 0)),
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
                if memchr::memchr2(b'\r', b'\n', payload).is_some() {
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

/// Whether `hay` contains `b`. Short payloads (most messages) are checked with a plain loop the
/// compiler vectorises in place; `memchr`'s runtime dispatch only pays off on longer ones.
#[inline]
fn contains_byte(hay: &[u8], b: u8) -> bool {
    if hay.len() <= 64 {
        hay.iter().fold(false, |found, &x| found | (x == b))
    } else {
        memchr::memchr(b, hay).is_some()
    }
}

/// Whether the end of `payload` joined with `delimiter` decodes as anything but exactly
/// `payload` then `delimiter`: a delimiter that ends earlier (a payload ending in `\r\r\n` under
/// `\r\n\r\n`, say, would be cut short), or a longer one ending at the same byte that starts
/// inside the payload (a payload ending in CR under `any_of([b"\n", b"\r\n"])` would lose it).
fn straddles(
    payload: &[u8],
    delimiter: &[u8],
    first_match: impl Fn(&[u8]) -> Option<Found>,
) -> bool {
    let tail = &payload[payload.len().saturating_sub(MAX_DELIMITER_LEN - 1)..];
    let mut joined = [0u8; 2 * MAX_DELIMITER_LEN];
    let n = tail.len() + delimiter.len();
    joined[..tail.len()].copy_from_slice(tail);
    joined[tail.len()..n].copy_from_slice(delimiter);
    first_match(&joined[..n])
        != Some(Found {
            payload_end: tail.len(),
            end: n,
        })
}

/// Several delimiters: scan candidate start positions from `from`; the match ending first wins,
/// ties to the longest. A prefix of a delimiter at the very end of the buffer pins `resume`.
fn any_of_search(delimiters: &[Box<[u8]>], buf: &[u8], from: usize) -> Search {
    let mut best: Option<(usize, usize)> = None; // (end, delimiter length)
    let mut pending: Option<usize> = None;
    let mut at = from;
    while at < buf.len() {
        if let Some((end, _)) = best {
            if at >= end {
                break;
            }
        }
        let rest = &buf[at..];
        for d in delimiters {
            if rest.len() >= d.len() {
                if rest.starts_with(d) {
                    let end = at + d.len();
                    let better = match best {
                        None => true,
                        Some((e, l)) => end < e || (end == e && d.len() > l),
                    };
                    if better {
                        best = Some((end, d.len()));
                    }
                }
            } else if d.starts_with(rest) && pending.is_none() {
                pending = Some(at);
            }
        }
        at += 1;
    }
    match best {
        Some((end, len)) => Search::Found(Found {
            payload_end: end - len,
            end,
        }),
        None => Search::NotYet {
            resume: pending.unwrap_or(buf.len()),
        },
    }
}

/// The `lone` field of a [`Delimited`] with this matcher.
fn lone(matcher: &Matcher) -> Option<(u8, bool)> {
    match *matcher {
        Matcher::Newline { strip_cr } => Some((b'\n', strip_cr)),
        Matcher::Byte(b) => Some((b, false)),
        _ => None,
    }
}

fn check_delimiter(delimiter: &[u8]) {
    assert!(!delimiter.is_empty(), "a delimiter cannot be empty");
    assert!(
        delimiter.len() <= MAX_DELIMITER_LEN,
        "a delimiter is at most {MAX_DELIMITER_LEN} bytes, got {}",
        delimiter.len()
    );
}

impl Delimited {
    /// The common case, kept small enough to inline into the caller's loop: a newline or
    /// single-byte delimiter found within the frame limit, not skipping. Anything else (no
    /// delimiter yet, a strict CRLF, several delimiters, an over-long frame) is for
    /// [`decide_any`](Self::decide_any), which gives the same answer for these too.
    #[inline(always)]
    fn decide_found(&mut self, buf: &[u8]) -> Option<Decision> {
        if self.discarding.is_some() {
            return None;
        }
        let (byte, strip_cr) = self.lone?;
        let from = self.searched.min(buf.len());
        let at = from + memchr::memchr(byte, &buf[from..])?;
        if at > self.max_frame_len {
            return None;
        }
        let end = at + 1;
        // Metered as `search` meters a found delimiter.
        super::work::examined(end - self.searched.saturating_sub(self.longest).min(end));
        self.searched = 0;
        let payload_end = if self.keep_delimiter {
            end
        } else {
            at - usize::from(strip_cr && at > 0 && buf[at - 1] == b'\r')
        };
        Some(Decision::frame(end, 0..payload_end))
    }

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
                if buf.len() >= self.buffer_limit() {
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
        match self.decide_found(buf) {
            Some(found) => Ok(found),
            None => self.decide_any(buf),
        }
    }

    fn decide_eof(&mut self, buf: &[u8]) -> Result<Option<Decision>, FrameError> {
        if let Some(skipped) = self.discarding {
            // The skipped frame ends with the stream: drop the rest and report it (unless it
            // was reported when the skipping began).
            self.discarding = None;
            self.searched = 0;
            let reported = std::mem::take(&mut self.reported);
            return Ok(Some(Decision::Discard {
                len: buf.len(),
                skipped_frame: (!reported)
                    .then(|| SkipReport::new(skipped + buf.len() as u64, skipped)),
            }));
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
            true => self.max_frame_len.saturating_add(self.longest),
            false => self.max_frame_len,
        }
    }

    fn buffer_limit(&self) -> usize {
        self.max_frame_len.saturating_add(self.longest)
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
            dst.put_slice(&self.encode_with);
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
mod tests {
    use super::*;
    use crate::framing::Frames;

    fn frames(d: &mut Delimited, input: &[u8]) -> Vec<Vec<u8>> {
        Frames::new(d, input).map(|f| f.unwrap().to_vec()).collect()
    }

    #[test]
    fn newline_strips_optional_cr() {
        let mut d = Delimited::newline();
        assert_eq!(frames(&mut d, b"a\nb\r\n\r\nc"), [&b"a"[..], b"b", b""]);
    }

    #[test]
    fn newline_keeps_cr_when_told() {
        let mut d = Delimited::newline().strip_cr(false);
        assert_eq!(frames(&mut d, b"b\r\n"), [&b"b\r"[..]]);
    }

    #[test]
    fn strict_crlf_rejects_bare_lf_and_cr_with_offsets() {
        let err = Frames::new(&mut Delimited::crlf(), b"ok\r\nbad\nx")
            .find_map(Result::err)
            .unwrap();
        // The first frame is fine; the error is found after it, at byte 7 of the input.
        assert!(
            matches!(err, FrameError::Malformed { offset: 7, .. }),
            "{err}"
        );
        let mut d = Delimited::crlf();
        assert_eq!(d.decide(b"ok\r\n").unwrap(), Decision::frame(4, 0..2));
        let err = Delimited::crlf().decide(b"a\rb\r\n").unwrap_err();
        assert!(
            matches!(err, FrameError::Malformed { offset: 1, .. }),
            "{err}"
        );
    }

    #[test]
    fn strict_crlf_bad_byte_past_the_maximum_is_too_long_in_any_chunking() {
        // 5 bytes then a bare LF, max 4: the whole buffer and byte-by-byte reading agree.
        let input = b"abcde\n";
        let whole = Delimited::crlf()
            .max_frame_len(4)
            .decide(input)
            .unwrap_err();
        assert!(whole.is_too_long(), "{whole}");
        let mut d = Delimited::crlf().max_frame_len(4);
        let err = (1..=input.len())
            .find_map(|n| d.decide(&input[..n]).err())
            .unwrap();
        assert!(err.is_too_long(), "{err}");
        // At the maximum itself the bad byte is still what is reported.
        let err = Delimited::crlf()
            .max_frame_len(4)
            .decide(b"abcd\n")
            .unwrap_err();
        assert!(err.is_malformed(), "{err}");
        // With Discard, the over-long frame is skipped up to the next CRLF.
        let mut d = Delimited::crlf()
            .max_frame_len(4)
            .on_overlong(Overlong::Discard);
        assert_eq!(
            d.decide(b"abcde\nx\r\nok\r\n").unwrap(),
            Decision::Discard {
                len: 9,
                skipped_frame: Some(SkipReport::new(9, 0))
            }
        );
    }

    #[test]
    fn strict_crlf_waits_on_a_trailing_cr() {
        let mut d = Delimited::crlf();
        assert_eq!(d.decide(b"abc\r").unwrap(), Decision::incomplete(1));
        assert_eq!(d.decide(b"abc\r\n").unwrap(), Decision::frame(5, 0..3));
    }

    #[test]
    fn byte_delimiter() {
        let mut d = Delimited::byte(b'|');
        assert_eq!(frames(&mut d, b"x|yy||"), [&b"x"[..], b"yy", b""]);
    }

    #[test]
    fn sequence_delimiter_across_chunks() {
        let mut d = Delimited::sequence(b"\r\n\r\n");
        assert_eq!(d.decide(b"head\r\n").unwrap(), Decision::incomplete(1));
        assert_eq!(d.decide(b"head\r\n\r").unwrap(), Decision::incomplete(1));
        assert_eq!(
            d.decide(b"head\r\n\r\nbody").unwrap(),
            Decision::frame(8, 0..4)
        );
    }

    #[test]
    fn any_of_earliest_end_wins_and_ties_go_to_longest() {
        let mut d = Delimited::any_of([&b"\n"[..], b"\r\n"]);
        assert_eq!(frames(&mut d, b"a\r\nb\nc"), [&b"a"[..], b"b"]);
        let mut d = Delimited::any_of([&b"abc"[..], b"b"]);
        assert_eq!(frames(&mut d, b"xabc"), [&b"xa"[..]]);
        // Chunked: "xab" already decides.
        let mut d = Delimited::any_of([&b"abc"[..], b"b"]);
        assert_eq!(d.decide(b"xab").unwrap(), Decision::frame(3, 0..2));
    }

    #[test]
    fn any_of_encodes_with_a_delimiter_that_decodes_as_itself() {
        let mut d = Delimited::any_of([&b"\r\n\r\n"[..], b"\r\n"]);
        let mut dst = BytesMut::new();
        d.encode(b"a", &mut dst).unwrap();
        assert_eq!(&dst[..], b"a\r\n");
        let mut d = Delimited::any_of([&b";"[..], b"\n"]);
        let mut dst = BytesMut::new();
        d.encode(b"a", &mut dst).unwrap();
        assert_eq!(&dst[..], b"a;");
    }

    #[test]
    fn any_of_waits_on_a_prefix_at_the_end() {
        let mut d = Delimited::any_of([&b"--"[..], b"=="]);
        assert_eq!(d.decide(b"abc-").unwrap(), Decision::incomplete(1));
        assert_eq!(d.searched, 3);
        assert_eq!(d.decide(b"abc--").unwrap(), Decision::frame(5, 0..3));
    }

    #[test]
    fn too_long_without_delimiter_is_reported_at_the_limit() {
        let mut d = Delimited::newline().max_frame_len(4);
        assert_eq!(d.decide(b"abcde").unwrap(), Decision::incomplete(1));
        let err = d.decide(b"abcdef").unwrap_err();
        assert!(
            matches!(
                err,
                FrameError::TooLong {
                    len: 6,
                    max: 4,
                    exact: false,
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn a_full_length_line_with_crlf_fits() {
        let mut d = Delimited::newline().max_frame_len(4);
        assert_eq!(d.decide(b"abcd\r\n").unwrap(), Decision::frame(6, 0..4));
    }

    #[test]
    fn too_long_with_delimiter_in_buffer_is_exact() {
        let err = Delimited::newline()
            .max_frame_len(2)
            .decide(b"abc\n")
            .unwrap_err();
        assert!(matches!(
            err,
            FrameError::TooLong {
                len: 3,
                max: 2,
                exact: true,
                ..
            }
        ));
    }

    #[test]
    fn discard_resyncs_at_the_next_delimiter() {
        let mut d = Delimited::newline()
            .max_frame_len(3)
            .on_overlong(Overlong::Discard);
        // 6 bytes, no LF: start skipping, keeping one byte that could be a CR.
        assert_eq!(
            d.decide(b"abcdef").unwrap(),
            Decision::Discard {
                len: 5,
                skipped_frame: None
            }
        );
        assert_eq!(
            d.decide(b"fgh\nok\n").unwrap(),
            Decision::Discard {
                len: 4,
                skipped_frame: Some(SkipReport::new(9, 5))
            }
        );
        assert_eq!(d.decide(b"ok\n").unwrap(), Decision::frame(3, 0..2));
    }

    #[test]
    fn discard_of_a_found_overlong_frame_is_one_step() {
        let mut d = Delimited::newline()
            .max_frame_len(1)
            .on_overlong(Overlong::Discard);
        assert_eq!(
            d.decide(b"abc\nx\n").unwrap(),
            Decision::Discard {
                len: 4,
                skipped_frame: Some(SkipReport::new(4, 0))
            }
        );
        assert_eq!(d.decide(b"x\n").unwrap(), Decision::frame(2, 0..1));
    }

    #[test]
    fn eof_policies() {
        let mut d = Delimited::newline();
        assert_eq!(d.decide_eof(b"").unwrap(), None);
        assert!(matches!(
            d.decide_eof(b"tail").unwrap_err(),
            FrameError::UnexpectedEof { buffered: 4 }
        ));
        let mut d = Delimited::newline().on_trailing(Trailing::Deliver);
        assert_eq!(
            d.decide_eof(b"a\nb").unwrap(),
            Some(Decision::frame(2, 0..1))
        );
        assert_eq!(d.decide_eof(b"b").unwrap(), Some(Decision::frame(1, 0..1)));
        let mut d = Delimited::newline()
            .on_trailing(Trailing::Deliver)
            .max_frame_len(2);
        assert!(d.decide_eof(b"abc").unwrap_err().is_too_long());
    }

    #[test]
    fn encoder_refuses_payloads_that_would_not_round_trip() {
        let mut dst = BytesMut::new();
        let mut nl = Delimited::newline();
        assert!(nl.encode(b"a\nb", &mut dst).is_err());
        assert!(nl.encode(b"a\r", &mut dst).is_err());
        assert!(Delimited::crlf().encode(b"a\rb", &mut dst).is_err());
        let mut seq = Delimited::sequence(b"\r\n\r\n");
        assert!(
            seq.encode(b"x\r\n", &mut dst).is_err(),
            "runs into the delimiter"
        );
        assert!(Delimited::newline()
            .max_frame_len(1)
            .encode(b"ab", &mut dst)
            .is_err());
        // A trailing CR would join the LF into a CRLF, the longer delimiter, and be lost.
        let mut lf_or_crlf = Delimited::any_of([&b"\n"[..], b"\r\n"]);
        assert!(lf_or_crlf.encode(b"a\r", &mut dst).is_err(), "CR joins LF");
        assert!(dst.is_empty(), "a refused payload writes nothing");
        lf_or_crlf.encode(b"a\rb", &mut dst).unwrap();
        assert_eq!(frames(&mut lf_or_crlf, &dst), [&b"a\rb"[..]]);
        dst.clear();
        nl.encode(b"ok", &mut dst).unwrap();
        Delimited::crlf().encode(b"ok", &mut dst).unwrap();
        assert_eq!(&dst[..], b"ok\nok\r\n");
    }

    #[test]
    #[should_panic(expected = "cannot be empty")]
    fn empty_delimiter_is_a_programming_error() {
        let _ = Delimited::sequence(b"");
    }

    #[test]
    fn fail_fast_reports_at_max_plus_one_in_any_chunking() {
        use crate::FrameCodec;
        use tokio_util::codec::Decoder;
        let wire = b"ok\nmuch too long a line\nnext\n";
        for size in 1..=wire.len() {
            let lines = Delimited::newline()
                .max_frame_len(4)
                .on_overlong(Overlong::DiscardFailFast);
            let mut codec = FrameCodec::new(lines);
            let mut buf = BytesMut::new();
            let mut got = Vec::new();
            for piece in wire.chunks(size) {
                buf.extend_from_slice(piece);
                loop {
                    match codec.decode(&mut buf) {
                        Ok(Some(line)) => got.push(Ok(line)),
                        Ok(None) => break,
                        Err(e) => got.push(Err(e)),
                    }
                }
            }
            assert_eq!(got.len(), 3, "chunks of {size}: {got:?}");
            assert_eq!(got[0].as_ref().unwrap(), "ok");
            assert!(
                matches!(
                    got[1],
                    Err(FrameError::Skipped {
                        len: 5,
                        max: 4,
                        offset: 3
                    })
                ),
                "chunks of {size}: {:?}",
                got[1]
            );
            assert_eq!(got[2].as_ref().unwrap(), "next");
        }
    }

    #[test]
    fn kept_delimiters_stay_in_the_payload() {
        let mut d = Delimited::crlf().keep_delimiter(true).max_frame_len(2);
        assert_eq!(d.decide(b"ab\r\n").unwrap(), Decision::frame(4, 0..4));
        assert_eq!(d.frame_limit(), 4);
        assert!(
            d.decide(b"abc\r\n").unwrap_err().is_too_long(),
            "the max counts the line"
        );
        let mut seq = Delimited::sequence(b"--").keep_delimiter(true);
        let mut wire = BytesMut::new();
        seq.encode(b"a--", &mut wire).unwrap();
        assert_eq!(&wire[..], b"a--");
        assert!(seq.encode(b"a--b--", &mut wire).is_err(), "two frames");
    }

    #[test]
    fn any_of_encodes_with_the_chosen_delimiter() {
        let mut d = Delimited::any_of([&b"\n"[..], b"\r\n"]).encode_with(b"\r\n");
        let mut wire = BytesMut::new();
        d.encode(b"x", &mut wire).unwrap();
        assert_eq!(&wire[..], b"x\r\n");
        assert_eq!(d.decide(&wire).unwrap(), Decision::frame(3, 0..1));
        assert!(d.encode(b"x\ny", &mut wire).is_err(), "holds a delimiter");
        // "x\r" then CRLF decodes back: LF and CRLF both end at the last byte, the longer wins.
        let mut wire = BytesMut::new();
        d.encode(b"x\r", &mut wire).unwrap();
        assert_eq!(d.decide(&wire).unwrap(), Decision::frame(4, 0..2));
        let blank = std::panic::catch_unwind(|| {
            Delimited::any_of([&b"\r\n\r\n"[..], b"\r\n"]).encode_with(b"\r\n\r\n")
        });
        assert!(
            blank.is_err(),
            "a blank line decodes as an empty line first"
        );
    }

    #[test]
    fn a_trailing_cr_is_dropped_at_eof_when_asked() {
        let mut d = Delimited::newline().on_trailing(Trailing::DeliverWithoutCr);
        assert_eq!(
            d.decide_eof(b"a\r").unwrap(),
            Some(Decision::frame(2, 0..1))
        );
        assert_eq!(d.decide_eof(b"a").unwrap(), Some(Decision::frame(1, 0..1)));
        assert_eq!(d.decide_eof(b"\r").unwrap(), Some(Decision::frame(1, 0..0)));
        let mut keep = Delimited::newline().on_trailing(Trailing::Deliver);
        assert_eq!(
            keep.decide_eof(b"a\r").unwrap(),
            Some(Decision::frame(2, 0..2))
        );
    }
}
