//! The seam between the connection and its handler: how decoded requests become responses,
//! whatever the handler kind.
//!
//! [`Dispatch`] is what the connection loop sees of a handler kind: a [`Status`] to decide on,
//! work pushed in, [`Signal`]s, and two poll methods for output. How requests get from the
//! read buffer to the handler is [`super::intake`]; what makes one dispatcher per connection is
//! [`super::kind`]. A new handler kind is one impl of each.

use std::task::{Context, Poll};

use tokio::time::Instant;

use crate::metrics::CloseReason;

/// What the dispatcher is doing, as the connection loop needs to know it each turn.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Status {
    /// Another request may be pushed now.
    pub(crate) spare: bool,
    /// Nothing is being handled (timers may treat the connection as idle).
    pub(crate) quiet: bool,
    /// Nothing more will ever be produced.
    pub(crate) done: bool,
    /// The handler ended the connection: nothing read from now on is handled.
    pub(crate) closing: Option<CloseReason>,
    /// [`Dispatch::poll_response`] has something to drive.
    pub(crate) responding: bool,
    /// Work runs that must be driven even while no response is taken (output paused).
    pub(crate) background: bool,
    /// When the oldest unanswered request runs out of time, if a request deadline is set.
    pub(crate) request_deadline: Option<Instant>,
}

/// Something to hand to the dispatcher.
pub(crate) enum Work<Req, Resp> {
    /// A decoded request. With `direct`, a response that is ready at once, with no earlier one
    /// still to come, is handed back for the caller to encode straight away.
    Request { req: Req, direct: bool },
    /// A reply that is ready now (the answer to a rejected frame), queued after the answers
    /// to every earlier request.
    Reply(Resp),
}

/// Something that happened to the connection.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Signal {
    /// No more requests will come.
    EndInput,
    /// Give up on work that has not produced output yet (after a fatal decode error).
    Abandon,
    /// The connection is quiet: let go of memory kept for reuse.
    Release,
    /// The request deadline passed at this instant: requests older than it are answered
    /// through the error hook and their handler futures dropped.
    Expire(Instant),
}

/// How decoded requests become responses: both handler kinds behind one interface.
pub(crate) trait Dispatch<Req>: Send {
    /// The response type.
    type Resp: Send + 'static;
    /// What the dispatcher is doing now.
    fn status(&self) -> Status;
    /// [`status`](Dispatch::status)`.spare` alone: asked once per request decoded, so a
    /// dispatcher answers it without building the whole status.
    fn spare(&self) -> bool {
        self.status().spare
    }
    /// [`status`](Dispatch::status)`.responding` alone: asked once per response taken.
    fn responding(&self) -> bool {
        self.status().responding
    }
    /// Hands over work; see [`Work::Request`] for what may come back. `cx` is the connection
    /// task's: a handler future polled here wakes the connection.
    fn push(&mut self, work: Work<Req, Self::Resp>, cx: &mut Context<'_>) -> Option<Self::Resp>;
    /// Tells the dispatcher what happened.
    fn signal(&mut self, signal: Signal);
    /// Drives background work and, with `want_spare`, registers to be woken when a slot for
    /// another request frees up by other means than [`poll_response`](Dispatch::poll_response).
    /// Ready when the caller must look again (the work finished, a slot is spare).
    fn poll_drive(&mut self, cx: &mut Context<'_>, want_spare: bool) -> Poll<()>;
    /// The next response. `Ready(None)` reports progress without a response (a request
    /// answered with nothing, a handler that finished): the caller looks at
    /// [`status`](Dispatch::status) again.
    fn poll_response(&mut self, cx: &mut Context<'_>) -> Poll<Option<Self::Resp>>;
}
