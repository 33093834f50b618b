//! [`Connection`]: the parts both roles share (the read buffer, the owed bytes, the timers, the
//! state) and the calls a driver makes whatever the role: bytes read, bytes written, deadlines,
//! shutdown.
//!
//! The role ([`Server`](super::Server) or [`Client`](super::Client)) owns the exchange queue
//! and says what a decoded message means; everything here is role-blind.

use std::cell::Cell;
use std::sync::Arc;
use std::time::Instant;

use bytes::BytesMut;

use super::input::Input;
use super::output::Output;
use super::settings::Settings;
use super::state::{CloseReason, State};
use super::timers::{Timer, TimerTable};

/// What the machine needs from a role (sealed: [`Server`](super::Server) and
/// [`Client`](super::Client) are the roles).
pub trait Role: sealed::Sealed {
    #[doc(hidden)]
    fn in_flight(&self) -> usize;
    /// Exchanges someone still waits on (a client's expired exchanges are in flight until
    /// their late answer, but nobody waits on them): a closing connection closes when none is
    /// left, and the idle timer runs while none is.
    #[doc(hidden)]
    fn awaited(&self) -> usize;
    /// Answer bytes held behind an unfinished earlier exchange (count toward the water marks).
    #[doc(hidden)]
    fn held(&self) -> usize;
    #[doc(hidden)]
    fn next_deadline(&self, settings: &Settings) -> Option<Instant>;
    /// Whether an end for `reason` closes at once, abandoning what is unfinished.
    #[doc(hidden)]
    fn ends_at_once(&self, reason: CloseReason) -> bool;
    /// Whether a closing connection still takes input (a client waits for its answers).
    #[doc(hidden)]
    fn reads_while_closing(&self) -> bool;
    /// Whether a graceful shutdown first finishes the message under way (a server reads the
    /// request whose first bytes arrived to its end and answers it).
    #[doc(hidden)]
    fn finishes_under_way(&self) -> bool {
        false
    }
    /// Lets go of the memory of queues that are empty (for a parked connection).
    #[doc(hidden)]
    fn release(&mut self) {}
    /// Exchanges whose deadline is at or before `now` expire; `written` bytes left so far.
    #[doc(hidden)]
    fn expire(&mut self, now: Instant, written: u64, settings: &Settings);
    /// The connection ended with exchanges unfinished, after `written` bytes left in all.
    #[doc(hidden)]
    fn abandon(&mut self, written: u64, reason: CloseReason);
}

pub(crate) mod sealed {
    pub trait Sealed {}
}

/// Everything but the read buffer: what a lent request's responder may touch while the view
/// still borrows the read buffer.
#[derive(Debug)]
pub(crate) struct Core<C, R> {
    pub(crate) codec: C,
    pub(crate) output: Output,
    /// Shared: every connection of a server or client holds the same settings.
    pub(crate) settings: Arc<Settings>,
    pub(crate) state: State,
    pub(crate) role: R,
    /// The earliest armed deadline, computed from the state when asked after a change (most
    /// changes come in runs, one request after another, and only the last state's deadline
    /// matters). Only the earliest is kept: the table is recomputed when it passes, which is
    /// rare, and an idle connection carries 16 bytes instead of the table's 64.
    next_deadline: Cell<Option<Instant>>,
    /// The state changed since `next_deadline` was computed.
    stale: Cell<bool>,
    /// The latest instant the driver gave: time never runs backwards inside the machine.
    pub(crate) now: Instant,
    last_activity: Instant,
    /// When the owed bytes last made progress (or became owed).
    write_since: Instant,
    /// When the first byte of a message the codec waits to complete arrived.
    pub(crate) partial_since: Option<Instant>,
    /// Shutdown began with a message under way (bytes of it buffered): it is read to its end
    /// and handed over before the connection closes (server).
    pub(crate) under_way: bool,
    written: u64,
    /// Counts changes to the owed bytes, so a streaming answer is offered room again only after
    /// something changed (see the no-busy-loop law).
    pub(crate) changes: u64,
}

/// One connection's state machine, in the role `R`: sans-IO, no runtime inside, time passed in.
///
/// See the [module doc](super) for the order in which a driver calls it.
#[derive(Debug)]
pub struct Connection<C, R> {
    /// The bytes read and not yet consumed (a view lent out borrows it).
    pub(crate) buf: BytesMut,
    pub(crate) input: Input,
    pub(crate) core: Core<C, R>,
}

impl<C, R: Role> Core<C, R> {
    /// Moves the clock forward to `now` (never back).
    pub(crate) fn tick(&mut self, now: Instant) {
        self.now = self.now.max(now);
    }

    /// Bytes were added to the owed output (or to answers held behind an earlier exchange).
    pub(crate) fn owed_more(&mut self, was_empty: bool) {
        if was_empty {
            self.write_since = self.now;
        }
        self.changes = self.changes.wrapping_add(1);
        self.output.update(self.role.held(), &self.settings);
    }

    /// The one place that ends a connection: an end the role cannot finish in order drops
    /// what is owed and abandons every unfinished exchange; otherwise the connection closes
    /// once nothing is owed or awaited.
    pub(crate) fn end(&mut self, reason: CloseReason) {
        if self.state.is_closed() {
            return;
        }
        if self.role.ends_at_once(reason) {
            return self.close_now(reason);
        }
        if matches!(self.state, State::Open) {
            self.state = State::Closing(reason);
        }
        self.settle();
    }

    /// Ends the connection at once: what is owed is dropped and every unfinished exchange is
    /// abandoned (the client reports each as failed).
    pub(crate) fn close_now(&mut self, reason: CloseReason) {
        if self.state.is_closed() {
            return;
        }
        self.role.abandon(self.written, reason);
        self.under_way = false;
        self.state = State::Closed(reason);
        self.settle();
    }

    /// Bytes written since the connection opened.
    pub(crate) fn written(&self) -> u64 {
        self.written
    }

    /// A closing connection with nothing unfinished or owed is closed; the timers are marked
    /// for re-arming. Called after every change.
    pub(crate) fn settle(&mut self) {
        if let State::Closing(reason) = self.state {
            if self.role.awaited() == 0
                && self.output.is_empty()
                && self.role.held() == 0
                && !self.under_way
            {
                self.state = State::Closed(reason);
            }
        }
        self.stale.set(true);
    }

    /// The earliest armed deadline, recomputed first if the state changed since it was.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        if self.stale.replace(false) {
            self.next_deadline.set(self.arm().next());
        }
        self.next_deadline.get()
    }

    /// The first timer due at `now`, if any: the table is built only when the earliest
    /// deadline has passed.
    fn expired(&self, now: Instant) -> Option<Timer> {
        if self.next_deadline()? > now {
            return None;
        }
        self.arm().expired(now)
    }

    /// The one place timers are armed: each deadline as the state says it.
    fn arm(&self) -> TimerTable {
        let mut timers = TimerTable::default();
        if self.state.is_closed() {
            return timers;
        }
        // Each exchange carries its own deadline, set when it starts.
        let (idle, _, write) = self.settings.timeouts();
        let frame = self.settings.frame_timeout();
        let open = matches!(self.state, State::Open);
        timers.set(
            Timer::Frame,
            self.partial_since
                .filter(|_| open || self.under_way)
                .and_then(|since| frame.deadline(since)),
        );
        let quiet = open && self.role.awaited() == 0 && self.output.is_empty();
        timers.set(
            Timer::Idle,
            quiet.then(|| idle.deadline(self.last_activity)).flatten(),
        );
        timers.set(Timer::Exchange, self.role.next_deadline(&self.settings));
        let owed = !self.output.is_empty();
        timers.set(
            Timer::Write,
            owed.then(|| write.deadline(self.write_since)).flatten(),
        );
        timers
    }
}

impl<C, R: Role> Connection<C, R> {
    pub(crate) fn with_role(codec: C, settings: Arc<Settings>, role: R, now: Instant) -> Self {
        let mut core = Core {
            codec,
            output: Output::default(),
            settings,
            state: State::Open,
            role,
            next_deadline: Cell::new(None),
            stale: Cell::new(true),
            now,
            last_activity: now,
            write_since: now,
            partial_since: None,
            under_way: false,
            written: 0,
            changes: 0,
        };
        core.settle();
        Connection {
            buf: BytesMut::new(),
            input: Input::default(),
            core,
        }
    }

    /// The buffer to read into, while the machine takes input: the connection is open (or a
    /// closing client still waits for answers), the peer has not closed its side, and the input
    /// budget has room. Append to it (e.g. with
    /// tokio's `AsyncReadExt::read_buf`), then call [`handle_read`](Self::handle_read).
    pub fn read_buf(&mut self) -> Option<&mut BytesMut> {
        if !self.wants_read() {
            return None;
        }
        self.input
            .reserve(&mut self.buf, self.core.settings.input_budget_bytes());
        Some(&mut self.buf)
    }

    /// Whether [`read_buf`](Self::read_buf) would offer a buffer.
    pub fn wants_read(&self) -> bool {
        let taking = match self.core.state {
            State::Open => true,
            State::Closing(_) => self.core.role.reads_while_closing() || self.core.under_way,
            State::Closed(_) => false,
        };
        taking
            && self
                .input
                .open(&self.buf, self.core.settings.input_budget_bytes())
    }

    /// `n` bytes were appended to the buffer [`read_buf`](Self::read_buf) gave; 0 is the end
    /// of the peer's stream ([`handle_eof`](Self::handle_eof)).
    pub fn handle_read(&mut self, n: usize, now: Instant) {
        self.core.tick(now);
        if n == 0 {
            return self.handle_eof(now);
        }
        let before = self.buf.len().saturating_sub(n);
        self.input.arrived(before, self.core.now);
        self.core.last_activity = self.core.now;
        self.core.settle();
    }

    /// The peer closed its side: what is buffered is decoded with the end of stream applied.
    pub fn handle_eof(&mut self, now: Instant) {
        self.core.tick(now);
        self.input.end();
        self.core.settle();
    }

    /// The bytes to write next, if any are owed.
    pub fn poll_transmit(&self) -> Option<&[u8]> {
        let pending = self.core.output.pending();
        (!pending.is_empty() && !self.core.state.is_closed()).then_some(pending)
    }

    /// `n` bytes of what [`poll_transmit`](Self::poll_transmit) gave were written.
    pub fn handle_written(&mut self, n: usize, now: Instant) {
        self.core.tick(now);
        let n = self.core.output.written(n);
        if n > 0 {
            self.core.written = self.core.written.saturating_add(n as u64);
            self.core.write_since = self.core.now;
            self.core.last_activity = self.core.now;
            self.core
                .output
                .update(self.core.role.held(), &self.core.settings);
            self.core.changes = self.core.changes.wrapping_add(1);
        }
        self.core.settle();
    }

    /// The earliest deadline the driver must wake for, if any.
    pub fn poll_timeout(&self) -> Option<std::time::Instant> {
        self.core.next_deadline()
    }

    /// A deadline passed: fires every timer due at `now`. A timer never fires before its
    /// deadline, and a [`Timeout::Never`](super::Timeout::Never) is never armed.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.core.tick(now);
        let now = self.core.now;
        while let Some(timer) = self.core.expired(now) {
            match timer {
                Timer::Idle => self.core.end(CloseReason::IdleTimeout),
                Timer::Write => self.core.end(CloseReason::WriteTimeout),
                Timer::Frame => {
                    self.core.under_way = false;
                    self.core.end(CloseReason::FrameTimeout)
                }
                Timer::Exchange => {
                    let written = self.core.written;
                    let core = &mut self.core;
                    core.role.expire(now, written, &core.settings);
                    self.core.settle();
                }
            }
            self.core.settle();
        }
    }

    /// Graceful shutdown: no new exchanges; those started finish and what is owed is written,
    /// then the connection is closed. A server first reads the request under way (its first
    /// bytes arrived) to its end and answers it; the next one is never started.
    pub fn shutdown(&mut self, now: Instant) {
        self.core.tick(now);
        if matches!(self.core.state, State::Open) && self.core.role.finishes_under_way() {
            self.input.settle(&mut self.buf);
            self.core.under_way = !self.buf.is_empty();
        }
        self.core.end(CloseReason::Shutdown);
    }

    /// The transport failed: the connection is closed at once, unfinished exchanges abandoned.
    pub fn handle_transport_error(&mut self, now: Instant) {
        self.core.tick(now);
        self.core.end(CloseReason::Transport);
    }

    /// Takes the read and write buffers out while they are empty, leaving none, for a driver
    /// about to park an idle connection: it frees them or keeps them for the next connection
    /// that wakes (a per-thread cache), so a parked connection holds no buffer and a burst does
    /// not pay the allocator. The machine keeps its buffers between requests otherwise.
    /// Buffers that still hold bytes stay where they are (and come back empty).
    ///
    /// ```
    /// use std::time::Instant;
    /// use framekit::{FrameCodec, framing::delimited::Delimited};
    /// use framekit::connection::{Connection, Settings};
    ///
    /// let now = Instant::now();
    /// let mut conn = Connection::server(FrameCodec::new(Delimited::newline()), Settings::default(), now);
    /// let _ = conn.read_buf(); // reserves room to read into
    /// let [read, write] = conn.release_buffers();
    /// assert!(read.capacity() > 0 && read.is_empty() && write.is_empty());
    /// conn.restore_buffers([read, write]); // the next burst reads into the same memory
    /// ```
    pub fn release_buffers(&mut self) -> [BytesMut; 2] {
        self.input.settle(&mut self.buf);
        let read = if self.buf.is_empty() {
            std::mem::take(&mut self.buf)
        } else {
            BytesMut::new()
        };
        self.core.role.release();
        [read, self.core.output.release()]
    }

    /// Gives the connection empty buffers to use where its own have no memory (after
    /// [`release_buffers`](Self::release_buffers)); buffers it does not need are dropped.
    pub fn restore_buffers(&mut self, [read, write]: [BytesMut; 2]) {
        if self.buf.capacity() == 0 && read.is_empty() {
            self.buf = read;
        }
        self.core.output.restore(write);
    }

    /// Where the connection is in its life.
    pub fn state(&self) -> State {
        self.core.state
    }

    /// Whether the connection is over.
    pub fn is_closed(&self) -> bool {
        self.core.state.is_closed()
    }

    /// Exchanges started and not yet finished.
    pub fn in_flight(&self) -> usize {
        self.core.role.in_flight()
    }

    /// Bytes owed to the peer: queued to write and held behind an unfinished exchange.
    pub fn owed(&self) -> usize {
        self.core.output.len().saturating_add(self.core.role.held())
    }

    /// Bytes read and not yet consumed.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// Bytes of the peer's stream that decoded messages took so far (bytes a codec skipped on
    /// the way included): the difference across one request is that request's size on the
    /// wire.
    pub fn consumed(&self) -> u64 {
        self.input.consumed_total()
    }

    /// The codec.
    pub fn codec(&self) -> &C {
        &self.core.codec
    }

    /// The codec, to change its settings between messages.
    pub fn codec_mut(&mut self) -> &mut C {
        &mut self.core.codec
    }

    /// The settings in force.
    pub fn settings(&self) -> &Settings {
        &self.core.settings
    }
}
