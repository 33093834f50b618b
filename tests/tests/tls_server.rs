//! TLS in the server, over loopback with a rustls client: the handshake runs in the
//! connection's own task (silent peers do not delay real clients, and are closed at the
//! handshake timeout), the peer address survives TLS, ALPN is negotiated, and a peer that does
//! not speak TLS costs only its own connection.

mod deploy_support;
mod support;

use std::time::{Duration, Instant};

use bytes::Bytes;
use deploy_support::certs::{localhost, Certs};
use framekit_server::tcp::{TcpAcceptor, TcpOptions};
use framekit_server::tls::TlsConfig;
use framekit_server::{Ctx, Server, ServerConfig, ServerHandle};
use support::{lines_codec, within};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// A TLS line server: `who` is answered with the peer address it saw, anything else echoed.
fn start(certs: &Certs, handshake_timeout: Duration, config: ServerConfig) -> ServerHandle {
    let tls = TlsConfig::from_pem_files(certs.cert_path(), certs.key_path())
        .unwrap()
        .alpn(["framekit/1"])
        .handshake_timeout(handshake_timeout);
    let tcp = TcpAcceptor::bind("127.0.0.1:0", &TcpOptions::default()).unwrap();
    Server::new(tcp).tls(tls).config(config).serve(
        lines_codec(),
        |line: Bytes, ctx: Ctx| async move {
            Some(if line == "who" {
                Bytes::from(format!("peer={}", ctx.peer()))
            } else if line == "tls" {
                let tls = ctx.tls().expect("a TLS connection");
                let alpn = String::from_utf8_lossy(tls.alpn_protocol().unwrap_or(b"-"));
                Bytes::from(format!(
                    "alpn={alpn} sni={}",
                    tls.server_name().unwrap_or("-")
                ))
            } else {
                line
            })
        },
    )
}

fn addr(server: &ServerHandle) -> std::net::SocketAddr {
    server.local_addr().as_tcp().unwrap()
}

/// Connects with TLS, says `who` and 100 pipelined lines, and checks every answer.
async fn real_client(certs: &Certs, server: &ServerHandle) {
    let tcp = within("connect", TcpStream::connect(addr(server)))
        .await
        .unwrap();
    let local = tcp.local_addr().unwrap();
    let tls = within(
        "TLS handshake",
        certs
            .client(&["other", "framekit/1"])
            .connect(localhost(), tcp),
    )
    .await
    .expect("handshake");
    assert_eq!(tls.get_ref().1.alpn_protocol(), Some(&b"framekit/1"[..]));
    let mut lines = BufReader::new(tls).lines();
    let mut batch = String::from("who\ntls\n");
    for i in 0..100 {
        batch.push_str(&format!("line {i}\n"));
    }
    within("send", lines.get_mut().write_all(batch.as_bytes()))
        .await
        .unwrap();
    let who = within("who", lines.next_line()).await.unwrap().unwrap();
    assert_eq!(who, format!("peer={local}"));
    let tls = within("tls", lines.next_line()).await.unwrap().unwrap();
    assert_eq!(tls, "alpn=framekit/1 sni=localhost");
    for i in 0..100 {
        let got = within("echo", lines.next_line()).await.unwrap().unwrap();
        assert_eq!(got, format!("line {i}"));
    }
}

#[tokio::test]
async fn a_rustls_client_is_served_and_its_peer_address_survives_tls() {
    let certs = Certs::new("served");
    let server = start(&certs, Duration::from_secs(10), ServerConfig::default());
    real_client(&certs, &server).await;
    let report = server.shutdown(Duration::from_secs(5)).await;
    assert_eq!(report.aborted, 0);
}

#[tokio::test]
async fn silent_connections_do_not_delay_a_real_client_and_close_at_the_handshake_timeout() {
    const SILENT: usize = 300;
    let timeout = Duration::from_secs(3);
    let certs = Certs::new("flood");
    let server = start(&certs, timeout, ServerConfig::default());
    let mut silent = Vec::with_capacity(SILENT);
    for _ in 0..SILENT {
        let peer = within("connect a silent peer", TcpStream::connect(addr(&server)))
            .await
            .unwrap();
        silent.push((peer, Instant::now()));
    }
    within("the server has them all", async {
        while server.metrics().active < SILENT {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;

    real_client(&certs, &server).await;
    // The real client was served while every silent peer is still waiting for its timeout.
    let mut probe = [0u8; 1];
    for (peer, _) in &silent {
        match peer.try_read(&mut probe) {
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            other => panic!("a silent peer was closed before the real client was done: {other:?}"),
        }
    }

    // Each silent peer is closed at its handshake timeout, not before.
    let closes = silent.into_iter().map(|(mut peer, connected)| async move {
        let mut buf = [0u8; 64];
        let end = within("the handshake timeout closes it", peer.read(&mut buf)).await;
        assert!(matches!(end, Ok(0) | Err(_)), "{end:?}");
        connected.elapsed()
    });
    let waited = futures::future::join_all(closes).await;
    let earliest = waited.iter().min().unwrap();
    // Timers are coarse by a millisecond or so; nothing may close much earlier.
    assert!(
        *earliest >= timeout - Duration::from_millis(50),
        "closed after {earliest:?}"
    );
    within("the server lets them go", async {
        while server.metrics().active > 0 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    server.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test]
async fn a_peer_that_does_not_speak_tls_costs_only_its_connection() {
    let certs = Certs::new("garbage");
    let server = start(&certs, Duration::from_secs(10), ServerConfig::default());
    let mut plain = TcpStream::connect(addr(&server)).await.unwrap();
    plain.write_all(b"PING\r\n").await.unwrap();
    let mut got = Vec::new();
    // rustls answers with an alert (or nothing) and the server closes.
    let end = within("the server closes it", plain.read_to_end(&mut got)).await;
    assert!(got.len() < 16, "{got:?} / {end:?}");
    real_client(&certs, &server).await;
    within("the failed one is gone", async {
        while server.metrics().active > 0 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    server.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test]
async fn handshakes_count_against_the_connection_limit() {
    let certs = Certs::new("limit");
    let server = start(
        &certs,
        Duration::from_secs(2),
        ServerConfig::default().max_connections(1),
    );
    // A silent peer holds the only permit until its handshake times out...
    let mut silent = TcpStream::connect(addr(&server)).await.unwrap();
    within("the server has it", async {
        while server.metrics().active < 1 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    let started = Instant::now();
    // ...so the real client waits in the backlog, and is served once it is closed.
    real_client(&certs, &server).await;
    assert!(started.elapsed() >= Duration::from_millis(1500));
    let mut buf = [0u8; 8];
    assert!(matches!(silent.read(&mut buf).await, Ok(0) | Err(_)));
    server.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test]
async fn a_peer_rejected_at_the_limit_reads_the_reply_over_tls() {
    let certs = Certs::new("reject");
    let tls = TlsConfig::from_pem_files(certs.cert_path(), certs.key_path()).unwrap();
    let tcp = TcpAcceptor::bind("127.0.0.1:0", &TcpOptions::default()).unwrap();
    let server = Server::new(tcp)
        .tls(tls)
        .config(ServerConfig::default().max_connections(1))
        .on_reject(|_peer| Some(Bytes::from_static(b"error: server full")))
        .serve(
            lines_codec(),
            |line: Bytes, _ctx: Ctx| async move { Some(line) },
        );
    let connect = || async {
        let tcp = within("connect", TcpStream::connect(addr(&server)))
            .await
            .unwrap();
        within("handshake", certs.client(&[]).connect(localhost(), tcp))
            .await
            .unwrap()
    };
    let mut first = BufReader::new(connect().await).lines();
    first.get_mut().write_all(b"mine\n").await.unwrap();
    assert_eq!(first.next_line().await.unwrap().unwrap(), "mine");

    let mut second = connect().await;
    let mut got = Vec::new();
    // The refusal, then the close (a peer without close_notify reads as an error at the end).
    let _ = within("refused", second.read_to_end(&mut got)).await;
    assert_eq!(got, b"error: server full\n");
    drop(first);
    server.shutdown(Duration::from_secs(5)).await;
}
