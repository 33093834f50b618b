//! What travels between a caller and its connection's driver: a [`Call`] (the request and the
//! channel its outcome comes back on), and the outcome, which hands a request the connection
//! never took back to the caller ([`Outcome::NotTaken`]) so the pool can send it elsewhere.
//! `Waiting` keeps the calls the machine has in flight, by exchange id.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use framekit::connection::ExchangeId;
use tokio::sync::oneshot;

use crate::error::Error;

/// What the driver is asked to do.
pub(crate) enum Message<Req, Ans> {
    /// Send a request and answer its caller.
    Call(Call<Req, Ans>),
    /// Take no more requests; let those in flight finish, then close (graceful close).
    Close,
}

/// One request and where its outcome goes.
pub(crate) struct Call<Req, Ans> {
    pub(crate) request: Req,
    pub(crate) reply: oneshot::Sender<Outcome<Req, Ans>>,
    /// The request's own deadline and the timeout it came from; the settings' otherwise.
    pub(crate) deadline: Option<(Instant, Duration)>,
}

/// How a call ended.
pub(crate) enum Outcome<Req, Ans> {
    /// The answer.
    Answer(Ans),
    /// A failure, typed.
    Failed(Error),
    /// The connection closed before it took the request: nothing was sent.
    NotTaken(Req),
}

/// Why a request is not in a connection's queue.
pub(crate) enum NotQueued<Req> {
    /// The connection closed before it took the request: nothing was sent.
    NotTaken(Req),
    /// A failure, typed (no room before the deadline, a failed connect, a closed client).
    Failed(Error),
}

/// A call the machine has in flight.
pub(crate) struct Pending<Req, Ans> {
    pub(crate) reply: oneshot::Sender<Outcome<Req, Ans>>,
    pub(crate) started: Instant,
    /// The timeout an expiry reports.
    pub(crate) timeout: Duration,
}

/// The calls in flight by exchange id. The machine numbers exchanges consecutively, so a slot
/// is found by subtraction (answers out of order, multiplexed, leave holes that are trimmed
/// from the front).
pub(crate) struct Waiting<Req, Ans> {
    first: u64,
    slots: VecDeque<Option<Pending<Req, Ans>>>,
}

impl<Req, Ans> Waiting<Req, Ans> {
    pub(crate) fn new() -> Self {
        Waiting {
            first: 0,
            slots: VecDeque::new(),
        }
    }

    /// Keeps the call of exchange `id`, the newest one.
    pub(crate) fn insert(&mut self, id: ExchangeId, pending: Pending<Req, Ans>) {
        if self.slots.is_empty() {
            self.first = id.index();
        }
        let at = id.index().saturating_sub(self.first);
        let at = usize::try_from(at).unwrap_or(usize::MAX);
        while self.slots.len() < at {
            self.slots.push_back(None);
        }
        if at == self.slots.len() {
            self.slots.push_back(Some(pending));
        }
    }

    /// The call of exchange `id`, if it is still waiting.
    pub(crate) fn remove(&mut self, id: ExchangeId) -> Option<Pending<Req, Ans>> {
        let at = usize::try_from(id.index().checked_sub(self.first)?).ok()?;
        let found = self.slots.get_mut(at)?.take();
        while matches!(self.slots.front(), Some(None)) {
            self.slots.pop_front();
            self.first = self.first.saturating_add(1);
        }
        found
    }

    /// Every call still waiting (the connection is gone).
    pub(crate) fn drain(&mut self) -> impl Iterator<Item = Pending<Req, Ans>> + '_ {
        self.slots.drain(..).flatten()
    }
}

#[cfg(test)]
mod tests;
