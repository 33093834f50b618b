//! framekit-server's duplex handlers over real loopback sockets: the handler keeps running
//! while its connection is paused, learns that the connection is gone before it is dropped,
//! and may hand its inbox to another task.
//!
//! Every test is bounded in time (`within`), and asserts outcomes, never how long something
//! took.

use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use framekit_server::{Ctx, Inbox, Outbox, Server, ServerConfig};
use futures::StreamExt;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpSocket;

mod support;
use support::*;

#[tokio::test]
async fn a_duplex_handler_keeps_running_while_its_connection_is_paused() {
    // The peer never reads, so the outbound queue passes the high water mark and the
    // connection pauses. The handler's own timer (a stall timeout around `send`) must still
    // fire: pausing stops reading, not the handler. The write timeout is far away, so only
    // the handler can notice the stall.
    let stalled = Arc::new(tokio::sync::Notify::new());
    let notify = stalled.clone();
    let server = Server::bind("127.0.0.1:0")
        .await
        .unwrap()
        .config(
            ServerConfig::default()
                .water_marks(4 * 1024, 16 * 1024)
                .write_timeout(Duration::from_secs(600)),
        )
        .serve_duplex(
            lines_codec(),
            move |_inbox: Inbox<Bytes>, mut outbox: Outbox<Bytes>, _ctx: Ctx| {
                let notify = notify.clone();
                async move {
                    let line = Bytes::from(vec![b'p'; 1024]);
                    loop {
                        let send = outbox.send(line.clone());
                        match tokio::time::timeout(Duration::from_millis(200), send).await {
                            Ok(Ok(())) => {}
                            Ok(Err(_)) => return,
                            Err(_) => break,
                        }
                    }
                    notify.notify_one();
                }
            },
        );
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let peer = within(
        "connect",
        socket.connect(server.local_addr().as_tcp().unwrap()),
    )
    .await
    .unwrap();
    within("the handler sees its sends stall", stalled.notified()).await;
    assert!(
        server.metrics().outbound_peak >= 16 * 1024,
        "the connection never paused"
    );
    drop(peer);
    stop(server).await;
}

/// Records, when dropped, whether the connection's `closing` signal had fired.
struct SeesClosing {
    ctx: Ctx,
    dropped: Arc<tokio::sync::Notify>,
    closing_at_drop: Arc<AtomicBool>,
}

impl Drop for SeesClosing {
    fn drop(&mut self) {
        self.closing_at_drop.store(self.ctx.is_closing(), SeqCst);
        self.dropped.notify_one();
    }
}

#[tokio::test]
async fn closing_fires_before_a_duplex_handler_is_dropped() {
    // A handler that never returns on its own is dropped when its peer resets. By then
    // `Ctx::closing` has fired, so the tasks it spawned (which watch the signal) stop too.
    let dropped = Arc::new(tokio::sync::Notify::new());
    let closing_at_drop = Arc::new(AtomicBool::new(false));
    let spawned_saw_closing = Arc::new(tokio::sync::Notify::new());
    let (d, c, s) = (
        dropped.clone(),
        closing_at_drop.clone(),
        spawned_saw_closing.clone(),
    );
    let server = Server::bind("127.0.0.1:0").await.unwrap().serve_duplex(
        lines_codec(),
        move |_inbox: Inbox<Bytes>, mut outbox: Outbox<Bytes>, ctx: Ctx| {
            let guard = SeesClosing {
                ctx: ctx.clone(),
                dropped: d.clone(),
                closing_at_drop: c.clone(),
            };
            let spawned = s.clone();
            async move {
                let _guard = guard;
                let closing = ctx.closing().clone();
                tokio::spawn(async move {
                    closing.cancelled().await;
                    spawned.notify_one();
                });
                let _ = outbox.send(Bytes::from_static(b"hello")).await;
                std::future::pending::<()>().await;
            }
        },
    );
    let mut lines = BufReader::new(connect(&server).await).lines();
    let hello = within("hello", lines.next_line()).await.unwrap();
    assert_eq!(hello.as_deref(), Some("hello"));
    let stream = lines.into_inner().into_inner();
    stream.set_zero_linger().unwrap();
    drop(stream);
    within("the handler is dropped", dropped.notified()).await;
    assert!(
        closing_at_drop.load(SeqCst),
        "Ctx::closing had not fired when the handler was dropped"
    );
    within(
        "the spawned task sees closing",
        spawned_saw_closing.notified(),
    )
    .await;
    stop(server).await;
}

#[tokio::test]
async fn an_inbox_moved_into_another_task_keeps_the_connection_reading() {
    // The handler hands its inbox to a task of its own, which starts reading only after the
    // inbox has filled up (so the connection had to stop reading). Every request taken out
    // of it must wake the connection, or reading never resumes.
    const LINES: usize = 5_000;
    let server = Server::bind("127.0.0.1:0")
        .await
        .unwrap()
        .config(ServerConfig::default().max_in_flight(4))
        .serve_duplex(
            lines_codec(),
            |mut inbox: Inbox<Bytes>, mut outbox: Outbox<Bytes>, _ctx: Ctx| async move {
                let reader = tokio::spawn(async move {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    let mut n = 0;
                    while inbox.next().await.is_some() {
                        n += 1;
                        if n == LINES {
                            break;
                        }
                    }
                    n
                });
                let n = reader.await.unwrap_or(0);
                let _ = outbox.send(Bytes::from(format!("got {n}"))).await;
            },
        );
    let mut lines = BufReader::new(connect(&server).await).lines();
    let batch: String = (0..LINES).map(|i| format!("{i}\n")).collect();
    within("send", lines.get_mut().write_all(batch.as_bytes()))
        .await
        .unwrap();
    let answer = within("every line reaches the other task", lines.next_line())
        .await
        .unwrap();
    assert_eq!(answer, Some(format!("got {LINES}")));
    drop(lines);
    stop(server).await;
}
