//! What the laws run on: the input types ([`Chunked`], [`CutStream`]) and the proptest
//! strategies that draw them (valid, damaged and hostile streams, long runs near the limit, and
//! the chunkings to feed them in).

use std::fmt::{self, Debug};

use bytes::BytesMut;
use proptest::collection::vec;
use proptest::prelude::*;
use tokio_util::codec::Decoder;

#[cfg(doc)]
use super::chunks;
use super::law::escaped;
use super::Laws;

/// Longest generated input, in bytes, whatever the limits: keeps a thousand cases quick.
const MAX_INPUT: usize = 1024;

/// Longest input the max-length law builds around a limit.
const MAX_NEAR_LIMIT_INPUT: usize = 64 * 1024;

/// Bytes and the chunk sizes to feed them in (see [`chunks`]): the input of the byte laws,
/// printed as an escaped byte string so a counterexample can be pasted into a unit test.
#[derive(Clone, PartialEq, Eq)]
pub struct Chunked {
    /// The whole input.
    pub bytes: Vec<u8>,
    /// Chunk sizes, repeated; `[1]` is one byte at a time.
    pub sizes: Vec<usize>,
}

impl Debug for Chunked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Chunked {{ bytes: {}, sizes: {:?} }}",
            escaped(&self.bytes),
            self.sizes
        )
    }
}

/// A stream of messages, and where to cut the last one's encoding short: the input of the
/// [`eof`](Laws::eof) law.
#[derive(Debug, Clone)]
pub struct CutStream<M> {
    /// Messages sent; the last one is the one cut short.
    pub messages: Vec<M>,
    /// Picks how many bytes of the last message's encoding arrive (at least one, not all).
    pub cut: usize,
    /// Chunk sizes, as in [`Chunked`].
    pub sizes: Vec<usize>,
}

impl<D, M> Laws<D, M>
where
    D: Decoder + 'static,
    M: Clone + Debug + 'static,
{
    /// Valid streams, valid streams with junk spliced in, and arbitrary bytes, with chunkings.
    pub(super) fn chunked_inputs(&self) -> BoxedStrategy<Chunked> {
        let cap = match self.limits {
            Some(l) => l.buffer.saturating_mul(2).saturating_add(64).min(MAX_INPUT),
            None => MAX_INPUT,
        };
        let encode = self.encoder();
        let valid = vec(self.messages.clone(), 0..=self.max_messages)
            .prop_map(move |messages| encode(&messages));
        let encode = self.encoder();
        let damaged = (
            vec(self.messages.clone(), 1..=self.max_messages),
            vec(any::<u8>(), 1..=16),
            any::<prop::sample::Index>(),
        )
            .prop_map(move |(messages, junk, at)| {
                let mut bytes = encode(&messages);
                let at = at.index(bytes.len() + 1);
                bytes.splice(at..at, junk);
                bytes
            });
        let arbitrary = vec(any::<u8>(), 0..=cap);
        (
            prop_oneof![2 => valid, 2 => damaged, 3 => arbitrary],
            sizes(),
        )
            .prop_map(|(bytes, sizes)| Chunked { bytes, sizes })
            .boxed()
    }

    /// Long runs without a frame end, around the buffer limit, with a few bytes sprinkled in.
    pub(super) fn near_limit_inputs(&self) -> BoxedStrategy<Chunked> {
        let limit = self.limits.map_or(MAX_INPUT, |l| l.buffer);
        let low = limit.saturating_sub(8).min(MAX_NEAR_LIMIT_INPUT);
        let high = limit.saturating_add(16).min(MAX_NEAR_LIMIT_INPUT).max(low);
        let encode = self.encoder();
        (
            vec(self.messages.clone(), 0..=2),
            any::<u8>(),
            low..=high,
            vec((any::<prop::sample::Index>(), any::<u8>()), 0..=4),
            vec(1usize..=64, 1..=4),
        )
            .prop_map(move |(lead, filler, len, sprinkles, sizes)| {
                let mut bytes = encode(&lead);
                let start = bytes.len();
                bytes.resize(start + len, filler);
                for (at, b) in sprinkles {
                    let at = start + at.index(len.max(1)).min(len.saturating_sub(1));
                    if let Some(slot) = bytes.get_mut(at) {
                        *slot = b;
                    }
                }
                Chunked { bytes, sizes }
            })
            .boxed()
    }

    /// Encodes messages into one stream, dropping any the encoder refuses.
    pub(super) fn encoder(&self) -> impl Fn(&[M]) -> Vec<u8> + 'static {
        let (make, encode) = (self.make.clone(), self.encode.clone());
        move |messages| {
            let mut codec = make();
            let mut wire = BytesMut::new();
            for m in messages {
                let before = wire.len();
                if encode(&mut codec, m.clone(), &mut wire).is_err() {
                    wire.truncate(before);
                }
            }
            wire.to_vec()
        }
    }
}

/// Chunkings: one byte at a time, small pieces, larger pieces.
pub(super) fn sizes() -> BoxedStrategy<Vec<usize>> {
    prop_oneof![
        1 => Just(vec![1]),
        2 => vec(1usize..=8, 1..=6),
        2 => vec(1usize..=300, 1..=4),
    ]
    .boxed()
}
