//! The server role's state: its queue of exchanges being answered ([`Server`]), where each
//! answer is ([`Stage`]), and the exchange that starts without a queue entry.

use std::time::Instant;

use bytes::BytesMut;

use super::exchanges::{ExchangeId, Exchanges};
use super::settings::Settings;

/// The server role of a [`Connection`](super::Connection): its queue of requests being answered.
#[derive(Debug)]
pub struct Server {
    pub(super) exchanges: Exchanges<Answer>,
    /// Exchanges whose deadline passed and the driver was not told of (at least; in
    /// [`Stage::Expiring`], found in request order): a count, not a queue, so a connection
    /// carries 4 bytes for what is rare.
    pub(super) untold: u32,
    /// Answer bytes held behind an unfinished earlier exchange.
    pub(super) held: usize,
    /// The owed bytes' change count when a streaming answer was last offered room.
    /// (`u64::MAX`: never; the count wraps, so that value may also be a real count once, which
    /// only costs one offer skipped until the next change.)
    pub(super) offered: u64,
    /// The exchange whose request is with the handler and has no queue entry: it started with
    /// nothing in flight (so it is the head) and is queued only if it is not finished at once
    /// (the common case needs no entry, no pop and no held buffer).
    /// Holds the instant its request was decoded, for its deadline should it be queued; its
    /// id is the last one the queue reserved.
    pub(super) unqueued: Option<Instant>,
    /// Whether any exchange was given a deadline.
    pub(super) timed: bool,
    /// The last decoding error was recoverable and took no byte.
    pub(super) stalled: bool,
}

#[derive(Debug)]
pub(super) struct Answer {
    /// What was written for this exchange while an earlier one was unfinished.
    pub(super) held: BytesMut,
    pub(super) stage: Stage,
}

/// Where an exchange's answer is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Stage {
    /// The handler answers later, through [`Connection::responder`].
    Waiting,
    /// The handler writes parts when offered [`Event::Room`].
    Streaming,
    /// The deadline passed; the driver is yet to be told.
    Expiring,
    /// The deadline passed and the driver was told.
    Expired,
    /// Complete; the connection closes after it with `close`.
    Finished { close: bool },
}

impl Default for Server {
    fn default() -> Self {
        Server {
            exchanges: Exchanges::default(),
            untold: 0,
            held: 0,
            offered: u64::MAX,
            unqueued: None,
            timed: false,
            stalled: false,
        }
    }
}

impl Server {
    pub(super) fn is_unqueued(&self, id: ExchangeId) -> bool {
        self.unqueued.is_some() && self.exchanges.last_reserved() == id
    }

    /// Gives the exchange that had no queue entry (see [`Server::unqueued`]), if any, its
    /// entry in `stage`, with its deadline counted from when its request was decoded. Called
    /// when its responder waits for a later answer or streams, and, for a responder dropped
    /// unconsumed (the exchange then waits for a later answer), by the next call that looks at
    /// the queue.
    #[inline]
    pub(super) fn queue_unqueued(&mut self, stage: Stage, settings: &Settings) {
        if self.unqueued.is_some() {
            self.queue_now(stage, settings);
        }
    }

    #[cold]
    fn queue_now(&mut self, stage: Stage, settings: &Settings) {
        if let Some(since) = self.unqueued.take() {
            self.queue_reserved(stage, settings.exchange_timeout().deadline(since));
        }
    }

    /// Queues the exchange whose id was reserved last, in `stage`, with `deadline` if it has
    /// one: the one way an exchange gets its entry.
    fn queue_reserved(&mut self, stage: Stage, deadline: Option<Instant>) {
        self.timed |= deadline.is_some();
        let answer = Answer {
            held: BytesMut::new(),
            stage,
        };
        self.exchanges.push_reserved(answer, deadline);
    }

    /// Starts an exchange that waits for its answer, with `deadline` if it has one.
    pub(super) fn open(&mut self, deadline: Option<Instant>) -> ExchangeId {
        let id = self.exchanges.reserve();
        self.queue_reserved(Stage::Waiting, deadline);
        id
    }
}
