//! Two `resp_server` processes started with `--reuse-port` on one port both serve: each keeps
//! its own store, so `INCR` counts from 1 in each; when one stops, the other serves everyone.

mod deploy_support;

use deploy_support::process::{Example, LIMIT};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// One connection, one `INCR hits`: the count of the process that served it.
async fn incr(addr: std::net::SocketAddr) -> u64 {
    tokio::time::timeout(LIMIT, async {
        let mut c = TcpStream::connect(addr).await.unwrap();
        c.write_all(b"*2\r\n$4\r\nINCR\r\n$4\r\nhits\r\n")
            .await
            .unwrap();
        let mut reply = Vec::new();
        let mut byte = [0u8; 1];
        while !reply.ends_with(b"\r\n") {
            assert_eq!(c.read(&mut byte).await.unwrap(), 1, "closed mid-reply");
            reply.push(byte[0]);
        }
        let text = std::str::from_utf8(&reply).unwrap();
        text.strip_prefix(':')
            .and_then(|n| n.trim_end().parse().ok())
            .unwrap_or_else(|| panic!("INCR answered {text:?}"))
    })
    .await
    .expect("INCR answered in time")
}

#[tokio::test]
async fn two_processes_with_reuse_port_on_one_port_both_serve() {
    let Some(first) = Example::start("resp_server", &["--reuse-port"]).await else {
        return;
    };
    let addr = first.addr.to_string();
    let second = Example::start("resp_server", &["--reuse-port", "--addr", &addr])
        .await
        .unwrap();
    assert_eq!(second.addr, first.addr);

    // 64 connections: the kernel spreads them by address, so both stores count some (all on
    // one process would happen with probability 2^-63).
    let mut counts = Vec::new();
    for _ in 0..64 {
        counts.push(incr(first.addr).await);
    }
    // Each process numbers its own connections 1, 2, ...: two runs that add up to 64.
    let (a, b) = {
        let mut seen = std::collections::BTreeMap::<u64, u32>::new();
        for c in &counts {
            *seen.entry(*c).or_default() += 1;
        }
        assert!(seen.values().all(|n| *n <= 2), "{counts:?}");
        let both = seen.values().filter(|n| **n == 2).count() as u64;
        (both, seen.len() as u64)
    };
    assert!(a > 0, "only one process served: {counts:?}");
    assert_eq!(a + b, 64, "{counts:?}");

    // The second process still serves alone once the first has stopped.
    first.stop().await;
    let mut alone = Vec::new();
    for _ in 0..8 {
        alone.push(incr(second.addr).await);
    }
    assert!(alone.windows(2).all(|w| w[1] == w[0] + 1), "{alone:?}");
    assert!(
        alone[0] == a + 1 || alone[0] == b + 1,
        "{alone:?} after {counts:?}"
    );
    second.stop().await;
}
