//! framekit-server over real loopback sockets under load: a thousand connections at once, blocking
//! work beside other connections, the connection limit (peers wait in the backlog, or the reject
//! hook answers), and accept errors such as EMFILE that back off instead of spinning.
//!
//! Every test is bounded in time (`within`), and asserts outcomes (what the peer received, what
//! the counters say), never how long something took.

use std::io;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use framekit_server::{
    listener::Accepted, listener::Acceptor, metrics::CloseReason, Addr, Ctx, Server, ServerConfig,
};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

mod support;
use support::*;

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
