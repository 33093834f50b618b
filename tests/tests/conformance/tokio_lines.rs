//! Conformance with tokio-util's `LinesCodec` and `AnyDelimiterCodec`: the cases their
//! documentation gives, each under many chunkings.
//!
//! LinesCodec: LF ends a line, a CR before it is dropped, and the last line is delivered at EOF
//! without a trailing CR. Over `max_length` it errs at once and discards to the next LF.

use super::*;

fn lines_codec(max: usize) -> Delimited {
    Delimited::newline()
        .on_trailing(Trailing::DeliverWithoutCr)
        .on_overlong(Overlong::DiscardFailFast)
        .max_frame_len(max)
}

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
        .expect("';' is one of the delimiters")
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
