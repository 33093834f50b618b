//! Helpers shared by the server tests: every wait is bounded by [`LIMIT`], so a hung test fails
//! with what it was waiting for instead of hanging CI.
#![allow(dead_code)] // each test file uses its own subset

use std::future::Future;
use std::time::Duration;

use bytes::Bytes;
use framekit::framing::delimited::Delimited;
use framekit::FrameCodec;
use framekit_server::{metrics::MetricsSnapshot, Ctx, ServerHandle};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::net::TcpStream;

/// The most any single step may take before the test fails; generous for slow machines.
pub const LIMIT: Duration = Duration::from_secs(20);

pub async fn within<T>(what: &str, fut: impl Future<Output = T>) -> T {
    match tokio::time::timeout(LIMIT, fut).await {
        Ok(v) => v,
        Err(_) => panic!("timed out: {what}"),
    }
}

pub fn lines_codec() -> FrameCodec<Delimited> {
    FrameCodec::new(Delimited::newline())
}

pub async fn connect(server: &ServerHandle) -> TcpStream {
    let addr = server.local_addr().as_tcp().expect("tcp server");
    within("connect", TcpStream::connect(addr))
        .await
        .expect("connect")
}

pub async fn line_client(server: &ServerHandle) -> Lines<BufReader<TcpStream>> {
    BufReader::new(connect(server).await).lines()
}

pub async fn next_line(lines: &mut Lines<BufReader<TcpStream>>) -> Option<String> {
    within("read a line", lines.next_line())
        .await
        .expect("read")
}

pub async fn send(lines: &mut Lines<BufReader<TcpStream>>, data: &str) {
    lines
        .get_mut()
        .get_mut()
        .write_all(data.as_bytes())
        .await
        .expect("write");
}

/// Sends `data`, then reads everything until the server closes.
pub async fn exchange(server: &ServerHandle, data: &[u8]) -> String {
    let mut stream = connect(server).await;
    within("send", stream.write_all(data)).await.unwrap();
    let mut got = Vec::new();
    within("read to the close", stream.read_to_end(&mut got))
        .await
        .unwrap();
    String::from_utf8(got).unwrap()
}

/// Polls the counters until `done` holds.
pub async fn wait_for(
    server: &ServerHandle,
    what: &str,
    done: impl Fn(&MetricsSnapshot) -> bool,
) -> MetricsSnapshot {
    within(what, async {
        loop {
            let snap = server.metrics();
            if done(&snap) {
                return snap;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
}

/// Shuts the server down (peers still connected get a FIN and a second to leave), and checks
/// that no connection task outlives it.
pub async fn stop(server: ServerHandle) {
    let metrics = server.metrics_source();
    within("shutdown", server.shutdown(Duration::from_secs(1))).await;
    assert_eq!(metrics.active(), 0, "connection tasks outlived the server");
}

/// A handler that answers every request with `prefix` and the request.
pub fn echo_with(prefix: &'static str) -> impl Fn(Bytes, Ctx) -> std::future::Ready<Option<Bytes>> {
    move |req: Bytes, _ctx: Ctx| {
        std::future::ready(Some(Bytes::from([prefix.as_bytes(), &req[..]].concat())))
    }
}

/// A request as RESP multibulk, as redis-cli sends it.
pub fn resp_command(args: &[&[u8]]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for arg in args {
        out.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
        out.extend_from_slice(arg);
        out.extend_from_slice(b"\r\n");
    }
    out
}
