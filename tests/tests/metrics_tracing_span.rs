//! The per-connection tracing span: every event of a connection's task carries `conn{id, peer}`
//! with the peer's real address, the TLS handshake failure included. Captured in-process with
//! a `tracing-subscriber` fmt layer writing into a buffer (a current-thread runtime, so the
//! server's tasks run where the subscriber is set).

mod deploy_support;
mod support;

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use deploy_support::certs::Certs;
use framekit_server::tls::TlsConfig;
use framekit_server::{Ctx, Server};
use support::{lines_codec, within};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// A writer the subscriber appends to.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

#[tokio::test(flavor = "current_thread")]
async fn every_connection_event_carries_the_span_with_id_and_peer() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter("framekit_server=debug")
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let certs = Certs::new("span");
    let tls = TlsConfig::from_pem_files(certs.cert_path(), certs.key_path()).unwrap();
    let server = Server::bind("127.0.0.1:0").await.unwrap().tls(tls).serve(
        lines_codec(),
        |line: Bytes, _ctx: Ctx| async move { Some(line) },
    );
    let addr = server.local_addr().as_tcp().unwrap();

    // Connection 1: a TLS client, served.
    let tcp = TcpStream::connect(addr).await.unwrap();
    let first = tcp.local_addr().unwrap();
    let tls = certs
        .client(&[])
        .connect(deploy_support::certs::localhost(), tcp)
        .await
        .unwrap();
    let mut lines = BufReader::new(tls).lines();
    lines.get_mut().write_all(b"hello\n").await.unwrap();
    assert_eq!(
        within("echo", lines.next_line()).await.unwrap().unwrap(),
        "hello"
    );
    lines.get_mut().shutdown().await.unwrap();
    let _ = within("close", lines.next_line()).await;

    // Connection 2: a peer that does not speak TLS.
    let mut plain = TcpStream::connect(addr).await.unwrap();
    let second = plain.local_addr().unwrap();
    plain.write_all(b"hello\n").await.unwrap();
    let mut rest = Vec::new();
    let _ = within("refused", plain.read_to_end(&mut rest)).await;

    server.shutdown(Duration::from_secs(5)).await;
    let log = captured.text();
    let span1 = format!("conn{{id=1 peer={first}}}");
    let span2 = format!("conn{{id=2 peer={second}}}");
    for (span, event) in [
        (&span1, "connection opened"),
        (&span1, "TLS handshake done"),
        (&span1, "connection closed"),
        (&span2, "connection opened"),
        (&span2, "TLS handshake failed"),
    ] {
        assert!(
            log.lines()
                .any(|l| l.contains(span.as_str()) && l.contains(event)),
            "no `{event}` in {span}:\n{log}"
        );
    }
    let failure = log
        .lines()
        .find(|l| l.contains("TLS handshake failed"))
        .unwrap();
    assert!(failure.contains(&format!("peer={second}")), "{failure}");
    assert!(
        log.lines()
            .any(|l| l.contains(&span2) && l.contains("reason=tls_handshake")),
        "{log}"
    );
}
