//! The examples' `--metrics-addr`: after known traffic, `curl` scrapes `GET /metrics` and the
//! Prometheus text shows exactly that traffic: connections accepted and closed by reason,
//! requests, bytes, frame sizes, request durations, TLS handshake failures, decode errors.

mod deploy_support;

use std::collections::BTreeMap;
use std::time::Duration;

use deploy_support::certs::{localhost, Certs};
use deploy_support::process::{have, run, Example, LIMIT};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Every sample of the scrape, by its name with labels (`name{label="value"}`).
async fn scrape(metrics: &str) -> BTreeMap<String, f64> {
    let url = format!("http://{metrics}/metrics");
    let text = run(
        "curl",
        &["-sf", "--noproxy", "*", "--max-time", "10", &url],
        b"",
    )
    .await;
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .filter_map(|l| {
            let (name, value) = l.rsplit_once(' ')?;
            Some((name.to_string(), value.parse().ok()?))
        })
        .collect()
}

/// Scrapes until `ready` holds (the server counts a close when the connection task ends,
/// shortly after the client sees it), bounded by [`LIMIT`].
async fn scrape_until(
    metrics: &str,
    ready: impl Fn(&BTreeMap<String, f64>) -> bool,
) -> BTreeMap<String, f64> {
    let started = std::time::Instant::now();
    loop {
        let samples = scrape(metrics).await;
        if ready(&samples) || started.elapsed() > LIMIT {
            return samples;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn get(samples: &BTreeMap<String, f64>, name: &str) -> f64 {
    samples.get(name).copied().unwrap_or(0.0)
}

fn command(args: &[&str]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        out.extend_from_slice(format!("${}\r\n{a}\r\n", a.len()).as_bytes());
    }
    out
}

#[tokio::test]
async fn a_scrape_after_known_traffic_shows_exactly_that_traffic() {
    if !have("curl") {
        return;
    }
    let certs = Certs::new("metrics");
    let (cert, key) = (certs.cert_path(), certs.key_path());
    let args = [
        "--tls-cert",
        cert.to_str().unwrap(),
        "--tls-key",
        key.to_str().unwrap(),
        "--metrics-addr",
        "127.0.0.1:0",
    ];
    let Some(mut server) = Example::start("resp_server", &args).await else {
        return;
    };
    let metrics = server
        .next_line()
        .await
        .strip_prefix("metrics on ")
        .expect("the metrics line follows the listening line")
        .to_string();

    // Five TLS clients, three requests each, closing cleanly (close_notify, then FIN).
    const CLIENTS: usize = 5;
    let mut sent = 0;
    for i in 0..CLIENTS {
        let tcp = TcpStream::connect(server.addr).await.unwrap();
        let mut tls = certs.client(&[]).connect(localhost(), tcp).await.unwrap();
        let key = format!("key{i}");
        let mut batch = command(&["PING"]);
        batch.extend(command(&["SET", &key, "value"]));
        batch.extend(command(&["GET", &key]));
        sent += batch.len();
        tls.write_all(&batch).await.unwrap();
        let expected = b"+PONG\r\n+OK\r\n$5\r\nvalue\r\n";
        let mut got = vec![0u8; expected.len()];
        tokio::time::timeout(LIMIT, tls.read_exact(&mut got))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(got, expected);
        tls.shutdown().await.unwrap();
        let mut rest = Vec::new();
        let _ = tokio::time::timeout(LIMIT, tls.read_to_end(&mut rest)).await;
    }
    // One peer that does not speak TLS.
    let mut plain = TcpStream::connect(server.addr).await.unwrap();
    plain.write_all(b"PING\r\n").await.unwrap();
    let mut rest = Vec::new();
    let _ = tokio::time::timeout(LIMIT, plain.read_to_end(&mut rest)).await;

    let s = scrape_until(&metrics, |s| {
        get(
            s,
            "framekit_connections_closed_total{reason=\"peer_closed\"}",
        ) >= CLIENTS as f64
            && get(
                s,
                "framekit_connections_closed_total{reason=\"tls_handshake\"}",
            ) >= 1.0
    })
    .await;
    let requests = (CLIENTS * 3) as f64;
    assert_eq!(
        get(&s, "framekit_connections_accepted_total"),
        6.0,
        "{s:#?}"
    );
    assert_eq!(
        get(
            &s,
            "framekit_connections_closed_total{reason=\"peer_closed\"}"
        ),
        5.0
    );
    assert_eq!(
        get(
            &s,
            "framekit_connections_closed_total{reason=\"tls_handshake\"}"
        ),
        1.0
    );
    assert_eq!(
        get(
            &s,
            "framekit_tls_handshake_failures_total{reason=\"error\"}"
        ),
        1.0
    );
    assert_eq!(get(&s, "framekit_connections_open"), 0.0);
    assert_eq!(get(&s, "framekit_requests_total"), requests);
    assert_eq!(get(&s, "framekit_requests_in_flight"), 0.0);
    // Bytes are counted above TLS: what the clients wrote, what they read.
    assert_eq!(get(&s, "framekit_bytes_read_total"), sent as f64);
    let replies = (CLIENTS * b"+PONG\r\n+OK\r\n$5\r\nvalue\r\n".len()) as f64;
    assert_eq!(get(&s, "framekit_bytes_written_total"), replies);
    assert_eq!(get(&s, "framekit_frame_size_bytes_count"), requests);
    assert_eq!(get(&s, "framekit_frame_size_bytes_sum"), sent as f64);
    assert_eq!(get(&s, "framekit_request_duration_seconds_count"), requests);
    server.stop().await;
}

#[tokio::test]
async fn decode_errors_are_counted_by_kind() {
    if !have("curl") {
        return;
    }
    let args = ["--max-line", "8", "--metrics-addr", "127.0.0.1:0"];
    let Some(mut server) = Example::start("ack_server", &args).await else {
        return;
    };
    let metrics = server.next_line().await.replace("metrics on ", "");
    let mut peer = TcpStream::connect(server.addr).await.unwrap();
    peer.write_all(b"ok\nthis line is too long\n")
        .await
        .unwrap();
    let mut got = Vec::new();
    let _ = tokio::time::timeout(LIMIT, peer.read_to_end(&mut got)).await;
    assert!(
        got.starts_with(b"ack:ok\nerror: "),
        "{:?}",
        String::from_utf8_lossy(&got)
    );
    let s = scrape_until(&metrics, |s| {
        get(
            s,
            "framekit_connections_closed_total{reason=\"decode_error\"}",
        ) >= 1.0
    })
    .await;
    assert_eq!(
        get(&s, "framekit_decode_errors_total{kind=\"too_long\"}"),
        1.0,
        "{s:#?}"
    );
    assert_eq!(get(&s, "framekit_requests_total"), 1.0);
    assert_eq!(
        get(
            &s,
            "framekit_connections_closed_total{reason=\"decode_error\"}"
        ),
        1.0
    );
    server.stop().await;
}
