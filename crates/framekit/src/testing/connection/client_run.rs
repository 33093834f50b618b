//! One run of the connection laws in the client role: the model caller submits requests, a
//! model peer answers each one it reads (in order, or shuffled for a tagged client), and the
//! plan chooses the order of submits, partial writes, answer chunks, deadlines, the peer's close
//! and the caller's.
//!
//! Every exchange must end exactly once (answered with its own answer, expired, undecodable, or
//! failed with the connection), a late answer is dropped at most once and only after an expiry,
//! the bounds hold, no timer fires early, no step spins, and at quiescence nothing is left
//! unfinished.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use bytes::{Buf, Bytes, BytesMut};
use tokio_util::codec::Encoder;

use super::steps::{broken, deliver, fire, linear, pick, write_some, ConnectionViolation};
use crate::connection::{
    Client, ClientEvent, Connection, Decode, ExchangeId, Match, Role, Settings, SubmitError,
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
    /// The step at which the caller closes gracefully, if any.
    pub close_at: Option<usize>,
    /// The machine's settings.
    pub settings: Settings,
}

/// Reads the tag of an answer `a<index>` (the kit's model peer writes them).
#[derive(Debug, Clone, Copy)]
pub struct IndexTag {
    tagged: bool,
}

impl<C> Match<C> for IndexTag
where
    C: Decode,
    for<'b> C::View<'b>: AsRef<[u8]>,
{
    fn tag(&self, answer: &C::View<'_>) -> Option<u64> {
        if !self.tagged {
            return None;
        }
        let digits = answer.as_ref().get(1..)?;
        std::str::from_utf8(digits).ok()?.parse().ok()
    }
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
struct Peer<C> {
    codec: C,
    read: BytesMut,
    /// Answers not yet sent, as (index, wire bytes).
    queued: Vec<(u64, Bytes)>,
    sent: BytesMut,
    closed: bool,
}

impl<C> Peer<C>
where
    C: Decode + Encoder<Bytes>,
    for<'b> C::View<'b>: AsRef<[u8]>,
{
    fn take(&mut self, bytes: &[u8]) -> Result<(), ConnectionViolation> {
        self.read.extend_from_slice(bytes);
        while let Ok(Some(found)) = self.codec.decode(&mut self.read, false) {
            let (view, len) = self.codec.view(&self.read, found);
            let index: u64 = std::str::from_utf8(view.as_ref().get(1..).unwrap_or_default())
                .ok()
                .and_then(|d| d.parse().ok())
                .ok_or_else(|| broken("exactly_once_in_order", "the peer read a bad request"))?;
            drop(view);
            self.read.advance(len);
            let mut wire = BytesMut::new();
            self.codec
                .encode(Bytes::from(format!("a{index}")), &mut wire)
                .map_err(|_| broken("setup", "the codec refused an answer"))?;
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

/// Runs `plan` against a client connection over codecs from `make`, checking every law.
pub fn check_client<F, C>(make: &F, plan: &ClientPlan) -> Result<(), ConnectionViolation>
where
    F: Fn() -> C,
    C: Decode + Encoder<Bytes>,
    for<'b> C::View<'b>: AsRef<[u8]>,
{
    let settings = plan.settings;
    let mut now = Instant::now();
    let matcher = IndexTag {
        tagged: plan.tagged,
    };
    let mut conn = Connection::client(make(), matcher, settings, now);
    let mut peer = Peer {
        codec: make(),
        read: BytesMut::new(),
        queued: Vec::new(),
        sent: BytesMut::new(),
        closed: false,
    };
    let mut index_of: BTreeMap<ExchangeId, u64> = BTreeMap::new();
    let mut ends: BTreeMap<ExchangeId, End> = BTreeMap::new();
    let mut submitted = 0usize;
    let mut delivered = 0usize;
    let mut steps = 0usize;
    let mut calls = 0u64;
    loop {
        events(&mut conn, now, &index_of, &mut ends, &mut calls)?;
        calls += 1;
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
        if conn.owed() > settings.high_water_mark() + 32 {
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
        if plan.close_at == Some(steps) && !conn.is_closed() {
            enabled.push(b'c');
        }
        let Some((event, choice)) = pick(&enabled, &plan.choices, &mut steps)? else {
            break;
        };
        match event {
            b's' => {
                let index = submitted as u64;
                let tag = plan.tagged.then_some(index);
                match conn.submit(Bytes::from(format!("q{index}")), tag, now) {
                    Ok(id) => {
                        index_of.insert(id, index);
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
            b'w' => write_some(&mut conn, choice, now, |bytes| peer.take(bytes))?,
            b'a' => peer.answer(choice, plan.tagged),
            b'r' => {
                let chunk = plan.chunks[steps % plan.chunks.len()];
                deliver(&mut conn, &peer.sent, &mut delivered, chunk, now)?;
            }
            b't' => fire(&mut conn, &mut now)?,
            b'e' => {
                peer.closed = true;
                conn.handle_eof(now);
            }
            _ => conn.close(now),
        }
        now += Duration::from_micros(1);
    }
    events(&mut conn, now, &index_of, &mut ends, &mut calls)?;
    linear(calls, plan.requests, steps)?;
    for id in index_of.keys() {
        if !ends.contains_key(id) {
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

/// Takes every event, checking that each exchange ends once, with its own answer.
fn events<C, M>(
    conn: &mut Connection<C, Client<M>>,
    now: Instant,
    index_of: &BTreeMap<ExchangeId, u64>,
    ends: &mut BTreeMap<ExchangeId, End>,
    calls: &mut u64,
) -> Result<(), ConnectionViolation>
where
    C: Decode,
    M: Match<C>,
    Client<M>: Role,
    for<'b> C::View<'b>: AsRef<[u8]>,
{
    loop {
        *calls += 1;
        let Some(event) = conn.poll_event(now) else {
            return Ok(());
        };
        let (id, end) = match event {
            ClientEvent::Response { id, answer } => {
                let expected = index_of.get(&id).map(|i| format!("a{i}"));
                if expected.as_deref().map(str::as_bytes) != Some(answer.as_ref()) {
                    return Err(broken(
                        "exactly_once_in_order",
                        format!(
                            "exchange {id:?} got {:?}, expected {expected:?}",
                            String::from_utf8_lossy(answer.as_ref())
                        ),
                    ));
                }
                (id, End::Answered)
            }
            ClientEvent::Expired { id, .. } => (id, End::Expired { dropped: false }),
            ClientEvent::Undecodable { id, .. } => (id, End::Undecodable),
            ClientEvent::Failed { id, .. } => (id, End::Failed),
            ClientEvent::Dropped { id } => {
                match ends.get_mut(&id) {
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
        if let Some(before) = ends.insert(id, end.clone()) {
            return Err(broken(
                "exactly_once_in_order",
                format!("exchange {id:?} ended twice: {before:?}, then {end:?}"),
            ));
        }
    }
}
