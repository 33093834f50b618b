//! One run of the connection laws in the client role: the model caller submits requests, a
//! model peer answers each one it reads (in order, or shuffled for a tagged client), both as the
//! protocol's [`ClientModel`] writes them, and the plan chooses the order of submits, partial
//! writes, answer chunks, deadlines, the peer's close, a reset and the caller's close.
//!
//! Every exchange must end exactly once (answered with its own answer, expired, undecodable, or
//! failed with the connection), a late answer is dropped at most once and only after an expiry,
//! an unanswered exchange says truly whether its bytes went out, the bounds hold, no timer fires
//! early, no step spins, and at quiescence nothing is left unfinished.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use tokio_util::codec::Encoder;

use super::model::{ClientModel, PlanMatch};
use super::steps::{broken, deliver, fire, linear, pick, write_some, ConnectionViolation};
use crate::connection::{
    Client, ClientEvent, Connection, Decode, Delivery, ExchangeId, Match, Role, Settings,
    SubmitError,
};

/// One client run: how many requests, whether answers are matched by tag, the driver's
/// choices and the settings.
#[derive(Debug, Clone)]
pub struct ClientPlan {
    /// How many requests the caller submits.
    pub requests: usize,
    /// Match answers by a tag (the request's index) and let the peer answer in any order;
    /// otherwise pipelined.
    pub tagged: bool,
    /// Sizes of the pieces the answers arrive in (cycled).
    pub chunks: Vec<usize>,
    /// The driver's choice at each step (cycled).
    pub choices: Vec<u16>,
    /// The step at which the peer closes its side, if any.
    pub peer_closes_at: Option<usize>,
    /// The step at which the transport fails (a reset), if any.
    pub reset_at: Option<usize>,
    /// The step at which the caller closes gracefully, if any.
    pub close_at: Option<usize>,
    /// The machine's settings.
    pub settings: Settings,
}

/// How an exchange ended, as the model saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum End {
    Answered,
    Expired { dropped: bool },
    Undecodable,
    Failed,
}

/// The model peer: reads requests as the client writes them and queues their answers.
struct Peer<K> {
    model: K,
    read: BytesMut,
    /// Answers not yet sent, as (index, wire bytes).
    queued: Vec<(u64, Bytes)>,
    sent: BytesMut,
    closed: bool,
}

impl<K> Peer<K> {
    fn take<C>(&mut self, bytes: &[u8]) -> Result<(), ConnectionViolation>
    where
        C: Decode,
        K: ClientModel<C>,
    {
        self.read.extend_from_slice(bytes);
        while let Some(index) = self
            .model
            .read_request(&mut self.read)
            .map_err(|what| broken("exactly_once_in_order", what))?
        {
            let mut wire = BytesMut::new();
            self.model.write_answer(index, &mut wire);
            self.queued.push((index, wire.freeze()));
        }
        Ok(())
    }

    /// Moves one queued answer (the first, or one the choice picks when shuffling) to `sent`.
    fn answer(&mut self, choice: usize, shuffle: bool) {
        if self.queued.is_empty() {
            return;
        }
        let at = if shuffle {
            choice % self.queued.len()
        } else {
            0
        };
        let (_, wire) = self.queued.remove(at);
        self.sent.extend_from_slice(&wire);
    }
}

/// What the kit knows of one submitted exchange.
#[derive(Debug, Clone, Copy)]
struct Submitted {
    index: u64,
    /// The offset of its first byte in everything the client writes.
    start: u64,
}

/// What the run has seen: the exchanges submitted, how each ended, the bytes written and the
/// events asked for.
#[derive(Default)]
struct Record {
    submitted: BTreeMap<ExchangeId, Submitted>,
    ends: BTreeMap<ExchangeId, End>,
    written: u64,
    calls: u64,
    /// The largest request encoded so far, in bytes.
    largest: usize,
}

/// Runs `plan` against a client connection over codecs from `make`, the protocol told by
/// `model`, checking every law.
pub fn check_client<F, C, K>(
    make: &F,
    model: K,
    plan: &ClientPlan,
) -> Result<(), ConnectionViolation>
where
    F: Fn() -> C,
    C: Decode + Encoder<K::Request>,
    K: ClientModel<C>,
{
    let settings = plan.settings;
    let mut now = Instant::now();
    let matcher = match model.tags() {
        Some(tags) if plan.tagged => PlanMatch::Tagged(tags),
        _ => PlanMatch::InOrder,
    };
    let tagged = matches!(matcher, PlanMatch::Tagged(_));
    let mut conn = Connection::client(make(), matcher, settings, now);
    let mut peer = Peer {
        model,
        read: BytesMut::new(),
        queued: Vec::new(),
        sent: BytesMut::new(),
        closed: false,
    };
    let mut record = Record::default();
    let mut submitted = 0usize;
    let mut delivered = 0usize;
    let mut steps = 0usize;
    loop {
        events(&mut conn, now, &peer.model, &mut record)?;
        record.calls += 1;
        let before = (
            conn.state(),
            conn.in_flight(),
            conn.owed(),
            conn.poll_timeout(),
        );
        if conn.poll_event(now).is_some()
            || before
                != (
                    conn.state(),
                    conn.in_flight(),
                    conn.owed(),
                    conn.poll_timeout(),
                )
        {
            return Err(broken(
                "no_busy_loop",
                "asking again without an event changed something",
            ));
        }
        if conn.in_flight() > settings.in_flight_limit() {
            return Err(broken("bounded", format!("{} in flight", conn.in_flight())));
        }
        // Submits stop at the high water mark, so one request may pass it.
        if conn.owed() > settings.high_water_mark() + record.largest {
            return Err(broken("bounded", format!("{} bytes owed", conn.owed())));
        }
        let mut enabled: Vec<u8> = Vec::new();
        if submitted < plan.requests && !conn.is_closed() {
            enabled.push(b's');
        }
        if conn.poll_transmit().is_some() {
            enabled.push(b'w');
        }
        if !peer.queued.is_empty() && !peer.closed {
            enabled.push(b'a');
        }
        if delivered < peer.sent.len() && conn.wants_read() {
            enabled.push(b'r');
        }
        if conn.poll_timeout().is_some() {
            enabled.push(b't');
        }
        if plan.peer_closes_at == Some(steps) && conn.wants_read() {
            enabled.push(b'e');
        }
        if plan.reset_at == Some(steps) && !conn.is_closed() {
            enabled.push(b'x');
        }
        if plan.close_at == Some(steps) && !conn.is_closed() {
            enabled.push(b'c');
        }
        let Some((event, choice)) = pick(&enabled, &plan.choices, &mut steps)? else {
            break;
        };
        match event {
            b's' => {
                let index = submitted as u64;
                let tag = tagged.then_some(index);
                let owed = conn.owed();
                let start = record.written.saturating_add(owed as u64);
                match conn.submit(peer.model.request(index), tag, now) {
                    Ok(id) => {
                        record.largest = record.largest.max(conn.owed().saturating_sub(owed));
                        record.submitted.insert(id, Submitted { index, start });
                        submitted += 1;
                    }
                    Err(SubmitError::Busy { .. } | SubmitError::Closing) => submitted += 1,
                    Err(SubmitError::TagInUse(tag)) => {
                        return Err(broken("bounded", format!("tag {tag} refused as in use")))
                    }
                    Err(SubmitError::Encode(_)) => {
                        return Err(broken("setup", "a request refused"))
                    }
                }
            }
            b'w' => {
                let mut taken = 0;
                write_some(&mut conn, choice, now, |bytes| {
                    taken = bytes.len();
                    peer.take::<C>(bytes)
                })?;
                record.written = record.written.saturating_add(taken as u64);
            }
            b'a' => peer.answer(choice, tagged),
            b'r' => {
                let chunk = plan.chunks[steps % plan.chunks.len()];
                deliver(&mut conn, &peer.sent, &mut delivered, chunk, now)?;
            }
            b't' => fire(&mut conn, &mut now)?,
            b'e' => {
                peer.closed = true;
                conn.handle_eof(now);
            }
            b'x' => {
                peer.closed = true;
                conn.handle_transport_error(now);
            }
            _ => conn.close(now),
        }
        now += Duration::from_micros(1);
    }
    events(&mut conn, now, &peer.model, &mut record)?;
    linear(record.calls, plan.requests, steps)?;
    for id in record.submitted.keys() {
        if !record.ends.contains_key(id) {
            return Err(broken(
                "liveness",
                format!(
                    "exchange {id:?} never ended ({:?}, {} in flight)",
                    conn.state(),
                    conn.in_flight()
                ),
            ));
        }
    }
    Ok(())
}

/// `delivery_told`: an exchange that ends unanswered says it may have been applied exactly
/// when some of its bytes were written.
fn delivery_told(
    id: ExchangeId,
    delivery: Delivery,
    record: &Record,
) -> Result<(), ConnectionViolation> {
    let Some(sent) = record.submitted.get(&id) else {
        return Ok(());
    };
    let written = record.written > sent.start;
    if written != (delivery == Delivery::MaybeApplied) {
        return Err(broken(
            "delivery_told",
            format!(
                "exchange {id:?} (request {}) reported {delivery:?} with {} of the bytes before \
                 its start at {} written",
                sent.index, record.written, sent.start
            ),
        ));
    }
    Ok(())
}

/// Takes every event, checking that each exchange ends once, with its own answer.
fn events<C, M, K>(
    conn: &mut Connection<C, Client<M>>,
    now: Instant,
    model: &K,
    record: &mut Record,
) -> Result<(), ConnectionViolation>
where
    C: Decode,
    M: Match<C>,
    K: ClientModel<C>,
    Client<M>: Role,
{
    loop {
        record.calls += 1;
        let Some(event) = conn.poll_event(now) else {
            return Ok(());
        };
        let (id, end) = match event {
            ClientEvent::Response { id, answer } => {
                let index = record.submitted.get(&id).map(|s| s.index);
                if !index.is_some_and(|i| model.is_answer(&answer, i)) {
                    return Err(broken(
                        "exactly_once_in_order",
                        format!(
                            "exchange {id:?} (request {index:?}) got {}",
                            model.describe(&answer)
                        ),
                    ));
                }
                (id, End::Answered)
            }
            ClientEvent::Expired { id, delivery } => {
                delivery_told(id, delivery, record)?;
                (id, End::Expired { dropped: false })
            }
            ClientEvent::Undecodable { id, .. } => (id, End::Undecodable),
            ClientEvent::Failed { id, delivery, .. } => {
                delivery_told(id, delivery, record)?;
                (id, End::Failed)
            }
            ClientEvent::Dropped { id } => {
                match record.ends.get_mut(&id) {
                    Some(End::Expired { dropped }) if !*dropped => *dropped = true,
                    other => {
                        return Err(broken(
                            "exactly_once_in_order",
                            format!("a late answer dropped for {id:?}, which ended {other:?}"),
                        ))
                    }
                }
                continue;
            }
        };
        if let Some(before) = record.ends.insert(id, end.clone()) {
            return Err(broken(
                "exactly_once_in_order",
                format!("exchange {id:?} ended twice: {before:?}, then {end:?}"),
            ));
        }
    }
}
