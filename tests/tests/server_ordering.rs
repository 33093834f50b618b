//! framekit-server over real loopback sockets: responses go out in request order, one per
//! request, whether handlers finish at once, later, or stream, and a peer that half-closes still
//! gets every one.
//!
//! Every test is bounded in time (`within`), and asserts outcomes (what the peer received, what
//! the counters say), never how long something took.

use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use framekit_server::{metrics::CloseReason, Ctx, Reply, Server, ServerConfig};
use futures::StreamExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

mod support;
use support::*;

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
