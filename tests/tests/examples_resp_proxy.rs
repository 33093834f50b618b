//! resp_proxy over sockets (the example binary's own `serve`, compiled in from its file, over
//! `framekit_examples::proxy`), with the examples' own RESP server as its backends, so no
//! redis-server is needed: pipelined clients each get their own answers in
//! order, multi-key commands are split and joined, keys live where the ring puts them, a
//! backend that is down answers errors for its keys only and is used again when it is back,
//! and faults between the proxy and a backend (bytes one at a time, a reset mid-reply, a stall
//! past the deadline) give errors, never another request's answer. The same proxy in front of
//! real redis-servers, with redis-cli, redis-benchmark and redis-py, runs in
//! `.ci/resp-proxy.sh`.

#[allow(dead_code, unexpected_cfgs)]
#[path = "../../crates/framekit-examples/examples/resp_proxy.rs"]
mod resp_proxy;
#[allow(dead_code, unexpected_cfgs)]
#[path = "../../crates/framekit-examples/examples/resp_server.rs"]
mod resp_server;

mod support;

use std::net::SocketAddr;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use framekit_examples::proxy::{Backends, KeyHash, Proxy, Ring, CROSSSLOT};
use framekit_examples::resp::RequestParser;
use framekit_examples::resp_client::RawReplyCodec;
use framekit_server::{Server, ServerConfig, ServerHandle};
use framekit_testproxy::{FaultProxy, Faults, Plan};
use support::{resp_command, within};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_util::codec::Decoder;

/// A resp_server backend on `addr` (port 0 for any).
async fn backend_on(addr: SocketAddr) -> ServerHandle {
    let parser = RequestParser::new();
    let config = framekit_examples::resp::server_config(ServerConfig::default(), &parser);
    let server = Server::bind(addr).await.unwrap().config(config);
    resp_server::serve(server, parser)
}

async fn backend() -> (ServerHandle, SocketAddr) {
    let handle = backend_on("127.0.0.1:0".parse().unwrap()).await;
    let addr = handle.local_addr().as_tcp().unwrap();
    (handle, addr)
}

/// The proxy in front of `addrs`, with a short backend deadline so failures come quickly.
async fn proxy_of(addrs: &[SocketAddr]) -> (ServerHandle, SocketAddr, Ring) {
    let names: Vec<String> = addrs.iter().map(ToString::to_string).collect();
    let backends = Backends::new(names.clone())
        .timeout(Duration::from_millis(500))
        .retries(1);
    let parser = RequestParser::new();
    let config = framekit_examples::resp::server_config(ServerConfig::default(), &parser);
    let server = Server::bind("127.0.0.1:0").await.unwrap().config(config);
    let handle = resp_proxy::serve(server, parser, Proxy::new(&backends));
    let addr = handle.local_addr().as_tcp().unwrap();
    (handle, addr, Ring::new(&names, KeyHash::Md5, None))
}

fn words(text: &str) -> Vec<u8> {
    let args: Vec<&[u8]> = text.split(' ').map(str::as_bytes).collect();
    resp_command(&args)
}

/// Writes `requests` in one write and reads `count` whole replies, each as its RESP bytes.
async fn pipeline(addr: SocketAddr, requests: &[u8], count: usize) -> Vec<Bytes> {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(requests).await.unwrap();
    let mut codec = RawReplyCodec::default();
    let mut buf = BytesMut::new();
    let mut replies = Vec::with_capacity(count);
    within("the pipeline's replies", async {
        while replies.len() < count {
            while let Some(reply) = codec.decode(&mut buf).unwrap() {
                replies.push(reply);
            }
            if replies.len() < count && stream.read_buf(&mut buf).await.unwrap() == 0 {
                panic!("closed after {} of {count} replies", replies.len());
            }
        }
    })
    .await;
    replies
}

async fn one(addr: SocketAddr, text: &str) -> Bytes {
    pipeline(addr, &words(text), 1).await.remove(0)
}

/// Keys `key0`, `key1`, ... until every backend of `ring` owns one.
fn keys_on_every_backend(ring: &Ring) -> Vec<String> {
    let mut seen = vec![false; ring.backends()];
    let mut keys = Vec::new();
    let mut i = 0;
    while !seen.iter().all(|s| *s) {
        let key = format!("key{i}");
        seen[ring.backend_of(key.as_bytes())] = true;
        keys.push(key);
        i += 1;
    }
    keys
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipelined_clients_each_get_their_own_answers_in_order() {
    let mut backends = Vec::new();
    for _ in 0..3 {
        backends.push(backend().await);
    }
    let addrs: Vec<SocketAddr> = backends.iter().map(|(_, a)| *a).collect();
    let (_proxy, addr, _) = proxy_of(&addrs).await;
    // Each client writes SET, GET, INCR, GET for 300 keys in one go: a GET right after its
    // SET must see it, so a client's requests must reach each backend in its order.
    let clients = (0..8).map(|c| async move {
        let mut requests = Vec::new();
        let mut expected = Vec::new();
        for i in 0..300 {
            let key = format!("c{c}:k{i}");
            let value = format!("v{c}-{i}");
            requests.extend(words(&format!("SET {key} {value}")));
            requests.extend(words(&format!("GET {key}")));
            requests.extend(words(&format!("INCR counter:{c}")));
            requests.extend(words(&format!("GET counter:{c}")));
            expected.push("+OK\r\n".to_string());
            expected.push(format!("${}\r\n{value}\r\n", value.len()));
            expected.push(format!(":{}\r\n", i + 1));
            let n = (i + 1).to_string();
            expected.push(format!("${}\r\n{n}\r\n", n.len()));
        }
        let replies = pipeline(addr, &requests, expected.len()).await;
        for (i, (reply, want)) in replies.iter().zip(&expected).enumerate() {
            assert_eq!(&reply[..], want.as_bytes(), "client {c}, reply {i}");
        }
    });
    futures::future::join_all(clients).await;
}

#[tokio::test]
async fn multi_key_commands_are_split_joined_and_refused_as_redis_cluster_does() {
    let mut backends = Vec::new();
    for _ in 0..3 {
        backends.push(backend().await);
    }
    let addrs: Vec<SocketAddr> = backends.iter().map(|(_, a)| *a).collect();
    let (_proxy, addr, ring) = proxy_of(&addrs).await;
    let keys = keys_on_every_backend(&ring);
    assert!(keys.len() >= 3);

    let mut mset = vec!["MSET".to_string()];
    for key in &keys {
        mset.extend([key.clone(), format!("value-of-{key}")]);
    }
    assert_eq!(one(addr, &mset.join(" ")).await, "+OK\r\n");
    // Each key lives on the backend the ring names, and only there.
    for key in &keys {
        let owner = ring.backend_of(key.as_bytes());
        for (index, backend) in addrs.iter().enumerate() {
            let there = one(*backend, &format!("EXISTS {key}")).await;
            assert_eq!(
                there,
                if index == owner { ":1\r\n" } else { ":0\r\n" },
                "{key}"
            );
        }
    }
    // MGET in the client's order, with a missing key in the middle.
    let mut mget = vec!["MGET".to_string(), keys[2].clone(), "missing".into()];
    mget.extend(keys.iter().cloned());
    let mut expected = format!("*{}\r\n", mget.len() - 1);
    for key in &mget[1..] {
        expected += &match key.as_str() {
            "missing" => "$-1\r\n".to_string(),
            key => format!("${}\r\nvalue-of-{key}\r\n", key.len() + 9),
        };
    }
    assert_eq!(one(addr, &mget.join(" ")).await, expected.as_str());
    let n = keys.len();
    let exists = format!("EXISTS {} {} missing", keys.join(" "), keys[0]);
    assert_eq!(one(addr, &exists).await, format!(":{}\r\n", n + 1).as_str());
    let crossslot = format!("-{CROSSSLOT}\r\n");
    let rename = format!("RENAME {} {}", keys[0], keys[n - 1]);
    assert_eq!(one(addr, &rename).await, crossslot.as_str());
    let del = format!("DEL {} missing", keys.join(" "));
    assert_eq!(one(addr, &del).await, format!(":{n}\r\n").as_str());
    let multi = one(addr, "MULTI").await;
    assert!(
        multi.starts_with(b"-ERR 'MULTI' is not supported"),
        "{multi:?}"
    );
    assert_eq!(one(addr, "PING").await, "+PONG\r\n");
    // QUIT answers, then closes: nothing after it is answered.
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let mut requests = words("QUIT");
    requests.extend(words("PING"));
    stream.write_all(&requests).await.unwrap();
    let mut all = Vec::new();
    within("QUIT to close", stream.read_to_end(&mut all))
        .await
        .unwrap();
    assert_eq!(all, b"+OK\r\n");
}

#[tokio::test]
async fn a_backend_that_is_down_fails_its_keys_only_and_is_used_again_when_back() {
    let (_live, live) = backend().await;
    // A port nothing listens on, for now.
    let down: SocketAddr = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let (_proxy, addr, ring) = proxy_of(&[live, down]).await;
    let keys = keys_on_every_backend(&ring);
    let on_down = keys
        .iter()
        .find(|k| ring.backend_of(k.as_bytes()) == 1)
        .unwrap();
    let on_live = keys
        .iter()
        .find(|k| ring.backend_of(k.as_bytes()) == 0)
        .unwrap();

    let mut requests = words(&format!("SET {on_live} alive"));
    requests.extend(words(&format!("SET {on_down} lost")));
    requests.extend(words(&format!("GET {on_live}")));
    requests.extend(words(&format!("MGET {on_live} {on_down}")));
    let replies = pipeline(addr, &requests, 4).await;
    assert_eq!(replies[0], "+OK\r\n");
    assert!(
        replies[1].starts_with(b"-ERR resp_proxy: "),
        "{:?}",
        replies[1]
    );
    assert_eq!(replies[2], "$5\r\nalive\r\n");
    assert!(
        replies[3].starts_with(b"-ERR resp_proxy: "),
        "{:?}",
        replies[3]
    );

    let _back = backend_on(down).await;
    within("the proxy to use the backend again", async {
        loop {
            if one(addr, &format!("SET {on_down} found")).await == "+OK\r\n" {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    let both = one(addr, &format!("MGET {on_live} {on_down}")).await;
    assert_eq!(both, "*2\r\n$5\r\nalive\r\n$5\r\nfound\r\n");
}

/// GETs of `keys` through `addr` until each is answered: its own value, or an error (counted),
/// never another key's value.
async fn gets_answer_own_values_or_errors(addr: SocketAddr, keys: &[String]) -> usize {
    let mut gets = Vec::new();
    for key in keys {
        gets.extend(words(&format!("GET {key}")));
    }
    let replies = pipeline(addr, &gets, keys.len()).await;
    let mut errors = 0;
    for (key, reply) in keys.iter().zip(&replies) {
        let own = format!("${}\r\nvalue-of-{key}\r\n", key.len() + 9);
        if reply.starts_with(b"-ERR resp_proxy: ") {
            errors += 1;
        } else {
            assert_eq!(&reply[..], own.as_bytes(), "{key} got another answer");
        }
    }
    errors
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_between_proxy_and_backend_give_errors_never_another_answer() {
    let (_b0, first) = backend().await;
    let (_b1, second) = backend().await;
    // Every key's value is on both backends, so any backend a key is routed to has it.
    let keys: Vec<String> = (0..200).map(|i| format!("fault:{i}")).collect();
    let mut sets = Vec::new();
    for key in &keys {
        sets.extend(words(&format!("SET {key} value-of-{key}")));
    }
    for backend in [first, second] {
        let replies = pipeline(backend, &sets, keys.len()).await;
        assert!(replies.iter().all(|r| r == "+OK\r\n"));
    }

    // The second backend's bytes go one at a time both ways: every answer is still right.
    let sliced = FaultProxy::start(second, Plan::both(Faults::default().sliced()))
        .await
        .unwrap();
    let (_proxy, addr, ring) = proxy_of(&[first, sliced.local_addr()]).await;
    assert!(keys.iter().any(|k| ring.backend_of(k.as_bytes()) == 1));
    assert_eq!(gets_answer_own_values_or_errors(addr, &keys).await, 0);

    // A reset 700 bytes into the backend's replies, on every connection to it: the requests
    // it carried fail, the others are answered, none with another's answer.
    let resets = FaultProxy::start(
        second,
        Plan::default().downstream(Faults::default().reset_after(700)),
    )
    .await
    .unwrap();
    let (_proxy, addr, _) = proxy_of(&[first, resets.local_addr()]).await;
    let mut errors = 0;
    for _round in 0..3 {
        errors += gets_answer_own_values_or_errors(addr, &keys).await;
    }
    assert!(errors > 0, "the resets failed some requests");
    // Without faults, the next connection to the backend serves every key again.
    resets.set_plan(Plan::default());
    within("recovery after the resets", async {
        while gets_answer_own_values_or_errors(addr, &keys).await > 0 {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;

    // A stall of 1.5 s, 700 bytes into the backend's replies, past the proxy's 500 ms
    // deadline: the requests waiting on it time out; their late answers, when they come, are
    // consumed by the connection and go to nobody; the next requests get their own answers.
    let stalls = FaultProxy::start(
        second,
        Plan::default().downstream(Faults::default().stall(700, Duration::from_millis(1500))),
    )
    .await
    .unwrap();
    let (_proxy, addr, _) = proxy_of(&[first, stalls.local_addr()]).await;
    let timed_out = gets_answer_own_values_or_errors(addr, &keys).await;
    assert!(timed_out > 0, "the stall timed some requests out");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    within("answers after the stall", async {
        while gets_answer_own_values_or_errors(addr, &keys).await > 0 {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
}
