//! The in-memory key-value store behind `kv_server` and `resp_server`: binary keys and values,
//! optional expiry per key, and `KEYS` through Redis's glob matcher ([`glob_match`]).
//!
//! Time is a parameter (`now`) of every call, never read from a clock here, so expiry is
//! unit-tested without sleeping. Expired keys vanish lazily when touched and actively through
//! [`Store::purge_expired`], which walks an index ordered by deadline.

use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant};

use bytes::Bytes;

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

#[derive(Debug, Clone)]
struct Entry {
    value: Bytes,
    deadline: Option<Instant>,
}

/// Keys to values, with optional deadlines.
///
/// Values are stored as given. Callers that got them as zero-copy slices of a read buffer should
/// copy them first ([`Bytes::copy_from_slice`]), or one small value would keep a whole read
/// buffer alive.
///
/// ```
/// use std::time::{Duration, Instant};
/// use bytes::Bytes;
/// use framekit_examples::store::{Condition, Expiry, Store, Ttl};
///
/// let mut store = Store::new();
/// let now = Instant::now();
/// let soon = Expiry::At(now + Duration::from_secs(10));
/// store.set(Bytes::from("k"), Bytes::from("v"), soon, Condition::Always, now);
/// assert_eq!(store.get(b"k", now).unwrap(), "v");
/// assert_eq!(store.ttl(b"k", now), Ttl::Remaining(Duration::from_secs(10)));
/// assert_eq!(store.get(b"k", now + Duration::from_secs(10)), None);
/// ```
#[derive(Debug, Default)]
pub struct Store {
    entries: HashMap<Bytes, Entry>,
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
    fn live(&mut self, key: &[u8], now: Instant) -> Option<&mut Entry> {
        let expired = match self.entries.get(key) {
            None => return None,
            Some(entry) => entry.deadline.is_some_and(|d| d <= now),
        };
        if expired {
            self.remove_entry(key);
            return None;
        }
        self.entries.get_mut(key)
    }

    fn remove_entry(&mut self, key: &[u8]) -> Option<Entry> {
        let (key, entry) = self.entries.remove_entry(key)?;
        if let Some(deadline) = entry.deadline {
            self.deadlines.remove(&(deadline, key));
        }
        Some(entry)
    }

    fn set_deadline(&mut self, key: &Bytes, deadline: Option<Instant>) {
        let Some(entry) = self.entries.get_mut(key) else {
            return;
        };
        if let Some(old) = entry.deadline {
            self.deadlines.remove(&(old, key.clone()));
        }
        entry.deadline = deadline;
        if let Some(new) = deadline {
            self.deadlines.insert((new, key.clone()));
        }
    }

    /// The value of `key`, if it exists and has not expired.
    pub fn get(&mut self, key: &[u8], now: Instant) -> Option<Bytes> {
        self.live(key, now).map(|e| e.value.clone())
    }

    /// Whether `key` exists and has not expired.
    pub fn contains(&mut self, key: &[u8], now: Instant) -> bool {
        self.live(key, now).is_some()
    }

    /// Writes `value` under `key` if `condition` holds; returns whether it wrote.
    pub fn set(
        &mut self,
        key: Bytes,
        value: Bytes,
        expiry: Expiry,
        condition: Condition,
        now: Instant,
    ) -> bool {
        let existing = self.live(&key, now).map(|e| e.deadline);
        let allowed = match condition {
            Condition::Always => true,
            Condition::IfAbsent => existing.is_none(),
            Condition::IfPresent => existing.is_some(),
        };
        if !allowed {
            return false;
        }
        let deadline = match expiry {
            Expiry::Never => None,
            Expiry::At(at) => Some(at),
            Expiry::Keep => existing.flatten(),
        };
        match self.entries.get_mut(&key) {
            Some(entry) => entry.value = value,
            None => {
                self.entries.insert(
                    key.clone(),
                    Entry {
                        value,
                        deadline: None,
                    },
                );
            }
        }
        self.set_deadline(&key, deadline);
        true
    }

    /// Removes `key`; returns whether it existed (and had not expired).
    pub fn remove(&mut self, key: &[u8], now: Instant) -> bool {
        self.live(key, now).is_some() && self.remove_entry(key).is_some()
    }

    /// Adds `delta` to the integer stored at `key` (a missing key counts as 0), keeping its
    /// deadline; returns the new value.
    pub fn incr_by(&mut self, key: &[u8], delta: i64, now: Instant) -> Result<i64, IncrError> {
        let current = match self.live(key, now) {
            None => 0,
            Some(entry) => crate::resp::parse_i64(&entry.value).ok_or(IncrError::NotAnInteger)?,
        };
        let next = current.checked_add(delta).ok_or(IncrError::Overflow)?;
        let value = Bytes::from(next.to_string());
        match self.live(key, now) {
            Some(entry) => entry.value = value,
            None => {
                self.entries.insert(
                    Bytes::copy_from_slice(key),
                    Entry {
                        value,
                        deadline: None,
                    },
                );
            }
        }
        Ok(next)
    }

    /// Makes `key` expire at `deadline`; returns whether the key exists. A deadline not after
    /// `now` deletes the key at once.
    pub fn expire_at(&mut self, key: &[u8], deadline: Instant, now: Instant) -> bool {
        if self.live(key, now).is_none() {
            return false;
        }
        if deadline <= now {
            self.remove_entry(key);
            return true;
        }
        let key = Bytes::copy_from_slice(key);
        self.set_deadline(&key, Some(deadline));
        true
    }

    /// Removes `key`'s deadline; returns whether there was one.
    pub fn persist(&mut self, key: &[u8], now: Instant) -> bool {
        match self.live(key, now) {
            Some(entry) if entry.deadline.is_some() => {
                let key = Bytes::copy_from_slice(key);
                self.set_deadline(&key, None);
                true
            }
            _ => false,
        }
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
            .keys()
            .filter(|k| every || glob_match(pattern, k))
            .cloned()
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
                self.entries.remove(&key);
                removed += 1;
            }
        }
        removed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(s: &str) -> Bytes {
        Bytes::copy_from_slice(s.as_bytes())
    }

    #[test]
    fn set_conditions_follow_nx_and_xx() {
        let mut s = Store::new();
        let now = Instant::now();
        assert!(!s.set(b("k"), b("1"), Expiry::Never, Condition::IfPresent, now));
        assert!(s.set(b("k"), b("1"), Expiry::Never, Condition::IfAbsent, now));
        assert!(!s.set(b("k"), b("2"), Expiry::Never, Condition::IfAbsent, now));
        assert!(s.set(b("k"), b("3"), Expiry::Never, Condition::IfPresent, now));
        assert_eq!(s.get(b"k", now).unwrap(), "3");
    }

    #[test]
    fn expired_keys_are_gone_and_purged() {
        let mut s = Store::new();
        let now = Instant::now();
        let later = now + Duration::from_secs(5);
        s.set(b("a"), b("1"), Expiry::At(later), Condition::Always, now);
        s.set(b("b"), b("2"), Expiry::Never, Condition::Always, now);
        assert!(s.contains(b"a", now));
        assert_eq!(s.ttl(b"b", now), Ttl::Persistent);
        assert_eq!(s.ttl(b"zz", now), Ttl::Missing);
        assert_eq!(s.purge_expired(now, 10), 0);
        assert_eq!(s.purge_expired(later, 10), 1);
        assert_eq!(s.len(), 1);
        assert!(!s.contains(b"a", later));
    }

    #[test]
    fn plain_set_clears_a_deadline_and_keepttl_keeps_it() {
        let mut s = Store::new();
        let now = Instant::now();
        let later = now + Duration::from_secs(5);
        s.set(b("k"), b("1"), Expiry::At(later), Condition::Always, now);
        s.set(b("k"), b("2"), Expiry::Keep, Condition::Always, now);
        assert_eq!(s.ttl(b"k", now), Ttl::Remaining(Duration::from_secs(5)));
        s.set(b("k"), b("3"), Expiry::Never, Condition::Always, now);
        assert_eq!(s.ttl(b"k", now), Ttl::Persistent);
        assert_eq!(
            s.purge_expired(later, 10),
            0,
            "the old deadline left the index"
        );
        assert!(s.contains(b"k", later));
    }

    #[test]
    fn expire_persist_and_remove() {
        let mut s = Store::new();
        let now = Instant::now();
        assert!(!s.expire_at(b"k", now, now));
        s.set(b("k"), b("v"), Expiry::Never, Condition::Always, now);
        assert!(s.expire_at(b"k", now + Duration::from_secs(1), now));
        assert!(s.persist(b"k", now));
        assert!(!s.persist(b"k", now));
        assert!(s.expire_at(b"k", now, now), "a past deadline deletes");
        assert!(!s.contains(b"k", now));
        s.set(b("k"), b("v"), Expiry::Never, Condition::Always, now);
        assert!(s.remove(b"k", now));
        assert!(!s.remove(b"k", now));
    }

    #[test]
    fn increments_parse_check_and_keep_the_deadline() {
        let mut s = Store::new();
        let now = Instant::now();
        assert_eq!(s.incr_by(b"n", 1, now), Ok(1));
        assert_eq!(s.incr_by(b"n", -5, now), Ok(-4));
        assert_eq!(s.get(b"n", now).unwrap(), "-4");
        s.set(b("x"), b("abc"), Expiry::Never, Condition::Always, now);
        assert_eq!(s.incr_by(b"x", 1, now), Err(IncrError::NotAnInteger));
        s.set(b("x"), b("007"), Expiry::Never, Condition::Always, now);
        assert_eq!(s.incr_by(b"x", 1, now), Err(IncrError::NotAnInteger));
        s.set(
            b("m"),
            b(&i64::MAX.to_string()),
            Expiry::Never,
            Condition::Always,
            now,
        );
        assert_eq!(s.incr_by(b"m", 1, now), Err(IncrError::Overflow));
        let later = now + Duration::from_secs(3);
        s.set(b("t"), b("1"), Expiry::At(later), Condition::Always, now);
        assert_eq!(s.incr_by(b"t", 1, now), Ok(2));
        assert_eq!(s.ttl(b"t", now), Ttl::Remaining(Duration::from_secs(3)));
    }

    #[test]
    fn keys_match_globs() {
        let mut s = Store::new();
        let now = Instant::now();
        for k in ["user:1", "user:2", "order:1"] {
            s.set(b(k), b("v"), Expiry::Never, Condition::Always, now);
        }
        let mut users = s.keys(b"user:*", now);
        users.sort();
        assert_eq!(users, [b("user:1"), b("user:2")]);
        assert_eq!(s.keys(b"*", now).len(), 3);
        s.clear();
        assert!(s.is_empty());
    }
}
