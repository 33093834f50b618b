//! kv_server over loopback, with the crate's client codec: GET/SET/DEL, status codes, bad
//! payloads answered in-band, oversized frames refused. The server is the example binary's own
//! `serve`, compiled in from its file.

#[allow(dead_code, unexpected_cfgs)]
#[path = "../../crates/framekit-examples/examples/kv_server.rs"]
mod kv_server;

use std::time::Duration;

use bytes::Bytes;
use framekit_examples::kv_protocol::{client_codec, KvRequest, KvResponse, Status};
use framekit_server::{Server, ServerConfig, ServerHandle};
use futures::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;
use tokio_util::codec::Framed;

const LIMIT: Duration = Duration::from_secs(10);
const MAX_FRAME: usize = 64 * 1024;

async fn start() -> (ServerHandle, std::net::SocketAddr) {
    let config = kv_server::config(ServerConfig::default(), MAX_FRAME);
    let server = Server::bind("127.0.0.1:0").await.unwrap().config(config);
    let handle = kv_server::serve(server, MAX_FRAME);
    let addr = handle.local_addr().as_tcp().unwrap();
    (handle, addr)
}

fn get(key: &str) -> KvRequest {
    KvRequest::Get {
        key: Bytes::copy_from_slice(key.as_bytes()),
    }
}

fn set(key: &str, value: &[u8]) -> KvRequest {
    KvRequest::Set {
        key: Bytes::copy_from_slice(key.as_bytes()),
        value: Bytes::copy_from_slice(value),
    }
}

fn del(key: &str) -> KvRequest {
    KvRequest::Del {
        key: Bytes::copy_from_slice(key.as_bytes()),
    }
}

#[tokio::test]
async fn get_set_del_with_status_codes() {
    timeout(LIMIT, async {
        let (server, addr) = start().await;
        let socket = TcpStream::connect(addr).await.unwrap();
        let mut c = Framed::new(socket, client_codec(MAX_FRAME));
        let exchanges = [
            (get("k"), KvResponse::status(Status::NotFound)),
            (set("k", b"\0binary\xff"), KvResponse::status(Status::Ok)),
            (
                get("k"),
                KvResponse::value(Bytes::from_static(b"\0binary\xff")),
            ),
            (set("k", b""), KvResponse::status(Status::Ok)),
            (get("k"), KvResponse::value(Bytes::new())),
            (del("k"), KvResponse::status(Status::Ok)),
            (del("k"), KvResponse::status(Status::NotFound)),
        ];
        for (req, resp) in exchanges {
            c.send(req).await.unwrap();
            assert_eq!(c.next().await.unwrap().unwrap(), resp);
        }
        server.shutdown(Duration::from_secs(1)).await;
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn pipelined_requests_act_in_order_across_connections() {
    timeout(LIMIT, async {
        let (server, addr) = start().await;
        let socket = TcpStream::connect(addr).await.unwrap();
        let mut c = Framed::new(socket, client_codec(MAX_FRAME));
        for i in 0..500 {
            c.feed(set(&format!("k{i}"), format!("v{i}").as_bytes()))
                .await
                .unwrap();
            c.feed(get(&format!("k{i}"))).await.unwrap();
        }
        c.flush().await.unwrap();
        for i in 0..500 {
            assert_eq!(c.next().await.unwrap().unwrap().status, Status::Ok);
            let got = c.next().await.unwrap().unwrap();
            assert_eq!(got.value, format!("v{i}"));
        }
        // Another connection sees the same store.
        let socket = TcpStream::connect(addr).await.unwrap();
        let mut d = Framed::new(socket, client_codec(MAX_FRAME));
        d.send(get("k499")).await.unwrap();
        assert_eq!(d.next().await.unwrap().unwrap().value, "v499");
        server.shutdown(Duration::from_secs(1)).await;
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn bad_payloads_get_bad_request_and_the_connection_goes_on() {
    timeout(LIMIT, async {
        let (server, addr) = start().await;
        let mut raw = TcpStream::connect(addr).await.unwrap();
        // Unknown op 0x09, then a GET of "k".
        raw.write_all(b"\0\0\0\x03\x09\0\0\0\0\0\x04\x01\0\x01k")
            .await
            .unwrap();
        let mut replies = [0u8; 10];
        raw.read_exact(&mut replies).await.unwrap();
        assert_eq!(&replies, b"\0\0\0\x01\x02\0\0\0\x01\x01");
        server.shutdown(Duration::from_secs(1)).await;
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn oversized_frames_get_too_large_then_close() {
    timeout(LIMIT, async {
        let (server, addr) = start().await;
        let mut raw = TcpStream::connect(addr).await.unwrap();
        // Declares 16 MiB; only the header is sent.
        raw.write_all(b"\x01\0\0\0").await.unwrap();
        let mut rest = Vec::new();
        raw.read_to_end(&mut rest).await.unwrap();
        assert_eq!(rest, b"\0\0\0\x01\x03");
        server.shutdown(Duration::from_secs(1)).await;
    })
    .await
    .unwrap();
}
