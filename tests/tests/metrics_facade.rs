//! What the server reports to the `metrics` facade, read through a recorder of our own
//! installed for the test's thread: every failure counted under its origin's name (an encode
//! failure as `framekit_encode_errors_total`, even after its payload was written into the
//! output, and answered by the error hook), handler errors and request timeouts as
//! `framekit_errors_total`, and request durations that are real for requests answered in the
//! turn that decoded them.
//!
//! Each test runs on tokio's current-thread runtime, so the server's tasks report to the
//! recorder installed for that thread (`metrics::set_default_local_recorder`), and tests do not
//! see each other's counts. Durations are checked against lower bounds the handler itself
//! imposes, never against an upper bound.

use std::collections::BTreeMap;
use std::io;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use framekit_server::metrics::names;
use framekit_server::{
    codec::WithEncoder, metrics::CloseReason, Ctx, Reply, Server, ServerConfig, ServerHandle,
};
use metrics::{
    Counter, Gauge, Histogram, HistogramFn, Key, KeyName, Metadata, Recorder, SharedString, Unit,
};
use tokio_util::codec::Encoder;

mod support;
use support::*;

/// Samples of one histogram.
#[derive(Debug, Default)]
struct Samples(Mutex<Vec<f64>>);

impl HistogramFn for Samples {
    fn record(&self, value: f64) {
        self.0.lock().unwrap().push(value);
    }
}

/// Counters and histograms by `name{label="value",...}`; gauges are not kept.
#[derive(Debug, Default)]
struct Captured {
    counters: Mutex<BTreeMap<String, Arc<AtomicU64>>>,
    histograms: Mutex<BTreeMap<String, Arc<Samples>>>,
}

fn key_text(key: &Key) -> String {
    let labels: Vec<String> = key
        .labels()
        .map(|l| format!("{}=\"{}\"", l.key(), l.value()))
        .collect();
    if labels.is_empty() {
        key.name().to_string()
    } else {
        format!("{}{{{}}}", key.name(), labels.join(","))
    }
}

impl Captured {
    fn counter(&self, key: &str) -> Option<u64> {
        let counters = self.counters.lock().unwrap();
        counters.get(key).map(|c| c.load(Relaxed))
    }

    fn counters_named(&self, name: &str) -> Vec<String> {
        let counters = self.counters.lock().unwrap();
        counters
            .iter()
            .filter(|(k, c)| k.starts_with(name) && c.load(Relaxed) > 0)
            .map(|(k, _)| k.clone())
            .collect()
    }

    fn samples(&self, key: &str) -> Vec<f64> {
        let histograms = self.histograms.lock().unwrap();
        histograms
            .get(key)
            .map(|h| h.0.lock().unwrap().clone())
            .unwrap_or_default()
    }
}

impl Recorder for Captured {
    fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}

    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        let mut counters = self.counters.lock().unwrap();
        Counter::from_arc(counters.entry(key_text(key)).or_default().clone())
    }

    fn register_gauge(&self, _: &Key, _: &Metadata<'_>) -> Gauge {
        Gauge::noop()
    }

    fn register_histogram(&self, key: &Key, _: &Metadata<'_>) -> Histogram {
        let mut histograms = self.histograms.lock().unwrap();
        Histogram::from_arc(histograms.entry(key_text(key)).or_default().clone())
    }
}

/// Lines, each response's payload written into the output first; a payload starting with `x`
/// is refused *after* it was written, the way an encoder that checks a trailer fails half-way.
struct PayloadFirst;

impl Encoder<Bytes> for PayloadFirst {
    type Error = io::Error;
    fn encode(&mut self, resp: Bytes, out: &mut BytesMut) -> io::Result<()> {
        let refused = resp.starts_with(b"x");
        out.extend_from_slice(&resp);
        if refused {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "refused after its payload was queued",
            ));
        }
        out.extend_from_slice(b"\n");
        Ok(())
    }
}

/// `big-x` and `big-ok` answer 64 KiB of `x` or `o`; `fail` fails; `hang` never answers; any
/// other line is echoed.
async fn payloads(req: Bytes, _ctx: Ctx) -> Reply<Bytes> {
    match &req[..] {
        b"big-x" => Reply::One(Bytes::from(vec![b'x'; 64 * 1024])),
        b"big-ok" => Reply::One(Bytes::from(vec![b'o'; 64 * 1024])),
        b"fail" => Reply::Failed("the handler gave up".into()),
        b"hang" => std::future::pending().await,
        _ => Reply::One(req),
    }
}

async fn payload_server(config: ServerConfig) -> ServerHandle {
    Server::bind("127.0.0.1:0")
        .await
        .unwrap()
        .config(config)
        .on_failure(|f| Some(Bytes::from(format!("ERR {} {}", f.origin.as_str(), f.kind))))
        .serve(|| WithEncoder::new(lines_codec(), PayloadFirst), payloads)
}

#[tokio::test]
async fn an_encode_failure_after_a_written_payload_is_answered_and_counted_as_an_encode_error() {
    let recorder = Captured::default();
    let _installed = metrics::set_default_local_recorder(&recorder);
    let server = payload_server(ServerConfig::default()).await;
    let mut lines = line_client(&server).await;
    // One write, so `a`'s answer is still queued when `big-x`'s payload is written behind it.
    send(&mut lines, "a\nbig-x\nb\nbig-ok\n").await;
    assert_eq!(next_line(&mut lines).await.as_deref(), Some("a"));
    assert_eq!(
        next_line(&mut lines).await.as_deref(),
        Some("ERR encode invalid_data"),
        "the hook answers in the refused response's place"
    );
    assert_eq!(next_line(&mut lines).await.as_deref(), Some("b"));
    let big = next_line(&mut lines).await.unwrap();
    assert!(big.len() == 64 * 1024 && big.bytes().all(|b| b == b'o'));
    // The connection goes on.
    send(&mut lines, "c\n").await;
    assert_eq!(next_line(&mut lines).await.as_deref(), Some("c"));

    let snap = server.metrics();
    assert_eq!(snap.errors_of("invalid_data"), 1);
    assert_eq!(snap.closed(CloseReason::EncodeError), 0);
    let encode = format!("{}{{kind=\"invalid_data\"}}", names::ENCODE_ERRORS);
    assert_eq!(recorder.counter(&encode), Some(1));
    assert!(
        recorder.counters_named(names::DECODE_ERRORS).is_empty(),
        "an encode failure is not a decode error: {:?}",
        recorder.counters_named(names::DECODE_ERRORS)
    );
    drop(lines);
    stop(server).await;
}

#[tokio::test]
async fn handler_errors_and_request_timeouts_are_counted_as_other_errors() {
    let recorder = Captured::default();
    let _installed = metrics::set_default_local_recorder(&recorder);
    let config = ServerConfig::default().request_timeout(Duration::from_millis(50));
    let server = payload_server(config).await;
    let mut lines = line_client(&server).await;
    send(&mut lines, "fail\nhang\nd\n").await;
    assert_eq!(
        next_line(&mut lines).await.as_deref(),
        Some("ERR handler handler_error")
    );
    assert_eq!(
        next_line(&mut lines).await.as_deref(),
        Some("ERR request_timeout request_timeout")
    );
    assert_eq!(next_line(&mut lines).await.as_deref(), Some("d"));
    for kind in ["handler_error", "request_timeout"] {
        let key = format!("{}{{kind=\"{kind}\"}}", names::ERRORS);
        assert_eq!(recorder.counter(&key), Some(1), "{key}");
    }
    assert!(recorder.counters_named(names::DECODE_ERRORS).is_empty());
    assert!(recorder.counters_named(names::ENCODE_ERRORS).is_empty());
    drop(lines);
    stop(server).await;
}

#[tokio::test]
async fn requests_answered_in_the_turn_that_decoded_them_have_a_real_duration() {
    let recorder = Captured::default();
    let _installed = metrics::set_default_local_recorder(&recorder);
    // Each answer is ready at once, after 5 ms of work in the handler itself: requests are
    // answered in the turn that decoded them, and none can have taken less than 5 ms.
    let server =
        Server::bind("127.0.0.1:0")
            .await
            .unwrap()
            .serve(lines_codec(), |req: Bytes, _ctx: Ctx| {
                std::thread::sleep(Duration::from_millis(5));
                std::future::ready(Some(req))
            });
    let mut lines = line_client(&server).await;
    send(&mut lines, "one\ntwo\nthree\n").await;
    for want in ["one", "two", "three"] {
        assert_eq!(next_line(&mut lines).await.as_deref(), Some(want));
    }
    let samples = recorder.samples(names::REQUEST_DURATION);
    assert_eq!(samples.len(), 3, "one sample per request: {samples:?}");
    assert!(
        samples.iter().all(|s| *s >= 0.005),
        "each request took at least its handler's 5 ms: {samples:?}"
    );
    drop(lines);
    stop(server).await;
}
