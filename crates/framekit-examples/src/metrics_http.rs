//! `--metrics-addr`: the server's metrics in the Prometheus text format at `GET /metrics`.
//!
//! The recorder is `metrics-exporter-prometheus`'s; the endpoint is a framekit server of its
//! own (HTTP/1.x request heads framed by the blank line that ends them, one answer, then
//! close), so it binds where it is told, port 0 included, and reports the real address. It
//! starts *before* the recorder is installed, so its own connections are not counted: only the
//! example's server is.

use std::io;
use std::sync::OnceLock;
use std::time::Duration;

use bytes::Bytes;
use framekit::framing::delimited::Delimited;
use framekit::FrameCodec;
use framekit_server::tcp::{TcpAcceptor, TcpOptions};
use framekit_server::{Addr, Ctx, Reply, Server, ServerConfig, ServerHandle};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tokio_util::codec::BytesCodec;

use framekit_server::codec::WithEncoder;

/// Longest request head accepted (request line and headers).
pub const MAX_REQUEST_HEAD: usize = 8 * 1024;
/// How often histograms are folded into what `/metrics` shows.
const UPKEEP: Duration = Duration::from_secs(5);
/// Request duration buckets, in seconds: 50 µs to 10 s.
const DURATION_BUCKETS: [f64; 12] = [
    0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.1, 1.0, 5.0, 10.0,
];
/// Frame size buckets, in bytes: 16 B to 16 MiB.
const SIZE_BUCKETS: [f64; 8] = [
    16.0, 64.0, 256.0, 1024.0, 4096.0, 65536.0, 1048576.0, 16777216.0,
];

static METRICS_ADDR: OnceLock<Addr> = OnceLock::new();

/// Where `/metrics` is served, once [`serve`] has started it.
pub fn metrics_addr() -> Option<&'static Addr> {
    METRICS_ADDR.get()
}

/// Serves `/metrics` on `addr` and installs the Prometheus recorder as the global one. Call
/// it before starting the server it reports on (which resolves its metric handles at start).
/// Must be called within a tokio runtime.
pub fn serve(addr: &str) -> io::Result<ServerHandle> {
    let recorder = PrometheusBuilder::new()
        .set_buckets_for_metric(
            Matcher::Full(framekit_server::metrics::names::REQUEST_DURATION.into()),
            &DURATION_BUCKETS,
        )
        .and_then(|b| {
            b.set_buckets_for_metric(
                Matcher::Full(framekit_server::metrics::names::FRAME_SIZE.into()),
                &SIZE_BUCKETS,
            )
        })
        .map_err(io::Error::other)?
        .build_recorder();
    let handle = recorder.handle();
    let server = Server::new(TcpAcceptor::bind(addr, &TcpOptions::default())?)
        .config(
            ServerConfig::default()
                .max_connections(64)
                .idle_timeout(Duration::from_secs(10))
                .frame_timeout(Duration::from_secs(5)),
        )
        .on_failure(|_| Some(response(431, "Request Header Fields Too Large", "")))
        .serve(
            WithEncoder::new(
                FrameCodec::new(Delimited::sequence(b"\r\n\r\n").max_frame_len(MAX_REQUEST_HEAD)),
                BytesCodec::new(),
            ),
            {
                let handle = handle.clone();
                move |head: Bytes, _ctx: Ctx| {
                    std::future::ready(Reply::last(answer(&head, &handle)))
                }
            },
        );
    metrics::set_global_recorder(recorder)
        .map_err(|_| io::Error::other("a metrics recorder is installed already"))?;
    tokio::spawn(upkeep(handle));
    let _ = METRICS_ADDR.set(server.local_addr().clone());
    Ok(server)
}

/// The answer to one request head.
fn answer(head: &[u8], handle: &PrometheusHandle) -> Bytes {
    let line = head.split(|b| *b == b'\n').next().unwrap_or_default();
    let mut parts = line.trim_ascii().split(|b| *b == b' ');
    let (method, target, version) = (parts.next(), parts.next(), parts.next());
    let http = version.is_some_and(|v| v.starts_with(b"HTTP/1."));
    match (method, target) {
        _ if !http => response(400, "Bad Request", ""),
        (Some(b"GET"), Some(b"/metrics")) => response(200, "OK", &handle.render()),
        (Some(b"GET"), _) => response(404, "Not Found", "try /metrics\n"),
        _ => response(405, "Method Not Allowed", ""),
    }
}

fn response(status: u16, reason: &str, body: &str) -> Bytes {
    let kind = if status == 200 {
        "text/plain; version=0.0.4; charset=utf-8"
    } else {
        "text/plain; charset=utf-8"
    };
    let allow = if status == 405 { "Allow: GET\r\n" } else { "" };
    Bytes::from(format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\n{allow}Connection: close\r\n\r\n{body}",
        body.len()
    ))
}

async fn upkeep(handle: PrometheusHandle) {
    let mut tick = tokio::time::interval(UPKEEP);
    loop {
        tick.tick().await;
        handle.run_upkeep();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn handle() -> PrometheusHandle {
        PrometheusBuilder::new().build_recorder().handle()
    }

    #[test]
    fn only_get_metrics_is_served() {
        let h = handle();
        let ok = answer(b"GET /metrics HTTP/1.1\r\nHost: x", &h);
        assert!(ok.starts_with(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4"));
        assert!(answer(b"GET / HTTP/1.1", &h).starts_with(b"HTTP/1.1 404 "));
        let post = answer(b"POST /metrics HTTP/1.1", &h);
        assert!(post.starts_with(b"HTTP/1.1 405 ") && post.windows(10).any(|w| w == b"Allow: GET"));
        assert!(answer(b"hello", &h).starts_with(b"HTTP/1.1 400 "));
    }

    #[test]
    fn the_length_is_the_body_length() {
        let r = response(404, "Not Found", "try /metrics\n");
        let text = std::str::from_utf8(&r).unwrap();
        assert!(
            text.contains("Content-Length: 13\r\n") && text.ends_with("\r\n\r\ntry /metrics\n")
        );
    }
}
