//! Unit tests of the nom adapter: hints, errors, zero copy, limits, boundaries, guessing.

use super::*;
use crate::FrameError;
use bytes::BytesMut;
use nom::bytes::streaming::{tag, take};
use nom::number::streaming::be_u8;
use nom::Parser;
use tokio_util::codec::Decoder;

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

/// Counts what the codec hands the parser.
struct Counting<P> {
    inner: P,
    calls: usize,
    handed: usize,
}
impl<P: StreamParser> StreamParser for Counting<P> {
    type Item = P::Item;
    fn parse<'a>(&mut self, input: &'a [u8], buf: &Bytes) -> IResult<&'a [u8], P::Item> {
        self.calls += 1;
        self.handed += input.len();
        self.inner.parse(input, buf)
    }
}
fn counting<P>(inner: P) -> Counting<P> {
    Counting {
        inner,
        calls: 0,
        handed: 0,
    }
}

fn line(input: &[u8]) -> IResult<&[u8], usize> {
    let (rest, line) = nom::bytes::streaming::take_until(&b"\n"[..]).parse(input)?;
    Ok((&rest[1..], line.len()))
}

#[test]
fn without_a_boundary_a_dripped_frame_costs_linear_parsing() {
    const N: usize = 60_000;
    let mut c = NomCodec::new(counting(parser_fn(line))).max_frame_len(2 * N);
    let mut buf = BytesMut::new();
    for _ in 0..N {
        buf.extend_from_slice(b"x");
        assert_eq!(c.decode(&mut buf).unwrap(), None);
    }
    // The frame completes between two tries: it waits for more bytes (or the end).
    buf.extend_from_slice(b"\n");
    let mut got = c.decode(&mut buf).unwrap();
    while got.is_none() && !buf.is_empty() {
        got = c.decode_eof(&mut buf).unwrap();
    }
    assert_eq!(got, Some(N));
    let p = c.parser();
    assert!(
        p.handed <= (GUESS_BUDGET + 1) * (N + 1),
        "{} bytes handed to the parser for a {N}-byte line",
        p.handed
    );
    assert!(p.calls < 64, "{} tries", p.calls);
}

#[test]
fn without_a_boundary_small_tries_are_not_delayed() {
    // The first few tries of a frame fit the budget: a frame in three pieces is parsed
    // as its last piece arrives.
    let mut c = NomCodec::new(parser_fn(counted));
    let mut buf = BytesMut::new();
    for piece in [&b"#\x06ab"[..], b"cd", b"ef"] {
        buf.extend_from_slice(piece);
        if let Some(body) = c.decode(&mut buf).unwrap() {
            assert_eq!(body, b"abcdef");
            return;
        }
    }
    panic!("the frame was not delivered when its last byte arrived");
}

/// `#`, a count byte, that many bytes: the boundary of `counted`.
#[derive(Default, Clone)]
struct CountedBoundary {
    seen: usize,
    left: Option<usize>,
}
impl Boundary for CountedBoundary {
    fn scan(&mut self, bytes: &[u8]) -> Scan {
        let mut at = 0;
        while at < bytes.len() {
            match (self.seen, self.left) {
                (0, _) => self.seen = 1,
                (_, None) => self.left = Some(bytes[at] as usize),
                (_, Some(0)) => break,
                (_, Some(n)) => {
                    let skip = n.min(bytes.len() - at);
                    self.left = Some(n - skip);
                    at += skip;
                    continue;
                }
            }
            at += 1;
        }
        match self.left {
            Some(0) => {
                self.reset();
                Scan::Ends(at)
            }
            _ => Scan::More,
        }
    }
    fn reset(&mut self) {
        *self = CountedBoundary::default();
    }
}

#[test]
fn with_a_boundary_the_parser_runs_once_per_frame() {
    let wire = b"#\x05hello#\x00#\x03abc";
    let mut c = NomCodec::with_boundary(counting(parser_fn(counted)), CountedBoundary::default());
    let mut buf = BytesMut::new();
    let mut got = Vec::new();
    for b in wire {
        buf.extend_from_slice(&[*b]);
        while let Some(body) = c.decode(&mut buf).unwrap() {
            got.push(body);
        }
    }
    assert_eq!(got, [b"hello".to_vec(), vec![], b"abc".to_vec()]);
    assert_eq!(c.parser().calls, 3, "one parse per frame, none per byte");
    assert_eq!(c.parser().handed, wire.len(), "each byte handed once");
}

/// A boundary that always ends a frame after one byte: wrong, so the codec must guess.
#[derive(Default)]
struct TooEarly;
impl Boundary for TooEarly {
    fn scan(&mut self, _: &[u8]) -> Scan {
        Scan::Ends(1)
    }
    fn reset(&mut self) {}
}

#[test]
fn a_boundary_that_ends_too_early_costs_correctness_nothing() {
    let wire = b"#\x05hello#\x00#\x03abc";
    for chunk in 1..wire.len() {
        let mut c = NomCodec::with_boundary(parser_fn(counted), TooEarly);
        let mut buf = BytesMut::new();
        let mut got = Vec::new();
        for piece in wire.chunks(chunk) {
            buf.extend_from_slice(piece);
            while let Some(body) = c.decode(&mut buf).unwrap() {
                got.push(body);
            }
        }
        while let Some(body) = c.decode_eof(&mut buf).unwrap() {
            got.push(body);
        }
        assert_eq!(
            got,
            [b"hello".to_vec(), vec![], b"abc".to_vec()],
            "chunk {chunk}"
        );
    }
}

#[test]
fn give_back_returns_undelivered_frames_in_order() {
    let mut c = NomCodec::new(ZeroCopy);
    let mut buf = BytesMut::from(&b"\x01a\x02bc\x01d\x05xy"[..]);
    assert_eq!(c.decode(&mut buf).unwrap().unwrap(), "a");
    c.give_back(&mut buf);
    assert_eq!(&buf[..], b"\x02bc\x01d\x05xy");
    assert_eq!(c.bytes_consumed(), 2);
    assert_eq!(c.decode(&mut buf).unwrap().unwrap(), "bc");
}

/// A list frame: a count byte, then that many `[len][bytes]` elements. Its `Incomplete` hints
/// are per element, never the rest of the frame.
fn list(input: &[u8]) -> IResult<&[u8], Vec<Vec<u8>>> {
    let element = |i| -> IResult<&[u8], Vec<u8>> {
        let (rest, n) = be_u8(i)?;
        let (rest, body) = take(n).parse(rest)?;
        Ok((rest, body.to_vec()))
    };
    nom::multi::length_count(be_u8, element).parse(input)
}

#[test]
fn guessing_delivers_at_once_a_frame_its_size_hint_covers() {
    // `counted` hints the whole body once its header is read: the frame comes out as its
    // last byte arrives, in any chunking, with no later byte and no end of stream.
    let wire = [&b"#\xc8"[..], &[b'x'; 200]].concat();
    for size in [1, 2, 3, 64, 201, 202] {
        let mut c = NomCodec::new(parser_fn(counted));
        let mut buf = BytesMut::new();
        let mut got = Vec::new();
        for piece in wire.chunks(size) {
            buf.extend_from_slice(piece);
            got.extend(c.decode(&mut buf).unwrap());
        }
        assert_eq!(got, [vec![b'x'; 200]], "pieces of {size}");
    }
}

#[test]
fn guessing_may_hold_a_finished_frame_until_more_bytes_or_the_end() {
    // The documented price of bounded guessing: 100 elements whose hints are per element,
    // dripped a byte at a time. The last byte lands between two budgeted tries, so the
    // finished frame waits; the end of the stream (or enough later bytes) delivers it.
    let mut wire = vec![100u8];
    for _ in 0..100 {
        wire.extend_from_slice(b"\x03abc");
    }
    let mut c = NomCodec::new(parser_fn(list));
    let mut buf = BytesMut::new();
    for b in &wire {
        buf.extend_from_slice(&[*b]);
        assert_eq!(c.decode(&mut buf).unwrap(), None);
    }
    assert!(c.want > wire.len(), "waits for {} bytes", c.want);
    let frame = c.decode_eof(&mut buf).unwrap().unwrap();
    assert_eq!(frame.len(), 100);
    // More bytes deliver it too: the next frame's first bytes, up to the budget.
    let mut c = NomCodec::new(parser_fn(list));
    let mut buf = BytesMut::new();
    let mut got = Vec::new();
    let more = [&wire[..], &wire[..]].concat();
    for b in &more {
        buf.extend_from_slice(&[*b]);
        got.extend(c.decode(&mut buf).unwrap());
    }
    assert!(
        !got.is_empty(),
        "the first frame came out once later bytes arrived"
    );
}
