//! The connection machine: one connection's whole behaviour (reading, decoding, the ordered
//! queue of exchanges, backpressure, timers, the close) as a pure state machine that both ends
//! of a connection run, in the manner of quinn-proto's `Connection` and hyper's `proto::h1`.
//!
//! No runtime is inside: the machine is told what happened (bytes read, bytes written, an
//! answer, a deadline passed, shutdown) and says what to do (bytes to write, requests to hand
//! to a handler or answers to hand to a caller, the next deadline, close). A test drives it with
//! bytes, partial writes and instants; the law kit (`testing::connection`, feature `testing`)
//! holds it, and any handler, to the connection laws; an async driver owns the socket, one
//! sleep and the handler futures, and nothing else.
//!
//! # The driver's loop
//!
//! Until [`Connection::is_closed`]:
//! 1. **Events.** Call `poll_event(now)` until it answers `None`, acting on each: a server
//!    hands [`Event::Request`]s to its handler, which answers through the [`Responder`] now
//!    or later (then [`Connection::responder`] finds the exchange again); a client hands
//!    [`ClientEvent::Response`]s to their callers.
//! 2. **Writes.** While [`poll_transmit`](Connection::poll_transmit) gives bytes, write them
//!    and report how many with [`handle_written`](Connection::handle_written) (any partial
//!    amount).
//! 3. **Wait** for the first of: bytes to read (only while [`read_buf`](Connection::read_buf)
//!    offers a buffer; then [`handle_read`](Connection::handle_read), 0 for the end of
//!    stream), the transport writable (while bytes are owed), a later answer, the deadline of
//!    [`poll_timeout`](Connection::poll_timeout) (then
//!    [`handle_timeout`](Connection::handle_timeout)), or shutdown
//!    ([`shutdown`](Connection::shutdown)). Then go to 1.
//!
//! After a call that changed nothing, `poll_event` answers `None` and `poll_transmit` gives the
//! same bytes as before: a driver that follows the loop never spins. When the state is
//! [`State::Closed`], close the transport: with a FIN when the reason is
//! [`orderly`](CloseReason::orderly), as it is otherwise.
//!
//! # Rooms
//! - [`settings`](Settings): limits and timeouts, with bounded defaults; [`Timeout`] says "never".
//! - `decode`: [`Decode`] lends the next message from the read buffer; [`CodecError`].
//! - `input` and `output`: the read side's bookkeeping; the owed bytes and the water marks.
//! - `exchanges`: the ordered queue of exchanges ([`ExchangeId`]).
//! - `timers`: every [`Timer`] in one table.
//! - `state`: [`State`] and [`CloseReason`].
//! - `machine`: [`Connection`] and the calls both roles share.
//! - `server` and `client`: the two roles ([`Server`], [`Client`]); `responder`: how a server
//!   answers one exchange in order ([`Responder`]).

mod answers;
mod client;
mod decode;
mod exchanges;
mod input;
mod machine;
mod output;
mod responder;
mod server;
mod settings;
mod state;
mod timers;

pub use answers::Server;
pub use client::{Client, ClientEvent, Delivery, Match, Pipelined, SubmitError};
pub use decode::{CodecError, Decode, Owned};
pub use exchanges::ExchangeId;
pub use machine::{Connection, Role};
pub use responder::Responder;
pub use server::{Event, Failure};
pub use settings::{Settings, Timeout};
pub use state::{CloseReason, State};
pub use timers::Timer;

#[cfg(test)]
mod tests;
