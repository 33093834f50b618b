//! Linear work for parser-driven framing: one large request decoded whole and fed in 1 KiB and
//! 8 KiB pieces (as socket reads arrive). With linear work, chunked stays close to whole; a
//! parser that restarted on every read would grow with the square of the request.
//!
//! Ids read `linear/<input>/<feed>`: `resp_mset_1mib` is a 1 MiB `MSET` through the RESP
//! example's codec (request boundary, one parse per request); `nom_list_1mib` is one nom frame
//! of many small elements, with a boundary (`boundary`) and without one (`guessing`, the
//! bounded back-off). Run: `cargo bench -p framekit-examples --bench linear_work`.

use std::hint::black_box;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use framekit::framing::nom::{Boundary, NomCodec, Scan, StreamParser};
use framekit_examples::resp::{RequestParser, RespCodec, Value};
use nom::bytes::streaming::take;
use nom::multi::count;
use nom::number::streaming::{be_u32, u8 as byte};
use nom::{IResult, Parser};
use tokio_util::codec::Decoder;

const FEEDS: [(&str, usize); 3] = [("whole", 0), ("chunked1k", 1024), ("chunked8k", 8192)];

/// Feeds `wire` to a fresh codec in `piece`-byte reads (all at once for 0), then ends the
/// stream; returns the items.
fn feed<D: Decoder>(mut codec: D, wire: &[u8], piece: usize) -> usize
where
    D::Error: std::fmt::Debug,
{
    let mut buf = BytesMut::with_capacity(64 * 1024);
    let mut items = 0;
    let piece = if piece == 0 { wire.len() } else { piece };
    for chunk in wire.chunks(piece) {
        buf.extend_from_slice(chunk);
        while let Some(item) = codec.decode(&mut buf).expect("valid input") {
            black_box(item);
            items += 1;
        }
    }
    // Without a boundary, a frame that completed between two tries is parsed at the end.
    while let Some(item) = codec.decode_eof(&mut buf).expect("valid input") {
        black_box(item);
        items += 1;
    }
    items
}

fn mset(bytes: usize) -> Vec<u8> {
    let mut args = vec![Value::Bulk(Bytes::from_static(b"MSET"))];
    let mut i = 0;
    let mut size = 0;
    while size < bytes {
        let (k, v) = (format!("key:{i}"), format!("value:{i}"));
        size += k.len() + v.len() + 16;
        args.push(Value::Bulk(k.into()));
        args.push(Value::Bulk(v.into()));
        i += 1;
    }
    let mut wire = BytesMut::new();
    Value::Array(args).encode(&mut wire);
    wire.to_vec()
}

/// `L <u32 count>` then `count` elements of `<u8 len> <bytes>`: one frame, many small parts.
#[derive(Clone, Copy)]
struct List;

impl StreamParser for List {
    type Item = usize;
    fn parse<'a>(&mut self, input: &'a [u8], _buf: &Bytes) -> IResult<&'a [u8], usize> {
        let (rest, _) = nom::bytes::streaming::tag(&b"L"[..]).parse(input)?;
        let (rest, n) = be_u32(rest)?;
        let (rest, parts) = count(byte.flat_map(take), n as usize).parse(rest)?;
        Ok((rest, parts.len()))
    }
}

/// The boundary of [`List`]: the header, then element lengths to skip.
#[derive(Default)]
struct ListBoundary {
    header: usize,
    count: u32,
    left: Option<usize>,
}

impl Boundary for ListBoundary {
    fn scan(&mut self, bytes: &[u8]) -> Scan {
        let mut at = 0;
        while at < bytes.len() {
            if self.header < 5 {
                if self.header > 0 {
                    self.count = self.count << 8 | u32::from(bytes[at]);
                }
                self.header += 1;
                at += 1;
                if self.header == 5 && self.count == 0 {
                    self.reset();
                    return Scan::Ends(at);
                }
                continue;
            }
            match self.left {
                None => {
                    self.left = Some(bytes[at] as usize);
                    at += 1;
                }
                Some(n) => {
                    let skip = n.min(bytes.len() - at);
                    at += skip;
                    self.left = Some(n - skip);
                }
            }
            if self.left == Some(0) {
                self.left = None;
                self.count -= 1;
                if self.count == 0 {
                    self.reset();
                    return Scan::Ends(at);
                }
            }
        }
        Scan::More
    }
    fn reset(&mut self) {
        *self = ListBoundary::default();
    }
}

fn list(bytes: usize) -> Vec<u8> {
    let n = bytes / 9;
    let mut wire = vec![b'L'];
    wire.extend_from_slice(&(n as u32).to_be_bytes());
    for i in 0..n {
        wire.push(8);
        wire.extend_from_slice(format!("{:08}", i % 100_000_000).as_bytes());
    }
    wire
}

fn linear(c: &mut Criterion) {
    const MIB: usize = 1024 * 1024;
    let request = mset(MIB);
    let mut g = c.benchmark_group("linear/resp_mset_1mib");
    g.throughput(Throughput::Bytes(request.len() as u64));
    for (name, piece) in FEEDS {
        g.bench_function(name, |b| {
            b.iter_batched(
                || RespCodec::new(RequestParser::new()),
                |codec| assert_eq!(feed(codec, &request, piece), 1),
                BatchSize::SmallInput,
            )
        });
    }
    g.finish();

    let frame = list(MIB);
    for (mode, boundary) in [("boundary", true), ("guessing", false)] {
        let mut g = c.benchmark_group(format!("linear/nom_list_1mib_{mode}"));
        g.throughput(Throughput::Bytes(frame.len() as u64));
        for (name, piece) in FEEDS {
            g.bench_function(name, |b| {
                b.iter(|| {
                    let items = match boundary {
                        true => feed(
                            NomCodec::with_boundary(List, ListBoundary::default())
                                .max_frame_len(2 * MIB),
                            &frame,
                            piece,
                        ),
                        false => feed(NomCodec::new(List).max_frame_len(2 * MIB), &frame, piece),
                    };
                    assert_eq!(items, 1);
                })
            });
        }
        g.finish();
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    targets = linear
}
criterion_main!(benches);
