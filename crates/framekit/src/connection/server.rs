//! The server role: requests in, answers out in request order.
//!
//! [`Connection::poll_event`] lends each decoded request with a [`Responder`] for its answer.
//! An answer is written at once, later (the exchange stays open and [`Connection::responder`]
//! finds it again), or in parts (the machine offers [`Event::Room`] each time the owed bytes
//! to write fall below the high water mark). Answers to later requests wait, held, behind an earlier one
//! that is not finished, so many exchanges can be in flight and the peer still sees them in order.

use std::sync::Arc;
use std::time::Instant;

use bytes::BytesMut;
use tokio_util::codec::Encoder;

use super::decode::{CodecError, Decode};
use super::exchanges::{ExchangeId, Exchanges};
use super::machine::{sealed, Connection, Core, Role};
use super::settings::Settings;
use super::state::{CloseReason, State};

/// The server role of a [`Connection`]: its queue of requests being answered.
#[derive(Debug)]
pub struct Server {
    exchanges: Exchanges<Answer>,
    /// Exchanges whose deadline passed and the driver was not told of (at least; in
    /// [`Stage::Expiring`], found in request order): a count, not a queue, so a connection
    /// carries 4 bytes for what is rare.
    untold: u32,
    /// Answer bytes held behind an unfinished earlier exchange.
    held: usize,
    /// The owed bytes' change count when a streaming answer was last offered room.
    /// (`u64::MAX`: never; the count wraps, so that value may also be a real count once, which
    /// only costs one offer skipped until the next change.)
    offered: u64,
    /// The exchange whose request is with the handler and has no queue entry: it started with
    /// nothing in flight (so it is the head) and is queued only if it is not finished at once
    /// (the common case needs no entry, no pop and no held buffer).
    /// Holds the instant its request was decoded, for its deadline should it be queued; its
    /// id is the last one the queue reserved.
    unqueued: Option<Instant>,
    /// Whether any exchange was given a deadline.
    timed: bool,
    /// The last decoding error was recoverable and took no byte.
    stalled: bool,
}

#[derive(Debug)]
struct Answer {
    /// What was written for this exchange while an earlier one was unfinished.
    held: BytesMut,
    stage: Stage,
}

/// Where an exchange's answer is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
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

/// Why a request could not be decoded, handed to the driver with a [`Responder`] so that its
/// failure hook can answer in order.
#[derive(Debug)]
pub enum Failure<E> {
    /// The codec failed. When [`recoverable`](CodecError::recoverable), the connection goes on;
    /// otherwise it closes once this answer and every earlier one are written.
    Decode(E),
    /// The codec reported a recoverable error twice in a row without taking a byte: asking
    /// again would loop, so the connection closes after the answer.
    Stalled(E),
    /// A request needed more than the input budget; the connection closes after the answer.
    InputBudget {
        /// The budget in force.
        budget: usize,
    },
}

/// What the server's machine asks of its driver next.
pub enum Event<'c, C: Decode> {
    /// A decoded request, lent where it lies, with the responder for its answer.
    Request {
        /// The request.
        view: C::View<'c>,
        /// Where its answer goes.
        responder: Responder<'c, C>,
    },
    /// Bytes that are not a request; the responder answers for them, in order.
    Failed {
        /// What went wrong.
        failure: Failure<C::Error>,
        /// Where the answer goes.
        responder: Responder<'c, C>,
    },
    /// An exchange ran out of time: drop its handler's work and answer it now (or just finish).
    Expired(Responder<'c, C>),
    /// A streaming answer at the head may write its next part.
    Room(Responder<'c, C>),
}

/// Writes one exchange's answer, in order: straight into the owed bytes when every earlier
/// exchange is finished, held behind them otherwise. Consume it with [`finish`](Self::finish),
/// [`close`](Self::close), [`later`](Self::later) or [`stream`](Self::stream); dropped, the
/// exchange stays as it was (a new one waits for a later answer).
#[must_use = "an exchange is answered by finish, close, later or stream"]
pub struct Responder<'c, C> {
    core: &'c mut Core<C, Server>,
    id: ExchangeId,
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

    /// The answer comes later, through [`Connection::responder`] with this id.
    pub fn later(self) -> ExchangeId {
        self.mark(Stage::Waiting)
    }

    /// The answer continues in parts: the machine offers [`Event::Room`] for this exchange
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
    while let Some(head) = core.role.exchanges.front() {
        let Stage::Finished { close } = head.data.stage else {
            break;
        };
        core.role.exchanges.pop_front();
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
    core.owed_more(was_empty);
    core.settle();
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
    fn is_unqueued(&self, id: ExchangeId) -> bool {
        self.unqueued.is_some() && self.exchanges.last_reserved() == id
    }

    /// Gives the exchange that had no queue entry (see [`Server::unqueued`]), if any, its
    /// entry in `stage`, with its deadline counted from when its request was decoded. Called
    /// when its responder waits for a later answer or streams, and, for a responder dropped
    /// unconsumed (the exchange then waits for a later answer), by the next call that looks at
    /// the queue.
    #[inline]
    fn queue_unqueued(&mut self, stage: Stage, settings: &Settings) {
        if self.unqueued.is_some() {
            self.queue_now(stage, settings);
        }
    }

    #[cold]
    fn queue_now(&mut self, stage: Stage, settings: &Settings) {
        let Some(since) = self.unqueued.take() else {
            return;
        };
        let deadline = settings.exchange_timeout().deadline(since);
        self.timed |= deadline.is_some();
        let answer = Answer {
            held: BytesMut::new(),
            stage,
        };
        self.exchanges.push_reserved(answer, deadline);
    }

    /// Starts an exchange that waits for its answer, with `deadline` if it has one.
    fn open(&mut self, deadline: Option<Instant>) -> ExchangeId {
        self.timed |= deadline.is_some();
        let answer = Answer {
            held: BytesMut::new(),
            stage: Stage::Waiting,
        };
        self.exchanges.push(answer, deadline)
    }
}

impl sealed::Sealed for Server {}

impl Role for Server {
    fn in_flight(&self) -> usize {
        self.exchanges.len() + usize::from(self.unqueued.is_some())
    }

    fn awaited(&self) -> usize {
        self.in_flight()
    }

    fn held(&self) -> usize {
        self.held
    }

    fn next_deadline(&self, settings: &Settings) -> Option<Instant> {
        // An exchange without an entry here is one whose responder was dropped unconsumed
        // (nothing can ask while a responder is out): it started before every queued one.
        if let Some(since) = self.unqueued {
            return settings.exchange_timeout().deadline(since);
        }
        // Without an exchange timeout no exchange has a deadline: no need to look.
        if !self.timed {
            return None;
        }
        self.exchanges.next_deadline()
    }

    /// Nothing read after a close is handled.
    fn reads_while_closing(&self) -> bool {
        false
    }

    fn finishes_under_way(&self) -> bool {
        true
    }

    fn release(&mut self) {
        self.exchanges.release();
    }

    /// What is owed is written first unless the transport is gone.
    fn ends_at_once(&self, reason: CloseReason) -> bool {
        !reason.orderly()
    }

    fn expire(&mut self, now: Instant, _written: u64, settings: &Settings) {
        self.queue_unqueued(Stage::Waiting, settings);
        let untold = &mut self.untold;
        self.exchanges.expire(now, |entry| {
            if matches!(entry.data.stage, Stage::Waiting | Stage::Streaming) {
                entry.data.stage = Stage::Expiring;
                *untold = untold.saturating_add(1);
            }
        });
    }

    fn abandon(&mut self, _written: u64, _reason: CloseReason) {
        self.exchanges.drain().for_each(drop);
        self.unqueued = None;
        self.untold = 0;
        self.held = 0;
    }
}

impl<C: Decode> Connection<C, Server> {
    /// A server connection with these settings (or a server's shared `Arc` of them), its clock
    /// starting at `now`.
    ///
    /// ```
    /// use std::time::Instant;
    /// use framekit::{FrameCodec, framing::delimited::Delimited};
    /// use framekit::connection::{Connection, Event, Settings};
    ///
    /// let now = Instant::now();
    /// let mut conn = Connection::server(FrameCodec::new(Delimited::newline()), Settings::default(), now);
    /// conn.read_buf().unwrap().extend_from_slice(b"ping\n");
    /// conn.handle_read(5, now);
    /// match conn.poll_event(now) {
    ///     Some(Event::Request { view, mut responder }) => {
    ///         assert_eq!(view, b"ping");
    ///         responder.send(&b"pong"[..]).unwrap();
    ///         responder.finish();
    ///     }
    ///     _ => unreachable!(),
    /// }
    /// assert_eq!(conn.poll_transmit(), Some(&b"pong\n"[..]));
    /// conn.handle_written(5, now);
    /// assert!(conn.poll_event(now).is_none()); // nothing more: the driver waits
    /// ```
    pub fn server(codec: C, settings: impl Into<Arc<Settings>>, now: Instant) -> Self {
        Connection::with_role(codec, settings.into(), Server::default(), now)
    }

    /// What the driver must do next for the role, or `None`: then it waits for bytes, room to
    /// write, a later answer, or a deadline. Call it until it answers `None` after every other
    /// call into the machine.
    pub fn poll_event(&mut self, now: Instant) -> Option<Event<'_, C>> {
        self.core.tick(now);
        self.input.settle(&mut self.buf);
        let core = &mut self.core;
        // A responder dropped unconsumed left its exchange waiting: queued before the next.
        core.role.queue_unqueued(Stage::Waiting, &core.settings);
        if core.role.untold > 0 {
            let untold = core
                .role
                .exchanges
                .iter_mut()
                .find(|e| e.data.stage == Stage::Expiring);
            if let Some(entry) = untold {
                entry.data.stage = Stage::Expired;
                let id = entry.id;
                core.role.untold -= 1;
                return Some(Event::Expired(Responder { core, id }));
            }
            // The rest were answered or dropped since.
            core.role.untold = 0;
        }
        if let Some(head) = core.role.exchanges.front() {
            if head.data.stage == Stage::Streaming
                && core.output.head_room(&core.settings)
                && core.role.offered != core.changes
            {
                core.role.offered = core.changes;
                let id = head.id;
                return Some(Event::Room(Responder { core, id }));
            }
        }
        let takes = (matches!(core.state, State::Open) || core.under_way)
            && core.output.has_room()
            && core.role.exchanges.len() < core.settings.in_flight_limit()
            && !self.input.settled();
        if !takes {
            return None;
        }
        let eof = self.input.eof();
        let before = self.buf.len();
        match core.codec.decode(&mut self.buf, eof) {
            Ok(Some(found)) => {
                // The message under way at shutdown is the last one.
                core.under_way = false;
                core.role.stalled = false;
                // A codec that cannot lend consumes the message itself.
                let taken = before.saturating_sub(self.buf.len());
                let (view, len) = core.codec.view(&self.buf, found);
                self.input.lend(len);
                self.input.consumed(taken.saturating_add(len));
                self.input.took(core.now);
                core.partial_since = None;
                let id = if core.role.exchanges.is_empty() {
                    // The head, and most often answered at once: queued only if it is not.
                    let id = core.role.exchanges.reserve();
                    core.role.unqueued = Some(core.now);
                    id
                } else {
                    let deadline = core.settings.exchange_timeout().deadline(core.now);
                    core.role.open(deadline)
                };
                core.settle();
                Some(Event::Request {
                    view,
                    responder: Responder { core, id },
                })
            }
            Ok(None) => {
                self.input.mark_settled();
                core.partial_since = self.input.partial_since(&self.buf);
                let budget = core.settings.input_budget_bytes();
                if !eof && self.input.full(&self.buf, budget) {
                    self.input.discard(&mut self.buf);
                    let id = fail(core, CloseReason::InputBudget);
                    return Some(Event::Failed {
                        failure: Failure::InputBudget { budget },
                        responder: Responder { core, id },
                    });
                }
                if eof {
                    core.under_way = false;
                    core.end(CloseReason::PeerClosed);
                }
                core.settle();
                None
            }
            Err(error) => {
                core.under_way = false;
                // A recoverable error that took no byte, after one that took none either,
                // would be asked again for ever: the codec is stuck, and the connection ends.
                let progressed = self.buf.len() != before;
                let stalled = !progressed && core.role.stalled;
                if error.recoverable() && !stalled {
                    core.role.stalled = !progressed;
                    let id = core.role.open(None);
                    core.settle();
                    return Some(Event::Failed {
                        failure: Failure::Decode(error),
                        responder: Responder { core, id },
                    });
                }
                self.input.discard(&mut self.buf);
                let id = fail(core, CloseReason::Decode(error.kind_name()));
                let failure = if error.recoverable() {
                    Failure::Stalled(error)
                } else {
                    Failure::Decode(error)
                };
                Some(Event::Failed {
                    failure,
                    responder: Responder { core, id },
                })
            }
        }
    }

    /// The responder of an exchange answered later, or `None` if it is finished or was
    /// dropped (the connection closed, or an earlier exchange closed it).
    pub fn responder(&mut self, id: ExchangeId, now: Instant) -> Option<Responder<'_, C>> {
        self.core.tick(now);
        let core = &mut self.core;
        core.role.queue_unqueued(Stage::Waiting, &core.settings);
        let entry = core.role.exchanges.get_mut(id)?;
        if matches!(entry.data.stage, Stage::Finished { .. }) {
            return None;
        }
        Some(Responder { core, id })
    }
}

/// Opens the exchange that answers a fatal failure, and closes the connection after it.
fn fail<C>(core: &mut Core<C, Server>, reason: CloseReason) -> ExchangeId {
    core.under_way = false;
    let id = core.role.open(None);
    core.end(reason);
    id
}
