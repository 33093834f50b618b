//! Borrowed frames: every whole frame of a buffer as a `&[u8]` slice of that buffer.
//!
//! For handlers that look at each frame once and keep none of them: no allocation and no
//! reference count per frame. The caller owns the buffer and drops the consumed bytes from its
//! front afterwards ([`Frames::consumed`]), which is what keeps the strategy's search position
//! valid for the next read.

use std::iter::FusedIterator;
use std::ops::Range;

use super::{Decision, Framing, InPlace};
use crate::error::StrategyFault;
use crate::FrameError;

/// An iterator over the whole frames at the front of a buffer, yielding payloads as slices of it.
///
/// It stops at the first incomplete frame (or after the first error, having
/// [`reset`](Framing::reset) the strategy). Then drop [`consumed`](Self::consumed) bytes from
/// the front of the buffer, append what arrives next, and iterate again with the same strategy:
/// this is the [decoding contract](Framing#the-decoding-contract), so nothing is scanned twice.
///
/// An over-long frame that the strategy skips ([`Decision::Discard`]) is reported once as
/// [`FrameError::Skipped`] and iteration goes on. Error offsets count from the first byte of
/// the buffer, plus the base set with [`stream_offset`](Self::stream_offset).
///
/// ```
/// use bytes::{Buf, BytesMut};
/// use framekit::framing::{delimited::Delimited, Frames};
///
/// let mut lines = Delimited::newline();
/// let mut buf = BytesMut::from(&b"one\ntwo\nthr"[..]);
/// let mut seen = Vec::new();
///
/// let mut frames = Frames::new(&mut lines, &buf);
/// for frame in frames.by_ref() {
///     seen.push(String::from_utf8_lossy(frame?).into_owned());
/// }
/// let consumed = frames.consumed();
/// buf.advance(consumed); // "thr" stays for the next read
///
/// buf.extend_from_slice(b"ee\n");
/// let mut frames = Frames::new(&mut lines, &buf);
/// assert_eq!(frames.next().unwrap()?, b"three");
/// assert!(frames.next().is_none());
/// assert_eq!(frames.consumed(), 6);
/// assert_eq!(seen, ["one", "two"]);
/// # Ok::<(), framekit::FrameError>(())
/// ```
#[derive(Debug)]
pub struct Frames<'a, F: Framing + ?Sized> {
    framing: &'a mut F,
    buf: &'a [u8],
    /// Bytes of `buf` taken by the frames (and discarded bytes) yielded so far.
    at: usize,
    /// Stream offset of `buf[0]`, added to error offsets.
    base: u64,
    /// Set once an incomplete frame or an error ends the iteration.
    done: bool,
    /// The last answer that changed anything was a zero-byte discard (see
    /// [`StrategyFault::RepeatedEmptyDiscard`]).
    empty_discard: bool,
}

impl<'a, F: Framing + ?Sized> Frames<'a, F> {
    /// Iterates over the whole frames at the front of `buf`, framed by `framing`.
    pub fn new(framing: &'a mut F, buf: &'a [u8]) -> Self {
        Frames {
            framing,
            buf,
            at: 0,
            base: 0,
            done: false,
            empty_discard: false,
        }
    }

    /// Sets the stream offset of the buffer's first byte, so error offsets are stream offsets
    /// (as [`FrameCodec`](crate::FrameCodec) reports them) rather than buffer offsets.
    pub fn stream_offset(mut self, base: u64) -> Self {
        self.base = base;
        self
    }

    /// How many bytes at the front of the buffer the frames yielded so far took, delimiters,
    /// headers and skipped bytes included: drop them before the next iteration.
    pub fn consumed(&self) -> usize {
        self.at
    }

    /// The bytes after the last frame yielded: the start of a frame still arriving.
    pub fn remaining(&self) -> &'a [u8] {
        &self.buf[self.at..]
    }

    fn fail(&mut self, err: FrameError) -> Option<Result<&'a [u8], FrameError>> {
        self.done = true;
        self.framing.reset();
        Some(Err(err.shifted(self.base + self.at as u64)))
    }
}

impl<'a, F: Framing + ?Sized> Frames<'a, F> {
    /// Everything the strategy's fast path ([`Framing::decide_frame`]) leaves to `decide`:
    /// skipped bytes, the end of the buffer, errors, and every frame of a strategy without a
    /// fast path. Out of line, so that the per-frame path of [`next`](Iterator::next) stays a
    /// few instructions around the strategy's search (at 32 B frames the loop's own cost is
    /// most of the cost).
    #[cold]
    #[inline(never)]
    fn settle(&mut self) -> Option<Result<&'a [u8], FrameError>> {
        loop {
            let rest = &self.buf[self.at..];
            // `decide` is never asked about nothing: a discard may have emptied the buffer.
            if rest.is_empty() {
                self.done = true;
                return None;
            }
            match self.framing.decide(rest) {
                Ok(Decision::Frame { len, payload }) => return self.take(rest, len, payload),
                Ok(Decision::Discard { len, skipped_frame }) => {
                    let fault = match (len, skipped_frame.is_some(), self.empty_discard) {
                        (1.., _, _) if len > rest.len() => {
                            Some(StrategyFault::DiscardOutsideBuffer)
                        }
                        (1.., _, _) => None,
                        (0, false, _) => Some(StrategyFault::EmptyDiscard),
                        (0, true, repeated) => {
                            repeated.then_some(StrategyFault::RepeatedEmptyDiscard)
                        }
                    };
                    if let Some(fault) = fault {
                        return self.fail(FrameError::Strategy { offset: 0, fault });
                    }
                    self.empty_discard = len == 0;
                    let piece_start = self.base + self.at as u64;
                    self.at += len;
                    if let Some(report) = skipped_frame {
                        return Some(Err(report.error(piece_start)));
                    }
                }
                Ok(Decision::Incomplete { .. }) => {
                    self.done = true;
                    return None;
                }
                Err(err) => return self.fail(err),
            }
        }
    }

    /// The frame of `len` bytes at the front of `rest` (what is left), its payload at
    /// `payload`; a frame the strategy placed outside the buffer is an error, not a panic.
    #[inline(always)]
    fn take(
        &mut self,
        rest: &'a [u8],
        len: usize,
        payload: Range<usize>,
    ) -> Option<Result<&'a [u8], FrameError>> {
        match rest.get(..len).and_then(|frame| frame.get(payload)) {
            Some(frame) if len > 0 => {
                self.at += len;
                self.empty_discard = false;
                Some(Ok(frame))
            }
            _ => self.outside(),
        }
    }

    #[cold]
    #[inline(never)]
    fn outside(&mut self) -> Option<Result<&'a [u8], FrameError>> {
        self.fail(FrameError::Strategy {
            offset: 0,
            fault: StrategyFault::FrameOutsideBuffer,
        })
    }
}

impl<'a, F: Framing + ?Sized> Iterator for Frames<'a, F> {
    type Item = Result<&'a [u8], FrameError>;

    // Always inlined: the caller's loop then holds the whole per-frame path, and the item
    // is not returned through memory.
    #[inline(always)]
    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let rest = &self.buf[self.at..];
        if rest.is_empty() {
            // Neither `decide_frame` nor `decide` is asked about nothing.
            self.done = true;
            return None;
        }
        match self.framing.decide_frame(rest) {
            Some(InPlace { len, payload }) => self.take(rest, len, payload),
            None => self.settle(),
        }
    }
}

impl<F: Framing + ?Sized> FusedIterator for Frames<'_, F> {}

#[cfg(test)]
mod tests {
    use bytes::{Buf, BytesMut};
    use tokio_util::codec::Decoder;

    use super::*;
    use crate::framing::delimited::{Delimited, Overlong};
    use crate::framing::length_prefixed::LengthPrefixed;
    use crate::FrameCodec;

    /// Feeds `input` in `chunk`-byte reads and collects the borrowed frames (or the first error).
    fn borrowed<F: Framing>(
        framing: &mut F,
        input: &[u8],
        chunk: usize,
    ) -> Vec<Result<Vec<u8>, String>> {
        let mut buf = BytesMut::new();
        let mut out = Vec::new();
        for piece in input.chunks(chunk) {
            buf.extend_from_slice(piece);
            let mut frames = Frames::new(&mut *framing, &buf);
            for frame in frames.by_ref() {
                out.push(frame.map(<[u8]>::to_vec).map_err(|e| e.to_string()));
            }
            let consumed = frames.consumed();
            buf.advance(consumed);
        }
        out
    }

    fn owned<F: Framing>(framing: F, input: &[u8], chunk: usize) -> Vec<Result<Vec<u8>, String>> {
        let mut codec = FrameCodec::new(framing);
        let mut buf = BytesMut::new();
        let mut out = Vec::new();
        for piece in input.chunks(chunk) {
            buf.extend_from_slice(piece);
            loop {
                match codec.decode(&mut buf) {
                    Ok(Some(frame)) => out.push(Ok(frame.to_vec())),
                    Ok(None) => break,
                    Err(e) => out.push(Err(e.to_string())),
                }
            }
        }
        out
    }

    /// A strategy with its fast path hidden: every frame goes through `decide`.
    struct DecideOnly<F>(F);

    impl<F: Framing> Framing for DecideOnly<F> {
        fn decide(&mut self, buf: &[u8]) -> Result<Decision, FrameError> {
            self.0.decide(buf)
        }
        fn decide_eof(&mut self, buf: &[u8]) -> Result<Option<Decision>, FrameError> {
            self.0.decide_eof(buf)
        }
        fn frame_limit(&self) -> usize {
            self.0.frame_limit()
        }
        fn buffer_limit(&self) -> usize {
            self.0.buffer_limit()
        }
        fn encode_head(&mut self, payload: &[u8], dst: &mut BytesMut) -> Result<(), FrameError> {
            self.0.encode_head(payload, dst)
        }
        fn reset(&mut self) {
            self.0.reset()
        }
        fn reports_work(&self) -> bool {
            self.0.reports_work()
        }
    }

    /// Each read's frames (or errors), and the bytes they took.
    type Reads = Vec<(Vec<Result<Vec<u8>, String>>, usize)>;

    /// Every borrowed frame and error of `input` in `chunk`-byte reads, through the fast path
    /// and through `decide` alone, with the bytes consumed after each read.
    fn both_ways<F: Framing + Clone>(framing: &F, input: &[u8], chunk: usize) -> [Reads; 2] {
        fn run<G: Framing>(mut framing: G, input: &[u8], chunk: usize) -> Reads {
            let mut buf = BytesMut::new();
            let mut reads = Vec::new();
            for piece in input.chunks(chunk) {
                buf.extend_from_slice(piece);
                let mut frames = Frames::new(&mut framing, &buf);
                let got = frames
                    .by_ref()
                    .map(|frame| frame.map(<[u8]>::to_vec).map_err(|e| e.to_string()))
                    .collect();
                let consumed = frames.consumed();
                buf.advance(consumed);
                reads.push((got, consumed));
            }
            reads
        }
        [
            run(framing.clone(), input, chunk),
            run(DecideOnly(framing.clone()), input, chunk),
        ]
    }

    proptest::proptest! {
        #[test]
        fn the_fast_path_finds_what_decide_finds(
            input in proptest::collection::vec(proptest::sample::select(b"ab\r\n\0\x01\x02\x83".to_vec()), 0..80),
            chunk in 1usize..9,
        ) {
            // Delimited's `decide` takes its fast path itself; its own tests compare it with
            // the general search alone.
            let prefixed = [
                LengthPrefixed::u8().max_frame_len(2),
                LengthPrefixed::u16_be().max_frame_len(300),
                LengthPrefixed::varint().max_frame_len(4),
                LengthPrefixed::builder()
                    .length_field(1, crate::framing::length_prefixed::Endian::Big)
                    .length_includes_header(true)
                    .max_frame_len(2)
                    .on_overlong(Overlong::Discard)
                    .build()
                    .unwrap(),
            ];
            for framing in &prefixed {
                let [fast, slow] = both_ways(framing, &input, chunk);
                proptest::prop_assert_eq!(fast, slow, "{:?}", framing);
            }
            let [fast, slow] = both_ways(&crate::framing::fixed::FixedSize::new(3), &input, chunk);
            proptest::prop_assert_eq!(fast, slow);
        }
    }

    #[test]
    fn borrowed_frames_match_the_codec_whatever_the_chunking() {
        let mut input = Vec::new();
        for i in 0..200u32 {
            input.extend_from_slice(
                format!("line {i} {}\r\n", "x".repeat(i as usize % 37)).as_bytes(),
            );
        }
        for chunk in [1, 2, 3, 7, 64, 4096, input.len()] {
            assert_eq!(
                borrowed(&mut Delimited::newline(), &input, chunk),
                owned(Delimited::newline(), &input, chunk),
                "chunk {chunk}"
            );
        }
    }

    #[test]
    fn length_prefixed_frames_borrow_their_payloads() {
        let mut wire = BytesMut::new();
        for payload in [&b"a"[..], b"", b"hello", &[9; 300]] {
            LengthPrefixed::varint().encode(payload, &mut wire).unwrap();
        }
        for chunk in [1, 5, 1000] {
            let frames = borrowed(&mut LengthPrefixed::varint(), &wire, chunk);
            let lens: Vec<usize> = frames.iter().map(|f| f.as_ref().unwrap().len()).collect();
            assert_eq!(lens, [1, 0, 5, 300]);
        }
    }

    #[test]
    fn a_skipped_overlong_frame_is_reported_once_and_iteration_goes_on() {
        let mut lines = Delimited::newline()
            .max_frame_len(4)
            .on_overlong(Overlong::Discard);
        let input = b"ok\ntoolongline\nfine\n";
        let frames = borrowed(&mut lines, input, input.len());
        assert_eq!(
            frames,
            [
                Ok(b"ok".to_vec()),
                Err("skipped an over-long frame of 12 bytes at byte 3 (maximum 4)".into()),
                Ok(b"fine".to_vec()),
            ]
        );
    }

    #[test]
    fn an_error_ends_iteration_with_offsets_from_the_stream_base() {
        let mut crlf = Delimited::crlf();
        let mut frames = Frames::new(&mut crlf, b"ok\r\nbad\nmore\r\n").stream_offset(100);
        assert_eq!(frames.next().unwrap().unwrap(), b"ok");
        let err = frames.next().unwrap().unwrap_err();
        assert!(err.is_malformed());
        assert!(err.to_string().starts_with("malformed frame at byte 107:"));
        assert!(frames.next().is_none());
        assert_eq!(frames.consumed(), 4);
        assert_eq!(frames.remaining(), b"bad\nmore\r\n");
    }
}
