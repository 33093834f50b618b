use std::time::Instant;

use framekit::connection::ExchangeId;
use tokio::sync::oneshot;

use super::*;

fn pending() -> (Pending<(), u32>, oneshot::Receiver<Outcome<(), u32>>) {
    let (reply, rx) = oneshot::channel();
    let started = Instant::now();
    let timeout = std::time::Duration::ZERO;
    (
        Pending {
            reply,
            started,
            timeout,
        },
        rx,
    )
}

#[test]
fn calls_are_found_by_id_in_any_order_and_only_once() {
    let mut waiting = Waiting::new();
    let mut receivers = Vec::new();
    for i in 5..10 {
        let (p, rx) = pending();
        waiting.insert(ExchangeId::new(i), p);
        receivers.push(rx);
    }
    for i in [7, 5, 9, 6, 8] {
        assert!(waiting.remove(ExchangeId::new(i)).is_some(), "{i}");
        assert!(waiting.remove(ExchangeId::new(i)).is_none(), "{i} twice");
    }
    assert_eq!(waiting.drain().count(), 0);
    assert!(waiting.remove(ExchangeId::new(4)).is_none());
    assert!(waiting.remove(ExchangeId::new(10)).is_none());
    // The table is empty again: a new id starts it afresh.
    let (p, _rx) = pending();
    waiting.insert(ExchangeId::new(42), p);
    assert!(waiting.remove(ExchangeId::new(42)).is_some());
}

#[test]
fn drain_gives_every_live_call() {
    let mut waiting = Waiting::new();
    let mut receivers = Vec::new();
    for i in 0..4 {
        let (p, rx) = pending();
        waiting.insert(ExchangeId::new(i), p);
        receivers.push(rx);
    }
    waiting.remove(ExchangeId::new(1));
    assert_eq!(waiting.drain().count(), 3);
    assert_eq!(waiting.drain().count(), 0);
}
