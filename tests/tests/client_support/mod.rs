//! What the client tests share: a recorder of counters for the `metrics` facade, installed for
//! the test's thread (`metrics::set_default_local_recorder`), so current-thread tests do not see
//! each other's counts; servers that answer in order (framekit) and out of order (a small
//! multiplexed tokio server); the line codec's tag reader and writer.
#![allow(dead_code)] // each test file uses its own subset

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};

use metrics::{Counter, Gauge, Histogram, Key, KeyName, Metadata, Recorder, SharedString, Unit};

/// Counters by `name{label="value",...}` (labels in the order given); gauges and histograms
/// are not kept.
#[derive(Debug, Default)]
pub struct Counters(Mutex<BTreeMap<String, Arc<AtomicU64>>>);

impl Counters {
    /// The counter's value, 0 when it was never registered.
    pub fn value(&self, key: &str) -> u64 {
        let counters = self.0.lock().unwrap();
        counters.get(key).map_or(0, |c| c.load(Relaxed))
    }
}

fn key_text(key: &Key) -> String {
    let labels: Vec<String> = key
        .labels()
        .map(|l| format!("{}=\"{}\"", l.key(), l.value()))
        .collect();
    format!("{}{{{}}}", key.name(), labels.join(","))
}

impl Recorder for Counters {
    fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}

    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        let mut counters = self.0.lock().unwrap();
        Counter::from_arc(counters.entry(key_text(key)).or_default().clone())
    }

    fn register_gauge(&self, _: &Key, _: &Metadata<'_>) -> Gauge {
        Gauge::noop()
    }

    fn register_histogram(&self, _: &Key, _: &Metadata<'_>) -> Histogram {
        Histogram::noop()
    }
}

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use framekit::connection::{Decode, Match, Pipelined};
use framekit::framing::delimited::Delimited;
use framekit::FrameCodec;
use framekit_client::connection::Options;
use framekit_client::{Backoff, Builder, Client, Endpoint, Jitter, Reconnect};
use framekit_server::{Ctx, Server, ServerHandle};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

pub type Lines = FrameCodec<Delimited>;

pub fn lines() -> Lines {
    FrameCodec::new(Delimited::newline())
}

/// A framekit server answering `ok:<request>`; a request `sleep:<ms>:<id>` is answered after
/// `ms` milliseconds.
pub async fn answering_server() -> ServerHandle {
    Server::bind("127.0.0.1:0")
        .await
        .unwrap()
        .serve(lines(), |req: Bytes, _ctx: Ctx| async move {
            if let Some(rest) = req.strip_prefix(b"sleep:") {
                let text = std::str::from_utf8(rest).unwrap_or("0");
                let ms = text
                    .split(':')
                    .next()
                    .and_then(|m| m.parse().ok())
                    .unwrap_or(0);
                tokio::time::sleep(Duration::from_millis(ms)).await;
            }
            Some(Bytes::from([&b"ok:"[..], &req[..]].concat()))
        })
}

/// Quick reconnects for tests: 10 ms doubling to 50 ms, no jitter, `retries` of them.
pub fn quick(retries: u32) -> Reconnect {
    Reconnect::Backoff(
        Backoff::default()
            .first(Duration::from_millis(10))
            .max(Duration::from_millis(50))
            .jitter(Jitter::None)
            .retries(retries),
    )
}

/// A pipelined line client of `addr`.
pub fn line_client(addr: SocketAddr, options: Options<Bytes>) -> Client<Bytes, Bytes> {
    Builder::new(Endpoint::tcp(addr))
        .reconnect(quick(5))
        .build(lines, || Pipelined, options)
}

/// Reads the tag of `<tag>:<rest>` answers.
#[derive(Debug, Clone, Copy)]
pub struct LineTag;

impl Match<Lines> for LineTag {
    fn tag(&self, answer: &<Lines as Decode>::View<'_>) -> Option<u64> {
        let end = answer.iter().position(|&b| b == b':')?;
        std::str::from_utf8(&answer[..end]).ok()?.parse().ok()
    }
}

/// Sets the tag of a request: `<tag>:<request>`.
pub fn set_line_tag(request: &mut Bytes, tag: u64) {
    *request = Bytes::from([format!("{tag}:").as_bytes(), &request[..]].concat());
}

/// A multiplexed server: each line `<tag>:<ms>:<rest>` is answered `<tag>:<ms>:<rest>` after
/// `ms` milliseconds, so answers leave in the order their delays end, not in request order.
pub async fn multiplexed_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let (read, mut write) = stream.into_split();
                let (tx, mut rx) = tokio::sync::mpsc::channel::<String>(64);
                let writer = tokio::spawn(async move {
                    while let Some(line) = rx.recv().await {
                        if write.write_all(line.as_bytes()).await.is_err() {
                            break;
                        }
                    }
                });
                let mut lines = BufReader::new(read).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    let ms: u64 = line
                        .split(':')
                        .nth(1)
                        .and_then(|m| m.parse().ok())
                        .unwrap_or(0);
                    let tx = tx.clone();
                    tokio::spawn(async move {
                        tokio::time::sleep(Duration::from_millis(ms)).await;
                        let _ = tx.send(format!("{line}\n")).await;
                    });
                }
                drop(tx);
                let _ = writer.await;
            });
        }
    });
    addr
}
