//! frame_costs: a small, bounded driver of framekit's per-frame paths for a load-independent
//! count of instructions per frame under callgrind (`bench/codecs-callgrind.sh` runs it).
//!
//! ```text
//! frame_costs MODE [REPEATS] [PAYLOAD]     e.g. frame_costs frames 11 32
//! ```
//!
//! The input is the codec bench's (256 KiB of printable payloads of PAYLOAD bytes, every one
//! different), framed by newlines or by a u32 length; each repeat decodes (or encodes) all of it
//! once. Running a mode at two repeat counts and dividing the difference by the frames gives
//! the cost per frame without the setup's.
//!
//! Modes: `frames` / `frames-chunked` (borrowed lines, `Frames`, whole buffer or 4 KiB reads),
//! `scan` / `scan-chunked` (every LF found with `memchr_iter`: the physical limit the codec bench
//! compares `Frames` with), `in-place` (lines through `FrameCodec::decode_in_place`, as a server
//! decodes requests), `u32` (borrowed u32-prefixed frames) and `encode` (lines encoded by
//! `FrameCodec<Delimited>`).

use std::hint::black_box;

use bytes::{Buf, BytesMut};
use framekit::framing::delimited::Delimited;
use framekit::framing::length_prefixed::LengthPrefixed;
use framekit::framing::{Frames, Framing};
use framekit::FrameCodec;
use tokio_util::codec::Encoder;

/// Bytes of input per repeat, as in the codec bench.
const INPUT_LEN: usize = 256 * 1024;
/// The read size of the chunked modes, as in the codec bench.
const CHUNK: usize = 4 * 1024;
/// The maximum frame length of every strategy, as in the codec bench.
const MAX: usize = 64 * 1024;

/// The codec bench's payloads: printable, no LF or CR, every one different.
fn payloads(size: usize) -> Vec<Vec<u8>> {
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut byte = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        b' ' + (state % 94) as u8
    };
    let count = INPUT_LEN / (size + 1);
    (0..count)
        .map(|_| (0..size).map(|_| byte()).collect())
        .collect()
}

fn wire(mut framing: impl Framing, payloads: &[Vec<u8>]) -> Vec<u8> {
    let mut out = BytesMut::new();
    for p in payloads {
        framing.encode(p, &mut out).expect("payloads are encodable");
    }
    out.to_vec()
}

/// Every borrowed frame at the front of `buf`: how many, and the bytes they took.
fn drain(framing: &mut impl Framing, buf: &[u8]) -> (usize, usize) {
    let mut frames = Frames::new(framing, buf);
    let mut n = 0;
    for frame in frames.by_ref() {
        black_box(frame.expect("the input decodes"));
        n += 1;
    }
    (n, frames.consumed())
}

fn frames_chunked(mut framing: impl Framing, input: &[u8]) -> usize {
    let mut buf = BytesMut::with_capacity(2 * CHUNK);
    let mut n = 0;
    for chunk in input.chunks(CHUNK) {
        buf.extend_from_slice(chunk);
        let (got, consumed) = drain(&mut framing, &buf);
        n += got;
        buf.advance(consumed);
    }
    n
}

fn in_place(framing: impl Framing, input: &[u8]) -> usize {
    let mut codec = FrameCodec::new(framing);
    let mut buf = BytesMut::with_capacity(2 * CHUNK);
    let mut n = 0;
    for chunk in input.chunks(CHUNK) {
        buf.extend_from_slice(chunk);
        while let Some(frame) = codec.decode_in_place(&mut buf, false).expect("decodes") {
            black_box(&buf[frame.payload]);
            buf.advance(frame.len);
            n += 1;
        }
    }
    n
}

fn scan(input: &[u8]) -> usize {
    let mut n = 0;
    for i in memchr::memchr_iter(b'\n', black_box(input)) {
        black_box(i);
        n += 1;
    }
    n
}

/// The codec bench's chunked memchr row: each read scanned once, up to its last LF dropped.
fn scan_chunked(input: &[u8]) -> usize {
    let mut buf = BytesMut::with_capacity(2 * CHUNK);
    let mut n = 0;
    for chunk in input.chunks(CHUNK) {
        let start = buf.len();
        buf.extend_from_slice(chunk);
        let mut last = None;
        for i in memchr::memchr_iter(b'\n', &buf[start..]) {
            last = Some(black_box(start + i));
            n += 1;
        }
        if let Some(lf) = last {
            buf.advance(lf + 1);
        }
    }
    n
}

fn encode(payloads: &[Vec<u8>]) -> usize {
    let mut codec = FrameCodec::new(Delimited::newline().max_frame_len(MAX));
    let mut dst = BytesMut::with_capacity(INPUT_LEN + payloads.len());
    for p in payloads {
        codec
            .encode(black_box(&p[..]), &mut dst)
            .expect("encodable");
    }
    black_box(&dst);
    payloads.len()
}

fn main() {
    let mut args = std::env::args().skip(1);
    let mode = args.next().unwrap_or_else(|| "frames".into());
    let repeats: usize = args.next().map_or(1, |r| r.parse().expect("REPEATS"));
    let size: usize = args.next().map_or(32, |s| s.parse().expect("PAYLOAD"));
    let payloads = payloads(size.max(1));
    let lines = wire(Delimited::newline(), &payloads);
    let prefixed = wire(LengthPrefixed::u32_be(), &payloads);
    let newline = || Delimited::newline().max_frame_len(MAX);
    let mut frames = 0;
    for _ in 0..repeats {
        frames += match mode.as_str() {
            "frames" => drain(&mut newline(), black_box(&lines)).0,
            "frames-chunked" => frames_chunked(newline(), &lines),
            "scan" => scan(&lines),
            "scan-chunked" => scan_chunked(&lines),
            "in-place" => in_place(newline(), &lines),
            "u32" => drain(&mut LengthPrefixed::u32_be().max_frame_len(MAX), &prefixed).0,
            "encode" => encode(&payloads),
            other => panic!("unknown mode {other} (see the module doc)"),
        };
    }
    println!(
        "{mode} payload={size} repeats={repeats} frames_per_repeat={}",
        frames / repeats.max(1)
    );
}
