//! The client through the fault proxy: every chunking and delay still gives each request its
//! own answer; a connection that fails (reset, EOF mid-answer) fails exactly the requests it
//! carried, each saying it may have been applied, while requests it never took go to a new
//! connection; a server restart is ridden out by reconnecting.

mod client_support;
mod support;

use std::time::Duration;

use bytes::Bytes;
use client_support::*;
use framekit::connection::Settings;
use framekit_client::connection::Options;
use framekit_client::{Builder, Cause, Delivery, Endpoint, Error};
use framekit_server::Server;
use framekit_testproxy::{FaultProxy, Faults, Plan};
use futures::future::join_all;
use support::within;

fn request(i: usize) -> Bytes {
    Bytes::from(format!("req-{i}"))
}

fn answer(i: usize) -> Bytes {
    Bytes::from(format!("ok:req-{i}"))
}

/// Sends `n` calls at once; checks every answer is its own request's; returns the failures.
async fn calls(client: &framekit_client::Client<Bytes, Bytes>, n: usize) -> Vec<Error> {
    let calls = (0..n).map(|i| {
        let client = client.clone();
        async move { (i, client.call(request(i)).await) }
    });
    let mut failures = Vec::new();
    for (i, result) in within("the calls", join_all(calls)).await {
        match result {
            Ok(got) => assert_eq!(got, answer(i), "request {i} got another's answer"),
            Err(error) => failures.push(error),
        }
    }
    failures
}

#[tokio::test]
async fn sliced_and_delayed_bytes_still_match_every_answer() {
    let server = answering_server().await;
    let target = server.local_addr().as_tcp().unwrap();
    let plan = Plan::default()
        .upstream(Faults::default().sliced())
        .downstream(
            Faults::default()
                .sliced()
                .stall(100, Duration::from_millis(30)),
        );
    let proxy = FaultProxy::start(target, plan).await.unwrap();
    let client = line_client(proxy.local_addr(), Options::default());
    assert!(calls(&client, 150).await.is_empty());
    within("close", client.close()).await;
    support::stop(server).await;
}

#[tokio::test]
async fn a_reset_mid_answer_fails_only_the_unanswered_requests() {
    let server = answering_server().await;
    let target = server.local_addr().as_tcp().unwrap();
    // 100 answers of 9 to 11 bytes: the cut at byte 200 is inside the twentieth or so.
    let proxy = FaultProxy::start(
        target,
        Plan::default().downstream(Faults::default().reset_after(200)),
    )
    .await
    .unwrap();
    let client = Builder::new(Endpoint::tcp(proxy.local_addr()))
        .pool_size(1)
        .reconnect(quick(5))
        .build(
            lines,
            || framekit::connection::Pipelined,
            Options::default(),
        );
    let failures = calls(&client, 100).await;
    assert!(!failures.is_empty(), "the reset failed nothing");
    assert!(failures.len() < 100, "the answers before the cut were lost");
    // Requests written before the reset may have been applied; requests still queued in the
    // connection's output were not sent.
    for error in &failures {
        match error {
            Error::Failed {
                cause: Cause::Io(_) | Cause::PeerClosed,
                ..
            } => {}
            other => panic!("{other}"),
        }
    }
    assert!(failures.iter().any(Error::may_have_been_applied));
    // The next requests go to new connections; those made before the plan changed (requests
    // the first connection never took were sent on one) are cut too, the first one after it
    // answers everything.
    proxy.set_plan(Plan::default());
    let mut batches = 0;
    while !calls(&client, 20).await.is_empty() {
        batches += 1;
        assert!(batches < 5, "still failing after {batches} batches");
    }
    assert!(proxy.accepted() >= 2);
    within("close", client.close()).await;
    support::stop(server).await;
}

#[tokio::test]
async fn eof_mid_answer_fails_the_carried_requests_as_maybe_applied() {
    let server = answering_server().await;
    let target = server.local_addr().as_tcp().unwrap();
    let plan = Plan::default().downstream(Faults::default().half_close_after(15));
    let proxy = FaultProxy::start(target, plan).await.unwrap();
    let client = Builder::new(Endpoint::tcp(proxy.local_addr()))
        .pool_size(1)
        .reconnect(quick(5))
        .build(
            lines,
            || framekit::connection::Pipelined,
            Options::default(),
        );
    // "ok:req-0\n" is 9 bytes: the first answer arrives, the second is cut. The line framing
    // reports the cut answer as an unexpected end (a decode failure at EOF); a cut between
    // answers would be the server's close.
    let failures = calls(&client, 10).await;
    assert_eq!(failures.len(), 9);
    for error in &failures {
        assert!(
            matches!(
                error,
                Error::Failed {
                    delivery: Delivery::MaybeApplied,
                    cause: Cause::PeerClosed | Cause::Decode("unexpected_eof"),
                    ..
                }
            ),
            "{error:?}"
        );
    }
    within("close", client.close()).await;
    support::stop(server).await;
}

#[tokio::test]
async fn requests_a_failed_connection_never_took_go_to_a_new_one() {
    let server = answering_server().await;
    let target = server.local_addr().as_tcp().unwrap();
    let plan = Plan::default().downstream(
        Faults::default()
            .stall(3, Duration::from_millis(100))
            .reset_after(3),
    );
    let proxy = FaultProxy::start(target, plan).await.unwrap();
    // One request in flight at a time: the rest wait to be taken.
    let options = Options::default().settings(Settings::default().max_in_flight(1));
    let client = Builder::new(Endpoint::tcp(proxy.local_addr()))
        .pool_size(1)
        .reconnect(quick(5))
        .build(lines, || framekit::connection::Pipelined, options);
    let watcher = async {
        within("the first connection", async {
            while proxy.accepted() == 0 {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        })
        .await;
        proxy.set_plan(Plan::default());
    };
    let (failures, ()) = tokio::join!(calls(&client, 20), watcher);
    // Only the request the first connection carried fails; the others were never sent on it.
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert!(failures[0].may_have_been_applied());
    assert_eq!(proxy.accepted(), 2);
    within("close", client.close()).await;
    support::stop(server).await;
}

#[tokio::test]
async fn a_server_restart_is_ridden_out_by_reconnecting() {
    let server = answering_server().await;
    let addr = server.local_addr().as_tcp().unwrap();
    let client = line_client(addr, Options::default());
    assert!(calls(&client, 20).await.is_empty());
    support::stop(server).await;
    // The server is gone: requests fail, none with another's answer.
    let during = calls(&client, 5).await;
    assert_eq!(during.len(), 5);
    let restarted = within("the restart", async {
        loop {
            match Server::bind(addr).await {
                Ok(server) => break server,
                Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            }
        }
    })
    .await
    .serve(lines(), support::echo_with("ok:"));
    assert!(calls(&client, 20).await.is_empty());
    within("close", client.close()).await;
    support::stop(restarted).await;
}
