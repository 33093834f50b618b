//! Unit tests of the length-prefixed strategy: every layout, knob and refusal.

use super::*;
use crate::framing::{Decision, Framing, SkipReport};
use bytes::BytesMut;

fn encoded(lp: &mut LengthPrefixed, payload: &[u8]) -> Vec<u8> {
    let mut dst = BytesMut::new();
    lp.encode(payload, &mut dst).unwrap();
    dst.to_vec()
}

#[test]
fn every_fixed_width_and_order() {
    let cases: [(LengthPrefixed, &[u8]); 8] = [
        (LengthPrefixed::u8(), b"\x03"),
        (LengthPrefixed::u16_be(), b"\x00\x03"),
        (LengthPrefixed::u16_le(), b"\x03\x00"),
        (LengthPrefixed::u24_be(), b"\x00\x00\x03"),
        (LengthPrefixed::u32_be(), b"\x00\x00\x00\x03"),
        (LengthPrefixed::u32_le(), b"\x03\x00\x00\x00"),
        (LengthPrefixed::u64_be(), b"\0\0\0\0\0\0\0\x03"),
        (LengthPrefixed::u64_le(), b"\x03\0\0\0\0\0\0\0"),
    ];
    for (mut lp, header) in cases {
        let wire = encoded(&mut lp, b"abc");
        assert_eq!(&wire[..header.len()], header, "{lp:?}");
        let h = header.len();
        assert_eq!(lp.decide(&wire).unwrap(), Decision::frame(h + 3, h..h + 3));
        assert_eq!(lp.decide(&wire[..h - 1]).unwrap(), Decision::incomplete(1));
        assert_eq!(lp.decide(&wire[..h + 1]).unwrap(), Decision::incomplete(2));
    }
    let mut lp = LengthPrefixed::builder()
        .length_field(3, Endian::Little)
        .build()
        .unwrap();
    assert_eq!(encoded(&mut lp, b"x"), b"\x01\x00\x00x");
}

#[test]
fn varint_lengths() {
    let mut lp = LengthPrefixed::varint();
    assert_eq!(encoded(&mut lp, b""), b"\x00");
    assert_eq!(&encoded(&mut lp, &[0; 127])[..1], b"\x7f");
    assert_eq!(&encoded(&mut lp, &[0; 128])[..2], b"\x80\x01");
    assert_eq!(lp.decide(b"\x80").unwrap(), Decision::incomplete(1));
    assert_eq!(lp.decide(b"\x80\x01").unwrap(), Decision::incomplete(128));
    lp.reset(); // a new stream: the accepted 128-byte frame is forgotten
                // Non-minimal encodings are accepted, as protobuf does.
    assert_eq!(lp.decide(b"\x81\x00z").unwrap(), Decision::frame(3, 2..3));
}

#[test]
fn varint_overflow_is_malformed() {
    let mut lp = LengthPrefixed::varint();
    let err = lp.decide(&[0xff; 10]).unwrap_err();
    assert!(
        matches!(err, FrameError::Malformed { offset: 0, .. }),
        "{err}"
    );
    // A u64::MAX varint is too long, not malformed.
    let max = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01];
    assert!(lp.decide(&max).unwrap_err().is_too_long());
}

#[test]
fn too_long_fails_on_the_header_alone() {
    let mut lp = LengthPrefixed::u32_be().max_frame_len(10);
    let err = lp.decide(b"\x00\x00\x00\x0b").unwrap_err();
    assert!(matches!(
        err,
        FrameError::TooLong {
            len: 11,
            max: 10,
            exact: true,
            ..
        }
    ));
    assert_eq!(
        lp.decide(b"\x00\x00\x00\x0a").unwrap(),
        Decision::incomplete(10)
    );
}

#[test]
fn header_offset_keep_header_and_prefix() {
    let mut lp = LengthPrefixed::builder()
        .header_offset(2)
        .length_field(2, Endian::Big)
        .keep_header(true)
        .encode_prefix(b"TV")
        .build()
        .unwrap();
    let wire = encoded(&mut lp, b"hey");
    assert_eq!(wire, b"TV\x00\x03hey");
    assert_eq!(lp.decide(&wire).unwrap(), Decision::frame(7, 0..7));
    assert_eq!(lp.decide(b"TV").unwrap(), Decision::incomplete(2));
}

#[test]
fn includes_header_and_adjustment() {
    let mut lp = LengthPrefixed::builder()
        .length_field(2, Endian::Big)
        .length_includes_header(true)
        .build()
        .unwrap();
    assert_eq!(encoded(&mut lp, b"hello"), b"\x00\x07hello");
    assert_eq!(
        lp.decide(b"\x00\x07hello").unwrap(),
        Decision::frame(7, 2..7)
    );
    let err = lp.decide(b"\x00\x01").unwrap_err();
    assert!(err.is_malformed(), "{err}");

    let mut lp = LengthPrefixed::builder()
        .length_field(1, Endian::Big)
        .length_adjustment(-2)
        .build()
        .unwrap();
    assert_eq!(encoded(&mut lp, b"ab"), b"\x04ab");
    assert!(lp.decide(b"\x01").unwrap_err().is_malformed());

    let mut lp = LengthPrefixed::builder()
        .varint()
        .length_includes_header(true)
        .build()
        .unwrap();
    let wire = encoded(&mut lp, &[1; 127]);
    // 127 + a 2-byte varint = 129, which needs 2 bytes: consistent.
    assert_eq!(&wire[..2], [0x81, 0x01]);
    assert_eq!(lp.decide(&wire).unwrap(), Decision::frame(129, 2..129));
}

#[test]
fn encoder_refuses_what_the_field_cannot_hold() {
    let mut dst = BytesMut::new();
    assert!(LengthPrefixed::u8().encode(&[0; 256], &mut dst).is_err());
    assert!(LengthPrefixed::u8().encode(&[0; 255], &mut dst).is_ok());
    let mut small = LengthPrefixed::u32_be().max_frame_len(4);
    let err = small.encode(b"12345", &mut BytesMut::new()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "cannot encode a 5-byte payload: over the maximum frame length of 4"
    );
    let mut negative = LengthPrefixed::builder()
        .length_field(1, Endian::Big)
        .length_adjustment(10)
        .build()
        .unwrap();
    assert!(negative.encode(b"abc", &mut BytesMut::new()).is_err());
}

#[test]
fn invalid_layouts_are_refused_when_built() {
    assert!(LengthPrefixed::builder()
        .length_field(0, Endian::Big)
        .build()
        .is_err());
    assert!(LengthPrefixed::builder()
        .header_offset(1 << 20)
        .build()
        .is_err());
    assert!(LengthPrefixed::builder()
        .header_offset(2)
        .encode_prefix(b"x")
        .build()
        .is_err());
    assert!(LengthPrefixed::builder()
        .length_adjustment(i64::MIN)
        .build()
        .is_err());
}

#[test]
fn u64_max_length_is_too_long_not_a_wrap() {
    let mut lp = LengthPrefixed::u64_be();
    assert!(lp.decide(&[0xff; 8]).unwrap_err().is_too_long());
    let mut lp = LengthPrefixed::builder()
        .length_field(8, Endian::Big)
        .length_adjustment(1 << 40)
        .build()
        .unwrap();
    assert!(lp.decide(&[0xff; 8]).unwrap_err().is_too_long());
}

#[test]
fn strip_takes_exactly_n_header_bytes() {
    let layout = || {
        LengthPrefixed::builder()
            .header_offset(2)
            .encode_prefix(b"TV")
            .length_field(2, Endian::Big)
    };
    let mut lp = layout().strip(1).build().unwrap();
    assert_eq!(lp.decide(b"TV\x00\x01z").unwrap(), Decision::frame(5, 1..5));
    assert_eq!(
        lp.frame_limit(),
        u16::MAX as usize + 3,
        "the u16 field bounds the body"
    );
    let mut all = layout().strip(4).build().unwrap();
    assert_eq!(
        all.decide(b"TV\x00\x01z").unwrap(),
        Decision::frame(5, 4..5)
    );
    assert!(layout().strip(5).build().is_err(), "past the header");
    assert!(layout().strip(1).keep_header(true).build().is_err());
    let varint = || LengthPrefixed::builder().header_offset(1).varint();
    assert!(varint().strip(1).build().is_ok());
    assert!(
        varint().strip(2).build().is_err(),
        "a varint's width varies"
    );
}

#[test]
fn frame_limit_is_what_the_field_can_carry() {
    assert_eq!(LengthPrefixed::u8().max_frame_len(256).frame_limit(), 255);
    assert_eq!(LengthPrefixed::u8().max_frame_len(100).frame_limit(), 100);
    let counts_header = LengthPrefixed::builder()
        .length_field(1, Endian::Big)
        .length_includes_header(true)
        .max_frame_len(1000)
        .build()
        .unwrap();
    assert_eq!(counts_header.frame_limit(), 254);
    let adjusted = LengthPrefixed::builder()
        .length_field(1, Endian::Big)
        .length_adjustment(-2)
        .max_frame_len(1000)
        .build()
        .unwrap();
    assert_eq!(adjusted.frame_limit(), 253);
    // Every frame the limit admits can be encoded.
    for mut lp in [
        counts_header,
        adjusted,
        LengthPrefixed::u8().max_frame_len(256),
    ] {
        let limit = lp.frame_limit();
        assert!(lp.encode(&vec![0; limit], &mut BytesMut::new()).is_ok());
        assert!(lp
            .encode(&vec![0; limit + 1], &mut BytesMut::new())
            .is_err());
    }
}

#[test]
fn a_refused_encode_leaves_the_destination_as_it_was() {
    let mut lp = LengthPrefixed::builder()
        .header_offset(2)
        .encode_prefix(b"TV")
        .length_field(1, Endian::Big)
        .max_frame_len(1000)
        .build()
        .unwrap();
    let mut dst = BytesMut::from(&b"before"[..]);
    assert!(lp.encode(&[0; 300], &mut dst).is_err());
    assert_eq!(&dst[..], b"before");
}

#[test]
fn a_lowered_maximum_applies_from_the_next_frame() {
    use crate::FrameCodec;
    use tokio_util::codec::Decoder;
    let mut codec = FrameCodec::new(LengthPrefixed::u16_be().max_frame_len(1000));
    let mut buf = BytesMut::from(&b"\x00\x64"[..]); // a 100-byte body is announced
    buf.extend_from_slice(&[b'x'; 50]);
    assert!(codec.decode(&mut buf).unwrap().is_none());
    let tighter = codec.framing().clone().max_frame_len(10);
    *codec.framing_mut() = tighter;
    buf.extend_from_slice(&[b'x'; 50]);
    assert_eq!(codec.decode(&mut buf).unwrap().unwrap().len(), 100);
    buf.extend_from_slice(b"\x00\x0b");
    assert!(
        codec.decode(&mut buf).unwrap_err().is_too_long(),
        "11 > the new 10"
    );
}

/// Decodes `wire` cut into `size`-byte pieces; returns frames and `Skipped` reports in order,
/// and the most the buffer ever held after a call.
fn decode_in_pieces(lp: LengthPrefixed, wire: &[u8], size: usize) -> (Vec<String>, usize) {
    use crate::FrameCodec;
    use tokio_util::codec::Decoder;
    let mut codec = FrameCodec::new(lp);
    let mut buf = BytesMut::new();
    let mut seen = Vec::new();
    let mut held = 0;
    let record = |r: Result<Option<bytes::Bytes>, FrameError>, seen: &mut Vec<String>| match r {
        Ok(Some(frame)) => {
            seen.push(String::from_utf8_lossy(&frame).into_owned());
            true
        }
        Ok(None) => false,
        Err(FrameError::Skipped {
            len, max, offset, ..
        }) => {
            seen.push(format!("skipped {len} (max {max}) at {offset}"));
            true
        }
        Err(e) => panic!("{e}"),
    };
    for piece in wire.chunks(size) {
        buf.extend_from_slice(piece);
        while record(codec.decode(&mut buf), &mut seen) {}
        held = held.max(buf.len());
    }
    while record(codec.decode_eof(&mut buf), &mut seen) {}
    (seen, held)
}

fn skipping(policy: Overlong) -> LengthPrefixed {
    LengthPrefixed::builder()
        .length_field(2, Endian::Big)
        .max_frame_len(4)
        .on_overlong(policy)
        .build()
        .unwrap()
}

/// `ok`, a 600-byte frame over the maximum of 4, then `fine`.
fn wire_with_an_overlong_frame() -> Vec<u8> {
    let mut wire = b"\x00\x02ok".to_vec();
    wire.extend_from_slice(&600u16.to_be_bytes());
    wire.extend_from_slice(&[b'x'; 600]);
    wire.extend_from_slice(b"\x00\x04fine");
    wire
}

#[test]
fn discard_skips_by_the_declared_length_and_reports_after_the_skip() {
    let wire = wire_with_an_overlong_frame();
    for size in [1, 2, 3, 7, 64, 1000] {
        let (seen, held) = decode_in_pieces(skipping(Overlong::Discard), &wire, size);
        assert_eq!(
            seen,
            ["ok", "skipped 602 (max 4) at 4", "fine"],
            "pieces of {size}"
        );
        // Memory stays bounded while skipping: the skipped body is never buffered.
        assert!(held < size.max(8), "held {held} in pieces of {size}");
    }
}

#[test]
fn fail_fast_reports_on_the_header_alone() {
    let mut lp = skipping(Overlong::DiscardFailFast);
    // The header alone: reported at once, with what it declares.
    assert_eq!(
        lp.decide(b"\x02\x58").unwrap(),
        Decision::Discard {
            len: 2,
            skipped_frame: Some(SkipReport::new(602, 0, 4))
        }
    );
    // The body is dropped as it arrives, silently.
    assert_eq!(
        lp.decide(&[b'x'; 100]).unwrap(),
        Decision::Discard {
            len: 100,
            skipped_frame: None
        }
    );
    let mut rest = vec![b'x'; 500];
    rest.extend_from_slice(b"\x00\x01z");
    assert_eq!(
        lp.decide(&rest).unwrap(),
        Decision::Discard {
            len: 500,
            skipped_frame: None
        }
    );
    assert_eq!(lp.decide(b"\x00\x01z").unwrap(), Decision::frame(3, 2..3));
    let wire = wire_with_an_overlong_frame();
    for size in [1, 2, 5, 600, 1000] {
        let (seen, _) = decode_in_pieces(skipping(Overlong::DiscardFailFast), &wire, size);
        assert_eq!(seen, ["ok", "skipped 602 (max 4) at 4", "fine"]);
    }
}

#[test]
fn after_skip_the_report_comes_with_the_last_piece() {
    let mut lp = skipping(Overlong::Discard);
    assert_eq!(
        lp.decide(b"\x00\x06abc").unwrap(),
        Decision::Discard {
            len: 5,
            skipped_frame: None
        }
    );
    assert_eq!(lp.decide(b"").unwrap(), Decision::incomplete(1));
    assert_eq!(
        lp.decide(b"def\x00").unwrap(),
        Decision::Discard {
            len: 3,
            skipped_frame: Some(SkipReport::new(8, 5, 4))
        }
    );
}

#[test]
fn a_stream_ending_inside_a_skipped_frame_still_reports_it_once() {
    let mut wire = b"\x00\x02ok".to_vec();
    wire.extend_from_slice(b"\x01\x00abc"); // 256 bytes declared, 3 arrive
    for (policy, size) in [(Overlong::Discard, 1), (Overlong::Discard, 100)] {
        let (seen, _) = decode_in_pieces(skipping(policy), &wire, size);
        assert_eq!(seen, ["ok", "skipped 258 (max 4) at 4"]);
    }
    let (seen, _) = decode_in_pieces(skipping(Overlong::DiscardFailFast), &wire, 1);
    assert_eq!(seen, ["ok", "skipped 258 (max 4) at 4"]);
}

#[test]
fn discard_keeps_malformed_lengths_fatal_and_resets() {
    let mut lp = LengthPrefixed::builder()
        .length_field(1, Endian::Big)
        .length_adjustment(-2)
        .max_frame_len(4)
        .on_overlong(Overlong::Discard)
        .build()
        .unwrap();
    // A negative body has no length to skip by.
    assert!(lp.decide(b"\x01").unwrap_err().is_malformed());
    // A huge declared length is skipped (forever, as it says), never buffered.
    let mut huge = LengthPrefixed::builder()
        .length_field(8, Endian::Big)
        .max_frame_len(4)
        .on_overlong(Overlong::Discard)
        .build()
        .unwrap();
    assert!(matches!(
        huge.decide(&[0xff; 12]).unwrap(),
        Decision::Discard {
            len: 12,
            skipped_frame: None
        }
    ));
    huge.reset();
    assert_eq!(
        huge.decide(b"\0\0\0\0\0\0\0\x01z").unwrap(),
        Decision::frame(9, 8..9)
    );
}
