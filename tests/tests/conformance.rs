//! Conformance: framekit configured as other framing libraries, fed the cases their documentation
//! gives (byte vectors and the outcomes it promises), each under many chunkings.
//!
//! Sources: tokio-util 0.7's `LengthDelimitedCodec` (module docs, examples 1 to 7, and the
//! encoding example), `LinesCodec` and `AnyDelimiterCodec`; Netty 4.1's
//! `LengthFieldBasedFrameDecoder` (all seven javadoc examples, and its discarding mode),
//! `LineBasedFrameDecoder` and `DelimiterBasedFrameDecoder`; Go's `bufio.ScanLines`; Python's
//! asyncio `StreamReader.readline`, `readuntil` and `readexactly`. The cases are written here from
//! that documentation; no code is shared. Where framekit is deliberately stricter, the case
//! asserts framekit's documented side and says so (`stricter:`), and the README lists each one
//! under "Where framekit is stricter".

use bytes::BytesMut;
use framekit::framing::delimited::{Delimited, Overlong, Trailing};
use framekit::framing::fixed::FixedSize;
use framekit::framing::length_prefixed::{Endian, LengthPrefixed};
use framekit::framing::Framing;
use framekit::testing::chunks;
use framekit::{FrameCodec, FrameError};
use tokio_util::codec::{Decoder, Encoder};

/// What decoding produced, in order. `TooLong` keeps only where the frame started: how much of
/// it a decoder saw before giving up depends on the chunking.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Out {
    Frame(Vec<u8>),
    Skipped { len: u64, offset: u64 },
    TooLong { offset: u64 },
    Malformed { offset: u64 },
    UnexpectedEof { buffered: usize },
}

fn frame(bytes: &[u8]) -> Out {
    Out::Frame(bytes.to_vec())
}

/// Chunkings every case runs under: whole, one byte at a time, and uneven cuts.
const CHUNKINGS: &[&[usize]] = &[
    &[],
    &[1],
    &[2],
    &[3],
    &[5],
    &[7],
    &[1, 2, 3],
    &[4, 1],
    &[13],
];

/// Feeds `input` to a fresh codec in `sizes` pieces and ends the stream; stops at the first
/// error that leaves the stream out of sync.
fn decode<F: Framing>(framing: F, input: &[u8], sizes: &[usize]) -> Vec<Out> {
    let mut codec = FrameCodec::new(framing);
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    // After recording `result`: `Some(true)` to decode again, `Some(false)` to wait for more
    // bytes, `None` to stop (an error that leaves the stream out of sync).
    let record = |result: Result<Option<bytes::Bytes>, FrameError>, out: &mut Vec<Out>| {
        let event = match result {
            Ok(Some(frame)) => Out::Frame(frame.to_vec()),
            Ok(None) => return Some(false),
            Err(FrameError::Skipped { len, offset, .. }) => Out::Skipped { len, offset },
            Err(FrameError::TooLong { offset, .. }) => Out::TooLong { offset },
            Err(FrameError::Malformed { offset, .. }) => Out::Malformed { offset },
            Err(FrameError::UnexpectedEof { buffered }) => Out::UnexpectedEof { buffered },
            Err(other) => panic!("unexpected error {other}"),
        };
        let recoverable = matches!(event, Out::Frame(_) | Out::Skipped { .. });
        out.push(event);
        recoverable.then_some(true)
    };
    for piece in chunks(input, sizes) {
        buf.extend_from_slice(piece);
        loop {
            match record(codec.decode(&mut buf), &mut out) {
                Some(true) => continue,
                Some(false) => break,
                None => return out,
            }
        }
    }
    while let Some(true) = record(codec.decode_eof(&mut buf), &mut out) {}
    out
}

/// Runs one documented case under every chunking.
fn case<F: Framing>(source: &str, framing: impl Fn() -> F, input: &[u8], expected: &[Out]) {
    for sizes in CHUNKINGS {
        let got = decode(framing(), input, sizes);
        assert_eq!(
            got,
            expected,
            "{source}: {:?} in chunks of {sizes:?}",
            input.escape_ascii().to_string()
        );
    }
}

fn encoded<F: Framing>(framing: F, payload: &[u8]) -> Vec<u8> {
    let mut codec = FrameCodec::new(framing);
    let mut wire = BytesMut::new();
    codec
        .encode(bytes::Bytes::copy_from_slice(payload), &mut wire)
        .unwrap();
    wire.to_vec()
}

fn layout(
    build: impl Fn(
        framekit::framing::length_prefixed::LengthPrefixedBuilder,
    ) -> framekit::framing::length_prefixed::LengthPrefixedBuilder,
) -> impl Fn() -> LengthPrefixed {
    move || build(LengthPrefixed::builder()).build().unwrap()
}

// ---- tokio-util LengthDelimitedCodec --------------------------------------------------------
// tokio-util's payload is the `value + length_adjustment` bytes that follow the first `num_skip`
// bytes; framekit's frame is the header plus `value + length_adjustment`, and its payload starts
// `strip(n)` bytes in. So a tokio-util layout (offset o, width w, adjustment a, num_skip s) is
// framekit's `header_offset(o)`, width w, `length_adjustment(a + s - o - w)`, `strip(s)`.

mod tokio_length_delimited {
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
}

// ---- tokio-util LinesCodec and AnyDelimiterCodec ---------------------------------------------
// LinesCodec: LF ends a line, a CR before it is dropped, and the last line is delivered at EOF
// without a trailing CR. Over `max_length` it errs at once and discards to the next LF.

fn lines_codec(max: usize) -> Delimited {
    Delimited::newline()
        .on_trailing(Trailing::DeliverWithoutCr)
        .on_overlong(Overlong::DiscardFailFast)
        .max_frame_len(max)
}

mod tokio_lines {
    use super::*;

    #[test]
    fn lines_with_and_without_cr_and_a_last_line_at_eof() {
        case(
            "tokio-util LinesCodec",
            || lines_codec(64),
            b"line 1\nline 2\r\n\nline 3\r",
            &[
                frame(b"line 1"),
                frame(b"line 2"),
                frame(b""),
                frame(b"line 3"),
            ],
        );
        case("tokio-util LinesCodec", || lines_codec(64), b"", &[]);
    }

    #[test]
    fn the_maximum_counts_the_line_without_its_cr() {
        // differs: LinesCodec::new_with_max_length(3) errs on "abc\r\n" (it counts the CR);
        // framekit's maximum is the payload, so the line fits.
        case(
            "tokio-util LinesCodec::new_with_max_length",
            || lines_codec(3),
            b"abc\r\nabcd\n",
            &[frame(b"abc"), Out::Skipped { len: 4, offset: 5 }],
        );
    }

    #[test]
    fn a_lone_cr_at_eof_is_an_empty_last_line() {
        // differs: tokio-util's LinesCodec ends with no line for a lone CR at EOF; framekit's
        // DeliverWithoutCr follows Go's ScanLines, which yields an empty one.
        case(
            "tokio-util LinesCodec::decode_eof / Go bufio.ScanLines",
            || lines_codec(64),
            b"a\n\r",
            &[frame(b"a"), frame(b"")],
        );
    }

    #[test]
    fn an_over_long_line_errs_at_once_then_decoding_resumes() {
        // max_length 5: "too long" errs as soon as 6 bytes hold no LF, the rest of the line is
        // dropped, and the next line decodes.
        case(
            "tokio-util LinesCodec::new_with_max_length",
            || lines_codec(5),
            b"ok\ntoo long a line\nnext\n",
            &[
                frame(b"ok"),
                Out::Skipped { len: 6, offset: 3 },
                frame(b"next"),
            ],
        );
    }

    #[test]
    fn encoding_appends_lf() {
        assert_eq!(encoded(lines_codec(64), b"line"), b"line\n");
    }

    /// AnyDelimiterCodec::new(b",;\r\n", b";"): any of the bytes ends a chunk; `;` is written.
    fn any_delimiter() -> Delimited {
        Delimited::any_of([&b","[..], b";", b"\r", b"\n"])
            .encode_with(b";")
            .on_trailing(Trailing::Deliver)
    }

    #[test]
    fn any_delimiter_doc_example() {
        case(
            "tokio-util AnyDelimiterCodec docs",
            any_delimiter,
            b"chunk 1,chunk 2;chunk 3\n\r",
            &[
                frame(b"chunk 1"),
                frame(b"chunk 2"),
                frame(b"chunk 3"),
                frame(b""),
            ],
        );
    }

    #[test]
    fn any_delimiter_delivers_the_rest_at_eof_and_writes_its_sequence() {
        case(
            "tokio-util AnyDelimiterCodec::decode_eof",
            any_delimiter,
            b"a,b",
            &[frame(b"a"), frame(b"b")],
        );
        assert_eq!(encoded(any_delimiter(), b"chunk"), b"chunk;");
    }
}

// ---- Netty LengthFieldBasedFrameDecoder -----------------------------------------------------
// Netty's frame is `lengthFieldOffset + lengthFieldLength + value + lengthAdjustment` bytes, as
// framekit's; `initialBytesToStrip` is `strip`. Netty's `maxFrameLength` counts the whole frame,
// framekit's maximum the body: a Netty maximum of M is framekit's `M - header`.

mod netty_length_field {
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
}

// ---- Netty LineBasedFrameDecoder and DelimiterBasedFrameDecoder -----------------------------

mod netty_lines_and_delimiters {
    use super::*;

    #[test]
    fn line_based_splits_on_lf_and_crlf_stripping_them() {
        case(
            "Netty LineBasedFrameDecoder(stripDelimiter = true)",
            || Delimited::newline().max_frame_len(64),
            b"first\r\nsecond\nthird\n",
            &[frame(b"first"), frame(b"second"), frame(b"third")],
        );
    }

    #[test]
    fn line_based_keeps_the_delimiter_when_asked() {
        case(
            "Netty LineBasedFrameDecoder(stripDelimiter = false)",
            || Delimited::newline().keep_delimiter(true).max_frame_len(64),
            b"first\r\nsecond\n",
            &[frame(b"first\r\n"), frame(b"second\n")],
        );
    }

    #[test]
    fn line_based_over_long_line_fail_fast_or_after_discarding() {
        // maxLength 4: "toolong" (7) is over it. failFast = true reports when 5 bytes hold no
        // line end; failFast = false (Netty's default) reports the discarded line with its end.
        case(
            "Netty LineBasedFrameDecoder(failFast = true)",
            || {
                Delimited::newline()
                    .max_frame_len(4)
                    .on_overlong(Overlong::DiscardFailFast)
            },
            b"toolong\r\nok\n",
            &[Out::Skipped { len: 5, offset: 0 }, frame(b"ok")],
        );
        case(
            "Netty LineBasedFrameDecoder(failFast = false)",
            || {
                Delimited::newline()
                    .max_frame_len(4)
                    .on_overlong(Overlong::Discard)
            },
            b"toolong\r\nok\n",
            &[Out::Skipped { len: 9, offset: 0 }, frame(b"ok")],
        );
    }

    #[test]
    fn line_based_unterminated_last_line() {
        // Netty: bytes after the last line end are never a frame (left in the cumulation).
        // stricter: framekit reports them as UnexpectedEof rather than dropping them silently.
        case(
            "Netty LineBasedFrameDecoder at channel close",
            || Delimited::newline().max_frame_len(64),
            b"one\ntwo",
            &[frame(b"one"), Out::UnexpectedEof { buffered: 3 }],
        );
    }

    #[test]
    fn delimiter_based_picks_the_delimiter_giving_the_shortest_frame() {
        // The javadoc's example with Delimiters.lineDelimiter(): "ABC\nDEF\r\n" is ABC, DEF,
        // never "ABC\nDEF".
        case(
            "Netty DelimiterBasedFrameDecoder javadoc",
            || Delimited::any_of([&b"\r\n"[..], b"\n"]),
            b"ABC\nDEF\r\n",
            &[frame(b"ABC"), frame(b"DEF")],
        );
    }

    #[test]
    fn delimiter_based_nul_delimiter_and_kept_delimiters() {
        case(
            "Netty DelimiterBasedFrameDecoder(Delimiters.nulDelimiter())",
            || Delimited::byte(0),
            b"a\0bc\0",
            &[frame(b"a"), frame(b"bc")],
        );
        case(
            "Netty DelimiterBasedFrameDecoder(stripDelimiter = false)",
            || Delimited::sequence(b"--").keep_delimiter(true),
            b"a--b--",
            &[frame(b"a--"), frame(b"b--")],
        );
    }
}

// ---- Go bufio.ScanLines ---------------------------------------------------------------------

fn scan_lines() -> Delimited {
    Delimited::newline()
        .on_trailing(Trailing::DeliverWithoutCr)
        .max_frame_len(64 * 1024)
}

mod go_scan_lines {
    use super::*;

    #[test]
    fn one_optional_cr_is_dropped_and_the_last_line_may_lack_lf() {
        case(
            "Go bufio.ScanLines",
            scan_lines,
            b"line1\r\nline2\nline3",
            &[frame(b"line1"), frame(b"line2"), frame(b"line3")],
        );
        // Only one CR goes: "a\r\r\n" is "a\r".
        case(
            "Go bufio.ScanLines",
            scan_lines,
            b"a\r\r\n",
            &[frame(b"a\r")],
        );
        // A final line with only a CR before EOF loses it too (dropCR at EOF).
        case(
            "Go bufio.ScanLines",
            scan_lines,
            b"x\ny\r",
            &[frame(b"x"), frame(b"y")],
        );
    }

    #[test]
    fn a_final_newline_makes_no_empty_token_but_empty_lines_count() {
        case(
            "Go bufio.ScanLines",
            scan_lines,
            b"a\n\nb\n",
            &[frame(b"a"), frame(b""), frame(b"b")],
        );
    }

    #[test]
    fn a_line_over_the_token_limit_stops_the_scan() {
        // Go: bufio.ErrTooLong once a token outgrows the buffer; Scan returns false for good.
        let mut input = vec![b'x'; 64 * 1024 + 10];
        input.extend_from_slice(b"\nafter\n");
        let got = decode(scan_lines(), &input, &[4096]);
        assert_eq!(got, [Out::TooLong { offset: 0 }]);
    }
}

// ---- Python asyncio StreamReader ------------------------------------------------------------

mod asyncio_stream_reader {
    use super::*;

    /// readline(): up to and including LF; at EOF, the partial line as it is.
    fn readline() -> Delimited {
        Delimited::newline()
            .strip_cr(false)
            .keep_delimiter(true)
            .on_trailing(Trailing::Deliver)
            .max_frame_len(64 * 1024)
    }

    #[test]
    fn readline_keeps_the_newline_and_returns_a_partial_line_at_eof() {
        case(
            "asyncio StreamReader.readline",
            readline,
            b"GET / HTTP/1.1\r\nHost: x\r\npartial",
            &[
                frame(b"GET / HTTP/1.1\r\n"),
                frame(b"Host: x\r\n"),
                frame(b"partial"),
            ],
        );
        // An empty buffer at EOF: b"" in asyncio, a clean end here.
        case("asyncio StreamReader.readline", readline, b"", &[]);
    }

    #[test]
    fn readuntil_returns_data_with_the_separator() {
        case(
            "asyncio StreamReader.readuntil(b'\\r\\n\\r\\n')",
            || Delimited::sequence(b"\r\n\r\n").keep_delimiter(true),
            b"a: b\r\nc: d\r\n\r\nbody",
            &[
                frame(b"a: b\r\nc: d\r\n\r\n"),
                Out::UnexpectedEof { buffered: 4 },
            ],
        );
    }

    #[test]
    fn readuntil_eof_before_the_separator_is_an_incomplete_read() {
        // asyncio: IncompleteReadError with the partial bytes (here 5, part of a separator).
        case(
            "asyncio StreamReader.readuntil at EOF",
            || Delimited::sequence(b"\r\n\r\n").keep_delimiter(true),
            b"abc\r\n",
            &[Out::UnexpectedEof { buffered: 5 }],
        );
    }

    #[test]
    fn readuntil_over_the_limit() {
        // asyncio: LimitOverrunError, and the data stays in the buffer to be read another way.
        // stricter: framekit's TooLong ends the stream (or, with Overlong::Discard, the frame
        // is skipped to its separator); nothing over the limit is ever held for a re-read.
        case(
            "asyncio StreamReader.readuntil with limit",
            || Delimited::sequence(b"\r\n\r\n").max_frame_len(4),
            b"abcdefgh\r\n\r\n",
            &[Out::TooLong { offset: 0 }],
        );
    }

    #[test]
    fn readexactly_reads_n_bytes_and_a_short_stream_is_incomplete() {
        case(
            "asyncio StreamReader.readexactly(4)",
            || FixedSize::new(4),
            b"abcdefgh",
            &[frame(b"abcd"), frame(b"efgh")],
        );
        // IncompleteReadError(partial=b"ij", expected=4).
        case(
            "asyncio StreamReader.readexactly(4) at EOF",
            || FixedSize::new(4),
            b"abcdij",
            &[frame(b"abcd"), Out::UnexpectedEof { buffered: 2 }],
        );
    }
}
