//! Every built-in strategy, knob and payload codec held to the framing laws through the kit.
//!
//! Each `laws!` block below is one configuration; it expands to one test per law, so a failure
//! names both: `testing::builtin::strict_crlf::chunking_does_not_change_frames`. Limits are kept
//! small so the max-length and buffering laws are exercised, not just stated.

use bytes::{Bytes, BytesMut};
use proptest::collection::vec;
use proptest::prelude::*;
use tokio_util::codec::{Decoder, Encoder};

use super::{Laws, Limits};
use crate::framing::delimited::{Delimited, Overlong, Trailing};
use crate::framing::fixed::FixedSize;
use crate::framing::length_prefixed::{Endian, LengthPrefixed};
use crate::framing::Framing;
use crate::payload::{fn_codec, PayloadError, Text, Utf8};
use crate::{FrameCodec, FrameError};

/// Cases per law and configuration, as issue 2 asks.
const CASES: u32 = 1000;

/// One test per law for one configuration. `$laws` builds the [`Laws`]; it is evaluated once
/// per test.
macro_rules! laws {
    ($name:ident, $laws:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[test]
            fn round_trip_gives_back_every_message() {
                ($laws).cases(CASES).round_trip();
            }

            #[test]
            fn chunking_does_not_change_frames() {
                ($laws).cases(CASES).chunking();
            }

            #[test]
            fn arbitrary_bytes_never_panic_nor_overbuffer() {
                ($laws).cases(CASES).arbitrary_bytes();
            }

            #[test]
            fn no_frame_exceeds_the_max_length() {
                ($laws).cases(CASES).max_length();
            }

            #[test]
            fn eof_is_clean_or_the_documented_error() {
                ($laws).cases(CASES).eof();
            }

            #[test]
            fn work_is_linear_in_every_chunking() {
                ($laws).cases(CASES).linear_work();
            }
        }
    };
}

/// Messages of up to `max` bytes drawn from `alphabet` (a few bytes that matter to the framing
/// make delimiters and near-misses common), kept only if `framing` can encode them.
fn messages<F: Framing + 'static>(
    alphabet: &'static [u8],
    max: usize,
    framing: impl Fn() -> F + 'static,
) -> impl Strategy<Value = Vec<u8>> {
    vec(prop::sample::select(alphabet), 0..=max).prop_filter("encodable", move |m| {
        framing().encode(m, &mut BytesMut::new()).is_ok()
    })
}

/// Any bytes of up to `max`, kept only if `framing` can encode them.
fn any_messages<F: Framing + 'static>(
    max: usize,
    framing: impl Fn() -> F + 'static,
) -> impl Strategy<Value = Vec<u8>> {
    vec(any::<u8>(), 0..=max).prop_filter("encodable", move |m| {
        framing().encode(m, &mut BytesMut::new()).is_ok()
    })
}

const LINE_BYTES: &[u8] = b"ab \r\n\0\xff";

// ---- Delimited ----------------------------------------------------------------------------

fn newline() -> Delimited {
    Delimited::newline().max_frame_len(24)
}
laws!(
    newline_lenient,
    Laws::frame_codec(
        || FrameCodec::new(newline()),
        messages(LINE_BYTES, 24, newline)
    )
);

fn newline_keeping_cr() -> Delimited {
    Delimited::newline().strip_cr(false).max_frame_len(24)
}
laws!(
    newline_keeping_cr,
    Laws::frame_codec(
        || FrameCodec::new(newline_keeping_cr()),
        messages(LINE_BYTES, 24, newline_keeping_cr)
    )
);

fn strict_crlf() -> Delimited {
    Delimited::crlf().max_frame_len(24)
}
laws!(
    strict_crlf,
    Laws::frame_codec(
        || FrameCodec::new(strict_crlf()),
        messages(LINE_BYTES, 24, strict_crlf)
    )
);

fn nul() -> Delimited {
    Delimited::byte(0).max_frame_len(24)
}
laws!(
    byte_delimiter,
    Laws::frame_codec(|| FrameCodec::new(nul()), messages(LINE_BYTES, 24, nul))
);

fn blank_line() -> Delimited {
    Delimited::sequence(b"\r\n\r\n").max_frame_len(24)
}
laws!(
    sequence_delimiter,
    Laws::frame_codec(
        || FrameCodec::new(blank_line()),
        messages(LINE_BYTES, 24, blank_line)
    )
);

fn lf_or_crlf() -> Delimited {
    Delimited::any_of([&b"\n"[..], b"\r\n"]).max_frame_len(24)
}
laws!(
    any_of_lf_or_crlf,
    Laws::frame_codec(
        || FrameCodec::new(lf_or_crlf()),
        messages(LINE_BYTES, 24, lf_or_crlf)
    )
);

/// Delimiters that overlap each other: one is inside another, and one can start inside another.
fn overlapping() -> Delimited {
    Delimited::any_of([&b"ab"[..], b"bab", b"ba"]).max_frame_len(24)
}
laws!(
    any_of_overlapping,
    Laws::frame_codec(
        || FrameCodec::new(overlapping()),
        messages(b"abx", 24, overlapping)
    )
);

fn discarding() -> Delimited {
    Delimited::newline()
        .max_frame_len(12)
        .on_overlong(Overlong::Discard)
}
laws!(
    newline_discarding_overlong,
    Laws::frame_codec(
        || FrameCodec::new(discarding()),
        messages(LINE_BYTES, 12, discarding)
    )
);

fn discarding_crlf() -> Delimited {
    Delimited::crlf()
        .max_frame_len(12)
        .on_overlong(Overlong::Discard)
}
laws!(
    strict_crlf_discarding_overlong,
    Laws::frame_codec(
        || FrameCodec::new(discarding_crlf()),
        messages(LINE_BYTES, 12, discarding_crlf)
    )
);

fn delivering() -> Delimited {
    Delimited::newline()
        .max_frame_len(24)
        .on_trailing(Trailing::Deliver)
}
laws!(
    newline_delivering_trailing,
    Laws::frame_codec(
        || FrameCodec::new(delivering()),
        messages(LINE_BYTES, 24, delivering)
    )
    .partial_frame_delivered()
);

fn failing_fast() -> Delimited {
    Delimited::newline()
        .max_frame_len(12)
        .on_overlong(Overlong::DiscardFailFast)
}
laws!(
    newline_discarding_overlong_fail_fast,
    Laws::frame_codec(
        || FrameCodec::new(failing_fast()),
        messages(LINE_BYTES, 12, failing_fast)
    )
);

fn sequence_failing_fast() -> Delimited {
    Delimited::sequence(b"\r\n\r\n")
        .max_frame_len(12)
        .on_overlong(Overlong::DiscardFailFast)
}
laws!(
    sequence_discarding_overlong_fail_fast,
    Laws::frame_codec(
        || FrameCodec::new(sequence_failing_fast()),
        messages(LINE_BYTES, 12, sequence_failing_fast)
    )
);

/// Payloads keep their CRLF; messages are sent with it.
fn keeping_crlf() -> Delimited {
    Delimited::crlf().keep_delimiter(true).max_frame_len(24)
}
laws!(
    crlf_keeping_the_delimiter,
    Laws::frame_codec(
        || FrameCodec::new(keeping_crlf()),
        vec(prop::sample::select(&b"ab \0\xff"[..]), 0..=24).prop_map(|mut m| {
            m.extend_from_slice(b"\r\n");
            m
        })
    )
);

fn lf_or_crlf_writing_crlf() -> Delimited {
    Delimited::any_of([&b"\n"[..], b"\r\n"])
        .encode_with(b"\r\n")
        .max_frame_len(24)
}
laws!(
    any_of_with_a_chosen_encode_delimiter,
    Laws::frame_codec(
        || FrameCodec::new(lf_or_crlf_writing_crlf()),
        messages(LINE_BYTES, 24, lf_or_crlf_writing_crlf)
    )
);

fn delivering_without_cr() -> Delimited {
    Delimited::newline()
        .max_frame_len(24)
        .on_trailing(Trailing::DeliverWithoutCr)
}
laws!(
    newline_delivering_trailing_without_cr,
    Laws::frame_codec(
        || FrameCodec::new(delivering_without_cr()),
        messages(LINE_BYTES, 24, delivering_without_cr)
    )
    .partial_frame_delivered()
);

// ---- LengthPrefixed -----------------------------------------------------------------------

fn u8_len() -> LengthPrefixed {
    LengthPrefixed::u8().max_frame_len(200)
}
laws!(
    u8_length,
    Laws::frame_codec(|| FrameCodec::new(u8_len()), any_messages(260, u8_len))
);

fn u16_be() -> LengthPrefixed {
    LengthPrefixed::u16_be().max_frame_len(300)
}
laws!(
    u16_be_length,
    Laws::frame_codec(|| FrameCodec::new(u16_be()), any_messages(300, u16_be))
);

fn u16_le() -> LengthPrefixed {
    LengthPrefixed::u16_le().max_frame_len(300)
}
laws!(
    u16_le_length,
    Laws::frame_codec(|| FrameCodec::new(u16_le()), any_messages(300, u16_le))
);

fn u24_be() -> LengthPrefixed {
    LengthPrefixed::u24_be().max_frame_len(300)
}
laws!(
    u24_be_length,
    Laws::frame_codec(|| FrameCodec::new(u24_be()), any_messages(300, u24_be))
);

fn u24_le() -> LengthPrefixed {
    LengthPrefixed::builder()
        .length_field(3, Endian::Little)
        .max_frame_len(300)
        .build()
        .unwrap()
}
laws!(
    u24_le_length,
    Laws::frame_codec(|| FrameCodec::new(u24_le()), any_messages(300, u24_le))
);

fn u32_be() -> LengthPrefixed {
    LengthPrefixed::u32_be().max_frame_len(300)
}
laws!(
    u32_be_length,
    Laws::frame_codec(|| FrameCodec::new(u32_be()), any_messages(300, u32_be))
);

fn u32_le() -> LengthPrefixed {
    LengthPrefixed::u32_le().max_frame_len(300)
}
laws!(
    u32_le_length,
    Laws::frame_codec(|| FrameCodec::new(u32_le()), any_messages(300, u32_le))
);

fn u64_be() -> LengthPrefixed {
    LengthPrefixed::u64_be().max_frame_len(300)
}
laws!(
    u64_be_length,
    Laws::frame_codec(|| FrameCodec::new(u64_be()), any_messages(300, u64_be))
);

fn u64_le() -> LengthPrefixed {
    LengthPrefixed::u64_le().max_frame_len(300)
}
laws!(
    u64_le_length,
    Laws::frame_codec(|| FrameCodec::new(u64_le()), any_messages(300, u64_le))
);

fn varint() -> LengthPrefixed {
    LengthPrefixed::varint().max_frame_len(300)
}
laws!(
    varint_length,
    Laws::frame_codec(|| FrameCodec::new(varint()), any_messages(300, varint))
);

/// A type byte and a version byte before a u16 length that counts the whole 4-byte header.
fn offset_including_header() -> LengthPrefixed {
    LengthPrefixed::builder()
        .header_offset(2)
        .encode_prefix(b"TV")
        .length_field(2, Endian::Big)
        .length_includes_header(true)
        .max_frame_len(100)
        .build()
        .unwrap()
}
laws!(
    header_offset_and_length_including_header,
    Laws::frame_codec(
        || FrameCodec::new(offset_including_header()),
        any_messages(100, offset_including_header)
    )
);

/// A u8 field that counts two bytes more than the body (a trailer the body does not have).
fn adjusted_down() -> LengthPrefixed {
    LengthPrefixed::builder()
        .length_field(1, Endian::Big)
        .length_adjustment(-2)
        .max_frame_len(100)
        .build()
        .unwrap()
}
laws!(
    negative_length_adjustment,
    Laws::frame_codec(
        || FrameCodec::new(adjusted_down()),
        any_messages(100, adjusted_down)
    )
);

/// A u8 field three less than the body: bodies under three bytes cannot be sent.
fn adjusted_up() -> LengthPrefixed {
    LengthPrefixed::builder()
        .length_field(1, Endian::Big)
        .length_adjustment(3)
        .max_frame_len(100)
        .build()
        .unwrap()
}
laws!(
    positive_length_adjustment,
    Laws::frame_codec(
        || FrameCodec::new(adjusted_up()),
        any_messages(100, adjusted_up)
    )
);

fn varint_including_header() -> LengthPrefixed {
    LengthPrefixed::builder()
        .header_offset(1)
        .varint()
        .length_includes_header(true)
        .max_frame_len(300)
        .build()
        .unwrap()
}
laws!(
    varint_including_header,
    Laws::frame_codec(
        || FrameCodec::new(varint_including_header()),
        any_messages(300, varint_including_header)
    )
);

/// `keep_header(true)`: payloads come out with their 3-byte header; a closure codec checks and
/// strips it, so the round trip compares bodies.
fn keeping_header() -> LengthPrefixed {
    LengthPrefixed::builder()
        .header_offset(1)
        .encode_prefix(b"K")
        .length_field(2, Endian::Little)
        .keep_header(true)
        .max_frame_len(100)
        .build()
        .unwrap()
}

fn strip_kept_header(payload: Bytes) -> Result<Bytes, PayloadError> {
    match payload.get(..3) {
        Some([b'K', lo, hi]) if u16::from_le_bytes([*lo, *hi]) as usize == payload.len() - 3 => {
            Ok(payload.slice(3..))
        }
        _ => Err(format!("bad kept header in {payload:?}").into()),
    }
}

fn write_body(body: Vec<u8>, dst: &mut BytesMut) -> Result<(), PayloadError> {
    dst.extend_from_slice(&body);
    Ok(())
}

// With `keep_header(true)` a payload is the 3-byte header plus a body of up to
// `max_frame_len`: one frame can be 3 bytes over `frame_limit()`, so the limits are stated.
laws!(
    keep_header_through_fn_codec,
    Laws::frame_codec(
        || FrameCodec::with_payload(keeping_header(), fn_codec(strip_kept_header, write_body)),
        any_messages(100, keeping_header)
    )
    .limits(Limits::new(100 + 3, keeping_header().buffer_limit()))
);

/// `strip(1)` of a 3-byte header: payloads keep the u16 length; a closure codec checks it.
fn stripping_one() -> LengthPrefixed {
    LengthPrefixed::builder()
        .header_offset(1)
        .encode_prefix(b"K")
        .length_field(2, Endian::Big)
        .strip(1)
        .max_frame_len(100)
        .build()
        .unwrap()
}

fn strip_kept_length(payload: Bytes) -> Result<Bytes, PayloadError> {
    match payload.get(..2) {
        Some([hi, lo]) if u16::from_be_bytes([*hi, *lo]) as usize == payload.len() - 2 => {
            Ok(payload.slice(2..))
        }
        _ => Err(format!("bad kept length in {payload:?}").into()),
    }
}

laws!(
    strip_part_of_the_header,
    Laws::frame_codec(
        || FrameCodec::with_payload(stripping_one(), fn_codec(strip_kept_length, write_body)),
        any_messages(100, stripping_one)
    )
);

// ---- FixedSize ----------------------------------------------------------------------------

laws!(
    fixed_size_records,
    Laws::frame_codec(|| FrameCodec::new(FixedSize::new(8)), vec(any::<u8>(), 8))
);

laws!(
    fixed_size_single_bytes,
    Laws::frame_codec(|| FrameCodec::new(FixedSize::new(1)), vec(any::<u8>(), 1))
);

// ---- NomCodec: a small tag-length-value protocol -------------------------------------------

use super::tlv::{Msg, Tlv};
use crate::framing::nom::NomCodec;

const TLV_MAX: usize = 48;

fn tlv_messages() -> impl Strategy<Value = Msg> {
    prop_oneof![
        vec(any::<u8>(), 0..=TLV_MAX - 3).prop_map(|s| Msg::Str(s.into())),
        any::<u32>().prop_map(Msg::Int),
    ]
}

fn tlv_laws() -> Laws<NomCodec<Tlv>, Msg> {
    Laws::decoder(
        || NomCodec::new(Tlv).max_frame_len(TLV_MAX),
        tlv_messages(),
        |_, msg: Msg, dst| msg.write(TLV_MAX, dst),
    )
    .limits(Limits::new(TLV_MAX, TLV_MAX))
    .frame_len(Msg::wire_len)
}
laws!(nom_tlv_protocol, tlv_laws());

// ---- Payload codecs -----------------------------------------------------------------------

fn text_line() -> Delimited {
    Delimited::newline().max_frame_len(40)
}
laws!(
    utf8_lines,
    Laws::frame_codec(
        || FrameCodec::with_payload(text_line(), Utf8),
        "[a-z é€😀\r\t]{0,10}".prop_map(|s| Text::from(s.trim_end_matches('\r').to_string()))
    )
);

laws!(
    utf8_length_prefixed,
    Laws::frame_codec(
        || FrameCodec::with_payload(LengthPrefixed::u16_be().max_frame_len(40), Utf8),
        "\\PC{0,10}".prop_map(Text::from)
    )
);

/// A closure codec: payloads are big-endian u32s in fixed 4-byte records.
fn number_codec() -> FrameCodec<
    FixedSize,
    impl crate::payload::PayloadDecoder<Item = u32> + crate::payload::PayloadEncoder<u32>,
> {
    FrameCodec::with_payload(
        FixedSize::new(4),
        fn_codec(
            |p: Bytes| -> Result<u32, PayloadError> { Ok(u32::from_be_bytes(p[..].try_into()?)) },
            |n: u32, dst: &mut BytesMut| -> Result<(), PayloadError> {
                dst.extend_from_slice(&n.to_be_bytes());
                Ok(())
            },
        ),
    )
}
laws!(
    fn_codec_numbers,
    Laws::frame_codec(number_codec, any::<u32>())
);

#[cfg(feature = "json")]
mod json {
    use super::*;
    use crate::payload::Json;

    #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
    pub struct Point {
        pub x: i32,
        pub label: String,
        pub tags: Vec<u8>,
    }

    pub fn points() -> impl Strategy<Value = Point> {
        (any::<i32>(), "\\PC{0,8}", vec(any::<u8>(), 0..4)).prop_map(|(x, label, tags)| Point {
            x,
            label,
            tags,
        })
    }

    laws!(
        json_over_u32_length,
        Laws::frame_codec(
            || FrameCodec::with_payload(
                LengthPrefixed::u32_be().max_frame_len(200),
                Json::<Point>::new()
            ),
            points()
        )
    );

    laws!(
        json_lines,
        Laws::frame_codec(
            || FrameCodec::with_payload(
                Delimited::newline().max_frame_len(200),
                Json::<Point>::new()
            ),
            points()
        )
    );
}

// ---- Properties the generic laws do not state -----------------------------------------------

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
        for chunk in super::chunks(&wire, &sizes) {
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
        for mut framing in [newline(), strict_crlf(), blank_line(), lf_or_crlf(), overlapping()] {
            let mut dst = BytesMut::from(&b"before"[..]);
            if framing.encode(&payload, &mut dst).is_err() {
                prop_assert_eq!(&dst[..], b"before");
            }
        }
        let mut codec = FrameCodec::new(u8_len());
        let mut dst = BytesMut::new();
        if codec.encode(&payload[..], &mut dst).is_err() {
            prop_assert!(dst.is_empty());
        }
    }
}

#[test]
fn the_kit_runs_every_case_it_is_asked_for() {
    // Each round-trip case builds two codecs (one to encode, one to decode).
    let built = std::rc::Rc::new(std::cell::Cell::new(0usize));
    let counter = built.clone();
    let laws = Laws::frame_codec(
        move || {
            counter.set(counter.get() + 1);
            FrameCodec::new(newline())
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

/// The kit itself must catch a broken codec: each law against a decoder that breaks it.
mod the_kit_catches {
    use super::*;
    use crate::testing::Law;

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
        let laws = Laws::frame_codec(|| FrameCodec::new(newline()), Just(b"ab".to_vec()))
            .partial_frame_delivered();
        let cut = super::super::CutStream {
            messages: vec![b"ab".to_vec()],
            cut: 0,
            sizes: vec![1],
        };
        let v = laws.check_eof(&cut).unwrap_err();
        assert_eq!(v.law(), Law::Eof);
        let laws = Laws::frame_codec(|| FrameCodec::new(newline()), Just(b"ab".to_vec()));
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
}

// ---- PROXY protocol: its own file, the same macro -----------------------------------------
mod proxy;
