//! Every `Delimited` configuration and knob held to the laws.

use proptest::collection::vec;
use proptest::prelude::*;

use super::{lines_laws, CASES, LINE_BYTES};
use crate::framing::delimited::{Delimited, Overlong, Trailing};
use crate::testing::Laws;
use crate::FrameCodec;

laws!(
    newline_lenient,
    lines_laws(Delimited::newline().max_frame_len(24), LINE_BYTES, 24)
);

laws!(
    newline_keeping_cr,
    lines_laws(
        Delimited::newline().strip_cr(false).max_frame_len(24),
        LINE_BYTES,
        24,
    )
);

laws!(
    strict_crlf,
    lines_laws(Delimited::crlf().max_frame_len(24), LINE_BYTES, 24)
);

laws!(
    byte_delimiter,
    lines_laws(Delimited::byte(0).max_frame_len(24), LINE_BYTES, 24)
);

laws!(
    sequence_delimiter,
    lines_laws(
        Delimited::sequence(b"\r\n\r\n").max_frame_len(24),
        LINE_BYTES,
        24,
    )
);

laws!(
    any_of_lf_or_crlf,
    lines_laws(
        Delimited::any_of([&b"\n"[..], b"\r\n"]).max_frame_len(24),
        LINE_BYTES,
        24,
    )
);

// Delimiters that overlap each other: one is inside another, and one can start inside another.
laws!(
    any_of_overlapping,
    lines_laws(
        Delimited::any_of([&b"ab"[..], b"bab", b"ba"]).max_frame_len(24),
        b"abx",
        24,
    )
);

laws!(
    newline_discarding_overlong,
    lines_laws(
        Delimited::newline()
            .max_frame_len(12)
            .on_overlong(Overlong::Discard),
        LINE_BYTES,
        12,
    )
);

laws!(
    strict_crlf_discarding_overlong,
    lines_laws(
        Delimited::crlf()
            .max_frame_len(12)
            .on_overlong(Overlong::Discard),
        LINE_BYTES,
        12,
    )
);

laws!(
    newline_delivering_trailing,
    lines_laws(
        Delimited::newline()
            .max_frame_len(24)
            .on_trailing(Trailing::Deliver),
        LINE_BYTES,
        24,
    )
    .partial_frame_delivered()
);

// A stream cut inside the four-byte delimiter after a payload at the maximum leaves a tail
// over the maximum: it is refused as over-long, never delivered as a frame over the limit.
laws!(
    sequence_delivering_trailing,
    lines_laws(
        Delimited::sequence(b"\r\n\r\n")
            .max_frame_len(12)
            .on_trailing(Trailing::Deliver),
        LINE_BYTES,
        12,
    )
    .partial_frame_delivered()
);

laws!(
    any_of_overlapping_delivering_trailing,
    lines_laws(
        Delimited::any_of([&b"ab"[..], b"bab", b"ba"])
            .max_frame_len(12)
            .on_overlong(Overlong::Discard)
            .on_trailing(Trailing::Deliver),
        b"abx",
        12,
    )
    .partial_frame_delivered()
);

laws!(
    newline_discarding_overlong_fail_fast,
    lines_laws(
        Delimited::newline()
            .max_frame_len(12)
            .on_overlong(Overlong::DiscardFailFast),
        LINE_BYTES,
        12,
    )
);

laws!(
    sequence_discarding_overlong_fail_fast,
    lines_laws(
        Delimited::sequence(b"\r\n\r\n")
            .max_frame_len(12)
            .on_overlong(Overlong::DiscardFailFast),
        LINE_BYTES,
        12,
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

laws!(
    any_of_with_a_chosen_encode_delimiter,
    lines_laws(
        Delimited::any_of([&b"\n"[..], b"\r\n"])
            .encode_with(b"\r\n")
            .unwrap()
            .max_frame_len(24),
        LINE_BYTES,
        24,
    )
);

laws!(
    newline_delivering_trailing_without_cr,
    lines_laws(
        Delimited::newline()
            .max_frame_len(24)
            .on_trailing(Trailing::DeliverWithoutCr),
        LINE_BYTES,
        24,
    )
    .partial_frame_delivered()
);
