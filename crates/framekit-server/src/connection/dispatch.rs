//! The seam between the connection and its handler: how decoded requests become responses,
//! whatever the handler kind.
//!
//! [`Dispatch`] is what the connection loop sees of a handler kind: a [`Status`] to decide on,
//! work pushed in, [`Signal`]s, and two poll methods for output. [`Intake`] is how requests
//! get from the read buffer to the handler: decoded into owned values and pushed (the owned
//! kinds, through [`take_owned`]), or lent out where they lie (the borrowed kind).
//! [`HandlerKind`] makes one dispatcher per connection; a new handler kind is one impl of each.

use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::BytesMut;
use tokio::time::Instant;

use crate::codec::ConnectionCodec;
use crate::context::Ctx;
use crate::error::CodecError;
use crate::metrics::CloseReason;

use super::writing::Writing;
use super::{Env, Shared};

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

/// What one [`Intake::take`] did with the read buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Taken {
    /// A request was taken out of the buffer and handled; `answered` responses went straight
    /// into the output queue.
    Request { answered: u64 },
    /// No whole request is buffered: wait for more bytes.
    Incomplete,
    /// A request may be buffered but cannot be handled now (the output queue is above its
    /// high water mark): try again on a later turn.
    Wait,
}

/// Why [`Intake::take`] took no request.
#[derive(Debug)]
pub(crate) enum Refused<E> {
    /// The codec failed on the buffered bytes.
    Decode(E),
    /// A response could not be encoded and the queue could not be repaired.
    Unencodable,
}

/// How requests get from the read buffer to a handler kind, with codec `C`.
pub(crate) trait Intake<C, R> {
    /// The decoding error.
    type Error: CodecError;
    /// Takes the next request from `buf` (`eof`: the peer has closed its side) and hands it
    /// over; answers that are ready at once go straight into `writing`'s queue. `cx` is the
    /// connection task's.
    #[allow(clippy::too_many_arguments)]
    fn take(
        &mut self,
        codec: &mut C,
        buf: &mut BytesMut,
        eof: bool,
        writing: &mut Writing,
        env: Env<'_, R>,
        cx: &mut Context<'_>,
    ) -> Result<Taken, Refused<Self::Error>>;
}

/// The owned kinds' [`Intake`]: the codec decodes an owned request, which is pushed; a
/// response ready at once (with no earlier one still to come) is encoded straight away.
pub(crate) fn take_owned<C, D, Req>(
    dispatch: &mut D,
    codec: &mut C,
    buf: &mut BytesMut,
    eof: bool,
    writing: &mut Writing,
    env: Env<'_, D::Resp>,
    cx: &mut Context<'_>,
) -> Result<Taken, Refused<C::DecodeError>>
where
    C: ConnectionCodec<D::Resp, Request = Req>,
    D: Dispatch<Req>,
{
    let req = match codec.decode_request(buf, eof) {
        Ok(Some(req)) => req,
        Ok(None) => return Ok(Taken::Incomplete),
        Err(err) => return Err(Refused::Decode(err)),
    };
    let direct = writing.takes_direct(env.shared.config.high_water);
    let Some(resp) = dispatch.push(Work::Request { req, direct }, cx) else {
        return Ok(Taken::Request { answered: 0 });
    };
    writing
        .encode(codec, resp, env)
        .map_err(|_| Refused::Unencodable)?;
    Ok(Taken::Request { answered: 1 })
}

/// A kind of handler: makes the dispatcher of each connection, whose requests come through
/// codec `C`.
pub(crate) trait HandlerKind<C, R>: Send + Sync + 'static {
    /// What the dispatcher's [`Dispatch::push`] takes.
    type Input;
    /// The dispatcher it makes.
    type Dispatch: Dispatch<Self::Input, Resp = R> + Intake<C, R> + 'static;
    /// The dispatcher of the connection `ctx`.
    fn start(&self, ctx: &Ctx, shared: &Arc<Shared<R>>) -> Self::Dispatch;
}
