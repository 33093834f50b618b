//! The pool's order: a call keeps the place of its first poll on a slot, also when it waited
//! for the slot's connect and a later call found the connection made.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use bytes::Bytes;
use framekit::connection::Pipelined;
use framekit::{framing::delimited::Delimited, FrameCodec};
use framekit_server::{Ctx, Server};

use super::*;

type Call = Pin<Box<dyn Future<Output = Result<Bytes, Error>> + Send>>;

fn poll_once(call: &mut Call) -> Poll<Result<Bytes, Error>> {
    call.as_mut().poll(&mut Context::from_waker(Waker::noop()))
}

#[tokio::test]
async fn a_call_that_waited_for_the_connect_is_queued_before_a_later_one() {
    let arrived = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&arrived);
    let server = Server::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0")
        .serve(
            FrameCodec::new(Delimited::newline()),
            move |req: Bytes, _ctx: Ctx| {
                seen.lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push(req.clone());
                async move { Some(req) }
            },
        );
    let address = server.local_addr().as_tcp().expect("a TCP address");
    let client = Builder::new(Endpoint::tcp(address)).pool_size(1).build(
        || FrameCodec::new(Delimited::newline()),
        || Pipelined,
        Options::default(),
    );
    let call = |name: &'static str| -> Call {
        let client = client.clone();
        Box::pin(async move { client.call(Bytes::from(name)).await })
    };
    // `a` connects; `b` comes while it connects and waits in the slot's line.
    let (mut a, mut b) = (call("a"), call("b"));
    assert!(poll_once(&mut a).is_pending());
    assert!(poll_once(&mut b).is_pending());
    // `a` connects and queues its request; `b` is woken but not polled yet.
    let mut turns = 0;
    while client.pool.slots[0].usable().is_none() {
        assert!(turns < 2_000, "no connection after {turns} turns of 1 ms");
        assert!(poll_once(&mut a).is_pending());
        tokio::time::sleep(Duration::from_millis(1)).await;
        turns += 1;
    }
    // `c` is first polled now, before `b` is polled again: it must queue behind `b`.
    let mut c = call("c");
    assert!(poll_once(&mut c).is_pending());
    let answers = tokio::time::timeout(Duration::from_secs(5), async { tokio::join!(b, a, c) })
        .await
        .expect("answers within 5 s");
    assert_eq!(
        (answers.0.ok(), answers.1.ok(), answers.2.ok()),
        (
            Some(Bytes::from("b")),
            Some(Bytes::from("a")),
            Some(Bytes::from("c"))
        )
    );
    let arrived = arrived
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    assert_eq!(arrived, ["a", "b", "c"], "the order the server got them in");
    client.close().await;
    server.shutdown(Duration::from_secs(1)).await;
}
