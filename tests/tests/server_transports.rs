//! framekit-server over what it can listen on and write to: Unix sockets (a stale socket file
//! replaced), IPv6 with port zero, streams that buffer until flushed as TLS does, and large
//! payloads written out whole.
//!
//! Every test is bounded in time (`within`), and asserts outcomes (what the peer received, what
//! the counters say), never how long something took.

use bytes::Bytes;
use framekit::framing::length_prefixed::LengthPrefixed;
use framekit::FrameCodec;
use framekit_server::{Addr, Ctx, Server};
use futures::{SinkExt, StreamExt};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio_util::codec::Framed;

mod support;
use support::*;

#[tokio::test]
async fn large_payloads_go_out_intact() {
    let big = Bytes::from(
        (0..4 * 1024 * 1024u32)
            .map(|i| i as u8)
            .collect::<Vec<u8>>(),
    );
    let reply = big.clone();
    let server = Server::bind("127.0.0.1:0").await.unwrap().serve(
        FrameCodec::new(LengthPrefixed::u32_be()),
        move |_req: Bytes, _ctx: Ctx| {
            let reply = reply.clone();
            async move { Some(reply) }
        },
    );
    let mut client = Framed::new(
        connect(&server).await,
        FrameCodec::new(LengthPrefixed::u32_be()),
    );
    client.send(&b"get"[..]).await.unwrap();
    client.send(&b"get"[..]).await.unwrap();
    for _ in 0..2 {
        let got = within("big reply", client.next()).await.unwrap().unwrap();
        assert!(got == big, "payload differs");
    }
    stop(server).await;
}

#[cfg(unix)]
#[tokio::test]
async fn unix_socket_serves_like_tcp() {
    let path = std::env::temp_dir().join(format!("framekit-server-{}.sock", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let server = Server::bind_unix(&path)
        .unwrap()
        .serve(lines_codec(), echo_with("unix:"));
    assert!(matches!(server.local_addr(), Addr::Unix(Some(p)) if *p == path));
    let stream = within("connect", tokio::net::UnixStream::connect(&path))
        .await
        .unwrap();
    let mut lines = BufReader::new(stream).lines();
    lines.get_mut().write_all(b"hi\n").await.unwrap();
    let answer = within("answer", lines.next_line()).await.unwrap();
    assert_eq!(answer.as_deref(), Some("unix:hi"));
    // Something listens there: a second server is refused, and the file stays.
    let second = Server::<_, Bytes>::bind_unix(&path).err().map(|e| e.kind());
    assert_eq!(second, Some(std::io::ErrorKind::AddrInUse));
    drop(lines);
    stop(server).await;
    assert!(!path.exists(), "the socket file is removed at shutdown");
}

#[cfg(unix)]
#[tokio::test]
async fn a_stale_unix_socket_file_is_replaced_at_bind() {
    let path = std::env::temp_dir().join(format!("framekit-stale-{}.sock", std::process::id()));
    let _ = std::fs::remove_file(&path);
    // A socket file nobody listens on, as a crashed server leaves it.
    drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
    assert!(path.exists());
    let server = Server::bind_unix(&path)
        .unwrap()
        .serve(lines_codec(), echo_with("fresh:"));
    let stream = within("connect", tokio::net::UnixStream::connect(&path))
        .await
        .unwrap();
    let mut lines = BufReader::new(stream).lines();
    lines.get_mut().write_all(b"hi\n").await.unwrap();
    let answer = within("answer", lines.next_line()).await.unwrap();
    assert_eq!(answer.as_deref(), Some("fresh:hi"));
    drop(lines);
    stop(server).await;
    assert!(!path.exists());
}

#[tokio::test]
async fn ipv6_and_port_zero_report_the_bound_address() {
    let Ok(server) = Server::bind("[::1]:0").await else {
        eprintln!("no IPv6 loopback here; skipping");
        return;
    };
    let server = server.serve(lines_codec(), echo_with("v6:"));
    let addr = server.local_addr().as_tcp().unwrap();
    assert!(addr.is_ipv6() && addr.port() != 0);
    let mut client = line_client(&server).await;
    send(&mut client, "hi\n").await;
    assert_eq!(next_line(&mut client).await.as_deref(), Some("v6:hi"));
    drop(client);
    stop(server).await;
}

#[tokio::test]
async fn buffering_transports_like_tls_are_flushed() {
    // `BufWriter` holds written bytes until flushed, as TLS streams do.
    let (client, server_side) = tokio::io::duplex(64 * 1024);
    let buffered = tokio::io::BufWriter::new(server_side);
    let server = Server::new(framekit_server::listener::StreamAcceptor::new(
        futures::stream::iter(vec![buffered]),
        "in-memory",
    ))
    .serve(lines_codec(), echo_with("buffered:"));
    let mut lines = BufReader::new(client).lines();
    lines.get_mut().write_all(b"hi\n").await.unwrap();
    let answer = within("answer", lines.next_line()).await.unwrap();
    assert_eq!(answer.as_deref(), Some("buffered:hi"));
    assert_eq!(server.metrics().accepted, 1);
    drop(lines);
    stop(server).await;
}
