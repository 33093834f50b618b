//! Properties the generic laws do not state: a payload error keeps the stream in sync, and a
//! refused encode writes nothing.

use bytes::BytesMut;
use proptest::collection::vec;
use proptest::prelude::*;
use tokio_util::codec::{Decoder, Encoder};

use super::{CASES, LINE_BYTES};
use crate::framing::delimited::Delimited;
use crate::framing::length_prefixed::LengthPrefixed;
use crate::framing::Framing;
use crate::payload::Utf8;
use crate::{FrameCodec, FrameError};

/// A frame to send for the UTF-8 sync property: text, or bytes that are not UTF-8.
#[derive(Debug, Clone)]
enum Utf8Frame {
    Valid(String),
    Invalid(Vec<u8>),
}

const INVALID_UTF8_ENDS: &[&[u8]] = &[b"\xff", b"\x80", b"a\xc3"];

fn utf8_frames() -> impl Strategy<Value = Utf8Frame> {
    prop_oneof![
        "[a-zé€]{0,8}".prop_map(Utf8Frame::Valid),
        // 0xff never occurs in UTF-8; a lone continuation byte or a cut-off lead byte neither.
        (
            vec(any::<u8>(), 0..8),
            prop::sample::select(INVALID_UTF8_ENDS)
        )
            .prop_map(|(mut b, bad)| {
                b.insert(0, 0xff);
                b.extend_from_slice(bad);
                Utf8Frame::Invalid(b)
            }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(CASES))]

    /// An invalid UTF-8 frame is a payload error for that frame only: every frame after it
    /// still decodes, in any chunking.
    #[test]
    fn invalid_utf8_is_an_error_but_framing_stays_in_sync(
        frames in vec(utf8_frames(), 0..8),
        sizes in vec(1usize..=7, 1..4),
        length_prefixed in any::<bool>(),
    ) {
        let mut wire = BytesMut::new();
        for f in &frames {
            let payload = match f {
                Utf8Frame::Valid(s) => s.as_bytes().to_vec(),
                Utf8Frame::Invalid(b) => b.iter().map(|&x| if x == b'\n' { b'x' } else { x }).collect(),
            };
            match length_prefixed {
                true => LengthPrefixed::u16_be().encode(&payload, &mut wire).unwrap(),
                false => Delimited::byte(b'\n').encode(&payload, &mut wire).unwrap(),
            }
        }
        let mut lp = FrameCodec::with_payload(LengthPrefixed::u16_be(), Utf8);
        let mut nl = FrameCodec::with_payload(Delimited::byte(b'\n'), Utf8);
        let mut decode = |buf: &mut BytesMut, eof: bool| match (length_prefixed, eof) {
            (true, false) => lp.decode(buf),
            (true, true) => lp.decode_eof(buf),
            (false, false) => nl.decode(buf),
            (false, true) => nl.decode_eof(buf),
        };
        let mut buf = BytesMut::new();
        let mut got = Vec::new();
        for chunk in crate::testing::chunks(&wire, &sizes) {
            buf.extend_from_slice(chunk);
            loop {
                match decode(&mut buf, false) {
                    Ok(Some(text)) => got.push(Ok(text)),
                    Ok(None) => break,
                    Err(e) => got.push(Err(e)),
                }
            }
        }
        prop_assert!(matches!(decode(&mut buf, true), Ok(None)));
        prop_assert_eq!(got.len(), frames.len());
        for (sent, got) in frames.iter().zip(&got) {
            match (sent, got) {
                (Utf8Frame::Valid(s), Ok(text)) => prop_assert_eq!(text, s.as_str()),
                (Utf8Frame::Invalid(_), Err(FrameError::Payload { .. })) => {}
                (sent, got) => prop_assert!(false, "sent {:?}, got {:?}", sent, got),
            }
        }
    }

    /// The encoder refuses what the decoder could not give back, and a refusal writes nothing.
    #[test]
    fn refused_payloads_leave_the_output_untouched(
        payload in vec(prop::sample::select(LINE_BYTES), 0..40),
    ) {
        let framings = [
            Delimited::newline(),
            Delimited::crlf(),
            Delimited::sequence(b"\r\n\r\n"),
            Delimited::any_of([&b"\n"[..], b"\r\n"]),
            Delimited::any_of([&b"ab"[..], b"bab", b"ba"]),
        ];
        for mut framing in framings.map(|d| d.max_frame_len(24)) {
            let mut dst = BytesMut::from(&b"before"[..]);
            if framing.encode(&payload, &mut dst).is_err() {
                prop_assert_eq!(&dst[..], b"before");
            }
        }
        let mut codec = FrameCodec::new(LengthPrefixed::u8().max_frame_len(200));
        let mut dst = BytesMut::new();
        if codec.encode(&payload[..], &mut dst).is_err() {
            prop_assert!(dst.is_empty());
        }
    }
}
