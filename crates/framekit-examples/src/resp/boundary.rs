//! Where a RESP2 request ends, found one byte at a time with nothing rescanned: the
//! [`Boundary`] that lets [`NomCodec`](framekit::framing::nom::NomCodec) run the request parser
//! once per request, so a large request dripped in small pieces costs linear CPU.
//!
//! It follows the same rules as the parser ([`parse_i64`] for every count, the same line and
//! request limits) and ends a request at the first byte where the parser can decide: the
//! request is whole, or it breaks a rule and the parser will say which. Anything it does not
//! recognise ends the request early, which is always safe: the parser then has the last word.

use framekit::framing::nom::{Boundary, Scan};

use super::parse::{RequestParser, MAX_COUNT_LINE};
use super::{parse_i64, MAX_INLINE_LEN, MAX_MULTIBULK_COUNT};

/// The longest `*N` / `$N` line the parser looks at, CRLF included.
const HEADER_WINDOW: usize = MAX_COUNT_LINE + 2;

/// Where in a request the next byte falls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// The request's first byte: `*` starts a multibulk, anything else an inline line.
    Start,
    /// An inline line, `len` bytes without its LF so far.
    Inline { len: usize },
    /// A `*N` or `$N` line after its marker: the bytes so far, kept to parse on CRLF.
    Header {
        line: [u8; HEADER_WINDOW],
        len: usize,
        /// `None` for the `*N` line; for a `$N` line, the arguments left after this one.
        args_left: Option<i64>,
    },
    /// Expecting the `$` of the next argument.
    Argument { args_left: i64 },
    /// Inside a bulk string: `left` data bytes to skip, then CR, LF.
    Bulk { left: usize, args_left: i64 },
    /// The CR after a bulk string.
    Cr { args_left: i64 },
    /// The LF after a bulk string.
    Lf { args_left: i64 },
}

/// The request boundary for a [`RequestParser`] with the same limits.
///
/// ```
/// use framekit::framing::nom::{Boundary, Scan};
/// use framekit_examples::resp::{RequestBoundary, RequestParser};
///
/// let mut b = RequestBoundary::new(&RequestParser::new());
/// assert_eq!(b.scan(b"*1\r\n$4\r\nPI"), Scan::More);
/// assert_eq!(b.scan(b"NG\r\nPING\r\n"), Scan::Ends(4));
/// assert_eq!(b.scan(b"PING\r\n"), Scan::Ends(6));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestBoundary {
    max_bulk_len: usize,
    max_request_len: usize,
    state: State,
    /// Bytes of the request so far, for the request limit.
    pos: usize,
    /// Arguments whose `$N` line was accepted: each one's slot counts toward the request
    /// limit, as in the parser.
    args_seen: usize,
}

impl RequestBoundary {
    /// A boundary with `parser`'s limits.
    pub fn new(parser: &RequestParser) -> Self {
        RequestBoundary {
            max_bulk_len: parser.get_max_bulk_len(),
            max_request_len: parser.get_max_request_len(),
            state: State::Start,
            pos: 0,
            args_seen: 0,
        }
    }

    /// What follows a complete `*N` or `$N` line; `None` ends the request here.
    fn after_header(&mut self, digits: &[u8], args_left: Option<i64>) -> Option<State> {
        let n = parse_i64(digits)?;
        match args_left {
            // `*N`: N <= 0 is an empty request, over the maximum an error; both end here.
            None if n <= 0 || n > MAX_MULTIBULK_COUNT => None,
            None => Some(State::Argument { args_left: n }),
            Some(args_left) => {
                let len = usize::try_from(n)
                    .ok()
                    .filter(|&len| len <= self.max_bulk_len)?;
                // As in the parser: each argument's slot counts toward the request limit, so
                // many tiny arguments end the request where the parser refuses it.
                self.args_seen += 1;
                let slots = self
                    .args_seen
                    .checked_mul(std::mem::size_of::<bytes::Bytes>())?;
                let declared_end = self
                    .pos
                    .checked_add(len)?
                    .checked_add(2)?
                    .checked_add(slots)?;
                (declared_end <= self.max_request_len).then_some(State::Bulk {
                    left: len,
                    args_left,
                })
            }
        }
    }

    /// Moves past `bytes[at]` (or a run of bulk data from it); returns how many bytes were
    /// taken, and whether the request ended with them.
    fn step(&mut self, bytes: &[u8], at: usize) -> (usize, bool) {
        let b = bytes[at];
        let (taken, next) = match self.state {
            State::Start if b == b'*' => (1, Some(header(None))),
            State::Start => {
                self.state = State::Inline { len: 0 };
                return (0, false);
            }
            State::Inline { len } => {
                // The parser reads at most MAX_INLINE_LEN + 1 bytes looking for the LF.
                let window = (MAX_INLINE_LEN + 1 - len).min(bytes.len() - at);
                match memchr::memchr(b'\n', &bytes[at..at + window]) {
                    Some(i) => (i + 1, None),
                    None if len + window > MAX_INLINE_LEN => (window, None),
                    None => (window, Some(State::Inline { len: len + window })),
                }
            }
            State::Header {
                mut line,
                len,
                args_left,
            } => {
                line[len] = b;
                let len = len + 1;
                let next = if line[..len].ends_with(b"\r\n") {
                    self.pos += 1;
                    let next = self.after_header(&line[..len - 2], args_left);
                    self.pos -= 1;
                    next
                } else if len == HEADER_WINDOW {
                    None
                } else {
                    Some(State::Header {
                        line,
                        len,
                        args_left,
                    })
                };
                (1, next)
            }
            State::Argument { args_left } if b == b'$' => (1, Some(header(Some(args_left - 1)))),
            State::Argument { .. } => (1, None),
            State::Bulk { left: 0, args_left } => {
                self.state = State::Cr { args_left };
                return (0, false);
            }
            State::Bulk { left, args_left } => {
                let skip = left.min(bytes.len() - at);
                (
                    skip,
                    Some(State::Bulk {
                        left: left - skip,
                        args_left,
                    }),
                )
            }
            State::Cr { args_left } if b == b'\r' => (1, Some(State::Lf { args_left })),
            State::Lf { args_left } if b == b'\n' && args_left > 0 => {
                (1, Some(State::Argument { args_left }))
            }
            // The last CRLF ends the request; a wrong byte after a bulk ends it for the parser.
            State::Lf { .. } | State::Cr { .. } => (1, None),
        };
        self.pos += taken;
        match next {
            Some(state) => {
                self.state = state;
                (taken, false)
            }
            None => {
                self.reset();
                (taken, true)
            }
        }
    }
}

fn header(args_left: Option<i64>) -> State {
    State::Header {
        line: [0; HEADER_WINDOW],
        len: 0,
        args_left,
    }
}

impl Boundary for RequestBoundary {
    fn scan(&mut self, bytes: &[u8]) -> Scan {
        let mut at = 0;
        while at < bytes.len() {
            let (taken, ended) = self.step(bytes, at);
            at += taken;
            if ended {
                return Scan::Ends(at);
            }
        }
        Scan::More
    }

    fn reset(&mut self) {
        self.state = State::Start;
        self.pos = 0;
        self.args_seen = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Request lengths the boundary finds in `wire`, the same in every chunking.
    fn ends(wire: &[u8]) -> Vec<usize> {
        let mut first: Option<Vec<usize>> = None;
        for size in 1..=wire.len().max(1) {
            let mut b = RequestBoundary::new(&RequestParser::new().max_bulk_len(16));
            let (mut got, mut start, mut offset) = (Vec::new(), 0, 0);
            for mut piece in wire.chunks(size) {
                while let Scan::Ends(n) = b.scan(piece) {
                    offset += n;
                    got.push(offset - start);
                    start = offset;
                    piece = &piece[n..];
                }
                offset += piece.len();
            }
            match &first {
                None => first = Some(got),
                Some(ends) => assert_eq!(&got, ends, "chunks of {size}"),
            }
        }
        first.unwrap_or_default()
    }

    #[test]
    fn requests_end_where_the_parser_says_in_any_chunking() {
        assert_eq!(
            ends(b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\nPING\r\n\r\n*0\r\n"),
            [20, 6, 2, 4]
        );
        assert_eq!(ends(b"*1\r\n$4\r\na\r\n\0\r\n"), [14], "binary-safe bulk");
    }

    #[test]
    fn many_tiny_arguments_end_where_the_parser_refuses_them() {
        use bytes::Bytes;
        use framekit::framing::nom::StreamParser;

        let mut parser = RequestParser::new().max_bulk_len(16).max_request_len(0);
        let max = parser.get_max_request_len();
        let wire = [&b"*5000\r\n"[..], &b"$0\r\n\r\n".repeat(5000)].concat();
        // Argument i's `$0` line ends at 7 + 6(i - 1) + 4; with its CRLF and i slots of
        // 32 bytes the request then declares 38i + 7 bytes: the first i past `max` ends it.
        let slot = std::mem::size_of::<Bytes>();
        let i = (1..=5000).find(|i| 6 * i + 7 + slot * i > max).unwrap();
        let mut b = RequestBoundary::new(&parser);
        assert_eq!(b.scan(&wire), Scan::Ends(6 * i + 5));
        let whole = Bytes::from(wire);
        assert!(
            matches!(
                parser.parse(&whole, &whole),
                Ok((_, Err(crate::resp::ProtocolError::RequestTooLarge { .. })))
            ),
            "the parser refuses the same request as too large"
        );
    }

    #[test]
    fn broken_requests_end_at_the_byte_that_breaks_them() {
        assert_eq!(ends(b"*x\r\n"), [4], "bad count: decided at its CRLF");
        assert_eq!(ends(b"*1\r\n:"), [5], "not a bulk");
        assert_eq!(ends(b"*1\r\n$17\r\n"), [9], "over the bulk limit");
        assert_eq!(ends(b"*1\r\n$1\r\nabc"), [10], "no CRLF after the bulk");
        assert_eq!(
            ends(&[b'9'; 40]).first(),
            None,
            "inline lines wait for their LF"
        );
        let long_count = [&b"*"[..], &[b'9'; 40]].concat();
        assert_eq!(
            ends(&long_count),
            [1 + HEADER_WINDOW],
            "count line over the window"
        );
    }
}
