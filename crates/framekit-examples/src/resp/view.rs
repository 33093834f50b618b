//! RESP2 requests read where they lie, for the borrowed handler style: a multibulk request's
//! arguments as slices of the read buffer ([`RespView::Args`]), with nothing allocated or
//! reference-counted per argument.
//!
//! [`RequestBoundary`] finds where each request ends, scanning every byte once. A whole
//! multibulk request that follows every rule is then split into argument slices by a strict
//! reader of its own. Anything else (an inline request, a request that breaks a rule, the end
//! of the stream in the middle of one) goes to the owned codec, [`RespCodec`], from then on for
//! the rest of the connection, so what a client is answered is exactly what the owned style
//! answers ([`RespView::Parsed`]): the strict reader only ever accepts requests that the
//! parser would parse to the same arguments, and declines the rest.

use bytes::BytesMut;
use framekit::framing::nom::{Boundary, Scan};
use framekit::FrameError;
use framekit_server::ViewDecoder;
use tokio_util::codec::{Decoder, Encoder};

use super::parse::MAX_COUNT_LINE;
use super::MAX_MULTIBULK_COUNT;
use super::{parse_i64, Request, RequestBoundary, RequestParser, RespCodec, Value};

/// Arguments kept in the view itself; a request with more (a long `MSET`) puts them in a
/// vector.
const INLINE_ARGS: usize = 16;

/// One request as a borrowed handler sees it.
#[derive(Debug)]
// The view lives on the stack for one handler call: boxing the large variant would allocate
// per request, which is what the view exists to avoid.
#[allow(clippy::large_enum_variant)]
pub enum RespView<'b> {
    /// A multibulk request's arguments, borrowed from the read buffer.
    Args(Args<'b>),
    /// A request parsed by the owned codec (inline, or a protocol error), as the owned style
    /// sees it.
    Parsed(Request),
}

/// The arguments of one request, as slices of the read buffer.
#[derive(Debug)]
pub struct Args<'b> {
    inline: [&'b [u8]; INLINE_ARGS],
    len: usize,
    more: Vec<&'b [u8]>,
}

/// Where each argument of a request lies in it, found before anything is lent out.
#[derive(Debug, Default)]
struct Spans {
    inline: [(u32, u32); INLINE_ARGS],
    len: usize,
    more: Vec<std::ops::Range<usize>>,
}

impl Spans {
    fn push(&mut self, span: std::ops::Range<usize>) {
        if self.len < INLINE_ARGS {
            // Narrow offsets keep the view small; a request limit configured past 4 GiB
            // spills into the vector, which keeps the full width.
            match (u32::try_from(span.start), u32::try_from(span.end)) {
                (Ok(start), Ok(end)) if self.more.is_empty() => {
                    self.inline[self.len] = (start, end);
                    self.len += 1;
                    return;
                }
                _ => {}
            }
        }
        if self.more.is_empty() {
            self.more.extend(
                self.inline[..self.len]
                    .iter()
                    .map(|&(s, e)| s as usize..e as usize),
            );
        }
        self.more.push(span);
        self.len += 1;
    }
}

impl<'b> Args<'b> {
    fn of(frame: &'b [u8], spans: &Spans) -> Self {
        let mut args = Args {
            inline: [&[]; INLINE_ARGS],
            len: 0,
            more: Vec::new(),
        };
        if spans.more.is_empty() {
            for &(start, end) in &spans.inline[..spans.len] {
                args.push(&frame[start as usize..end as usize]);
            }
        } else {
            for span in &spans.more {
                args.push(&frame[span.clone()]);
            }
        }
        args
    }

    fn push(&mut self, arg: &'b [u8]) {
        if self.len < INLINE_ARGS {
            self.inline[self.len] = arg;
        } else {
            if self.more.is_empty() {
                self.more.extend_from_slice(&self.inline);
            }
            self.more.push(arg);
        }
        self.len += 1;
    }

    /// The arguments, command name first.
    ///
    /// ```
    /// use bytes::BytesMut;
    /// use framekit_examples::resp::{RequestParser, RespView, RespViewCodec};
    /// use framekit_server::ViewDecoder;
    ///
    /// let mut codec = RespViewCodec::new(RequestParser::new());
    /// let mut buf = BytesMut::from(&b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n"[..]);
    /// let Some((RespView::Args(args), len)) = codec.decode_view(&mut buf, false).unwrap() else {
    ///     panic!("a multibulk request is read in place");
    /// };
    /// assert_eq!(args.as_slice(), [&b"GET"[..], b"k"]);
    /// assert_eq!(len, 20);
    /// ```
    pub fn as_slice(&self) -> &[&'b [u8]] {
        if self.len > INLINE_ARGS {
            &self.more
        } else {
            &self.inline[..self.len]
        }
    }
}

/// The RESP2 server codec of the borrowed style: requests lent out as [`RespView`]s, [`Value`]
/// replies encoded. Its owned decoding ([`Decoder`]) is [`RespCodec`]'s.
///
/// ```
/// use bytes::{Buf, BytesMut};
/// use framekit_examples::resp::{RequestParser, RespView, RespViewCodec};
/// use framekit_server::ViewDecoder;
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
    boundary: RequestBoundary,
    /// Bytes at the front of the buffer the boundary has seen, of the request now arriving.
    scanned: usize,
    /// The owned codec, once a request could not be read in place: it decodes the rest of
    /// the connection.
    owned: Option<RespCodec>,
}

impl RespViewCodec {
    /// A codec with `parser`'s limits.
    pub fn new(parser: RequestParser) -> Self {
        RespViewCodec {
            parser: parser.fresh(),
            boundary: RequestBoundary::new(&parser),
            scanned: 0,
            owned: None,
        }
    }

    fn owned(&mut self) -> &mut RespCodec {
        self.owned
            .get_or_insert_with(|| RespCodec::new(self.parser.fresh()))
    }

    /// The arguments of `frame`, a whole request, if it is a multibulk request that follows
    /// every rule the parser checks; `None` leaves it to the parser.
    fn read_args(&self, frame: &[u8]) -> Option<Spans> {
        let rest = frame.strip_prefix(b"*")?;
        let (count, mut at) = header(rest)?;
        if !(1..=MAX_MULTIBULK_COUNT).contains(&count) {
            return None;
        }
        at += 1;
        let mut args = Spans::default();
        for _ in 0..count {
            let rest = frame.get(at..)?.strip_prefix(b"$")?;
            let (len, used) = header(rest)?;
            let len = usize::try_from(len)
                .ok()
                .filter(|&n| n <= self.parser.get_max_bulk_len())?;
            let start = at + 1 + used;
            // Each argument's slot counts toward the limit, as in the parser.
            let declared_end =
                start + len + 2 + (args.len + 1) * std::mem::size_of::<bytes::Bytes>();
            if declared_end > self.parser.get_max_request_len() {
                return None;
            }
            if frame.get(start + len..start + len + 2)? != b"\r\n" {
                return None;
            }
            args.push(start..start + len);
            at = start + len + 2;
        }
        (at == frame.len()).then_some(args)
    }
}

/// A `N\r\n` header line (after its marker): the number and the bytes the line takes, if it
/// ends within the parser's window and is a number as the parser reads it.
fn header(input: &[u8]) -> Option<(i64, usize)> {
    let window = &input[..input.len().min(MAX_COUNT_LINE + 2)];
    let end = memchr::memmem::find(window, b"\r\n")?;
    Some((parse_i64(&input[..end])?, end + 2))
}

impl ViewDecoder for RespViewCodec {
    type View<'b> = RespView<'b>;
    type Error = FrameError;

    fn decode_view<'b>(
        &mut self,
        buf: &'b mut BytesMut,
        eof: bool,
    ) -> Result<Option<(RespView<'b>, usize)>, FrameError> {
        if self.owned.is_none() {
            loop {
                if self.scanned >= buf.len() {
                    if !eof || buf.is_empty() {
                        return Ok(None);
                    }
                    // The stream ends inside a request: the parser has the last word.
                    break;
                }
                match self.boundary.scan(&buf[self.scanned..]) {
                    Scan::More => self.scanned = buf.len(),
                    Scan::Ends(n) => {
                        let end = self.scanned + n;
                        self.scanned = 0;
                        let spans = (n > 0).then(|| self.read_args(&buf[..end])).flatten();
                        if let Some(spans) = spans {
                            let frame: &'b [u8] = &buf[..end];
                            return Ok(Some((RespView::Args(Args::of(frame, &spans)), end)));
                        }
                        break;
                    }
                }
            }
            // Not read in place: the owned codec takes over from this request on (it starts
            // at the front of the buffer, where the request starts).
            self.boundary.reset();
            self.scanned = 0;
        }
        let owned = self.owned();
        let request = if eof {
            owned.decode_eof(buf)?
        } else {
            owned.decode(buf)?
        };
        // The owned codec took the request's bytes out of the buffer itself.
        Ok(request.map(|request| (RespView::Parsed(request), 0)))
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
        value.encode(dst);
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
mod tests {
    use super::*;
    use bytes::{Buf, Bytes};
    use proptest::prelude::*;

    /// Every request of `wire`, fed in `chunk`-byte reads, as owned arguments (or the error).
    fn viewed(wire: &[u8], chunk: usize) -> Vec<Result<Request, String>> {
        let mut codec =
            RespViewCodec::new(RequestParser::new().max_bulk_len(64).max_request_len(0));
        let mut buf = BytesMut::new();
        let mut got = Vec::new();
        let pieces: Vec<&[u8]> = wire.chunks(chunk.max(1)).collect();
        for (i, piece) in pieces.iter().enumerate() {
            buf.extend_from_slice(piece);
            let eof = i + 1 == pieces.len();
            loop {
                match codec.decode_view(&mut buf, eof) {
                    Ok(Some((view, len))) => {
                        let request = match view {
                            RespView::Args(args) => Ok(args
                                .as_slice()
                                .iter()
                                .map(|a| Bytes::copy_from_slice(a))
                                .collect()),
                            RespView::Parsed(request) => request,
                        };
                        buf.advance(len);
                        got.push(Ok(request));
                    }
                    Ok(None) => break,
                    Err(e) => {
                        got.push(Err(e.to_string()));
                        return got;
                    }
                }
            }
        }
        got
    }

    /// The same, through the owned codec.
    fn owned(wire: &[u8], chunk: usize) -> Vec<Result<Request, String>> {
        let mut codec = RespCodec::new(RequestParser::new().max_bulk_len(64).max_request_len(0));
        let mut buf = BytesMut::new();
        let mut got = Vec::new();
        let pieces: Vec<&[u8]> = wire.chunks(chunk.max(1)).collect();
        for (i, piece) in pieces.iter().enumerate() {
            buf.extend_from_slice(piece);
            let eof = i + 1 == pieces.len();
            loop {
                let next = if eof {
                    codec.decode_eof(&mut buf)
                } else {
                    codec.decode(&mut buf)
                };
                match next {
                    Ok(Some(request)) => got.push(Ok(request)),
                    Ok(None) => break,
                    Err(e) => {
                        got.push(Err(e.to_string()));
                        return got;
                    }
                }
            }
        }
        got
    }

    #[test]
    fn requests_read_in_place_are_what_the_parser_reads() {
        for wire in [
            &b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$4\r\na\r\n\0\r\n"[..],
            b"*1\r\n$0\r\n\r\nPING\r\n*1\r\n$4\r\nPING\r\n",
            b"*0\r\n*-1\r\n*1\r\n$4\r\nPING\r\n",
            b"*1\r\n$04\r\nPING\r\n",
            b"*2\r\n$1\r\na\r\n$1\r\nbXX*1\r\n$1\r\nc\r\n",
            b"*1\r\n$99999\r\n",
            b"*1\r\n$4\r\nPI",
        ] {
            for chunk in [1, 2, 3, 7, 64] {
                assert_eq!(
                    viewed(wire, chunk),
                    owned(wire, chunk),
                    "{wire:?} in {chunk}s"
                );
            }
        }
    }

    #[test]
    fn many_arguments_spill_into_a_vector_in_order() {
        let mut wire = b"*20\r\n".to_vec();
        for i in 0..20 {
            wire.extend_from_slice(format!("$2\r\n{i:02}\r\n").as_bytes());
        }
        assert_eq!(viewed(&wire, 5), owned(&wire, 5));
    }

    proptest! {
        #[test]
        fn chunking_and_byte_soup_read_as_the_parser_reads(
            wire in proptest::collection::vec(proptest::sample::select(b"*$\r\n0123abc -".to_vec()), 0..80),
            chunk in 1usize..9,
        ) {
            prop_assert_eq!(viewed(&wire, chunk), owned(&wire, chunk));
        }
    }
}
