//! `FrameCodec` and `Frames` against strategies that break the decoding contract: never asked
//! about an empty buffer, and a zero-byte discard that changes nothing is an error, not a loop.

use bytes::BytesMut;
use tokio_util::codec::Decoder;

use crate::error::StrategyFault;
use crate::framing::{Decision, Frames, Framing, SkipReport};
use crate::{FrameCodec, FrameError};

/// Drops every `!` as it arrives and frames every other byte alone; panics when asked about
/// an empty buffer, which the contract says never happens.
struct DropsBangs;

impl Framing for DropsBangs {
    fn decide(&mut self, buf: &[u8]) -> Result<Decision, FrameError> {
        assert!(!buf.is_empty(), "decide was asked about an empty buffer");
        let bangs = buf.iter().take_while(|&&b| b == b'!').count();
        Ok(match bangs {
            0 => Decision::frame(1, 0..1),
            len => Decision::Discard {
                len,
                skipped_frame: None,
            },
        })
    }
    fn frame_limit(&self) -> usize {
        1
    }
    fn encode_head(&mut self, _: &[u8], _: &mut BytesMut) -> Result<(), FrameError> {
        Ok(())
    }
}

/// Answers the scripted decisions in turn, then "need more".
struct Scripted(Vec<Decision>);

impl Framing for Scripted {
    fn decide(&mut self, _: &[u8]) -> Result<Decision, FrameError> {
        Ok(match self.0.is_empty() {
            true => Decision::incomplete(1),
            false => self.0.remove(0),
        })
    }
    fn frame_limit(&self) -> usize {
        8
    }
    fn encode_head(&mut self, _: &[u8], _: &mut BytesMut) -> Result<(), FrameError> {
        Ok(())
    }
}

fn fault(err: FrameError) -> StrategyFault {
    match err {
        FrameError::Strategy { fault, .. } => fault,
        other => panic!("expected a strategy fault, got {other}"),
    }
}

fn empty(report: bool) -> Decision {
    Decision::Discard {
        len: 0,
        skipped_frame: report.then(|| SkipReport::new(3, 3, 2)),
    }
}

#[test]
fn decide_is_not_asked_about_a_buffer_a_discard_emptied() {
    let mut codec = FrameCodec::new(DropsBangs);
    let mut buf = BytesMut::from(&b"!!!"[..]);
    assert!(codec.decode(&mut buf).unwrap().is_none());
    assert_eq!(codec.bytes_consumed(), 3);
    buf.extend_from_slice(b"!a!");
    assert_eq!(codec.decode(&mut buf).unwrap().unwrap(), "a");
    assert!(codec.decode(&mut buf).unwrap().is_none());
    assert!(codec.decode_eof(&mut buf).unwrap().is_none());

    let mut framing = DropsBangs;
    let mut frames = Frames::new(&mut framing, b"!!b!!");
    assert_eq!(frames.next().unwrap().unwrap(), b"b");
    assert!(frames.next().is_none());
    assert_eq!(frames.consumed(), 5);
}

#[test]
fn a_zero_byte_discard_that_reports_nothing_is_a_strategy_error() {
    let mut codec = FrameCodec::new(Scripted(vec![empty(false); 3]));
    let mut buf = BytesMut::from(&b"abc"[..]);
    assert_eq!(
        fault(codec.decode(&mut buf).unwrap_err()),
        StrategyFault::EmptyDiscard
    );

    let mut framing = Scripted(vec![empty(false); 3]);
    let err = Frames::new(&mut framing, b"abc")
        .next()
        .unwrap()
        .unwrap_err();
    assert_eq!(fault(err), StrategyFault::EmptyDiscard);
}

#[test]
fn a_second_zero_byte_discard_in_a_row_is_a_strategy_error() {
    // One is a report whose bytes were dropped already; a second would be a frame of no bytes.
    let mut codec = FrameCodec::new(Scripted(vec![empty(true), empty(true)]));
    let mut buf = BytesMut::from(&b"abc"[..]);
    assert!(matches!(
        codec.decode(&mut buf),
        Err(FrameError::Skipped { len: 3, .. })
    ));
    assert_eq!(
        fault(codec.decode(&mut buf).unwrap_err()),
        StrategyFault::RepeatedEmptyDiscard
    );

    // A frame between them resets the rule.
    let one = Decision::frame(1, 0..1);
    let mut codec = FrameCodec::new(Scripted(vec![empty(true), one, empty(true)]));
    assert!(codec.decode(&mut buf).unwrap_err().is_too_long());
    assert_eq!(codec.decode(&mut buf).unwrap().unwrap(), "a");
    assert!(codec.decode(&mut buf).unwrap_err().is_too_long());

    let mut framing = Scripted(vec![empty(true), empty(true)]);
    let mut frames = Frames::new(&mut framing, b"abc");
    assert!(frames.next().unwrap().unwrap_err().is_too_long());
    let err = frames.next().unwrap().unwrap_err();
    assert_eq!(fault(err), StrategyFault::RepeatedEmptyDiscard);
}

#[test]
fn frames_and_discards_outside_the_buffer_are_strategy_errors() {
    let cases = [
        (Decision::frame(4, 0..4), StrategyFault::FrameOutsideBuffer),
        (Decision::frame(0, 0..0), StrategyFault::FrameOutsideBuffer),
        (
            Decision::Discard {
                len: 4,
                skipped_frame: None,
            },
            StrategyFault::DiscardOutsideBuffer,
        ),
    ];
    for (decision, expected) in cases {
        let mut codec = FrameCodec::new(Scripted(vec![decision.clone()]));
        let mut buf = BytesMut::from(&b"abc"[..]);
        assert_eq!(fault(codec.decode(&mut buf).unwrap_err()), expected);
        let mut framing = Scripted(vec![decision]);
        let err = Frames::new(&mut framing, b"abc")
            .next()
            .unwrap()
            .unwrap_err();
        assert_eq!(fault(err), expected);
    }
}

#[test]
fn built_in_strategies_end_a_reported_skip_without_an_empty_discard() {
    use crate::framing::delimited::{Delimited, Overlong};
    use crate::framing::length_prefixed::{Endian, LengthPrefixed};

    let mut lines = Delimited::byte(b'\n')
        .max_frame_len(2)
        .on_overlong(Overlong::DiscardFailFast);
    assert!(matches!(
        lines.decide(b"abc").unwrap(),
        Decision::Discard {
            len: 3,
            skipped_frame: Some(_)
        }
    ));
    assert_eq!(lines.decide_eof(b"").unwrap(), None);

    let mut prefixed = LengthPrefixed::builder()
        .length_field(1, Endian::Big)
        .max_frame_len(2)
        .on_overlong(Overlong::DiscardFailFast)
        .build()
        .unwrap();
    assert!(matches!(
        prefixed.decide(b"\x05ab").unwrap(),
        Decision::Discard {
            len: 3,
            skipped_frame: Some(_)
        }
    ));
    assert_eq!(prefixed.decide_eof(b"").unwrap(), None);

    // Through the codec: the stream ends cleanly after the reported skip.
    let mut codec = FrameCodec::new(prefixed);
    let mut buf = BytesMut::from(&b"\x05ab"[..]);
    assert!(codec.decode(&mut buf).unwrap_err().is_too_long());
    assert!(codec.decode_eof(&mut buf).unwrap().is_none());
}
