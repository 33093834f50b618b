//! One run of a server over the law pipe, with the test as its peer: the input sent as the plan
//! says, the peer's side closed after it or left open, and what the peer saw recorded (the
//! bytes, whether and when the connection ended, the reason the server gave). Runs under
//! tokio's paused clock, so "the server has gone quiet" is the runtime having nothing left to
//! run, not a guess at a delay.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::pipe::{Pipe, Plan, Schedule};
use crate::config::ServerConfig;
use crate::metrics::CloseReason;
use crate::server::Server;
use crate::shutdown::ServerHandle;

/// How long (paused clock) the peer waits for anything: the server's timers are off, so the
/// clock only moves when nothing else can, and this bound is reached only by a server that
/// stopped for good.
pub(super) const BOUND: Duration = Duration::from_secs(600);

/// What the pipe holds in each direction: small, so a server that does not read or a peer
/// that does not read is felt at once (backpressure), as over a socket.
const PIPE_CAPACITY: usize = 4096;

/// Whether the peer closes its side after the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Peer {
    Closes,
    StaysOpen,
}

/// What the peer saw in one run.
#[derive(Debug, Clone)]
pub(super) struct Run {
    /// Bytes of input the peer could deliver (all of it, unless the server stopped reading
    /// or dropped the connection first).
    pub(super) sent: usize,
    /// Whether the peer's writes stalled for good before the input was delivered.
    pub(super) send_stalled: bool,
    /// The output once the server had gone quiet with all input delivered (peer open only).
    pub(super) quiet: Option<Vec<u8>>,
    /// Whether the server had closed its side by then (peer open only).
    pub(super) closed_when_quiet: bool,
    /// All the output the peer read.
    pub(super) output: Vec<u8>,
    /// Whether the peer read the end of the output (the server closed its side).
    pub(super) ended: bool,
    /// The reason the server counted when the connection ended, if it ended.
    pub(super) reason: Option<CloseReason>,
}

/// Serves one connection through `start` over a pipe cut as `plan` says, and plays its peer.
/// Must run inside a runtime with a paused clock.
pub(super) async fn run<S, R>(
    start: &S,
    config: &ServerConfig,
    input: &[u8],
    plan: &Plan,
    peer: Peer,
) -> Run
where
    S: Fn(Server<Pipe, R>) -> ServerHandle,
{
    let (pipe, peer_end) = Pipe::new(plan, PIPE_CAPACITY);
    let handle = start(Server::new(pipe).config(config.clone()));
    let (mut from_server, mut to_server) = tokio::io::split(peer_end);

    // The peer reads everything the server writes, as it arrives, so the server's output never
    // waits on the peer; `seen` is what has arrived so far.
    let seen = Arc::new(Mutex::new(Vec::new()));
    let reader = tokio::spawn({
        let seen = seen.clone();
        async move {
            let mut buf = vec![0u8; 1024];
            loop {
                match from_server.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => lock(&seen).extend_from_slice(&buf[..n]),
                }
            }
        }
    });

    let (sent, send_stalled) = send(&mut to_server, input, plan).await;
    let mut quiet = None;
    let mut closed_when_quiet = false;
    if peer == Peer::StaysOpen {
        // Under the paused clock this sleep ends only once every task is idle: the server has
        // done all it will do without more input.
        tokio::time::sleep(Duration::from_millis(1)).await;
        quiet = Some(lock(&seen).clone());
        closed_when_quiet = reader.is_finished();
    }
    // The peer closes its side now (at once in the closing run; after the quiet wait in the
    // open one, so that connection ends too).
    let _ = tokio::time::timeout(BOUND, to_server.shutdown()).await;
    let ended = tokio::time::timeout(BOUND, reader).await.is_ok();
    let reason = match ended {
        true => counted_close(&handle).await,
        false => None,
    };
    drop(to_server);
    handle.shutdown(Duration::from_secs(1)).await;
    let output = lock(&seen).clone();
    Run {
        sent,
        send_stalled,
        quiet,
        closed_when_quiet,
        output,
        ended,
        reason,
    }
}

/// Sends `input` in the plan's pieces, pausing where it says; returns the bytes delivered and
/// whether the sending stalled for good. A write error (the server dropped the connection)
/// ends the sending: what was not delivered was not needed.
async fn send<W: AsyncWriteExt + Unpin>(
    to_server: &mut W,
    input: &[u8],
    plan: &Plan,
) -> (usize, bool) {
    let mut sizes = Schedule::new(&plan.sends);
    let mut sent = 0;
    let mut piece = 0;
    while sent < input.len() {
        let size = sizes.peek().min(input.len() - sent);
        sizes.advance();
        match tokio::time::timeout(BOUND, to_server.write_all(&input[sent..sent + size])).await {
            Ok(Ok(())) => sent += size,
            Ok(Err(_)) => return (sent, false),
            Err(_) => return (sent, true),
        }
        if plan.pauses.get(piece % plan.pauses.len().max(1)) == Some(&true) {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        piece += 1;
    }
    (sent, false)
}

/// The reason the server counted for its one connection, once it has counted it (the task may
/// still be lingering after the peer saw the end).
async fn counted_close(handle: &ServerHandle) -> Option<CloseReason> {
    let waited = tokio::time::timeout(BOUND, async {
        loop {
            let metrics = handle.metrics();
            if metrics.closed_total() > 0 {
                return CloseReason::ALL
                    .into_iter()
                    .find(|&reason| metrics.closed(reason) > 0);
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    waited.ok().flatten()
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}
