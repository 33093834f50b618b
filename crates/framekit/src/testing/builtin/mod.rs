//! Every built-in strategy, knob and payload codec held to the framing laws through the kit.
//!
//! Each `laws!` block below is one configuration; it expands to one test per law, so a failure
//! names both: `testing::builtin::strict_crlf::chunking_does_not_change_frames`. Limits are kept
//! small so the max-length and buffering laws are exercised, not just stated.

use bytes::{Bytes, BytesMut};
use proptest::collection::vec;
use proptest::prelude::*;

use super::{Laws, Limits};
use crate::framing::delimited::Delimited;
use crate::framing::fixed::FixedSize;
use crate::framing::length_prefixed::LengthPrefixed;
use crate::framing::Framing;
use crate::payload::{fn_codec, PayloadError, Text, Utf8};
use crate::FrameCodec;

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

            #[test]
            fn the_fast_path_answers_as_decide() {
                ($laws).cases(CASES).fast_path();
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

/// The laws for `framing` with messages of up to `max` bytes from `alphabet`.
fn lines_laws<F: Framing + Clone + 'static>(
    framing: F,
    alphabet: &'static [u8],
    max: usize,
) -> Laws<FrameCodec<F>, Vec<u8>> {
    let make = framing.clone();
    Laws::frame_codec(
        move || FrameCodec::new(make.clone()),
        messages(alphabet, max, move || framing.clone()),
    )
}

/// The laws for `framing` with any messages of up to `max` bytes it can encode.
fn bytes_laws<F: Framing + Clone + 'static>(
    framing: F,
    max: usize,
) -> Laws<FrameCodec<F>, Vec<u8>> {
    let make = framing.clone();
    Laws::frame_codec(
        move || FrameCodec::new(make.clone()),
        any_messages(max, move || framing.clone()),
    )
}

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

mod delimited;
mod kit_catches;
mod length_prefixed;
mod properties;
mod proxy;
