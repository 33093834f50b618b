//! Conformance with tokio-util's `LengthDelimitedCodec`: its module docs' examples 1 to 7 and
//! its encoding example, each under many chunkings.
//!
//! tokio-util's payload is the `value + length_adjustment` bytes that follow the first `num_skip`
//! bytes; framekit's frame is the header plus `value + length_adjustment`, and its payload starts
//! `strip(n)` bytes in. So a tokio-util layout (offset o, width w, adjustment a, num_skip s) is
//! framekit's `header_offset(o)`, width w, `length_adjustment(a + s - o - w)`, `strip(s)`.

use super::*;

#[test]
fn default_is_a_u32_big_endian_length_stripped() {
    case(
        "tokio-util LengthDelimitedCodec::new()",
        LengthPrefixed::u32_be,
        b"\x00\x00\x00\x0BHello world\x00\x00\x00\x00",
        &[frame(b"Hello world"), frame(b"")],
    );
}

#[test]
fn example_1_u16_length_head_omitted() {
    case(
        "tokio-util length_delimited example 1",
        LengthPrefixed::u16_be,
        b"\x00\x0BHello world",
        &[frame(b"Hello world")],
    );
}

#[test]
fn example_2_u16_length_head_included() {
    // tokio-util: length_adjustment(2), num_skip(0).
    case(
        "tokio-util length_delimited example 2",
        layout(|b| b.length_field(2, Endian::Big).strip(0)),
        b"\x00\x0BHello world",
        &[frame(b"\x00\x0BHello world")],
    );
}

#[test]
fn example_3_length_counts_the_head() {
    // tokio-util: length_adjustment(-2).
    case(
        "tokio-util length_delimited example 3",
        layout(|b| b.length_field(2, Endian::Big).length_adjustment(-2)),
        b"\x00\x0DHello world",
        &[frame(b"Hello world")],
    );
    // The same layout said the other way: the field includes the header.
    case(
        "tokio-util length_delimited example 3",
        layout(|b| b.length_field(2, Endian::Big).length_includes_header(true)),
        b"\x00\x0DHello world",
        &[frame(b"Hello world")],
    );
}

#[test]
fn example_4_three_byte_length_then_two_head_bytes_all_kept() {
    // tokio-util: length_field_length(3), length_adjustment(3 + 2), num_skip(0).
    case(
        "tokio-util length_delimited example 4",
        layout(|b| b.length_field(3, Endian::Big).length_adjustment(2).strip(0)),
        b"\x00\x00\x0B\xCA\xFEHello world",
        &[frame(b"\x00\x00\x0B\xCA\xFEHello world")],
    );
}

#[test]
fn example_5_length_in_the_middle_of_the_head() {
    // tokio-util: length_field_offset(1), u16, length_adjustment(1), num_skip(3).
    case(
        "tokio-util length_delimited example 5",
        layout(|b| {
            b.header_offset(1)
                .length_field(2, Endian::Big)
                .length_adjustment(1)
                .strip(3)
        }),
        b"\xCA\x00\x0B\xFEHello world",
        &[frame(b"\xFEHello world")],
    );
}

#[test]
fn example_6_length_in_the_middle_counting_the_whole_frame() {
    // tokio-util: length_field_offset(1), u16, length_adjustment(-3), num_skip(3).
    case(
        "tokio-util length_delimited example 6",
        layout(|b| {
            b.header_offset(1)
                .length_field(2, Endian::Big)
                .length_adjustment(-3)
                .strip(3)
        }),
        b"\xCA\x00\x0F\xFEHello world",
        &[frame(b"\xFEHello world")],
    );
}

#[test]
fn example_7_num_skip_past_the_length_field_is_refused() {
    // tokio-util: length_field_length(3), num_skip(4) drops a byte after the field.
    // stricter: `strip` stops at the header, so `strip(4)` of a 3-byte header is refused
    // when built; the layout is a one-byte adjustment, and that byte stays in the payload.
    let refused = LengthPrefixed::builder()
        .length_field(3, Endian::Big)
        .strip(4)
        .build();
    assert!(refused.is_err());
    case(
        "tokio-util length_delimited example 7",
        layout(|b| b.length_field(3, Endian::Big).length_adjustment(1)),
        b"\x00\x00\x0B\xFFHello world",
        &[frame(b"\xFFHello world")],
    );
}

#[test]
fn little_endian_fields() {
    case(
        "tokio-util Builder::little_endian",
        LengthPrefixed::u32_le,
        b"\x0B\x00\x00\x00Hello world",
        &[frame(b"Hello world")],
    );
    case(
        "tokio-util Builder::little_endian, length_field_length(3)",
        layout(|b| b.length_field(3, Endian::Little)),
        b"\x02\x00\x00hi",
        &[frame(b"hi")],
    );
}

#[test]
fn encoding_example_u16() {
    assert_eq!(
        encoded(LengthPrefixed::u16_be(), b"hello world"),
        b"\x00\x0bhello world"
    );
}

#[test]
fn a_length_over_the_maximum_fails_on_the_header() {
    // tokio-util: "frame size too big", before any of the body arrives.
    case(
        "tokio-util Builder::max_frame_length",
        || LengthPrefixed::u16_be().max_frame_len(10),
        b"\x00\x02ok\x00\x0B",
        &[frame(b"ok"), Out::TooLong { offset: 4 }],
    );
}

#[test]
fn bytes_left_at_the_end_are_an_error() {
    // tokio-util: decode_eof fails with "bytes remaining on stream".
    case(
        "tokio-util Decoder::decode_eof",
        LengthPrefixed::u16_be,
        b"\x00\x05abc",
        &[Out::UnexpectedEof { buffered: 5 }],
    );
}
