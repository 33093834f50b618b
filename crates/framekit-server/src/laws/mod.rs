//! The connection laws for your own handler (feature `laws`), through the server's real driver:
//! [`ServerLaws`] starts a [`Server`] as you would (your codec, your handler, your hooks) over
//! an in-memory connection ([`Pipe`]) whose reads arrive in the pieces a proptest-drawn
//! [`Plan`] says and whose writes accept only the plan's partial amounts, plays the peer with
//! your request streams, and holds every run to the laws below. Where
//! `framekit::testing::connection` holds the sans-IO machine to its laws with a model handler,
//! this holds the whole connection task (machine, driver, your handler, your failure hook) to
//! what a peer can see.
//!
//! Every case runs three times, each on a fresh server (so a handler's shared state starts
//! empty every time): the **reference** (the whole input in one write and one read, writes that
//! accept everything, the peer closing its side after the input), then the case's plan with the
//! peer closing, then the plan with the peer leaving its side open.
//!
//! | law | what must hold |
//! |---|---|
//! | [`exactly_once_in_order`](Law::ExactlyOnceInOrder) | for every chunking of the input and every partial-write schedule, the peer receives exactly the reference's bytes: each answer once, in request order |
//! | [`liveness`](Law::Liveness) | with all input delivered and the peer's side left open, once the server has gone quiet every answer of the reference has arrived (and a connection the reference saw closed by the server is closed): no answer waits for more input |
//! | [`close_after_written`](Law::CloseAfterWritten) | when the peer closes its side after the input, the connection ends, and only once everything owed is written: nothing lost, nothing after the close |
//! | [`stated_reason`](Law::StatedReason) | the connection ends with a reason the server states, the reference's, and never by a panic |
//!
//! A request stream is a list of whole requests, valid or malformed, as bytes of the protocol:
//! each one the codec can decide on from its own bytes (a complete request, or bytes it rejects
//! at once), since the liveness law expects every one of them answered without more input. The
//! handler must be deterministic for one stream: the same answers whatever the chunking (use
//! no wall clock, no random numbers in the answers; keep time-relative commands out of the
//! generator).
//!
//! The server's timeouts are turned off for the runs (idle, frame, write and request:
//! [`Timeout::Never`]): the runs use tokio's paused clock, on which "the server has gone quiet"
//! means the runtime has nothing left to run, and a timeout would fire in every quiet wait. The
//! timers themselves are the machine's laws' business (`timers_exact`). The other settings,
//! the input budget above all, are the [`config`](ServerLaws::config) you give.
//!
//! ```
//! use bytes::Bytes;
//! use framekit::{FrameCodec, framing::delimited::Delimited};
//! use framekit_server::laws::ServerLaws;
//! use framekit_server::Ctx;
//! use proptest::prelude::*;
//!
//! // An echo server over newline-framed lines, held to the laws with streams of up to six
//! // lines (some longer than the 16-byte limit: the codec's error closes the connection).
//! let lines = proptest::collection::vec("[a-z]{0,20}\n".prop_map(String::into_bytes), 0..6);
//! ServerLaws::serving(
//!     FrameCodec::new(Delimited::newline().max_frame_len(16)),
//!     |line: Bytes, _ctx: Ctx| async move { Some(line) },
//! )
//! .cases(16)
//! .check(lines);
//! ```
//!
//! [`check_one`](ServerLaws::check_one) runs one stream under one plan and returns the
//! violation, for a fuzz target or a regression test; [`check`](ServerLaws::check) draws
//! both (the plans from [`plans`]) and panics with the shrunk counterexample. A violation
//! says what the peer saw where it departs from the reference, the input and the plan; bytes
//! print as a byte-string literal, a run of more than 8 equal bytes once with its count
//! (`v{5000}`). Both build their own runtime: call them from
//! a plain `#[test]`, not from inside a runtime.

mod check;
mod pipe;
mod run;

use std::fmt;
use std::marker::PhantomData;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

pub use pipe::{Pipe, Plan, PlannedIo};

use self::check::Case;
use self::run::{run, Peer};
use crate::codec::Codecs;
use crate::config::{ServerConfig, Timeout};
use crate::handler::IntoHandler;
use crate::server::Server;
use crate::shutdown::ServerHandle;

/// The connection laws a server is held to, each with a stable name used in failures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Law {
    /// Every chunking and write schedule gives the peer exactly the reference's bytes.
    ExactlyOnceInOrder,
    /// With the input delivered and the peer open, every answer due arrives without more input.
    Liveness,
    /// A peer's close ends the connection once everything owed is written, and nothing after.
    CloseAfterWritten,
    /// The connection ends with a stated reason (the reference's), never a panic.
    StatedReason,
}

impl Law {
    /// The law's name, as printed in failures.
    ///
    /// ```
    /// assert_eq!(framekit_server::laws::Law::Liveness.name(), "liveness");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            Law::ExactlyOnceInOrder => "exactly_once_in_order",
            Law::Liveness => "liveness",
            Law::CloseAfterWritten => "close_after_written",
            Law::StatedReason => "stated_reason",
        }
    }
}

impl fmt::Display for Law {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A broken law: which one, what happened, with which input and which plan.
///
/// ```
/// use framekit_server::laws::{Law, Violation};
/// let v = Violation::new(Law::Liveness, "the last answer did not arrive");
/// assert_eq!(v.law(), Law::Liveness);
/// assert_eq!(v.to_string(), "law `liveness` broke: the last answer did not arrive");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    law: Law,
    detail: String,
}

impl Violation {
    /// A violation of `law`, explained by `detail`.
    pub fn new(law: Law, detail: impl Into<String>) -> Self {
        Violation {
            law,
            detail: detail.into(),
        }
    }

    /// The law that broke.
    pub fn law(&self) -> Law {
        self.law
    }

    /// What happened.
    pub fn detail(&self) -> &str {
        &self.detail
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "law `{}` broke: {}", self.law, self.detail)
    }
}

impl std::error::Error for Violation {}

/// The connection laws for one server: how to start it, its settings, how many cases.
pub struct ServerLaws<S, R> {
    start: S,
    config: ServerConfig,
    cases: u32,
    response: PhantomData<fn() -> R>,
}

impl<S, R> ServerLaws<S, R>
where
    S: Fn(Server<Pipe, R>) -> ServerHandle,
    R: Send + 'static,
{
    /// The laws for the server `start` makes of a [`Server`] (over a [`Pipe`], with the
    /// harness's settings): call your own serve function, with its hooks, as your binary does.
    ///
    /// ```
    /// use bytes::Bytes;
    /// use framekit::{FrameCodec, framing::delimited::Delimited};
    /// use framekit_server::laws::ServerLaws;
    /// use framekit_server::{Ctx, Server, ServerHandle};
    /// use framekit_server::listener::Acceptor;
    ///
    /// // The function a binary calls with its listener, and the laws call with the pipe.
    /// fn serve<A: Acceptor>(server: Server<A, Bytes>) -> ServerHandle {
    ///     server
    ///         .on_failure(|_| Some(Bytes::from_static(b"ERR")))
    ///         .serve(FrameCodec::new(Delimited::newline().max_frame_len(8)),
    ///                |line: Bytes, _ctx: Ctx| async move { Some(line) })
    /// }
    ///
    /// let streams = proptest::collection::vec(
    ///     proptest::sample::select(vec![b"ok\n".to_vec(), b"far too long\n".to_vec()]), 0..5);
    /// ServerLaws::new(serve).cases(8).check(streams);
    /// ```
    pub fn new(start: S) -> Self {
        ServerLaws {
            start,
            config: ServerConfig::default(),
            cases: 32,
            response: PhantomData,
        }
    }

    /// The server's settings (its timeouts are turned off for the runs: see the
    /// [module doc](self)).
    pub fn config(mut self, config: ServerConfig) -> Self {
        self.config = config;
        self
    }

    /// How many cases [`check`](ServerLaws::check) draws (default 32).
    pub fn cases(mut self, cases: u32) -> Self {
        self.cases = cases;
        self
    }

    /// Holds the server to every law over `cases` request streams drawn from `requests`, each
    /// under a plan drawn from [`plans`]; panics with the law broken and the shrunk stream and
    /// plan. Builds its own runtime: call it outside one.
    pub fn check<St>(&self, requests: St)
    where
        St: Strategy<Value = Vec<Vec<u8>>>,
    {
        let mut runner = TestRunner::new(Config {
            cases: self.cases,
            failure_persistence: None,
            ..Config::default()
        });
        let result = runner.run(&(requests, plans()), |(requests, plan)| {
            self.check_one(&requests, &plan)
                .map_err(|v| TestCaseError::fail(v.to_string()))
        });
        if let Err(failure) = result {
            panic!("server law broken: {failure}");
        }
    }

    /// Holds the server to every law for one request stream under one plan. Builds its own
    /// runtime (paused clock): call it outside one.
    ///
    /// ```
    /// use bytes::Bytes;
    /// use framekit::{FrameCodec, framing::delimited::Delimited};
    /// use framekit_server::laws::{Plan, ServerLaws};
    /// use framekit_server::Ctx;
    ///
    /// let laws = ServerLaws::serving(FrameCodec::new(Delimited::newline()),
    ///     |line: Bytes, _ctx: Ctx| async move { Some(line) });
    /// let drip = Plan { sends: vec![1], pauses: vec![true], reads: vec![1], writes: vec![1, 0] };
    /// laws.check_one(&[b"a\n".to_vec(), b"bc\n".to_vec()], &drip).unwrap();
    /// ```
    pub fn check_one(&self, requests: &[Vec<u8>], plan: &Plan) -> Result<(), Violation> {
        let input = requests.concat();
        let config = self
            .config
            .clone()
            .idle_timeout(Timeout::Never)
            .frame_timeout(Timeout::Never)
            .write_timeout(Timeout::Never)
            .request_timeout(Timeout::Never);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .start_paused(true)
            .build()
            .map_err(|e| {
                Violation::new(Law::StatedReason, format!("no runtime for the run: {e}"))
            })?;
        runtime.block_on(async {
            let whole = Plan::whole();
            let reference = run(&self.start, &config, &input, &whole, Peer::Closes).await;
            let case = Case {
                requests,
                plan: &whole,
            };
            case.check_closing(&reference, &reference, "the reference run")?;
            let case = Case { requests, plan };
            let closing = run(&self.start, &config, &input, plan, Peer::Closes).await;
            case.check_closing(&closing, &reference, "the peer closing after the input")?;
            let open = run(&self.start, &config, &input, plan, Peer::StaysOpen).await;
            case.check_open(&open, &reference)
        })
    }
}

impl<R: Send + 'static> ServerLaws<(), R> {
    /// The laws for a server of `codecs` and `handler` (what [`Server::serve`] takes; both are
    /// cloned for every run) with no hooks.
    pub fn serving<K, How, H, Via>(
        codecs: K,
        handler: H,
    ) -> ServerLaws<impl Fn(Server<Pipe, R>) -> ServerHandle, R>
    where
        K: Codecs<How, R> + Clone,
        H: IntoHandler<K::Codec, R, Via> + Clone,
    {
        ServerLaws::new(move |server: Server<Pipe, R>| {
            server.serve(codecs.clone(), handler.clone())
        })
    }
}

/// The plans proptest draws: the peer's writes of 1 to 63 bytes or the whole rest, pauses
/// after some, the server's reads of 1 to 63 bytes or unlimited (sometimes one that would
/// block), its writes likewise.
pub fn plans() -> impl Strategy<Value = Plan> {
    // "No limit" first: proptest shrinks toward the first choice, so a shrunk plan keeps only
    // the cuts the failure needs.
    let sends = prop_oneof![2 => Just(usize::MAX), 8 => 1usize..64];
    let limits = || prop_oneof![2 => Just(usize::MAX), 8 => 1usize..64, 1 => Just(0usize)];
    (
        proptest::collection::vec(sends, 1..6),
        proptest::collection::vec(any::<bool>(), 1..4),
        proptest::collection::vec(limits(), 1..6),
        proptest::collection::vec(limits(), 1..6),
    )
        .prop_map(|(sends, pauses, reads, writes)| Plan {
            sends,
            pauses,
            reads,
            writes,
        })
}

#[cfg(test)]
mod tests;
