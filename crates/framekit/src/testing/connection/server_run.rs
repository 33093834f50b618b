//! One run of the connection laws: the model driver and handler, and the checks made at every
//! step and at the end.
//!
//! The driver does what an async driver does, in an order the plan chooses: hands the machine
//! a piece of input or the end of it, lets a write take any number of the owed bytes, completes
//! a later answer, moves the clock to the next deadline, or starts shutdown; after each, it
//! takes every event. It stops when nothing is left to do (quiescence).

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use tokio_util::codec::Encoder;

use super::steps::{broken, deliver, fire, linear, pick, write_some, ConnectionViolation};
use super::{Behaviour, Plan};
use crate::connection::{Connection, Decode, Event, ExchangeId, Responder, Server, State, Timeout};

/// What the model handler wrote for one exchange, and where it is.
#[derive(Debug, Default)]
struct Written {
    tokens: Vec<String>,
    closes: bool,
    finished: bool,
}

struct Model {
    plan: Plan,
    /// Per exchange, in id order: what was written for it.
    exchanges: Vec<Written>,
    /// Requests seen, to name answers.
    requests: usize,
    /// Exchanges waiting for a later answer: (id, token).
    later: VecDeque<(ExchangeId, String)>,
    /// Streaming exchanges: (id, request, next part, parts).
    streaming: Vec<(ExchangeId, usize, u8, u8)>,
}

impl Model {
    fn behaviour(&self, request: usize) -> Behaviour {
        let b = self.plan.behaviours[request % self.plan.behaviours.len()];
        let (_, exchange, _) = self.plan.settings.timeouts();
        match b {
            // A timeout that never fires would leave the request unanswered for ever.
            Behaviour::Never if exchange.deadline(Instant::now()).is_none() => Behaviour::Later,
            b => b,
        }
    }

    fn entry(&mut self, id: ExchangeId) -> &mut Written {
        let at = usize::try_from(id.index()).unwrap_or(usize::MAX);
        while self.exchanges.len() <= at {
            self.exchanges.push(Written::default());
        }
        &mut self.exchanges[at]
    }

    fn send<C: Encoder<Bytes>>(&mut self, r: &mut Responder<'_, C>, token: String) {
        if r.send(Bytes::from(token.clone())).is_ok() {
            self.entry(r.id()).tokens.push(token);
        }
    }

    fn finish<C>(&mut self, r: Responder<'_, C>, close: bool) {
        let written = self.entry(r.id());
        written.finished = true;
        written.closes = close;
        if close {
            r.close();
        } else {
            r.finish();
        }
    }

    /// Takes every event the machine has, acting as the handler; counts the calls.
    fn events<C>(&mut self, conn: &mut Connection<C, Server>, now: Instant, calls: &mut u64)
    where
        C: Decode + Encoder<Bytes>,
    {
        loop {
            *calls += 1;
            let Some(event) = conn.poll_event(now) else {
                return;
            };
            match event {
                Event::Request { responder, .. } => {
                    let request = self.requests;
                    self.requests += 1;
                    self.request(responder, request);
                }
                Event::Failed { mut responder, .. } => {
                    self.send(&mut responder, "e".into());
                    self.finish(responder, false);
                }
                Event::Expired(mut responder) => {
                    let id = responder.id();
                    self.later.retain(|(l, _)| *l != id);
                    self.streaming.retain(|s| s.0 != id);
                    self.send(&mut responder, format!("{}~", id.index()));
                    self.finish(responder, false);
                }
                Event::Room(mut responder) => self.room(&mut responder).map_or((), |done| {
                    if done {
                        self.finish(responder, false);
                    } else {
                        let _ = responder.stream();
                    }
                }),
            }
        }
    }

    fn request<C: Encoder<Bytes>>(&mut self, mut r: Responder<'_, C>, request: usize) {
        let id = r.id();
        self.entry(id);
        match self.behaviour(request) {
            Behaviour::Now => {
                self.send(&mut r, format!("{request}"));
                self.finish(r, false);
            }
            Behaviour::Close => {
                self.send(&mut r, format!("{request}"));
                self.finish(r, true);
            }
            Behaviour::Fail => {
                self.send(&mut r, format!("{request}!"));
                self.finish(r, false);
            }
            Behaviour::Later => self.later.push_back((r.later(), format!("{request}"))),
            Behaviour::Never => {
                let _ = r.later();
            }
            Behaviour::Parts(n) => self.streaming.push((r.stream(), request, 0, n)),
        }
    }

    /// Writes parts while there is room; `Some(true)` when the answer is complete.
    fn room<C: Encoder<Bytes>>(&mut self, r: &mut Responder<'_, C>) -> Option<bool> {
        let at = self.streaming.iter().position(|s| s.0 == r.id())?;
        while r.has_room() && self.streaming[at].2 < self.streaming[at].3 {
            let (_, request, part, _) = self.streaming[at];
            self.send(r, format!("{request}.{part}"));
            self.streaming[at].2 += 1;
        }
        let done = self.streaming[at].2 == self.streaming[at].3;
        if done {
            self.streaming.remove(at);
        }
        Some(done)
    }
}

/// Runs `plan` against a server connection over codecs from `make`, checking every law.
pub fn check_server<F, C>(make: &F, plan: &Plan) -> Result<(), ConnectionViolation>
where
    F: Fn() -> C,
    C: Decode + Encoder<Bytes>,
    for<'b> C::View<'b>: AsRef<[u8]>,
{
    let mut encoder = make();
    let mut wire = BytesMut::new();
    for i in 0..plan.requests {
        encoder
            .encode(Bytes::from(format!("r{i}")), &mut wire)
            .map_err(|_| broken("setup", "the codec refused a request"))?;
    }
    let settings = plan.settings;
    let (idle, exchange, write) = settings.timeouts();
    let frame = settings.frame_timeout();
    let never = [idle, exchange, write, frame]
        .iter()
        .all(|t| *t == Timeout::Never);
    let start = Instant::now();
    let mut now = start;
    let mut conn = Connection::server(make(), settings, now);
    let mut model = Model {
        plan: plan.clone(),
        exchanges: Vec::new(),
        requests: 0,
        later: VecDeque::new(),
        streaming: Vec::new(),
    };
    let mut sent = 0usize;
    let mut eof = false;
    let mut out = Vec::new();
    let mut calls = 0u64;
    let mut steps = 0usize;
    loop {
        model.events(&mut conn, now, &mut calls);
        // no_busy_loop: asking again without an event changes nothing.
        let before = (
            conn.state(),
            conn.in_flight(),
            conn.owed(),
            conn.poll_timeout(),
        );
        calls += 1;
        if conn.poll_event(now).is_some() {
            return Err(broken(
                "no_busy_loop",
                "an event after the machine said none",
            ));
        }
        if before
            != (
                conn.state(),
                conn.in_flight(),
                conn.owed(),
                conn.poll_timeout(),
            )
        {
            return Err(broken("no_busy_loop", "asking again changed the machine"));
        }
        bounded(&conn, &settings)?;
        if never && conn.poll_timeout().is_some() {
            return Err(broken(
                "timers_exact",
                "a timer armed with every timeout Never",
            ));
        }
        let mut enabled: Vec<u8> = Vec::new();
        if conn.wants_read() {
            enabled.push(if sent < wire.len() { b'r' } else { b'e' });
        }
        if conn.poll_transmit().is_some() {
            enabled.push(b'w');
        }
        if !model.later.is_empty() && !conn.is_closed() {
            enabled.push(b'l');
        }
        if conn.poll_timeout().is_some() {
            enabled.push(b't');
        }
        if plan.shutdown_at == Some(steps) && !conn.is_closed() {
            enabled.push(b's');
        }
        let Some((event, choice)) = pick(&enabled, &plan.choices, &mut steps)? else {
            break;
        };
        match event {
            b'r' => {
                let chunk = plan.chunks[steps % plan.chunks.len()];
                deliver(&mut conn, &wire, &mut sent, chunk, now)?;
            }
            b'e' => {
                eof = true;
                conn.handle_eof(now);
            }
            b'w' => write_some(&mut conn, choice, now, |bytes| {
                out.extend_from_slice(bytes);
                Ok::<(), ConnectionViolation>(())
            })?,
            b'l' => {
                let (id, token) = model.later.pop_front().expect("enabled");
                if let Some(mut r) = conn.responder(id, now) {
                    model.send(&mut r, token);
                    model.finish(r, false);
                }
            }
            b't' => fire(&mut conn, &mut now)?,
            _ => conn.shutdown(now),
        }
        now += Duration::from_micros(1);
    }
    linear(calls, plan.requests, steps)?;
    finished(make, &model, &conn, &out, eof)
}

/// `bounded`: the input budget and the water marks hold.
fn bounded<C>(
    conn: &Connection<C, Server>,
    settings: &crate::connection::Settings,
) -> Result<(), ConnectionViolation> {
    if conn.buffered() > settings.input_budget_bytes() {
        return Err(broken(
            "bounded",
            format!("{} bytes buffered", conn.buffered()),
        ));
    }
    let part = 32;
    let limit = settings.high_water_mark() + (settings.in_flight_limit() + 1) * part;
    if conn.owed() > limit {
        return Err(broken(
            "bounded",
            format!("{} bytes owed, over {limit}", conn.owed()),
        ));
    }
    Ok(())
}

/// The end of a run: `liveness`, `close_after_written` and `exactly_once_in_order`.
fn finished<F, C>(
    make: &F,
    model: &Model,
    conn: &Connection<C, Server>,
    out: &[u8],
    eof: bool,
) -> Result<(), ConnectionViolation>
where
    F: Fn() -> C,
    C: Decode,
    for<'b> C::View<'b>: AsRef<[u8]>,
{
    let State::Closed(reason) = conn.state() else {
        return Err(broken(
            "liveness",
            format!(
                "nothing left to do but the connection is {:?} (eof {eof}, {} in flight, {} buffered)",
                conn.state(),
                conn.in_flight(),
                conn.buffered()
            ),
        ));
    };
    let mut expected = Vec::new();
    for written in &model.exchanges {
        expected.extend(written.tokens.iter().cloned());
        if written.closes {
            break;
        }
    }
    let mut codec = make();
    let mut buf = BytesMut::from(out);
    let mut seen = Vec::new();
    while let Ok(Some(found)) = codec.decode(&mut buf, true) {
        let (view, len) = codec.view(&buf, found);
        seen.push(String::from_utf8_lossy(view.as_ref()).into_owned());
        drop(view);
        bytes::Buf::advance(&mut buf, len);
    }
    let whole = reason.orderly();
    if (whole && seen != expected) || (!whole && !expected.starts_with(&seen)) {
        return Err(broken(
            "exactly_once_in_order",
            format!("closed ({reason:?}) having written {seen:?}, expected {expected:?}"),
        ));
    }
    if whole
        && model
            .exchanges
            .iter()
            .any(|w| !w.finished && !w.tokens.is_empty())
    {
        let closed_early = model.exchanges.iter().any(|w| w.closes);
        if !closed_early {
            return Err(broken(
                "close_after_written",
                "closed with an answer unfinished",
            ));
        }
    }
    Ok(())
}
