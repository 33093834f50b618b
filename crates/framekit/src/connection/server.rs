//! The server role: requests in, answers out in request order.
//!
//! [`Connection::poll_event`] lends each decoded request with a [`Responder`] for its answer.
//! An answer is written at once, later (the exchange stays open and [`Connection::responder`]
//! finds it again), or in parts (the machine offers [`Event::Room`] each time the owed bytes
//! to write fall below the high water mark). Answers to later requests wait, held, behind an earlier one
//! that is not finished, so many exchanges can be in flight and the peer still sees them in order.

use std::sync::Arc;
use std::time::Instant;

use super::answers::{Server, Stage};
use super::decode::{CodecError, Decode};
use super::exchanges::ExchangeId;
use super::machine::{sealed, Connection, Core, Role};
use super::responder::Responder;
use super::settings::Settings;
use super::state::{CloseReason, State};

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
    #[inline(always)]
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
