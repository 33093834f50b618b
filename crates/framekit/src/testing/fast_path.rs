//! Law `fast_path`: a strategy's [`Framing::decide_frame`] answers as [`Framing::decide`] would.
//!
//! Two fresh strategies see the same bytes in the same chunks: the reference is only ever asked
//! `decide`; the other is asked the way [`FrameCodec`](crate::FrameCodec) asks, `decide_frame`
//! first and `decide` when it says `None`. Every answer of the second must equal the
//! reference's, and so must their ends of stream, so a fast path that leaves the strategy in
//! another state than `decide` would is caught by what the strategy says next.

use std::fmt::{self, Display};

use crate::framing::{Decision, Framing, InPlace};

use super::law::{escaped, shortened};
use super::{Law, LawViolation};

/// One answer of a strategy, comparable: errors by their message (offsets are relative to the
/// same buffer on both sides, so equal errors print equally).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Answer {
    Decided(Decision),
    Failed(String),
    /// `decide_eof`'s clean end.
    Ended,
}

impl Display for Answer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Answer::Decided(d) => write!(f, "{d:?}"),
            Answer::Failed(e) => write!(f, "the error \"{e}\""),
            Answer::Ended => f.write_str("a clean end"),
        }
    }
}

impl<E: Display> From<Result<Decision, E>> for Answer {
    fn from(result: Result<Decision, E>) -> Self {
        match result {
            Ok(d) => Answer::Decided(d),
            Err(e) => Answer::Failed(e.to_string()),
        }
    }
}

/// What the driver does after an answer both strategies agreed on.
enum Next {
    /// Drop this many bytes from the front and ask again.
    Consume(usize),
    /// Wait for more bytes (or the end of the stream).
    Wait,
    /// The run is over: an error (after which a strategy must be reset), a clean end, or an
    /// answer no caller can act on (a frame outside the buffer, an empty frame).
    Stop,
}

fn next(answer: &Answer, buffered: usize) -> Next {
    match answer {
        Answer::Decided(Decision::Frame { len, .. }) if (1..=buffered).contains(len) => {
            Next::Consume(*len)
        }
        // Even an empty discard: it may change the strategy's state (the end of a skipped
        // frame already reported), so the caller asks again, as `FrameCodec` does.
        Answer::Decided(Decision::Discard { len, .. }) => Next::Consume((*len).min(buffered)),
        Answer::Decided(Decision::Incomplete { .. }) => Next::Wait,
        _ => Next::Stop,
    }
}

/// Feeds `bytes` in `chunks(bytes, sizes)` to `reference` (through `decide` alone) and to `fast`
/// (through `decide_frame`, then `decide`), then ends the stream on both; the first answer on
/// which they differ is the violation.
pub(crate) fn check_fast_path<F: Framing>(
    mut reference: F,
    mut fast: F,
    bytes: &[u8],
    sizes: &[usize],
) -> Result<(), LawViolation> {
    let fail = |at: usize, buf: &[u8], what: String| {
        Err(LawViolation::new(
            Law::FastPath,
            shortened(format!(
                "{} fed in chunks of {sizes:?}: with {} bytes buffered from stream byte {at} \
                 ({}), {what}",
                escaped(bytes),
                buf.len(),
                escaped(buf)
            )),
        ))
    };
    // Bytes before `start` were consumed; `end` is how many have arrived.
    let (mut start, mut end) = (0usize, 0usize);
    // Frames take a byte each, and a strategy may answer an empty discard once per frame it
    // skips: more answers than that is a loop (the codec would spin), and ends the run.
    let most_answers = 2 * bytes.len() + 2;
    let mut answers = 0usize;
    for chunk in super::chunks(bytes, sizes) {
        end += chunk.len();
        while start < end && answers < most_answers {
            let buf = &bytes[start..end];
            let expected = Answer::from(reference.decide(buf));
            let answer = match fast.decide_frame(buf) {
                Some(InPlace { len, payload }) => {
                    let claimed = Answer::Decided(Decision::Frame { len, payload });
                    if claimed != expected {
                        return fail(
                            start,
                            buf,
                            format!(
                                "decide_frame answered Some({}) but decide answers {expected}: \
                                 a fast path must find exactly the frame decide finds",
                                claimed
                            ),
                        );
                    }
                    claimed
                }
                None => {
                    let after = Answer::from(fast.decide(buf));
                    if after != expected {
                        return fail(
                            start,
                            buf,
                            format!(
                                "decide_frame answered None and the decide after it answered \
                                 {after}, but decide alone answers {expected}: a None must not \
                                 change what decide says"
                            ),
                        );
                    }
                    after
                }
            };
            answers += 1;
            match next(&answer, buf.len()) {
                Next::Consume(len) => start += len,
                Next::Wait => break,
                Next::Stop => return Ok(()),
            }
        }
    }
    // The end of the stream: `FrameCodec` takes no fast path here, so any difference is state
    // the fast path left behind.
    while answers < most_answers {
        let buf = &bytes[start..end];
        let eof = |framing: &mut F| match framing.decide_eof(buf) {
            Ok(Some(d)) => Answer::Decided(d),
            Ok(None) => Answer::Ended,
            Err(e) => Answer::Failed(e.to_string()),
        };
        let (expected, answer) = (eof(&mut reference), eof(&mut fast));
        if answer != expected {
            return fail(
                start,
                buf,
                format!(
                    "at the end of the stream decide_eof answered {answer} on the strategy that \
                     took the fast path, but {expected} on one that only used decide: the fast \
                     path left the strategy in another state than decide would"
                ),
            );
        }
        answers += 1;
        match next(&answer, buf.len()) {
            Next::Consume(len) => start += len,
            Next::Wait | Next::Stop => return Ok(()),
        }
    }
    Ok(())
}
