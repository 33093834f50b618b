//! Every `LengthPrefixed` layout and knob held to the laws.

use bytes::{Bytes, BytesMut};

use super::{any_messages, bytes_laws, CASES};
use crate::framing::length_prefixed::{Endian, LengthPrefixed, Overlong};
use crate::framing::Framing;
use crate::payload::{fn_codec, PayloadError};
use crate::testing::{Laws, Limits};
use crate::FrameCodec;

laws!(
    u8_length,
    bytes_laws(LengthPrefixed::u8().max_frame_len(200), 260)
);

laws!(
    u16_be_length,
    bytes_laws(LengthPrefixed::u16_be().max_frame_len(300), 300)
);

laws!(
    u16_le_length,
    bytes_laws(LengthPrefixed::u16_le().max_frame_len(300), 300)
);

laws!(
    u24_be_length,
    bytes_laws(LengthPrefixed::u24_be().max_frame_len(300), 300)
);

laws!(
    u24_le_length,
    bytes_laws(
        LengthPrefixed::builder()
            .length_field(3, Endian::Little)
            .max_frame_len(300)
            .build()
            .unwrap(),
        300,
    )
);

laws!(
    u32_be_length,
    bytes_laws(LengthPrefixed::u32_be().max_frame_len(300), 300)
);

laws!(
    u32_le_length,
    bytes_laws(LengthPrefixed::u32_le().max_frame_len(300), 300)
);

laws!(
    u64_be_length,
    bytes_laws(LengthPrefixed::u64_be().max_frame_len(300), 300)
);

laws!(
    u64_le_length,
    bytes_laws(LengthPrefixed::u64_le().max_frame_len(300), 300)
);

laws!(
    varint_length,
    bytes_laws(LengthPrefixed::varint().max_frame_len(300), 300)
);

// A type byte and a version byte before a u16 length that counts the whole 4-byte header.
laws!(
    header_offset_and_length_including_header,
    bytes_laws(
        LengthPrefixed::builder()
            .header_offset(2)
            .encode_prefix(b"TV")
            .length_field(2, Endian::Big)
            .length_includes_header(true)
            .max_frame_len(100)
            .build()
            .unwrap(),
        100,
    )
);

// A u8 field that counts two bytes more than the body (a trailer the body does not have).
laws!(
    negative_length_adjustment,
    bytes_laws(
        LengthPrefixed::builder()
            .length_field(1, Endian::Big)
            .length_adjustment(-2)
            .max_frame_len(100)
            .build()
            .unwrap(),
        100,
    )
);

// A u8 field three less than the body: bodies under three bytes cannot be sent.
laws!(
    positive_length_adjustment,
    bytes_laws(
        LengthPrefixed::builder()
            .length_field(1, Endian::Big)
            .length_adjustment(3)
            .max_frame_len(100)
            .build()
            .unwrap(),
        100,
    )
);

laws!(
    varint_including_header,
    bytes_laws(
        LengthPrefixed::builder()
            .header_offset(1)
            .varint()
            .length_includes_header(true)
            .max_frame_len(300)
            .build()
            .unwrap(),
        300,
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

// Over-long frames skipped by their declared length and reported after the skip (Netty's
// discarding mode); the damaged and arbitrary inputs hold over-long headers.
laws!(
    u16_be_discarding_overlong,
    bytes_laws(discarding(Overlong::Discard), 24)
);

// The same, reported as soon as the header is read.
laws!(
    u16_be_discarding_overlong_fail_fast,
    bytes_laws(discarding(Overlong::DiscardFailFast), 24)
);

// A varint behind a one-byte offset, counting its header, skipping after the frame.
laws!(
    varint_with_header_discarding_overlong,
    bytes_laws(
        LengthPrefixed::builder()
            .header_offset(1)
            .varint()
            .length_includes_header(true)
            .max_frame_len(150)
            .on_overlong(Overlong::Discard)
            .build()
            .unwrap(),
        300,
    )
);

fn discarding(policy: Overlong) -> LengthPrefixed {
    LengthPrefixed::builder()
        .length_field(2, Endian::Big)
        .max_frame_len(24)
        .on_overlong(policy)
        .build()
        .unwrap()
}
