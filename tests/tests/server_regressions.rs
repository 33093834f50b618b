//! Regression tests for the server's four failures of issue 21, over loopback sockets,
//! whatever engine runs: a close with nothing written closes, a huge or absent idle timeout
//! does not panic the connection, a strategy's empty discard cannot pin a connection (it is a
//! typed error that closes it), and a pipelined answer never waits behind a large one for
//! bytes the client will not send.
//!
//! Each wait is bounded well below the server's default timeouts (idle 60 s, write 10 s), so
//! a connection that only ends because a timeout fired fails the test instead of passing late.

#[allow(dead_code, unexpected_cfgs)]
#[path = "../../crates/framekit-examples/examples/resp_server.rs"]
mod resp_server;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use framekit::framing::{Decision, Framing};
use framekit::{FrameCodec, FrameError};
use framekit_examples::resp::RequestParser;
use framekit_server::{
    Answer, Ctx, FailureOrigin, Handler, Reply, Responder, Server, ServerConfig, ServerHandle,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

mod support;
use support::*;

/// How long a close, an answer or a refusal may take here: far below every default timeout.
const PROMPT: Duration = Duration::from_secs(5);

type Lines = FrameCodec<framekit::framing::delimited::Delimited>;

/// `quit` closes without writing anything; every other line is echoed.
struct QuitSilently;

impl Handler<Lines, Bytes> for QuitSilently {
    type State = ();
    type Later = std::future::Ready<Option<Bytes>>;
    fn open(&self, _ctx: &Ctx) {}
    fn call(
        &self,
        line: &[u8],
        _: &mut (),
        _ctx: &Ctx,
        out: &mut Responder<'_, Lines, Bytes>,
    ) -> Answer<Self::Later> {
        if line == b"quit" {
            return Answer::Close;
        }
        out.send(line);
        Answer::Done
    }
}

/// The owned twin of [`QuitSilently`]: `Reply::Close(None)` for `quit`.
fn quit_silently_owned(line: Bytes, _ctx: Ctx) -> std::future::Ready<Reply<Bytes>> {
    std::future::ready(if &line[..] == b"quit" {
        Reply::Close(None)
    } else {
        Reply::One(line)
    })
}

/// Reads until the server closes, within [`PROMPT`]; fails if the connection stays open.
async fn read_to_close(stream: &mut TcpStream, what: &str) -> Vec<u8> {
    let mut got = Vec::new();
    match tokio::time::timeout(PROMPT, stream.read_to_end(&mut got)).await {
        Ok(Ok(_)) => got,
        Ok(Err(e)) => panic!("{what}: read failed: {e}"),
        Err(_) => panic!(
            "{what}: the connection is still open after {PROMPT:?} (read so far: {:?})",
            String::from_utf8_lossy(&got)
        ),
    }
}

/// Reads exactly `want.len()` bytes within [`PROMPT`] and compares them.
async fn read_exactly(stream: &mut TcpStream, want: &[u8], what: &str) {
    let mut got = vec![0; want.len()];
    match tokio::time::timeout(PROMPT, stream.read_exact(&mut got)).await {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => panic!("{what}: read failed: {e}"),
        Err(_) => panic!("{what}: no whole answer after {PROMPT:?}"),
    }
    assert!(got == want, "{what}: wrong bytes");
}

/// `quit` alone, and `a`, its answer read, then `quit`: both close at once.
async fn a_silent_close_closes(server: ServerHandle) {
    let mut first = connect(&server).await;
    first.write_all(b"quit\n").await.unwrap();
    assert_eq!(read_to_close(&mut first, "quit alone").await, b"");

    let mut second = connect(&server).await;
    second.write_all(b"a\n").await.unwrap();
    read_exactly(&mut second, b"a\n", "the answer before quit").await;
    second.write_all(b"quit\n").await.unwrap();
    assert_eq!(
        read_to_close(&mut second, "quit after an answer").await,
        b""
    );

    // In one write it always worked: kept as the control.
    let mut third = connect(&server).await;
    third.write_all(b"a\nquit\nnot handled\n").await.unwrap();
    assert_eq!(read_to_close(&mut third, "a and quit").await, b"a\n");
    stop(server).await;
}

#[tokio::test]
async fn a_handler_close_with_nothing_written_closes_the_connection() {
    let server = Server::bind("127.0.0.1:0")
        .await
        .unwrap()
        .serve(lines_codec(), QuitSilently);
    a_silent_close_closes(server).await;
}

#[tokio::test]
async fn an_owned_close_with_nothing_written_closes_the_connection() {
    let server = Server::bind("127.0.0.1:0")
        .await
        .unwrap()
        .serve(lines_codec(), quit_silently_owned);
    a_silent_close_closes(server).await;
}

#[tokio::test]
async fn an_idle_timeout_of_duration_max_answers_and_keeps_the_connection() {
    let config = ServerConfig::default().idle_timeout(Duration::MAX);
    let server = Server::bind("127.0.0.1:0")
        .await
        .unwrap()
        .config(config)
        .serve(lines_codec(), QuitSilently);
    let mut peer = connect(&server).await;
    peer.write_all(b"one\n").await.unwrap();
    read_exactly(&mut peer, b"one\n", "the first answer").await;
    // Parked in between, and woken again: the connection outlives a pause.
    tokio::time::sleep(Duration::from_millis(50)).await;
    peer.write_all(b"two\nquit\n").await.unwrap();
    assert_eq!(read_to_close(&mut peer, "after the pause").await, b"two\n");
    let snap = server.metrics();
    assert_eq!(snap.accepted, 1, "{snap:?}");
    stop(server).await;
}

/// A strategy that discards whatever is buffered and, asked about an empty buffer (which the
/// codec must not do after a discard that emptied it), answers a zero-length discard, which
/// looped before. It records how often it was asked, and whether about an empty buffer.
#[derive(Clone)]
struct DiscardAll {
    asked: Arc<AtomicUsize>,
    asked_empty: Arc<AtomicBool>,
}

impl Framing for DiscardAll {
    fn decide(&mut self, buf: &[u8]) -> Result<Decision, FrameError> {
        // Bounded, so that a looping codec parks its thread instead of spinning until the
        // test binary ends.
        if self.asked.fetch_add(1, SeqCst) > 1_000_000 {
            std::thread::park();
        }
        self.asked_empty.fetch_or(buf.is_empty(), SeqCst);
        Ok(Decision::Discard {
            len: buf.len(),
            skipped_frame: None,
        })
    }
    fn frame_limit(&self) -> usize {
        64
    }
    fn encode_head(&mut self, _: &[u8], _: &mut bytes::BytesMut) -> Result<(), FrameError> {
        Ok(())
    }
}

/// A strategy whose every answer is a zero-length discard with no skip report: it changes
/// nothing, so it is a strategy error at once.
#[derive(Clone)]
struct DiscardNothing;

impl Framing for DiscardNothing {
    fn decide(&mut self, _buf: &[u8]) -> Result<Decision, FrameError> {
        Ok(Decision::Discard {
            len: 0,
            skipped_frame: None,
        })
    }
    fn frame_limit(&self) -> usize {
        64
    }
    fn encode_head(&mut self, _: &[u8], _: &mut bytes::BytesMut) -> Result<(), FrameError> {
        Ok(())
    }
}

/// What the server's error hook saw: origin, kind, whether the connection went on.
type Seen = Arc<Mutex<Vec<(FailureOrigin, &'static str, bool)>>>;

/// A server of `strategy` on a runtime of its own (one worker), so that a connection task that
/// never yields cannot hang the test's runtime when it is dropped, and the hook's record.
fn isolated_server<F>(strategy: F) -> (tokio::runtime::Runtime, ServerHandle, Seen)
where
    F: Framing + Clone + Send + Sync + 'static,
{
    let server_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let seen: Seen = Arc::default();
    let hook = seen.clone();
    let server = server_rt.block_on(async {
        Server::bind("127.0.0.1:0")
            .await
            .unwrap()
            .on_failure(move |failure| {
                hook.lock()
                    .unwrap()
                    .push((failure.origin, failure.kind, failure.recoverable));
                None
            })
            .serve(FrameCodec::new(strategy), |_: Bytes, _ctx: Ctx| {
                std::future::ready(Some(Bytes::from_static(b"never")))
            })
    });
    (server_rt, server, seen)
}

/// Shuts `server` down from another runtime within [`PROMPT`]; whether it finished.
fn shut_down(server_rt: tokio::runtime::Runtime, server: ServerHandle) -> bool {
    let client_rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let joined = server_rt.spawn(server.shutdown(Duration::from_millis(200)));
    let shut = client_rt.block_on(async { tokio::time::timeout(PROMPT, joined).await.is_ok() });
    server_rt.shutdown_background();
    shut
}

#[test]
fn a_discard_that_empties_the_buffer_is_not_followed_by_a_question_about_nothing() {
    let asked = Arc::new(AtomicUsize::new(0));
    let asked_empty = Arc::new(AtomicBool::new(false));
    let (server_rt, server, seen) = isolated_server(DiscardAll {
        asked: asked.clone(),
        asked_empty: asked_empty.clone(),
    });
    let addr = server.local_addr().as_tcp().unwrap();
    let client_rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let answered = client_rt.block_on(async {
        let mut peer = TcpStream::connect(addr).await.unwrap();
        peer.write_all(b"junk").await.unwrap();
        // Nothing is a frame: no answer, and the connection is open (no close, no reset).
        let mut byte = [0u8; 1];
        let quiet = tokio::time::timeout(Duration::from_millis(300), peer.read(&mut byte)).await;
        // Another connection on the same one-worker server is still taken: nothing pins it.
        let mut other = TcpStream::connect(addr).await.unwrap();
        other.write_all(b"more junk").await.unwrap();
        let other_quiet =
            tokio::time::timeout(Duration::from_millis(300), other.read(&mut byte)).await;
        (quiet.is_err(), other_quiet.is_err())
    });
    let shut = shut_down(server_rt, server);
    let asked = asked.load(SeqCst);
    assert!(
        asked < 1_000,
        "asked {asked} times about two writes: the codec loops"
    );
    assert!(
        !asked_empty.load(SeqCst),
        "decide was asked about an empty buffer"
    );
    assert_eq!(
        answered,
        (true, true),
        "the connections were answered or closed"
    );
    assert!(shut, "graceful shutdown did not finish");
    assert_eq!(
        *seen.lock().unwrap(),
        vec![],
        "no failure: nothing was wrong"
    );
}

#[test]
fn a_zero_length_discard_is_a_typed_error_that_closes_the_connection() {
    let (server_rt, server, seen) = isolated_server(DiscardNothing);
    let addr = server.local_addr().as_tcp().unwrap();
    let client_rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let got = client_rt.block_on(async {
        let mut peer = TcpStream::connect(addr).await.unwrap();
        peer.write_all(b"junk").await.unwrap();
        let mut got = Vec::new();
        tokio::time::timeout(PROMPT, peer.read_to_end(&mut got))
            .await
            .map(|read| read.map(|_| got))
    });
    let shut = shut_down(server_rt, server);
    match got {
        Ok(Ok(got)) => assert_eq!(got, b"", "the hook answers nothing"),
        Ok(Err(e)) => panic!("read failed: {e}"),
        Err(_) => panic!("the connection stayed open after {PROMPT:?}"),
    }
    assert!(shut, "graceful shutdown did not finish");
    assert_eq!(
        *seen.lock().unwrap(),
        vec![(FailureOrigin::Decode, "strategy", false)],
        "one fatal strategy error"
    );
}

/// `SET big <size>`, `GET big`, `GET big` in one write to resp_server (a [`Handler`]): all
/// three answers arrive without the client sending anything more.
async fn pipelined_large_resp_answers_all_arrive(size: usize) {
    let parser = RequestParser::new();
    let config = framekit_examples::resp::server_config(ServerConfig::default(), &parser);
    let server = Server::bind("127.0.0.1:0").await.unwrap().config(config);
    let server = resp_server::serve(server, parser);
    let mut peer = connect(&server).await;
    let value = vec![b'v'; size];
    let mut requests = resp_command(&[b"SET", b"big", &value]);
    requests.extend(resp_command(&[b"GET", b"big"]));
    requests.extend(resp_command(&[b"GET", b"big"]));
    within("send the pipeline", peer.write_all(&requests))
        .await
        .unwrap();
    let mut bulk = format!("${size}\r\n").into_bytes();
    bulk.extend_from_slice(&value);
    bulk.extend_from_slice(b"\r\n");
    let what = format!("resp_server, {size} bytes");
    read_exactly(&mut peer, b"+OK\r\n", &what).await;
    read_exactly(&mut peer, &bulk, &format!("{what}: the first value")).await;
    read_exactly(&mut peer, &bulk, &format!("{what}: the second value")).await;
    drop(peer);
    stop(server).await;
}

/// The owned style's twin: each line is a length and its answer that many `v`s, from an async
/// closure; `<size>`, `<size>`, `2` in one write get all three answers.
async fn pipelined_large_owned_answers_all_arrive(size: usize) {
    let max = 2 * 1024 * 1024;
    let server = Server::bind("127.0.0.1:0").await.unwrap().serve(
        FrameCodec::new(framekit::framing::delimited::Delimited::newline().max_frame_len(max)),
        |line: Bytes, _ctx: Ctx| async move {
            let len = std::str::from_utf8(&line).ok()?.parse::<usize>().ok()?;
            Some(Bytes::from(vec![b'v'; len]))
        },
    );
    let mut peer = connect(&server).await;
    within(
        "send the pipeline",
        peer.write_all(format!("{size}\n{size}\n2\n").as_bytes()),
    )
    .await
    .unwrap();
    let mut line = vec![b'v'; size];
    line.push(b'\n');
    let what = format!("owned, {size} bytes");
    read_exactly(&mut peer, &line, &format!("{what}: the first value")).await;
    read_exactly(&mut peer, &line, &format!("{what}: the second value")).await;
    read_exactly(&mut peer, b"vv\n", &format!("{what}: the small one")).await;
    drop(peer);
    stop(server).await;
}

#[tokio::test]
async fn a_pipelined_answer_does_not_wait_behind_a_large_one() {
    pipelined_large_resp_answers_all_arrive(300 * 1024).await;
    pipelined_large_resp_answers_all_arrive(1024 * 1024).await;
}

#[tokio::test]
async fn a_pipelined_answer_does_not_wait_behind_a_large_one_owned() {
    pipelined_large_owned_answers_all_arrive(300 * 1024).await;
    pipelined_large_owned_answers_all_arrive(1024 * 1024).await;
}
