//! Scenario tests of the machine, one per behaviour the server engine once got wrong; the
//! laws that cover every order of events are in `testing::connection`.

use std::time::{Duration, Instant};

use bytes::Bytes;

use super::*;
use crate::framing::delimited::Delimited;
use crate::FrameCodec;

type Lines = FrameCodec<Delimited>;

fn server(settings: Settings) -> (Connection<Lines, Server>, Instant) {
    let now = Instant::now();
    let codec = FrameCodec::new(Delimited::newline().max_frame_len(1 << 20));
    (Connection::server(codec, settings, now), now)
}

fn feed<C: Decode, R: Role>(conn: &mut Connection<C, R>, bytes: &[u8], now: Instant) {
    conn.read_buf().expect("reads").extend_from_slice(bytes);
    conn.handle_read(bytes.len(), now);
}

/// Writes everything owed, `chunk` bytes at a time, returning it.
fn drain<C, R: Role>(conn: &mut Connection<C, R>, chunk: usize, now: Instant) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(bytes) = conn.poll_transmit() {
        let n = bytes.len().min(chunk);
        out.extend_from_slice(&bytes[..n]);
        conn.handle_written(n, now);
    }
    out
}

/// Answers each request at once with `f(request)`; `quit` closes.
fn answer_all(conn: &mut Connection<Lines, Server>, now: Instant, f: impl Fn(&[u8]) -> Vec<u8>) {
    while let Some(event) = conn.poll_event(now) {
        match event {
            Event::Request {
                view,
                mut responder,
            } => {
                let answer = f(view);
                responder.send(Bytes::from(answer)).unwrap();
                if view == b"quit" {
                    responder.close();
                } else {
                    responder.finish();
                }
            }
            Event::Failed { responder, .. }
            | Event::Expired(responder)
            | Event::Room(responder) => responder.finish(),
        }
    }
}

#[test]
fn a_close_with_nothing_else_pending_closes_once_written() {
    // The engine's first failure: `quit\n` alone, and `quit\n` after earlier answers were
    // flushed, left the connection open.
    for before in [&b""[..], b"a\n"] {
        let (mut conn, now) = server(Settings::default());
        if !before.is_empty() {
            feed(&mut conn, before, now);
            answer_all(&mut conn, now, |r| r.to_vec());
            assert_eq!(drain(&mut conn, usize::MAX, now), b"a\n");
            assert_eq!(conn.state(), State::Open);
        }
        feed(&mut conn, b"quit\n", now);
        answer_all(&mut conn, now, |_| b"bye".to_vec());
        assert_eq!(conn.state(), State::Closing(CloseReason::Local));
        assert_eq!(drain(&mut conn, 1, now), b"bye\n");
        assert_eq!(conn.state(), State::Closed(CloseReason::Local));
    }
}

#[test]
fn a_close_with_no_answer_at_all_closes_at_once() {
    let (mut conn, now) = server(Settings::default());
    feed(&mut conn, b"quit\n", now);
    match conn.poll_event(now) {
        Some(Event::Request { responder, .. }) => responder.close(),
        _ => panic!("a request"),
    }
    assert_eq!(conn.state(), State::Closed(CloseReason::Local));
    assert_eq!(conn.poll_timeout(), None);
}

#[test]
fn timeouts_too_large_for_an_instant_never_fire_and_never_panic() {
    // The engine's second failure: `idle_timeout(Duration::MAX)` panicked every connection.
    let settings = Settings::default()
        .idle(Duration::MAX)
        .exchange(Duration::MAX)
        .write(Duration::MAX);
    let (mut conn, now) = server(settings);
    assert_eq!(conn.poll_timeout(), None);
    feed(&mut conn, b"slow\n", now);
    let Some(Event::Request { responder, .. }) = conn.poll_event(now) else {
        panic!("a request")
    };
    let id = responder.later();
    assert_eq!(conn.poll_timeout(), None);
    conn.handle_timeout(now + Duration::from_secs(1 << 40));
    assert!(conn.responder(id, now).is_some(), "not expired");
    let (mut never, now) = server(Settings::default().idle(Timeout::Never));
    never.handle_timeout(now + Duration::from_secs(1 << 40));
    assert_eq!(never.state(), State::Open);
}

#[test]
fn a_pipelined_request_behind_a_large_answer_is_answered_once_the_answer_drains() {
    // The engine's fourth failure: with `SET big`, `GET big`, `GET big` in one read, the
    // second `GET` waited for more input after the first answer crossed the high water mark.
    let settings = Settings::default()
        .high_water(64 * 1024)
        .low_water(16 * 1024);
    let (mut conn, now) = server(settings);
    let big = vec![b'v'; 300 * 1024];
    feed(&mut conn, b"get\nget\nget\n", now);
    answer_all(&mut conn, now, |_| big.clone());
    assert_eq!(conn.in_flight(), 0);
    assert!(conn.owed() >= 300 * 1024);
    // Write it all in 8 KiB pieces, looking for events after each write as a driver does.
    let mut written = 0;
    while let Some(bytes) = conn.poll_transmit() {
        let n = bytes.len().min(8 * 1024);
        conn.handle_written(n, now);
        written += n;
        answer_all(&mut conn, now, |_| big.clone());
    }
    assert_eq!(
        written,
        3 * (big.len() + 1),
        "all three answers, with no more input"
    );
}

#[test]
fn later_answers_leave_in_request_order_while_many_are_in_flight() {
    let (mut conn, now) = server(Settings::default());
    feed(&mut conn, b"a\nb\nc\n", now);
    let mut ids = Vec::new();
    while let Some(event) = conn.poll_event(now) {
        let Event::Request {
            view,
            mut responder,
        } = event
        else {
            panic!("requests only")
        };
        if view == b"b" {
            responder.send(&b"B"[..]).unwrap(); // at once, but held behind `a`
            responder.finish();
        } else {
            ids.push(responder.later());
        }
    }
    assert_eq!(conn.in_flight(), 3);
    assert_eq!(conn.poll_transmit(), None, "`b` waits for `a`");
    let mut c = conn.responder(ids[1], now).unwrap();
    c.send(&b"C"[..]).unwrap();
    c.finish();
    let mut a = conn.responder(ids[0], now).unwrap();
    a.send(&b"A"[..]).unwrap();
    a.finish();
    assert_eq!(drain(&mut conn, 1, now), b"A\nB\nC\n");
    assert_eq!(conn.in_flight(), 0);
}

#[test]
fn a_streaming_answer_is_offered_room_only_below_the_water_mark_and_only_after_a_change() {
    let settings = Settings::default().high_water(100).low_water(10);
    let (mut conn, now) = server(settings);
    feed(&mut conn, b"keys\n", now);
    let Some(Event::Request { responder, .. }) = conn.poll_event(now) else {
        panic!("a request")
    };
    let id = responder.stream();
    let mut parts = 0;
    let mut offers = 0;
    loop {
        while let Some(event) = conn.poll_event(now) {
            let Event::Room(mut responder) = event else {
                panic!("room only")
            };
            offers += 1;
            assert_eq!(responder.id(), id);
            while responder.has_room() && parts < 50 {
                responder.send(Bytes::from(vec![b'k'; 9])).unwrap();
                parts += 1;
            }
            assert!(conn.owed() <= 100 + 10, "high water plus one part");
            if parts == 50 {
                conn.responder(id, now).unwrap().finish();
            } else {
                // Nothing changed since the offer: no new offer until bytes are written.
                let _ = conn.responder(id, now).unwrap().stream();
            }
        }
        if conn.poll_transmit().is_none() {
            break;
        }
        drain(&mut conn, 7, now);
    }
    assert_eq!(parts, 50);
    assert!(offers > 1 && offers < 20, "offered {offers} times");
    assert_eq!(conn.in_flight(), 0);
}

#[test]
fn an_idle_connection_closes_at_its_deadline_and_not_before() {
    let (mut conn, now) = server(Settings::default().idle(Duration::from_secs(5)));
    let deadline = conn.poll_timeout().unwrap();
    assert_eq!(deadline, now + Duration::from_secs(5));
    conn.handle_timeout(deadline - Duration::from_millis(1));
    assert_eq!(conn.state(), State::Open);
    conn.handle_timeout(deadline);
    assert_eq!(conn.state(), State::Closed(CloseReason::IdleTimeout));
}

#[test]
fn a_client_matches_pipelined_answers_and_drops_the_late_answer_of_an_expired_exchange() {
    let now = Instant::now();
    let codec = FrameCodec::new(Delimited::newline());
    let settings = Settings::default().exchange(Duration::from_secs(1));
    let mut conn = Connection::client(codec, Pipelined, settings, now);
    let first = conn.submit(&b"one"[..], None, now).unwrap();
    let second = conn.submit(&b"two"[..], None, now).unwrap();
    drain(&mut conn, 3, now);
    let later = now + Duration::from_secs(1);
    conn.handle_timeout(later);
    assert!(matches!(conn.poll_event(later), Some(ClientEvent::Expired { id, .. }) if id == first));
    assert!(
        matches!(conn.poll_event(later), Some(ClientEvent::Expired { id, .. }) if id == second)
    );
    let third = conn.submit(&b"three"[..], None, later).unwrap();
    feed(&mut conn, b"1\n2\n3\n", later);
    assert!(matches!(conn.poll_event(later), Some(ClientEvent::Dropped { id }) if id == first));
    assert!(matches!(conn.poll_event(later), Some(ClientEvent::Dropped { id }) if id == second));
    match conn.poll_event(later) {
        Some(ClientEvent::Response { id, answer }) => assert_eq!((id, answer), (third, &b"3"[..])),
        other => panic!("{other:?}"),
    }
    assert!(conn.poll_event(later).is_none());
}

#[test]
fn a_client_connection_that_ends_fails_each_exchange_saying_whether_it_was_sent() {
    let now = Instant::now();
    let codec = FrameCodec::new(Delimited::newline());
    let mut conn = Connection::client(codec, Pipelined, Settings::default(), now);
    let sent = conn.submit(&b"sent"[..], None, now).unwrap();
    conn.handle_written(2, now); // part of it left
    let unsent = conn.submit(&b"unsent"[..], None, now).unwrap();
    conn.handle_eof(now);
    let mut failed = Vec::new();
    while let Some(event) = conn.poll_event(now) {
        if let ClientEvent::Failed {
            id,
            delivery,
            reason,
        } = event
        {
            assert_eq!(reason, CloseReason::PeerClosed);
            failed.push((id, delivery));
        }
    }
    assert_eq!(
        failed,
        [(sent, Delivery::MaybeApplied), (unsent, Delivery::NotSent)]
    );
    assert!(conn.is_closed());
}

/// Answers in any order, matched by the tag in their first byte.
struct FirstByte;

impl Match<Lines> for FirstByte {
    fn tag(&self, answer: &&[u8]) -> Option<u64> {
        answer.first().map(|b| u64::from(*b))
    }
}

#[test]
fn a_multiplexed_client_matches_answers_by_tag_in_any_order() {
    let now = Instant::now();
    let codec = FrameCodec::new(Delimited::newline());
    let mut conn = Connection::client(codec, FirstByte, Settings::default(), now);
    let a = conn.submit(&b"a?"[..], Some(u64::from(b'a')), now).unwrap();
    let b = conn.submit(&b"b?"[..], Some(u64::from(b'b')), now).unwrap();
    assert!(matches!(
        conn.submit(&b"a?"[..], Some(u64::from(b'a')), now),
        Err(SubmitError::TagInUse(_))
    ));
    drain(&mut conn, usize::MAX, now);
    feed(&mut conn, b"b!\na!\n", now);
    assert!(matches!(conn.poll_event(now), Some(ClientEvent::Response { id, .. }) if id == b));
    assert!(matches!(conn.poll_event(now), Some(ClientEvent::Response { id, .. }) if id == a));
}

#[test]
fn a_request_with_its_own_deadline_expires_then_and_says_whether_it_was_written() {
    let now = Instant::now();
    let codec = FrameCodec::new(Delimited::newline());
    let mut conn = Connection::client(codec, Pipelined, Settings::default(), now);
    let short = Timeout::After(Duration::from_millis(10));
    let written = conn.submit_within(&b"one"[..], None, short, now).unwrap();
    drain(&mut conn, usize::MAX, now);
    let unwritten = conn.submit_within(&b"two"[..], None, short, now).unwrap();
    assert_eq!(conn.poll_timeout(), Some(now + Duration::from_millis(10)));
    conn.handle_timeout(now + Duration::from_millis(10));
    let mut expired = Vec::new();
    while let Some(event) = conn.poll_event(now) {
        expired.push(format!("{event:?}"));
    }
    assert_eq!(
        expired,
        [
            format!("Expired {{ id: {written:?}, delivery: MaybeApplied }}"),
            format!("Expired {{ id: {unwritten:?}, delivery: NotSent }}"),
        ]
    );
}

#[test]
fn a_client_that_is_busy_says_so_before_taking_the_request() {
    let now = Instant::now();
    let codec = FrameCodec::new(Delimited::newline());
    let settings = Settings::default().max_in_flight(1);
    let mut conn = Connection::client(codec, Pipelined, settings, now);
    assert!(conn.can_submit());
    conn.submit(&b"one"[..], None, now).unwrap();
    assert!(!conn.can_submit());
    assert!(matches!(
        conn.submit(&b"two"[..], None, now),
        Err(SubmitError::Busy { in_flight: 1, .. })
    ));
}

#[test]
fn a_closing_client_with_only_expired_exchanges_left_closes() {
    let now = Instant::now();
    let codec = FrameCodec::new(Delimited::newline());
    let settings = Settings::default().exchange(Duration::from_millis(5));
    let mut conn = Connection::client(codec, Pipelined, settings, now);
    conn.submit(&b"lost"[..], None, now).unwrap();
    drain(&mut conn, usize::MAX, now);
    conn.handle_timeout(now + Duration::from_millis(5));
    assert!(matches!(
        conn.poll_event(now),
        Some(ClientEvent::Expired { .. })
    ));
    assert_eq!(conn.state(), State::Open);
    conn.close(now);
    assert_eq!(conn.state(), State::Closed(CloseReason::Local));
}

#[test]
fn a_request_dripped_slower_than_the_frame_timeout_closes_the_connection_after_earlier_answers() {
    let settings = Settings::default()
        .frame(Duration::from_secs(2))
        .idle(Timeout::Never);
    let (mut conn, now) = server(settings);
    feed(&mut conn, b"whole\npart", now);
    answer_all(&mut conn, now, |r| r.to_vec());
    assert_eq!(conn.poll_timeout(), Some(now + Duration::from_secs(2)));
    let later = now + Duration::from_secs(1);
    feed(&mut conn, b"ial", later);
    answer_all(&mut conn, later, |r| r.to_vec());
    // More bytes of the same request do not move its deadline.
    assert_eq!(conn.poll_timeout(), Some(now + Duration::from_secs(2)));
    conn.handle_timeout(now + Duration::from_secs(2));
    assert_eq!(conn.state(), State::Closing(CloseReason::FrameTimeout));
    assert_eq!(drain(&mut conn, usize::MAX, later), b"whole\n");
    assert_eq!(conn.state(), State::Closed(CloseReason::FrameTimeout));
}

/// The first request of a quiet connection has no queue entry while the handler holds its
/// responder (it is finished at once, most often); dropped unconsumed, its exchange waits for
/// a later answer as a queued one would: it keeps its place before the next request, counts as
/// in flight, and expires at its own deadline, counted from when it was decoded.
#[test]
fn a_dropped_responder_of_the_head_leaves_its_exchange_waiting_with_its_deadline() {
    let now = Instant::now();
    let settings = Settings::default().exchange(Duration::from_secs(1));
    let mut conn = Connection::server(FrameCodec::new(Delimited::newline()), settings, now);
    feed(&mut conn, b"first\n", now);
    let first = match conn.poll_event(now) {
        Some(Event::Request { responder, .. }) => responder.id(), // dropped unconsumed
        _ => panic!("a request"),
    };
    assert_eq!(conn.in_flight(), 1);
    assert_eq!(conn.poll_timeout(), Some(now + Duration::from_secs(1)));
    let soon = now + Duration::from_millis(400);
    feed(&mut conn, b"second\n", soon);
    match conn.poll_event(soon) {
        Some(Event::Request { mut responder, .. }) => {
            responder.send(&b"2"[..]).unwrap();
            responder.finish();
        }
        _ => panic!("a request"),
    }
    // The second answer waits behind the first, whose deadline has not moved.
    assert_eq!(conn.poll_transmit(), None);
    assert_eq!(conn.in_flight(), 2);
    assert_eq!(conn.poll_timeout(), Some(now + Duration::from_secs(1)));
    let due = now + Duration::from_secs(1);
    conn.handle_timeout(due);
    match conn.poll_event(due) {
        Some(Event::Expired(mut responder)) => {
            assert_eq!(responder.id(), first);
            responder.send(&b"late"[..]).unwrap();
            responder.finish();
        }
        _ => panic!("the first exchange expires"),
    }
    assert_eq!(drain(&mut conn, 64, due), b"late\n2\n");
    assert_eq!(conn.in_flight(), 0);
}

/// Answered later, the head's exchange is queued with the deadline of its decoding.
#[test]
fn a_head_answered_later_is_queued_with_the_deadline_of_its_decoding() {
    let now = Instant::now();
    let settings = Settings::default().exchange(Duration::from_secs(2));
    let mut conn = Connection::server(FrameCodec::new(Delimited::newline()), settings, now);
    feed(&mut conn, b"slow\n", now);
    let id = match conn.poll_event(now) {
        Some(Event::Request { responder, .. }) => responder.later(),
        _ => panic!("a request"),
    };
    let later = now + Duration::from_millis(500);
    conn.handle_timeout(later); // not due: nothing expires, the deadline stays
    assert_eq!(conn.poll_timeout(), Some(now + Duration::from_secs(2)));
    let mut responder = conn.responder(id, now).expect("waiting");
    responder.send(&b"done"[..]).unwrap();
    responder.finish();
    assert_eq!(drain(&mut conn, 64, now), b"done\n");
    assert!(conn.responder(id, now).is_none());
    // Nothing in flight: the idle timeout (60 s by default, from the last write, on the
    // machine's clock, which never runs back) is the only deadline left.
    assert_eq!(conn.poll_timeout(), Some(later + Duration::from_secs(60)));
}
