//! Several listeners and socket options over loopback: one server on TCP and a Unix socket
//! keeps one connection limit and one shutdown; two servers bound with `SO_REUSEPORT` to one
//! port both serve.

mod support;

use std::collections::BTreeSet;
use std::time::Duration;

use bytes::Bytes;
use framekit_server::tcp::{TcpAcceptor, TcpOptions};
use framekit_server::{listener::Acceptor, Addr, Ctx, Server, ServerConfig, ServerHandle};
use support::{lines_codec, within};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpStream, UnixStream};

/// A line server that answers every line with `name`.
fn named(acceptor: impl Acceptor, name: &'static str, config: ServerConfig) -> ServerHandle {
    Server::new(acceptor)
        .config(config)
        .serve(lines_codec(), move |_line: Bytes, _ctx: Ctx| async move {
            Some(Bytes::from_static(name.as_bytes()))
        })
}

async fn ask<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin>(stream: S) -> String {
    let mut lines = BufReader::new(stream).lines();
    within("send", lines.get_mut().write_all(b"hi\n"))
        .await
        .unwrap();
    within("answer", lines.next_line()).await.unwrap().unwrap()
}

#[tokio::test]
async fn tcp_and_unix_listeners_share_one_limit_and_one_shutdown() {
    let dir = std::env::temp_dir().join(format!("framekit-listeners-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("both.sock");
    let _ = std::fs::remove_file(&path);
    let tcp = TcpAcceptor::bind("127.0.0.1:0", &TcpOptions::default()).unwrap();
    let tcp_addr = tcp.local_addr().unwrap().as_tcp().unwrap();
    let both = tcp.and(tokio::net::UnixListener::bind(&path).unwrap());
    assert_eq!(both.local_addrs().len(), 2);
    let server = named(both, "both", ServerConfig::default().max_connections(1));
    // The handle names every listener, in the order they were joined.
    assert_eq!(
        server.local_addrs(),
        [Addr::Tcp(tcp_addr), Addr::Unix(Some(path.clone()))]
    );
    assert_eq!(server.local_addr(), &Addr::Tcp(tcp_addr));

    // Both listeners serve.
    let mut tcp_peer = TcpStream::connect(tcp_addr).await.unwrap();
    let mut lines = BufReader::new(&mut tcp_peer).lines();
    lines.get_mut().write_all(b"hi\n").await.unwrap();
    assert_eq!(lines.next_line().await.unwrap().unwrap(), "both");

    // The TCP peer holds the one permit: the Unix peer is not served until it leaves.
    let mut unix_peer = UnixStream::connect(&path).await.unwrap();
    unix_peer.write_all(b"hi\n").await.unwrap();
    let mut buf = [0u8; 16];
    let early = tokio::time::timeout(Duration::from_millis(300), unix_peer.read(&mut buf)).await;
    assert!(early.is_err(), "served past the limit: {early:?}");
    drop(lines);
    drop(tcp_peer);
    let n = within("served once the permit is free", unix_peer.read(&mut buf))
        .await
        .unwrap();
    assert_eq!(&buf[..n], b"both\n");
    drop(unix_peer);

    // One shutdown closes both listeners.
    let report = server.shutdown(Duration::from_secs(5)).await;
    assert_eq!(report.aborted, 0);
    assert!(TcpStream::connect(tcp_addr).await.is_err());
    assert!(UnixStream::connect(&path).await.is_err());
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn two_servers_with_reuse_port_on_one_port_both_serve() {
    let options = TcpOptions::default().reuse_port(true);
    let first = TcpAcceptor::bind("127.0.0.1:0", &options).unwrap();
    let addr = first.local_addr().unwrap().as_tcp().unwrap();
    let second = TcpAcceptor::bind(addr, &options).unwrap();
    let a = named(first, "a", ServerConfig::default());
    let b = named(second, "b", ServerConfig::default());

    // The kernel spreads connections by their addresses: 64 connections all landing on one
    // server would happen with probability 2^-63.
    let mut seen = BTreeSet::new();
    for _ in 0..64 {
        let peer = within("connect", TcpStream::connect(addr)).await.unwrap();
        seen.insert(ask(peer).await);
    }
    assert_eq!(seen, BTreeSet::from(["a".to_string(), "b".to_string()]));

    // When one stops, the other serves every connection.
    a.shutdown(Duration::from_secs(5)).await;
    for _ in 0..16 {
        let peer = within("connect", TcpStream::connect(addr)).await.unwrap();
        assert_eq!(ask(peer).await, "b");
    }
    b.shutdown(Duration::from_secs(5)).await;
}
