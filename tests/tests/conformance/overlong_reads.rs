//! On which read each over-long report arrives, for every delimiter kind and every `Overlong`
//! mode, against the reference decoders' documented behaviour: Netty 4.1's
//! `LineBasedFrameDecoder` and `DelimiterBasedFrameDecoder` with `failFast = true` report on
//! the read that makes the buffer hold more than `maxLength` bytes without a delimiter (and with
//! `failFast = false` on the read that brings the delimiter); tokio-util's `LinesCodec` and
//! `AnyDelimiterCodec` return `MaxLineLengthExceeded` / `MaxChunkLengthExceeded` on the read
//! that brings byte `max_length + 1` without a delimiter, then discard to the next one.
//!
//! framekit reports on the read that proves the frame over-long: the one that brings byte
//! max + 1, unless that byte (and what follows) may still begin a delimiter that ends a frame
//! of the maximum (a CR before an LF, the first `-` of `--`). There framekit waits for the byte
//! that decides, where Netty's fail-fast reports at once and would then answer differently for
//! the same bytes arriving in one read (`chunking-consistent:` below; listed in the README).

use super::*;

/// One read's results, or the end of the stream's (the last entry).
type PerRead = Vec<Vec<Out>>;

/// Feeds `reads` one `decode` loop each, then ends the stream; what came out after each read.
fn by_read<F: Framing>(framing: F, reads: &[&[u8]]) -> PerRead {
    let mut codec = FrameCodec::new(framing);
    let mut buf = BytesMut::new();
    let mut per_read = Vec::new();
    let mut stopped = false;
    for (i, read) in reads.iter().chain([&&b""[..]]).enumerate() {
        let eof = i == reads.len();
        buf.extend_from_slice(read);
        let mut out = Vec::new();
        while !stopped {
            let result = match eof {
                true => codec.decode_eof(&mut buf),
                false => codec.decode(&mut buf),
            };
            let event = match result {
                Ok(Some(frame)) => Out::Frame(frame.to_vec()),
                Ok(None) => break,
                Err(FrameError::Skipped { len, offset, .. }) => Out::Skipped { len, offset },
                Err(FrameError::TooLong { offset, .. }) => Out::TooLong { offset },
                Err(FrameError::Malformed { offset, .. }) => Out::Malformed { offset },
                Err(FrameError::UnexpectedEof { buffered }) => Out::UnexpectedEof { buffered },
                Err(other) => panic!("unexpected error {other}"),
            };
            stopped = !matches!(event, Out::Frame(_) | Out::Skipped { .. });
            out.push(event);
        }
        per_read.push(out);
    }
    per_read
}

/// `(read, result)` pairs as the per-read table `by_read` returns, for `reads` reads.
fn at(reads: usize, results: &[(usize, Out)]) -> PerRead {
    let mut table = vec![Vec::new(); reads + 1];
    for (read, out) in results {
        table[*read].push(out.clone());
    }
    table
}

/// Runs `reads` under each `Overlong` mode and checks on which read each result came.
fn timing(
    source: &str,
    make: impl Fn(Overlong) -> Delimited,
    reads: &[&[u8]],
    [error, discard, fail_fast]: [&[(usize, Out)]; 3],
) {
    let modes = [
        (Overlong::Error, error),
        (Overlong::Discard, discard),
        (Overlong::DiscardFailFast, fail_fast),
    ];
    for (mode, expected) in modes {
        let got = by_read(make(mode), reads);
        let reads_shown: Vec<String> = reads.iter().map(|r| r.escape_ascii().to_string()).collect();
        assert_eq!(
            got,
            at(reads.len(), expected),
            "{source}, {mode:?}: reads {reads_shown:?} (the last entry is the end of the stream)"
        );
    }
}

fn skipped(len: u64, offset: u64) -> Out {
    Out::Skipped { len, offset }
}

const TOO_LONG: Out = Out::TooLong { offset: 0 };

#[test]
fn newline_reports_on_the_read_that_brings_byte_max_plus_one() {
    // Netty LineBasedFrameDecoder(16, failFast = true) and tokio-util's
    // LinesCodec::new_with_max_length(16): a 17-byte read with no LF fails on that read.
    let lines = |mode| Delimited::newline().max_frame_len(16).on_overlong(mode);
    timing(
        "newline, max 16, 17 bytes in one read",
        lines,
        &[b"0123456789abcdefg", b"\nok\n"],
        [
            &[(0, TOO_LONG)],
            &[(1, skipped(18, 0)), (1, frame(b"ok"))],
            &[(0, skipped(17, 0)), (1, frame(b"ok"))],
        ],
    );
    // Max 1 and "aa": on the read of "aa"; a byte at a time, on the second byte's read.
    let tiny = |mode| Delimited::newline().max_frame_len(1).on_overlong(mode);
    timing(
        "newline, max 1, aa",
        tiny,
        &[b"aa"],
        [
            &[(0, TOO_LONG)],
            &[(1, skipped(2, 0))],
            &[(0, skipped(2, 0))],
        ],
    );
    timing(
        "newline, max 1, a then a",
        tiny,
        &[b"a", b"a", b"\nb\n"],
        [
            &[(1, TOO_LONG)],
            &[(2, skipped(3, 0)), (2, frame(b"b"))],
            &[(1, skipped(2, 0)), (2, frame(b"b"))],
        ],
    );
}

#[test]
fn newline_waits_when_byte_max_plus_one_may_be_the_cr_of_a_full_line() {
    let lines = |mode| Delimited::newline().max_frame_len(4).on_overlong(mode);
    // chunking-consistent: Netty's failFast reports "abcd" + "\r" at once (5 bytes > 4) but
    // frames "abcd\r\n" arriving in one read; framekit frames it in every chunking.
    timing(
        "newline, max 4, a full line and its CRLF in three reads",
        lines,
        &[b"abcd", b"\r", b"\n"],
        [
            &[(2, frame(b"abcd"))],
            &[(2, frame(b"abcd"))],
            &[(2, frame(b"abcd"))],
        ],
    );
    // The byte after the CR decides: not an LF, so the line is over-long on that read.
    timing(
        "newline, max 4, a CR that is not a line end",
        lines,
        &[b"abcd", b"\r", b"x", b"\n"],
        [
            &[(2, TOO_LONG)],
            &[(3, skipped(7, 0))],
            &[(2, skipped(5, 0))],
        ],
    );
}

#[test]
fn strict_crlf_reports_on_the_read_that_brings_byte_max_plus_one() {
    let crlf = |mode| Delimited::crlf().max_frame_len(4).on_overlong(mode);
    timing(
        "crlf, max 4, abcd then e",
        crlf,
        &[b"abcd", b"e", b"\r\nok\r\n"],
        [
            &[(1, TOO_LONG)],
            &[(2, skipped(7, 0)), (2, frame(b"ok"))],
            &[(1, skipped(5, 0)), (2, frame(b"ok"))],
        ],
    );
    timing(
        "crlf, max 4, a full line and its CRLF in three reads",
        crlf,
        &[b"abcd", b"\r", b"\n"],
        [
            &[(2, frame(b"abcd"))],
            &[(2, frame(b"abcd"))],
            &[(2, frame(b"abcd"))],
        ],
    );
}

#[test]
fn one_byte_delimiter_reports_on_the_read_that_brings_byte_max_plus_one() {
    // tokio-util's AnyDelimiterCodec::new_with_max_length(b";", b";", 4) and Netty's
    // DelimiterBasedFrameDecoder(4, failFast = true, ";").
    let semis = |mode| Delimited::byte(b';').max_frame_len(4).on_overlong(mode);
    timing(
        "byte(;), max 4, abcd then e",
        semis,
        &[b"abcd", b"e", b";ok;"],
        [
            &[(1, TOO_LONG)],
            &[(2, skipped(6, 0)), (2, frame(b"ok"))],
            &[(1, skipped(5, 0)), (2, frame(b"ok"))],
        ],
    );
    timing(
        "byte(;), max 4, a full frame",
        semis,
        &[b"abcd", b";"],
        [
            &[(1, frame(b"abcd"))],
            &[(1, frame(b"abcd"))],
            &[(1, frame(b"abcd"))],
        ],
    );
}

#[test]
fn sequence_waits_only_while_the_tail_may_begin_the_delimiter() {
    // Netty DelimiterBasedFrameDecoder(4, failFast = true, "--").
    let dashes = |mode| {
        Delimited::sequence(b"--")
            .max_frame_len(4)
            .on_overlong(mode)
    };
    timing(
        "sequence(--), max 4, five bytes in one read",
        dashes,
        &[b"abcde", b"--ok--"],
        [
            &[(0, TOO_LONG)],
            &[(1, skipped(7, 0)), (1, frame(b"ok"))],
            &[(0, skipped(5, 0)), (1, frame(b"ok"))],
        ],
    );
    // chunking-consistent: Netty's failFast reports "abcd" + "-" at once; the second dash
    // ends a frame of the maximum.
    timing(
        "sequence(--), max 4, a full frame and its delimiter in three reads",
        dashes,
        &[b"abcd", b"-", b"-"],
        [
            &[(2, frame(b"abcd"))],
            &[(2, frame(b"abcd"))],
            &[(2, frame(b"abcd"))],
        ],
    );
    timing(
        "sequence(--), max 4, a dash that does not begin the delimiter",
        dashes,
        &[b"abcd", b"-", b"x", b"--"],
        [
            &[(2, TOO_LONG)],
            &[(3, skipped(8, 0))],
            &[(2, skipped(5, 0))],
        ],
    );
}

#[test]
fn any_of_waits_only_while_the_tail_may_begin_a_delimiter() {
    // Netty DelimiterBasedFrameDecoder(4, failFast = true, ";", "--").
    let either = |mode| {
        Delimited::any_of([&b";"[..], b"--"])
            .max_frame_len(4)
            .on_overlong(mode)
    };
    timing(
        "any_of(; --), max 4, abcd then e",
        either,
        &[b"abcd", b"e", b";"],
        [
            &[(1, TOO_LONG)],
            &[(2, skipped(6, 0))],
            &[(1, skipped(5, 0))],
        ],
    );
    timing(
        "any_of(; --), max 4, a dash then a semicolon",
        either,
        &[b"abcd", b"-", b";"],
        [
            &[(2, TOO_LONG)],
            &[(2, skipped(6, 0))],
            &[(2, skipped(5, 0))],
        ],
    );
    timing(
        "any_of(; --), max 4, a full frame ending in --",
        either,
        &[b"abcd", b"-", b"-"],
        [
            &[(2, frame(b"abcd"))],
            &[(2, frame(b"abcd"))],
            &[(2, frame(b"abcd"))],
        ],
    );
}
