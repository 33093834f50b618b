//! `FrameCodec`'s unit tests: the read-buffer decisions it owns and in-place decoding.

use super::*;
use crate::framing::delimited::{Delimited, Overlong, Trailing};
use crate::framing::length_prefixed::LengthPrefixed;
use crate::payload::Utf8;

/// Counts how often the strategy is asked, to check the codec honours `needed`.
struct Counting<F> {
    inner: F,
    calls: usize,
}

impl<F: Framing> Framing for Counting<F> {
    fn decide(&mut self, buf: &[u8]) -> Result<Decision, FrameError> {
        self.calls += 1;
        self.inner.decide(buf)
    }
    fn frame_limit(&self) -> usize {
        self.inner.frame_limit()
    }
    fn encode_head(&mut self, payload: &[u8], dst: &mut BytesMut) -> Result<(), FrameError> {
        self.inner.encode_head(payload, dst)
    }
}

#[test]
fn a_declared_length_does_not_reserve_memory() {
    let mut codec = FrameCodec::new(LengthPrefixed::u32_be());
    let mut buf = BytesMut::new();
    buf.extend_from_slice(&(8u32 << 20).to_be_bytes());
    assert!(codec.decode(&mut buf).unwrap().is_none());
    assert!(
        buf.capacity() <= 2 * MIN_RESERVE,
        "reserved {} bytes for a 4-byte header",
        buf.capacity()
    );
}

#[test]
fn the_strategy_is_not_asked_again_before_the_needed_bytes_arrive() {
    let framing = Counting {
        inner: LengthPrefixed::u16_be(),
        calls: 0,
    };
    let mut codec = FrameCodec::new(framing);
    let mut buf = BytesMut::from(&b"\x03\xe8"[..]); // a 1000-byte body is coming
    assert!(codec.decode(&mut buf).unwrap().is_none());
    for _ in 0..999 {
        buf.extend_from_slice(b"x");
        assert!(codec.decode(&mut buf).unwrap().is_none());
    }
    assert_eq!(codec.framing().calls, 1, "999 partial reads, no re-parse");
    buf.extend_from_slice(b"x");
    assert_eq!(codec.decode(&mut buf).unwrap().unwrap().len(), 1000);
    assert_eq!(codec.framing().calls, 2);
}

#[test]
fn the_buffer_shrinks_after_a_large_frame() {
    let mut codec = FrameCodec::new(LengthPrefixed::u32_be());
    let mut buf = BytesMut::new();
    codec.encode(vec![7u8; 1 << 20], &mut buf).unwrap();
    buf.extend_from_slice(b"\0\0\0\x01z");
    let big = codec.decode(&mut buf).unwrap().unwrap();
    assert_eq!(big.len(), 1 << 20);
    assert!(
        buf.capacity() <= SHRINK_ABOVE,
        "kept {} bytes",
        buf.capacity()
    );
    assert_eq!(codec.decode(&mut buf).unwrap().unwrap(), "z");
}

#[test]
fn frames_are_zero_copy_slices_of_the_read_buffer() {
    let mut codec = FrameCodec::new(Delimited::newline());
    let mut buf = BytesMut::from(&b"abc\r\ndef\n"[..]);
    let base = buf.as_ptr() as usize;
    let first = codec.decode(&mut buf).unwrap().unwrap();
    let second = codec.decode(&mut buf).unwrap().unwrap();
    assert_eq!(
        (first.as_ptr() as usize - base, &first[..]),
        (0, &b"abc"[..])
    );
    assert_eq!(
        (second.as_ptr() as usize - base, &second[..]),
        (5, &b"def"[..])
    );
}

#[test]
fn a_discarded_overlong_line_is_reported_once_and_decoding_goes_on() {
    let framing = Delimited::newline()
        .max_frame_len(4)
        .on_overlong(Overlong::Discard);
    let mut codec = FrameCodec::new(framing);
    let mut buf = BytesMut::from(&b"ok\nwaytoolong"[..]);
    assert_eq!(codec.decode(&mut buf).unwrap().unwrap(), "ok");
    assert!(
        codec.decode(&mut buf).unwrap().is_none(),
        "skipping, no report yet"
    );
    assert!(buf.len() < 4, "skipped bytes are not kept");
    buf.extend_from_slice(b"line\nnext\n");
    let err = codec.decode(&mut buf).unwrap_err();
    assert!(
        matches!(
            err,
            FrameError::Skipped {
                len: 15,
                max: 4,
                offset: 3,
                reason: None
            }
        ),
        "{err:?}"
    );
    assert_eq!(codec.decode(&mut buf).unwrap().unwrap(), "next");
}

#[test]
fn a_bad_payload_costs_only_its_frame() {
    let mut codec = FrameCodec::with_payload(Delimited::newline(), Utf8);
    let mut buf = BytesMut::from(&b"fine\n\xff\xfe\nalso fine\n"[..]);
    assert_eq!(codec.decode(&mut buf).unwrap().unwrap(), "fine");
    let err = codec.decode(&mut buf).unwrap_err();
    assert!(
        matches!(err, FrameError::Payload { offset: 5, .. }),
        "{err}"
    );
    assert_eq!(codec.decode(&mut buf).unwrap().unwrap(), "also fine");
}

#[test]
fn errors_carry_stream_offsets() {
    let mut codec = FrameCodec::new(Delimited::crlf());
    let mut buf = BytesMut::from(&b"one\r\ntwo\r\n"[..]);
    codec.decode(&mut buf).unwrap();
    codec.decode(&mut buf).unwrap();
    buf.extend_from_slice(b"bad\n");
    let err = codec.decode(&mut buf).unwrap_err();
    assert!(
        matches!(err, FrameError::Malformed { offset: 13, .. }),
        "{err}"
    );
    assert_eq!(codec.bytes_consumed(), 10);
}

#[test]
fn eof_delivers_or_rejects_the_tail_as_configured() {
    let mut strict = FrameCodec::new(Delimited::newline());
    let mut buf = BytesMut::from(&b"a\nb"[..]);
    assert_eq!(strict.decode_eof(&mut buf).unwrap().unwrap(), "a");
    assert!(matches!(
        strict.decode_eof(&mut buf).unwrap_err(),
        FrameError::UnexpectedEof { buffered: 1 }
    ));
    let mut lenient = FrameCodec::new(Delimited::newline().on_trailing(Trailing::Deliver));
    let mut buf = BytesMut::from(&b"a\nb"[..]);
    assert_eq!(lenient.decode_eof(&mut buf).unwrap().unwrap(), "a");
    assert_eq!(lenient.decode_eof(&mut buf).unwrap().unwrap(), "b");
    assert_eq!(lenient.decode_eof(&mut buf).unwrap(), None);
}

#[test]
fn encoding_refuses_unframeable_payloads_with_a_typed_error() {
    let mut codec = FrameCodec::new(Delimited::newline());
    let mut dst = BytesMut::new();
    let err = codec.encode(&b"two\nlines"[..], &mut dst).unwrap_err();
    assert!(
        matches!(err, FrameError::Unencodable { len: 9, .. }),
        "{err}"
    );
    assert!(dst.is_empty());
}

/// Every frame (or error) of `input` fed in `chunk`-byte reads, decoded by cutting frames
/// out (`in_place` false) or by reading them where they lie.
fn frames_of<F: Framing + Clone>(
    framing: &F,
    input: &[u8],
    chunk: usize,
    in_place: bool,
) -> Vec<Result<Vec<u8>, String>> {
    let mut codec = FrameCodec::new(framing.clone());
    let mut buf = BytesMut::new();
    let mut got = Vec::new();
    let pieces: Vec<&[u8]> = input.chunks(chunk.max(1)).collect();
    for (i, piece) in pieces.iter().enumerate() {
        buf.extend_from_slice(piece);
        let eof = i + 1 == pieces.len();
        loop {
            let next = if in_place {
                codec.decode_in_place(&mut buf, eof).map(|found| {
                    found.map(|frame| {
                        let payload = buf[frame.payload].to_vec();
                        buf.advance(frame.len);
                        payload
                    })
                })
            } else if eof {
                codec.decode_eof(&mut buf).map(|f| f.map(|b| b.to_vec()))
            } else {
                codec.decode(&mut buf).map(|f| f.map(|b| b.to_vec()))
            };
            match next {
                Ok(Some(frame)) => got.push(Ok(frame)),
                Ok(None) => break,
                Err(e) => {
                    got.push(Err(e.to_string()));
                    if !e.is_recoverable() {
                        return got;
                    }
                }
            }
        }
    }
    got
}

proptest::proptest! {
    #[test]
    fn in_place_decoding_finds_the_frames_and_errors_that_cutting_does(
        input in proptest::collection::vec(proptest::sample::select(b"ab\n\0\x03".to_vec()), 0..64),
        chunk in 1usize..9,
    ) {
        let lines = Delimited::newline().max_frame_len(4).on_overlong(Overlong::Discard);
        let strict = Delimited::newline().max_frame_len(4);
        let prefixed = LengthPrefixed::u8().max_frame_len(2);
        proptest::prop_assert_eq!(frames_of(&lines, &input, chunk, true), frames_of(&lines, &input, chunk, false));
        proptest::prop_assert_eq!(frames_of(&strict, &input, chunk, true), frames_of(&strict, &input, chunk, false));
        proptest::prop_assert_eq!(frames_of(&prefixed, &input, chunk, true), frames_of(&prefixed, &input, chunk, false));
    }
}

#[test]
fn a_skipped_frame_reports_the_configured_maximum_not_the_frame_limit() {
    // Payloads that keep their delimiter or header have a larger frame limit (18 and 16 here),
    // but the maximum the user set, and the frame broke, is 16 and 12.
    let lines = Delimited::crlf()
        .max_frame_len(16)
        .keep_delimiter(true)
        .on_overlong(Overlong::Discard);
    assert_eq!(lines.frame_limit(), 18);
    let mut codec = FrameCodec::new(lines);
    let mut buf = BytesMut::from(&b"0123456789abcdefXY\r\nok\r\n"[..]);
    assert!(matches!(
        codec.decode(&mut buf),
        Err(FrameError::Skipped {
            len: 20,
            max: 16,
            offset: 0,
            reason: None
        })
    ));
    assert_eq!(codec.decode(&mut buf).unwrap().unwrap(), "ok\r\n");

    let prefixed = LengthPrefixed::builder()
        .length_field(4, crate::framing::length_prefixed::Endian::Big)
        .keep_header(true)
        .max_frame_len(12)
        .on_overlong(Overlong::DiscardFailFast)
        .build()
        .unwrap();
    assert_eq!(prefixed.frame_limit(), 16);
    let mut codec = FrameCodec::new(prefixed);
    let mut buf = BytesMut::from(&b"\0\0\0\x0d0123456789abc"[..]);
    assert!(matches!(
        codec.decode(&mut buf),
        Err(FrameError::Skipped {
            len: 17,
            max: 12,
            offset: 0,
            reason: None
        })
    ));
}
