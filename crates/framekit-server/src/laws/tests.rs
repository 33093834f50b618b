//! The harness held to itself: a correct server passes, and each law catches the handler that
//! breaks it.

use std::future::Future;
use std::pin::Pin;

use bytes::Bytes;
use framekit::framing::delimited::Delimited;
use framekit::FrameCodec;
use proptest::prelude::*;

use super::*;
use crate::context::Ctx;

fn lines() -> impl Strategy<Value = Vec<Vec<u8>>> {
    proptest::collection::vec("[a-z]{0,12}\n".prop_map(String::into_bytes), 1..6)
}

fn codec() -> FrameCodec<Delimited> {
    FrameCodec::new(Delimited::newline().max_frame_len(8))
}

#[test]
fn an_echo_server_keeps_every_law() {
    ServerLaws::serving(codec(), |line: Bytes, _ctx: Ctx| async move { Some(line) })
        .cases(24)
        .check(lines());
}

#[test]
fn a_dripped_plan_gives_the_reference_output() {
    let laws = ServerLaws::serving(codec(), |line: Bytes, _ctx: Ctx| async move { Some(line) });
    let drip = Plan {
        sends: vec![1],
        pauses: vec![true, false],
        reads: vec![1, 0],
        writes: vec![0, 1],
    };
    let requests = [b"ab\n".to_vec(), b"\n".to_vec(), b"cde\n".to_vec()];
    assert_eq!(laws.check_one(&requests, &drip), Ok(()));
}

#[test]
fn an_answer_that_never_comes_breaks_close_after_written() {
    type Never = Pin<Box<dyn Future<Output = Option<Bytes>> + Send>>;
    let laws = ServerLaws::serving(codec(), |_line: Bytes, _ctx: Ctx| -> Never {
        Box::pin(std::future::pending())
    });
    let violation = laws
        .check_one(&[b"a\n".to_vec()], &Plan::whole())
        .unwrap_err();
    assert_eq!(violation.law(), Law::CloseAfterWritten, "{violation}");
    assert!(violation.detail().contains("never ended"), "{violation}");
}

#[test]
fn a_panicking_handler_breaks_stated_reason() {
    let laws = ServerLaws::serving(codec(), |line: Bytes, _ctx: Ctx| async move {
        assert!(&line[..] != b"boom", "the handler's bug");
        Some(line)
    });
    let requests = [b"ok\n".to_vec(), b"boom\n".to_vec()];
    let violation = laws.check_one(&requests, &Plan::whole()).unwrap_err();
    assert_eq!(violation.law(), Law::StatedReason, "{violation}");
    assert!(violation.detail().contains("panicked"), "{violation}");
}

#[test]
#[should_panic(expected = "law `exactly_once_in_order` broke")]
fn an_answer_that_depends_on_the_clock_breaks_exactly_once_in_order() {
    // The paused clock moves at the plan's pauses: the answers differ from the reference's.
    let start = tokio::time::Instant::now();
    ServerLaws::serving(codec(), move |_line: Bytes, _ctx: Ctx| async move {
        Some(Bytes::from(start.elapsed().as_millis().to_string()))
    })
    .cases(32)
    .check(lines());
}
