//! The in-memory key-value store behind `kv_server` and `resp_server`: binary keys and values,
//! optional expiry per key, and `KEYS` through Redis's glob matcher ([`glob_match`]).
//!
//! Time is a parameter (`now`) of every call, never read from a clock here, so expiry is
//! unit-tested without sleeping. Expired keys vanish lazily when touched and actively through
//! [`Store::purge_expired`], which walks an index ordered by deadline.
//!
//! Every call hashes its key once (SipHash-1-3 with a random key, as std's maps: a peer
//! choosing keys cannot make lookups collide) and finds or places the entry with that one hash.
//! The key is hashed in one pass over its bytes ([`siphasher`]'s one-shot `hash`), not fed
//! through the incremental `Hasher` interface, whose buffering costs about as much again. Keys and
//! values are copied in from the caller's slices (usually a read buffer) only where they are
//! kept: a key when it is inserted, a value into the entry's own buffer, which an overwrite
//! reuses when it fits; reads lend the value where it lies.

use std::collections::BTreeSet;
use std::hash::{BuildHasher, RandomState};
use std::time::{Duration, Instant};

use bytes::Bytes;
use hashbrown::hash_table::{self, HashTable};
use siphasher::sip::SipHasher13;

use crate::glob::glob_match;

/// What a key's time to live is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ttl {
    /// No such key.
    Missing,
    /// The key never expires.
    Persistent,
    /// The key expires after this long.
    Remaining(Duration),
}

/// When `set` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Condition {
    /// Always.
    #[default]
    Always,
    /// Only if the key does not exist (`NX`).
    IfAbsent,
    /// Only if the key exists (`XX`).
    IfPresent,
}

/// What `set` does with the key's expiry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Expiry {
    /// The key never expires (a plain `SET` clears any previous deadline).
    #[default]
    Never,
    /// The key expires at this instant.
    At(Instant),
    /// Keep the key's current deadline (`KEEPTTL`).
    Keep,
}

/// Why an increment failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IncrError {
    /// The value is not the decimal form of an `i64`.
    NotAnInteger,
    /// The result would not fit an `i64`.
    Overflow,
}

#[derive(Debug)]
struct Entry {
    /// Shared with the deadline index when the key has a deadline.
    key: Bytes,
    value: Vec<u8>,
    deadline: Option<Instant>,
}

impl Entry {
    fn expired(&self, now: Instant) -> bool {
        self.deadline.is_some_and(|d| d <= now)
    }

    /// Replaces the value, in its own buffer when that holds it without wasting more than
    /// about as much again (so a large value overwritten by a small one is given back).
    fn put(&mut self, value: &[u8]) {
        let cap = self.value.capacity();
        if value.len() <= cap && cap <= 2 * value.len() + SPARE_VALUE_BYTES {
            self.value.clear();
            self.value.extend_from_slice(value);
        } else {
            self.value = value.to_vec();
        }
    }
}

/// Slack a reused value buffer may keep beyond twice its value.
const SPARE_VALUE_BYTES: usize = 64;

/// Keys to values, with optional deadlines.
///
/// ```
/// use std::time::{Duration, Instant};
/// use framekit_examples::store::{Condition, Expiry, Store, Ttl};
///
/// let mut store = Store::new();
/// let now = Instant::now();
/// let soon = Expiry::At(now + Duration::from_secs(10));
/// store.set(b"k", b"v", soon, Condition::Always, now);
/// assert_eq!(store.get(b"k", now), Some(&b"v"[..]));
/// assert_eq!(store.ttl(b"k", now), Ttl::Remaining(Duration::from_secs(10)));
/// assert_eq!(store.get(b"k", now + Duration::from_secs(10)), None);
/// ```
#[derive(Debug)]
pub struct Store {
    /// Keyed at random per store ([`random_keys`]).
    hasher: SipHasher13,
    entries: HashTable<Entry>,
    /// Every key with a deadline, ordered by deadline.
    deadlines: BTreeSet<(Instant, Bytes)>,
}

impl Store {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// The number of keys, counting expired keys not purged yet.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are no keys at all.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The live entry for `key`, removing it first if it expired.
    #[inline]
    fn live(&mut self, key: &[u8], now: Instant) -> Option<&mut Entry> {
        let hash = hash_of(&self.hasher, key);
        match self.entries.find_entry(hash, |e| e.key == key) {
            Err(_) => None,
            Ok(found) if found.get().expired(now) => {
                let (entry, _) = found.remove();
                unindex(&mut self.deadlines, &entry);
                None
            }
            Ok(found) => Some(found.into_mut()),
        }
    }

    /// The value of `key`, if it exists and has not expired.
    pub fn get(&mut self, key: &[u8], now: Instant) -> Option<&[u8]> {
        self.live(key, now).map(|e| &e.value[..])
    }

    /// Whether `key` exists and has not expired.
    pub fn contains(&mut self, key: &[u8], now: Instant) -> bool {
        self.live(key, now).is_some()
    }

    /// Writes `value` under `key` if `condition` holds; returns whether it wrote.
    pub fn set(
        &mut self,
        key: &[u8],
        value: &[u8],
        expiry: Expiry,
        condition: Condition,
        now: Instant,
    ) -> bool {
        let hasher = &self.hasher;
        let hash = hash_of(hasher, key);
        let slot = self
            .entries
            .entry(hash, |e| e.key == key, |e| hash_of(hasher, &e.key));
        let (live, mut entry) = match slot {
            hash_table::Entry::Occupied(found) => {
                let live = !found.get().expired(now);
                (live, found)
            }
            hash_table::Entry::Vacant(_) if condition == Condition::IfPresent => return false,
            hash_table::Entry::Vacant(vacant) => {
                let deadline = match expiry {
                    Expiry::At(at) => Some(at),
                    Expiry::Never | Expiry::Keep => None,
                };
                let entry = Entry {
                    key: Bytes::copy_from_slice(key),
                    value: value.to_vec(),
                    deadline,
                };
                index(&mut self.deadlines, &entry);
                vacant.insert(entry);
                return true;
            }
        };
        let allowed = match condition {
            Condition::Always => true,
            Condition::IfAbsent => !live,
            Condition::IfPresent => live,
        };
        if !allowed {
            if !live {
                let (expired, _) = entry.remove();
                unindex(&mut self.deadlines, &expired);
            }
            return false;
        }
        let e = entry.get_mut();
        let deadline = match expiry {
            Expiry::Never => None,
            Expiry::At(at) => Some(at),
            Expiry::Keep if live => e.deadline,
            Expiry::Keep => None,
        };
        e.put(value);
        if e.deadline != deadline {
            unindex(&mut self.deadlines, e);
            e.deadline = deadline;
            index(&mut self.deadlines, e);
        }
        true
    }

    /// Removes `key`; returns whether it existed (and had not expired).
    pub fn remove(&mut self, key: &[u8], now: Instant) -> bool {
        let hash = hash_of(&self.hasher, key);
        match self.entries.find_entry(hash, |e| e.key == key) {
            Err(_) => false,
            Ok(found) => {
                let (entry, _) = found.remove();
                unindex(&mut self.deadlines, &entry);
                !entry.expired(now)
            }
        }
    }

    /// Adds `delta` to the integer stored at `key` (a missing key counts as 0), keeping its
    /// deadline; returns the new value.
    pub fn incr_by(&mut self, key: &[u8], delta: i64, now: Instant) -> Result<i64, IncrError> {
        let current = match self.live(key, now) {
            None => 0,
            Some(entry) => crate::resp::parse_i64(&entry.value).ok_or(IncrError::NotAnInteger)?,
        };
        let next = current.checked_add(delta).ok_or(IncrError::Overflow)?;
        let mut text = itoa::Buffer::new();
        self.set(
            key,
            text.format(next).as_bytes(),
            Expiry::Keep,
            Condition::Always,
            now,
        );
        Ok(next)
    }

    /// Makes `key` expire at `deadline`; returns whether the key exists. A deadline not after
    /// `now` deletes the key at once.
    pub fn expire_at(&mut self, key: &[u8], deadline: Instant, now: Instant) -> bool {
        if self.live(key, now).is_none() {
            return false;
        }
        if deadline <= now {
            self.remove(key, now);
            return true;
        }
        self.set_deadline(key, Some(deadline), now)
    }

    /// Removes `key`'s deadline; returns whether there was one.
    pub fn persist(&mut self, key: &[u8], now: Instant) -> bool {
        match self.live(key, now) {
            Some(entry) if entry.deadline.is_some() => self.set_deadline(key, None, now),
            _ => false,
        }
    }

    /// Gives the live `key` a new deadline; returns whether it exists.
    fn set_deadline(&mut self, key: &[u8], deadline: Option<Instant>, now: Instant) -> bool {
        let hash = hash_of(&self.hasher, key);
        let Some(e) = self.entries.find_mut(hash, |e| e.key == key) else {
            return false;
        };
        if e.expired(now) {
            return false;
        }
        unindex(&mut self.deadlines, e);
        e.deadline = deadline;
        index(&mut self.deadlines, e);
        true
    }

    /// `key`'s time to live.
    pub fn ttl(&mut self, key: &[u8], now: Instant) -> Ttl {
        match self.live(key, now) {
            None => Ttl::Missing,
            Some(Entry { deadline: None, .. }) => Ttl::Persistent,
            Some(Entry {
                deadline: Some(d), ..
            }) => Ttl::Remaining(d.saturating_duration_since(now)),
        }
    }

    /// Removes every key.
    pub fn clear(&mut self) {
        self.entries.clear();
        self.deadlines.clear();
    }

    /// Every live key matching the glob `pattern` (see [`glob_match`]); `*` alone is every key,
    /// the empty one included, as in Redis.
    pub fn keys(&mut self, pattern: &[u8], now: Instant) -> Vec<Bytes> {
        self.purge_expired(now, usize::MAX);
        let every = pattern == b"*";
        self.entries
            .iter()
            .filter(|e| every || glob_match(pattern, &e.key))
            .map(|e| e.key.clone())
            .collect()
    }

    /// Removes up to `budget` expired keys, earliest deadline first; returns how many.
    pub fn purge_expired(&mut self, now: Instant, budget: usize) -> usize {
        let mut removed = 0;
        while removed < budget {
            match self.deadlines.first() {
                Some((deadline, _)) if *deadline <= now => {}
                _ => break,
            }
            if let Some((_, key)) = self.deadlines.pop_first() {
                let hash = hash_of(&self.hasher, &key);
                if let Ok(found) = self.entries.find_entry(hash, |e| e.key == key) {
                    found.remove();
                }
                removed += 1;
            }
        }
        removed
    }
}

/// `key`'s hash: its bytes alone (SipHash mixes in their count), in one pass.
#[inline]
fn hash_of(hasher: &SipHasher13, key: &[u8]) -> u64 {
    hasher.hash(key)
}

/// A SipHash key no peer can know: two outputs of std's randomly keyed hasher (seeded from the
/// operating system's randomness), which reveal nothing of its key or of each other.
fn random_keys() -> (u64, u64) {
    let random = RandomState::new();
    (random.hash_one(0u64), random.hash_one(1u64))
}

impl Default for Store {
    fn default() -> Self {
        let (k0, k1) = random_keys();
        Store {
            hasher: SipHasher13::new_with_keys(k0, k1),
            entries: HashTable::new(),
            deadlines: BTreeSet::new(),
        }
    }
}

/// Adds `entry`'s deadline, if it has one, to the index.
fn index(deadlines: &mut BTreeSet<(Instant, Bytes)>, entry: &Entry) {
    if let Some(deadline) = entry.deadline {
        deadlines.insert((deadline, entry.key.clone()));
    }
}

/// Takes `entry`'s deadline, if it has one, out of the index.
fn unindex(deadlines: &mut BTreeSet<(Instant, Bytes)>, entry: &Entry) {
    if let Some(deadline) = entry.deadline {
        deadlines.remove(&(deadline, entry.key.clone()));
    }
}

#[cfg(test)]
mod tests;
