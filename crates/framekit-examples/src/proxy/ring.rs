//! The consistent hash that picks a key's backend ([`Ring`]): ketama points on a 32-bit circle,
//! placed as twemproxy's `distribution: ketama` places them (40 MD5 digests of `NAME-i` per
//! backend, four points from each), and a key's hash ([`KeyHash`]: MD5 as ketama's own, or
//! twemproxy's default `fnv1a_64`), taken on the key's hash tag when it has one. A key belongs
//! to the first point at or after its hash, wrapping at the top. Adding a backend moves only
//! the keys that land on its points.

use md5::{Digest, Md5};

/// Points per backend on the circle (twemproxy's `KETAMA_POINTS_PER_SERVER`).
pub const POINTS_PER_BACKEND: usize = 160;
/// Points taken from one MD5 digest (its 16 bytes as four little-endian `u32`s).
const POINTS_PER_DIGEST: usize = 4;

/// How a key is hashed onto the circle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum KeyHash {
    /// The first four bytes of the key's MD5 digest, little-endian (twemproxy's `md5`,
    /// ketama's own): keys that differ in one byte land anywhere on the circle.
    #[default]
    Md5,
    /// twemproxy's default, [`fnv1a_64`]: cheaper, but its 32-bit multiplier is small, so
    /// keys that differ only in their last byte or two (`user:1` ... `user:9`) hash close
    /// together and mostly share a backend.
    #[value(name = "fnv1a_64")]
    Fnv1a64,
}

impl KeyHash {
    /// `key`'s place on the circle.
    ///
    /// ```
    /// use framekit_examples::proxy::{fnv1a_64, KeyHash};
    /// assert_eq!(KeyHash::Fnv1a64.hash(b"k"), fnv1a_64(b"k"));
    /// assert_ne!(KeyHash::Md5.hash(b"user:1"), KeyHash::Md5.hash(b"user:2"));
    /// ```
    pub fn hash(self, key: &[u8]) -> u32 {
        match self {
            KeyHash::Md5 => {
                let digest = Md5::digest(key);
                u32::from_le_bytes([digest[0], digest[1], digest[2], digest[3]])
            }
            KeyHash::Fnv1a64 => fnv1a_64(key),
        }
    }
}

/// A key's hash as twemproxy's `fnv1a_64` computes it: FNV-1a with the 64-bit offset basis and
/// prime, both truncated to 32 bits, in 32-bit arithmetic (so keys land where twemproxy puts
/// them, for a pool moved from it).
///
/// ```
/// use framekit_examples::proxy::fnv1a_64;
/// assert_eq!(fnv1a_64(b""), 0x8422_2325);
/// assert_ne!(fnv1a_64(b"a"), fnv1a_64(b"b"));
/// ```
pub fn fnv1a_64(key: &[u8]) -> u32 {
    // The constants are the 64-bit ones cut to their low 32 bits, as twemproxy's casts do.
    const BASIS: u32 = 0xcbf2_9ce4_8422_2325_u64 as u32;
    const PRIME: u32 = 0x0000_0100_0000_01b3_u64 as u32;
    key.iter()
        .fold(BASIS, |hash, &b| (hash ^ u32::from(b)).wrapping_mul(PRIME))
}

/// The part of `key` that is hashed: with a hash tag such as `{}`, the bytes between the first
/// opening byte and the next closing byte after it, when that part is not empty; otherwise the
/// whole key (twemproxy's `hash_tag`, and redis cluster's rule for `{...}`).
///
/// ```
/// use framekit_examples::proxy::hashed_part;
/// let tag = Some(*b"{}");
/// assert_eq!(hashed_part(b"user:{42}:name", tag), b"42");
/// assert_eq!(hashed_part(b"user:{}:name", tag), b"user:{}:name");
/// assert_eq!(hashed_part(b"plain", tag), b"plain");
/// assert_eq!(hashed_part(b"user:{42}", None), b"user:{42}");
/// ```
pub fn hashed_part(key: &[u8], tag: Option<[u8; 2]>) -> &[u8] {
    let Some([open, close]) = tag else {
        return key;
    };
    let Some(start) = memchr::memchr(open, key) else {
        return key;
    };
    match memchr::memchr(close, &key[start + 1..]) {
        Some(len) if len > 0 => &key[start + 1..start + 1 + len],
        _ => key,
    }
}

/// The circle: every backend's points, sorted, each naming its backend by index.
///
/// ```
/// use framekit_examples::proxy::Ring;
/// use framekit_examples::proxy::KeyHash;
/// let ring = Ring::new(&["10.0.0.1:6379", "10.0.0.2:6379"], KeyHash::Md5, Some(*b"{}"));
/// assert_eq!(ring.backends(), 2);
/// let backend = ring.backend_of(b"user:{7}:name");
/// assert!(backend < 2);
/// assert_eq!(backend, ring.backend_of(b"cart:{7}"), "one hash tag, one backend");
/// ```
#[derive(Debug, Clone)]
pub struct Ring {
    /// `(point, backend index)`, sorted by point.
    points: Vec<(u32, usize)>,
    backends: usize,
    hash: KeyHash,
    tag: Option<[u8; 2]>,
}

impl Ring {
    /// A ring of the backends `names` (each backend's points come from its name, so the same
    /// names give the same ring in any process), all of equal weight, hashing keys with
    /// `hash` on their `tag` part when given.
    pub fn new<S: AsRef<str>>(names: &[S], hash: KeyHash, tag: Option<[u8; 2]>) -> Ring {
        let mut points = Vec::with_capacity(names.len().saturating_mul(POINTS_PER_BACKEND));
        for (index, name) in names.iter().enumerate() {
            for digest_index in 0..POINTS_PER_BACKEND / POINTS_PER_DIGEST {
                let host = format!("{}-{digest_index}", name.as_ref());
                let digest = Md5::digest(host.as_bytes());
                for quarter in digest.chunks_exact(4) {
                    let point =
                        u32::from_le_bytes([quarter[0], quarter[1], quarter[2], quarter[3]]);
                    points.push((point, index));
                }
            }
        }
        // Equal points (a collision of two digests) keep their backends in index order, so
        // the ring does not depend on the sort's stability.
        points.sort_unstable();
        Ring {
            points,
            backends: names.len(),
            hash,
            tag,
        }
    }

    /// How many backends the ring spreads keys over.
    pub fn backends(&self) -> usize {
        self.backends
    }

    /// The backend (an index into the names given to [`Ring::new`]) that owns `key`. A ring of
    /// no backends answers 0.
    pub fn backend_of(&self, key: &[u8]) -> usize {
        self.backend_of_hash(self.hash.hash(hashed_part(key, self.tag)))
    }

    /// The backend owning the first point at or after `hash`, wrapping past the largest.
    pub fn backend_of_hash(&self, hash: u32) -> usize {
        let at = self.points.partition_point(|&(point, _)| point < hash);
        let at = if at == self.points.len() { 0 } else { at };
        self.points.get(at).map_or(0, |&(_, backend)| backend)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a_64_is_twemproxys_32_bit_arithmetic() {
        // Worked by hand from the truncated constants: basis 0x84222325, prime 0x000001b3.
        let step = |h: u32, b: u8| (h ^ u32::from(b)).wrapping_mul(0x1b3);
        assert_eq!(fnv1a_64(b"a"), step(0x8422_2325, b'a'));
        assert_eq!(fnv1a_64(b"ab"), step(step(0x8422_2325, b'a'), b'b'));
    }

    #[test]
    fn points_are_placed_as_ketama_places_them() {
        let ring = Ring::new(&["a:1", "b:2"], KeyHash::Md5, None);
        assert_eq!(ring.points.len(), 2 * POINTS_PER_BACKEND);
        // The first point of "a:1" is the first little-endian word of md5("a:1-0").
        let digest = Md5::digest(b"a:1-0");
        let first = u32::from_le_bytes([digest[0], digest[1], digest[2], digest[3]]);
        assert!(ring.points.contains(&(first, 0)));
        assert!(ring.points.windows(2).all(|w| w[0] <= w[1]));
    }

    #[test]
    fn a_hash_goes_to_the_next_point_and_wraps() {
        let ring = Ring::new(&["a:1", "b:2", "c:3"], KeyHash::Md5, None);
        let (lowest, owner) = ring.points[0];
        assert_eq!(ring.backend_of_hash(lowest), owner);
        assert_eq!(ring.backend_of_hash(0), owner);
        let (_, last_owner) = *ring.points.last().unwrap();
        let (last, _) = *ring.points.last().unwrap();
        assert_eq!(ring.backend_of_hash(last), last_owner);
        if last < u32::MAX {
            assert_eq!(ring.backend_of_hash(last + 1), owner, "past the top wraps");
        }
    }

    #[test]
    fn keys_spread_and_a_new_backend_moves_only_its_share() {
        for hash in [KeyHash::Md5, KeyHash::Fnv1a64] {
            let two = Ring::new(&["127.0.0.1:7001", "127.0.0.1:7002"], hash, None);
            let three = Ring::new(
                &["127.0.0.1:7001", "127.0.0.1:7002", "127.0.0.1:7003"],
                hash,
                None,
            );
            let mut counts = [0usize; 2];
            let mut moved = 0;
            for i in 0..30_000 {
                let key = format!("key:{i}");
                let before = two.backend_of(key.as_bytes());
                counts[before] += 1;
                let after = three.backend_of(key.as_bytes());
                if after != before {
                    assert_eq!(after, 2, "a key moves only to the new backend");
                    moved += 1;
                }
            }
            // 160 points each: near even, and about a third moves.
            assert!(counts.iter().all(|&c| c > 11_000), "{hash:?} {counts:?}");
            assert!(
                (7_000..13_000).contains(&moved),
                "{hash:?}: {moved} of 30000 moved"
            );
        }
    }

    #[test]
    fn md5_spreads_keys_that_differ_in_their_last_byte_and_fnv1a_64_does_not() {
        let names = ["127.0.0.1:7001", "127.0.0.1:7002", "127.0.0.1:7003"];
        let backends_of = |hash| {
            let ring = Ring::new(&names, hash, None);
            let mut used: Vec<usize> = (0..10)
                .map(|i| ring.backend_of(format!("user:{i}").as_bytes()))
                .collect();
            used.sort_unstable();
            used.dedup();
            used.len()
        };
        assert_eq!(backends_of(KeyHash::Md5), 3);
        assert_eq!(
            backends_of(KeyHash::Fnv1a64),
            1,
            "the reason md5 is the default"
        );
    }

    #[test]
    fn an_empty_ring_answers_backend_zero() {
        let ring = Ring::new::<&str>(&[], KeyHash::Md5, None);
        assert_eq!(ring.backend_of(b"k"), 0);
    }
}
