//! The ordered queue of exchanges: one entry per request started and not yet finished, in the
//! order their answers must leave (server) or arrive (pipelined client).
//!
//! Ids are consecutive, so an entry is found by subtraction from the oldest one's id, and the
//! entry with the earliest live deadline is the first one that still has a deadline (every
//! exchange gets the same timeout when it starts).

use std::collections::VecDeque;
use std::time::Instant;

/// Names one exchange of one connection: consecutive from 0 in the order exchanges started.
///
/// ```
/// use framekit::connection::ExchangeId;
/// assert!(ExchangeId::new(1) > ExchangeId::new(0));
/// assert_eq!(ExchangeId::new(7).index(), 7);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ExchangeId(u64);

impl ExchangeId {
    /// The id of the exchange started `index`-th on its connection (from 0).
    pub fn new(index: u64) -> Self {
        ExchangeId(index)
    }

    /// Which exchange of its connection this is, from 0.
    pub fn index(self) -> u64 {
        self.0
    }
}

#[derive(Debug)]
pub(crate) struct Entry<T> {
    pub(crate) id: ExchangeId,
    /// When it runs out of time; `None` once expired or without a timeout.
    pub(crate) deadline: Option<Instant>,
    pub(crate) data: T,
}

#[derive(Debug)]
pub(crate) struct Exchanges<T> {
    queue: VecDeque<Entry<T>>,
    next: u64,
}

impl<T> Default for Exchanges<T> {
    fn default() -> Self {
        Exchanges {
            queue: VecDeque::new(),
            next: 0,
        }
    }
}

impl<T> Exchanges<T> {
    pub(crate) fn push(&mut self, data: T, deadline: Option<Instant>) -> ExchangeId {
        let id = self.reserve();
        self.queue.push_back(Entry { id, deadline, data });
        id
    }

    /// Takes the next id without an entry: an exchange that may finish before anything else
    /// happens, and is queued ([`push_reserved`](Self::push_reserved)) only if it does not.
    pub(crate) fn reserve(&mut self) -> ExchangeId {
        let id = ExchangeId(self.next);
        self.next = self.next.saturating_add(1);
        id
    }

    /// Queues the exchange `id` was reserved for; nothing was queued since (so ids stay
    /// consecutive).
    pub(crate) fn push_reserved(&mut self, data: T, deadline: Option<Instant>) {
        let id = self.last_reserved();
        self.queue.push_back(Entry { id, deadline, data });
    }

    /// The id [`reserve`](Self::reserve) gave last (nothing was queued since).
    pub(crate) fn last_reserved(&self) -> ExchangeId {
        ExchangeId(self.next.saturating_sub(1))
    }

    fn position(&self, id: ExchangeId) -> Option<usize> {
        let first = self.queue.front()?.id.0;
        let at = usize::try_from(id.0.checked_sub(first)?).ok()?;
        (at < self.queue.len()).then_some(at)
    }

    pub(crate) fn get_mut(&mut self, id: ExchangeId) -> Option<&mut Entry<T>> {
        let at = self.position(id)?;
        self.queue.get_mut(at)
    }

    pub(crate) fn is_head(&self, id: ExchangeId) -> bool {
        self.queue.front().is_some_and(|e| e.id == id)
    }

    pub(crate) fn front(&self) -> Option<&Entry<T>> {
        self.queue.front()
    }

    pub(crate) fn front_mut(&mut self) -> Option<&mut Entry<T>> {
        self.queue.front_mut()
    }

    pub(crate) fn pop_front(&mut self) -> Option<Entry<T>> {
        self.queue.pop_front()
    }

    /// Removes the first entry for which `found` holds.
    pub(crate) fn remove_where(&mut self, found: impl Fn(&Entry<T>) -> bool) -> Option<Entry<T>> {
        let at = self.queue.iter().position(found)?;
        self.queue.remove(at)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    /// Lets go of the queue's memory while it is empty (it keeps the capacity of its busiest
    /// moment otherwise).
    pub(crate) fn release(&mut self) {
        if self.queue.is_empty() && self.queue.capacity() > 0 {
            self.queue = VecDeque::new();
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.queue.len()
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &Entry<T>> {
        self.queue.iter()
    }

    pub(crate) fn iter_mut(&mut self) -> impl Iterator<Item = &mut Entry<T>> {
        self.queue.iter_mut()
    }

    /// Removes every entry, oldest first.
    pub(crate) fn drain(&mut self) -> impl Iterator<Item = Entry<T>> + '_ {
        self.queue.drain(..)
    }

    /// The earliest deadline still armed.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.queue.iter().find_map(|e| e.deadline)
    }

    /// Takes the deadline of every entry whose deadline is at or before `now`, calling `expire`
    /// with each, oldest first.
    pub(crate) fn expire(&mut self, now: Instant, mut expire: impl FnMut(&mut Entry<T>)) {
        for entry in self.queue.iter_mut() {
            match entry.deadline {
                Some(at) if at <= now => {
                    entry.deadline = None;
                    expire(entry);
                }
                Some(_) => break,
                None => {}
            }
        }
    }
}
