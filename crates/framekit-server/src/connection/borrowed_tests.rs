//! Borrowed handlers without sockets: `serve` over an in-memory pipe with paused time, so the
//! request deadline fires at exactly its instant.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use framekit::framing::delimited::{Delimited, Overlong};
use framekit::FrameCodec;
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::super::{serve, PerView, Shared};
use crate::borrowed::{Answer, BorrowedHandler, Responder};
use crate::config::ServerConfig;
use crate::context::Ctx;
use crate::listener::Addr;
use crate::metrics::CloseReason;
use crate::shared::ErrorHook;

type Lines = FrameCodec<Delimited>;
type Deferred = Pin<Box<dyn Future<Output = Option<Bytes>> + Send>>;

/// Echoes each line from the read buffer; `slow N` answers `slow N` after N ms and `never`
/// never answers (both deferred); `quit` answers `bye` and closes; `fail` fails; `big` answers
/// 64 KiB; `unencodable` answers a line holding the delimiter; `count` answers how many
/// requests this connection has seen (the per-connection state).
struct Echo {
    calls: Arc<AtomicUsize>,
}

impl BorrowedHandler<Lines, Bytes> for Echo {
    type State = u64;
    type Later = Deferred;

    fn open(&self, _ctx: &Ctx) -> u64 {
        0
    }

    fn call(
        &self,
        line: &[u8],
        seen: &mut u64,
        _ctx: &Ctx,
        out: &mut Responder<'_, Lines, Bytes>,
    ) -> Answer<Deferred> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        *seen += 1;
        if let Some(ms) = line.strip_prefix(b"slow ") {
            let ms: u64 = std::str::from_utf8(ms).unwrap().parse().unwrap();
            let answer = Bytes::copy_from_slice(line);
            return Answer::Later(Box::pin(async move {
                tokio::time::sleep(Duration::from_millis(ms)).await;
                Some(answer)
            }));
        }
        match line {
            b"never" => Answer::Later(Box::pin(std::future::pending())),
            b"quit" => {
                out.send(&b"bye"[..]);
                Answer::Close
            }
            b"fail" => Answer::failed("no such thing"),
            b"big" => {
                out.send(&vec![b'x'; 64 * 1024][..]);
                Answer::Done
            }
            b"unencodable" => {
                out.send(&b"two\nlines"[..]);
                Answer::Done
            }
            b"count" => {
                out.send(seen.to_string().as_bytes());
                Answer::Done
            }
            _ => {
                out.send(line);
                Answer::Done
            }
        }
    }
}

struct Running {
    peer: DuplexStream,
    closing: CancellationToken,
    calls: Arc<AtomicUsize>,
    task: JoinHandle<(CloseReason, Duration)>,
}

/// Runs one connection over a pipe of `pipe` bytes each way; the error hook answers
/// `-ERR <kind>`.
fn start(config: ServerConfig, pipe: usize, framing: Delimited) -> Running {
    let (peer, ours) = tokio::io::duplex(pipe);
    let hook: ErrorHook<Bytes> = Arc::new(|f| Some(Bytes::from(format!("-ERR {}", f.kind))));
    let shared = Arc::new(Shared::new(config, Some(hook)));
    let closing = CancellationToken::new();
    let ctx = Ctx::new(1, Addr::other("test"), closing.clone());
    let calls = Arc::new(AtomicUsize::new(0));
    let handler = Echo {
        calls: calls.clone(),
    };
    let task = tokio::spawn(async move {
        let began = Instant::now();
        let kind = Arc::new(PerView::new(handler));
        let reason = serve(ours, FrameCodec::new(framing), kind, shared, ctx).await;
        (reason, began.elapsed())
    });
    Running {
        peer,
        closing,
        calls,
        task,
    }
}

fn lines() -> Delimited {
    Delimited::newline().max_frame_len(128 * 1024)
}

async fn read_all(peer: &mut DuplexStream) -> String {
    let mut got = Vec::new();
    peer.read_to_end(&mut got).await.unwrap();
    String::from_utf8(got).unwrap()
}

#[tokio::test(start_paused = true)]
async fn immediate_and_deferred_answers_keep_request_order() {
    let mut c = start(ServerConfig::default(), 4096, lines());
    c.peer
        .write_all(b"a\nslow 5\nb\nslow 1\nc\nfail\ncount\n")
        .await
        .unwrap();
    c.peer.shutdown().await.unwrap();
    assert_eq!(
        read_all(&mut c.peer).await,
        "a\nslow 5\nb\nslow 1\nc\n-ERR handler_error\n7\n"
    );
    let (reason, _) = c.task.await.unwrap();
    assert_eq!(reason, CloseReason::PeerClosed);
}

#[tokio::test(start_paused = true)]
async fn a_deferred_answer_past_the_request_deadline_is_answered_by_the_hook_in_order() {
    let config = ServerConfig::default().request_timeout(Duration::from_secs(2));
    let mut c = start(config, 4096, lines());
    let began = Instant::now();
    c.peer.write_all(b"first\nnever\nafter\n").await.unwrap();
    let mut got = vec![0u8; "first\n-ERR request_timeout\nafter\n".len()];
    c.peer.read_exact(&mut got).await.unwrap();
    assert_eq!(got, b"first\n-ERR request_timeout\nafter\n");
    assert_eq!(began.elapsed(), Duration::from_secs(2), "at the deadline");
    c.peer.shutdown().await.unwrap();
    assert_eq!(read_all(&mut c.peer).await, "");
    assert_eq!(c.task.await.unwrap().0, CloseReason::PeerClosed);
}

#[tokio::test(start_paused = true)]
async fn the_handler_is_not_called_while_output_is_paused() {
    // 64 KiB answers against a 16 KiB high water mark and a peer that does not read.
    let config = ServerConfig::default().water_marks(4 * 1024, 16 * 1024);
    let mut c = start(config, 1024, lines());
    c.peer.write_all(&b"big\n".repeat(8)).await.unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        c.calls.load(Ordering::Relaxed),
        1,
        "one answer is over the high water mark: the next requests wait in the read buffer"
    );
    c.peer.shutdown().await.unwrap();
    let got = read_all(&mut c.peer).await;
    assert_eq!(
        got.len(),
        8 * (64 * 1024 + 1),
        "every answer, once the peer reads"
    );
    assert_eq!(c.calls.load(Ordering::Relaxed), 8);
    assert_eq!(c.task.await.unwrap().0, CloseReason::PeerClosed);
}

#[tokio::test(start_paused = true)]
async fn a_fatal_decode_error_mid_batch_answers_what_came_before_then_closes() {
    let mut c = start(
        ServerConfig::default(),
        4096,
        Delimited::newline().max_frame_len(16),
    );
    c.peer
        .write_all(b"one\nslow 3\nthis line is far too long\nlater\n")
        .await
        .unwrap();
    assert_eq!(read_all(&mut c.peer).await, "one\nslow 3\n-ERR too_long\n");
    assert_eq!(c.task.await.unwrap().0, CloseReason::DecodeError);
    assert_eq!(
        c.calls.load(Ordering::Relaxed),
        2,
        "nothing after the error"
    );
}

#[tokio::test(start_paused = true)]
async fn a_skipped_frame_is_answered_in_its_place_and_the_connection_goes_on() {
    let framing = Delimited::newline()
        .max_frame_len(16)
        .on_overlong(Overlong::Discard);
    let mut c = start(ServerConfig::default(), 4096, framing);
    c.peer
        .write_all(b"one\nthis line is far too long\ntwo\nunencodable\nthree\n")
        .await
        .unwrap();
    c.peer.shutdown().await.unwrap();
    let got = read_all(&mut c.peer).await;
    let lines: Vec<&str> = got.lines().collect();
    assert_eq!(lines[0], "one");
    assert_eq!(
        lines[1..],
        ["-ERR skipped", "two", "-ERR unencodable", "three"],
        "{got}"
    );
}

#[tokio::test(start_paused = true)]
async fn quit_answers_then_closes_and_nothing_after_it_is_handled() {
    let mut c = start(ServerConfig::default(), 4096, lines());
    c.peer.write_all(b"x\nquit\ny\n").await.unwrap();
    assert_eq!(read_all(&mut c.peer).await, "x\nbye\n");
    assert_eq!(c.task.await.unwrap().0, CloseReason::HandlerDone);
    assert_eq!(c.calls.load(Ordering::Relaxed), 2);
}

#[tokio::test(start_paused = true)]
async fn shutdown_answers_everything_read_and_the_request_under_way() {
    let mut c = start(ServerConfig::default(), 4096, lines());
    c.peer.write_all(b"a\nslow 50\npart").await.unwrap();
    tokio::time::sleep(Duration::from_millis(1)).await;
    c.closing.cancel();
    tokio::time::sleep(Duration::from_millis(1)).await;
    c.peer.write_all(b"ial\n").await.unwrap();
    let got = read_all(&mut c.peer).await;
    assert_eq!(got, "a\nslow 50\npartial\n");
    assert_eq!(c.task.await.unwrap().0, CloseReason::Shutdown);
}
