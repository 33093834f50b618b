//! [`Responder`]: how one exchange of a server connection is answered, in request order:
//! straight into the owed bytes when every earlier exchange is finished, held behind them
//! otherwise; and how a finished head lets the answers behind it go.

use std::time::Instant;

use tokio_util::codec::Encoder;

use super::answers::{Server, Stage};
use super::exchanges::ExchangeId;
use super::machine::Core;
use super::state::{CloseReason, State};

/// Writes one exchange's answer, in order: straight into the owed bytes when every earlier
/// exchange is finished, held behind them otherwise. Consume it with [`finish`](Self::finish),
/// [`close`](Self::close), [`later`](Self::later) or [`stream`](Self::stream); dropped, the
/// exchange stays as it was (a new one waits for a later answer).
#[must_use = "an exchange is answered by finish, close, later or stream"]
pub struct Responder<'c, C> {
    pub(super) core: &'c mut Core<C, Server>,
    pub(super) id: ExchangeId,
}

impl<C> std::fmt::Debug for Responder<'_, C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Responder").field("id", &self.id).finish()
    }
}

impl<'c, C> Responder<'c, C> {
    /// The exchange this answers.
    pub fn id(&self) -> ExchangeId {
        self.id
    }

    /// The machine's clock (the latest instant its driver gave).
    pub fn now(&self) -> Instant {
        self.core.now
    }

    /// Whether the owed bytes are below the high water mark: a long answer writes parts while
    /// this holds, then [`stream`](Self::stream)s the rest.
    pub fn has_room(&self) -> bool {
        if self.is_head() {
            self.core.output.head_room(&self.core.settings)
        } else {
            self.core.output.has_room()
        }
    }

    /// Encodes `item` as (part of) the answer. A refused item leaves the owed bytes as they
    /// were.
    pub fn send<T>(&mut self, item: T) -> Result<(), <C as Encoder<T>>::Error>
    where
        C: Encoder<T>,
    {
        let head = self.is_head();
        let core = &mut *self.core;
        let was_empty = core.output.is_empty();
        let (dst, held) = if head {
            (core.output.queue(), false)
        } else {
            match core.role.exchanges.get_mut(self.id) {
                Some(entry) => (&mut entry.data.held, true),
                None => return Ok(()),
            }
        };
        let before = dst.len();
        if let Err(error) = core.codec.encode(item, dst) {
            dst.truncate(before);
            return Err(error);
        }
        let added = dst.len() - before;
        if held {
            core.role.held = core.role.held.saturating_add(added);
        }
        core.owed_more(was_empty && head);
        Ok(())
    }

    /// Writes raw bytes as (part of) the answer, bypassing the codec.
    pub fn send_raw(&mut self, bytes: &[u8]) {
        let head = self.is_head();
        let core = &mut *self.core;
        let was_empty = core.output.is_empty();
        if head {
            core.output.queue().extend_from_slice(bytes);
        } else if let Some(entry) = core.role.exchanges.get_mut(self.id) {
            entry.data.held.extend_from_slice(bytes);
            core.role.held = core.role.held.saturating_add(bytes.len());
        }
        core.owed_more(was_empty && head);
    }

    /// The answer is complete.
    pub fn finish(self) {
        self.complete(false);
    }

    /// The answer is complete and the connection closes after it: nothing read after this
    /// request is handled.
    pub fn close(self) {
        self.complete(true);
    }

    /// The answer comes later, through [`Connection::responder`](super::Connection::responder) with this id.
    pub fn later(self) -> ExchangeId {
        self.mark(Stage::Waiting)
    }

    /// The answer continues in parts: the machine offers [`Event::Room`](super::Event::Room) for this exchange
    /// each time it is at the head, the bytes queued to write are below the high water mark,
    /// and something changed since the last offer.
    pub fn stream(self) -> ExchangeId {
        self.mark(Stage::Streaming)
    }

    fn mark(self, stage: Stage) -> ExchangeId {
        let Responder { core, id } = self;
        core.role.queue_unqueued(stage, &core.settings);
        if let Some(entry) = core.role.exchanges.get_mut(id) {
            entry.data.stage = stage;
        }
        core.settle();
        id
    }

    /// Whether this answer is the next to leave.
    fn is_head(&self) -> bool {
        self.core.role.is_unqueued(self.id) || self.core.role.exchanges.is_head(self.id)
    }

    fn complete(self, close: bool) {
        let Responder { core, id } = self;
        if core.role.is_unqueued(id) {
            // Finished at once: it was never queued, and nothing is behind it.
            core.role.unqueued = None;
        } else if let Some(entry) = core.role.exchanges.get_mut(id) {
            entry.data.stage = Stage::Finished { close };
            entry.deadline = None;
        }
        if close && matches!(core.state, State::Open) {
            // Nothing read after this request is handled; earlier exchanges still finish.
            core.state = State::Closing(CloseReason::Local);
        }
        advance(core);
    }
}

/// Pops the finished exchanges at the head, moving each new head's held answer into the owed
/// bytes; a finished `close` drops every exchange after it (nothing read after it is handled).
fn advance<C>(core: &mut Core<C, Server>) {
    let was_empty = core.output.is_empty();
    let mut popped = false;
    while let Some(head) = core.role.exchanges.front() {
        let Stage::Finished { close } = head.data.stage else {
            break;
        };
        core.role.exchanges.pop_front();
        popped = true;
        if close {
            // A failure decoded after this exchange (it is behind it in the queue) closed the
            // connection first, but this close comes first in request order: it is the reason.
            if !core.role.exchanges.is_empty()
                && matches!(
                    core.state,
                    State::Closing(CloseReason::Decode(_) | CloseReason::InputBudget)
                )
            {
                core.state = State::Closing(CloseReason::Local);
            }
            for entry in core.role.exchanges.drain() {
                core.role.held = core.role.held.saturating_sub(entry.data.held.len());
            }
            core.role.untold = 0;
            break;
        }
        if let Some(next) = core.role.exchanges.front_mut() {
            if !next.data.held.is_empty() {
                let held = std::mem::take(&mut next.data.held);
                core.role.held = core.role.held.saturating_sub(held.len());
                core.output.queue().extend_from_slice(&held);
            }
        }
    }
    // Nothing popped (an exchange answered at once and never queued, or one finished behind
    // an unfinished head): the owed bytes and the marks are as its sends left them.
    if popped {
        core.owed_more(was_empty);
    }
    core.settle();
}
