//! The fault proxy itself, over loopback: each fault does what its name says, on the exact byte
//! the plan names, and the silent backend never answers.

mod support;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use framekit_testproxy::{FaultProxy, Faults, PairEnd, Plan, SilentBackend};
use support::within;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A backend that echoes every connection until EOF, then closes its side.
async fn echo_backend() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            tokio::spawn(async move {
                let (mut r, mut w) = s.split();
                let _ = tokio::io::copy(&mut r, &mut w).await;
                let _ = w.shutdown().await;
            });
        }
    });
    addr
}

/// A backend that records what each connection sent until EOF or a reset, and how it ended.
async fn recording_backend() -> (SocketAddr, tokio::sync::mpsc::Receiver<(Vec<u8>, bool)>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::mpsc::channel(16);
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            let tx = tx.clone();
            tokio::spawn(async move {
                let mut got = Vec::new();
                let reset = s.read_to_end(&mut got).await.is_err();
                let _ = tx.send((got, reset)).await;
            });
        }
    });
    (addr, rx)
}

#[tokio::test]
async fn sliced_bytes_arrive_one_read_at_a_time_and_whole() {
    let proxy = FaultProxy::start(
        echo_backend().await,
        Plan::default().downstream(Faults::default().sliced().latency(Duration::from_millis(2))),
    )
    .await
    .unwrap();
    let mut client = TcpStream::connect(proxy.local_addr()).await.unwrap();
    client.write_all(b"0123456789").await.unwrap();
    let mut got = Vec::new();
    let mut reads = 0;
    while got.len() < 10 {
        let mut buf = [0u8; 64];
        let n = within("a slice", client.read(&mut buf)).await.unwrap();
        assert!(n > 0, "EOF before the echo");
        got.extend_from_slice(&buf[..n]);
        reads += 1;
    }
    assert_eq!(got, b"0123456789");
    // 2 ms between bytes on loopback: each byte is its own read (allow a little coalescing).
    assert!(reads >= 8, "{reads} reads for 10 sliced bytes");
}

#[tokio::test]
async fn latency_delays_each_piece() {
    let proxy = FaultProxy::start(
        echo_backend().await,
        Plan::default().upstream(Faults::default().latency(Duration::from_millis(80))),
    )
    .await
    .unwrap();
    let mut client = TcpStream::connect(proxy.local_addr()).await.unwrap();
    let start = Instant::now();
    client.write_all(b"x").await.unwrap();
    let mut buf = [0u8; 1];
    within("the echo", client.read_exact(&mut buf))
        .await
        .unwrap();
    assert!(
        start.elapsed() >= Duration::from_millis(80),
        "{:?}",
        start.elapsed()
    );
}

#[tokio::test]
async fn a_stall_pauses_forwarding_after_the_named_byte() {
    let proxy = FaultProxy::start(
        echo_backend().await,
        Plan::default().downstream(Faults::default().stall(3, Duration::from_millis(300))),
    )
    .await
    .unwrap();
    let mut client = TcpStream::connect(proxy.local_addr()).await.unwrap();
    client.write_all(b"abcdef").await.unwrap();
    let mut head = [0u8; 3];
    within("the bytes before the stall", client.read_exact(&mut head))
        .await
        .unwrap();
    assert_eq!(&head, b"abc");
    let start = Instant::now();
    let mut tail = [0u8; 3];
    within("the bytes after the stall", client.read_exact(&mut tail))
        .await
        .unwrap();
    assert_eq!(&tail, b"def");
    assert!(
        start.elapsed() >= Duration::from_millis(200),
        "{:?}",
        start.elapsed()
    );
}

#[tokio::test]
async fn a_reset_mid_frame_cuts_both_sides_at_the_exact_byte() {
    let (target, mut seen) = recording_backend().await;
    let proxy = FaultProxy::start(
        target,
        Plan::default().upstream(Faults::default().reset_after(7)),
    )
    .await
    .unwrap();
    let mut client = TcpStream::connect(proxy.local_addr()).await.unwrap();
    let _ = client.write_all(b"SET key value\r\n").await;
    let (got, reset) = within("the backend's view", seen.recv()).await.unwrap();
    assert_eq!(got, b"SET key");
    assert!(reset, "the backend saw a FIN, not a reset");
    let mut rest = Vec::new();
    let read = within("the client's view", client.read_to_end(&mut rest)).await;
    assert_eq!(
        read.unwrap_err().kind(),
        std::io::ErrorKind::ConnectionReset
    );
    support::within("the count", async {
        while proxy.ended(PairEnd::Reset) == 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
}

#[tokio::test]
async fn a_half_close_ends_one_direction_and_keeps_the_other() {
    let proxy = FaultProxy::start(
        echo_backend().await,
        Plan::default().downstream(Faults::default().half_close_after(4)),
    )
    .await
    .unwrap();
    let mut client = TcpStream::connect(proxy.local_addr()).await.unwrap();
    client.write_all(b"0123456789").await.unwrap();
    let mut got = Vec::new();
    within("EOF after four bytes", client.read_to_end(&mut got))
        .await
        .unwrap();
    assert_eq!(got, b"0123");
    // The other direction is still open: writing works, and closing ends the pair cleanly.
    client.write_all(b"more").await.unwrap();
    client.shutdown().await.unwrap();
    within("the pair's end", async {
        while proxy.ended(PairEnd::Closed) == 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
}

#[tokio::test]
async fn a_refused_target_resets_the_client() {
    // A port that was free a moment ago: nothing listens there now.
    let target = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap();
    let proxy = FaultProxy::start(target, Plan::default()).await.unwrap();
    let mut client = TcpStream::connect(proxy.local_addr()).await.unwrap();
    let mut got = Vec::new();
    let read = within("the reset", client.read_to_end(&mut got)).await;
    assert!(read.is_err() && got.is_empty(), "{read:?} {got:?}");
    assert_eq!(proxy.ended(PairEnd::Refused), 1);
}

#[tokio::test]
async fn the_plan_changes_for_new_connections_only() {
    let proxy = FaultProxy::start(echo_backend().await, Plan::default())
        .await
        .unwrap();
    let mut before = TcpStream::connect(proxy.local_addr()).await.unwrap();
    before.write_all(b"a").await.unwrap();
    within("the first echo", before.read_exact(&mut [0u8; 1]))
        .await
        .unwrap();
    proxy.set_plan(Plan::default().downstream(Faults::default().reset_after(1)));
    // The open connection keeps forwarding.
    before.write_all(b"bc").await.unwrap();
    let mut two = [0u8; 2];
    within("the old plan", before.read_exact(&mut two))
        .await
        .unwrap();
    assert_eq!(&two, b"bc");
    // A new one is reset after one byte.
    let mut after = TcpStream::connect(proxy.local_addr()).await.unwrap();
    after.write_all(b"xyz").await.unwrap();
    let mut got = Vec::new();
    let read = within("the new plan", after.read_to_end(&mut got)).await;
    assert_eq!(got, b"x");
    assert!(read.is_err());
    assert_eq!(proxy.accepted(), 2);
}

#[tokio::test]
async fn the_silent_backend_reads_and_never_answers() {
    let silent = SilentBackend::start().await.unwrap();
    let proxy = FaultProxy::start(silent.local_addr(), Plan::default())
        .await
        .unwrap();
    let mut client = TcpStream::connect(proxy.local_addr()).await.unwrap();
    client.write_all(b"GET k\r\n").await.unwrap();
    let answer = tokio::time::timeout(Duration::from_millis(200), client.read(&mut [0u8; 8])).await;
    assert!(answer.is_err(), "the silent backend answered: {answer:?}");
    within("the bytes to arrive", async {
        while silent.received() < 7 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
}
