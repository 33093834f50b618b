//! The sans-IO driver behind every law: feeds bytes to a `Decoder` in chunks the caller chooses,
//! the way `Framed` would, and records what came out and how much the codec kept buffered.
//!
//! It owns the `BytesMut`; the codec only sees `decode` and `decode_eof` calls. No runtime, no
//! socket: the same function runs under proptest, under a fuzzer and in a plain unit test.

use std::any::Any;
use std::fmt::{self, Debug, Display};

use bytes::BytesMut;
use tokio_util::codec::Decoder;

use super::{Law, LawViolation};
use crate::framing::work;
use crate::FrameError;

/// Slack allowed on top of the bytes that arrived before the read buffer's capacity counts as
/// "reserved for a length a peer merely declared". Generous on purpose: it must not trip on
/// ordinary doubling growth, only on a reservation sized by a header.
const CAPACITY_SLACK: usize = 256 * 1024;

/// Cuts `bytes` into chunks whose lengths are `sizes`, repeated as often as needed.
///
/// Empty `sizes` means the whole buffer at once; a size of zero counts as one byte; `[1]` feeds
/// one byte at a time. The last chunk is whatever is left.
///
/// ```
/// use framekit::testing::chunks;
/// let cut: Vec<&[u8]> = chunks(b"abcdefg", &[1, 2]).collect();
/// assert_eq!(cut, [&b"a"[..], b"bc", b"d", b"ef", b"g"]);
/// assert_eq!(chunks(b"abc", &[]).count(), 1);
/// ```
pub fn chunks<'a>(bytes: &'a [u8], sizes: &'a [usize]) -> impl Iterator<Item = &'a [u8]> + 'a {
    let mut at = 0;
    let mut i = 0;
    std::iter::from_fn(move || {
        if at >= bytes.len() {
            return None;
        }
        let size = match sizes {
            [] => bytes.len(),
            _ => sizes[i % sizes.len()].max(1),
        };
        i += 1;
        let end = at.saturating_add(size).min(bytes.len());
        let chunk = &bytes[at..end];
        at = end;
        Some(chunk)
    })
}

/// One result a decoder produced.
pub(crate) enum Event<I, E> {
    Frame(I),
    Error(E),
}

impl<I: Debug, E: Display> Debug for Event<I, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Event::Frame(item) => write!(f, "frame {item:?}"),
            Event::Error(err) => write!(f, "error \"{err}\""),
        }
    }
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum End {
    /// `decode_eof` returned `Ok(None)` with this many bytes still in the buffer.
    Clean { left: usize },
    /// An error that consumed no byte: a `Framed` stream stops there, and so does the driver.
    Stopped,
}

/// The work counted from the start of a run up to one of its results (or its end).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Segment {
    /// Bytes examined so far, as reported through [`work::examined`].
    pub(crate) work: u64,
    /// Bytes of the stream that had arrived.
    pub(crate) arrived: usize,
    /// `decode` / `decode_eof` calls made so far.
    pub(crate) calls: usize,
}

/// Everything a decoder produced from one input.
pub(crate) struct Run<I, E> {
    pub(crate) events: Vec<Event<I, E>>,
    pub(crate) end: End,
    /// One per event, and one at the end.
    pub(crate) segments: Vec<Segment>,
}

impl<I: Debug, E: Display> Debug for Run<I, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Run")
            .field("events", &self.events)
            .field("end", &self.end)
            .finish()
    }
}

/// Counts work and calls from the start of the run, and records them at every result.
struct Meter {
    started: u64,
    calls: usize,
    segments: Vec<Segment>,
}

impl Meter {
    fn new() -> Self {
        Meter {
            started: work::total(),
            calls: 0,
            segments: Vec::new(),
        }
    }

    fn close(&mut self, arrived: usize) {
        self.segments.push(Segment {
            work: work::total().wrapping_sub(self.started),
            arrived,
            calls: self.calls,
        });
    }
}

/// A comparison key for an error: its message, except that a [`FrameError::TooLong`] keeps only
/// its kind, offset and limit. How much of an over-long frame a decoder saw before giving up
/// (and so whether it knew the exact length) depends on how the bytes arrived; where the frame
/// starts and which limit it broke do not.
pub(crate) fn error_key<E: Display + 'static>(err: &E) -> String {
    match (err as &dyn Any).downcast_ref::<FrameError>() {
        Some(FrameError::TooLong {
            max,
            offset,
            reason,
            ..
        }) => {
            format!("frame at byte {offset} over the maximum of {max} ({reason:?})")
        }
        _ => err.to_string(),
    }
}

/// Feeds `input` to `codec` in `chunks(input, sizes)`, then ends the stream.
///
/// After every `decode` that answers "need more", the bytes left in the buffer must fit
/// `buffer_limit` (when known) and the buffer's capacity must stay in proportion to what
/// arrived. A decoder that keeps producing results without consuming input is stopped.
pub(crate) fn drive<D>(
    codec: &mut D,
    input: &[u8],
    sizes: &[usize],
    buffer_limit: Option<usize>,
) -> Result<Run<D::Item, D::Error>, LawViolation>
where
    D: Decoder,
    D::Error: 'static,
{
    let mut buf = BytesMut::new();
    let mut events = Vec::new();
    let mut arrived = 0usize;
    // Every frame or recoverable error takes at least one byte; more results than bytes (plus
    // one for a final word at EOF) means the decoder would spin forever inside `Framed`.
    let max_events = input.len() + 1;
    let too_many = |n: usize| {
        (n > max_events).then(|| {
            LawViolation::new(
                Law::NoPanic,
                format!(
                    "the decoder produced {n} results from {} bytes: a result that consumes \
                     nothing makes `Framed` loop forever",
                    input.len()
                ),
            )
        })
    };

    // One decode loop for both phases: `eof` picks `decode_eof`, which also ends the run when
    // it answers "nothing more".
    let mut meter = Meter::new();
    let mut drain = |buf: &mut BytesMut,
                     events: &mut Vec<Event<D::Item, D::Error>>,
                     meter: &mut Meter,
                     arrived: usize,
                     eof: bool|
     -> Result<Option<End>, LawViolation> {
        loop {
            let before = buf.len();
            let result = if eof {
                codec.decode_eof(buf)
            } else {
                codec.decode(buf)
            };
            meter.calls += 1;
            match result {
                Ok(Some(item)) => {
                    events.push(Event::Frame(item));
                    meter.close(arrived);
                }
                Ok(None) if eof => {
                    meter.close(arrived);
                    return Ok(Some(End::Clean { left: buf.len() }));
                }
                Ok(None) => {
                    check_buffered(buf, arrived, buffer_limit)?;
                    return Ok(None);
                }
                Err(err) => {
                    if let Some(FrameError::Strategy { fault, offset }) =
                        (&err as &dyn Any).downcast_ref::<FrameError>()
                    {
                        return Err(LawViolation::new(
                            Law::Progress,
                            format!(
                                "at stream byte {offset}, with {} bytes buffered, the strategy \
                                 broke the decoding contract: {fault} (asked again, it would \
                                 keep the caller looping or cut outside the buffer)",
                                buf.len()
                            ),
                        ));
                    }
                    // A framekit error that leaves the stream out of sync ends the run, whether
                    // or not the call consumed bytes first (a silent discard before it): what a
                    // caller does after it is not part of the framing, so no law may depend on it.
                    let fatal = (&err as &dyn Any)
                        .downcast_ref::<FrameError>()
                        .is_some_and(|e| !e.is_recoverable());
                    events.push(Event::Error(err));
                    meter.close(arrived);
                    if fatal || buf.len() == before {
                        return Ok(Some(End::Stopped));
                    }
                }
            }
            if let Some(v) = too_many(events.len()) {
                return Err(v);
            }
        }
    };

    for chunk in chunks(input, sizes) {
        buf.extend_from_slice(chunk);
        arrived += chunk.len();
        if let Some(end) = drain(&mut buf, &mut events, &mut meter, arrived, false)? {
            let segments = meter.segments;
            return Ok(Run {
                events,
                end,
                segments,
            });
        }
    }
    let end = drain(&mut buf, &mut events, &mut meter, arrived, true)?
        .expect("decode_eof's loop only ends by ending the run");
    let segments = meter.segments;
    Ok(Run {
        events,
        end,
        segments,
    })
}

fn check_buffered(
    buf: &BytesMut,
    arrived: usize,
    buffer_limit: Option<usize>,
) -> Result<(), LawViolation> {
    if let Some(limit) = buffer_limit {
        if buf.len() > limit {
            return Err(LawViolation::new(
                Law::BoundedBuffering,
                format!(
                    "the decoder waits for more bytes while holding {} bytes, over its buffer \
                     limit of {limit}: it must fail before buffering that much",
                    buf.len()
                ),
            ));
        }
    }
    let allowed = arrived.saturating_mul(4).saturating_add(CAPACITY_SLACK);
    if buf.capacity() > allowed {
        return Err(LawViolation::new(
            Law::BoundedBuffering,
            format!(
                "the read buffer's capacity is {} bytes after only {arrived} bytes arrived: \
                 room must grow with what arrives, not with what a header declares",
                buf.capacity()
            ),
        ));
    }
    Ok(())
}

/// Whether two runs are the same: equal frames, errors with equal keys, the same ending.
pub(crate) fn same_runs<I, E>(a: &Run<I, E>, b: &Run<I, E>) -> bool
where
    I: PartialEq,
    E: Display + 'static,
{
    a.end == b.end
        && a.events.len() == b.events.len()
        && a.events.iter().zip(&b.events).all(|pair| match pair {
            (Event::Frame(x), Event::Frame(y)) => x == y,
            (Event::Error(x), Event::Error(y)) => error_key(x) == error_key(y),
            _ => false,
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framing::delimited::Delimited;
    use crate::FrameCodec;

    #[test]
    fn chunks_cover_the_input_once_in_order() {
        let input: Vec<u8> = (0..=255).collect();
        for sizes in [&[][..], &[1], &[0], &[3, 1, 7], &[1000]] {
            let joined: Vec<u8> = chunks(&input, sizes).flatten().copied().collect();
            assert_eq!(joined, input, "sizes {sizes:?}");
        }
        assert_eq!(chunks(&input, &[1]).count(), 256);
        assert_eq!(chunks(b"", &[1]).count(), 0);
    }

    #[test]
    fn too_long_errors_compare_by_offset_and_limit_only() {
        let a = FrameError::TooLong {
            len: 10,
            max: 4,
            offset: 3,
            exact: false,
            reason: None,
        };
        let b = FrameError::TooLong {
            len: 99,
            max: 4,
            offset: 3,
            exact: false,
            reason: None,
        };
        let exact = FrameError::TooLong {
            len: 10,
            max: 4,
            offset: 3,
            exact: true,
            reason: None,
        };
        let elsewhere = FrameError::TooLong {
            len: 10,
            max: 4,
            offset: 4,
            exact: false,
            reason: None,
        };
        assert_eq!(error_key(&a), error_key(&b));
        assert_eq!(error_key(&a), error_key(&exact));
        assert_ne!(error_key(&a), error_key(&elsewhere));
    }

    #[test]
    fn a_fatal_error_stops_the_run_and_a_clean_end_reports_leftovers() {
        let mut strict = FrameCodec::new(Delimited::crlf());
        let run = drive(&mut strict, b"ok\r\nbad\nmore\r\n", &[], None).unwrap();
        assert_eq!(run.events.len(), 2);
        assert_eq!(run.end, End::Stopped);

        let mut lines = FrameCodec::new(Delimited::newline());
        let run = drive(&mut lines, b"a\nb\n", &[1], None).unwrap();
        assert_eq!(run.events.len(), 2);
        assert_eq!(run.end, End::Clean { left: 0 });
    }

    #[test]
    fn holding_more_than_the_buffer_limit_is_a_violation() {
        // A newline codec holds up to 64 KiB + 2 while it waits; claim the limit is 8.
        let mut lines = FrameCodec::new(Delimited::newline());
        let err = drive(&mut lines, b"0123456789", &[], Some(8)).unwrap_err();
        assert_eq!(err.law(), Law::BoundedBuffering);
    }

    /// A decoder that reserves whatever a 4-byte header declares: the mistake the capacity
    /// check exists for.
    struct Greedy;
    impl Decoder for Greedy {
        type Item = ();
        type Error = std::io::Error;
        fn decode(&mut self, src: &mut BytesMut) -> Result<Option<()>, std::io::Error> {
            if let Some(h) = src.get(..4) {
                src.reserve(u32::from_be_bytes(h.try_into().unwrap()) as usize);
            }
            Ok(None)
        }
    }

    #[test]
    fn reserving_a_declared_length_is_a_violation() {
        let err = drive(&mut Greedy, b"\x01\0\0\0", &[], None).unwrap_err();
        assert_eq!(err.law(), Law::BoundedBuffering);
        assert!(err.to_string().contains("capacity"), "{err}");
    }

    /// A decoder that answers a frame forever without consuming anything.
    struct Endless;
    impl Decoder for Endless {
        type Item = ();
        type Error = std::io::Error;
        fn decode(&mut self, _: &mut BytesMut) -> Result<Option<()>, std::io::Error> {
            Ok(Some(()))
        }
    }

    #[test]
    fn endless_results_are_stopped_and_reported() {
        let err = drive(&mut Endless, b"x", &[], None).unwrap_err();
        assert_eq!(err.law(), Law::NoPanic);
    }
}
