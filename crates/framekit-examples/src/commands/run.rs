//! Running one RESP request against the shared [`State`]: the lock order (the state, then the
//! session), the session's registration at its first request, the arguments lent as slices, and
//! the sweeper that removes expired keys in the background. `resp_server`'s handler calls these.

use std::sync::{Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

use bytes::Bytes;
use framekit_server::{Answer, Ctx, Responder};
use std::sync::Arc;

use crate::resp::{BulkRef, RespViewCodec, Value};

use super::session::lock as lock_session;
use super::{execute, Now, Outcome, SharedSession, State};

/// How often `resp_server` sweeps expired keys, and how many it removes per sweep at most.
pub const EXPIRY_SWEEP: (Duration, usize) = (Duration::from_millis(100), 10_000);

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock cannot leave the state half-updated in a way that matters
    // more than staying up.
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
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

/// Writes a command's `outcome` through the handler's responder and says what the connection
/// does next: a value found in the store is encoded from where it is kept; `QUIT` closes the
/// connection after its reply.
pub fn answer<L>(out: &mut Responder<'_, RespViewCodec, Value>, outcome: Outcome<'_>) -> Answer<L> {
    match outcome {
        Outcome::Reply(v) => {
            out.send(v);
            Answer::Done
        }
        Outcome::Bulk(value) => {
            out.send(BulkRef(value));
            Answer::Done
        }
        Outcome::ReplyAndClose(v) => {
            out.send(v);
            Answer::Close
        }
        Outcome::Nothing => Answer::Done,
    }
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

/// Removes expired keys from `store` every [`EXPIRY_SWEEP`] period, a bounded number per sweep,
/// until the state is gone (the server dropped it). `resp_server` spawns it.
pub async fn sweep_expired(store: Weak<Mutex<State>>) {
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
