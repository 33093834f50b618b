//! RESP2 requests read where they lie, for a [`Handler`](framekit_server::Handler): a multibulk request's
//! arguments as slices of the read buffer ([`RespView::Args`]), with nothing allocated or
//! reference-counted per argument.
//!
//! A strict reader walks each multibulk request once: it reads every `*N` and `$N` header
//! and steps over each argument's bytes by their declared length without looking at them. A
//! request that has not all arrived leaves a note of its progress behind, so the reader goes on
//! from the first header it has not finished when more bytes come, and does not look at the
//! buffer again until the argument it waits for can be whole. Anything the reader does not
//! accept (an inline request, a request that breaks a rule, the end of the stream in the middle
//! of one) goes to the owned codec, [`RespCodec`], from then on for the rest of the connection,
//! so what a client is answered is exactly what the owned style answers
//! ([`RespView::Parsed`]): the reader only ever accepts requests that the parser would parse to
//! the same arguments, and declines the rest.

use bytes::BytesMut;
use framekit::connection::Decode;
use framekit::FrameError;
use tokio_util::codec::{Decoder, Encoder};

use super::parse::MAX_COUNT_LINE;
use super::MAX_MULTIBULK_COUNT;
use super::{parse_i64, BulkRef, Request, RequestParser, RespCodec, Value};

/// Arguments whose places a request notes inline; a request with more (a long `MSET`) puts
/// them in a vector. Eight hold every common command (`SET k v EX n NX GET` is seven).
const INLINE_ARGS: usize = 8;

/// One request as a borrowed handler sees it.
#[derive(Debug)]
pub enum RespView<'b> {
    /// A multibulk request's arguments, borrowed from the read buffer.
    Args(Args<'b>),
    /// A request parsed by the owned codec (inline, or a protocol error), as the owned style
    /// sees it.
    Parsed(Request),
}

/// The arguments of one request: the request's bytes in the read buffer and where each
/// argument lies in them.
///
/// Kept as offsets, not slices: the view moves from the decoder through the machine to the
/// handler, and at 112 bytes (slices took 160) each move is fewer copies. The slices are made
/// once, on the handler's stack, by [`Args::with_slices`].
#[derive(Debug)]
pub struct Args<'b> {
    frame: &'b [u8],
    spans: Spans,
}

/// Where each argument of a request lies in it, found before anything is lent out.
///
/// Offsets are `u32` (a request that reaches past 4 GiB is declined to the owned codec): the
/// spans move from the decoder into the view, and at 96 bytes each move is a few register
/// copies where 160 bytes took a call to `memcpy`.
#[derive(Debug, Default)]
struct Spans {
    inline: [(u32, u32); INLINE_ARGS],
    len: usize,
    more: Vec<std::ops::Range<u32>>,
}

impl Spans {
    fn push(&mut self, span: std::ops::Range<u32>) {
        if self.len < INLINE_ARGS {
            self.inline[self.len] = (span.start, span.end);
            self.len += 1;
            return;
        }
        if self.more.is_empty() {
            self.more
                .extend(self.inline.iter().map(|&(start, end)| start..end));
        }
        self.more.push(span);
        self.len += 1;
    }
}

impl<'b> Args<'b> {
    /// How many arguments there are, command name included.
    pub fn len(&self) -> usize {
        self.spans.len
    }

    /// Whether there are none (never, for a request the reader accepted).
    pub fn is_empty(&self) -> bool {
        self.spans.len == 0
    }

    /// Calls `f` with the arguments as slices of the read buffer, command name first: on the
    /// stack for up to eight, in a vector for more.
    ///
    /// ```
    /// use bytes::BytesMut;
    /// use framekit_examples::resp::{RequestParser, RespView, RespViewCodec};
    /// use framekit::connection::Decode;
    ///
    /// let mut codec = RespViewCodec::new(RequestParser::new());
    /// let mut buf = BytesMut::from(&b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n"[..]);
    /// let Some((RespView::Args(args), len)) = codec.decode_view(&mut buf, false).unwrap() else {
    ///     panic!("a multibulk request is read in place");
    /// };
    /// assert_eq!(args.len(), 2);
    /// args.with_slices(|args| assert_eq!(args, [&b"GET"[..], b"k"]));
    /// assert_eq!(len, 20);
    /// ```
    #[inline]
    pub fn with_slices<T>(&self, f: impl FnOnce(&[&'b [u8]]) -> T) -> T {
        let frame = self.frame;
        let slice = |start: u32, end: u32| &frame[start as usize..end as usize];
        if self.spans.more.is_empty() {
            let mut inline: [&'b [u8]; INLINE_ARGS] = [&[]; INLINE_ARGS];
            for (slot, &(start, end)) in inline.iter_mut().zip(&self.spans.inline[..self.spans.len])
            {
                *slot = slice(start, end);
            }
            f(&inline[..self.spans.len])
        } else {
            let all: Vec<&'b [u8]> = self
                .spans
                .more
                .iter()
                .map(|span| slice(span.start, span.end))
                .collect();
            f(&all)
        }
    }
}

/// The RESP2 server codec of the borrowed style: requests lent out as [`RespView`]s, [`Value`]
/// replies encoded. Its owned decoding ([`Decoder`]) is [`RespCodec`]'s.
///
/// ```
/// use bytes::{Buf, BytesMut};
/// use framekit_examples::resp::{RequestParser, RespView, RespViewCodec};
/// use framekit::connection::Decode;
///
/// let mut codec = RespViewCodec::new(RequestParser::new());
/// let mut buf = BytesMut::from(&b"PING\r\n"[..]);
/// // An inline request goes through the owned parser (the view owns its arguments).
/// let (view, len) = codec.decode_view(&mut buf, false).unwrap().unwrap();
/// assert!(matches!(view, RespView::Parsed(Ok(ref args)) if args == &["PING"]));
/// buf.advance(len);
/// assert!(buf.is_empty());
/// ```
#[derive(Debug)]
pub struct RespViewCodec {
    parser: RequestParser,
    /// How far the reader got into the request at the front of the buffer.
    progress: Progress,
    /// The owned codec, once a request could not be read in place: it decodes the rest of
    /// the connection. Boxed: it is 272 bytes that every connection's task would otherwise
    /// carry, idle or not, while only an inline (or refused) request ever needs it.
    owned: Option<Box<RespCodec>>,
}

/// How far the strict reader got into a request that has not all arrived: everything before
/// `at` has been read and accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Progress {
    /// Where the next unread header starts: 0 before the `*N` line, then the `$` of the next
    /// argument.
    at: usize,
    /// Arguments still to come after `at`.
    left: usize,
    /// Arguments read whole before `at`.
    seen: usize,
    /// The buffer length below which reading on cannot get further: the end of the argument
    /// waited for, or one byte more than was there.
    need: usize,
}

impl Progress {
    /// Before a request's first byte, which is needed before anything can be read (so an
    /// empty buffer is declined at once).
    const START: Progress = Progress {
        at: 0,
        left: 0,
        seen: 0,
        need: 1,
    };
}

/// What the strict reader made of the front of the buffer.
#[derive(Debug)]
enum Read {
    /// A whole request of this many bytes, every argument accepted.
    Whole(usize),
    /// Accepted so far, not all there yet.
    Partial(Progress),
    /// Not a request the reader accepts: the parser has the last word.
    Declined,
}

/// A `N\r\n` header line after its marker, read as the parser reads it.
#[derive(Debug, PartialEq, Eq)]
enum Line {
    /// The number, and the bytes the line takes with its CRLF.
    Ends(i64, usize),
    /// No CRLF yet, and one could still come within the parser's window.
    Wait,
    /// Not a number the parser accepts, or no CRLF within the window.
    Bad,
}

/// Reads the `N\r\n` line at the front of `input`. The parser takes the line up to the first
/// CRLF that ends within `MAX_COUNT_LINE + 2` bytes and reads it with [`parse_i64`]; a CR that
/// is not followed by LF can only end up inside those digits, which the parser refuses.
#[inline(always)]
fn line(input: &[u8]) -> Line {
    // Nearly every header is one or two digits and its CRLF (`*3`, `$3`, `$16`): matched as
    // such, it is a length check and a few byte compares. A leading zero takes the general
    // way (`0` alone is a number; `01` is for the parser to judge).
    match *input {
        [d, b'\r', b'\n', ..] if d.is_ascii_digit() => return Line::Ends(i64::from(d - b'0'), 3),
        [t @ b'1'..=b'9', u, b'\r', b'\n', ..] if u.is_ascii_digit() => {
            return Line::Ends(i64::from(t - b'0') * 10 + i64::from(u - b'0'), 4)
        }
        _ => {}
    }
    any_line(input)
}

/// [`line`] for any header.
fn any_line(input: &[u8]) -> Line {
    const WINDOW: usize = MAX_COUNT_LINE + 2;
    // Most headers are a few digits and their CRLF: read them at once. Up to 18 digits
    // cannot overflow; a leading zero, a sign or anything else takes the general way.
    let (mut n, mut digits) = (0i64, 0);
    while digits < input.len().min(18) {
        let d = input[digits].wrapping_sub(b'0');
        if d > 9 {
            break;
        }
        n = n * 10 + i64::from(d);
        digits += 1;
    }
    if digits > 0
        && (digits == 1 || input[0] != b'0')
        && input.get(digits..digits + 2) == Some(b"\r\n")
    {
        return Line::Ends(n, digits + 2);
    }
    let mut i = 0;
    while i < input.len() && i + 1 < WINDOW {
        if input[i] == b'\r' {
            return match input.get(i + 1) {
                None => Line::Wait,
                Some(b'\n') => parse_i64(&input[..i]).map_or(Line::Bad, |n| Line::Ends(n, i + 2)),
                Some(_) => Line::Bad,
            };
        }
        i += 1;
    }
    if i + 1 >= WINDOW {
        Line::Bad
    } else {
        Line::Wait
    }
}

impl RespViewCodec {
    /// A codec with `parser`'s limits.
    pub fn new(parser: RequestParser) -> Self {
        RespViewCodec {
            parser: parser.fresh(),
            progress: Progress::START,
            owned: None,
        }
    }

    fn owned(&mut self) -> &mut RespCodec {
        self.owned
            .get_or_insert_with(|| Box::new(RespCodec::new(self.parser.fresh())))
    }

    /// Reads the request at the front of `buf` on from `progress`, following every rule the
    /// parser checks, and notes each argument in `spans` when given.
    ///
    /// Inlined into its two calls in `decode_more`, where whether arguments are noted is
    /// known: about 38 instructions per request fewer than a call (`bench/resp-callgrind.sh`).
    #[inline(always)]
    fn read(&self, buf: &[u8], mut progress: Progress, mut spans: Option<&mut Spans>) -> Read {
        let wait = |mut progress: Progress, need: usize| {
            progress.need = need;
            Read::Partial(progress)
        };
        if progress.at == 0 {
            let Some(rest) = buf.strip_prefix(b"*") else {
                return if buf.is_empty() {
                    wait(progress, 1)
                } else {
                    Read::Declined
                };
            };
            match line(rest) {
                Line::Ends(count, used) if (1..=MAX_MULTIBULK_COUNT).contains(&count) => {
                    // The range check makes the count a small positive number.
                    progress.left = count as usize;
                    progress.at = 1 + used;
                }
                Line::Wait => return wait(progress, buf.len() + 1),
                Line::Ends(..) | Line::Bad => return Read::Declined,
            }
        }
        while progress.left > 0 {
            let at = progress.at;
            let Some(rest) = buf[at..].strip_prefix(b"$") else {
                return if buf.len() == at {
                    wait(progress, at + 1)
                } else {
                    Read::Declined
                };
            };
            let (len, used) = match line(rest) {
                Line::Ends(len, used) => match usize::try_from(len) {
                    Ok(len) if len <= self.parser.get_max_bulk_len() => (len, used),
                    _ => return Read::Declined,
                },
                Line::Wait => return wait(progress, buf.len() + 1),
                Line::Bad => return Read::Declined,
            };
            let start = at + 1 + used;
            let end = start + len;
            // Each argument's slot counts toward the limit, as in the parser.
            let slots = (progress.seen + 1) * std::mem::size_of::<bytes::Bytes>();
            if end + 2 + slots > self.parser.get_max_request_len() {
                return Read::Declined;
            }
            let Ok(end32) = u32::try_from(end + 2) else {
                return Read::Declined;
            };
            // The argument's bytes are stepped over, not looked at: only its CRLF is checked.
            match buf.get(end..end + 2) {
                None => return wait(progress, end + 2),
                Some(b"\r\n") => {}
                Some(_) => return Read::Declined,
            }
            if let Some(spans) = spans.as_deref_mut() {
                // Both fit: `end32` does, and `start` is before it.
                spans.push(start as u32..end32 - 2);
            }
            progress.seen += 1;
            progress.left -= 1;
            progress.at = end + 2;
        }
        Read::Whole(progress.at)
    }
}

/// Where a request decoded by [`RespViewCodec`] lies: a multibulk request's argument spans in
/// the read buffer, or a request the owned parser took out of it.
#[derive(Debug)]
pub struct RespFound(Found);

#[derive(Debug)]
enum Found {
    Args { spans: Spans, end: usize },
    Parsed(Request),
}

impl Decode for RespViewCodec {
    type Found = RespFound;
    type View<'b> = RespView<'b>;
    type Error = FrameError;

    #[inline]
    fn decode(&mut self, buf: &mut BytesMut, eof: bool) -> Result<Option<RespFound>, FrameError> {
        // The server asks again after every request, most often with nothing (more) there:
        // that answer costs a comparison, not a call.
        if self.owned.is_none() && buf.len() < self.progress.need && !eof {
            return Ok(None);
        }
        self.decode_more(buf, eof).map(|found| found.map(RespFound))
    }

    #[inline]
    fn view<'b>(&self, buf: &'b BytesMut, found: RespFound) -> (RespView<'b>, usize) {
        match found.0 {
            Found::Args { spans, end } => {
                let frame = &buf[..end];
                (RespView::Args(Args { frame, spans }), end)
            }
            // The owned codec took the request's bytes out of the buffer itself.
            Found::Parsed(request) => (RespView::Parsed(request), 0),
        }
    }
}

impl RespViewCodec {
    /// [`decode`](Decode::decode) once there is something to read.
    fn decode_more(&mut self, buf: &mut BytesMut, eof: bool) -> Result<Option<Found>, FrameError> {
        if self.owned.is_none() {
            // A request read from its first byte has its arguments noted on the way; one that
            // arrived in pieces is read once more when whole, headers only, to note them.
            let fresh = self.progress.at == 0;
            let mut spans = Spans::default();
            let read = self.read(buf, self.progress, fresh.then_some(&mut spans));
            let read = match read {
                Read::Whole(end) if !fresh => {
                    self.read(&buf[..end], Progress::START, Some(&mut spans))
                }
                read => read,
            };
            match read {
                Read::Whole(end) => {
                    self.progress = Progress::START;
                    return Ok(Some(Found::Args { spans, end }));
                }
                Read::Partial(_) if eof && buf.is_empty() => return Ok(None),
                Read::Partial(progress) if !eof => {
                    self.progress = progress;
                    return Ok(None);
                }
                // The stream ends inside a request: the parser has the last word.
                Read::Partial(_) | Read::Declined => {}
            }
            // Not read in place: the owned codec takes over from this request on (it starts
            // at the front of the buffer, where the request starts).
            self.progress = Progress::START;
        }
        let owned = self.owned();
        let request = if eof {
            owned.decode_eof(buf)?
        } else {
            owned.decode(buf)?
        };
        Ok(request.map(Found::Parsed))
    }
}

impl Decoder for RespViewCodec {
    type Item = Request;
    type Error = FrameError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Request>, FrameError> {
        self.owned().decode(src)
    }

    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<Request>, FrameError> {
        self.owned().decode_eof(src)
    }
}

impl Encoder<Value> for RespViewCodec {
    type Error = FrameError;

    fn encode(&mut self, value: Value, dst: &mut BytesMut) -> Result<(), FrameError> {
        // A simple string (`+OK`, every SET's reply) owns nothing: it is encoded without a
        // call into `Value`'s drop glue, which the compiler does not inline.
        let value = std::mem::ManuallyDrop::new(value);
        match &*value {
            Value::Simple(_) => value.encode(dst),
            _ => std::mem::ManuallyDrop::into_inner(value).encode(dst),
        }
        Ok(())
    }
}

impl Encoder<BulkRef<'_>> for RespViewCodec {
    type Error = FrameError;

    fn encode(&mut self, bulk: BulkRef<'_>, dst: &mut BytesMut) -> Result<(), FrameError> {
        bulk.encode(dst);
        Ok(())
    }
}

/// A clone is a fresh codec with the same limits (one per connection).
impl Clone for RespViewCodec {
    fn clone(&self) -> Self {
        RespViewCodec::new(self.parser)
    }
}

#[cfg(test)]
mod tests;
