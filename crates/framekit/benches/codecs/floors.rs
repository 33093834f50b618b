//! The floors every contender is measured against: the least a decoder handing out owned
//! `Bytes` can do ([`SplitAtLf`], [`SplitU32`]: find the end, `split_to`, nothing else), and the
//! physical limits of the bytes themselves (a memcpy as a read does, a memchr scan for LFs).

use std::hint::black_box;

use bytes::{Buf, Bytes, BytesMut};
use tokio_util::codec::Decoder;

use super::cpu_time::Group;
use super::{Feed, CHUNK};

/// The floor for any decoder that hands out owned `Bytes` lines: find the LF with `memchr`, cut
/// the frame off with `split_to`, and nothing else (no limit, no CR, no error offsets).
#[derive(Default)]
pub struct SplitAtLf {
    searched: usize,
}

impl Decoder for SplitAtLf {
    type Item = Bytes;
    type Error = std::io::Error;

    fn decode(&mut self, src: &mut BytesMut) -> std::io::Result<Option<Bytes>> {
        match memchr::memchr(b'\n', &src[self.searched..]) {
            Some(i) => {
                let end = self.searched + i;
                self.searched = 0;
                let mut frame = src.split_to(end + 1);
                frame.truncate(end);
                Ok(Some(frame.freeze()))
            }
            None => {
                self.searched = src.len();
                Ok(None)
            }
        }
    }
}

/// The floor for owned `Bytes` frames behind a u32 big-endian length: read it, `split_to`,
/// nothing else (no maximum, no checked arithmetic).
pub struct SplitU32;

impl Decoder for SplitU32 {
    type Item = Bytes;
    type Error = std::io::Error;

    fn decode(&mut self, src: &mut BytesMut) -> std::io::Result<Option<Bytes>> {
        let n = match src.get(..4) {
            Some(&[a, b, c, d]) => u32::from_be_bytes([a, b, c, d]) as usize,
            _ => return Ok(None),
        };
        if src.len() < 4 + n {
            return Ok(None);
        }
        src.advance(4);
        Ok(Some(src.split_to(n).freeze()))
    }
}

/// The physical limits: copying the bytes in (as a read does), and finding every LF in them.
pub fn bench_limits(group: &mut Group<'_>, input: &[u8], scan: bool, feed: Feed) {
    match feed {
        Feed::Whole => {
            group.bench_function("memcpy", |b| {
                let mut dst = vec![0u8; input.len()];
                b.iter(|| dst.copy_from_slice(black_box(input)))
            });
            if scan {
                group.bench_function("memchr", |b| {
                    b.iter(|| {
                        for i in memchr::memchr_iter(b'\n', black_box(input)) {
                            black_box(i);
                        }
                    })
                });
            }
        }
        Feed::Chunked => {
            group.bench_function("memcpy", |b| {
                b.iter(|| {
                    let mut buf = BytesMut::with_capacity(2 * CHUNK);
                    for chunk in input.chunks(CHUNK) {
                        buf.reserve(chunk.len());
                        buf.extend_from_slice(chunk);
                        black_box(&buf[..]);
                        buf.clear();
                    }
                })
            });
            if scan {
                group.bench_function("memchr", |b| {
                    b.iter(|| {
                        let mut buf = BytesMut::with_capacity(2 * CHUNK);
                        for chunk in input.chunks(CHUNK) {
                            buf.reserve(chunk.len());
                            let start = buf.len();
                            buf.extend_from_slice(chunk);
                            let mut last = None;
                            for i in memchr::memchr_iter(b'\n', &buf[start..]) {
                                last = Some(black_box(start + i));
                            }
                            if let Some(lf) = last {
                                buf.advance(lf + 1);
                            }
                        }
                    })
                });
            }
        }
    }
}
