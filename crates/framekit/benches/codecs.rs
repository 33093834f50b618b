//! Codec throughput: each framekit strategy against the tokio-util codec doing the same job, on
//! the same bytes, in the same run, with a memcpy and a memchr scan of those bytes as the limit.
//!
//! Benchmark ids read `decode/<input>/<frame size>/<feed>` then the contender, where the feed is
//! `whole` (every byte already buffered) or `chunked4k` (4 KiB appended to a `BytesMut` at a time,
//! decoding until the codec says it needs more, as socket reads arrive). `bytes_floor` is the
//! least any decoder handing out owned `Bytes` can do (find the end, `split_to`, nothing else),
//! so it bounds what any such codec can reach against tokio-util. `bench/run.sh` turns
//! the medians into the ratio table of `BENCHMARKS.md`.
//!
//! Times are the benchmark thread's CPU time on Linux (wall time elsewhere): the machines this
//! runs on are shared, and CPU time does not count the slices another process ran in
//! (`codecs/cpu_time.rs`); the floors and limits live in `codecs/floors.rs`.

use std::hint::black_box;

use bytes::{Buf, Bytes, BytesMut};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use framekit::framing::delimited::Delimited;
use framekit::framing::length_prefixed::LengthPrefixed;
use framekit::framing::{Frames, Framing};
use framekit::FrameCodec;
use tokio_util::codec::{AnyDelimiterCodec, Decoder, Encoder, LengthDelimitedCodec, LinesCodec};

// A bench target's root resolves `mod` beside itself, where cargo would take a file for another
// bench target: its modules live in `codecs/`.
#[path = "codecs/cpu_time.rs"]
mod cpu_time;
#[path = "codecs/floors.rs"]
mod floors;

use cpu_time::{Bench, Group, ThreadCpuTime};
use floors::{bench_limits, SplitAtLf, SplitU32};

/// Bytes of input per iteration: large enough for thousands of small frames, small enough to
/// stay in L2 so the numbers measure the codecs rather than the memory bus.
const INPUT_LEN: usize = 256 * 1024;

/// The read size of the chunked feed.
const CHUNK: usize = 4 * 1024;

/// Same maximum frame length on every contender, so none skips a check another makes.
const MAX_LINE: usize = 64 * 1024;

/// Payload sizes (wire frames are these plus the delimiter or the length field).
const SIZES: [(usize, &str); 2] = [(32, "32B"), (1024, "1KiB")];

/// Deterministic printable payloads (no LF, no CR), every frame different.
fn payloads(size: usize) -> Vec<Vec<u8>> {
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let count = INPUT_LEN / (size + 1);
    (0..count)
        .map(|_| {
            (0..size)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    b' ' + (state % 94) as u8
                })
                .collect()
        })
        .collect()
}

/// The wire bytes of `payloads` framed by `framing`.
fn wire<F: Framing>(mut framing: F, payloads: &[Vec<u8>]) -> Vec<u8> {
    let mut out = BytesMut::new();
    for p in payloads {
        framing
            .encode(p, &mut out)
            .expect("bench payloads are encodable");
    }
    out.to_vec()
}

/// How the input reaches the decoder.
#[derive(Clone, Copy)]
enum Feed {
    Whole,
    Chunked,
}

impl Feed {
    fn name(self) -> &'static str {
        match self {
            Feed::Whole => "whole",
            Feed::Chunked => "chunked4k",
        }
    }
}

/// Times `decode_all` on `input`, fed whole (buffer prepared outside the timing) or in chunks.
fn bench_codec<D>(
    group: &mut Group<'_>,
    name: &str,
    input: &[u8],
    frames: usize,
    feed: Feed,
    make: impl Fn() -> D,
) where
    D: Decoder,
    D::Error: std::fmt::Debug,
{
    let drain = |codec: &mut D, buf: &mut BytesMut| -> usize {
        let mut n = 0;
        while let Some(item) = codec.decode(buf).expect("bench input decodes") {
            black_box(item);
            n += 1;
        }
        n
    };
    match feed {
        Feed::Whole => group.bench_function(name, |b| {
            b.iter_batched_ref(
                || (make(), BytesMut::from(input)),
                |(codec, buf)| assert_eq!(drain(codec, buf), frames),
                BatchSize::LargeInput,
            )
        }),
        Feed::Chunked => group.bench_function(name, |b| {
            b.iter(|| {
                let mut codec = make();
                let mut buf = BytesMut::with_capacity(2 * CHUNK);
                let mut n = 0;
                for chunk in input.chunks(CHUNK) {
                    buf.reserve(chunk.len());
                    buf.extend_from_slice(chunk);
                    n += drain(&mut codec, &mut buf);
                }
                assert_eq!(n, frames);
            })
        }),
    };
}

/// Times the borrowed path: frames as `&[u8]` inside the read buffer, dropped after the batch.
fn bench_borrowed<F: Framing>(
    group: &mut Group<'_>,
    name: &str,
    input: &[u8],
    frames: usize,
    feed: Feed,
    make: impl Fn() -> F,
) {
    let drain = |framing: &mut F, buf: &[u8]| -> (usize, usize) {
        let mut it = Frames::new(framing, buf);
        let mut n = 0;
        for frame in it.by_ref() {
            black_box(frame.expect("bench input decodes"));
            n += 1;
        }
        (n, it.consumed())
    };
    match feed {
        Feed::Whole => group.bench_function(name, |b| {
            b.iter(|| {
                let mut framing = make();
                assert_eq!(drain(&mut framing, black_box(input)).0, frames);
            })
        }),
        Feed::Chunked => group.bench_function(name, |b| {
            b.iter(|| {
                let mut framing = make();
                let mut buf = BytesMut::with_capacity(2 * CHUNK);
                let mut n = 0;
                for chunk in input.chunks(CHUNK) {
                    buf.reserve(chunk.len());
                    buf.extend_from_slice(chunk);
                    let (got, consumed) = drain(&mut framing, &buf);
                    n += got;
                    buf.advance(consumed);
                }
                assert_eq!(n, frames);
            })
        }),
    };
}

/// Throughput is counted in wire bytes; timing knobs come from the command line (`bench/run.sh`
/// passes short ones), since settings made here would override it.
fn configure(group: &mut Group<'_>, input: &[u8]) {
    group.throughput(Throughput::Bytes(input.len() as u64));
}

fn decode_lines(c: &mut Bench) {
    for (size, size_name) in SIZES {
        let payloads = payloads(size);
        let frames = payloads.len();
        let input = wire(Delimited::newline(), &payloads);
        for feed in [Feed::Chunked, Feed::Whole] {
            let mut g = c.benchmark_group(format!("decode/lines/{size_name}/{}", feed.name()));
            configure(&mut g, &input);
            bench_codec(&mut g, "tokio_lines", &input, frames, feed, || {
                LinesCodec::new_with_max_length(MAX_LINE)
            });
            bench_codec(&mut g, "tokio_any_delimiter", &input, frames, feed, || {
                AnyDelimiterCodec::new_with_max_length(b"\n".to_vec(), b"\n".to_vec(), MAX_LINE)
            });
            bench_codec(&mut g, "framekit_delimited", &input, frames, feed, || {
                FrameCodec::new(Delimited::newline().max_frame_len(MAX_LINE))
            });
            bench_borrowed(&mut g, "framekit_borrowed", &input, frames, feed, || {
                Delimited::newline().max_frame_len(MAX_LINE)
            });
            bench_codec(
                &mut g,
                "bytes_floor",
                &input,
                frames,
                feed,
                SplitAtLf::default,
            );
            bench_limits(&mut g, &input, true, feed);
            g.finish();
        }
    }
}

fn decode_length(c: &mut Bench) {
    for (size, size_name) in SIZES {
        let payloads = payloads(size);
        let frames = payloads.len();
        let u32_input = wire(LengthPrefixed::u32_be(), &payloads);
        let varint_input = wire(LengthPrefixed::varint(), &payloads);
        for feed in [Feed::Chunked, Feed::Whole] {
            let mut g = c.benchmark_group(format!("decode/u32/{size_name}/{}", feed.name()));
            configure(&mut g, &u32_input);
            bench_codec(
                &mut g,
                "tokio_length_delimited",
                &u32_input,
                frames,
                feed,
                LengthDelimitedCodec::new,
            );
            bench_codec(&mut g, "framekit_u32_be", &u32_input, frames, feed, || {
                FrameCodec::new(LengthPrefixed::u32_be())
            });
            bench_borrowed(
                &mut g,
                "framekit_u32_be_borrowed",
                &u32_input,
                frames,
                feed,
                LengthPrefixed::u32_be,
            );
            bench_codec(&mut g, "bytes_floor", &u32_input, frames, feed, || SplitU32);
            bench_limits(&mut g, &u32_input, false, feed);
            g.finish();

            // tokio-util has no varint length field: the baseline stays LengthDelimitedCodec on
            // the u32 input (same payloads), compared in frames per second.
            let mut g = c.benchmark_group(format!("decode/varint/{size_name}/{}", feed.name()));
            configure(&mut g, &varint_input);
            bench_codec(
                &mut g,
                "framekit_varint",
                &varint_input,
                frames,
                feed,
                || FrameCodec::new(LengthPrefixed::varint()),
            );
            bench_borrowed(
                &mut g,
                "framekit_varint_borrowed",
                &varint_input,
                frames,
                feed,
                LengthPrefixed::varint,
            );
            bench_limits(&mut g, &varint_input, false, feed);
            g.finish();
        }
    }
}

/// Times framing every payload into one reused output buffer (cleared per iteration).
fn bench_encode<T: Clone>(
    group: &mut Group<'_>,
    name: &str,
    items: &[T],
    mut encode: impl FnMut(T, &mut BytesMut),
) {
    group.bench_function(name, |b| {
        let mut dst = BytesMut::with_capacity(2 * INPUT_LEN);
        b.iter(|| {
            dst.clear();
            for item in items {
                encode(item.clone(), &mut dst);
            }
            black_box(&dst[..]);
        })
    });
}

fn encode(c: &mut Bench) {
    for (size, size_name) in SIZES {
        let payloads = payloads(size);
        // 'static items so cloning one costs nothing on either side.
        let strs: Vec<&'static str> = payloads
            .iter()
            .map(|p| &*String::leak(String::from_utf8(p.clone()).expect("payloads are ASCII")))
            .collect();
        let bytes: Vec<Bytes> = strs
            .iter()
            .map(|s| Bytes::from_static(s.as_bytes()))
            .collect();

        let lines = wire(Delimited::newline(), &payloads);
        let mut g = c.benchmark_group(format!("encode/lines/{size_name}"));
        configure(&mut g, &lines);
        let mut codec = LinesCodec::new_with_max_length(MAX_LINE);
        bench_encode(&mut g, "tokio_lines", &strs, |s, dst| {
            codec.encode(s, dst).expect("encodable")
        });
        let mut codec =
            AnyDelimiterCodec::new_with_max_length(b"\n".to_vec(), b"\n".to_vec(), MAX_LINE);
        bench_encode(&mut g, "tokio_any_delimiter", &strs, |s, dst| {
            codec.encode(s, dst).expect("encodable")
        });
        let mut codec = FrameCodec::new(Delimited::newline().max_frame_len(MAX_LINE));
        bench_encode(&mut g, "framekit_delimited", &bytes, |p, dst| {
            codec.encode(p, dst).expect("encodable")
        });
        g.bench_function("memcpy", |b| {
            let mut dst = vec![0u8; lines.len()];
            b.iter(|| dst.copy_from_slice(black_box(&lines)))
        });
        g.finish();

        let u32_wire = wire(LengthPrefixed::u32_be(), &payloads);
        let mut g = c.benchmark_group(format!("encode/u32/{size_name}"));
        configure(&mut g, &u32_wire);
        let mut codec = LengthDelimitedCodec::new();
        bench_encode(&mut g, "tokio_length_delimited", &bytes, |p, dst| {
            codec.encode(p, dst).expect("encodable")
        });
        let mut codec = FrameCodec::new(LengthPrefixed::u32_be());
        bench_encode(&mut g, "framekit_u32_be", &bytes, |p, dst| {
            codec.encode(p, dst).expect("encodable")
        });
        g.bench_function("memcpy", |b| {
            let mut dst = vec![0u8; u32_wire.len()];
            b.iter(|| dst.copy_from_slice(black_box(&u32_wire)))
        });
        g.finish();

        let varint_wire = wire(LengthPrefixed::varint(), &payloads);
        let mut g = c.benchmark_group(format!("encode/varint/{size_name}"));
        configure(&mut g, &varint_wire);
        let mut codec = FrameCodec::new(LengthPrefixed::varint());
        bench_encode(&mut g, "framekit_varint", &bytes, |p, dst| {
            codec.encode(p, dst).expect("encodable")
        });
        g.finish();
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().with_measurement(ThreadCpuTime);
    targets = decode_lines, decode_length, encode
}
criterion_main!(benches);
