//! framekit-server serving what is not a framekit closure and codec: a tower `Service` as the
//! handler (its errors answered by the failure hook), and any tokio-util codec with its own
//! error type.
//!
//! Every test is bounded in time (`within`), and asserts outcomes (what the peer received, what
//! the counters say), never how long something took.

use std::task::{Context, Poll};

use bytes::Bytes;
use framekit_server::{Ctx, Server};

mod support;
use support::*;

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
