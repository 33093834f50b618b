//! The kit itself must catch a broken codec: each law against a decoder that breaks it, and
//! proof that it runs every case it is asked for.

use bytes::{Bytes, BytesMut};
use proptest::collection::vec;
use proptest::prelude::*;
use tokio_util::codec::{Decoder, Encoder};

use super::{tlv_messages, TLV_MAX};
use crate::framing::delimited::Delimited;
use crate::framing::fixed::FixedSize;
use crate::framing::nom::NomCodec;
use crate::framing::Framing;
use crate::testing::tlv::{Msg, Tlv};
use crate::testing::{Law, Laws, Limits};
use crate::{FrameCodec, FrameError};

#[test]
fn the_kit_runs_every_case_it_is_asked_for() {
    // Each round-trip case builds two codecs (one to encode, one to decode).
    let built = std::rc::Rc::new(std::cell::Cell::new(0usize));
    let counter = built.clone();
    let laws = Laws::frame_codec(
        move || {
            counter.set(counter.get() + 1);
            FrameCodec::new(Delimited::newline().max_frame_len(24))
        },
        vec(prop::sample::select(b"ab"), 0..4),
    );
    let before = built.get();
    laws.cases(300).round_trip();
    assert!(
        built.get() - before >= 600,
        "{} codecs",
        built.get() - before
    );
}

/// Newline framing that drops the last byte of every line longer than one byte: breaks the
/// round trip without breaking anything else.
struct Lossy(FrameCodec<Delimited>);
impl Decoder for Lossy {
    type Item = Bytes;
    type Error = FrameError;
    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Bytes>, FrameError> {
        Ok(self.0.decode(src)?.map(|mut b| {
            if b.len() > 1 {
                b.truncate(b.len() - 1);
            }
            b
        }))
    }
}
impl Encoder<Vec<u8>> for Lossy {
    type Error = FrameError;
    fn encode(&mut self, item: Vec<u8>, dst: &mut BytesMut) -> Result<(), FrameError> {
        self.0.encode(item, dst)
    }
}

#[test]
fn a_broken_round_trip() {
    let laws = Laws::new(
        || Lossy(FrameCodec::new(Delimited::newline())),
        vec(prop::sample::select(b"ab"), 0..4),
    );
    let v = laws.check_round_trip(&[b"ab".to_vec()]).unwrap_err();
    assert_eq!(v.law(), Law::RoundTrip);
    assert!(v.detail().contains("sent"), "{v}");
    let laws = std::panic::AssertUnwindSafe(laws.cases(200));
    let panic = std::panic::catch_unwind(|| laws.round_trip()).unwrap_err();
    let message = panic.downcast_ref::<String>().unwrap();
    assert!(message.contains("law `round_trip` broke"), "{message}");
    assert!(message.contains("minimal counterexample"), "{message}");
    // Shrunk to the smallest failing input: one two-byte message.
    assert!(message.contains("[\n    [\n        9"), "{message}");
}

/// A decoder whose frames depend on how the bytes arrived: it ends a frame at the end of
/// whatever was buffered.
struct ReadSized;
impl Decoder for ReadSized {
    type Item = Bytes;
    type Error = FrameError;
    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Bytes>, FrameError> {
        Ok((!src.is_empty()).then(|| src.split().freeze()))
    }
}
impl Encoder<Vec<u8>> for ReadSized {
    type Error = FrameError;
    fn encode(&mut self, item: Vec<u8>, dst: &mut BytesMut) -> Result<(), FrameError> {
        dst.extend_from_slice(&item);
        Ok(())
    }
}

#[test]
fn chunking_dependence() {
    let laws = Laws::new(|| ReadSized, vec(any::<u8>(), 1..4));
    let v = laws.check_chunking(b"abc", &[1]).unwrap_err();
    assert_eq!(v.law(), Law::Chunking);
    assert!(laws.check_chunking(b"abc", &[]).is_ok());
}

#[test]
fn frames_over_the_limit_and_overbuffering() {
    // The codec's real limit is 64 KiB; claim 4.
    let laws = Laws::new(
        || FrameCodec::new(Delimited::newline()),
        Just(Vec::<u8>::new()),
    )
    .limits(Limits::new(4, 5))
    .frame_len(|b: &Bytes| b.len());
    let v = laws.check_max_length(b"abcdef\n", &[]).unwrap_err();
    assert_eq!(v.law(), Law::MaxLength);
    let v = laws.check_arbitrary_bytes(b"abcdef", &[]).unwrap_err();
    assert_eq!(v.law(), Law::BoundedBuffering);
}

#[test]
fn a_wrong_eof_rule() {
    // Newline framing errs on a trailing partial line; claiming it delivers is caught.
    let laws = Laws::frame_codec(
        || FrameCodec::new(Delimited::newline().max_frame_len(24)),
        Just(b"ab".to_vec()),
    )
    .partial_frame_delivered();
    let cut = crate::testing::CutStream {
        messages: vec![b"ab".to_vec()],
        cut: 0,
        sizes: vec![1],
    };
    let v = laws.check_eof(&cut).unwrap_err();
    assert_eq!(v.law(), Law::Eof);
    let laws = Laws::frame_codec(
        || FrameCodec::new(Delimited::newline().max_frame_len(24)),
        Just(b"ab".to_vec()),
    );
    assert!(laws.check_eof(&cut).is_ok());
}

/// The nom adapter as it used to be: every read parses the partial frame again from its
/// first byte, and says so to the work meter.
struct Rescanning;
impl Decoder for Rescanning {
    type Item = Msg;
    type Error = FrameError;
    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Msg>, FrameError> {
        use crate::framing::nom::StreamParser;
        use bytes::Buf;
        let buf = Bytes::copy_from_slice(src);
        crate::framing::work::examined(buf.len());
        match Tlv.parse(&buf, &buf) {
            Ok((rest, msg)) => {
                src.advance(buf.len() - rest.len());
                Ok(Some(msg))
            }
            Err(nom::Err::Incomplete(_)) => Ok(None),
            Err(_) => Err(FrameError::malformed(0, "bad tag")),
        }
    }
}

fn one_long_string() -> BytesMut {
    let mut wire = BytesMut::new();
    Msg::Str(vec![b'x'; 1000].into())
        .write(2000, &mut wire)
        .unwrap();
    wire
}

#[test]
fn rescanning_work() {
    let laws = Laws::decoder(
        || Rescanning,
        tlv_messages(),
        |_, m: Msg, dst| m.write(TLV_MAX, dst),
    );
    let wire = one_long_string();
    let v = laws.check_linear_work(&wire, &[1]).unwrap_err();
    assert_eq!(v.law(), Law::LinearWork);
    assert!(
        v.detail().contains("work grows faster than the input"),
        "{v}"
    );
    // Whole, it is one parse: the law only fails where the work really is quadratic.
    assert!(laws.check_linear_work(&wire, &[]).is_ok());
    // The random-input form finds it too (long strings, small chunks).
    let laws = Laws::decoder(
        || Rescanning,
        vec(any::<u8>(), 200..=400).prop_map(|s| Msg::Str(s.into())),
        |_, m: Msg, dst| m.write(1000, dst),
    );
    let laws = std::panic::AssertUnwindSafe(laws.cases(64));
    let panic = std::panic::catch_unwind(|| laws.linear_work()).unwrap_err();
    let message = panic.downcast_ref::<String>().unwrap();
    assert!(message.contains("law `linear_work` broke"), "{message}");
}

#[test]
fn the_nom_adapter_passes_where_rescanning_fails() {
    let laws = Laws::decoder(
        || NomCodec::new(Tlv).max_frame_len(2000),
        tlv_messages(),
        |_, m: Msg, dst| m.write(2000, dst),
    );
    for sizes in [&[1][..], &[2], &[7, 1], &[]] {
        laws.check_linear_work(&one_long_string(), sizes).unwrap();
    }
}

/// A framing that panics on a byte.
struct Fragile;
impl Framing for Fragile {
    fn decide(&mut self, buf: &[u8]) -> Result<crate::framing::Decision, FrameError> {
        assert!(!buf.contains(&0xee), "boom");
        FixedSize::new(1).decide(buf)
    }
    fn frame_limit(&self) -> usize {
        1
    }
    fn encode_head(&mut self, p: &[u8], dst: &mut BytesMut) -> Result<(), FrameError> {
        FixedSize::new(1).encode_head(p, dst)
    }
}

#[test]
fn a_panic() {
    let laws = Laws::frame_codec(|| FrameCodec::new(Fragile), vec(any::<u8>(), 1));
    let v = laws.check_bytes(b"ab\xee", &[1]).unwrap_err();
    assert_eq!(v.law(), Law::NoPanic);
    assert!(v.detail().contains("boom"), "{v}");
}

/// Newline framing whose fast path counts the newline as payload: the frame it finds is one
/// byte longer in its payload than the one `decide` finds.
#[derive(Clone)]
struct GreedyPayload(Delimited);
impl Framing for GreedyPayload {
    fn decide(&mut self, buf: &[u8]) -> Result<crate::framing::Decision, FrameError> {
        self.0.decide(buf)
    }
    fn decide_frame(&mut self, buf: &[u8]) -> Option<crate::framing::InPlace> {
        let found = self.0.decide_frame(buf)?;
        Some(crate::framing::InPlace {
            payload: 0..found.len,
            ..found
        })
    }
    fn frame_limit(&self) -> usize {
        self.0.frame_limit()
    }
    fn buffer_limit(&self) -> usize {
        self.0.buffer_limit()
    }
    fn encode_head(&mut self, p: &[u8], dst: &mut BytesMut) -> Result<(), FrameError> {
        self.0.encode_head(p, dst)
    }
    fn encode_tail(&mut self, dst: &mut BytesMut) -> Result<(), FrameError> {
        self.0.encode_tail(dst)
    }
}

#[test]
fn a_fast_path_that_finds_another_frame() {
    let laws = Laws::frame_codec(
        || FrameCodec::new(GreedyPayload(Delimited::newline().max_frame_len(24))),
        vec(prop::sample::select(b"ab"), 0..4),
    );
    let v = laws.check_fast_path(b"ab\n", &[]).unwrap_err();
    assert_eq!(v.law(), Law::FastPath);
    assert!(
        v.detail()
            .contains("decide_frame answered Some(Frame { len: 3, payload: 0..3 })")
            && v.detail()
                .contains("decide answers Frame { len: 3, payload: 0..2 }"),
        "{v}"
    );
    // Bytes with no newline never reach the fast path's mistake.
    assert!(laws.check_fast_path(b"abab", &[1]).is_ok());
    // The property form finds it, and so does the fuzzers' entry point.
    assert_eq!(
        laws.check_bytes(b"a\n", &[1]).unwrap_err().law(),
        Law::FastPath
    );
    let laws = std::panic::AssertUnwindSafe(laws.cases(64));
    let panic = std::panic::catch_unwind(|| laws.fast_path()).unwrap_err();
    let message = panic.downcast_ref::<String>().unwrap();
    assert!(message.contains("law `fast_path` broke"), "{message}");
    assert!(message.contains("minimal counterexample"), "{message}");
}

/// Records that alternate one byte and two bytes long; the fast path finds the right record
/// but forgets to move on to the next size, as `decide` does.
#[derive(Clone, Default)]
struct Alternating {
    short_next: bool,
}
impl Alternating {
    fn size(&self) -> usize {
        if self.short_next {
            1
        } else {
            2
        }
    }
}
impl Framing for Alternating {
    fn decide(&mut self, buf: &[u8]) -> Result<crate::framing::Decision, FrameError> {
        let size = self.size();
        if buf.len() < size {
            return Ok(crate::framing::Decision::incomplete(size - buf.len()));
        }
        self.short_next = !self.short_next;
        Ok(crate::framing::Decision::frame(size, 0..size))
    }
    fn decide_frame(&mut self, buf: &[u8]) -> Option<crate::framing::InPlace> {
        let size = self.size();
        (buf.len() >= size).then_some(crate::framing::InPlace {
            len: size,
            payload: 0..size,
        })
    }
    fn frame_limit(&self) -> usize {
        2
    }
    fn encode_head(&mut self, _: &[u8], _: &mut BytesMut) -> Result<(), FrameError> {
        Ok(())
    }
}

#[test]
fn a_fast_path_that_leaves_another_state() {
    let laws = Laws::frame_codec(|| FrameCodec::new(Alternating::default()), Just(vec![0, 0]));
    // The first record is right; the second is where the forgotten state shows.
    let v = laws.check_fast_path(b"xxy", &[]).unwrap_err();
    assert_eq!(v.law(), Law::FastPath);
    assert!(v.detail().contains("from stream byte 2"), "{v}");
    assert!(
        v.detail().contains(
            "decide_frame answered None and the decide after it answered \
             Incomplete { needed: 1 }, but decide alone answers Frame { len: 1, payload: 0..1 }"
        ),
        "{v}"
    );
    // In any chunking.
    let v = laws.check_fast_path(b"xxy", &[2, 1]).unwrap_err();
    assert!(v.detail().contains("from stream byte 2"), "{v}");
    // One record alone shows nothing: no answer depends on the state it left.
    assert!(laws.check_fast_path(b"xx", &[]).is_ok());
    // A strategy with no fast path of its own passes.
    let laws = Laws::frame_codec(|| FrameCodec::new(FixedSize::new(2)), Just(vec![0, 0]));
    assert!(laws.check_fast_path(b"xxy", &[1]).is_ok());
}

/// Newline framing that means to drop `#` comment lines but computes the comment's length as
/// zero: asked again, it would answer the same for ever.
#[derive(Clone)]
struct CommentsForever(Delimited);
impl Framing for CommentsForever {
    fn decide(&mut self, buf: &[u8]) -> Result<crate::framing::Decision, FrameError> {
        if buf.first() == Some(&b'#') {
            return Ok(crate::framing::Decision::Discard {
                len: 0,
                skipped_frame: None,
            });
        }
        self.0.decide(buf)
    }
    fn frame_limit(&self) -> usize {
        self.0.frame_limit()
    }
    fn encode_head(&mut self, payload: &[u8], dst: &mut BytesMut) -> Result<(), FrameError> {
        self.0.encode_head(payload, dst)
    }
    fn encode_tail(&mut self, dst: &mut BytesMut) -> Result<(), FrameError> {
        self.0.encode_tail(dst)
    }
}

#[test]
fn a_strategy_that_would_loop() {
    let laws = Laws::frame_codec(
        || FrameCodec::new(CommentsForever(Delimited::newline().max_frame_len(16))),
        "[a-z]{0,8}",
    );
    let v = laws
        .check_arbitrary_bytes(b"ok\n# note\nok\n", &[1])
        .unwrap_err();
    assert_eq!(v.law(), Law::Progress);
    assert!(
        v.detail().contains(
            "at stream byte 3, with 1 bytes buffered, the strategy broke the decoding contract: \
             it discarded zero bytes without reporting a skipped frame"
        ),
        "{v}"
    );
    // Any law's run catches it, whole or cut.
    let v = laws.check_chunking(b"# note\n", &[]).unwrap_err();
    assert_eq!(v.law(), Law::Progress);
    assert!(v.detail().contains("at stream byte 0"), "{v}");
    assert!(laws.check_chunking(b"ok\nno note\n", &[2]).is_ok());
}
