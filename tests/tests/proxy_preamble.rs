//! The PROXY preamble stage over real loopback sockets: a trusted balancer's header names the
//! client the handler sees; an untrusted source, a missing header or a bad one is refused and
//! closed before a byte reaches the handler.

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use framekit::framing::proxy::{ProxyHeader, Tlv};
use framekit_server::preamble::{Preamble, ProxyMode};
use framekit_server::{metrics::CloseReason, Ctx, Server, ServerConfig, ServerHandle};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

mod support;
use support::*;

/// Answers every line with who the server believes the client is, where it connected, and the
/// ALPN the balancer saw.
async fn whoami(preamble: Preamble) -> ServerHandle {
    Server::bind("127.0.0.1:0")
        .await
        .unwrap()
        .config(ServerConfig::default().preamble(preamble))
        .serve(lines_codec(), |req: Bytes, ctx: Ctx| async move {
            let alpn = ctx.proxy_header().and_then(|h| h.alpn()).unwrap_or(b"-");
            let destination = ctx.destination().map_or("-".to_string(), |d| d.to_string());
            Some(Bytes::from(format!(
                "{} {} peer={} socket={} to={destination} alpn={}",
                String::from_utf8_lossy(&req),
                ctx.id(),
                ctx.peer(),
                ctx.socket_peer(),
                String::from_utf8_lossy(alpn),
            )))
        })
}

fn wire(header: &ProxyHeader) -> Vec<u8> {
    let mut dst = BytesMut::new();
    header.write(&mut dst).unwrap();
    dst.to_vec()
}

#[tokio::test]
async fn a_v2_header_names_the_client_and_its_tlvs_reach_the_handler() {
    let server = whoami(Preamble::new(ProxyMode::V2)).await;
    let header = ProxyHeader::v2_proxy(
        "192.0.2.1:5000".parse().unwrap(),
        "10.0.0.1:6379".parse().unwrap(),
    )
    .with_tlv(Tlv::Alpn(b"redis".to_vec()));
    // Header and two requests in one write: the bytes after the header are the client's.
    let mut sent = wire(&header);
    sent.extend_from_slice(b"a\nb\n");
    let got = exchange_half_closed(&server, &sent).await;
    let lines: Vec<&str> = got.lines().collect();
    assert_eq!(lines.len(), 2, "{got}");
    assert!(
        lines[0].starts_with("a 1 peer=192.0.2.1:5000 socket=127.0.0.1:"),
        "{got}"
    );
    assert!(lines[0].ends_with("to=10.0.0.1:6379 alpn=redis"), "{got}");
    assert!(lines[1].starts_with("b 1 peer=192.0.2.1:5000"), "{got}");
    stop(server).await;
}

#[tokio::test]
async fn a_v1_line_sent_slowly_is_waited_for() {
    let server = whoami(Preamble::new(ProxyMode::Any)).await;
    let mut stream = connect(&server).await;
    for piece in [
        &b"PROXY TCP6 2001:db8::1 "[..],
        b"2001:db8::2 1 2\r",
        b"\nhello\n",
    ] {
        stream.write_all(piece).await.unwrap();
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stream.shutdown().await.unwrap();
    let mut got = String::new();
    within("reply", stream.read_to_string(&mut got))
        .await
        .unwrap();
    assert!(got.starts_with("hello 1 peer=[2001:db8::1]:1 "), "{got}");
    assert!(got.contains("to=[2001:db8::2]:2"), "{got}");
    stop(server).await;
}

#[tokio::test]
async fn local_health_checks_keep_the_socket_address() {
    let server = whoami(Preamble::new(ProxyMode::V2)).await;
    let mut sent = wire(&ProxyHeader::v2_local());
    sent.extend_from_slice(b"ping\n");
    let got = exchange_half_closed(&server, &sent).await;
    assert!(got.starts_with("ping 1 peer=127.0.0.1:"), "{got}");
    assert!(got.contains(" to=- "), "{got}");
    stop(server).await;
}

#[tokio::test]
async fn a_header_from_an_untrusted_source_is_refused() {
    // Loopback is not in the list, so this test's own connections are untrusted.
    let server =
        whoami(Preamble::new(ProxyMode::Any).trusted(["10.0.0.0/8".parse().unwrap()])).await;
    let mut forged = wire(&ProxyHeader::v2_proxy(
        "203.0.113.66:1".parse().unwrap(),
        "10.0.0.1:6379".parse().unwrap(),
    ));
    forged.extend_from_slice(b"hello\n");
    assert_eq!(exchange_or_reset(&server, &forged).await, "");
    wait_for(&server, "the refusal", |m| {
        m.closed(CloseReason::PreambleRefused) == 1
    })
    .await;
    stop(server).await;
}

#[tokio::test]
async fn no_header_or_a_bad_one_is_refused_and_nothing_is_handled() {
    let server = whoami(Preamble::new(ProxyMode::Any)).await;
    for sent in [
        &b"hello\n"[..],
        b"PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\nhello\n",
        b"\r\n\r\n\0\r\nQUIT\n\x31\x11\x00\x0chello\n",
    ] {
        assert_eq!(exchange_or_reset(&server, sent).await, "", "{sent:?}");
    }
    wait_for(&server, "three refusals", |m| {
        m.closed(CloseReason::PreambleRefused) == 3
    })
    .await;
    assert_eq!(server.metrics().frames_in, 0);
    stop(server).await;
}

#[tokio::test]
async fn a_header_that_never_finishes_is_refused_at_the_preamble_timeout() {
    let preamble = Preamble::new(ProxyMode::V1).timeout(Duration::from_millis(200));
    let server = whoami(preamble).await;
    let mut stream = connect(&server).await;
    stream.write_all(b"PROXY TCP4 1.2.3.4").await.unwrap();
    let mut got = Vec::new();
    let _ = within("the close", stream.read_to_end(&mut got)).await;
    assert!(got.is_empty());
    wait_for(&server, "the timeout", |m| {
        m.closed(CloseReason::PreambleTimeout) == 1
    })
    .await;
    stop(server).await;
}

/// Sends `data`, half-closes, reads to the close.
async fn exchange_half_closed(server: &ServerHandle, data: &[u8]) -> String {
    let mut stream = connect(server).await;
    stream.write_all(data).await.unwrap();
    stream.shutdown().await.unwrap();
    let mut got = String::new();
    within("read to the close", stream.read_to_string(&mut got))
        .await
        .unwrap();
    got
}

/// Sends `data` and reads until the server closes; a reset (the server closed with our bytes
/// unread) counts as a close with nothing received.
async fn exchange_or_reset(server: &ServerHandle, data: &[u8]) -> String {
    let mut stream = connect(server).await;
    let _ = stream.write_all(data).await;
    let mut got = Vec::new();
    let _ = within("read to the close", stream.read_to_end(&mut got)).await;
    String::from_utf8_lossy(&got).into_owned()
}

/// A connection whose context a PROXY header derived, and whose handler keeps a clone of it
/// and panics: the task ends without returning, and the derived context must still be closed
/// (its token fired, its loop out of the shutdown's registry), however long the clone lives.
/// Before the loop held its context in a guard, only the accept loop's own context (the one
/// before the header) was closed, so the clone kept the dead task's waker registered.
#[tokio::test]
async fn a_panicking_handler_still_closes_the_context_a_header_derived() {
    use std::sync::{Arc, Mutex};
    let kept: Arc<Mutex<Option<Ctx>>> = Arc::default();
    let keep = kept.clone();
    let server = Server::bind("127.0.0.1:0")
        .await
        .unwrap()
        .config(ServerConfig::default().preamble(Preamble::new(ProxyMode::V2)))
        .serve(lines_codec(), move |_req: Bytes, ctx: Ctx| {
            let keep = keep.clone();
            async move {
                assert!(
                    ctx.proxy_header().is_some(),
                    "the header derived this context"
                );
                *keep.lock().unwrap() = Some(ctx);
                panic!("the handler fails hard");
                #[allow(unreachable_code)]
                None::<Bytes>
            }
        });
    let header = ProxyHeader::v2_proxy(
        "192.0.2.1:5000".parse().unwrap(),
        "10.0.0.1:6379".parse().unwrap(),
    );
    let mut sent = wire(&header);
    sent.extend_from_slice(b"a\n");
    let _ = exchange_or_reset(&server, &sent).await;
    let ctx = within("the handler ran", async {
        loop {
            if let Some(ctx) = kept.lock().unwrap().clone() {
                return ctx;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    within("the kept context closed", async {
        while !ctx.is_closing() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    assert!(ctx.closing().is_cancelled());
    server.shutdown(Duration::from_secs(1)).await;
}
