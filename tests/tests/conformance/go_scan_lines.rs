//! Conformance with Go's `bufio.ScanLines`: the cases its documentation gives, each under many
//! chunkings.

use super::*;

fn scan_lines() -> Delimited {
    Delimited::newline()
        .on_trailing(Trailing::DeliverWithoutCr)
        .max_frame_len(64 * 1024)
}

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
