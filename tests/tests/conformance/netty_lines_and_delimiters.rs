//! Conformance with Netty 4.1's `LineBasedFrameDecoder` and `DelimiterBasedFrameDecoder`: the
//! cases their documentation gives, each under many chunkings.

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
