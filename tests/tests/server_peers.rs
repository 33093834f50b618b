//! framekit-server over real loopback sockets: a peer that never reads, trickles a frame,
//! declares an oversized one, sends a malformed one or vanishes costs only its own connection,
//! is told why where the protocol allows, and frees everything it held.
//!
//! Every test is bounded in time (`within`), and asserts outcomes (what the peer received, what
//! the counters say), never how long something took.

use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use framekit::framing::delimited::Delimited;
use framekit::framing::length_prefixed::LengthPrefixed;
use framekit::FrameCodec;
use framekit_server::{metrics::CloseReason, Ctx, Inbox, Outbox, Server, ServerConfig};
use futures::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_util::codec::Framed;

mod support;
use support::*;

#[tokio::test]
async fn client_that_never_reads_is_held_to_the_high_water_mark_then_timed_out() {
    const LOW: usize = 16 * 1024;
    const HIGH: usize = 64 * 1024;
    const RESPONSE: usize = 32 * 1024;
    const REQUESTS: usize = 1000; // 32 MB of answers: far more than the kernel buffers hold
    let server = Server::bind("127.0.0.1:0")
        .await
        .unwrap()
        .config(
            ServerConfig::default()
                .water_marks(LOW, HIGH)
                .write_timeout(Duration::from_millis(500)),
        )
        .serve(lines_codec(), |_req: Bytes, _ctx: Ctx| async move {
            Some(Bytes::from(vec![b'x'; RESPONSE]))
        });
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut stream = within(
        "connect",
        socket.connect(server.local_addr().as_tcp().unwrap()),
    )
    .await
    .unwrap();
    stream.write_all(&b"r\n".repeat(REQUESTS)).await.unwrap();
    // Never read. The server must give up on us, having queued at most the high water mark
    // plus one response.
    let snap = wait_for(&server, "write timeout", |s| {
        s.closed(CloseReason::WriteTimeout) == 1
    })
    .await;
    assert!(
        snap.outbound_peak <= HIGH + RESPONSE + 1,
        "queued {} bytes for a peer that does not read",
        snap.outbound_peak
    );
    assert!(
        (snap.frames_out as usize) < REQUESTS,
        "kept handling requests for a peer that does not read"
    );
    assert_eq!(snap.active, 0);
    stop(server).await;
}

#[tokio::test]
async fn slowloris_trickling_a_frame_is_closed_by_the_frame_timeout() {
    let server = Server::bind("127.0.0.1:0")
        .await
        .unwrap()
        .config(
            ServerConfig::default()
                .frame_timeout(Duration::from_millis(300))
                .idle_timeout(Duration::from_secs(60)),
        )
        .serve(lines_codec(), echo_with(""));
    let stream = connect(&server).await;
    let (mut rd, mut wr) = stream.into_split();
    // One byte every 50 ms, never a newline: each byte is progress, but the frame never ends.
    let trickle = tokio::spawn(async move {
        for _ in 0..2000 {
            if wr.write_all(b"x").await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    });
    let mut sink = [0u8; 64];
    let n = within("server closes", rd.read(&mut sink))
        .await
        .unwrap_or(0);
    assert_eq!(n, 0, "no response expected");
    trickle.abort();
    let snap = wait_for(&server, "close counted", |s| s.active == 0).await;
    assert_eq!(snap.closed(CloseReason::FrameTimeout), 1);
    stop(server).await;
}

#[tokio::test]
async fn oversize_frame_is_refused_with_a_reply_before_its_bytes_arrive() {
    let codec = FrameCodec::new(LengthPrefixed::u32_be().max_frame_len(1024));
    let server = Server::bind("127.0.0.1:0")
        .await
        .unwrap()
        .on_failure(|failure| Some(Bytes::from(format!("-ERR {}", failure.kind))))
        .serve(codec.clone(), echo_with(""));
    let mut client = Framed::new(connect(&server).await, codec);
    client.send(&b"fine"[..]).await.unwrap();
    assert_eq!(
        within("echo", client.next()).await.unwrap().unwrap(),
        "fine"
    );
    // Declare a 2 GiB frame: the server must answer and close without waiting for it.
    client
        .get_mut()
        .write_all(&0x8000_0000u32.to_be_bytes())
        .await
        .unwrap();
    assert_eq!(
        within("error reply", client.next()).await.unwrap().unwrap(),
        "-ERR too_long"
    );
    assert!(within("close", client.next()).await.is_none());
    let snap = wait_for(&server, "close counted", |s| s.active == 0).await;
    assert_eq!(snap.errors_of("too_long"), 1);
    assert_eq!(snap.closed(CloseReason::DecodeError), 1);
    assert!(snap.bytes_in < 64, "read {} bytes", snap.bytes_in);
    stop(server).await;
}

#[tokio::test]
async fn malformed_frame_gets_the_error_reply_and_other_connections_never_notice() {
    let server = Server::bind("127.0.0.1:0")
        .await
        .unwrap()
        .on_failure(|_| Some(Bytes::from_static(b"-ERR protocol error")))
        .serve(FrameCodec::new(Delimited::crlf()), echo_with("+"));
    let mut good = line_client(&server).await;
    let mut bad = line_client(&server).await;
    send(&mut good, "PING\r\n").await;
    assert_eq!(next_line(&mut good).await.as_deref(), Some("+PING"));

    // A bare LF in a CRLF protocol: the request before it is still answered, then the reply.
    send(&mut bad, "PING\r\nSMUGGLED\nPING\r\n").await;
    assert_eq!(next_line(&mut bad).await.as_deref(), Some("+PING"));
    assert_eq!(
        next_line(&mut bad).await.as_deref(),
        Some("-ERR protocol error")
    );
    assert_eq!(next_line(&mut bad).await, None);

    send(&mut good, "STILL HERE\r\n").await;
    assert_eq!(next_line(&mut good).await.as_deref(), Some("+STILL HERE"));
    let snap = wait_for(&server, "close counted", |s| s.active == 1).await;
    assert_eq!(snap.errors_of("malformed"), 1);
    assert_eq!(snap.closed(CloseReason::DecodeError), 1);
    stop(server).await;
}

/// Counts how many handler futures were dropped before finishing.
struct DropCount(Arc<AtomicUsize>);
impl Drop for DropCount {
    fn drop(&mut self) {
        self.0.fetch_add(1, SeqCst);
    }
}

#[tokio::test]
async fn abrupt_reset_cancels_the_handlers_and_frees_the_connection() {
    let started = Arc::new(AtomicUsize::new(0));
    let cancelled = Arc::new(AtomicUsize::new(0));
    let (s, c) = (started.clone(), cancelled.clone());
    let server = Server::bind("127.0.0.1:0").await.unwrap().serve(
        lines_codec(),
        move |req: Bytes, _ctx: Ctx| {
            let (s, c) = (s.clone(), c.clone());
            async move {
                let _guard = DropCount(c);
                s.fetch_add(1, SeqCst);
                tokio::time::sleep(Duration::from_secs(3600)).await;
                Some(req)
            }
        },
    );
    let mut stream = connect(&server).await;
    stream.write_all(b"a\nb\nc\n").await.unwrap();
    within("handlers start", async {
        while started.load(SeqCst) < 3 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    stream.set_zero_linger().unwrap();
    drop(stream); // RST
    let snap = wait_for(&server, "connection freed", |s| s.active == 0).await;
    assert_eq!(
        cancelled.load(SeqCst),
        3,
        "every handler future was dropped"
    );
    assert_eq!(snap.closed(CloseReason::Reset), 1);
    stop(server).await;
}

#[tokio::test]
async fn duplex_pushes_fail_loudly_once_the_peer_is_gone() {
    // A pub/sub-style handler: a task it spawned pushes with a clone of the outbox, while the
    // handler itself waits on the inbox. When the peer resets, the handler future is dropped
    // and the pusher's next send fails instead of vanishing.
    let send_failed = Arc::new(tokio::sync::Notify::new());
    let handler_dropped = Arc::new(AtomicUsize::new(0));
    let (notify, dropped) = (send_failed.clone(), handler_dropped.clone());
    let server = Server::bind("127.0.0.1:0").await.unwrap().serve_duplex(
        lines_codec(),
        move |mut inbox: Inbox<Bytes>, outbox: Outbox<Bytes>, _ctx: Ctx| {
            let (notify, dropped) = (notify.clone(), dropped.clone());
            async move {
                let _guard = DropCount(dropped);
                let mut pusher = outbox.clone();
                tokio::spawn(async move {
                    let tick = Bytes::from(vec![b't'; 1024]);
                    while pusher.send(tick.clone()).await.is_ok() {
                        tokio::time::sleep(Duration::from_millis(1)).await;
                    }
                    notify.notify_one();
                });
                while inbox.next().await.is_some() {}
                std::future::pending::<()>().await;
            }
        },
    );
    let mut client = line_client(&server).await;
    assert_eq!(next_line(&mut client).await.map(|l| l.len()), Some(1024));
    let stream = client.into_inner().into_inner();
    stream.set_zero_linger().unwrap();
    drop(stream);
    within("the pusher sees the failed send", send_failed.notified()).await;
    let snap = wait_for(&server, "connection freed", |s| s.active == 0).await;
    assert_eq!(handler_dropped.load(SeqCst), 1);
    assert_eq!(snap.closed_total(), 1);
    stop(server).await;
}
