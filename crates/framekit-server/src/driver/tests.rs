//! The driver over real loopback sockets: answers in parts under backpressure, many later
//! answers in flight written in request order, and deadlines that drop a later answer's work.

use std::time::Duration;

use bytes::Bytes;
use framekit::framing::delimited::Delimited;
use framekit::FrameCodec;
use futures::stream;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use crate::{Answer, Ctx, Handler, Reply, Responder, Server, ServerConfig};

type Lines = FrameCodec<Delimited>;

const PART: usize = 16 * 1024;
const PARTS: usize = 256;
const HIGH: usize = 64 * 1024;

/// `big` answers 256 lines of 16 KiB (4 MiB) as a stream; anything else is echoed at once.
struct Big;

impl Handler<Lines, Bytes> for Big {
    type State = ();
    type Later = std::future::Ready<Reply<Bytes>>;

    fn open(&self, _ctx: &Ctx) {}

    fn call(
        &self,
        line: &[u8],
        _: &mut (),
        _ctx: &Ctx,
        out: &mut Responder<'_, Lines, Bytes>,
    ) -> Answer<Self::Later> {
        if line != b"big" {
            out.send(line);
            return Answer::Done;
        }
        let parts = stream::iter(0..PARTS).map(|i| Bytes::from(vec![b'a' + (i % 26) as u8; PART]));
        Answer::Later(std::future::ready(Reply::stream(parts)))
    }
}

use futures::StreamExt;

#[tokio::test]
async fn an_answer_in_parts_is_held_to_the_high_water_mark_while_the_peer_does_not_read() {
    let config = ServerConfig::default().water_marks(HIGH / 4, HIGH);
    let server = Server::bind("127.0.0.1:0")
        .await
        .unwrap()
        .config(config)
        .serve(
            FrameCodec::new(Delimited::newline().max_frame_len(PART + 1)),
            Big,
        );
    let addr = server.local_addr().as_tcp().unwrap();
    let mut peer = TcpStream::connect(addr).await.unwrap();
    peer.write_all(b"big\nafter\n").await.unwrap();
    // The peer reads nothing for a while: the server writes until the socket is full, then
    // holds the rest of the stream where it is.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let peak = server.metrics().outbound_peak;
    assert!(
        peak <= HIGH + PART + 64,
        "owed bytes peaked at {peak}, above the high water mark plus one part"
    );
    let mut lines = BufReader::new(peer);
    for i in 0..PARTS {
        let mut line = Vec::new();
        lines.read_until(b'\n', &mut line).await.unwrap();
        assert_eq!(line.len(), PART + 1, "part {i}");
        assert!(line[..PART].iter().all(|&b| b == b'a' + (i % 26) as u8));
    }
    let mut after = String::new();
    lines.read_line(&mut after).await.unwrap();
    assert_eq!(
        after, "after\n",
        "the next answer follows the stream, in order"
    );
    server.shutdown(Duration::from_secs(1)).await;
}

/// `wait N` answers `N` after N milliseconds; many are in flight at once.
struct Waits;

impl Handler<Lines, Bytes> for Waits {
    type State = ();
    type Later = std::pin::Pin<Box<dyn std::future::Future<Output = Option<Bytes>> + Send>>;

    fn open(&self, _ctx: &Ctx) {}

    fn call(
        &self,
        line: &[u8],
        _: &mut (),
        _ctx: &Ctx,
        _out: &mut Responder<'_, Lines, Bytes>,
    ) -> Answer<Self::Later> {
        let millis: u64 = std::str::from_utf8(line)
            .ok()
            .and_then(|s| s.strip_prefix("wait "))
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        Answer::Later(Box::pin(async move {
            tokio::time::sleep(Duration::from_millis(millis)).await;
            Some(Bytes::from(millis.to_string()))
        }))
    }
}

#[tokio::test]
async fn later_answers_in_flight_together_leave_in_request_order() {
    let server = Server::bind("127.0.0.1:0")
        .await
        .unwrap()
        .serve(FrameCodec::new(Delimited::newline()), Waits);
    let addr = server.local_addr().as_tcp().unwrap();
    let mut peer = TcpStream::connect(addr).await.unwrap();
    let started = std::time::Instant::now();
    // Reverse order of completion: the last request finishes first.
    peer.write_all(b"wait 300\nwait 200\nwait 100\nwait 0\n")
        .await
        .unwrap();
    let mut lines = BufReader::new(peer).lines();
    for want in ["300", "200", "100", "0"] {
        assert_eq!(lines.next_line().await.unwrap().as_deref(), Some(want));
    }
    // Run together, not one after another (600 ms).
    assert!(
        started.elapsed() < Duration::from_millis(550),
        "{:?}",
        started.elapsed()
    );
    server.shutdown(Duration::from_secs(1)).await;
}

#[tokio::test]
async fn a_later_answer_past_its_deadline_is_answered_by_the_hook_and_its_work_dropped() {
    let config = ServerConfig::default().request_timeout(Duration::from_millis(100));
    let server = Server::bind("127.0.0.1:0")
        .await
        .unwrap()
        .config(config)
        .on_failure(|failure| Some(Bytes::from(format!("error: {}", failure.kind))))
        .serve(FrameCodec::new(Delimited::newline()), Waits);
    let addr = server.local_addr().as_tcp().unwrap();
    let mut peer = TcpStream::connect(addr).await.unwrap();
    peer.write_all(b"wait 10000\nwait 0\n").await.unwrap();
    let mut lines = BufReader::new(peer).lines();
    assert_eq!(
        lines.next_line().await.unwrap().as_deref(),
        Some("error: request_timeout")
    );
    assert_eq!(lines.next_line().await.unwrap().as_deref(), Some("0"));
    let mut peer = lines.into_inner().into_inner();
    peer.shutdown().await.unwrap();
    let mut rest = Vec::new();
    peer.read_to_end(&mut rest).await.unwrap();
    assert!(
        rest.is_empty(),
        "nothing after the deadline's answer: {rest:?}"
    );
    server.shutdown(Duration::from_secs(1)).await;
}
