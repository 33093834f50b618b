//! Conformance with Python asyncio's `StreamReader` (`readline`, `readuntil`, `readexactly`): the
//! cases its documentation gives, each under many chunkings.

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
