//! The examples' RESP client (framekit_examples::resp_client) against a real redis-server:
//! commands and their typed results, error replies, binary values, pipelining (thousands of
//! calls in flight at once, each with its own answer), and a server restart in the middle of
//! a load: calls fail with typed errors while it is down, no call ever gets another's answer,
//! and the client reconnects when it is back.
//!
//! Needs `redis-server` (`.ci/redis-tools.sh` installs it): in CI its absence fails the tests;
//! elsewhere they are skipped with a message.

mod support;

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use bytes::Bytes;
use framekit::connection::Settings;
use framekit_client::{Backoff, Builder, Endpoint, Jitter, Reconnect};
use framekit_examples::resp_client::{cmd, Reply, RespClient, RespError};
use futures::future::join_all;
use support::within;

/// A redis-server on a loopback port, killed when dropped.
struct Redis {
    child: Child,
    addr: SocketAddr,
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn have_redis() -> bool {
    let found = Command::new("sh")
        .args(["-c", "command -v redis-server"])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        assert!(
            std::env::var_os("CI").is_none(),
            "redis-server is missing: .ci/redis-tools.sh installs it"
        );
        eprintln!("skipping: redis-server is not installed");
    }
    found
}

fn free_port() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap()
}

/// Starts redis-server on `addr` (no persistence) and waits until it answers PING.
async fn redis_on(addr: SocketAddr) -> Redis {
    let child = Command::new("redis-server")
        .args(["--bind", "127.0.0.1", "--port", &addr.port().to_string()])
        .args(["--save", "", "--appendonly", "no", "--protected-mode", "no"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start redis-server");
    let redis = Redis { child, addr };
    let probe = RespClient::with(
        Builder::new(Endpoint::tcp(addr)).reconnect(quick()),
        Settings::default(),
    );
    within("redis-server to answer PING", async {
        loop {
            if let Ok(Reply::Simple(pong)) = probe.call(cmd("PING")).await {
                assert_eq!(pong, "PONG");
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    probe.close().await;
    redis
}

fn quick() -> Reconnect {
    Reconnect::Backoff(
        Backoff::default()
            .first(Duration::from_millis(10))
            .max(Duration::from_millis(100))
            .jitter(Jitter::Equal)
            .retries(10),
    )
}

fn client(addr: SocketAddr) -> RespClient {
    RespClient::with(
        Builder::new(Endpoint::tcp(addr)).reconnect(quick()),
        Settings::default(),
    )
}

#[tokio::test]
async fn commands_errors_and_binary_values_against_redis() {
    if !have_redis() {
        return;
    }
    let redis = redis_on(free_port()).await;
    let redis_client = client(redis.addr);
    redis_client.set("k", "v").await.unwrap();
    assert_eq!(redis_client.get("k").await.unwrap(), Some(Bytes::from("v")));
    assert_eq!(redis_client.get("missing").await.unwrap(), None);
    assert_eq!(redis_client.incr("n").await.unwrap(), 1);
    assert_eq!(redis_client.incr("n").await.unwrap(), 2);
    assert!(redis_client.del("k").await.unwrap());
    assert!(!redis_client.del("k").await.unwrap());
    // Any bytes, CRLF and NUL included.
    let binary = Bytes::from_static(b"a\r\nb\0c\r\n");
    redis_client.set("bin", binary.clone()).await.unwrap();
    assert_eq!(redis_client.get("bin").await.unwrap(), Some(binary));
    // Error replies are the server's, typed apart from the client's failures.
    redis_client.set("text", "abc").await.unwrap();
    match redis_client.incr("text").await {
        Err(RespError::Server(text)) => assert!(text.starts_with(b"ERR"), "{text:?}"),
        other => panic!("{other:?}"),
    }
    redis_client.incr("list").await.unwrap();
    let wrong = redis_client
        .call(cmd("LPUSH").arg("list").arg("x"))
        .await
        .unwrap();
    assert!(
        matches!(&wrong, Reply::Error(t) if t.starts_with(b"WRONGTYPE")),
        "{wrong:?}"
    );
    let unknown = redis_client.call(cmd("NOSUCHCOMMAND")).await.unwrap();
    assert!(unknown.is_error());
    // Arrays, nested and with nulls.
    redis_client.set("a", "1").await.unwrap();
    let mget = redis_client
        .call(cmd("MGET").arg("a").arg("missing").arg("n"))
        .await
        .unwrap();
    assert_eq!(
        mget,
        Reply::Array(vec![
            Reply::Bulk(Bytes::from("1")),
            Reply::Null,
            Reply::Bulk(Bytes::from("2")),
        ])
    );
    redis_client.close().await;
}

#[tokio::test]
async fn thousands_of_pipelined_calls_each_get_their_own_answer() {
    if !have_redis() {
        return;
    }
    let redis = redis_on(free_port()).await;
    let redis_client = client(redis.addr);
    let sets = (0..3000).map(|i| {
        let c = redis_client.clone();
        async move { c.set(format!("key:{i}"), format!("value:{i}")).await }
    });
    for result in within("3000 SETs", join_all(sets)).await {
        result.unwrap();
    }
    let gets = (0..3000).map(|i| {
        let c = redis_client.clone();
        async move { (i, c.get(format!("key:{i}")).await) }
    });
    for (i, result) in within("3000 GETs", join_all(gets)).await {
        assert_eq!(result.unwrap(), Some(Bytes::from(format!("value:{i}"))));
    }
    redis_client.close().await;
}

#[tokio::test]
async fn a_restart_mid_load_fails_calls_typed_and_never_crosses_answers() {
    if !have_redis() {
        return;
    }
    let addr = free_port();
    let redis = redis_on(addr).await;
    let redis_client = client(addr);
    let load = {
        let c = redis_client.clone();
        tokio::spawn(async move {
            let (mut answered, mut failed) = (0u32, 0u32);
            for round in 0..60 {
                let calls = (0..50).map(|j| {
                    let c = c.clone();
                    let key = format!("r{round}:{j}");
                    async move {
                        c.set(key.clone(), key.clone()).await?;
                        c.get(key.clone()).await.map(|got| (key, got))
                    }
                });
                for result in join_all(calls).await {
                    match result {
                        // A value read back is its own key's: the restart loses data (no
                        // persistence), never mixes it.
                        Ok((key, got)) => {
                            if let Some(got) = got {
                                assert_eq!(got, key.as_bytes());
                            }
                            answered += 1;
                        }
                        Err(RespError::Client(_)) => failed += 1,
                        Err(other) => panic!("{other}"),
                    }
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            (answered, failed)
        })
    };
    // A call certainly in flight when the server dies: BLPOP on an empty list blocks forever.
    let blocked_client = client(addr);
    let blocked = {
        let c = blocked_client.clone();
        tokio::spawn(async move { c.call(cmd("BLPOP").arg("never").arg("0")).await })
    };
    tokio::time::sleep(Duration::from_millis(150)).await;
    drop(redis); // killed mid-load
    let error = within("the blocked call to fail", blocked)
        .await
        .unwrap()
        .unwrap_err();
    assert!(error.may_have_been_applied(), "{error}");
    tokio::time::sleep(Duration::from_millis(100)).await;
    let restarted = redis_on(addr).await;
    let (answered, failed) = within("the load", load).await.unwrap();
    assert!(answered > 0, "answered {answered}, failed {failed}");
    blocked_client.close().await;
    // Back to normal on new connections.
    for i in 0..20 {
        redis_client.set(format!("after:{i}"), "x").await.unwrap();
    }
    redis_client.close().await;
    drop(restarted);
}
