//! The client over loopback, driving the connection machine: pipelined and multiplexed
//! exchanges, the in-flight bound, deadlines whose late answers are dropped without
//! desynchronising the stream, graceful close, and tower's balancer over connections. Every
//! answer is checked against its own request.

mod client_support;
mod support;

use std::time::Duration;

use bytes::Bytes;
use client_support::*;
use framekit::connection::{Pipelined, Settings};
use framekit_client::connection::{ClientConnection, Options};
use framekit_client::tower::ConnectionService;
use framekit_client::{Builder, Connector, Endpoint, Error, Reconnect};
use framekit_testproxy::SilentBackend;
use futures::future::join_all;
use support::within;
use tower::{Service, ServiceExt};

fn request(i: usize) -> Bytes {
    Bytes::from(format!("req-{i}"))
}

fn answer(i: usize) -> Bytes {
    Bytes::from(format!("ok:req-{i}"))
}

#[tokio::test]
async fn many_concurrent_callers_each_get_their_own_answer() {
    let server = answering_server().await;
    let addr = server.local_addr().as_tcp().unwrap();
    // Four in flight per connection, two connections, 500 callers at once: the rest wait.
    let options = Options::default().settings(Settings::default().max_in_flight(4));
    let client = line_client(addr, options);
    let calls = (0..500).map(|i| {
        let client = client.clone();
        async move { (i, client.call(request(i)).await) }
    });
    for (i, result) in within("500 calls", join_all(calls)).await {
        assert_eq!(result.unwrap(), answer(i));
    }
    within("close", client.close()).await;
    support::stop(server).await;
}

#[tokio::test]
async fn a_late_answer_is_dropped_and_the_next_request_gets_its_own() {
    let server = answering_server().await;
    let addr = server.local_addr().as_tcp().unwrap();
    let connector = Connector::new(Endpoint::tcp(addr));
    let transport = connector.connect_with(&Reconnect::Never).await.unwrap();
    let conn = ClientConnection::spawn(
        transport,
        lines(),
        Pipelined,
        Options::default(),
        &connector,
    );
    let slow = conn.call_within(Bytes::from("sleep:300:slow"), Duration::from_millis(50));
    let error = within("the deadline", slow).await.unwrap_err();
    assert!(matches!(error, Error::Timeout { after, .. } if after == Duration::from_millis(50)));
    // The slow answer comes later on the same connection; the stream must not shift.
    for i in 0..5 {
        let got = within("after the late answer", conn.call(request(i))).await;
        assert_eq!(got.unwrap(), answer(i));
    }
    within("close", conn.close()).await;
    support::stop(server).await;
}

#[tokio::test]
async fn the_machines_deadline_expires_a_request_to_a_silent_backend() {
    let silent = SilentBackend::start().await.unwrap();
    let settings = Settings::default().exchange(Duration::from_millis(80));
    let client = Builder::new(Endpoint::tcp(silent.local_addr()))
        .reconnect(Reconnect::Never)
        .build(lines, || Pipelined, Options::default().settings(settings));
    let error = within("the expiry", client.call(Bytes::from("GET k")))
        .await
        .unwrap_err();
    assert!(
        matches!(error, Error::Timeout { after, .. } if after == Duration::from_millis(80)),
        "{error}"
    );
    assert!(error.may_have_been_applied());
    // The client's own close does not wait for an answer that will never come: the expired
    // exchange holds its place until the idle machine is shut down by the close.
    drop(client);
}

#[tokio::test]
async fn multiplexed_answers_in_any_order_find_their_requests() {
    let addr = multiplexed_server().await;
    let options = Options::default().tagged(set_line_tag);
    let client = Builder::new(Endpoint::tcp(addr))
        .pool_size(1)
        .build(lines, || LineTag, options);
    // Delays falling with the index: the server answers the last request first.
    let calls = (0..40).map(|i| {
        let client = client.clone();
        async move {
            let req = format!("{}:payload-{i}", (40 - i) * 3);
            (req.clone(), client.call(Bytes::from(req)).await)
        }
    });
    for (req, result) in within("40 tagged calls", join_all(calls)).await {
        let got = result.unwrap();
        let (_tag, rest) = std::str::from_utf8(&got).unwrap().split_once(':').unwrap();
        assert_eq!(rest, req);
    }
    within("close", client.close()).await;
}

#[tokio::test]
async fn graceful_close_lets_the_answers_in_flight_arrive() {
    let server = answering_server().await;
    let addr = server.local_addr().as_tcp().unwrap();
    let connector = Connector::new(Endpoint::tcp(addr));
    let transport = connector.connect_with(&Reconnect::Never).await.unwrap();
    let conn = ClientConnection::spawn(
        transport,
        lines(),
        Pipelined,
        Options::default(),
        &connector,
    );
    let calls: Vec<_> = (0..10)
        .map(|i| {
            let conn = conn.clone();
            tokio::spawn(async move { conn.call(Bytes::from(format!("sleep:50:{i}"))).await })
        })
        .collect();
    // Let the calls reach the connection, then close it.
    within("the calls to be carried", async {
        while conn.load() < 10 {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    })
    .await;
    tokio::time::sleep(Duration::from_millis(10)).await;
    within("close", conn.close()).await;
    for (i, call) in calls.into_iter().enumerate() {
        let got = within("an answer in flight", call).await.unwrap();
        assert_eq!(got.unwrap(), Bytes::from(format!("ok:sleep:50:{i}")));
    }
    assert!(!conn.is_accepting());
    let after = conn.call(request(0)).await.unwrap_err();
    assert!(!after.may_have_been_applied(), "{after}");
    support::stop(server).await;
}

#[tokio::test]
async fn towers_balancer_spreads_requests_over_connections_by_load() {
    let server = answering_server().await;
    let addr = server.local_addr().as_tcp().unwrap();
    let connector = Connector::new(Endpoint::tcp(addr));
    let mut connections = Vec::new();
    for _ in 0..3 {
        let transport = connector.connect_with(&Reconnect::Never).await.unwrap();
        let conn = ClientConnection::spawn(
            transport,
            lines(),
            Pipelined,
            Options::default(),
            &connector,
        );
        connections.push(conn);
    }
    let services: Vec<_> = connections
        .iter()
        .cloned()
        .map(ConnectionService::new)
        .collect();
    let balance = tower::balance::p2c::Balance::new(tower::discover::ServiceList::new(services));
    let mut balance = tower::buffer::Buffer::new(balance, 64);
    let mut calls = Vec::new();
    for i in 0..200 {
        let call = balance.ready().await.unwrap().call(request(i));
        calls.push(async move { (i, call.await) });
    }
    for (i, result) in within("200 balanced calls", join_all(calls)).await {
        assert_eq!(result.unwrap(), answer(i));
    }
    for conn in &connections {
        assert_eq!(conn.load(), 0);
        within("close", conn.close()).await;
    }
    support::stop(server).await;
}

#[tokio::test]
async fn the_client_is_a_tower_service() {
    let server = answering_server().await;
    let addr = server.local_addr().as_tcp().unwrap();
    let client = line_client(addr, Options::default());
    let mut service = tower::ServiceBuilder::new()
        .timeout(Duration::from_secs(5))
        .service(client.clone());
    let got = service
        .ready()
        .await
        .unwrap()
        .call(request(7))
        .await
        .unwrap();
    assert_eq!(got, answer(7));
    within("close", client.close()).await;
    assert!(matches!(client.call(request(8)).await, Err(Error::Closed)));
    support::stop(server).await;
}
