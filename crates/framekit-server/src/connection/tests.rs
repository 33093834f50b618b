//! The engine without sockets: `run` over an in-memory pipe, with paused time, so every timer
//! fires at exactly its deadline.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use framekit::framing::delimited::Delimited;
use framekit::FrameCodec;
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::*;
use crate::config::{ServerConfig, Timeout};
use crate::handler::Handler;
use crate::listener::Addr;
use crate::shared::ErrorHook;

/// Echoes lines; `never` is never answered, `big` is answered with 64 KiB.
fn echo() -> impl Handler<Bytes, Output = Option<Bytes>> {
    |req: Bytes, _ctx: Ctx| async move {
        match &req[..] {
            b"never" => std::future::pending().await,
            b"big" => Some(Bytes::from(vec![b'x'; 64 * 1024])),
            // The newline framing cannot encode a payload holding its delimiter.
            b"unencodable" => Some(Bytes::from_static(b"two\nlines")),
            _ => Some(req),
        }
    }
}

struct Running {
    peer: DuplexStream,
    closing: CancellationToken,
    task: JoinHandle<(CloseReason, Duration)>,
}

/// Runs one connection over a pipe of `pipe` bytes each way, with lines of at most 128 KiB;
/// the error hook answers with `-ERR <kind>`.
fn start(config: ServerConfig, pipe: usize) -> Running {
    start_with(config, pipe, 128 * 1024)
}

fn start_with(config: ServerConfig, pipe: usize, max_line: usize) -> Running {
    let (peer, ours) = tokio::io::duplex(pipe);
    let hook: ErrorHook<Bytes> = Arc::new(|f| Some(Bytes::from(format!("-ERR {}", f.kind))));
    let shared = Arc::new(Shared::new(config, Some(hook)));
    let closing = CancellationToken::new();
    let ctx = Ctx::new(1, Addr::other("test"), closing.clone());
    let task = tokio::spawn(async move {
        let began = Instant::now();
        let codec = FrameCodec::new(Delimited::newline().max_frame_len(max_line));
        let reason = serve(
            ours,
            codec,
            Arc::new(PerRequest(Arc::new(echo()))),
            shared,
            ctx,
        )
        .await;
        (reason, began.elapsed())
    });
    Running {
        peer,
        closing,
        task,
    }
}

async fn read_all(peer: &mut DuplexStream) -> String {
    let mut got = Vec::new();
    peer.read_to_end(&mut got).await.unwrap();
    String::from_utf8(got).unwrap()
}

async fn read_line(peer: &mut DuplexStream) -> String {
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    while peer.read(&mut byte).await.unwrap() == 1 && byte[0] != b'\n' {
        line.push(byte[0]);
    }
    String::from_utf8(line).unwrap()
}

const SECOND: Duration = Duration::from_secs(1);

#[tokio::test(start_paused = true)]
async fn a_silent_peer_is_closed_at_the_idle_timeout() {
    let mut c = start(ServerConfig::default().idle_timeout(30 * SECOND), 4096);
    c.peer.write_all(b"hi\n").await.unwrap();
    assert_eq!(read_line(&mut c.peer).await, "hi");
    let (reason, after) = c.task.await.unwrap();
    assert_eq!(reason, CloseReason::IdleTimeout);
    assert_eq!(after, 30 * SECOND, "counted from the last activity");
}

#[tokio::test(start_paused = true)]
async fn a_frame_that_never_finishes_is_closed_at_the_frame_timeout() {
    let mut c = start(ServerConfig::default().frame_timeout(5 * SECOND), 4096);
    c.peer.write_all(b"no newline yet").await.unwrap();
    let (reason, after) = c.task.await.unwrap();
    assert_eq!(reason, CloseReason::FrameTimeout);
    assert_eq!(after, 5 * SECOND);
}

#[tokio::test(start_paused = true)]
async fn a_peer_that_does_not_read_is_closed_at_the_write_timeout() {
    let config = ServerConfig::default().write_timeout(3 * SECOND);
    let mut c = start(config, 1024);
    c.peer.write_all(b"big\n").await.unwrap();
    let (reason, after) = c.task.await.unwrap();
    assert_eq!(reason, CloseReason::WriteTimeout);
    assert_eq!(
        after,
        3 * SECOND,
        "the pipe filled at once; nothing moved since"
    );
}

/// A year of paused time: far past every default and every finite timeout of these tests.
const YEAR: Duration = Duration::from_secs(365 * 24 * 3600);

/// With every timeout `t` ("none", or `Duration::MAX`, which is past the clock's end), a
/// started frame, an unanswered request, unread output and silence all outlast a year, and
/// nothing panics.
async fn no_timeout_fires(t: Timeout) {
    let config = ServerConfig::default()
        .idle_timeout(t)
        .frame_timeout(t)
        .write_timeout(t)
        .request_timeout(t)
        .linger(Duration::MAX);
    let mut c = start(config, 1024);
    c.peer
        .write_all(
            b"big
never
par",
        )
        .await
        .unwrap();
    tokio::time::sleep(YEAR).await;
    assert!(!c.task.is_finished(), "{t:?}: a timer fired");
    let mut big = vec![0u8; 64 * 1024 + 1];
    c.peer.read_exact(&mut big).await.unwrap();
    tokio::time::sleep(YEAR).await;
    assert!(!c.task.is_finished(), "{t:?}: a timer fired");
    c.peer.write_all(b"tial\n").await.unwrap();
    tokio::time::sleep(YEAR).await;
    assert!(!c.task.is_finished(), "{t:?}: a timer fired");
    // `never` is still owed, so the connection would wait for it for ever: end it here.
    c.task.abort();
    assert!(c.task.await.unwrap_err().is_cancelled(), "{t:?}: no panic");
}

#[tokio::test(start_paused = true)]
async fn a_timeout_of_none_never_fires() {
    no_timeout_fires(Timeout::Never).await;
}

#[tokio::test(start_paused = true)]
async fn a_timeout_of_duration_max_never_fires_and_never_panics() {
    no_timeout_fires(Timeout::After(Duration::MAX)).await;
}

#[tokio::test(start_paused = true)]
async fn a_handler_that_never_answers_gets_the_hook_reply_in_order_and_the_connection_goes_on() {
    let config = ServerConfig::default().request_timeout(2 * SECOND);
    let mut c = start(config, 4096);
    let began = Instant::now();
    c.peer.write_all(b"a\nnever\nb\n").await.unwrap();
    assert_eq!(read_line(&mut c.peer).await, "a");
    assert_eq!(read_line(&mut c.peer).await, "-ERR request_timeout");
    assert_eq!(began.elapsed(), 2 * SECOND);
    assert_eq!(
        read_line(&mut c.peer).await,
        "b",
        "later answers wait their turn"
    );
    c.peer.write_all(b"c\n").await.unwrap();
    assert_eq!(read_line(&mut c.peer).await, "c", "the connection goes on");
    c.peer.shutdown().await.unwrap();
    assert_eq!(read_all(&mut c.peer).await, "");
    assert_eq!(c.task.await.unwrap().0, CloseReason::PeerClosed);
}

#[tokio::test(start_paused = true)]
async fn configured_to_close_a_late_request_answers_then_closes() {
    let config = ServerConfig::default()
        .request_timeout(2 * SECOND)
        .close_on_request_timeout(true);
    let mut c = start(config, 4096);
    c.peer.write_all(b"a\nnever\nb\n").await.unwrap();
    assert_eq!(read_all(&mut c.peer).await, "a\n-ERR request_timeout\n");
    assert_eq!(c.task.await.unwrap().0, CloseReason::RequestTimeout);
}

#[tokio::test(start_paused = true)]
async fn after_an_error_reply_the_connection_lingers_for_its_own_setting() {
    let config = ServerConfig::default()
        .linger(4 * SECOND)
        .idle_timeout(60 * SECOND)
        .recover_decode_errors(false);
    let mut c = start_with(config, 4096, 16);
    c.peer.write_all(&[b'x'; 64]).await.unwrap();
    assert_eq!(read_line(&mut c.peer).await, "-ERR too_long");
    assert_eq!(read_all(&mut c.peer).await, "", "FIN after the reply");
    let began = Instant::now();
    // The peer keeps its side open: the server reads and discards until the linger ends.
    let (reason, _) = c.task.await.unwrap();
    assert_ne!(reason, CloseReason::PeerClosed);
    assert_eq!(began.elapsed(), 4 * SECOND);
}

#[tokio::test(start_paused = true)]
async fn at_shutdown_buffered_requests_are_answered_then_fin() {
    let mut c = start(ServerConfig::default().linger(Duration::ZERO), 4096);
    c.peer.write_all(b"one\ntwo\n").await.unwrap();
    assert_eq!(read_line(&mut c.peer).await, "one");
    c.closing.cancel();
    assert_eq!(read_all(&mut c.peer).await, "two\n");
    assert_eq!(c.task.await.unwrap().0, CloseReason::Shutdown);
}

#[tokio::test(start_paused = true)]
async fn an_unencodable_response_is_answered_by_the_hook_and_the_connection_goes_on() {
    let mut c = start(ServerConfig::default(), 4096);
    c.peer.write_all(b"a\nunencodable\nb\n").await.unwrap();
    assert_eq!(read_line(&mut c.peer).await, "a");
    let answer = read_line(&mut c.peer).await;
    assert!(
        answer.starts_with("-ERR "),
        "the hook's reply, not half a frame: {answer}"
    );
    assert_eq!(read_line(&mut c.peer).await, "b");
    c.peer.shutdown().await.unwrap();
    assert_eq!(read_all(&mut c.peer).await, "");
    assert_eq!(c.task.await.unwrap().0, CloseReason::PeerClosed);
}

/// What one connection's future may weigh, in bytes, with a line codec and a request/response
/// handler over an in-memory pipe, as built by the test profile with every feature: 624 bytes
/// when this limit was stated, which is what a parked connection's task carries (see the module
/// doc of `connection` for where they go). It was 1,864 before the busy phase was boxed apart
/// and 632 before the parked wait held only borrows; 616 until `FrameCodec` gained its
/// empty-discard flag (8 bytes with its padding), which the codec carries in every connection:
/// a connection that grows back past this is carrying a busy connection's state while idle.
/// The task around it adds tokio's header and the server's guard.
const MAX_CONNECTION_FUTURE: usize = 624;

#[test]
fn the_connection_future_stays_within_its_stated_size() {
    let (_peer, ours) = tokio::io::duplex(64);
    let shared = Arc::new(Shared::new(ServerConfig::default(), None));
    let ctx = Ctx::new(1, Addr::other("test"), CancellationToken::new());
    let kind = Arc::new(PerRequest(Arc::new(echo())));
    let fut = serve(
        ours,
        FrameCodec::new(Delimited::newline()),
        kind,
        shared,
        ctx,
    );
    let size = std::mem::size_of_val(&fut);
    eprintln!("connection future: {size} bytes");
    assert!(
        size <= MAX_CONNECTION_FUTURE,
        "the connection future grew to {size} bytes (limit {MAX_CONNECTION_FUTURE})"
    );
}

#[test]
fn a_value_boxed_in_place_is_the_value_and_is_dropped_once() {
    /// Counts its drops in a shared cell.
    struct Counted(Arc<std::sync::atomic::AtomicUsize>, [u8; 900]);
    impl Drop for Counted {
        fn drop(&mut self) {
            self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    }
    let drops = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut bytes = [0u8; 900];
    bytes[899] = 7;
    let boxed = boxed_in_place(|| Counted(drops.clone(), bytes));
    assert_eq!(boxed.1[899], 7, "the box holds the value written");
    assert_eq!(
        drops.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "nothing dropped yet"
    );
    drop(boxed);
    assert_eq!(
        drops.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "dropped once, with its box"
    );

    // A future boxed so runs to its output as it would unboxed.
    let ready = boxed_in_place(|| async { 41 + 1 });
    assert_eq!(futures::executor::block_on(ready), 42);
}
