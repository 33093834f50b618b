//! ack_server over loopback: every line answered with `ack:<line>`, in order, pipelined. The
//! server is the example binary's own `serve`, compiled in from its file.

#[allow(dead_code, unexpected_cfgs)]
#[path = "../../crates/framekit-examples/examples/ack_server.rs"]
mod ack_server;

use std::time::Duration;

use framekit_server::Server;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::time::timeout;

const LIMIT: Duration = Duration::from_secs(10);

#[tokio::test]
async fn pipelined_lines_are_acked_in_order() {
    timeout(LIMIT, async {
        let server = ack_server::serve(Server::bind("127.0.0.1:0").await.unwrap(), 1024);
        let addr = server.local_addr().as_tcp().unwrap();
        let (rd, mut wr) = TcpStream::connect(addr).await.unwrap().into_split();
        let n = 5_000;
        let writer = tokio::spawn(async move {
            let mut batch = String::new();
            for i in 0..n {
                batch.push_str(&format!("line {i}\r\n"));
            }
            wr.write_all(batch.as_bytes()).await.unwrap();
            wr
        });
        let mut lines = BufReader::new(rd).lines();
        for i in 0..n {
            assert_eq!(
                lines.next_line().await.unwrap().unwrap(),
                format!("ack:line {i}")
            );
        }
        drop(writer.await.unwrap());
        server.shutdown(Duration::from_secs(1)).await;
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn an_overlong_line_gets_an_error_line_then_close() {
    timeout(LIMIT, async {
        let server = ack_server::serve(Server::bind("127.0.0.1:0").await.unwrap(), 16);
        let addr = server.local_addr().as_tcp().unwrap();
        let mut c = TcpStream::connect(addr).await.unwrap();
        c.write_all(b"short\nthis line is longer than sixteen bytes\n")
            .await
            .unwrap();
        let mut all = String::new();
        c.read_to_string(&mut all).await.unwrap();
        let mut lines = all.lines();
        assert_eq!(lines.next(), Some("ack:short"));
        // Named by the limit, not by how much of the line a read happened to bring.
        assert_eq!(
            lines.next(),
            Some("error: the line at byte 6 is over the maximum of 16 bytes")
        );
        assert_eq!(lines.next(), None);
        server.shutdown(Duration::from_secs(1)).await;
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn clients_past_the_connection_limit_get_a_server_full_line() {
    timeout(LIMIT, async {
        let config = framekit_server::ServerConfig::default().max_connections(1);
        let server = Server::bind("127.0.0.1:0").await.unwrap().config(config);
        let server = ack_server::serve(server, 1024);
        let addr = server.local_addr().as_tcp().unwrap();
        let mut first = BufReader::new(TcpStream::connect(addr).await.unwrap());
        first.get_mut().write_all(b"hi\n").await.unwrap();
        let mut line = String::new();
        first.read_line(&mut line).await.unwrap();
        assert_eq!(line, "ack:hi\n");
        let mut second = TcpStream::connect(addr).await.unwrap();
        let mut refused = String::new();
        second.read_to_string(&mut refused).await.unwrap();
        assert_eq!(refused, "error: server full\n");
        server.shutdown(Duration::from_secs(1)).await;
    })
    .await
    .unwrap();
}
