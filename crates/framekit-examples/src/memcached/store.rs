//! The item store behind `memcached_server`: keys to items (value, client flags, expiry, CAS
//! unique id), a memory limit enforced by evicting the least recently used items, and
//! memcached's clock and flush rules.
//!
//! Time is a parameter of every call, in memcached's own unit ([`Clock`](super::Clock)): whole
//! seconds since the store started, so expiry and delayed flushes are unit-tested without
//! sleeping.
//! The LRU order moves an item at most once per `ITEM_UPDATE_INTERVAL` (60 s, as memcached): a
//! read in between marks it active instead, and an active item at the front gets a second chance
//! before it is evicted. Items live in a table (`store/table.rs`) that hashes a key once per
//! request.

use super::clock::ITEM_UPDATE_INTERVAL;
use super::line::ITEM_OVERHEAD;
use super::number::strtoull;
use table::Table;

/// memcached's default memory limit (`-m 64`).
pub const DEFAULT_MEMORY_LIMIT: usize = 64 * 1024 * 1024;
/// How many active items at the front may be moved to the back (a second chance) while room is
/// made for one more, before the front item is evicted whatever it is: bounds the work of one
/// store (memcached looks at 5 items from the tail per try).
const SECOND_CHANCES: usize = 5;
/// Whether `item` is gone at `now`: expired, or flushed by a `flush_all` whose time
/// (`oldest_live`) has come or whose CAS mark (`oldest_cas`) is newer than the item's.
fn dead(item: &Item, now: u32, oldest_live: u32, oldest_cas: u64) -> bool {
    (item.exptime != 0 && item.exptime <= now)
        || (oldest_live != 0 && oldest_live <= now && item.time <= oldest_live)
        || (oldest_cas != 0 && item.cas < oldest_cas)
}

/// One stored item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    /// The value.
    pub value: Vec<u8>,
    /// Client flags.
    pub flags: u32,
    /// Store time of expiry, 0 for never.
    pub exptime: u32,
    /// The CAS unique id.
    pub cas: u64,
    /// Store time of the last store or (at most every minute) access.
    pub time: u32,
    /// Whether it was fetched since it was stored.
    pub fetched: bool,
}

impl Item {
    /// What the item counts against the memory limit (as memcached sizes it).
    fn cost(key: &[u8], value_len: usize, flags: u32) -> usize {
        let suffix = if flags == 0 { 0 } else { 4 };
        ITEM_OVERHEAD + key.len() + value_len + suffix
    }
}

/// How a store command writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Always (`set`; `cas` when a CAS id is given).
    Set,
    /// Only if absent (`add`).
    Add,
    /// Only if present (`replace`).
    Replace,
    /// After the present value (`append`).
    Append,
    /// Before the present value (`prepend`).
    Prepend,
    /// Only over a present item whose CAS id matches (`cas`; 0 matches nothing).
    Cas,
}

/// A store command's outcome, as memcached words it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stored {
    /// `STORED`, with the new CAS id.
    Stored(u64),
    /// `EXISTS`: the CAS id did not match.
    Exists,
    /// `NOT_FOUND`: `cas` on a missing key.
    NotFound,
    /// `NOT_STORED`: the mode's condition failed.
    NotStored,
    /// The item could not be made to fit the memory limit.
    NoMemory,
}

/// Why `incr`/`decr` did not change a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeltaError {
    /// No such key.
    NotFound,
    /// The value is not a decimal number.
    NonNumeric,
    /// The CAS id did not match.
    CasMismatch,
}

/// Counters for `stats`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StoreStats {
    /// Items stored since start.
    pub total_items: u64,
    /// Items evicted for memory.
    pub evictions: u64,
    /// Reads that found their key.
    pub get_hits: u64,
    /// Reads that did not.
    pub get_misses: u64,
    /// Items removed because they expired.
    pub expired: u64,
}

/// memcached's item store.
///
/// ```
/// use framekit_examples::memcached::Store;
/// let mut store = Store::new(1 << 20, 1 << 20);
/// let now = 100;
/// store.set(b"k", b"v", 0, 0, now);
/// assert_eq!(store.get(b"k", now).unwrap().value, b"v");
/// ```
#[derive(Debug)]
pub struct Store {
    table: Table,
    used: usize,
    limit: usize,
    item_max: usize,
    next_cas: u64,
    oldest_live: u32,
    oldest_cas: u64,
    /// Counters for `stats`.
    pub stats: StoreStats,
}

impl Store {
    /// A store of at most `limit` bytes of items, each at most `item_max` bytes.
    pub fn new(limit: usize, item_max: usize) -> Self {
        Store {
            table: Table::new(),
            used: 0,
            limit,
            item_max,
            next_cas: 0,
            oldest_live: 0,
            oldest_cas: 0,
            stats: StoreStats::default(),
        }
    }

    /// Items stored.
    pub fn len(&self) -> usize {
        self.table.len()
    }

    /// Whether no item is stored.
    pub fn is_empty(&self) -> bool {
        self.table.len() == 0
    }

    /// Bytes the items count against the limit.
    pub fn bytes(&self) -> usize {
        self.used
    }

    /// The memory limit.
    pub fn limit(&self) -> usize {
        self.limit
    }

    fn cas_id(&mut self) -> u64 {
        self.next_cas = self.next_cas.wrapping_add(1);
        self.next_cas
    }

    /// The slot of the live item under `key` (hash `hash`), removing a dead one (counted as
    /// expired); no LRU move.
    fn live(&mut self, hash: u64, key: &[u8], now: u32) -> Option<usize> {
        let at = self.table.find(hash, key)?;
        if dead(
            &self.table.slot(at).item,
            now,
            self.oldest_live,
            self.oldest_cas,
        ) {
            self.stats.expired += 1;
            self.unstore(at);
            return None;
        }
        Some(at)
    }

    /// The live item under `key`, removing it if it is dead; no LRU move.
    pub fn peek(&mut self, key: &[u8], now: u32) -> Option<&mut Item> {
        let at = self.live(self.table.hash(key), key, now)?;
        Some(&mut self.table.slot_mut(at).item)
    }

    /// The live item under `key`, marked fetched and used (counted as a hit or a miss). One
    /// hash of the key and one lookup; no allocation.
    pub fn get(&mut self, key: &[u8], now: u32) -> Option<&mut Item> {
        let Some(at) = self.live(self.table.hash(key), key, now) else {
            self.stats.get_misses += 1;
            return None;
        };
        self.stats.get_hits += 1;
        self.bump(at, now);
        let item = &mut self.table.slot_mut(at).item;
        item.fetched = true;
        Some(item)
    }

    /// Marks slot `at` used at `now`: memcached's rule, it moves to the back of the LRU order
    /// and takes `now` as its access time at most once per [`ITEM_UPDATE_INTERVAL`]; a use in
    /// between only marks it active (a second chance at the front).
    fn bump(&mut self, at: usize, now: u32) {
        let slot = self.table.slot_mut(at);
        if slot.item.time.saturating_add(ITEM_UPDATE_INTERVAL) <= now {
            slot.item.time = now;
            self.table.move_back(at);
        } else {
            slot.active = true;
        }
    }

    /// Takes slot `at` out, its bytes off the count.
    fn unstore(&mut self, at: usize) {
        let slot = self.table.remove(at);
        let cost = Item::cost(&slot.key, slot.item.value.len(), slot.item.flags);
        self.used = self.used.saturating_sub(cost);
    }

    /// Removes `key`; whether it was there (dead or alive).
    pub fn remove(&mut self, key: &[u8]) -> bool {
        let Some(at) = self.table.find(self.table.hash(key), key) else {
            return false;
        };
        self.unstore(at);
        true
    }

    /// Removes the live item under `key`: whether there was one.
    pub fn delete(&mut self, key: &[u8], now: u32) -> bool {
        match self.live(self.table.hash(key), key, now) {
            Some(at) => {
                self.unstore(at);
                true
            }
            None => false,
        }
    }

    /// Evicts from the front of the LRU order until `cost` more bytes fit; false if they
    /// cannot. An active item at the front is moved to the back instead, at most
    /// [`SECOND_CHANCES`] times per eviction.
    fn make_room(&mut self, cost: usize) -> bool {
        if cost > self.limit || cost > self.item_max {
            return false;
        }
        let mut chances = 0;
        while self.used.saturating_add(cost) > self.limit {
            let Some(at) = self.table.front() else {
                return false;
            };
            if self.table.slot(at).active && chances < SECOND_CHANCES {
                chances += 1;
                self.table.move_back(at);
                continue;
            }
            chances = 0;
            self.unstore(at);
            self.stats.evictions += 1;
        }
        true
    }

    /// Links a new item under `key` (replacing any), with a new CAS id.
    fn link(&mut self, key: &[u8], value: &[u8], flags: u32, exptime: u32, now: u32) -> Stored {
        let hash = self.table.hash(key);
        // An item already under `key` leaves the LRU order and the count first, so making room
        // cannot evict it; its key and value buffers are then reused (no allocation when the
        // new value fits the old one's capacity).
        let present = self.table.find(hash, key);
        if let Some(at) = present {
            self.table.unlink(at);
            let item = &self.table.slot(at).item;
            let old = Item::cost(key, item.value.len(), item.flags);
            self.used = self.used.saturating_sub(old);
        }
        let cost = Item::cost(key, value.len(), flags);
        if !self.make_room(cost) {
            if let Some(at) = present {
                // Off the count already: only the slot goes.
                self.table.remove(at);
            }
            return Stored::NoMemory;
        }
        let cas = self.cas_id();
        self.used = self.used.saturating_add(cost);
        match present {
            Some(at) => {
                self.table.link_back(at);
                let item = &mut self.table.slot_mut(at).item;
                item.value.clear();
                item.value.extend_from_slice(value);
                item.flags = flags;
                item.exptime = exptime;
                item.cas = cas;
                item.time = now;
                item.fetched = false;
            }
            None => {
                let item = Item {
                    value: value.to_vec(),
                    flags,
                    exptime,
                    cas,
                    time: now,
                    fetched: false,
                };
                self.table.insert(hash, key, item);
            }
        }
        self.stats.total_items += 1;
        Stored::Stored(cas)
    }

    /// `set` without conditions.
    pub fn set(&mut self, key: &[u8], value: &[u8], flags: u32, exptime: u32, now: u32) -> Stored {
        self.store(Mode::Set, key, value, flags, exptime, 0, now)
    }

    /// A store command (memcached's `do_store_item`): `mode` decides when it writes; `cas` is
    /// the id [`Mode::Cas`] must match, and one append or prepend must match when not 0. Append and prepend keep the present
    /// item's flags and expiry.
    #[allow(clippy::too_many_arguments)]
    pub fn store(
        &mut self,
        mode: Mode,
        key: &[u8],
        value: &[u8],
        flags: u32,
        exptime: u32,
        cas: u64,
        now: u32,
    ) -> Stored {
        if mode == Mode::Set {
            // Set writes whatever is there, live, dead or missing: no lookup before it.
            return self.link(key, value, flags, exptime, now);
        }
        let present = self.peek(key, now).map(|i| (i.cas, i.flags, i.exptime));
        match (mode, present) {
            (Mode::Add, Some(_)) => {
                // memcached moves the present item up the LRU on a failed add.
                if let Some(at) = self.table.find(self.table.hash(key), key) {
                    self.bump(at, now);
                }
                Stored::NotStored
            }
            (Mode::Cas, None) => Stored::NotFound,
            (Mode::Cas, Some((old, _, _))) if cas != old => Stored::Exists,
            (Mode::Replace | Mode::Append | Mode::Prepend, None) => Stored::NotStored,
            (Mode::Append | Mode::Prepend, Some((old, _, _))) if cas != 0 && cas != old => {
                Stored::Exists
            }
            (Mode::Append | Mode::Prepend, Some((_, flags, exptime))) => {
                let Some(old) = self.peek(key, now) else {
                    return Stored::NotStored;
                };
                let mut joined = Vec::with_capacity(old.value.len() + value.len());
                if mode == Mode::Append {
                    joined.extend_from_slice(&old.value);
                    joined.extend_from_slice(value);
                } else {
                    joined.extend_from_slice(value);
                    joined.extend_from_slice(&old.value);
                }
                if Item::cost(key, joined.len(), flags) > self.item_max {
                    return Stored::NotStored;
                }
                self.link(key, &joined, flags, exptime, now)
            }
            _ => self.link(key, value, flags, exptime, now),
        }
    }

    /// Sets the expiry of the live item under `key`: whether there was one.
    pub fn touch(&mut self, key: &[u8], exptime: u32, now: u32) -> bool {
        match self.get(key, now) {
            Some(item) => {
                item.exptime = exptime;
                true
            }
            None => false,
        }
    }

    /// `incr`/`decr` by `delta` (memcached's `do_add_delta`): decrements stop at 0, increments
    /// wrap at 2^64; a result no longer than the old value is written in place, padded with
    /// spaces, as memcached does. Returns the new number and CAS id.
    pub fn add_delta(
        &mut self,
        key: &[u8],
        incr: bool,
        delta: u64,
        cas: u64,
        now: u32,
    ) -> Result<(u64, u64), DeltaError> {
        let Some(item) = self.peek(key, now) else {
            return Err(DeltaError::NotFound);
        };
        if item.value.is_empty() {
            return Err(DeltaError::NonNumeric);
        }
        if cas != 0 && item.cas != cas {
            return Err(DeltaError::CasMismatch);
        }
        let Some(value) = strtoull(&item.value) else {
            return Err(DeltaError::NonNumeric);
        };
        let value = if incr {
            value.wrapping_add(delta)
        } else {
            value.saturating_sub(delta)
        };
        let mut digits = itoa::Buffer::new();
        let digits = digits.format(value).as_bytes();
        let (flags, exptime) = (item.flags, item.exptime);
        if digits.len() <= item.value.len() {
            let old_len = item.value.len();
            item.value.clear();
            item.value.extend_from_slice(digits);
            item.value.resize(old_len, b' ');
            let cas = self.cas_id();
            if let Some(at) = self.table.find(self.table.hash(key), key) {
                self.table.slot_mut(at).item.cas = cas;
                self.bump(at, now);
            }
            return Ok((value, cas));
        }
        match self.link(key, digits, flags, exptime, now) {
            Stored::Stored(cas) => Ok((value, cas)),
            _ => Err(DeltaError::NotFound),
        }
    }

    /// `flush_all [delay]` (memcached's rule): items last stored or used up to a second
    /// before the flush time are gone once it is reached; without a delay, also every item
    /// whose CAS id is older than the flush.
    pub fn flush(&mut self, exptime: u32, now: u32) {
        let new_oldest = if exptime > 0 { exptime } else { now };
        self.oldest_live = new_oldest.saturating_sub(1);
        if self.oldest_live <= now {
            self.oldest_cas = self.cas_id();
        }
    }
}

mod table;
#[cfg(test)]
mod tests;
