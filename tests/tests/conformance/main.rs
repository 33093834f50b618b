//! Conformance: framekit configured as other framing libraries, fed the cases their documentation
//! gives (byte vectors and the outcomes it promises), each under many chunkings.
//!
//! Sources: tokio-util 0.7's `LengthDelimitedCodec` (module docs, examples 1 to 7, and the
//! encoding example), `LinesCodec` and `AnyDelimiterCodec`; Netty 4.1's
//! `LengthFieldBasedFrameDecoder` (all seven javadoc examples, and its discarding mode),
//! `LineBasedFrameDecoder` and `DelimiterBasedFrameDecoder`; Go's `bufio.ScanLines`; Python's
//! asyncio `StreamReader.readline`, `readuntil` and `readexactly`. The cases are written here from
//! that documentation; no code is shared. Where framekit is deliberately stricter, the case
//! asserts framekit's documented side and says so (`stricter:`), and the README lists each one
//! under "Where framekit is stricter".
//!
//! This file holds the harness (the chunkings, the decoding loop, `case`); each source has a
//! module of its own beside it.

use bytes::BytesMut;
use framekit::framing::delimited::{Delimited, Overlong, Trailing};
use framekit::framing::fixed::FixedSize;
use framekit::framing::length_prefixed::{Endian, LengthPrefixed};
use framekit::framing::Framing;
use framekit::testing::chunks;
use framekit::{FrameCodec, FrameError};
use tokio_util::codec::{Decoder, Encoder};

/// What decoding produced, in order. `TooLong` keeps only where the frame started: how much of
/// it a decoder saw before giving up depends on the chunking.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Out {
    Frame(Vec<u8>),
    Skipped { len: u64, offset: u64 },
    TooLong { offset: u64 },
    Malformed { offset: u64 },
    UnexpectedEof { buffered: usize },
}

fn frame(bytes: &[u8]) -> Out {
    Out::Frame(bytes.to_vec())
}

/// Chunkings every case runs under: whole, one byte at a time, and uneven cuts.
const CHUNKINGS: &[&[usize]] = &[
    &[],
    &[1],
    &[2],
    &[3],
    &[5],
    &[7],
    &[1, 2, 3],
    &[4, 1],
    &[13],
];

/// Feeds `input` to a fresh codec in `sizes` pieces and ends the stream; stops at the first
/// error that leaves the stream out of sync.
fn decode<F: Framing>(framing: F, input: &[u8], sizes: &[usize]) -> Vec<Out> {
    let mut codec = FrameCodec::new(framing);
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    // After recording `result`: `Some(true)` to decode again, `Some(false)` to wait for more
    // bytes, `None` to stop (an error that leaves the stream out of sync).
    let record = |result: Result<Option<bytes::Bytes>, FrameError>, out: &mut Vec<Out>| {
        let event = match result {
            Ok(Some(frame)) => Out::Frame(frame.to_vec()),
            Ok(None) => return Some(false),
            Err(FrameError::Skipped { len, offset, .. }) => Out::Skipped { len, offset },
            Err(FrameError::TooLong { offset, .. }) => Out::TooLong { offset },
            Err(FrameError::Malformed { offset, .. }) => Out::Malformed { offset },
            Err(FrameError::UnexpectedEof { buffered }) => Out::UnexpectedEof { buffered },
            Err(other) => panic!("unexpected error {other}"),
        };
        let recoverable = matches!(event, Out::Frame(_) | Out::Skipped { .. });
        out.push(event);
        recoverable.then_some(true)
    };
    for piece in chunks(input, sizes) {
        buf.extend_from_slice(piece);
        loop {
            match record(codec.decode(&mut buf), &mut out) {
                Some(true) => continue,
                Some(false) => break,
                None => return out,
            }
        }
    }
    while let Some(true) = record(codec.decode_eof(&mut buf), &mut out) {}
    out
}

/// Runs one documented case under every chunking.
fn case<F: Framing>(source: &str, framing: impl Fn() -> F, input: &[u8], expected: &[Out]) {
    for sizes in CHUNKINGS {
        let got = decode(framing(), input, sizes);
        assert_eq!(
            got,
            expected,
            "{source}: {:?} in chunks of {sizes:?}",
            input.escape_ascii().to_string()
        );
    }
}

fn encoded<F: Framing>(framing: F, payload: &[u8]) -> Vec<u8> {
    let mut codec = FrameCodec::new(framing);
    let mut wire = BytesMut::new();
    codec
        .encode(bytes::Bytes::copy_from_slice(payload), &mut wire)
        .unwrap();
    wire.to_vec()
}

fn layout(
    build: impl Fn(
        framekit::framing::length_prefixed::LengthPrefixedBuilder,
    ) -> framekit::framing::length_prefixed::LengthPrefixedBuilder,
) -> impl Fn() -> LengthPrefixed {
    move || build(LengthPrefixed::builder()).build().unwrap()
}

mod asyncio_stream_reader;
mod go_scan_lines;
mod netty_length_field;
mod netty_lines_and_delimiters;
mod overlong_reads;
mod tokio_length_delimited;
mod tokio_lines;
