//! The connection laws: what a [`Connection`](crate::connection::Connection) in the server role
//! must do in every order of events, checked by driving it with a model handler, random
//! chunkings of the input, writes that accept any partial amount, timers at their deadlines and
//! shutdown at any point; in the client role ([`check_client`]) with a model peer that answers
//! each request it reads, in order or (tagged) shuffled, and closes or resets at any point; the
//! protocol is told by a [`ClientModel`], so a codec whose answers are values (a parsed reply)
//! is checked as well as one that lends bytes ([`PayloadModel`]). proptest draws
//! the [`Plan`]s and shrinks a failure to a minimal one; [`check_server`] and [`check_client`]
//! run one plan, so a fuzz target can drive the machine too. In the client role
//! `exactly_once_in_order` reads: every exchange ends exactly once, answered with its own
//! request's answer, expired (its late answer dropped at most once), undecodable, or failed.
//!
//! | law | what must hold |
//! |---|---|
//! | `exactly_once_in_order` | every decoded request gets exactly one answer (all its parts), in request order, or the connection ends with a stated reason |
//! | `close_after_written` | a close (from the handler, a fatal decode error, a deadline, shutdown) ends the connection once everything before it is written, whatever else is pending; nothing after it is answered |
//! | `bounded` | buffered input stays within the input budget; owed bytes within the high water mark plus one part per exchange in flight |
//! | `timers_exact` | a deadline never fires before it is due, and a timeout of [`Timeout::Never`](crate::connection::Timeout) is never armed |
//! | `no_busy_loop` | after the machine answers "nothing to do", asking again without an event changes nothing |
//! | `linear_work` | events asked per run stay linear in the requests and the driver's steps |
//! | `delivery_told` | (client) an exchange that ends unanswered says it may have been applied exactly when some of its bytes were written |
//! | `liveness` | while an answer is due and the output has room, the machine never waits for more input: once input, writes, later answers and deadlines are exhausted, every request is answered or the connection is closed |
//!
//! ```
//! use framekit::{FrameCodec, framing::delimited::Delimited};
//! use framekit::testing::connection::ConnectionLaws;
//!
//! let laws = ConnectionLaws::new(|| FrameCodec::new(Delimited::newline())).cases(32);
//! laws.check_server();
//! laws.check_client();
//! ```
//!
//! What the laws do not cover: the handler is the kit's model (it answers with the request's
//! index, so order and duplication are visible); a user's own handler is held to them by
//! answering through the same [`Responder`](crate::connection::Responder) calls, which the
//! model exercises in every combination (at once, later, never, in parts, close, fail).

mod client_run;
mod model;
mod server_run;
mod steps;

use std::time::Duration;

use bytes::Bytes;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use tokio_util::codec::Encoder;

use crate::connection::{Decode, Settings, Timeout};

pub use client_run::{check_client, ClientPlan};
pub use model::{ClientModel, IndexTag, PayloadModel};
pub use server_run::check_server;
pub use steps::ConnectionViolation;

/// How the model handler answers one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behaviour {
    /// Answers at once.
    Now,
    /// Answers later, when the plan completes it.
    Later,
    /// Answers in this many parts, each written when the machine offers room.
    Parts(u8),
    /// Answers at once and closes the connection.
    Close,
    /// Fails: the failure hook answers for it.
    Fail,
    /// Never answers (only with an exchange timeout: the expiry answers for it).
    Never,
}

/// One run: the requests' behaviours, how the input is cut, and the driver's choices.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Behaviour of request i (cycled when there are more requests).
    pub behaviours: Vec<Behaviour>,
    /// How many requests the peer sends.
    pub requests: usize,
    /// Sizes of the pieces the input arrives in (cycled).
    pub chunks: Vec<usize>,
    /// The driver's choice at each step (cycled): which enabled event happens next, how much a
    /// write accepts.
    pub choices: Vec<u16>,
    /// The step at which shutdown begins, if any.
    pub shutdown_at: Option<usize>,
    /// The machine's settings.
    pub settings: Settings,
}

/// The connection laws for one codec, in the server and the client role.
pub struct ConnectionLaws<F> {
    make: F,
    cases: u32,
}

impl<F, C> ConnectionLaws<F>
where
    F: Fn() -> C,
    C: Decode,
{
    /// The laws for codecs made by `make`.
    pub fn new(make: F) -> Self {
        ConnectionLaws { make, cases: 256 }
    }

    /// How many plans to run.
    pub fn cases(mut self, cases: u32) -> Self {
        self.cases = cases;
        self
    }

    /// Runs every law in the client role over `cases` random plans (pipelined and tagged),
    /// for a codec whose answers are bytes: requests and answers are framed by the codec
    /// ([`PayloadModel`]). Panics with the law broken and the shrunk plan.
    pub fn check_client(&self)
    where
        C: Encoder<Bytes>,
        for<'b> C::View<'b>: AsRef<[u8]>,
    {
        self.check_client_model(|| PayloadModel::new((self.make)()));
    }

    /// Runs every law in the client role over `cases` random plans, the protocol told by a
    /// fresh model from `model` for each plan (see [`ClientModel`]). Panics with the law broken
    /// and the shrunk plan.
    pub fn check_client_model<K>(&self, model: impl Fn() -> K)
    where
        K: ClientModel<C>,
        C: Encoder<K::Request>,
    {
        self.run(client_plans(), |plan| {
            check_client(&self.make, model(), &plan)
        });
    }

    /// Runs every law in the server role over `cases` random plans (requests and answers
    /// framed by the codec); panics with the law broken and the shrunk plan.
    pub fn check_server(&self)
    where
        C: Encoder<Bytes>,
        for<'b> C::View<'b>: AsRef<[u8]>,
    {
        self.run(plans(), |plan| check_server(&self.make, &plan));
    }

    fn run<S: Strategy>(
        &self,
        plans: S,
        check: impl Fn(S::Value) -> Result<(), ConnectionViolation>,
    ) where
        S::Value: std::fmt::Debug,
    {
        let mut runner = TestRunner::new(Config {
            cases: self.cases,
            failure_persistence: None,
            ..Config::default()
        });
        let result = runner.run(&plans, |plan| {
            check(plan).map_err(|v| TestCaseError::fail(v.to_string()))
        });
        if let Err(failure) = result {
            panic!("connection law broken: {failure}");
        }
    }
}

fn settings() -> impl Strategy<Value = Settings> {
    (
        (32usize..4096),
        (1usize..256),
        (0usize..256),
        (1usize..8),
        (timeout(), timeout(), timeout(), timeout()),
    )
        .prop_map(
            |(budget, high, low, in_flight, (idle, exchange, write, frame))| {
                Settings::default()
                    .input_budget(budget)
                    .high_water(high)
                    .low_water(low)
                    .max_in_flight(in_flight)
                    .idle(idle)
                    .exchange(exchange)
                    .write(write)
                    .frame(frame)
            },
        )
}

/// The client plans proptest draws.
pub fn client_plans() -> impl Strategy<Value = ClientPlan> {
    (
        0usize..24,
        any::<bool>(),
        proptest::collection::vec(1usize..64, 1..6),
        proptest::collection::vec(any::<u16>(), 1..32),
        (
            proptest::option::of(0usize..96),
            proptest::option::of(0usize..192),
            proptest::option::of(0usize..96),
        ),
        settings(),
    )
        .prop_map(
            |(
                requests,
                tagged,
                chunks,
                choices,
                (peer_closes_at, reset_at, close_at),
                settings,
            )| {
                ClientPlan {
                    requests,
                    tagged,
                    chunks,
                    choices,
                    peer_closes_at,
                    reset_at,
                    close_at,
                    settings,
                }
            },
        )
}

fn behaviour() -> impl Strategy<Value = Behaviour> {
    prop_oneof![
        4 => Just(Behaviour::Now),
        2 => Just(Behaviour::Later),
        1 => (1u8..5).prop_map(Behaviour::Parts),
        1 => Just(Behaviour::Close),
        1 => Just(Behaviour::Fail),
        1 => Just(Behaviour::Never),
    ]
}

fn timeout() -> impl Strategy<Value = Timeout> {
    prop_oneof![
        Just(Timeout::Never),
        (1u64..50).prop_map(|ms| Timeout::After(Duration::from_millis(ms))),
        Just(Timeout::After(Duration::MAX)),
    ]
}

/// The plans proptest draws.
pub fn plans() -> impl Strategy<Value = Plan> {
    (
        proptest::collection::vec(behaviour(), 1..8),
        0usize..24,
        proptest::collection::vec(1usize..64, 1..6),
        proptest::collection::vec(any::<u16>(), 1..32),
        proptest::option::of(0usize..64),
        settings(),
    )
        .prop_map(
            |(behaviours, requests, chunks, choices, shutdown_at, settings)| Plan {
                behaviours,
                requests,
                chunks,
                choices,
                shutdown_at,
                settings,
            },
        )
}

#[cfg(test)]
mod tests;
