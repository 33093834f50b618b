//! Thread-per-core servers over loopback: every thread serves, one connection limit holds
//! across the threads, a quiet thread strands no permit, and one shutdown stops them all.

mod support;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::thread::ThreadId;
use std::time::Duration;

use bytes::Bytes;
use framekit_server::tcp::{TcpAcceptor, TcpOptions};
use framekit_server::{Ctx, Server, ServerConfig, ServerHandle};
use support::{connect, line_client, lines_codec, next_line, send, wait_for, within};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Connections opened to see both threads of a reuse-port server: the kernel spreads them by
/// their (random) source ports, so all landing on one thread has odds of 2^-63.
const CONNECTIONS: usize = 64;

/// A two-thread echo server whose handler records the thread it ran on.
fn two_threads(
    config: ServerConfig,
    reject: bool,
) -> (ServerHandle, Arc<Mutex<HashSet<ThreadId>>>) {
    let seen = Arc::new(Mutex::new(HashSet::new()));
    let listener =
        TcpAcceptor::bind("127.0.0.1:0", &TcpOptions::default().reuse_port(true)).unwrap();
    let mut server = Server::new(listener).config(config);
    if reject {
        server = server.on_reject(|_| Some(Bytes::from_static(b"full")));
    }
    let record = seen.clone();
    let handle = server
        .threads(2)
        .unwrap()
        .serve(lines_codec(), move |req: Bytes, _ctx: Ctx| {
            record.lock().unwrap().insert(std::thread::current().id());
            async move { Some(req) }
        });
    (handle, seen)
}

/// Sends `data`, half-closes, and reads the whole answer.
async fn exchange(server: &ServerHandle, data: &[u8]) -> String {
    let mut stream = connect(server).await;
    within("send", stream.write_all(data)).await.unwrap();
    within("half-close", stream.shutdown()).await.unwrap();
    let mut got = Vec::new();
    within("read to the close", stream.read_to_end(&mut got))
        .await
        .unwrap();
    String::from_utf8(got).unwrap()
}

#[tokio::test]
async fn both_threads_serve_and_one_shutdown_stops_them() {
    let (server, seen) = two_threads(ServerConfig::default(), false);
    let mut clients = Vec::new();
    for i in 0..CONNECTIONS {
        let mut client = line_client(&server).await;
        send(&mut client, &format!("{i}\n")).await;
        assert_eq!(next_line(&mut client).await, Some(i.to_string()));
        clients.push(client);
    }
    let threads = seen.lock().unwrap().len();
    assert_eq!(threads, 2, "requests ran on {threads} thread(s)");
    assert_ne!(
        *seen.lock().unwrap(),
        HashSet::from([std::thread::current().id()])
    );
    let snap = server.metrics();
    assert_eq!(
        snap.accepted, CONNECTIONS as u64,
        "counters summed over threads"
    );
    assert_eq!(snap.frames_in, CONNECTIONS as u64);
    assert_eq!(snap.active, CONNECTIONS);

    let addr = server.local_addr().as_tcp().unwrap();
    let report = within("shutdown", server.shutdown(Duration::from_secs(5))).await;
    assert_eq!((report.closed, report.aborted), (CONNECTIONS, 0));
    for mut client in clients {
        let mut rest = Vec::new();
        let n = within("closed", client.get_mut().get_mut().read_to_end(&mut rest))
            .await
            .unwrap();
        assert_eq!(n, 0, "closed at shutdown with nothing more");
    }
    // Every thread's listener is closed: nothing accepts on the port any more.
    for _ in 0..CONNECTIONS {
        assert!(tokio::net::TcpStream::connect(addr).await.is_err());
    }
}

#[tokio::test]
async fn the_connection_limit_holds_across_threads() {
    let config = ServerConfig::default().max_connections(3);
    let (server, _seen) = two_threads(config, true);
    let mut served = Vec::new();
    let mut refused = 0;
    for i in 0..12 {
        let mut client = line_client(&server).await;
        send(&mut client, &format!("{i}\n")).await;
        match next_line(&mut client).await.as_deref() {
            Some("full") => refused += 1,
            Some(echo) => {
                assert_eq!(echo, i.to_string());
                served.push(client);
            }
            None => panic!("closed without an answer"),
        }
    }
    assert_eq!((served.len(), refused), (3, 9));
    // A freed permit serves the next peer, whichever thread accepts it.
    drop(served.pop());
    wait_for(&server, "a connection closed", |s| s.active == 2).await;
    assert_eq!(exchange(&server, b"again\n").await, "again\n");
    let report = within("shutdown", server.shutdown(Duration::from_secs(5))).await;
    assert_eq!(report.aborted, 0);
}

#[tokio::test]
async fn a_quiet_thread_holds_no_permit_another_needs() {
    // One permit for two threads and no reject reply: a thread waiting on its own quiet
    // listener must not sit on the permit while peers arrive at the other thread.
    let config = ServerConfig::default().max_connections(1);
    let (server, seen) = two_threads(config, false);
    for i in 0..CONNECTIONS {
        let request = format!("{i}\n");
        assert_eq!(exchange(&server, request.as_bytes()).await, request);
        wait_for(&server, "the connection closed", |s| s.active == 0).await;
    }
    assert_eq!(seen.lock().unwrap().len(), 2, "both threads served");
    within("shutdown", server.shutdown(Duration::from_secs(5))).await;
}

#[tokio::test]
async fn a_listener_without_reuse_port_is_shared_by_the_threads() {
    // A plain listener (as inherited through LISTEN_FDS) is duplicated: one accept queue.
    let server = Server::bind("127.0.0.1:0")
        .await
        .unwrap()
        .threads(3)
        .unwrap()
        .serve(lines_codec(), |req: Bytes, ctx: Ctx| async move {
            Some(Bytes::from(format!(
                "{}:{}",
                ctx.id(),
                String::from_utf8_lossy(&req)
            )))
        });
    let mut ids = HashSet::new();
    for i in 0..8 {
        let answer = exchange(&server, format!("{i}\n").as_bytes()).await;
        let (id, echo) = answer.trim_end().split_once(':').unwrap();
        assert_eq!(echo, i.to_string());
        assert!(
            ids.insert(id.to_string()),
            "connection ids unique across threads"
        );
    }
    let report = within("shutdown", server.shutdown(Duration::from_secs(5))).await;
    assert_eq!(report.aborted, 0);
}
