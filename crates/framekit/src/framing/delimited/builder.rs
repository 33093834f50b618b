//! Building a [`Delimited`]: the constructors for each kind of delimiter and the knobs, and
//! [`InvalidDelimiter`], the refusal of an encoding delimiter that would not decode back.

use super::*;

/// An encoding delimiter [`Delimited::encode_with`] refused: what it was, and why.
///
/// ```
/// use framekit::framing::delimited::Delimited;
/// let err = Delimited::newline().encode_with(b"\r").unwrap_err();
/// assert_eq!(
///     err.to_string(),
///     "cannot encode with \"\\r\": it does not decode as one delimiter of this framing"
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot encode with \"{}\": {reason}", delimiter.escape_ascii())]
pub struct InvalidDelimiter {
    /// The delimiter that was refused.
    pub delimiter: Vec<u8>,
    /// Why.
    pub reason: &'static str,
}

impl Delimited {
    fn with_matcher(matcher: Matcher, encode_with: &[u8], longest: usize) -> Self {
        let lone = Lone::of(&matcher);
        Delimited {
            lone,
            searcher: Searcher::of(lone),
            matcher,
            encode_with: encode_with.into(),
            longest: u8::try_from(longest).expect("delimiters are at most MAX_DELIMITER_LEN long"),
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
    /// first of the set that decodes as itself).
    ///
    /// Refused with [`InvalidDelimiter`] unless `delimiter`, decoded alone by this framing, is
    /// exactly one empty frame: otherwise the frames this framing writes would not decode back
    /// under its own rules (the round-trip law). tokio-util's `AnyDelimiterCodec` writes any
    /// sequence, because its encoder and decoder are independent; to write answers in another
    /// shape than the requests read, pair a request-only framing with the answers' encoder
    /// (see [request-only framings](crate::framing::Framing#request-only-framings)).
    ///
    /// ```
    /// use bytes::BytesMut;
    /// use framekit::framing::{Framing, delimited::Delimited};
    /// // Read LF or CRLF; write CRLF.
    /// let mut d = Delimited::any_of([&b"\n"[..], b"\r\n"]).encode_with(b"\r\n")?;
    /// let mut wire = BytesMut::new();
    /// d.encode(b"hi", &mut wire).unwrap();
    /// assert_eq!(&wire[..], b"hi\r\n");
    /// // Read ',' but write ";--;": what it writes would not decode back.
    /// let refused = Delimited::byte(b',').encode_with(b";--;").unwrap_err();
    /// assert_eq!(refused.delimiter, b";--;");
    /// # Ok::<(), framekit::framing::delimited::InvalidDelimiter>(())
    /// ```
    pub fn encode_with(mut self, delimiter: &[u8]) -> Result<Self, InvalidDelimiter> {
        let refuse = |reason| {
            Err(InvalidDelimiter {
                delimiter: delimiter.to_vec(),
                reason,
            })
        };
        if delimiter.is_empty() || delimiter.len() > MAX_DELIMITER_LEN {
            return refuse("a delimiter is 1 to MAX_DELIMITER_LEN (64) bytes long");
        }
        let mut probe = self.clone();
        probe.reset();
        probe.keep_delimiter = false;
        if !matches!(
            probe.search_unmetered(delimiter),
            Ok(Search::Found(Found { payload_end: 0, end })) if end == delimiter.len()
        ) {
            return refuse("it does not decode as one delimiter of this framing");
        }
        self.encode_with = delimiter.into();
        Ok(self)
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
        self.lone = Lone::of(&self.matcher);
        self.searcher = Searcher::of(self.lone);
        self
    }
}
