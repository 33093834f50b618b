//! Regression tests for the server's failures of issue 21, over loopback sockets, whatever
//! engine runs: a close with nothing written closes, and a pipelined answer never waits
//! behind a large one for bytes the client will not send.
//!
//! Each wait is bounded well below the server's default timeouts (idle 60 s, write 10 s), so
//! a connection that only ends because a timeout fired fails the test instead of passing late.

use std::time::Duration;

use bytes::Bytes;
use framekit::FrameCodec;
use framekit_examples::resp::RequestParser;
use framekit_examples::servers::{self, HandlerStyle};
use framekit_server::{
    Answer, BorrowedHandler, Ctx, Reply, Responder, Server, ServerConfig, ServerHandle,
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

impl BorrowedHandler<Lines, Bytes> for QuitSilently {
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
async fn a_borrowed_close_with_nothing_written_closes_the_connection() {
    let server = Server::bind("127.0.0.1:0")
        .await
        .unwrap()
        .serve_borrowed(lines_codec(), QuitSilently);
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

/// A request as RESP multibulk.
fn resp_command(args: &[&[u8]]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for arg in args {
        out.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
        out.extend_from_slice(arg);
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// `SET big <size>`, `GET big`, `GET big` in one write: all three answers arrive without the
/// client sending anything more.
async fn pipelined_large_answers_all_arrive(style: HandlerStyle, size: usize) {
    let parser = RequestParser::new();
    let config = servers::resp_config(ServerConfig::default(), &parser);
    let server = Server::bind("127.0.0.1:0").await.unwrap().config(config);
    let server = servers::resp_with(server, parser, style);
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
    let what = format!("{style:?}, {size} bytes");
    read_exactly(&mut peer, b"+OK\r\n", &what).await;
    read_exactly(&mut peer, &bulk, &format!("{what}: the first value")).await;
    read_exactly(&mut peer, &bulk, &format!("{what}: the second value")).await;
    drop(peer);
    stop(server).await;
}

#[tokio::test]
async fn a_pipelined_answer_does_not_wait_behind_a_large_one_borrowed() {
    pipelined_large_answers_all_arrive(HandlerStyle::Borrowed, 300 * 1024).await;
    pipelined_large_answers_all_arrive(HandlerStyle::Borrowed, 1024 * 1024).await;
}

#[tokio::test]
async fn a_pipelined_answer_does_not_wait_behind_a_large_one_owned() {
    pipelined_large_answers_all_arrive(HandlerStyle::Owned, 300 * 1024).await;
    pipelined_large_answers_all_arrive(HandlerStyle::Owned, 1024 * 1024).await;
}
