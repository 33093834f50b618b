//! Each example's server: its codec, its handler and its shared state, started on any
//! framekit-server [`Server`]. The example binaries and the integration tests start servers
//! through these same functions, so what the tests check is what the binaries run.

use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

use bytes::Bytes;
use framekit::FrameError;
use framekit_server::listener::Acceptor;
use framekit_server::{Ctx, Server, ServerConfig, ServerHandle};

use crate::commands::session::lock as lock_session;
use crate::commands::{execute, Now, Outcome, SharedSession, State};
use crate::handlers;
use crate::resp::{RequestParser, RespViewCodec, Value};

/// How often `resp_server` sweeps expired keys, and how many it removes per sweep at most.
pub const EXPIRY_SWEEP: (Duration, usize) = (Duration::from_millis(100), 10_000);

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock cannot leave a store or aggregate half-updated in a way
    // that matters more than staying up.
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// `config` with an input budget that holds the parser's largest request, which is buffered
/// whole before it is parsed.
pub fn resp_config(config: ServerConfig, parser: &RequestParser) -> ServerConfig {
    let budget = config
        .limits()
        .input_budget
        .max(parser.get_max_request_len().saturating_add(1));
    config.input_budget(budget)
}

/// The reply `resp_server` sends a client past the connection limit before closing, as Redis
/// words it.
pub const RESP_SERVER_FULL: &str = "ERR max number of clients reached";

/// `resp_server`: RESP2 requests run one at a time per connection against one shared
/// [`State`] (16 databases, the configuration, the client list); each connection's
/// [`Session`](crate::commands::Session) rides along with its requests in its codec. A protocol
/// error is answered and closes that connection only; a client past the connection limit is
/// told [`RESP_SERVER_FULL`] and closed.
///
/// Each request is applied when it is decoded (the handler does its work before returning a
/// ready future), so pipelined requests act in order, and its reply goes straight to the
/// outbound queue; `QUIT` and protocol errors end the connection after their reply, and
/// nothing read after them is applied.
///
/// Must be called within a tokio runtime: it also starts the expired-key sweeper, which stops
/// when the server is gone.
pub fn resp<A: Acceptor>(server: Server<A, Value>, parser: RequestParser) -> ServerHandle {
    let state = Arc::new(Mutex::new(State::new()));
    tokio::spawn(sweep_expired(Arc::downgrade(&state)));
    let laddr: Arc<str> = server
        .local_addr()
        .map_or_else(|_| Arc::from("?"), |a| Arc::from(a.to_string()));
    server
        .on_failure(|failure| {
            if failure.error.is::<framekit_server::error::RequestTimeout>() {
                return Some(Value::error("ERR timeout"));
            }
            // A peer that closed mid-request is not told anything (it is gone), as in Redis.
            let ended = failure
                .error
                .downcast_ref::<FrameError>()
                .is_some_and(FrameError::is_unexpected_eof);
            (!ended).then(|| Value::error(format!("ERR Protocol error: {}", failure.error)))
        })
        .on_reject(|_peer| Some(Value::error(RESP_SERVER_FULL)))
        .serve(RespViewCodec::new(parser), handlers::Resp { state, laddr })
}

/// Runs one RESP request of the connection `ctx` (whose session is `session`) against the
/// shared `state`, in either style, and hands its outcome to `reply` while the state is still
/// locked (a reply lent from the store is encoded from where it is kept); the session is
/// registered with the client list at its first request.
pub fn respond<T>(
    state: &Mutex<State>,
    session: &SharedSession,
    ctx: &Ctx,
    laddr: &Arc<str>,
    args: &[&[u8]],
    reply: impl FnOnce(Outcome<'_>) -> T,
) -> T {
    let now = Now::system();
    // Lock order: the state, then a session (CLIENT LIST relies on it).
    let mut state = lock(state);
    let mut own = lock_session(session);
    if !own.is_registered() {
        own.register(ctx, laddr, now.instant);
        state.clients.register(session);
    }
    reply(execute(&mut state, &mut own, args, now))
}

/// Calls `f` with the arguments as slices: on the stack for up to 16 (every common command),
/// so the owned style does not allocate for it.
pub fn with_slices<T>(args: &[Bytes], f: impl FnOnce(&[&[u8]]) -> T) -> T {
    const ON_STACK: usize = 16;
    if args.len() <= ON_STACK {
        let mut slices: [&[u8]; ON_STACK] = [&[]; ON_STACK];
        for (slot, arg) in slices.iter_mut().zip(args) {
            *slot = arg;
        }
        f(&slices[..args.len()])
    } else {
        f(&args.iter().map(|a| &a[..]).collect::<Vec<_>>())
    }
}

async fn sweep_expired(store: Weak<Mutex<State>>) {
    let (every, budget) = EXPIRY_SWEEP;
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let Some(store) = store.upgrade() else {
            return;
        };
        let purged = lock(&store).purge_expired(Instant::now(), budget);
        if purged > 0 {
            tracing::debug!(purged, "expired keys removed");
        }
    }
}
