//! The client role: requests out, answers in, each answer matched to its request: in order
//! ([`Pipelined`], as RESP, memcached and HTTP/1.1 need) or by a tag the answer carries
//! ([`Match`] implemented by the user, for multiplexed protocols).
//!
//! An exchange that runs out of time is reported at once ([`ClientEvent::Expired`]); its late
//! answer, when it comes, is consumed and dropped ([`ClientEvent::Dropped`]), so the stream stays
//! in sync. When the connection ends with exchanges unfinished, each is reported
//! [`ClientEvent::Failed`] with whether any of its bytes reached the transport.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Instant;

use tokio_util::codec::Encoder;

use super::decode::{CodecError, Decode};
use super::exchanges::{ExchangeId, Exchanges};
use super::machine::{sealed, Connection, Core, Role};
use super::settings::{Settings, Timeout};
use super::state::{CloseReason, State};

/// How a client matches an answer to its request.
pub trait Match<C: Decode> {
    /// The tag an answer carries, or `None` to match answers in request order. A matcher that
    /// answers `None` for one answer must do so for all.
    fn tag(&self, answer: &C::View<'_>) -> Option<u64>;
}

/// Answers come back in request order.
#[derive(Debug, Clone, Copy, Default)]
pub struct Pipelined;

impl<C: Decode> Match<C> for Pipelined {
    fn tag(&self, _: &C::View<'_>) -> Option<u64> {
        None
    }
}

/// The client role of a [`Connection`], matching answers with `M`.
#[derive(Debug, Default)]
pub struct Client<M> {
    exchanges: Exchanges<Sent>,
    /// How many of `exchanges` expired (in flight until their late answer, awaited by nobody).
    expired: usize,
    notices: VecDeque<ClientEvent<()>>,
    matcher: M,
}

#[derive(Debug)]
struct Sent {
    /// The offset of the request's first byte in everything the connection writes.
    start: u64,
    tag: Option<u64>,
    expired: bool,
}

/// Whether a request may have reached the peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// None of its bytes were written: safe to send again elsewhere.
    NotSent,
    /// Some or all of it was written: the peer may have applied it.
    MaybeApplied,
}

/// What the client's machine reports next. `A` is the answer (a view of the read buffer).
#[derive(Debug)]
pub enum ClientEvent<A> {
    /// The answer to exchange `id`.
    Response {
        /// The exchange.
        id: ExchangeId,
        /// Its answer.
        answer: A,
    },
    /// Exchange `id` ran out of time; its answer, if it comes, is dropped.
    Expired {
        /// The exchange.
        id: ExchangeId,
        /// Whether the peer may have seen it.
        delivery: Delivery,
    },
    /// The late answer of an expired exchange arrived and was dropped.
    Dropped {
        /// The exchange.
        id: ExchangeId,
    },
    /// The codec could not decode exchange `id`'s answer, but the stream is still in sync.
    Undecodable {
        /// The exchange.
        id: ExchangeId,
        /// The codec's [`kind_name`](CodecError::kind_name).
        kind: &'static str,
    },
    /// The connection ended before exchange `id` was answered.
    Failed {
        /// The exchange.
        id: ExchangeId,
        /// Whether the peer may have seen it.
        delivery: Delivery,
        /// Why the connection ended.
        reason: CloseReason,
    },
}

/// Why [`Connection::submit`] took no request.
#[derive(Debug, thiserror::Error)]
pub enum SubmitError<E> {
    /// `max_in_flight` exchanges are out, or the owed bytes are above the high water mark:
    /// wait for an answer or for bytes to be written, then try again.
    #[error("the connection is busy: {in_flight} exchanges in flight, {owed} bytes owed")]
    Busy {
        /// Exchanges in flight.
        in_flight: usize,
        /// Bytes owed.
        owed: usize,
    },
    /// The connection is closing or closed.
    #[error("the connection is closing")]
    Closing,
    /// A multiplexed request needs a tag, and this one is in flight already.
    #[error("tag {0} is in flight already")]
    TagInUse(u64),
    /// The codec refused the request (nothing was queued).
    #[error("the request could not be encoded: {0}")]
    Encode(E),
}

impl<M> sealed::Sealed for Client<M> {}

impl<M> Role for Client<M> {
    fn in_flight(&self) -> usize {
        self.exchanges.len()
    }

    fn release(&mut self) {
        self.exchanges.release();
        if self.notices.is_empty() {
            self.notices = VecDeque::new();
        }
    }

    fn awaited(&self) -> usize {
        self.exchanges.len().saturating_sub(self.expired)
    }

    fn held(&self) -> usize {
        0
    }

    fn next_deadline(&self, _settings: &Settings) -> Option<Instant> {
        self.exchanges.next_deadline()
    }

    /// Only the owner's close and shutdown wait for the answers in flight: any other end
    /// leaves them no way to arrive.
    fn ends_at_once(&self, reason: CloseReason) -> bool {
        !matches!(reason, CloseReason::Local | CloseReason::Shutdown)
    }

    /// A closing client still waits for the answers in flight.
    fn reads_while_closing(&self) -> bool {
        !self.exchanges.is_empty()
    }

    fn expire(&mut self, now: Instant, written: u64, _settings: &Settings) {
        let notices = &mut self.notices;
        let expired = &mut self.expired;
        self.exchanges.expire(now, |entry| {
            if !entry.data.expired {
                entry.data.expired = true;
                *expired += 1;
                let delivery = delivery(written, entry.data.start);
                notices.push_back(ClientEvent::Expired {
                    id: entry.id,
                    delivery,
                });
            }
        });
    }

    fn abandon(&mut self, written: u64, reason: CloseReason) {
        // An expired exchange was reported already: it ends once.
        for entry in self.exchanges.drain().filter(|e| !e.data.expired) {
            self.notices.push_back(ClientEvent::Failed {
                id: entry.id,
                delivery: delivery(written, entry.data.start),
                reason,
            });
        }
        self.expired = 0;
    }
}

impl<C: Decode, M: Match<C>> Connection<C, Client<M>> {
    /// A client connection matching answers with `matcher`, its clock starting at `now`.
    ///
    /// ```
    /// use std::time::Instant;
    /// use framekit::{FrameCodec, framing::delimited::Delimited};
    /// use framekit::connection::{ClientEvent, Connection, Pipelined, Settings};
    ///
    /// let now = Instant::now();
    /// let codec = FrameCodec::new(Delimited::newline());
    /// let mut conn = Connection::client(codec, Pipelined, Settings::default(), now);
    /// let id = conn.submit(&b"ping"[..], None, now).unwrap();
    /// assert_eq!(conn.poll_transmit(), Some(&b"ping\n"[..]));
    /// conn.handle_written(5, now);
    /// conn.read_buf().unwrap().extend_from_slice(b"pong\n");
    /// conn.handle_read(5, now);
    /// match conn.poll_event(now) {
    ///     Some(ClientEvent::Response { id: answered, answer }) => {
    ///         assert_eq!((answered, answer), (id, &b"pong"[..]));
    ///     }
    ///     other => panic!("{other:?}"),
    /// }
    /// ```
    pub fn client(codec: C, matcher: M, settings: impl Into<Arc<Settings>>, now: Instant) -> Self {
        let role = Client {
            exchanges: Exchanges::default(),
            expired: 0,
            notices: VecDeque::new(),
            matcher,
        };
        Connection::with_role(codec, settings.into(), role, now)
    }

    /// Encodes `request` and starts its exchange, with `tag` for a multiplexed protocol (the
    /// request must carry the same tag on the wire). Its deadline is the settings' exchange
    /// timeout from `now`.
    pub fn submit<T>(
        &mut self,
        request: T,
        tag: Option<u64>,
        now: Instant,
    ) -> Result<ExchangeId, SubmitError<<C as Encoder<T>>::Error>>
    where
        C: Encoder<T>,
    {
        let timeout = self.core.settings.timeouts().1;
        self.submit_within(request, tag, timeout, now)
    }

    /// Whether [`submit`](Self::submit) would take a request now (the connection is open, and
    /// the in-flight bound and the high water mark have room), so a driver can keep a request
    /// until it would.
    pub fn can_submit(&self) -> bool {
        let core = &self.core;
        matches!(core.state, State::Open)
            && core.role.exchanges.len() < core.settings.in_flight_limit()
            && core.output.has_room()
    }

    /// [`submit`](Self::submit) with this request's own deadline: `timeout` from `now`.
    pub fn submit_within<T>(
        &mut self,
        request: T,
        tag: Option<u64>,
        timeout: Timeout,
        now: Instant,
    ) -> Result<ExchangeId, SubmitError<<C as Encoder<T>>::Error>>
    where
        C: Encoder<T>,
    {
        self.core.tick(now);
        if !matches!(self.core.state, State::Open) {
            return Err(SubmitError::Closing);
        }
        if !self.can_submit() {
            return Err(SubmitError::Busy {
                in_flight: self.core.role.exchanges.len(),
                owed: self.core.output.len(),
            });
        }
        let core = &mut self.core;
        if let Some(tag) = tag {
            if core.role.exchanges.iter().any(|e| e.data.tag == Some(tag)) {
                return Err(SubmitError::TagInUse(tag));
            }
        }
        let was_empty = core.output.is_empty();
        let start = core.written().saturating_add(core.output.len() as u64);
        let dst = core.output.queue();
        let before = dst.len();
        if let Err(error) = core.codec.encode(request, dst) {
            dst.truncate(before);
            return Err(SubmitError::Encode(error));
        }
        let deadline = timeout.deadline(core.now);
        let sent = Sent {
            start,
            tag,
            expired: false,
        };
        let id = core.role.exchanges.push(sent, deadline);
        core.owed_more(was_empty);
        core.settle();
        Ok(id)
    }

    /// What the driver must hand on next, or `None`: then it waits for bytes, room to write or
    /// a deadline.
    pub fn poll_event(&mut self, now: Instant) -> Option<ClientEvent<C::View<'_>>> {
        self.core.tick(now);
        self.input.settle(&mut self.buf);
        let core = &mut self.core;
        if let Some(notice) = core.role.notices.pop_front() {
            return Some(without_answer(notice));
        }
        if core.state.is_closed() || self.input.settled() {
            return None;
        }
        let eof = self.input.eof();
        match core.codec.decode(&mut self.buf, eof) {
            Ok(Some(found)) => {
                let (answer, len) = core.codec.view(&self.buf, found);
                self.input.lend(len);
                self.input.took(core.now);
                core.partial_since = None;
                let tag = core.role.matcher.tag(&answer);
                let found = match tag {
                    None => core.role.exchanges.pop_front(),
                    Some(tag) => core
                        .role
                        .exchanges
                        .remove_where(|e| e.data.tag == Some(tag)),
                };
                if found.as_ref().is_some_and(|e| e.data.expired) {
                    core.role.expired -= 1;
                }
                let Some(entry) = found else {
                    drop(answer);
                    fail_all(core, CloseReason::Unsolicited);
                    core.settle();
                    return core.role.notices.pop_front().map(without_answer);
                };
                core.settle();
                if entry.data.expired {
                    return Some(ClientEvent::Dropped { id: entry.id });
                }
                Some(ClientEvent::Response {
                    id: entry.id,
                    answer,
                })
            }
            Ok(None) => {
                self.input.mark_settled();
                core.partial_since = self.input.partial_since(&self.buf);
                if eof {
                    fail_all(core, CloseReason::PeerClosed);
                } else if self
                    .input
                    .full(&self.buf, core.settings.input_budget_bytes())
                {
                    fail_all(core, CloseReason::InputBudget);
                }
                core.settle();
                core.role.notices.pop_front().map(without_answer)
            }
            Err(error) => {
                let kind = error.kind_name();
                let pipelined = core
                    .role
                    .exchanges
                    .front()
                    .is_some_and(|e| e.data.tag.is_none());
                if error.recoverable() && pipelined {
                    let entry = core.role.exchanges.pop_front()?;
                    if entry.data.expired {
                        core.role.expired -= 1;
                    }
                    core.settle();
                    return Some(ClientEvent::Undecodable { id: entry.id, kind });
                }
                fail_all(core, CloseReason::Decode(kind));
                core.settle();
                core.role.notices.pop_front().map(without_answer)
            }
        }
    }

    /// Graceful close: no new requests; the answers in flight arrive, then the connection is
    /// closed.
    pub fn close(&mut self, now: Instant) {
        self.core.tick(now);
        self.core.end(CloseReason::Local);
    }
}

/// Ends the connection at once with `reason`, reporting every unfinished exchange as failed.
fn fail_all<C, M>(core: &mut Core<C, Client<M>>, reason: CloseReason) {
    core.close_now(reason);
}

/// Whether a request whose first byte is at `start` may have reached the peer, after
/// `written` bytes left.
fn delivery(written: u64, start: u64) -> Delivery {
    if written > start {
        Delivery::MaybeApplied
    } else {
        Delivery::NotSent
    }
}

fn without_answer<A>(notice: ClientEvent<()>) -> ClientEvent<A> {
    match notice {
        ClientEvent::Response { id, .. } | ClientEvent::Dropped { id } => {
            ClientEvent::Dropped { id }
        }
        ClientEvent::Expired { id, delivery } => ClientEvent::Expired { id, delivery },
        ClientEvent::Undecodable { id, kind } => ClientEvent::Undecodable { id, kind },
        ClientEvent::Failed {
            id,
            delivery,
            reason,
        } => ClientEvent::Failed {
            id,
            delivery,
            reason,
        },
    }
}
