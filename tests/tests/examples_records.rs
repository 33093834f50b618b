//! records_server over loopback: 16-byte records from several clients feed one aggregate; a
//! query record gets a 32-byte count/min/max/mean summary. The server is the example binary's
//! own `serve`, compiled in from its file.

#[allow(dead_code, unexpected_cfgs)]
#[path = "../../crates/framekit-examples/examples/records_server.rs"]
mod records_server;

use std::time::Duration;

use framekit_examples::records::{Record, Summary, SUMMARY_LEN};
use framekit_server::{Server, ServerHandle};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;

const LIMIT: Duration = Duration::from_secs(10);

async fn start() -> (ServerHandle, std::net::SocketAddr) {
    let server = Server::bind("127.0.0.1:0").await.unwrap();
    let handle = records_server::serve(server);
    let addr = handle.local_addr().as_tcp().unwrap();
    (handle, addr)
}

async fn query(conn: &mut TcpStream) -> Summary {
    conn.write_all(&Record::query_bytes()).await.unwrap();
    let mut reply = [0u8; SUMMARY_LEN];
    conn.read_exact(&mut reply).await.unwrap();
    Summary::from_bytes(reply)
}

#[tokio::test]
async fn records_are_aggregated_and_queries_get_a_summary() {
    timeout(LIMIT, async {
        let (server, addr) = start().await;
        let mut c = TcpStream::connect(addr).await.unwrap();
        let empty = query(&mut c).await;
        assert_eq!(empty.count, 0);
        assert!(empty.mean.is_nan());

        // 1000 records in one write, split at odd places by the kernel or not: values 1..=1000.
        let mut wire = Vec::new();
        for t in 1..=1000u64 {
            wire.extend_from_slice(
                &Record {
                    timestamp: t,
                    value: t as f64,
                }
                .to_bytes(),
            );
        }
        c.write_all(&wire).await.unwrap();
        let s = query(&mut c).await;
        assert_eq!((s.count, s.min, s.max), (1000, 1.0, 1000.0));
        assert!((s.mean - 500.5).abs() < 1e-9);

        // A second client's records, sent a byte at a time, land in the same aggregate.
        let mut d = TcpStream::connect(addr).await.unwrap();
        let r = Record {
            timestamp: 5,
            value: -7.5,
        };
        for b in r.to_bytes() {
            d.write_all(&[b]).await.unwrap();
        }
        let s = query(&mut d).await;
        assert_eq!((s.count, s.min, s.max), (1001, -7.5, 1000.0));
        server.shutdown(Duration::from_secs(1)).await;
    })
    .await
    .unwrap();
}
