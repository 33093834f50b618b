//! framekit-server's graceful shutdown over real loopback sockets: what was answered is never
//! lost, handlers are signalled, stragglers are aborted at the deadline and reported.
//!
//! Every step is bounded in time; assertions are about outcomes, not durations.

use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use framekit_server::{metrics::CloseReason, Ctx, Inbox, Outbox, Server, ServerConfig};
use futures::StreamExt;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

mod support;
use support::*;

#[tokio::test]
async fn shutdown_mid_pipeline_loses_no_answered_request() {
    const REQUESTS: usize = 40;
    let handled = Arc::new(Mutex::new(Vec::new()));
    let record = handled.clone();
    let server = Server::bind("127.0.0.1:0")
        .await
        .unwrap()
        .config(ServerConfig::default().max_in_flight(4))
        .serve(lines_codec(), move |req: Bytes, _ctx: Ctx| {
            let record = record.clone();
            async move {
                tokio::time::sleep(Duration::from_millis(10)).await;
                let id: usize = std::str::from_utf8(&req).unwrap().parse().unwrap();
                record.lock().unwrap().push(id);
                Some(req)
            }
        });
    let metrics = server.metrics_source();
    let mut client = line_client(&server).await;
    let batch: String = (0..REQUESTS).map(|i| format!("{i}\n")).collect();
    client
        .get_mut()
        .get_mut()
        .write_all(batch.as_bytes())
        .await
        .unwrap();

    let mut received = Vec::new();
    for _ in 0..3 {
        received.push(
            next_line(&mut client)
                .await
                .unwrap()
                .parse::<usize>()
                .unwrap(),
        );
    }
    // Shut down while the rest of the pipeline is in flight, and keep reading to the end.
    let shutdown = tokio::spawn(server.shutdown(LIMIT));
    while let Some(line) = next_line(&mut client).await {
        received.push(line.parse().unwrap());
    }
    drop(client);
    let report = within("shutdown completes", shutdown).await.unwrap();

    let mut handled = handled.lock().unwrap().clone();
    handled.sort_unstable();
    assert_eq!(
        received, handled,
        "every handled request was answered, in order"
    );
    assert_eq!(received, (0..received.len()).collect::<Vec<_>>());
    assert_eq!((report.closed, report.aborted), (1, 0));
    let snap = metrics.snapshot();
    assert_eq!(snap.active, 0);
    assert_eq!(snap.closed(CloseReason::Shutdown), 1);
}

#[tokio::test]
async fn shutdown_signals_handlers_and_half_closes_idle_peers() {
    let server = Server::bind("127.0.0.1:0").await.unwrap().serve(
        lines_codec(),
        |req: Bytes, ctx: Ctx| async move {
            if &req[..] == b"wait" {
                // A long poll that ends when the server says so.
                ctx.closing().cancelled().await;
                return Some(Bytes::from_static(b"bye"));
            }
            Some(req)
        },
    );
    let metrics = server.metrics_source();
    let mut waiting = line_client(&server).await;
    let mut idle = line_client(&server).await;
    waiting
        .get_mut()
        .get_mut()
        .write_all(b"wait\n")
        .await
        .unwrap();
    idle.get_mut().get_mut().write_all(b"hi\n").await.unwrap();
    assert_eq!(next_line(&mut idle).await.as_deref(), Some("hi"));
    within("request in flight", async {
        while metrics.snapshot().frames_in < 2 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;

    let shutdown = tokio::spawn(server.shutdown(LIMIT));
    assert_eq!(next_line(&mut waiting).await.as_deref(), Some("bye"));
    assert_eq!(next_line(&mut waiting).await, None, "FIN after the answer");
    assert_eq!(next_line(&mut idle).await, None, "idle peer gets a FIN");
    drop((waiting, idle));
    let report = within("shutdown completes", shutdown).await.unwrap();
    assert_eq!((report.closed, report.aborted), (2, 0));
    assert_eq!(metrics.active(), 0);
}

#[tokio::test]
async fn stragglers_are_aborted_at_the_deadline_and_reported() {
    let started = Arc::new(AtomicUsize::new(0));
    let count = started.clone();
    let server = Server::bind("127.0.0.1:0").await.unwrap().serve(
        lines_codec(),
        move |req: Bytes, _ctx: Ctx| {
            let count = count.clone();
            async move {
                count.fetch_add(1, SeqCst);
                // Ignores the shutdown signal.
                tokio::time::sleep(Duration::from_secs(3600)).await;
                Some(req)
            }
        },
    );
    let metrics = server.metrics_source();
    let mut stuck = line_client(&server).await;
    stuck.get_mut().get_mut().write_all(b"x\n").await.unwrap();
    within("handler starts", async {
        while started.load(SeqCst) == 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    let report = within("shutdown", server.shutdown(Duration::from_millis(200))).await;
    assert_eq!((report.closed, report.aborted), (0, 1));
    let snap = metrics.snapshot();
    assert_eq!(snap.active, 0, "no task outlives the server");
    assert_eq!(snap.closed(CloseReason::Aborted), 1);
    // The aborted peer sees its connection end.
    assert_eq!(next_line(&mut stuck).await, None);
}

#[tokio::test]
async fn after_shutdown_new_connections_are_refused() {
    let server = Server::bind("127.0.0.1:0").await.unwrap().serve(
        lines_codec(),
        |req: Bytes, _ctx: Ctx| async move { Some(req) },
    );
    let addr = server.local_addr().as_tcp().unwrap();
    let report = within("shutdown", server.shutdown(LIMIT)).await;
    assert_eq!((report.closed, report.aborted), (0, 0));
    assert!(within("connect", TcpStream::connect(addr)).await.is_err());
}

#[cfg(unix)]
#[tokio::test]
async fn sigterm_triggers_the_graceful_shutdown() {
    let server = Server::bind("127.0.0.1:0").await.unwrap().serve(
        lines_codec(),
        |req: Bytes, _ctx: Ctx| async move { Some(req) },
    );
    let addr = server.local_addr().as_tcp().unwrap();
    // Calling it installs the signal handlers, before any poll: a SIGTERM sent right away is
    // ours to catch (with the default action it would kill this test process).
    let stopping = server.shutdown_on_signal(LIMIT);
    let status = std::process::Command::new("kill")
        .args(["-TERM", &std::process::id().to_string()])
        .status()
        .expect("run kill");
    assert!(status.success());
    let report = within("shutdown on SIGTERM", stopping).await;
    assert_eq!(report.aborted, 0);
    assert!(within("connect", TcpStream::connect(addr)).await.is_err());
}

#[tokio::test]
async fn duplex_handlers_see_their_inbox_end_at_shutdown_and_finish_cleanly() {
    let server = Server::bind("127.0.0.1:0").await.unwrap().serve_duplex(
        lines_codec(),
        |mut inbox: Inbox<Bytes>, mut outbox: Outbox<Bytes>, _ctx: Ctx| async move {
            let mut seen = 0;
            while let Some(msg) = inbox.next().await {
                seen += 1;
                if outbox.send(msg).await.is_err() {
                    return;
                }
            }
            // The inbox ended (shutdown): a last word, then the connection closes.
            let _ = outbox.send(Bytes::from(format!("seen {seen}"))).await;
        },
    );
    let metrics = server.metrics_source();
    let mut client = line_client(&server).await;
    client
        .get_mut()
        .get_mut()
        .write_all(b"a\nb\n")
        .await
        .unwrap();
    assert_eq!(next_line(&mut client).await.as_deref(), Some("a"));
    assert_eq!(next_line(&mut client).await.as_deref(), Some("b"));
    let shutdown = tokio::spawn(server.shutdown(LIMIT));
    assert_eq!(next_line(&mut client).await.as_deref(), Some("seen 2"));
    assert_eq!(next_line(&mut client).await, None);
    drop(client);
    let report = within("shutdown completes", shutdown).await.unwrap();
    assert_eq!((report.closed, report.aborted), (1, 0));
    assert_eq!(metrics.snapshot().closed(CloseReason::Shutdown), 1);
}
