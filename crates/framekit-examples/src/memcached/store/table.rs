//! The store's item table: items in numbered slots, found by key through a hash index, and
//! ordered from least to most recently used by a list linked through the slots, so that a move
//! to the back and an eviction from the front are O(1) and a key is allocated once.
//!
//! The hash is SipHash-1-3 under a per-process random key (std's `RandomState`): keys are the
//! clients' choice, and a keyed hash keeps them from choosing keys that collide.

use std::hash::{BuildHasher, RandomState};

use hashbrown::HashTable;

use super::Item;

/// No slot: the end of the LRU list.
const NIL: usize = usize::MAX;

/// One stored item with its key and its place in the LRU list.
#[derive(Debug)]
pub(super) struct Slot {
    /// The key, allocated once when the item is first stored.
    pub key: Box<[u8]>,
    /// The item.
    pub item: Item,
    /// Whether the item was read since it last moved in the LRU list: it gets a second chance
    /// at the front instead of being evicted (memcached's ITEM_ACTIVE).
    pub active: bool,
    /// The key's hash, kept so that growing the index does not hash keys again.
    hash: u64,
    prev: usize,
    next: usize,
}

/// Slots, their index by key and their LRU list.
#[derive(Debug)]
pub(super) struct Table {
    slots: Vec<Option<Slot>>,
    /// Empty slots, reused before the vector grows.
    vacant: Vec<usize>,
    index: HashTable<usize>,
    hasher: RandomState,
    /// The least recently used slot (evicted first), or NIL.
    front: usize,
    /// The most recently used slot, or NIL.
    back: usize,
}

impl Table {
    pub fn new() -> Self {
        Table {
            slots: Vec::new(),
            vacant: Vec::new(),
            index: HashTable::new(),
            hasher: RandomState::new(),
            front: NIL,
            back: NIL,
        }
    }

    /// Items stored.
    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// The hash of `key`, computed once per request and passed to the calls below.
    pub fn hash(&self, key: &[u8]) -> u64 {
        self.hasher.hash_one(key)
    }

    /// The slot holding `key`, whose hash is `hash`.
    pub fn find(&self, hash: u64, key: &[u8]) -> Option<usize> {
        let slots = &self.slots;
        self.index
            .find(hash, |&i| slots[i].as_ref().is_some_and(|s| *s.key == *key))
            .copied()
    }

    /// The slot `at`, which [`Table::find`], [`Table::insert`] or [`Table::front`] gave and no
    /// [`Table::remove`] has emptied since.
    pub fn slot(&self, at: usize) -> &Slot {
        match self.slots.get(at) {
            Some(Some(slot)) => slot,
            _ => unreachable!("slot {at} is not occupied"),
        }
    }

    /// [`Table::slot`], to change.
    pub fn slot_mut(&mut self, at: usize) -> &mut Slot {
        match self.slots.get_mut(at) {
            Some(Some(slot)) => slot,
            _ => unreachable!("slot {at} is not occupied"),
        }
    }

    /// The least recently used item's slot.
    pub fn front(&self) -> Option<usize> {
        (self.front != NIL).then_some(self.front)
    }

    /// Stores `item` under `key` (absent, with hash `hash`) at the back of the LRU list.
    pub fn insert(&mut self, hash: u64, key: &[u8], item: Item) -> usize {
        let slot = Slot {
            key: key.into(),
            item,
            active: false,
            hash,
            prev: NIL,
            next: NIL,
        };
        let at = match self.vacant.pop() {
            Some(at) => {
                self.slots[at] = Some(slot);
                at
            }
            None => {
                self.slots.push(Some(slot));
                self.slots.len() - 1
            }
        };
        let slots = &self.slots;
        self.index
            .insert_unique(hash, at, |&i| slots[i].as_ref().map_or(0, |s| s.hash));
        self.link_back(at);
        at
    }

    /// Takes the item in slot `at` out of the table (and out of the LRU list, if in it).
    pub fn remove(&mut self, at: usize) -> Slot {
        self.unlink(at);
        let hash = self.slot(at).hash;
        if let Ok(entry) = self.index.find_entry(hash, |&i| i == at) {
            entry.remove();
        }
        self.vacant.push(at);
        match self.slots.get_mut(at).and_then(Option::take) {
            Some(slot) => slot,
            None => unreachable!("slot {at} is not occupied"),
        }
    }

    /// Moves slot `at` to the back of the LRU list (most recently used) and clears its second
    /// chance.
    pub fn move_back(&mut self, at: usize) {
        self.unlink(at);
        self.link_back(at);
    }

    /// Takes slot `at` out of the LRU list only: it stays findable, and cannot be evicted
    /// until [`Table::link_back`] puts it back.
    pub fn unlink(&mut self, at: usize) {
        let (prev, next) = {
            let slot = self.slot_mut(at);
            let links = (slot.prev, slot.next);
            slot.prev = NIL;
            slot.next = NIL;
            links
        };
        if prev == NIL {
            if self.front == at {
                self.front = next;
            }
        } else {
            self.slot_mut(prev).next = next;
        }
        if next == NIL {
            if self.back == at {
                self.back = prev;
            }
        } else {
            self.slot_mut(next).prev = prev;
        }
    }

    /// Puts slot `at`, out of the LRU list, at its back.
    pub fn link_back(&mut self, at: usize) {
        let back = self.back;
        {
            let slot = self.slot_mut(at);
            slot.prev = back;
            slot.next = NIL;
            slot.active = false;
        }
        if back == NIL {
            self.front = at;
        } else {
            self.slot_mut(back).next = at;
        }
        self.back = at;
    }

    /// The keys from least to most recently used (for tests).
    #[cfg(test)]
    pub fn order(&self) -> Vec<&[u8]> {
        let mut keys = Vec::new();
        let mut at = self.front;
        while at != NIL {
            let slot = self.slot(at);
            keys.push(&*slot.key);
            at = slot.next;
        }
        keys
    }
}
