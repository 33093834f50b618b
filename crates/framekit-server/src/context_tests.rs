//! The context's own tests: when a connection's token is made and cancelled, and that a
//! watch polled many times is still woken by the shutdown.

use std::task::Poll;
use std::time::Duration;

use super::*;

fn serving() -> (Arc<Shutdown>, Ctx) {
    let shutdown = Shutdown::new();
    let ctx = Ctx::serving(1, Addr::other("test"), shutdown.clone());
    (shutdown, ctx)
}

#[test]
fn a_connection_carries_no_token_until_a_handler_asks() {
    let (shutdown, ctx) = serving();
    assert!(!ctx.is_closing());
    ctx.close();
    assert!(
        ctx.inner.closing.get().is_none(),
        "asking is_closing made one"
    );
    assert!(ctx.is_closing());
    assert!(!shutdown.token.is_cancelled());
}

#[test]
fn a_token_asked_for_before_the_end_is_cancelled_by_it() {
    let (shutdown, ctx) = serving();
    let token = ctx.closing().clone();
    assert!(!token.is_cancelled());
    ctx.close();
    assert!(token.is_cancelled());
    assert!(
        !shutdown.token.is_cancelled(),
        "one connection ended, not the server"
    );
}

#[test]
fn a_token_asked_for_after_the_end_is_born_cancelled() {
    let (_shutdown, ctx) = serving();
    let held = ctx.clone();
    ctx.close();
    assert!(held.closing().is_cancelled());
}

#[test]
fn the_shutdown_cancels_every_token_made_and_to_be_made() {
    let (shutdown, ctx) = serving();
    let other = Ctx::serving(2, Addr::other("test"), shutdown.clone());
    let token = ctx.closing().clone();
    shutdown.begin();
    assert!(token.is_cancelled());
    assert!(other.is_closing() && other.closing().is_cancelled());
}

#[test]
fn a_derived_context_keeps_the_token_already_handed_out() {
    let (_shutdown, ctx) = serving();
    let token = ctx.closing().clone();
    let derived = ctx.clone().with_proxy_header(ProxyHeader::v2_local());
    derived.close();
    assert!(token.is_cancelled());
}

/// Polls `watch` until it resolves, `turns` times before `begin` is called: the turns
/// after the first read only the flag, and the shutdown must still wake the task.
async fn watch_wakes_after(turns: usize, ctx: Ctx, begin: impl FnOnce() + Send + 'static) {
    let watching = tokio::spawn(async move {
        let ctx = ctx.live();
        let mut watch = Watch::default();
        for _ in 0..turns {
            let pending = std::future::poll_fn(|cx| Poll::Ready(ctx.poll_shutdown(&mut watch, cx)));
            assert!(pending.await.is_pending());
            tokio::task::yield_now().await;
        }
        std::future::poll_fn(|cx| ctx.poll_shutdown(&mut watch, cx)).await;
    });
    tokio::time::sleep(Duration::from_millis(20)).await;
    begin();
    tokio::time::timeout(Duration::from_secs(10), watching)
        .await
        .expect("the watch was not woken")
        .unwrap();
}

#[tokio::test]
async fn a_watch_polled_many_times_is_woken_by_the_shutdown() {
    let (shutdown, ctx) = serving();
    watch_wakes_after(5, ctx, move || shutdown.begin()).await;
}

#[tokio::test]
async fn a_watch_on_a_hand_made_context_follows_its_token() {
    let token = CancellationToken::new();
    let ctx = Ctx::new(1, Addr::other("test"), token.clone());
    watch_wakes_after(5, ctx, move || token.cancel()).await;
}

/// A connection's context is one allocation (the `Arc`'s two counts and these fields): 104
/// bytes with every feature when this was stated, and the token it no longer makes up front
/// was another 80; 112 (jemalloc's size class above 96) since it keeps the registration of
/// its connection's waker. The watch its connection keeps is part of the connection future's
/// size: 96 bytes while it held a waiter of the token's, 24 with its key in the registry, 8
/// since the key is in the context.
#[test]
fn a_context_and_its_watch_stay_small() {
    let ctx = std::mem::size_of::<CtxInner>() + 2 * std::mem::size_of::<usize>();
    let watch = std::mem::size_of::<Watch>();
    eprintln!("context allocation: {ctx} bytes, watch: {watch} bytes");
    assert!(ctx <= 112, "the context grew to {ctx} bytes");
    assert!(watch <= 8, "the watch grew to {watch} bytes");
}
