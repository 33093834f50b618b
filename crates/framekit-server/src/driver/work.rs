//! The handler's work in flight on one connection: the later answers (futures) and the
//! streamed answers, kept in request order and boxed only while there are some, and how each
//! is written through its exchange's responder when it moves.

use std::collections::VecDeque;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use framekit::connection::{self, Connection, ExchangeId};
use futures::stream::BoxStream;
use futures::Stream;

use crate::codec::ServerCodec;
use crate::error::{FailureOrigin, HandlerFailure};
use crate::handler::{Env, IntoReply, Reply, Responder};
use crate::metrics::CloseReason;

/// A later answer in flight: its exchange, when it started, and its future (boxed: it was
/// polled once where the handler returned it before it was kept).
pub(super) struct Later<F> {
    pub(super) id: ExchangeId,
    pub(super) started: Instant,
    pub(super) future: Pin<Box<F>>,
}

/// The later answers in flight, in request order: polled in that order on every turn, so
/// work a later answer starts on its polls (a request forwarded to a backend) starts in the
/// order the requests came, as the first poll does.
type Laters<F> = VecDeque<Later<F>>;

/// Answers given as streams, in exchange order: only the front one is written from.
type Streams<R> = VecDeque<(ExchangeId, BoxStream<'static, R>)>;

/// The handler's work in flight. Boxed, and only while there is some: a connection whose
/// answers come at once (and every idle one) carries one pointer instead of two queues.
pub(super) struct Work<F, R> {
    pub(super) laters: Laters<F>,
    pub(super) streams: Streams<R>,
}

/// The work in flight, made when first needed.
pub(super) fn work<F, R>(slot: &mut Option<Box<Work<F, R>>>) -> &mut Work<F, R> {
    slot.get_or_insert_with(|| {
        Box::new(Work {
            laters: VecDeque::new(),
            streams: VecDeque::new(),
        })
    })
}

/// Writes the answers of the later futures that resolved, polling them in request order.
pub(super) fn poll_laters<C, F, R>(
    busy: &mut Work<F, R>,
    conn: &mut Connection<C, connection::Server>,
    ended_by: &mut EndedBy,
    cx: &mut Context<'_>,
    env: Env<'_, R>,
    now: Instant,
) -> bool
where
    C: ServerCodec<R>,
    F: std::future::Future<Output: IntoReply<Response = R>>,
{
    let mut moved = false;
    let mut at = 0;
    while let Some(later) = busy.laters.get_mut(at) {
        let Poll::Ready(reply) = later.future.as_mut().poll(cx) else {
            at += 1;
            continue;
        };
        moved = true;
        let (id, started) = (later.id, later.started);
        busy.laters.remove(at);
        env.shared.metrics.settled(Some(started.elapsed()));
        let Some(exchange) = conn.responder(id, now) else {
            continue; // an earlier close dropped it
        };
        let out = Responder::new(exchange, env);
        if let Some(stream) = answer(out, reply.into_reply(), ended_by) {
            busy.streams.push_back(stream);
        }
    }
    moved
}

/// Writes the front streamed answer's parts while the output has room.
pub(super) fn poll_streams<C, F, R>(
    busy: &mut Work<F, R>,
    conn: &mut Connection<C, connection::Server>,
    cx: &mut Context<'_>,
    env: Env<'_, R>,
    now: Instant,
) -> bool
where
    C: ServerCodec<R>,
{
    let mut moved = false;
    while let Some((id, stream)) = busy.streams.front_mut() {
        let Some(exchange) = conn.responder(*id, now) else {
            busy.streams.pop_front();
            moved = true;
            continue;
        };
        let mut out = Responder::new(exchange, env);
        let mut ended = false;
        while out.has_room() {
            match Pin::new(&mut *stream).poll_next(cx) {
                Poll::Ready(Some(part)) => {
                    out.send_response(part);
                    moved = true;
                }
                Poll::Ready(None) => {
                    ended = true;
                    break;
                }
                Poll::Pending => break,
            }
        }
        if !ended {
            break;
        }
        out.into_exchange().finish();
        busy.streams.pop_front();
        moved = true;
    }
    moved
}

/// Drops the later answer or stream of exchange `id`, whose deadline passed.
pub(super) fn drop_work<F, R>(work: &mut Work<F, R>, id: ExchangeId, env: Env<'_, R>) {
    let before = work.laters.len();
    work.laters.retain(|later| later.id != id);
    if work.laters.len() < before {
        env.shared.metrics.settled(None);
    }
    work.streams.retain(|(stream, _)| *stream != id);
}

/// Writes a later answer through its exchange's responder, as its [`Reply`] says; a stream
/// comes back, to be queued behind the streams before it.
#[must_use]
pub(super) fn answer<C, R>(
    mut out: Responder<'_, C, R>,
    reply: Reply<R>,
    ended_by: &mut EndedBy,
) -> Option<(ExchangeId, BoxStream<'static, R>)>
where
    C: ServerCodec<R>,
{
    let id = out.id();
    match reply {
        Reply::None => out.into_exchange().finish(),
        Reply::One(response) => {
            out.send_response(response);
            out.into_exchange().finish();
        }
        Reply::Stream(stream) => {
            out.into_exchange().stream();
            return Some((id, stream));
        }
        Reply::Close(last) => {
            if let Some(response) = last {
                out.send_response(response);
            }
            ended_by.note(id, CloseReason::HandlerDone);
            out.into_exchange().close();
        }
        Reply::Failed(error) => {
            out.reject(FailureOrigin::Handler, &HandlerFailure(&error), true);
            out.into_exchange().finish();
        }
    }
    None
}

/// Why the server closed a connection itself (the machine only knows "local"): the close of
/// the earliest exchange in request order, which is the one that takes effect.
///
/// 8 bytes, where an `Option<(ExchangeId, CloseReason)>` takes 16 in every connection: an id
/// is kept as its low 32 bits, and two ids are ordered by their wrapping difference, which is
/// exact while they are less than 2^31 exchanges apart (the exchanges noted are all in flight
/// at once, so at most the in-flight limit apart).
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct EndedBy {
    low: u32,
    reason: Option<CloseReason>,
}

impl EndedBy {
    pub(super) fn note(&mut self, id: ExchangeId, reason: CloseReason) {
        // Truncation on purpose: see the type's doc.
        let low = id.index() as u32;
        let earlier = (low.wrapping_sub(self.low) as i32) < 0;
        if self.reason.is_none() || earlier {
            *self = EndedBy {
                low,
                reason: Some(reason),
            };
        }
    }

    pub(super) fn reason(self) -> Option<CloseReason> {
        self.reason
    }
}

#[cfg(test)]
mod ended_by_tests {
    use super::*;

    #[test]
    fn the_earliest_exchange_in_request_order_names_the_close() {
        let mut by = EndedBy::default();
        assert_eq!(by.reason(), None);
        by.note(ExchangeId::new(7), CloseReason::RequestTimeout);
        by.note(ExchangeId::new(9), CloseReason::DecodeError);
        assert_eq!(by.reason(), Some(CloseReason::RequestTimeout));
        by.note(ExchangeId::new(3), CloseReason::HandlerDone);
        assert_eq!(by.reason(), Some(CloseReason::HandlerDone));
        // Ids whose low 32 bits wrap between them keep their order.
        let mut by = EndedBy::default();
        let before_wrap = ExchangeId::new(u64::from(u32::MAX) - 1);
        let after_wrap = ExchangeId::new(u64::from(u32::MAX) + 2);
        by.note(after_wrap, CloseReason::DecodeError);
        by.note(before_wrap, CloseReason::HandlerDone);
        assert_eq!(by.reason(), Some(CloseReason::HandlerDone));
        by.note(after_wrap, CloseReason::RequestTimeout);
        assert_eq!(by.reason(), Some(CloseReason::HandlerDone));
    }
}
