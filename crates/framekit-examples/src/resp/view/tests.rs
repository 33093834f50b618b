//! The RESP view against the owned parser: whole, in pieces and in random chunkings.

use super::*;
use bytes::{Buf, Bytes};
use proptest::prelude::*;

/// Every request of `wire`, fed in `chunk`-byte reads to `next` (the buffer, and whether the
/// input has ended), until the first error.
fn fed<E: std::fmt::Display>(
    wire: &[u8],
    chunk: usize,
    mut next: impl FnMut(&mut BytesMut, bool) -> Result<Option<Request>, E>,
) -> Vec<Result<Request, String>> {
    let mut buf = BytesMut::new();
    let mut got = Vec::new();
    let pieces: Vec<&[u8]> = wire.chunks(chunk.max(1)).collect();
    for (i, piece) in pieces.iter().enumerate() {
        buf.extend_from_slice(piece);
        let eof = i + 1 == pieces.len();
        loop {
            match next(&mut buf, eof) {
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

fn parser() -> RequestParser {
    RequestParser::new().max_bulk_len(64).max_request_len(0)
}

/// Every request of `wire` read in place by the view, as owned arguments (or the error).
fn viewed(wire: &[u8], chunk: usize) -> Vec<Result<Request, String>> {
    let mut codec = RespViewCodec::new(parser());
    fed(wire, chunk, |buf, eof| -> Result<_, FrameError> {
        let Some((view, len)) = codec.decode_view(buf, eof)? else {
            return Ok(None);
        };
        let request =
            match view {
                RespView::Args(args) => Ok(args
                    .with_slices(|args| args.iter().map(|a| Bytes::copy_from_slice(a)).collect())),
                RespView::Parsed(request) => request,
            };
        buf.advance(len);
        Ok(Some(request))
    })
}

/// The same, through the owned codec.
fn owned(wire: &[u8], chunk: usize) -> Vec<Result<Request, String>> {
    let mut codec = RespCodec::new(parser());
    fed(wire, chunk, |buf, eof| {
        if eof {
            codec.decode_eof(buf)
        } else {
            codec.decode(buf)
        }
    })
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

#[test]
fn a_request_in_pieces_is_read_on_from_where_it_stopped() {
    let mut codec = RespViewCodec::new(RequestParser::new());
    let mut buf = BytesMut::from(&b"*2\r\n$3\r\nSET\r\n$1000\r\n"[..]);
    assert!(codec.decode_view(&mut buf, false).unwrap().is_none());
    // Waiting for the value: its header is read, its bytes will be stepped over.
    let expected = Progress {
        at: 13,
        left: 1,
        seen: 1,
        need: 13 + 7 + 1000 + 2,
    };
    assert_eq!(codec.progress, expected);
    buf.extend_from_slice(&[b'v'; 999]);
    assert!(codec.decode_view(&mut buf, false).unwrap().is_none());
    assert_eq!(
        codec.progress, expected,
        "nothing to read until the value can be whole"
    );
    buf.extend_from_slice(b"v\r");
    assert!(codec.decode_view(&mut buf, false).unwrap().is_none());
    buf.extend_from_slice(b"\n*1\r\n$4\r\nPI");
    let Some((RespView::Args(args), len)) = codec.decode_view(&mut buf, false).unwrap() else {
        panic!("read in place");
    };
    args.with_slices(|args| assert_eq!(args, [&b"SET"[..], &[b'v'; 1000][..]]));
    assert_eq!(len, 1022);
    buf.advance(len);
    assert!(codec.decode_view(&mut buf, false).unwrap().is_none());
    assert_eq!(
        codec.progress,
        Progress {
            at: 4,
            left: 1,
            seen: 0,
            need: 14
        }
    );
}

#[test]
fn header_lines_follow_the_parsers_window() {
    assert_eq!(line(b"12\r\n"), Line::Ends(12, 4));
    assert_eq!(line(b"12\r"), Line::Wait);
    assert_eq!(line(b"12"), Line::Wait);
    assert_eq!(line(b"1\rx\r\n"), Line::Bad);
    assert_eq!(line(b"012\r\n"), Line::Bad);
    assert_eq!(line(b"0\r\n"), Line::Ends(0, 3));
    assert_eq!(line(b"-1\r\n"), Line::Ends(-1, 4));
    assert_eq!(line(b"-0\r\n"), Line::Bad);
    let max = b"999999999999999999\r\n";
    assert_eq!(line(max), Line::Ends(999_999_999_999_999_999, 20));
    let past = b"9223372036854775808\r\n";
    assert_eq!(line(past), Line::Bad, "19 digits past i64::MAX");
    assert_eq!(line(b"9223372036854775807\r\n"), Line::Ends(i64::MAX, 21));
    let long = [b'1'; MAX_COUNT_LINE + 1];
    assert_eq!(line(&long), Line::Bad, "no CRLF can end within the window");
    assert_eq!(line(&long[..MAX_COUNT_LINE]), Line::Wait);
}

/// The one- and two-digit fast path reads every short header as the general reading does:
/// every input of up to 5 bytes over digits (a leading zero among them), CR, LF, a sign and
/// another byte.
#[test]
fn the_short_header_fast_path_agrees_with_the_general_reading() {
    let alphabet = b"019\r\n-x";
    let mut input = Vec::new();
    let mut checked = 0;
    for len in 0..=5u32 {
        for mut code in 0..alphabet.len().pow(len) {
            input.clear();
            for _ in 0..len {
                input.push(alphabet[code % alphabet.len()]);
                code /= alphabet.len();
            }
            assert_eq!(line(&input), any_line(&input), "{:?}", input.escape_ascii());
            checked += 1;
        }
    }
    assert_eq!(checked, (0..=5).map(|n| 7usize.pow(n)).sum::<usize>());
}

/// Multibulk requests of random arguments, one byte possibly replaced by a RESP character.
fn near_valid_wire() -> impl Strategy<Value = Vec<u8>> {
    let arg = proptest::collection::vec(proptest::sample::select(b"ab\r\n$*0".to_vec()), 0..70);
    let request = proptest::collection::vec(arg, 1..4);
    let wire = proptest::collection::vec(request, 1..4).prop_map(|requests| {
        let mut wire = Vec::new();
        for args in requests {
            wire.extend_from_slice(format!("*{}\r\n", args.len()).as_bytes());
            for arg in args {
                wire.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
                wire.extend_from_slice(&arg);
                wire.extend_from_slice(b"\r\n");
            }
        }
        wire
    });
    let mutation = (
        any::<bool>(),
        any::<prop::sample::Index>(),
        proptest::sample::select(b"*$\r\n0-9x".to_vec()),
    );
    (wire, mutation).prop_map(|(mut wire, (mutate, at, byte))| {
        if mutate {
            let at = at.index(wire.len());
            wire[at] = byte;
        }
        wire
    })
}

proptest! {
    #[test]
    fn near_valid_requests_in_any_chunking_read_as_the_parser_reads(
        wire in near_valid_wire(),
        chunk in 1usize..40,
    ) {
        prop_assert_eq!(viewed(&wire, chunk), owned(&wire, chunk));
    }

    #[test]
    fn chunking_and_byte_soup_read_as_the_parser_reads(
        wire in proptest::collection::vec(proptest::sample::select(b"*$\r\n0123abc -".to_vec()), 0..80),
        chunk in 1usize..9,
    ) {
        prop_assert_eq!(viewed(&wire, chunk), owned(&wire, chunk));
    }
}
