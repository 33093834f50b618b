//! A framekit server through the fault proxy: pipelined requests under every fault get their
//! own answers, in order, or none; a request is never answered with another request's answer.

mod support;

use std::time::Duration;

use framekit_server::Server;
use framekit_testproxy::{FaultProxy, Faults, Plan};
use support::{echo_with, lines_codec, within};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

const REQUESTS: usize = 200;

/// Sends `REQUESTS` pipelined lines through a proxy with `plan`, reads answers until EOF or an
/// error, and checks that the answers are a prefix of `ok:req-0, ok:req-1, ...`. Returns how
/// many complete answers came.
async fn pipelined_through(plan: Plan) -> usize {
    let server = Server::bind("127.0.0.1:0")
        .await
        .unwrap()
        .serve(lines_codec(), echo_with("ok:"));
    let target = server.local_addr().as_tcp().unwrap();
    let proxy = FaultProxy::start(target, plan).await.unwrap();
    let stream = TcpStream::connect(proxy.local_addr()).await.unwrap();
    let (read, mut write) = stream.into_split();
    let requests: String = (0..REQUESTS).map(|i| format!("req-{i}\n")).collect();
    let writer = tokio::spawn(async move {
        // A reset may fail the write: what matters is what comes back.
        let _ = write.write_all(requests.as_bytes()).await;
        let _ = write.shutdown().await;
        write
    });
    let mut lines = BufReader::new(read).lines();
    let mut answered = 0;
    // EOF or a read error (the reset) ends the answers.
    while let Ok(Some(line)) = within("the next answer", lines.next_line()).await {
        assert_eq!(line, format!("ok:req-{answered}"), "answer {answered}");
        answered += 1;
    }
    drop(within("the writer", writer).await);
    drop(proxy);
    support::stop(server).await;
    answered
}

#[tokio::test]
async fn sliced_both_ways_every_request_gets_its_own_answer() {
    let plan = Plan::both(Faults::default().sliced());
    assert_eq!(pipelined_through(plan).await, REQUESTS);
}

#[tokio::test]
async fn with_latency_and_a_stall_every_request_gets_its_own_answer() {
    let plan = Plan::default()
        .upstream(Faults::default().stall(13, Duration::from_millis(100)))
        .downstream(
            Faults::default()
                .latency(Duration::from_millis(1))
                .stall(500, Duration::from_millis(100)),
        );
    assert_eq!(pipelined_through(plan).await, REQUESTS);
}

#[tokio::test]
async fn a_reset_mid_answer_leaves_only_whole_matching_answers() {
    // "ok:req-0\n" is 9 bytes: byte 40 is inside the fifth answer.
    let plan = Plan::default().downstream(Faults::default().reset_after(40));
    let answered = pipelined_through(plan).await;
    assert_eq!(
        answered, 4,
        "the answers before the cut, all whole and in order"
    );
}

#[tokio::test]
async fn a_reset_mid_request_answers_only_the_requests_before_it() {
    // "req-0\n" .. "req-9\n" are 6 bytes each: byte 63 is inside req-10.
    let plan = Plan::default().upstream(Faults::default().reset_after(63));
    let answered = pipelined_through(plan).await;
    assert!(answered <= 10, "{answered} answers for 10 whole requests");
}

#[tokio::test]
async fn a_half_close_mid_request_answers_the_whole_requests_then_closes() {
    // The server reads EOF inside req-10: the ten whole requests are answered, the cut one
    // is not, and the connection ends.
    let plan = Plan::default().upstream(Faults::default().half_close_after(63));
    let answered = pipelined_through(plan).await;
    assert_eq!(answered, 10);
}
