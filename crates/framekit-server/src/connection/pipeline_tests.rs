//! The pipelining ring without sockets: order, spare slots, close, request deadlines, release.

use std::future::poll_fn;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::*;
use crate::config::ServerConfig;
use crate::listener::Addr;

/// A handler whose odd requests wait `n` milliseconds (`n` the request) and even ones answer at
/// once; `u32::MAX` never answers.
#[allow(clippy::manual_async_fn)]
fn handler() -> impl Handler<u32, Output = Reply<u32>> {
    |req: u32, _ctx: Ctx| async move {
        match req {
            u32::MAX => std::future::pending().await,
            0 => Reply::close(),
            2 => Reply::failed("no such thing"),
            n if n % 2 == 1 => {
                tokio::time::sleep(Duration::from_millis(u64::from(n))).await;
                Reply::One(n)
            }
            n => Reply::One(n),
        }
    }
}

fn pipeline<H: Handler<u32>>(handler: H, config: ServerConfig) -> Pipeline<H, u32>
where
    H::Output: IntoReply<Response = u32>,
{
    let hook: crate::shared::ErrorHook<u32> = Arc::new(|f| match f.kind {
        "request_timeout" => Some(999),
        "handler_error" => Some(500),
        _ => None,
    });
    let shared = Arc::new(Shared::new(config, Some(hook)));
    let ctx = Ctx::new(1, Addr::other("test"), CancellationToken::new());
    Pipeline::new(Arc::new(handler), ctx, shared)
}

fn push<D: Dispatch<u32>>(p: &mut D, req: u32) -> Option<D::Resp> {
    let waker = futures::task::noop_waker();
    p.push(
        Work::Request { req, direct: true },
        &mut Context::from_waker(&waker),
    )
}

/// Takes every response until the ring is empty, in the order they come.
async fn drain<D: Dispatch<u32>>(p: &mut D) -> Vec<D::Resp> {
    let mut got = Vec::new();
    while p.status().responding {
        if let Some(resp) = poll_fn(|cx| p.poll_response(cx)).await {
            got.push(resp);
        }
    }
    got
}

#[tokio::test(start_paused = true)]
async fn ready_answers_go_straight_out_and_pending_ones_keep_request_order() {
    let mut p = pipeline(handler(), ServerConfig::default());
    assert_eq!(push(&mut p, 8), Some(8), "ready, nothing before it: direct");
    assert_eq!(push(&mut p, 9), None, "pending: waits in the ring");
    assert_eq!(push(&mut p, 4), None, "ready, but behind a pending answer");
    assert_eq!(push(&mut p, 3), None);
    assert_eq!(push(&mut p, 6), None);
    assert!(!p.status().quiet);
    assert_eq!(
        push(&mut p, 2),
        None,
        "failed: answered by the hook, in order"
    );
    assert_eq!(drain(&mut p).await, vec![9, 4, 3, 6, 500]);
    assert_eq!(p.shared.metrics.snapshot().errors_of("handler_error"), 1);
    assert!(p.status().quiet);
    p.signal(Signal::EndInput);
    assert!(p.status().done);
}

#[tokio::test(start_paused = true)]
async fn the_in_flight_limit_closes_the_ring_to_more_requests() {
    let mut p = pipeline(handler(), ServerConfig::default().max_in_flight(2));
    push(&mut p, 5);
    assert!(p.status().spare);
    push(&mut p, 7);
    assert!(!p.status().spare, "two pending at a limit of two");
    assert_eq!(poll_fn(|cx| p.poll_response(cx)).await, Some(5));
    assert!(p.status().spare, "taking an answer frees a slot");
}

#[tokio::test(start_paused = true)]
async fn a_closing_reply_drops_what_was_read_after_it() {
    let mut p = pipeline(handler(), ServerConfig::default());
    push(&mut p, 3);
    push(&mut p, 0); // Reply::close(), behind a pending answer
    assert_eq!(p.status().closing, Some(CloseReason::HandlerDone));
    assert!(!p.status().spare, "nothing after a close is taken");
    assert_eq!(push(&mut p, 4), None);
    assert_eq!(drain(&mut p).await, vec![3]);
    assert!(p.status().done);
}

#[tokio::test(start_paused = true)]
async fn a_request_past_its_deadline_is_answered_by_the_hook_in_its_place() {
    let config = ServerConfig::default().request_timeout(Duration::from_millis(100));
    let mut p = pipeline(handler(), config);
    let start = Instant::now();
    push(&mut p, 1); // answers after 1 ms
    push(&mut p, u32::MAX); // never answers
    push(&mut p, 8);
    let deadline = p.status().request_deadline.expect("a request waits");
    assert_eq!(deadline, start + Duration::from_millis(100));
    assert_eq!(poll_fn(|cx| p.poll_response(cx)).await, Some(1));
    tokio::time::sleep_until(p.status().request_deadline.unwrap()).await;
    p.signal(Signal::Expire(Instant::now()));
    assert_eq!(
        p.status().request_deadline,
        None,
        "the late future was dropped"
    );
    assert_eq!(drain(&mut p).await, vec![999, 8]);
    assert!(p.status().spare, "the connection goes on");
    assert_eq!(p.shared.metrics.snapshot().errors_of("request_timeout"), 1);
}

#[tokio::test(start_paused = true)]
async fn configured_to_close_a_late_request_ends_the_connection_after_its_answer() {
    let config = ServerConfig::default()
        .request_timeout(Duration::from_millis(100))
        .close_on_request_timeout(true);
    let mut p = pipeline(handler(), config);
    push(&mut p, u32::MAX);
    push(&mut p, 8);
    tokio::time::sleep(Duration::from_millis(100)).await;
    p.signal(Signal::Expire(Instant::now()));
    assert_eq!(p.status().closing, Some(CloseReason::RequestTimeout));
    assert_eq!(
        drain(&mut p).await,
        vec![999],
        "nothing after it is answered"
    );
    assert!(p.status().done);
}

#[tokio::test(start_paused = true)]
async fn a_quiet_ring_keeps_at_most_one_small_future_box() {
    let mut p = pipeline(handler(), ServerConfig::default());
    for n in [1, 3, 5, 7] {
        push(&mut p, n);
    }
    assert_eq!(drain(&mut p).await, vec![1, 3, 5, 7]);
    assert_eq!(p.spare.len(), 4, "boxes kept for reuse while busy");
    p.signal(Signal::Release);
    assert!(p.spare.len() <= 1 && p.spare.capacity() <= 1);
    assert_eq!(p.order.capacity(), 0, "the ring itself is released");
    // Asked again at every quiet turn: nothing more to let go, and nothing lost.
    p.signal(Signal::Release);
    assert!(p.spare.len() <= 1 && p.spare.capacity() <= 1);
    push(&mut p, 9);
    assert_eq!(drain(&mut p).await, vec![9]);
}

#[test]
fn a_pending_future_is_polled_with_the_connection_task_context() {
    // The handler's future is polled at push, with the caller's context, so a future that is
    // woken later wakes the connection.
    let woken = Arc::new(std::sync::atomic::AtomicBool::new(false));
    struct Flag(Arc<std::sync::atomic::AtomicBool>);
    impl std::task::Wake for Flag {
        fn wake(self: Arc<Self>) {
            self.0.store(true, std::sync::atomic::Ordering::SeqCst);
        }
    }
    let waker = std::task::Waker::from(Arc::new(Flag(woken.clone())));
    let (tx, rx) = tokio::sync::oneshot::channel::<u32>();
    let rx = std::sync::Mutex::new(Some(rx));
    let mut p = pipeline(
        move |_req: u32, _ctx: Ctx| {
            let rx = rx.lock().unwrap().take();
            async move { Some(rx.unwrap().await.unwrap_or(0)) }
        },
        ServerConfig::default(),
    );
    let cx = &mut Context::from_waker(&waker);
    assert_eq!(
        p.push(
            Work::Request {
                req: 1,
                direct: true
            },
            cx
        ),
        None
    );
    tx.send(42).unwrap();
    assert!(woken.load(std::sync::atomic::Ordering::SeqCst));
    assert_eq!(p.poll_response(cx), Poll::Ready(Some(42)));
}
