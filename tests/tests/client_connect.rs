//! The client's connects over loopback: TCP, Unix sockets, TLS with a handshake that never
//! comes (the connect timeout at the TLS stage), reconnecting until a server appears, giving up
//! after the retry limit, and what each of these counts in the metrics.

mod client_support;
mod support;

use std::time::{Duration, Instant};

use client_support::Counters;
use framekit_client::{
    Backoff, ConnectFailure, ConnectStage, Connector, Endpoint, Jitter, Reconnect, TlsSettings,
};
use framekit_testproxy::SilentBackend;
use support::within;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, UnixListener};

fn quick(retries: u32) -> Reconnect {
    Reconnect::Backoff(
        Backoff::default()
            .first(Duration::from_millis(20))
            .max(Duration::from_millis(40))
            .jitter(Jitter::None)
            .retries(retries),
    )
}

#[tokio::test]
async fn tcp_and_unix_endpoints_carry_bytes() {
    let dir = std::env::temp_dir().join(format!("framekit-client-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("echo.sock");
    let _ = std::fs::remove_file(&path);
    let unix = UnixListener::bind(&path).unwrap();
    let tcp = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let tcp_addr = tcp.local_addr().unwrap();
    tokio::spawn(async move {
        let (mut s, _) = unix.accept().await.unwrap();
        let mut b = [0u8; 4];
        s.read_exact(&mut b).await.unwrap();
        s.write_all(&b).await.unwrap();
    });
    tokio::spawn(async move {
        let (mut s, _) = tcp.accept().await.unwrap();
        let mut b = [0u8; 4];
        s.read_exact(&mut b).await.unwrap();
        s.write_all(&b).await.unwrap();
    });
    for endpoint in [Endpoint::unix(&path), Endpoint::tcp(tcp_addr)] {
        let connector = Connector::new(endpoint);
        let mut transport = within("connect", connector.connect_with(&Reconnect::Never))
            .await
            .unwrap();
        transport.write_all(b"ping").await.unwrap();
        let mut back = [0u8; 4];
        within("the echo", transport.read_exact(&mut back))
            .await
            .unwrap();
        assert_eq!(&back, b"ping", "{}", connector.name());
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn a_tls_handshake_that_never_comes_times_out_at_the_tls_stage() {
    let silent = SilentBackend::start().await.unwrap();
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let roots = TlsSettings::roots_from_pem(cert.cert.pem().as_bytes()).unwrap();
    let tls = TlsSettings::with_roots("localhost", roots).unwrap();
    let connector =
        Connector::new(Endpoint::tls(silent.local_addr(), tls)).timeout(Duration::from_millis(150));
    let start = Instant::now();
    let error = within("the timeout", connector.connect_with(&Reconnect::Never))
        .await
        .unwrap_err();
    assert!(start.elapsed() >= Duration::from_millis(150));
    assert_eq!((error.stage, error.attempts), (ConnectStage::Tls, 1));
    assert!(
        matches!(error.failure, ConnectFailure::TimedOut(d) if d == Duration::from_millis(150)),
        "{error}"
    );
    // The ClientHello reached the backend: the TCP stage was done.
    assert!(silent.received() > 0);
}

#[tokio::test(flavor = "current_thread")]
async fn reconnects_until_the_server_appears_and_counts_it() {
    let counters = std::sync::Arc::new(Counters::default());
    let _guard = metrics::set_default_local_recorder(&*counters);
    let addr = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap();
    let connector = Connector::new(Endpoint::tcp(addr));
    let late = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(70)).await;
        let listener = TcpListener::bind(addr).await.unwrap();
        listener.accept().await.unwrap()
    });
    within("the reconnect", connector.connect_with(&quick(20)))
        .await
        .unwrap();
    within("the accept", late).await.unwrap();
    let label = format!("endpoint=\"{addr}\"");
    let retries = counters.value(&format!("framekit_client_reconnects_total{{{label}}}"));
    let failed = counters.value(&format!(
        "framekit_client_errors_total{{{label},kind=\"connect\"}}"
    ));
    assert_eq!(
        counters.value(&format!("framekit_client_connects_total{{{label}}}")),
        1
    );
    assert!(retries >= 1, "{retries} retries");
    assert_eq!(failed, retries, "each retry follows a failed attempt");
}

#[tokio::test]
async fn gives_up_after_the_retry_limit_with_the_last_error() {
    let addr = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap();
    let start = Instant::now();
    let error = within(
        "giving up",
        Connector::new(Endpoint::tcp(addr)).connect_with(&quick(3)),
    )
    .await
    .unwrap_err();
    assert_eq!((error.stage, error.attempts), (ConnectStage::Tcp, 4));
    match &error.failure {
        ConnectFailure::Io(e) => assert_eq!(e.kind(), std::io::ErrorKind::ConnectionRefused),
        other => panic!("{other:?}"),
    }
    // Pauses of 20, 40 and 40 ms (no jitter) come before the last attempt.
    assert!(
        start.elapsed() >= Duration::from_millis(100),
        "{:?}",
        start.elapsed()
    );
}

#[tokio::test]
async fn an_unresolvable_name_fails_at_the_resolve_stage() {
    let error = Connector::new(Endpoint::tcp("no-such-host.invalid:6379"))
        .connect_with(&Reconnect::Never)
        .await
        .unwrap_err();
    assert_eq!(error.stage, ConnectStage::Resolve);
}
