//! framekit-server over real loopback sockets: one test per behaviour of issue 3.
//!
//! Every test is bounded in time (`within`), and asserts outcomes (what the peer received, what
//! the counters say), never how long something took.

use std::io;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use framekit::framing::delimited::Delimited;
use framekit::framing::length_prefixed::LengthPrefixed;
use framekit::FrameCodec;
use framekit_server::{
    Accepted, Acceptor, Addr, CloseReason, Ctx, Inbox, Outbox, Reply, Server, ServerConfig,
    Vectored,
};
use futures::{SinkExt, StreamExt};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio_util::codec::Framed;

mod support;
use support::*;

fn echo_with(prefix: &'static str) -> impl Fn(Bytes, Ctx) -> std::future::Ready<Option<Bytes>> {
    move |req: Bytes, _ctx: Ctx| {
        std::future::ready(Some(Bytes::from([prefix.as_bytes(), &req[..]].concat())))
    }
}

#[tokio::test]
async fn pipelined_requests_are_answered_in_request_order() {
    // Later requests finish first; the answers must still come back in request order, and
    // no more than the in-flight limit are handled at once.
    let running = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    let (r, m) = (running.clone(), most.clone());
    let server = Server::bind("127.0.0.1:0")
        .await
        .unwrap()
        .config(ServerConfig::default().max_in_flight(8))
        .serve(lines_codec(), move |req: Bytes, _ctx: Ctx| {
            let (r, m) = (r.clone(), m.clone());
            async move {
                m.fetch_max(r.fetch_add(1, SeqCst) + 1, SeqCst);
                let n: u64 = std::str::from_utf8(&req).unwrap().parse().unwrap();
                tokio::time::sleep(Duration::from_millis(2 * (20 - n))).await;
                r.fetch_sub(1, SeqCst);
                Some(req)
            }
        });
    let mut client = line_client(&server).await;
    let batch: String = (0..20).map(|i| format!("{i}\n")).collect();
    send(&mut client, &batch).await;
    for i in 0..20 {
        assert_eq!(
            next_line(&mut client).await.as_deref(),
            Some(&*i.to_string())
        );
    }
    let snap = server.metrics();
    assert_eq!((snap.frames_in, snap.frames_out), (20, 20));
    assert!(
        (2..=8).contains(&most.load(SeqCst)),
        "{} handled at once",
        most.load(SeqCst)
    );
    stop(server).await;
}

#[tokio::test]
async fn ready_and_pending_handlers_mixed_still_answer_in_request_order() {
    // Every third request waits (its future is pending when first polled); the others are
    // ready at once. Ready answers must queue behind pending ones, in request order, and a
    // ready `Reply::Close` behind pending answers still lets them out first and ends there.
    let server = Server::bind("127.0.0.1:0")
        .await
        .unwrap()
        .config(ServerConfig::default().max_in_flight(8))
        .serve(lines_codec(), |req: Bytes, _ctx: Ctx| async move {
            if &req[..] == b"quit" {
                return Reply::last(Bytes::from_static(b"bye"));
            }
            let n: u64 = std::str::from_utf8(&req).unwrap().parse().unwrap();
            if n % 3 == 0 {
                tokio::time::sleep(Duration::from_millis(5 + n % 7)).await;
            }
            Reply::One(req)
        });
    let mut client = line_client(&server).await;
    let batch: String = (0..40).map(|i| format!("{i}\n")).collect();
    send(&mut client, &batch).await;
    for i in 0..40 {
        assert_eq!(
            next_line(&mut client).await.as_deref(),
            Some(&*i.to_string())
        );
    }
    // One at a time too: a pending request, then ready ones, then the close.
    send(&mut client, "99\n100\n101\nquit\n102\n").await;
    for want in ["99", "100", "101", "bye"] {
        assert_eq!(next_line(&mut client).await.as_deref(), Some(want));
    }
    assert_eq!(
        next_line(&mut client).await,
        None,
        "nothing after the close"
    );
    let snap = server.metrics();
    assert_eq!(snap.frames_out, 44);
    stop(server).await;
}

#[tokio::test]
async fn streamed_replies_stay_in_request_order() {
    let server = Server::bind("127.0.0.1:0").await.unwrap().serve(
        lines_codec(),
        |req: Bytes, _ctx: Ctx| async move {
            let name = String::from_utf8(req.to_vec()).unwrap();
            Reply::stream(futures::stream::iter(1..=3).then(move |i| {
                let item = Bytes::from(format!("{name}-{i}"));
                async move {
                    tokio::time::sleep(Duration::from_millis(3)).await;
                    item
                }
            }))
        },
    );
    let mut client = line_client(&server).await;
    send(&mut client, "a\nb\n").await;
    for want in ["a-1", "a-2", "a-3", "b-1", "b-2", "b-3"] {
        assert_eq!(next_line(&mut client).await.as_deref(), Some(want));
    }
    stop(server).await;
}

#[tokio::test]
async fn half_closed_peer_still_receives_every_response() {
    let server = Server::bind("127.0.0.1:0").await.unwrap().serve(
        lines_codec(),
        |req: Bytes, _ctx: Ctx| async move {
            tokio::time::sleep(Duration::from_millis(20)).await;
            Some(req)
        },
    );
    let mut stream = connect(&server).await;
    stream.write_all(b"one\ntwo\nthree\n").await.unwrap();
    stream.shutdown().await.unwrap(); // FIN before any answer exists
    let mut answer = String::new();
    within("read to end", stream.read_to_string(&mut answer))
        .await
        .unwrap();
    assert_eq!(answer, "one\ntwo\nthree\n");
    let snap = wait_for(&server, "close", |s| s.active == 0).await;
    assert_eq!(snap.closed(CloseReason::PeerClosed), 1);
    stop(server).await;
}

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_concurrent_connections_are_all_answered() {
    const PEERS: usize = 1000;
    let server = Server::bind("127.0.0.1:0")
        .await
        .unwrap()
        .serve(lines_codec(), echo_with("re:"));
    let addr = server.local_addr().as_tcp().unwrap();
    // Every client holds its connection open until all have been answered.
    let all_answered = Arc::new(tokio::sync::Barrier::new(PEERS + 1));
    let checked = Arc::new(tokio::sync::Barrier::new(PEERS + 1));
    let mut clients = tokio::task::JoinSet::new();
    for i in 0..PEERS {
        let all_answered = all_answered.clone();
        let checked = checked.clone();
        clients.spawn(async move {
            let stream = TcpStream::connect(addr).await?;
            let mut lines = BufReader::new(stream).lines();
            lines
                .get_mut()
                .get_mut()
                .write_all(format!("{i}\n").as_bytes())
                .await?;
            let answer = lines.next_line().await?;
            all_answered.wait().await;
            checked.wait().await;
            Ok::<_, io::Error>(answer == Some(format!("re:{i}")))
        });
    }
    within("all answered", all_answered.wait()).await;
    let snap = server.metrics();
    assert_eq!(snap.active, PEERS, "{snap:?}");
    assert_eq!(snap.accepted, PEERS as u64);
    within("clients may go", checked.wait()).await;
    let mut correct = 0;
    while let Some(joined) = within("clients end", clients.join_next()).await {
        correct += usize::from(joined.unwrap().unwrap());
    }
    assert_eq!(correct, PEERS);
    wait_for(&server, "all closed", |s| s.active == 0).await;
    stop(server).await;
}

#[tokio::test(flavor = "current_thread")]
async fn blocking_work_through_the_helper_does_not_stall_other_connections() {
    // One event-loop thread: had the handler blocked it, the second connection could not be
    // answered until the blocking work ended.
    let started = Arc::new(AtomicBool::new(false));
    let release = Arc::new(AtomicBool::new(false));
    let finished = Arc::new(AtomicBool::new(false));
    let (st, rl, fi) = (started.clone(), release.clone(), finished.clone());
    let server = Server::bind("127.0.0.1:0").await.unwrap().serve(
        lines_codec(),
        move |req: Bytes, ctx: Ctx| {
            let (st, rl, fi) = (st.clone(), rl.clone(), fi.clone());
            async move {
                if &req[..] != b"slow" {
                    return Some(Bytes::from_static(b"fast"));
                }
                ctx.blocking(move || {
                    st.store(true, SeqCst);
                    std::thread::sleep(Duration::from_millis(200));
                    // Then hold on until the test has its other answer (bounded).
                    for _ in 0..2000 {
                        if rl.load(SeqCst) {
                            break;
                        }
                        std::thread::sleep(Duration::from_millis(10));
                    }
                    fi.store(true, SeqCst);
                })
                .await;
                Some(Bytes::from_static(b"slow done"))
            }
        },
    );
    let mut slow = line_client(&server).await;
    let mut fast = line_client(&server).await;
    send(&mut slow, "slow\n").await;
    within("blocking work starts", async {
        while !started.load(SeqCst) {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    send(&mut fast, "quick\n").await;
    assert_eq!(next_line(&mut fast).await.as_deref(), Some("fast"));
    assert!(
        !finished.load(SeqCst),
        "the fast answer came while blocking work was running"
    );
    release.store(true, SeqCst);
    assert_eq!(next_line(&mut slow).await.as_deref(), Some("slow done"));
    stop(server).await;
}

#[tokio::test]
async fn at_the_connection_limit_new_peers_wait_in_the_backlog() {
    let server = Server::bind("127.0.0.1:0")
        .await
        .unwrap()
        .config(ServerConfig::default().max_connections(2))
        .serve(lines_codec(), echo_with(""));
    let mut first = line_client(&server).await;
    let mut second = line_client(&server).await;
    for c in [&mut first, &mut second] {
        send(c, "hi\n").await;
        assert_eq!(next_line(c).await.as_deref(), Some("hi"));
    }
    // The kernel completes the handshake, but the server does not accept: no answer.
    let mut third = line_client(&server).await;
    send(&mut third, "me too\n").await;
    let early = tokio::time::timeout(Duration::from_millis(300), third.next_line()).await;
    assert!(early.is_err(), "answered beyond the connection limit");
    assert_eq!(server.metrics().accepted, 2);
    drop(first);
    assert_eq!(next_line(&mut third).await.as_deref(), Some("me too"));
    assert_eq!(server.metrics().accepted, 3);
    drop(second);
    stop(server).await;
}

#[tokio::test]
async fn at_the_connection_limit_the_reject_hook_replies_and_closes() {
    let server = Server::bind("127.0.0.1:0")
        .await
        .unwrap()
        .config(ServerConfig::default().max_connections(1))
        .on_reject(|_peer| Some(Bytes::from_static(b"-ERR busy")))
        .serve(lines_codec(), echo_with(""));
    let mut first = line_client(&server).await;
    send(&mut first, "hi\n").await;
    assert_eq!(next_line(&mut first).await.as_deref(), Some("hi"));
    let mut second = line_client(&server).await;
    assert_eq!(next_line(&mut second).await.as_deref(), Some("-ERR busy"));
    assert_eq!(next_line(&mut second).await, None);
    send(&mut first, "still\n").await;
    assert_eq!(next_line(&mut first).await.as_deref(), Some("still"));
    let snap = wait_for(&server, "reject counted", |s| {
        s.closed(CloseReason::Rejected) == 1
    })
    .await;
    assert_eq!((snap.accepted, snap.rejected), (1, 1));
    stop(server).await;
}

/// Fails every accept with EMFILE, counting the attempts.
struct OutOfFiles(Arc<AtomicUsize>);

impl Acceptor for OutOfFiles {
    type Io = tokio::io::DuplexStream;
    fn poll_accept(&mut self, _cx: &mut Context<'_>) -> Poll<Option<Accepted<Self::Io>>> {
        self.0.fetch_add(1, SeqCst);
        Poll::Ready(Some(Err(io::Error::from_raw_os_error(24))))
    }
    fn local_addr(&self) -> io::Result<Addr> {
        Ok(Addr::other("out-of-files"))
    }
}

#[tokio::test]
async fn accept_errors_like_emfile_back_off_instead_of_spinning() {
    let attempts = Arc::new(AtomicUsize::new(0));
    let server = Server::new(OutOfFiles(attempts.clone())).serve(lines_codec(), echo_with(""));
    tokio::time::sleep(Duration::from_millis(500)).await;
    let n = attempts.load(SeqCst);
    // Backing off from 5 ms and doubling gives about 7 attempts in 500 ms; a spinning loop
    // would make hundreds of thousands.
    assert!((1..200).contains(&n), "{n} accept attempts in 500 ms");
    assert!(server.metrics().errors_of("accept") >= 1);
    stop(server).await;
}

#[tokio::test]
async fn large_payloads_go_out_intact_with_vectored_writes() {
    let big = Bytes::from(
        (0..4 * 1024 * 1024u32)
            .map(|i| i as u8)
            .collect::<Vec<u8>>(),
    );
    let reply = big.clone();
    let server = Server::bind("127.0.0.1:0").await.unwrap().serve(
        Vectored::new(LengthPrefixed::u32_be()),
        move |_req: Bytes, _ctx: Ctx| {
            let reply = reply.clone();
            async move { Some(reply) }
        },
    );
    let mut client = Framed::new(
        connect(&server).await,
        FrameCodec::new(LengthPrefixed::u32_be()),
    );
    client.send(&b"get"[..]).await.unwrap();
    client.send(&b"get"[..]).await.unwrap();
    for _ in 0..2 {
        let got = within("big reply", client.next()).await.unwrap().unwrap();
        assert!(got == big, "payload differs");
    }
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

#[cfg(unix)]
#[tokio::test]
async fn unix_socket_serves_like_tcp() {
    let path = std::env::temp_dir().join(format!("framekit-server-{}.sock", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let server = Server::bind_unix(&path)
        .unwrap()
        .serve(lines_codec(), echo_with("unix:"));
    assert!(matches!(server.local_addr(), Addr::Unix(Some(p)) if *p == path));
    let stream = within("connect", tokio::net::UnixStream::connect(&path))
        .await
        .unwrap();
    let mut lines = BufReader::new(stream).lines();
    lines.get_mut().write_all(b"hi\n").await.unwrap();
    let answer = within("answer", lines.next_line()).await.unwrap();
    assert_eq!(answer.as_deref(), Some("unix:hi"));
    // Something listens there: a second server is refused, and the file stays.
    let second = Server::<_, Bytes>::bind_unix(&path).err().map(|e| e.kind());
    assert_eq!(second, Some(std::io::ErrorKind::AddrInUse));
    drop(lines);
    stop(server).await;
    assert!(!path.exists(), "the socket file is removed at shutdown");
}

#[cfg(unix)]
#[tokio::test]
async fn a_stale_unix_socket_file_is_replaced_at_bind() {
    let path = std::env::temp_dir().join(format!("framekit-stale-{}.sock", std::process::id()));
    let _ = std::fs::remove_file(&path);
    // A socket file nobody listens on, as a crashed server leaves it.
    drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
    assert!(path.exists());
    let server = Server::bind_unix(&path)
        .unwrap()
        .serve(lines_codec(), echo_with("fresh:"));
    let stream = within("connect", tokio::net::UnixStream::connect(&path))
        .await
        .unwrap();
    let mut lines = BufReader::new(stream).lines();
    lines.get_mut().write_all(b"hi\n").await.unwrap();
    let answer = within("answer", lines.next_line()).await.unwrap();
    assert_eq!(answer.as_deref(), Some("fresh:hi"));
    drop(lines);
    stop(server).await;
    assert!(!path.exists());
}

#[tokio::test]
async fn ipv6_and_port_zero_report_the_bound_address() {
    let Ok(server) = Server::bind("[::1]:0").await else {
        eprintln!("no IPv6 loopback here; skipping");
        return;
    };
    let server = server.serve(lines_codec(), echo_with("v6:"));
    let addr = server.local_addr().as_tcp().unwrap();
    assert!(addr.is_ipv6() && addr.port() != 0);
    let mut client = line_client(&server).await;
    send(&mut client, "hi\n").await;
    assert_eq!(next_line(&mut client).await.as_deref(), Some("v6:hi"));
    drop(client);
    stop(server).await;
}

/// Answers requests, fails on "fail": a tower service with readiness and errors.
#[derive(Clone)]
struct Upper;

impl framekit_server::tower::tower_service::Service<Bytes> for Upper {
    type Response = Option<Bytes>;
    type Error = String;
    type Future = std::future::Ready<Result<Option<Bytes>, String>>;
    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), String>> {
        Poll::Ready(Ok(()))
    }
    fn call(&mut self, req: Bytes) -> Self::Future {
        std::future::ready(if &req[..] == b"fail" {
            Err("refused".to_owned())
        } else {
            Ok(Some(Bytes::from(req.to_ascii_uppercase())))
        })
    }
}

#[tokio::test]
async fn a_tower_service_is_a_handler_and_its_errors_are_answered_by_the_hook() {
    let server = Server::bind("127.0.0.1:0")
        .await
        .unwrap()
        .on_failure(|f| Some(Bytes::from(format!("ERR {}: {}", f.kind, f.error))))
        .serve(
            lines_codec(),
            framekit_server::tower::ServiceHandler::new(Upper),
        );
    let mut client = line_client(&server).await;
    send(&mut client, "abc\nfail\ndef\n").await;
    // The failed request is answered in its place; the connection goes on.
    assert_eq!(next_line(&mut client).await.as_deref(), Some("ABC"));
    assert_eq!(
        next_line(&mut client).await.as_deref(),
        Some("ERR handler_error: refused")
    );
    assert_eq!(next_line(&mut client).await.as_deref(), Some("DEF"));
    assert_eq!(server.metrics().errors_of("handler_error"), 1);
    stop(server).await;
}

#[tokio::test]
async fn buffering_transports_like_tls_are_flushed() {
    // `BufWriter` holds written bytes until flushed, as TLS streams do.
    let (client, server_side) = tokio::io::duplex(64 * 1024);
    let buffered = tokio::io::BufWriter::new(server_side);
    let server = Server::new(framekit_server::StreamAcceptor::new(
        futures::stream::iter(vec![buffered]),
        "in-memory",
    ))
    .serve(lines_codec(), echo_with("buffered:"));
    let mut lines = BufReader::new(client).lines();
    lines.get_mut().write_all(b"hi\n").await.unwrap();
    let answer = within("answer", lines.next_line()).await.unwrap();
    assert_eq!(answer.as_deref(), Some("buffered:hi"));
    assert_eq!(server.metrics().accepted, 1);
    drop(lines);
    stop(server).await;
}

#[tokio::test]
async fn any_tokio_util_codec_serves_too() {
    // Not a framekit codec: tokio-util's own LinesCodec, with its own error type.
    let server = Server::bind("127.0.0.1:0")
        .await
        .unwrap()
        .on_failure(|failure| Some(format!("ERR {}", failure.kind)))
        .serve(
            tokio_util::codec::LinesCodec::new_with_max_length(16),
            |line: String, _ctx: Ctx| async move { Some(line.to_uppercase()) },
        );
    let mut client = line_client(&server).await;
    send(&mut client, "hello\n").await;
    assert_eq!(next_line(&mut client).await.as_deref(), Some("HELLO"));
    send(&mut client, &format!("{}\n", "x".repeat(100))).await;
    assert_eq!(
        next_line(&mut client).await.as_deref(),
        Some("ERR too_long")
    );
    // LinesCodec discards an over-long line and goes on: so does the connection.
    send(&mut client, "again\n").await;
    assert_eq!(next_line(&mut client).await.as_deref(), Some("AGAIN"));
    stop(server).await;
}
