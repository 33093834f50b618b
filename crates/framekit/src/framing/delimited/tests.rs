//! `Delimited`'s unit tests.

use super::*;
use crate::framing::Frames;

fn frames(d: &mut Delimited, input: &[u8]) -> Vec<Vec<u8>> {
    Frames::new(d, input).map(|f| f.unwrap().to_vec()).collect()
}

#[test]
fn newline_strips_optional_cr() {
    let mut d = Delimited::newline();
    assert_eq!(frames(&mut d, b"a\nb\r\n\r\nc"), [&b"a"[..], b"b", b""]);
}

#[test]
fn newline_keeps_cr_when_told() {
    let mut d = Delimited::newline().strip_cr(false);
    assert_eq!(frames(&mut d, b"b\r\n"), [&b"b\r"[..]]);
}

#[test]
fn strict_crlf_rejects_bare_lf_and_cr_with_offsets() {
    let err = Frames::new(&mut Delimited::crlf(), b"ok\r\nbad\nx")
        .find_map(Result::err)
        .unwrap();
    // The first frame is fine; the error is found after it, at byte 7 of the input.
    assert!(
        matches!(err, FrameError::Malformed { offset: 7, .. }),
        "{err}"
    );
    let mut d = Delimited::crlf();
    assert_eq!(d.decide(b"ok\r\n").unwrap(), Decision::frame(4, 0..2));
    let err = Delimited::crlf().decide(b"a\rb\r\n").unwrap_err();
    assert!(
        matches!(err, FrameError::Malformed { offset: 1, .. }),
        "{err}"
    );
}

#[test]
fn strict_crlf_bad_byte_past_the_maximum_is_too_long_in_any_chunking() {
    // 5 bytes then a bare LF, max 4: the whole buffer and byte-by-byte reading agree.
    let input = b"abcde\n";
    let whole = Delimited::crlf()
        .max_frame_len(4)
        .decide(input)
        .unwrap_err();
    assert!(whole.is_too_long(), "{whole}");
    let mut d = Delimited::crlf().max_frame_len(4);
    let err = (1..=input.len())
        .find_map(|n| d.decide(&input[..n]).err())
        .unwrap();
    assert!(err.is_too_long(), "{err}");
    // At the maximum itself the bad byte is still what is reported.
    let err = Delimited::crlf()
        .max_frame_len(4)
        .decide(b"abcd\n")
        .unwrap_err();
    assert!(err.is_malformed(), "{err}");
    // With Discard, the over-long frame is skipped up to the next CRLF.
    let mut d = Delimited::crlf()
        .max_frame_len(4)
        .on_overlong(Overlong::Discard);
    assert_eq!(
        d.decide(b"abcde\nx\r\nok\r\n").unwrap(),
        Decision::Discard {
            len: 9,
            skipped_frame: Some(SkipReport::new(9, 0, 4))
        }
    );
}

#[test]
fn strict_crlf_waits_on_a_trailing_cr() {
    let mut d = Delimited::crlf();
    assert_eq!(d.decide(b"abc\r").unwrap(), Decision::incomplete(1));
    assert_eq!(d.decide(b"abc\r\n").unwrap(), Decision::frame(5, 0..3));
}

#[test]
fn byte_delimiter() {
    let mut d = Delimited::byte(b'|');
    assert_eq!(frames(&mut d, b"x|yy||"), [&b"x"[..], b"yy", b""]);
}

#[test]
fn sequence_delimiter_across_chunks() {
    let mut d = Delimited::sequence(b"\r\n\r\n");
    assert_eq!(d.decide(b"head\r\n").unwrap(), Decision::incomplete(1));
    assert_eq!(d.decide(b"head\r\n\r").unwrap(), Decision::incomplete(1));
    assert_eq!(
        d.decide(b"head\r\n\r\nbody").unwrap(),
        Decision::frame(8, 0..4)
    );
}

#[test]
fn any_of_earliest_end_wins_and_ties_go_to_longest() {
    let mut d = Delimited::any_of([&b"\n"[..], b"\r\n"]);
    assert_eq!(frames(&mut d, b"a\r\nb\nc"), [&b"a"[..], b"b"]);
    let mut d = Delimited::any_of([&b"abc"[..], b"b"]);
    assert_eq!(frames(&mut d, b"xabc"), [&b"xa"[..]]);
    // Chunked: "xab" already decides.
    let mut d = Delimited::any_of([&b"abc"[..], b"b"]);
    assert_eq!(d.decide(b"xab").unwrap(), Decision::frame(3, 0..2));
}

#[test]
fn any_of_encodes_with_a_delimiter_that_decodes_as_itself() {
    let mut d = Delimited::any_of([&b"\r\n\r\n"[..], b"\r\n"]);
    let mut dst = BytesMut::new();
    d.encode(b"a", &mut dst).unwrap();
    assert_eq!(&dst[..], b"a\r\n");
    let mut d = Delimited::any_of([&b";"[..], b"\n"]);
    let mut dst = BytesMut::new();
    d.encode(b"a", &mut dst).unwrap();
    assert_eq!(&dst[..], b"a;");
}

#[test]
fn any_of_waits_on_a_prefix_at_the_end() {
    let mut d = Delimited::any_of([&b"--"[..], b"=="]);
    assert_eq!(d.decide(b"abc-").unwrap(), Decision::incomplete(1));
    assert_eq!(d.searched, 3);
    assert_eq!(d.decide(b"abc--").unwrap(), Decision::frame(5, 0..3));
}

#[test]
fn too_long_without_delimiter_is_reported_on_the_byte_that_proves_it() {
    // Byte max + 1 may be the CR of a line of the maximum: wait for the next one.
    let mut d = Delimited::newline().max_frame_len(4);
    assert_eq!(d.decide(b"abcd\r").unwrap(), Decision::incomplete(1));
    assert_eq!(d.decide(b"abcd\r\n").unwrap(), Decision::frame(6, 0..4));
    // Any other byte max + 1 proves the line over-long at once.
    let mut d = Delimited::newline().max_frame_len(4);
    let err = d.decide(b"abcde").unwrap_err();
    assert!(
        matches!(
            err,
            FrameError::TooLong {
                len: 5,
                max: 4,
                exact: false,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn a_full_length_line_with_crlf_fits() {
    let mut d = Delimited::newline().max_frame_len(4);
    assert_eq!(d.decide(b"abcd\r\n").unwrap(), Decision::frame(6, 0..4));
}

#[test]
fn too_long_with_delimiter_in_buffer_is_exact() {
    let err = Delimited::newline()
        .max_frame_len(2)
        .decide(b"abc\n")
        .unwrap_err();
    assert!(matches!(
        err,
        FrameError::TooLong {
            len: 3,
            max: 2,
            exact: true,
            ..
        }
    ));
}

#[test]
fn discard_resyncs_at_the_next_delimiter() {
    let mut d = Delimited::newline()
        .max_frame_len(3)
        .on_overlong(Overlong::Discard);
    // 6 bytes, no LF: start skipping, keeping one byte that could be a CR.
    assert_eq!(
        d.decide(b"abcdef").unwrap(),
        Decision::Discard {
            len: 5,
            skipped_frame: None
        }
    );
    assert_eq!(
        d.decide(b"fgh\nok\n").unwrap(),
        Decision::Discard {
            len: 4,
            skipped_frame: Some(SkipReport::new(9, 5, 3))
        }
    );
    assert_eq!(d.decide(b"ok\n").unwrap(), Decision::frame(3, 0..2));
}

#[test]
fn discard_of_a_found_overlong_frame_is_one_step() {
    let mut d = Delimited::newline()
        .max_frame_len(1)
        .on_overlong(Overlong::Discard);
    assert_eq!(
        d.decide(b"abc\nx\n").unwrap(),
        Decision::Discard {
            len: 4,
            skipped_frame: Some(SkipReport::new(4, 0, 1))
        }
    );
    assert_eq!(d.decide(b"x\n").unwrap(), Decision::frame(2, 0..1));
}

#[test]
fn eof_policies() {
    let mut d = Delimited::newline();
    assert_eq!(d.decide_eof(b"").unwrap(), None);
    assert!(matches!(
        d.decide_eof(b"tail").unwrap_err(),
        FrameError::UnexpectedEof { buffered: 4 }
    ));
    let mut d = Delimited::newline().on_trailing(Trailing::Deliver);
    assert_eq!(
        d.decide_eof(b"a\nb").unwrap(),
        Some(Decision::frame(2, 0..1))
    );
    assert_eq!(d.decide_eof(b"b").unwrap(), Some(Decision::frame(1, 0..1)));
    let mut d = Delimited::newline()
        .on_trailing(Trailing::Deliver)
        .max_frame_len(2);
    assert!(d.decide_eof(b"abc").unwrap_err().is_too_long());
}

#[test]
fn encoder_refuses_payloads_that_would_not_round_trip() {
    let mut dst = BytesMut::new();
    let mut nl = Delimited::newline();
    assert!(nl.encode(b"a\nb", &mut dst).is_err());
    assert!(nl.encode(b"a\r", &mut dst).is_err());
    assert!(Delimited::crlf().encode(b"a\rb", &mut dst).is_err());
    let mut seq = Delimited::sequence(b"\r\n\r\n");
    assert!(
        seq.encode(b"x\r\n", &mut dst).is_err(),
        "runs into the delimiter"
    );
    assert!(Delimited::newline()
        .max_frame_len(1)
        .encode(b"ab", &mut dst)
        .is_err());
    // A trailing CR would join the LF into a CRLF, the longer delimiter, and be lost.
    let mut lf_or_crlf = Delimited::any_of([&b"\n"[..], b"\r\n"]);
    assert!(lf_or_crlf.encode(b"a\r", &mut dst).is_err(), "CR joins LF");
    assert!(dst.is_empty(), "a refused payload writes nothing");
    lf_or_crlf.encode(b"a\rb", &mut dst).unwrap();
    assert_eq!(frames(&mut lf_or_crlf, &dst), [&b"a\rb"[..]]);
    dst.clear();
    nl.encode(b"ok", &mut dst).unwrap();
    Delimited::crlf().encode(b"ok", &mut dst).unwrap();
    assert_eq!(&dst[..], b"ok\nok\r\n");
}

#[test]
#[should_panic(expected = "cannot be empty")]
fn empty_delimiter_is_a_programming_error() {
    let _ = Delimited::sequence(b"");
}

#[test]
fn fail_fast_reports_at_max_plus_one_in_any_chunking() {
    use crate::FrameCodec;
    use tokio_util::codec::Decoder;
    let wire = b"ok\nmuch too long a line\nnext\n";
    for size in 1..=wire.len() {
        let lines = Delimited::newline()
            .max_frame_len(4)
            .on_overlong(Overlong::DiscardFailFast);
        let mut codec = FrameCodec::new(lines);
        let mut buf = BytesMut::new();
        let mut got = Vec::new();
        for piece in wire.chunks(size) {
            buf.extend_from_slice(piece);
            loop {
                match codec.decode(&mut buf) {
                    Ok(Some(line)) => got.push(Ok(line)),
                    Ok(None) => break,
                    Err(e) => got.push(Err(e)),
                }
            }
        }
        assert_eq!(got.len(), 3, "chunks of {size}: {got:?}");
        assert_eq!(got[0].as_ref().unwrap(), "ok");
        assert!(
            matches!(
                got[1],
                Err(FrameError::Skipped {
                    len: 5,
                    max: 4,
                    offset: 3,
                    reason: None
                })
            ),
            "chunks of {size}: {:?}",
            got[1]
        );
        assert_eq!(got[2].as_ref().unwrap(), "next");
    }
}

#[test]
fn kept_delimiters_stay_in_the_payload() {
    let mut d = Delimited::crlf().keep_delimiter(true).max_frame_len(2);
    assert_eq!(d.decide(b"ab\r\n").unwrap(), Decision::frame(4, 0..4));
    assert_eq!(d.frame_limit(), 4);
    assert!(
        d.decide(b"abc\r\n").unwrap_err().is_too_long(),
        "the max counts the line"
    );
    let mut seq = Delimited::sequence(b"--").keep_delimiter(true);
    let mut wire = BytesMut::new();
    seq.encode(b"a--", &mut wire).unwrap();
    assert_eq!(&wire[..], b"a--");
    assert!(seq.encode(b"a--b--", &mut wire).is_err(), "two frames");
}

#[test]
fn any_of_encodes_with_the_chosen_delimiter() {
    let mut d = Delimited::any_of([&b"\n"[..], b"\r\n"])
        .encode_with(b"\r\n")
        .unwrap();
    let mut wire = BytesMut::new();
    d.encode(b"x", &mut wire).unwrap();
    assert_eq!(&wire[..], b"x\r\n");
    assert_eq!(d.decide(&wire).unwrap(), Decision::frame(3, 0..1));
    assert!(d.encode(b"x\ny", &mut wire).is_err(), "holds a delimiter");
    // "x\r" then CRLF decodes back: LF and CRLF both end at the last byte, the longer wins.
    let mut wire = BytesMut::new();
    d.encode(b"x\r", &mut wire).unwrap();
    assert_eq!(d.decide(&wire).unwrap(), Decision::frame(4, 0..2));
    // A blank line decodes as an empty line first: refused with a typed error, not a panic.
    let blank = Delimited::any_of([&b"\r\n\r\n"[..], b"\r\n"]).encode_with(b"\r\n\r\n");
    assert_eq!(blank.unwrap_err().delimiter, b"\r\n\r\n");
}

#[test]
fn an_encode_delimiter_that_does_not_decode_back_is_refused() {
    // Issue 24: `byte(b',').encode_with(b";--;")` panicked.
    for (framing, delimiter) in [
        (Delimited::byte(b','), &b";--;"[..]),
        (Delimited::newline(), b"\r"),
        (Delimited::crlf(), b"\n"),
        (Delimited::sequence(b"--"), b"-"),
        (Delimited::byte(b','), b""),
        (Delimited::byte(b','), &[b','; MAX_DELIMITER_LEN + 1]),
    ] {
        let err = framing.encode_with(delimiter).unwrap_err();
        assert_eq!(err.delimiter, delimiter);
    }
    assert!(Delimited::newline().encode_with(b"\r\n").is_ok());
}

#[test]
fn a_trailing_cr_is_dropped_at_eof_when_asked() {
    let mut d = Delimited::newline().on_trailing(Trailing::DeliverWithoutCr);
    assert_eq!(
        d.decide_eof(b"a\r").unwrap(),
        Some(Decision::frame(2, 0..1))
    );
    assert_eq!(d.decide_eof(b"a").unwrap(), Some(Decision::frame(1, 0..1)));
    assert_eq!(d.decide_eof(b"\r").unwrap(), Some(Decision::frame(1, 0..0)));
    let mut keep = Delimited::newline().on_trailing(Trailing::Deliver);
    assert_eq!(
        keep.decide_eof(b"a\r").unwrap(),
        Some(Decision::frame(2, 0..2))
    );
}

/// `Delimited` deciding without its one-byte fast path: the general search alone.
struct AnyOnly(Delimited);

impl Framing for AnyOnly {
    fn decide(&mut self, buf: &[u8]) -> Result<Decision, FrameError> {
        self.0.decide_any(buf)
    }
    fn frame_limit(&self) -> usize {
        self.0.frame_limit()
    }
    fn encode_head(&mut self, payload: &[u8], dst: &mut BytesMut) -> Result<(), FrameError> {
        self.0.encode_head(payload, dst)
    }
    fn reset(&mut self) {
        self.0.reset()
    }
}

/// Each read's frames (or errors), and the bytes they took.
type Reads = Vec<(Vec<Result<Vec<u8>, String>>, usize)>;

/// Each read's borrowed frames (or errors) and the bytes they took, `input` fed in
/// `chunk`-byte reads.
fn reads<F: Framing>(mut framing: F, input: &[u8], chunk: usize) -> Reads {
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    for piece in input.chunks(chunk) {
        buf.extend_from_slice(piece);
        let mut frames = Frames::new(&mut framing, &buf);
        let got = frames
            .by_ref()
            .map(|f| f.map(<[u8]>::to_vec).map_err(|e| e.to_string()))
            .collect();
        let consumed = frames.consumed();
        bytes::Buf::advance(&mut buf, consumed);
        out.push((got, consumed));
    }
    out
}

proptest::proptest! {
    #[test]
    fn the_one_byte_fast_path_answers_as_the_general_search(
        input in proptest::collection::vec(proptest::sample::select(b"ab\r\n\0".to_vec()), 0..80),
        chunk in 1usize..9,
    ) {
        let lines = Delimited::newline().max_frame_len(4);
        for framing in [
            lines.clone(),
            lines.clone().on_overlong(Overlong::Discard),
            lines.clone().on_overlong(Overlong::DiscardFailFast),
            lines.clone().strip_cr(false),
            lines.clone().keep_delimiter(true),
            lines.clone().keep_delimiter(true).on_overlong(Overlong::Discard),
            Delimited::byte(0).max_frame_len(3).on_overlong(Overlong::Discard),
            Delimited::byte(b'\r').max_frame_len(3),
        ] {
            proptest::prop_assert_eq!(
                reads(framing.clone(), &input, chunk),
                reads(AnyOnly(framing.clone()), &input, chunk),
                "{:?}", framing
            );
        }
    }
}
