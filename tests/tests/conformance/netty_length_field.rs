//! Conformance with Netty 4.1's `LengthFieldBasedFrameDecoder`: its seven javadoc examples and
//! its discarding mode, each under many chunkings.
//!
//! Netty's frame is `lengthFieldOffset + lengthFieldLength + value + lengthAdjustment` bytes, as
//! framekit's; `initialBytesToStrip` is `strip`. Netty's `maxFrameLength` counts the whole frame,
//! framekit's maximum the body: a Netty maximum of M is framekit's `M - header`.

use super::*;

const HELLO: &[u8] = b"HELLO, WORLD";

fn wire(head: &[u8]) -> Vec<u8> {
    [head, HELLO].concat()
}

#[test]
fn javadoc_1_u16_at_offset_0_header_kept() {
    case(
        "Netty LengthFieldBasedFrameDecoder javadoc 1",
        layout(|b| b.length_field(2, Endian::Big).strip(0)),
        &wire(b"\x00\x0C"),
        &[frame(&wire(b"\x00\x0C"))],
    );
}

#[test]
fn javadoc_2_u16_at_offset_0_header_stripped() {
    case(
        "Netty LengthFieldBasedFrameDecoder javadoc 2",
        layout(|b| b.length_field(2, Endian::Big).strip(2)),
        &wire(b"\x00\x0C"),
        &[frame(HELLO)],
    );
}

#[test]
fn javadoc_3_length_of_the_whole_message() {
    case(
        "Netty LengthFieldBasedFrameDecoder javadoc 3",
        layout(|b| {
            b.length_field(2, Endian::Big)
                .length_adjustment(-2)
                .strip(0)
        }),
        &wire(b"\x00\x0E"),
        &[frame(&wire(b"\x00\x0E"))],
    );
}

#[test]
fn javadoc_4_u24_after_a_two_byte_header() {
    case(
        "Netty LengthFieldBasedFrameDecoder javadoc 4",
        layout(|b| b.header_offset(2).length_field(3, Endian::Big).strip(0)),
        &wire(b"\xCA\xFE\x00\x00\x0C"),
        &[frame(&wire(b"\xCA\xFE\x00\x00\x0C"))],
    );
}

#[test]
fn javadoc_5_u24_before_a_two_byte_header() {
    case(
        "Netty LengthFieldBasedFrameDecoder javadoc 5",
        layout(|b| b.length_field(3, Endian::Big).length_adjustment(2).strip(0)),
        &wire(b"\x00\x00\x0C\xCA\xFE"),
        &[frame(&wire(b"\x00\x00\x0C\xCA\xFE"))],
    );
}

#[test]
fn javadoc_6_u16_in_the_middle_strip_hdr1_and_length() {
    case(
        "Netty LengthFieldBasedFrameDecoder javadoc 6",
        layout(|b| {
            b.header_offset(1)
                .length_field(2, Endian::Big)
                .length_adjustment(1)
                .strip(3)
        }),
        &wire(b"\xCA\x00\x0C\xFE"),
        &[frame(&[b"\xFE", HELLO].concat())],
    );
}

#[test]
fn javadoc_7_u16_in_the_middle_counting_the_whole_message() {
    case(
        "Netty LengthFieldBasedFrameDecoder javadoc 7",
        layout(|b| {
            b.header_offset(1)
                .length_field(2, Endian::Big)
                .length_adjustment(-3)
                .strip(3)
        }),
        &wire(b"\xCA\x00\x10\xFE"),
        &[frame(&[b"\xFE", HELLO].concat())],
    );
}

fn discarding(policy: Overlong) -> impl Fn() -> LengthPrefixed {
    // Netty maxFrameLength 8 with a 2-byte field: bodies of up to 6 bytes.
    layout(move |b| {
        b.length_field(2, Endian::Big)
            .max_frame_len(8 - 2)
            .on_overlong(policy)
    })
}

/// `ok`, a frame declaring 12 bytes of body (14 in all), then `next`.
const OVERLONG: &[u8] = b"\x00\x02ok\x00\x0CHELLO, WORLD\x00\x04next";

#[test]
fn an_over_long_frame_is_discarded_and_reported_once_with_its_length() {
    // failFast = true (Netty's default): TooLongFrameException as soon as the length is read.
    case(
        "Netty LengthFieldBasedFrameDecoder failFast",
        discarding(Overlong::DiscardFailFast),
        OVERLONG,
        &[
            frame(b"ok"),
            Out::Skipped { len: 14, offset: 4 },
            frame(b"next"),
        ],
    );
    // failFast = false: thrown once the whole frame has been discarded.
    case(
        "Netty LengthFieldBasedFrameDecoder failFast = false",
        discarding(Overlong::Discard),
        OVERLONG,
        &[
            frame(b"ok"),
            Out::Skipped { len: 14, offset: 4 },
            frame(b"next"),
        ],
    );
    // stricter: framekit's default is Overlong::Error; the stream ends at the bad frame.
    case(
        "Netty LengthFieldBasedFrameDecoder (framekit default)",
        discarding(Overlong::Error),
        OVERLONG,
        &[frame(b"ok"), Out::TooLong { offset: 4 }],
    );
}

#[test]
fn a_length_shorter_than_the_header_is_corrupt() {
    // Netty: CorruptedFrameException, "Adjusted frame length (1) is less than
    // lengthFieldEndOffset: 2". framekit: malformed at the length field.
    case(
        "Netty LengthFieldBasedFrameDecoder corrupted length",
        layout(|b| b.length_field(2, Endian::Big).length_includes_header(true)),
        b"\x00\x01",
        &[Out::Malformed { offset: 0 }],
    );
}
