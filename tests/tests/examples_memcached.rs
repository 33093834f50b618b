//! memcached_server over loopback, started in-process through the same function the binary
//! uses: a client written here checks exact answers for pipelined requests, a block over the
//! item limit dropped as it trickles in (the connection stays usable, memory stays bounded),
//! and the closes memcached makes (quit, a line over the limit).

#[allow(dead_code, unexpected_cfgs)]
#[path = "../../crates/framekit-examples/examples/memcached_server.rs"]
mod memcached_server;

use std::time::Duration;

use framekit_examples::memcached::codec;
use framekit_examples::memcached::MemcacheFraming;
use framekit_server::{Server, ServerConfig, ServerHandle};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;

const LIMIT: Duration = Duration::from_secs(20);

async fn start(framing: MemcacheFraming) -> (ServerHandle, std::net::SocketAddr) {
    let config = codec::config(ServerConfig::default(), &framing);
    let listener = Server::bind("127.0.0.1:0").await.unwrap().config(config);
    let handle = memcached_server::serve(listener, framing, 1 << 20);
    let addr = handle.local_addr().as_tcp().unwrap();
    (handle, addr)
}

/// Reads exactly `expected.len()` bytes and compares them.
async fn expect(conn: &mut TcpStream, expected: &[u8]) {
    let mut got = vec![0; expected.len()];
    conn.read_exact(&mut got).await.unwrap();
    assert_eq!(
        String::from_utf8_lossy(&got),
        String::from_utf8_lossy(expected)
    );
}

async fn expect_closed(conn: &mut TcpStream) {
    let mut rest = Vec::new();
    let n = conn.read_to_end(&mut rest).await.unwrap_or(0);
    assert_eq!(
        n,
        0,
        "unexpected bytes: {:?}",
        String::from_utf8_lossy(&rest)
    );
}

#[tokio::test]
async fn pipelined_requests_are_answered_in_order() {
    timeout(LIMIT, async {
        let (server, addr) = start(MemcacheFraming::new()).await;
        let mut c = TcpStream::connect(addr).await.unwrap();
        c.write_all(
            b"set a 3 0 2\r\nhi\r\nappend a 0 0 1 noreply\r\n!\r\nget a b\r\nincr a 1\r\n\
              ms n 1 T0\r\n7\r\nma n v\r\nset x 0 0 1\r\nzXYmn\r\n",
        )
        .await
        .unwrap();
        expect(
            &mut c,
            b"STORED\r\nVALUE a 3 3\r\nhi!\r\nEND\r\n\
              CLIENT_ERROR cannot increment or decrement non-numeric value\r\n\
              HD\r\nVA 1\r\n8\r\nCLIENT_ERROR bad data chunk\r\nMN\r\n",
        )
        .await;
        server.shutdown(Duration::from_secs(1)).await;
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn a_block_over_the_item_limit_is_dropped_as_it_trickles_in() {
    timeout(LIMIT, async {
        // A 4 KiB item limit: the input budget holds one item, not the 1 MB block.
        let (server, addr) = start(MemcacheFraming::new().item_max(4096)).await;
        let mut c = TcpStream::connect(addr).await.unwrap();
        c.write_all(b"set k 0 0 1\r\nv\r\nset k 0 0 1000000\r\n")
            .await
            .unwrap();
        expect(
            &mut c,
            b"STORED\r\nSERVER_ERROR object too large for cache\r\n",
        )
        .await;
        let piece = vec![b'x'; 10_000];
        for _ in 0..100 {
            c.write_all(&piece).await.unwrap();
        }
        // memcached drops the stale value of a set it could not take.
        c.write_all(b"\r\nget k\r\nmn\r\n").await.unwrap();
        expect(&mut c, b"END\r\nMN\r\n").await;
        server.shutdown(Duration::from_secs(1)).await;
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn quit_and_an_overlong_line_close_the_connection() {
    timeout(LIMIT, async {
        let (server, addr) = start(MemcacheFraming::new()).await;
        let mut c = TcpStream::connect(addr).await.unwrap();
        c.write_all(b"version\r\nquit\r\nget a\r\n").await.unwrap();
        let mut version = String::new();
        c.read_to_string(&mut version).await.unwrap();
        assert!(version.starts_with("VERSION 1.6"), "{version}");
        let mut c = TcpStream::connect(addr).await.unwrap();
        c.write_all(&[b'x'; 3000]).await.unwrap();
        expect_closed(&mut c).await;
        server.shutdown(Duration::from_secs(1)).await;
    })
    .await
    .unwrap();
}
