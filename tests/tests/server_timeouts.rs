//! Settings that cannot panic, over loopback sockets: every timeout of a server set to "none"
//! or to `Duration::MAX` (past the clock's end) serves requests, keeps a frame that pauses,
//! closes on request and shuts down, where `Duration::MAX` used to panic the connection task
//! ("overflow when adding duration to instant"). That a "none" never fires over a long wait is
//! shown with paused time in the server's unit tests (`a_timeout_of_none_never_fires`).

use std::time::Duration;

use bytes::Bytes;
use framekit_server::config::Timeout;
use framekit_server::preamble::{parse_networks, Preamble, ProxyMode};
use framekit_server::{Ctx, Reply, Server, ServerConfig, ServerHandle};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

mod support;
use support::*;

/// Echoes lines after a short wait (so each request is in flight under the request timer);
/// `quit` closes.
async fn slow_echo(line: Bytes, _ctx: Ctx) -> Reply<Bytes> {
    tokio::time::sleep(Duration::from_millis(5)).await;
    if &line[..] == b"quit" {
        Reply::Close(None)
    } else {
        Reply::One(line)
    }
}

/// A server with every timeout at `t`, the linger at `Duration::MAX`, and (with `proxy`) a
/// PROXY v1 preamble under the preamble timeout `t`.
async fn start(t: Timeout, proxy: bool) -> ServerHandle {
    let mut config = ServerConfig::default()
        .idle_timeout(t)
        .frame_timeout(t)
        .write_timeout(t)
        .request_timeout(t)
        .linger(Duration::MAX);
    if proxy {
        let loopback = parse_networks("127.0.0.0/8").unwrap();
        config = config.preamble(Preamble::new(ProxyMode::V1).trusted(loopback).timeout(t));
    }
    Server::bind("127.0.0.1:0")
        .await
        .unwrap()
        .config(config)
        .serve(lines_codec(), slow_echo)
}

/// A request, a frame that pauses in the middle, then `quit`: answered in order and closed.
async fn served_whole(server: &ServerHandle, preamble: &[u8]) {
    let mut peer = connect(server).await;
    let mut first = preamble.to_vec();
    first.extend_from_slice(b"one\npar");
    within("send", peer.write_all(&first)).await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    within("send", peer.write_all(b"tial\nquit\n"))
        .await
        .unwrap();
    let mut got = Vec::new();
    within("read to the close", peer.read_to_end(&mut got))
        .await
        .unwrap();
    assert_eq!(String::from_utf8(got).unwrap(), "one\npartial\n");
}

async fn every_timeout_at(t: Timeout) {
    let server = start(t, false).await;
    served_whole(&server, b"").await;
    served_whole(&server, b"").await;
    let snap = wait_for(&server, "both closed", |s| s.active == 0).await;
    assert_eq!(snap.accepted, 2, "{t:?}: {snap:?}");
    let metrics = server.metrics_source();
    // The drain deadline too: `Duration::MAX` waits for every connection, without a panic.
    within("shutdown", server.shutdown(Duration::MAX)).await;
    assert_eq!(metrics.active(), 0);

    let proxied = start(t, true).await;
    served_whole(&proxied, b"PROXY TCP4 10.1.2.3 10.9.9.9 4000 6379\r\n").await;
    stop(proxied).await;
}

#[tokio::test]
async fn every_timeout_set_to_none_serves_and_closes() {
    every_timeout_at(Timeout::Never).await;
}

#[tokio::test]
async fn every_timeout_set_to_duration_max_serves_and_closes() {
    every_timeout_at(Timeout::After(Duration::MAX)).await;
}
