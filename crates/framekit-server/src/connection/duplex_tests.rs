//! Duplex handling without sockets: the inbox bounds reading, error replies go first, the
//! handler's end is the connection's.

use std::future::poll_fn;
use std::task::Context;

use futures::StreamExt;
use tokio_util::sync::CancellationToken;

use super::*;
use crate::listener::Addr;

fn ctx() -> Ctx {
    Ctx::new(1, Addr::other("test"), CancellationToken::new())
}

/// Answers every request with twice its value until the inbox ends.
fn doubler() -> impl DuplexHandler<u32, u32> {
    |mut inbox: Inbox<u32>, mut outbox: Outbox<u32>, _ctx: Ctx| async move {
        while let Some(n) = inbox.next().await {
            if outbox.send(n * 2).await.is_err() {
                return;
            }
        }
    }
}

fn push(d: &mut Duplex<u32, u32>, work: Work<u32, u32>) {
    let waker = futures::task::noop_waker();
    assert!(d.push(work, &mut Context::from_waker(&waker)).is_none());
}

/// Drives the handler once and takes the responses it queued.
async fn take(d: &mut Duplex<u32, u32>) -> Vec<u32> {
    let _ = poll_fn(|cx| Poll::Ready(d.poll_drive(cx, false))).await;
    let mut got = Vec::new();
    while let Poll::Ready(Some(resp)) = poll_fn(|cx| Poll::Ready(d.poll_response(cx))).await {
        got.push(resp);
    }
    got
}

#[tokio::test]
async fn a_full_inbox_stops_decoding_until_the_handler_takes_a_request() {
    let mut d = Duplex::new(&doubler(), ctx(), 2);
    push(
        &mut d,
        Work::Request {
            req: 1,
            direct: true,
        },
    );
    push(
        &mut d,
        Work::Request {
            req: 2,
            direct: true,
        },
    );
    assert!(!d.status().spare, "two queued at a capacity of two");
    assert!(d.status().quiet, "the handler keeps its own time");
    assert_eq!(take(&mut d).await, vec![2, 4]);
    assert!(d.status().spare, "the handler took them");
}

#[tokio::test]
async fn an_error_reply_goes_out_before_what_the_handler_sends_next() {
    let mut d = Duplex::new(&doubler(), ctx(), 4);
    push(
        &mut d,
        Work::Request {
            req: 5,
            direct: true,
        },
    );
    push(&mut d, Work::Reply(77));
    assert_eq!(take(&mut d).await, vec![77, 10]);
}

#[tokio::test]
async fn the_end_of_input_ends_the_handler_and_then_the_connection() {
    let mut d = Duplex::new(&doubler(), ctx(), 4);
    push(
        &mut d,
        Work::Request {
            req: 3,
            direct: true,
        },
    );
    d.signal(Signal::EndInput);
    assert!(!d.status().spare);
    assert_eq!(take(&mut d).await, vec![6]);
    assert!(!d.status().background, "the handler returned");
    assert_eq!(poll_fn(|cx| d.poll_response(cx)).await, None);
    assert!(d.status().done);
}

#[tokio::test]
async fn abandoning_cancels_the_handler_before_dropping_it() {
    let ctx = ctx();
    let mut d = Duplex::new(&doubler(), ctx.clone(), 4);
    assert!(d.status().background);
    d.signal(Signal::Abandon);
    assert!(ctx.is_closing());
    assert!(d.status().done && !d.status().background);
}
