//! framekit-server's protocol hooks over real loopback sockets: a handler closing the
//! connection after its reply, the input budget answered through the error reply hook,
//! connections that carry on after a recoverable decode error, and codecs: an `Encoder` codec
//! with a response encoder of its own, and a codec made for every connection.
//!
//! Every test is bounded in time (`within`), and asserts outcomes (what the peer received, what
//! the counters say), never how long something took.

use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use framekit::framing::delimited::{Delimited, Overlong};
use framekit::payload::{Text, Utf8};
use framekit::FrameCodec;
use framekit_server::{
    codec::WithEncoder, error::InputBudgetExceeded, metrics::CloseReason, Ctx, Failure, Inbox,
    Outbox, Reply, Server, ServerConfig,
};
use futures::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

mod support;
use support::*;

fn error_reply(failure: &Failure<'_>) -> Option<Bytes> {
    Some(Bytes::from(format!("ERR {}", failure.kind)))
}

/// The error's kind alone: short enough for frames of at most 8 bytes.
fn kind_reply(failure: &Failure<'_>) -> Option<Bytes> {
    Some(Bytes::from_static(failure.kind.as_bytes()))
}

/// Echoes lines; `slow` answers late, `quit` answers `bye` and closes, `stop` closes without
/// an answer.
async fn quitting_echo(req: Bytes, _ctx: Ctx) -> Reply<Bytes> {
    match &req[..] {
        b"quit" => Reply::last(Bytes::from_static(b"bye")),
        b"stop" => Reply::close(),
        b"slow" => {
            tokio::time::sleep(Duration::from_millis(100)).await;
            Reply::One(req)
        }
        b"hang" => std::future::pending().await,
        _ => Reply::One(req),
    }
}

#[tokio::test]
async fn a_handler_closes_the_connection_after_its_last_reply() {
    let server = Server::bind("127.0.0.1:0")
        .await
        .unwrap()
        .serve(lines_codec(), quitting_echo);
    // Everything in one write, so the requests after QUIT are read ahead: they are not
    // answered, and the earlier (slow) one still is, in order.
    let got = exchange(&server, b"slow\na\nquit\nb\nc\n").await;
    assert_eq!(got, "slow\na\nbye\n");
    let got = exchange(&server, b"a\nstop\nb\n").await;
    assert_eq!(got, "a\n");
    let snap = wait_for(&server, "both closed", |s| s.closed_total() == 2).await;
    assert_eq!(snap.closed(CloseReason::HandlerDone), 2);
    stop(server).await;
}

#[tokio::test]
async fn nothing_after_the_last_reply_is_answered_not_even_a_decode_error() {
    let server = Server::bind("127.0.0.1:0")
        .await
        .unwrap()
        .on_failure(kind_reply)
        .serve(
            FrameCodec::new(Delimited::newline().max_frame_len(8)),
            quitting_echo,
        );
    let got = exchange(&server, b"slow\nquit\nthis line is too long\n").await;
    assert_eq!(got, "slow\nbye\n");
    let snap = wait_for(&server, "closed", |s| s.closed_total() == 1).await;
    assert_eq!(snap.closed(CloseReason::HandlerDone), 1);
    stop(server).await;
}

#[tokio::test]
async fn the_input_budget_is_answered_through_the_error_reply_hook() {
    // The framing would take a 16 MiB line; the budget says 1 KiB. The peer learns why with
    // the same hook as for codec errors, after the answers to its earlier requests.
    let server = Server::bind("127.0.0.1:0")
        .await
        .unwrap()
        .config(ServerConfig::default().input_budget(1024))
        .on_failure(|failure| {
            let budget = failure
                .error
                .downcast_ref::<InputBudgetExceeded>()
                .map(|e| e.budget);
            Some(Bytes::from(format!(
                "ERR {} {} {budget:?}",
                failure.kind,
                failure.is_input_budget()
            )))
        })
        .serve(
            FrameCodec::new(Delimited::newline().max_frame_len(16 * 1024 * 1024)),
            |req: Bytes, _ctx: Ctx| async move { Some(req) },
        );
    let mut request = b"hi\n".to_vec();
    request.extend_from_slice(&[b'x'; 4000]);
    let got = exchange(&server, &request).await;
    assert_eq!(got, "hi\nERR input_budget true Some(1024)\n");
    let snap = wait_for(&server, "closed", |s| s.closed_total() == 1).await;
    assert_eq!(snap.closed(CloseReason::InputBudget), 1);
    assert_eq!(snap.errors_of("input_budget"), 1);
    stop(server).await;
}

#[tokio::test]
async fn fit_framing_lets_the_framing_refuse_over_long_frames_first() {
    let framing = Delimited::newline().max_frame_len(4096);
    let server = Server::bind("127.0.0.1:0")
        .await
        .unwrap()
        .config(
            ServerConfig::default()
                .input_budget(1024)
                .fit_framing(&framing),
        )
        .on_failure(error_reply)
        .serve(
            FrameCodec::new(framing),
            |req: Bytes, _ctx: Ctx| async move { Some(req) },
        );
    // 2000 bytes: over the budget asked for, within the framing's limit: answered.
    let mut request = vec![b'y'; 2000];
    request.extend_from_slice(b"\n");
    request.extend_from_slice(&[b'z'; 5000]);
    let got = exchange(&server, &request).await;
    assert_eq!(got, format!("{}\nERR too_long\n", "y".repeat(2000)));
    stop(server).await;
}

#[tokio::test]
async fn a_skipped_over_long_frame_is_answered_and_the_connection_goes_on() {
    let server = Server::bind("127.0.0.1:0")
        .await
        .unwrap()
        .on_failure(kind_reply)
        .serve(
            FrameCodec::new(
                Delimited::newline()
                    .max_frame_len(8)
                    .on_overlong(Overlong::Discard),
            ),
            quitting_echo,
        );
    let mut client = line_client(&server).await;
    // The error reply keeps its place among the answers, behind a slow earlier one.
    send(&mut client, "slow\nthis line is too long\nfine\n").await;
    assert_eq!(next_line(&mut client).await.as_deref(), Some("slow"));
    assert_eq!(next_line(&mut client).await.as_deref(), Some("skipped"));
    assert_eq!(next_line(&mut client).await.as_deref(), Some("fine"));
    send(&mut client, "again\n").await;
    assert_eq!(next_line(&mut client).await.as_deref(), Some("again"));
    let snap = server.metrics();
    assert_eq!(snap.errors_of("skipped"), 1);
    assert_eq!(snap.closed_total(), 0);
    drop(client);
    stop(server).await;
}

#[tokio::test]
async fn a_bad_payload_is_answered_and_the_connection_goes_on() {
    let server = Server::bind("127.0.0.1:0")
        .await
        .unwrap()
        .on_failure(|failure| Some(format!("ERR {}", failure.kind)))
        .serve(
            FrameCodec::with_payload(Delimited::newline(), Utf8),
            |req: Text, _ctx: Ctx| async move { Some(req.to_uppercase()) },
        );
    let got = {
        let mut stream = connect(&server).await;
        stream.write_all(b"one\n\xff\xfe\ntwo\n").await.unwrap();
        stream.shutdown().await.unwrap();
        let mut got = Vec::new();
        within("read to the close", stream.read_to_end(&mut got))
            .await
            .unwrap();
        String::from_utf8(got).unwrap()
    };
    assert_eq!(got, "ONE\nERR payload\nTWO\n");
    stop(server).await;
}

#[tokio::test]
async fn with_recovery_off_every_decode_error_closes() {
    let server = Server::bind("127.0.0.1:0")
        .await
        .unwrap()
        .config(ServerConfig::default().recover_decode_errors(false))
        .on_failure(kind_reply)
        .serve(
            FrameCodec::new(
                Delimited::newline()
                    .max_frame_len(8)
                    .on_overlong(Overlong::Discard),
            ),
            quitting_echo,
        );
    let got = exchange(&server, b"ok\nthis line is too long\nfine\n").await;
    assert_eq!(got, "ok\nskipped\n");
    let snap = wait_for(&server, "closed", |s| s.closed_total() == 1).await;
    assert_eq!(snap.closed(CloseReason::DecodeError), 1);
    stop(server).await;
}

#[tokio::test]
async fn a_fatal_decode_error_closes_even_with_recovery_on() {
    // Under the default `Overlong::Error` an over-long line leaves the stream position unknown.
    let server = Server::bind("127.0.0.1:0")
        .await
        .unwrap()
        .on_failure(kind_reply)
        .serve(
            FrameCodec::new(Delimited::newline().max_frame_len(8)),
            quitting_echo,
        );
    let got = exchange(&server, b"ok\nthis line is too long\nfine\n").await;
    assert_eq!(got, "ok\ntoo_long\n");
    stop(server).await;
}

/// A user's codec: newline-framed `Bytes` both ways, a `tokio_util` `Decoder` and `Encoder`
/// (so clients can use it with `Framed`), and not `Clone`.
struct UserLines(FrameCodec<Delimited>);

impl UserLines {
    fn new() -> Self {
        UserLines(FrameCodec::new(
            Delimited::newline().max_frame_len(1024 * 1024),
        ))
    }
}

impl tokio_util::codec::Decoder for UserLines {
    type Item = Bytes;
    type Error = framekit::FrameError;
    fn decode(&mut self, src: &mut bytes::BytesMut) -> Result<Option<Bytes>, Self::Error> {
        self.0.decode(src)
    }
}

impl tokio_util::codec::Encoder<Bytes> for UserLines {
    type Error = framekit::FrameError;
    fn encode(&mut self, item: Bytes, dst: &mut bytes::BytesMut) -> Result<(), Self::Error> {
        self.0.encode(item, dst)
    }
}

/// The same lines, encoded for the server by an encoder of its own, which counts the large
/// lines it wrote.
#[derive(Clone)]
struct CountingLines(Arc<AtomicUsize>);

impl tokio_util::codec::Encoder<Bytes> for CountingLines {
    type Error = framekit::FrameError;
    fn encode(&mut self, line: Bytes, out: &mut bytes::BytesMut) -> Result<(), Self::Error> {
        if line.len() >= 16 * 1024 {
            self.0.fetch_add(1, SeqCst);
        }
        out.extend_from_slice(&line);
        out.extend_from_slice(b"\n");
        Ok(())
    }
}

#[tokio::test]
async fn an_encoder_codec_can_bring_its_own_response_encoder() {
    let large = Arc::new(AtomicUsize::new(0));
    let server = Server::bind("127.0.0.1:0").await.unwrap().serve(
        {
            let large = large.clone();
            move || WithEncoder::new(UserLines::new(), CountingLines(large.clone()))
        },
        |req: Bytes, _ctx: Ctx| async move {
            let n: usize = std::str::from_utf8(&req).unwrap().parse().unwrap();
            Some(Bytes::from(vec![b'v'; n]))
        },
    );
    // A client with the same codec, through `Framed`.
    let mut client = tokio_util::codec::Framed::new(connect(&server).await, UserLines::new());
    client.send(Bytes::from_static(b"100000")).await.unwrap();
    client.send(Bytes::from_static(b"3")).await.unwrap();
    let big = within("big value", client.next()).await.unwrap().unwrap();
    assert!(big.len() == 100_000 && big.iter().all(|b| *b == b'v'));
    let small = within("small value", client.next()).await.unwrap().unwrap();
    assert_eq!(small, "vvv");
    assert_eq!(
        large.load(SeqCst),
        1,
        "the server's own encoder was not used"
    );
    drop(client);
    stop(server).await;
}

#[tokio::test]
async fn serve_makes_a_codec_for_every_connection_from_a_function() {
    // `UserLines` is not `Clone`: each connection gets its own from the function.
    let made = Arc::new(AtomicUsize::new(0));
    let counter = made.clone();
    let server = Server::bind("127.0.0.1:0").await.unwrap().serve(
        move || {
            counter.fetch_add(1, SeqCst);
            UserLines::new()
        },
        |req: Bytes, _ctx: Ctx| async move { Some(req) },
    );
    for word in ["one", "two"] {
        let mut client = line_client(&server).await;
        send(&mut client, &format!("{word}\n")).await;
        assert_eq!(next_line(&mut client).await.as_deref(), Some(word));
    }
    assert_eq!(made.load(SeqCst), 2);
    stop(server).await;
}

#[tokio::test]
async fn serve_duplex_makes_a_codec_for_every_connection_from_a_function() {
    let server = Server::bind("127.0.0.1:0").await.unwrap().serve_duplex(
        UserLines::new,
        |mut inbox: Inbox<Bytes>, mut outbox: Outbox<Bytes>, _ctx: Ctx| async move {
            while let Some(line) = inbox.next().await {
                if outbox.send(line).await.is_err() {
                    return;
                }
            }
        },
    );
    let mut client = line_client(&server).await;
    send(&mut client, "duplex\n").await;
    assert_eq!(next_line(&mut client).await.as_deref(), Some("duplex"));
    drop(client);
    stop(server).await;
}

/// Claims every error is recoverable but never consumes the bad input: a buggy codec.
struct Stuck;

#[derive(Debug)]
struct StuckError;

impl std::fmt::Display for StuckError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("stuck")
    }
}

impl std::error::Error for StuckError {}

impl From<std::io::Error> for StuckError {
    fn from(_: std::io::Error) -> Self {
        StuckError
    }
}

impl framekit_server::CodecError for StuckError {
    fn kind_name(&self) -> &'static str {
        "stuck"
    }
    fn recoverable(&self) -> bool {
        true
    }
}

impl tokio_util::codec::Decoder for Stuck {
    type Item = Bytes;
    type Error = StuckError;
    fn decode(&mut self, src: &mut bytes::BytesMut) -> Result<Option<Bytes>, StuckError> {
        if src.is_empty() {
            Ok(None)
        } else {
            Err(StuckError)
        }
    }
}

impl tokio_util::codec::Encoder<Bytes> for Stuck {
    type Error = StuckError;
    fn encode(&mut self, item: Bytes, dst: &mut bytes::BytesMut) -> Result<(), StuckError> {
        dst.extend_from_slice(&item);
        dst.extend_from_slice(b"\n");
        Ok(())
    }
}

#[tokio::test]
async fn a_recoverable_error_that_consumes_nothing_closes_instead_of_spinning() {
    let server = Server::bind("127.0.0.1:0")
        .await
        .unwrap()
        .on_failure(|failure| {
            Some(Bytes::from(format!(
                "ERR {} recoverable={}",
                failure.kind, failure.recoverable
            )))
        })
        .serve(|| Stuck, |req: Bytes, _ctx: Ctx| async move { Some(req) });
    let got = exchange(&server, b"anything").await;
    assert_eq!(
        got,
        "ERR stuck recoverable=true\nERR stuck recoverable=false\n"
    );
    let snap = wait_for(&server, "closed", |s| s.closed_total() == 1).await;
    assert_eq!(snap.closed(CloseReason::DecodeError), 1);
    stop(server).await;
}

#[tokio::test]
async fn a_handler_that_never_answers_gets_the_hook_reply_and_the_connection_goes_on() {
    let server = Server::bind("127.0.0.1:0")
        .await
        .unwrap()
        .config(ServerConfig::default().request_timeout(Duration::from_millis(200)))
        .on_failure(error_reply)
        .serve(lines_codec(), quitting_echo);
    let mut client = line_client(&server).await;
    send(&mut client, "a\nhang\nb\n").await;
    assert_eq!(next_line(&mut client).await.as_deref(), Some("a"));
    assert_eq!(
        next_line(&mut client).await.as_deref(),
        Some("ERR request_timeout")
    );
    assert_eq!(next_line(&mut client).await.as_deref(), Some("b"));
    send(&mut client, "c\n").await;
    assert_eq!(next_line(&mut client).await.as_deref(), Some("c"));
    assert_eq!(server.metrics().errors_of("request_timeout"), 1);
    drop(client);
    stop(server).await;
}

#[tokio::test]
async fn configured_to_close_a_request_that_never_answers_closes_after_its_reply() {
    let server = Server::bind("127.0.0.1:0")
        .await
        .unwrap()
        .config(
            ServerConfig::default()
                .request_timeout(Duration::from_millis(200))
                .close_on_request_timeout(true),
        )
        .on_failure(error_reply)
        .serve(lines_codec(), quitting_echo);
    let answer = exchange(&server, b"a\nhang\nb\n").await;
    assert_eq!(answer, "a\nERR request_timeout\n");
    let snap = wait_for(&server, "the close", |m| m.closed_total() == 1).await;
    assert_eq!(snap.closed(CloseReason::RequestTimeout), 1);
    stop(server).await;
}
