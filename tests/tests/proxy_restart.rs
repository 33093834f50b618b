//! Restarts that fail no request, over real loopback sockets: at shutdown a connection closes
//! at a request boundary, so a request that gets no answer was never started.

use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use framekit_server::{Ctx, Server, ServerHandle};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

mod support;
use support::*;

/// A line echo server, and how many requests its handler has started.
async fn counting_echo_server() -> (ServerHandle, Arc<AtomicUsize>) {
    let handled = Arc::new(AtomicUsize::new(0));
    let count = handled.clone();
    let server = Server::bind("127.0.0.1:0").await.unwrap().serve(
        lines_codec(),
        move |req: Bytes, _ctx: Ctx| {
            count.fetch_add(1, SeqCst);
            async move { Some(req) }
        },
    );
    (server, handled)
}

#[tokio::test]
async fn a_request_under_way_at_shutdown_is_read_to_its_end_and_answered() {
    let (server, handled) = counting_echo_server().await;
    let mut stream = connect(&server).await;
    stream.write_all(b"first\nsec").await.unwrap();
    let mut got = [0u8; 6];
    within("the first answer", stream.read_exact(&mut got))
        .await
        .unwrap();
    assert_eq!(&got, b"first\n");
    // Shutdown begins with half a request buffered; the rest arrives afterwards.
    let metrics = server.metrics_source();
    let shutdown = tokio::spawn(server.shutdown(Duration::from_secs(10)));
    tokio::time::sleep(Duration::from_millis(100)).await;
    stream.write_all(b"ond\n").await.unwrap();
    let mut rest = Vec::new();
    within("the close", stream.read_to_end(&mut rest))
        .await
        .unwrap();
    // The request under way is answered, then the connection closes at that boundary: a
    // request sent after it is never read, never started.
    assert_eq!(rest, b"second\n");
    let _ = stream.write_all(b"third\n").await;
    assert_eq!(handled.load(SeqCst), 2);
    let report = within("shutdown", shutdown).await.unwrap();
    assert_eq!(report.aborted, 0);
    assert_eq!(metrics.active(), 0);
}

#[tokio::test]
async fn an_idle_keep_alive_connection_closes_at_once_and_unstarted_requests_can_be_retried() {
    let (server, handled) = counting_echo_server().await;
    let mut idle = connect(&server).await;
    idle.write_all(b"one\n").await.unwrap();
    let mut got = [0u8; 4];
    within("the answer", idle.read_exact(&mut got))
        .await
        .unwrap();
    let report = within("shutdown", server.shutdown(Duration::from_secs(10))).await;
    assert_eq!((report.closed, report.aborted), (1, 0));
    // The server closed between requests: a request sent now is never started.
    let _ = idle.write_all(b"two\n").await;
    let mut rest = Vec::new();
    let _ = within("the close", idle.read_to_end(&mut rest)).await;
    assert!(rest.is_empty());
    assert_eq!(handled.load(SeqCst), 1);
}
