//! The RESP2 request parser: multibulk (`*N` then `N` bulk strings) and inline (a line of
//! words, split as Redis's `sdssplitargs` does: see [`split_inline`](super::split_inline))
//! requests, parsed with nom's streaming combinators into zero-copy [`Bytes`] arguments.
//! Header numbers follow Redis's `string2ll` ([`parse_i64`]): `*01` and `$03` are refused.
//!
//! Limits are checked on *declared* sizes before any byte is waited for, so a peer announcing a
//! 4 GiB bulk string gets `-ERR Protocol error: invalid bulk length` at once instead of holding
//! a buffer open for it. Every decision depends only on a bounded prefix of the input, never on
//! how much happens to be buffered, so chunking cannot change what is parsed; after the first
//! protocol error the parser parses nothing more.

use std::fmt;

use bytes::Bytes;
use framekit::framing::nom::StreamParser;
use nom::bytes::streaming::{take, take_until};
use nom::error::{ErrorKind, ParseError};
use nom::{Err as NomErr, IResult, Needed, Parser};

use super::inline::split_inline;
use super::integer::parse_i64;
use super::Value;

/// Longest inline request line, without its newline: 80 KiB. Redis refuses a line once it holds
/// more than 64 KiB of it without a newline, so whether it takes a line of 64 to 80 KiB depends
/// on how the line was split into reads; here it never does.
pub const MAX_INLINE_LEN: usize = 80 * 1024;
/// Most arguments a multibulk header may declare (Redis's `INT_MAX`). What a request really
/// holds is bounded by the request limit, which also counts each argument's slot.
pub const MAX_MULTIBULK_COUNT: i64 = i32::MAX as i64;
/// Default largest bulk string (one argument, such as a value): 8 MiB.
pub const DEFAULT_MAX_BULK_LEN: usize = 8 * 1024 * 1024;
/// The largest bulk string limit that may be configured: 512 MiB, Redis's own ceiling.
pub const MAX_BULK_LEN_CEILING: usize = 512 * 1024 * 1024;
/// Default largest whole request (all its arguments and headers): 64 MiB.
pub const DEFAULT_MAX_REQUEST_LEN: usize = 64 * 1024 * 1024;

/// Longest `*N` / `$N` header line we wait for: an `i64` has at most 20 characters, so a longer
/// line can only be an invalid length (Redis waits up to 64 KiB for its end to say so).
pub(crate) const MAX_COUNT_LINE: usize = 32;
/// Arguments preallocated for a multibulk request, whatever count it declares.
const PREALLOC_ARGS: usize = 16;

/// One parsed request: its arguments (command name first; empty for a blank line, which gets
/// no reply), or the protocol error that ends the connection.
pub type Request = Result<Vec<Bytes>, ProtocolError>;

/// A request that breaks RESP's rules. [`Display`](fmt::Display) gives the text Redis uses
/// after `-ERR Protocol error: `.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProtocolError {
    /// `*N` with `N` not a number (as [`parse_i64`] reads them) or over
    /// [`MAX_MULTIBULK_COUNT`], or a `*N` line that does not end within a few bytes.
    InvalidMultibulkLength,
    /// `$N` with `N` not a number, negative, or over the bulk limit, or a `$N` line that does
    /// not end within a few bytes.
    InvalidBulkLength,
    /// A multibulk argument that does not start with `$`.
    ExpectedBulk {
        /// The byte found instead.
        got: u8,
    },
    /// A bulk string not followed by CRLF.
    ExpectedCrlf,
    /// An inline request with an unbalanced quote, or a closing quote not followed by a blank.
    UnbalancedQuotes,
    /// An inline request line over [`MAX_INLINE_LEN`] without a newline.
    TooBigInlineRequest,
    /// Input a nom combinator rejected (not expected from the combinators used).
    Malformed,
    /// A request whose declared size is over the request limit.
    RequestTooLarge {
        /// The configured limit in bytes.
        limit: usize,
    },
}

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProtocolError::InvalidMultibulkLength => f.write_str("invalid multibulk length"),
            ProtocolError::InvalidBulkLength => f.write_str("invalid bulk length"),
            ProtocolError::ExpectedBulk { got } => {
                write!(
                    f,
                    "expected '$', got '{}'",
                    char::from(*got).escape_default()
                )
            }
            ProtocolError::ExpectedCrlf => f.write_str("expected CRLF after bulk string"),
            ProtocolError::UnbalancedQuotes => f.write_str("unbalanced quotes in request"),
            ProtocolError::Malformed => f.write_str("malformed request"),
            ProtocolError::TooBigInlineRequest => f.write_str("too big inline request"),
            ProtocolError::RequestTooLarge { limit } => {
                write!(f, "request over the limit of {limit} bytes")
            }
        }
    }
}

impl ProtocolError {
    /// The error reply Redis sends for it, byte for byte: `ERR Protocol error: ...`, with the
    /// offending byte of [`ExpectedBulk`](ProtocolError::ExpectedBulk) as it is (a CR or LF
    /// becomes a space, as Redis maps them).
    ///
    /// ```
    /// use framekit_examples::resp::{ProtocolError, Value};
    /// let reply = ProtocolError::ExpectedBulk { got: b'\xff' }.to_reply();
    /// assert_eq!(reply, Value::error_bytes(&b"ERR Protocol error: expected '$', got '\xff'"[..]));
    /// ```
    pub fn to_reply(&self) -> Value {
        match self {
            ProtocolError::ExpectedBulk { got } => {
                let got = if matches!(got, b'\r' | b'\n') {
                    b' '
                } else {
                    *got
                };
                let mut text = b"ERR Protocol error: expected '$', got '".to_vec();
                text.extend_from_slice(&[got, b'\'']);
                Value::error_bytes(text)
            }
            other => Value::error(format!("ERR Protocol error: {other}")),
        }
    }
}

impl std::error::Error for ProtocolError {}

/// The nom error type of this parser: always a [`ProtocolError`] (nom's own combinators here,
/// `take` and `take_until`, only ever ask for more input).
#[derive(Debug)]
struct Fail(ProtocolError);

impl<I> ParseError<I> for Fail {
    fn from_error_kind(_input: I, _kind: ErrorKind) -> Self {
        Fail(ProtocolError::Malformed)
    }
    fn append(_input: I, _kind: ErrorKind, other: Self) -> Self {
        other
    }
}

type Parsed<'a, T> = IResult<&'a [u8], T, Fail>;

fn fail<T>(err: ProtocolError) -> Result<T, NomErr<Fail>> {
    Err(NomErr::Failure(Fail(err)))
}

/// The RESP2 request parser, with its limits. Use it through
/// [`RespCodec`](super::RespCodec) or any [`NomCodec`](framekit::framing::nom::NomCodec).
///
/// ```
/// use bytes::Bytes;
/// use framekit::framing::nom::StreamParser;
/// use framekit_examples::resp::RequestParser;
///
/// let buf = Bytes::from_static(b"*2\r\n$4\r\nECHO\r\n$2\r\nhi\r\nPING\r\n");
/// let mut parser = RequestParser::new();
/// let (rest, req) = parser.parse(&buf, &buf).unwrap();
/// assert_eq!(req.unwrap(), ["ECHO", "hi"]);
/// let (rest, req) = parser.parse(rest, &buf).unwrap();
/// assert_eq!(req.unwrap(), ["PING"]);
/// assert!(rest.is_empty());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestParser {
    max_bulk_len: usize,
    max_request_len: usize,
    /// Set once a protocol error was reported: nothing after it is ever parsed.
    failed: bool,
}

impl Default for RequestParser {
    fn default() -> Self {
        Self::new()
    }
}

impl RequestParser {
    /// A parser with [`DEFAULT_MAX_BULK_LEN`] and [`DEFAULT_MAX_REQUEST_LEN`].
    pub fn new() -> Self {
        RequestParser {
            max_bulk_len: DEFAULT_MAX_BULK_LEN,
            max_request_len: DEFAULT_MAX_REQUEST_LEN,
            failed: false,
        }
    }

    /// Sets the largest bulk string (clamped to [`MAX_BULK_LEN_CEILING`]); the request limit
    /// grows to hold at least one such argument plus headers.
    pub fn max_bulk_len(mut self, max: usize) -> Self {
        self.max_bulk_len = max.min(MAX_BULK_LEN_CEILING);
        self.max_request_len = self.max_request_len.max(self.min_request_len());
        self
    }

    /// Sets the largest whole request, at least one maximal bulk string plus headers.
    pub fn max_request_len(mut self, max: usize) -> Self {
        self.max_request_len = max.max(self.min_request_len());
        self
    }

    /// The largest bulk string.
    pub fn get_max_bulk_len(&self) -> usize {
        self.max_bulk_len
    }

    /// The largest whole request.
    pub fn get_max_request_len(&self) -> usize {
        self.max_request_len
    }

    /// A parser with the same limits that has seen nothing yet.
    pub fn fresh(&self) -> Self {
        RequestParser {
            failed: false,
            ..*self
        }
    }

    fn min_request_len(&self) -> usize {
        self.max_bulk_len + MAX_INLINE_LEN
    }

    fn request<'a>(&self, input: &'a [u8], buf: &Bytes) -> Parsed<'a, Vec<Bytes>> {
        match input.first() {
            None => Err(NomErr::Incomplete(Needed::new(1))),
            Some(b'*') => self.multibulk(input, buf),
            Some(_) => inline(input, buf),
        }
    }

    fn multibulk<'a>(&self, input: &'a [u8], buf: &Bytes) -> Parsed<'a, Vec<Bytes>> {
        let (mut rest, count) = count_line(&input[1..], ProtocolError::InvalidMultibulkLength)?;
        let count = match count {
            Some(n) if n <= MAX_MULTIBULK_COUNT => n,
            _ => return fail(ProtocolError::InvalidMultibulkLength),
        };
        // `*0` and `*-1` are empty requests: no reply, like a blank inline line.
        let count = usize::try_from(count).unwrap_or(0);
        let mut args = Vec::with_capacity(count.min(PREALLOC_ARGS));
        for _ in 0..count {
            match rest.first() {
                None => return Err(NomErr::Incomplete(Needed::new(1))),
                Some(b'$') => {}
                Some(&got) => return fail(ProtocolError::ExpectedBulk { got }),
            }
            let (after_len, len) = count_line(&rest[1..], ProtocolError::InvalidBulkLength)?;
            let len = match len.and_then(|n| usize::try_from(n).ok()) {
                Some(n) if n <= self.max_bulk_len => n,
                _ => return fail(ProtocolError::InvalidBulkLength),
            };
            // Each argument's slot counts too, so many tiny arguments stay within the limit.
            let declared_end = (input.len() - after_len.len())
                + len
                + 2
                + (args.len() + 1) * std::mem::size_of::<Bytes>();
            if declared_end > self.max_request_len {
                return fail(ProtocolError::RequestTooLarge {
                    limit: self.max_request_len,
                });
            }
            let (after_data, data) = take(len).parse(after_len)?;
            let (after_crlf, ()) = crlf(after_data)?;
            args.push(buf.slice_ref(data));
            rest = after_crlf;
        }
        Ok((rest, args))
    }
}

/// The CRLF after a bulk string. Not nom's `tag`: on an empty input `tag` asks for 2 more
/// bytes, but 1 can already decide (a wrong first byte is an error), and framekit's codec
/// waits for as many bytes as the parser asks before parsing again.
fn crlf(input: &[u8]) -> Parsed<'_, ()> {
    match input {
        [b'\r', b'\n', rest @ ..] => Ok((rest, ())),
        [] | [b'\r'] => Err(NomErr::Incomplete(Needed::new(1))),
        _ => fail(ProtocolError::ExpectedCrlf),
    }
}

/// The line at the front of `input`, up to `delimiter`, if it ends within `max` bytes; the
/// decision looks at no more than `max + delimiter.len()` bytes, so it is the same however the
/// input arrives.
fn bounded_line<'a>(
    input: &'a [u8],
    delimiter: &'static [u8],
    max: usize,
    too_long: ProtocolError,
) -> Parsed<'a, &'a [u8]> {
    let window = &input[..input.len().min(max + delimiter.len())];
    match take_until(delimiter).parse(window) {
        Ok((_, line)) => Ok((&input[line.len() + delimiter.len()..], line)),
        Err(NomErr::Incomplete(_)) if window.len() == max + delimiter.len() => fail(too_long),
        Err(e) => Err(e),
    }
}

/// A `N\r\n` header line (after `*` or `$`): `Some(N)`, or `None` if it is not a number; a line
/// too long to hold a number is `too_long` at once.
fn count_line(input: &[u8], too_long: ProtocolError) -> Parsed<'_, Option<i64>> {
    let (rest, digits) = bounded_line(input, b"\r\n", MAX_COUNT_LINE, too_long)?;
    Ok((rest, parse_i64(digits)))
}

/// An inline request: one line, LF or CRLF terminated, split as `sdssplitargs` does.
fn inline<'a>(input: &'a [u8], buf: &Bytes) -> Parsed<'a, Vec<Bytes>> {
    let (rest, line) = bounded_line(
        input,
        b"\n",
        MAX_INLINE_LEN,
        ProtocolError::TooBigInlineRequest,
    )?;
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    match split_inline(line, buf) {
        Some(args) => Ok((rest, args)),
        None => fail(ProtocolError::UnbalancedQuotes),
    }
}

impl StreamParser for RequestParser {
    type Item = Request;

    fn parse<'a>(&mut self, input: &'a [u8], buf: &Bytes) -> IResult<&'a [u8], Request> {
        if self.failed {
            // The connection ends after the error reply; nothing after it is a request. Waiting
            // (rather than consuming) keeps the items the same however the input is chunked.
            return Err(NomErr::Incomplete(Needed::Unknown));
        }
        match self.request(input, buf) {
            Ok((rest, args)) => Ok((rest, Ok(args))),
            Err(NomErr::Incomplete(needed)) => Err(NomErr::Incomplete(needed)),
            // The error is an item, so the server can answer it; it stands for the first byte
            // of the bad request (an item must consume something).
            Err(NomErr::Error(Fail(e)) | NomErr::Failure(Fail(e))) => {
                self.failed = true;
                Ok((&input[1..], Err(e)))
            }
        }
    }
}

#[cfg(test)]
mod tests;
