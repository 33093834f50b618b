//! The laws' single checks (`check_*`): one input, one law, a [`LawViolation`] or nothing. The
//! property runners in the parent module draw the inputs; a fuzzer calls these directly.

use std::fmt::{Debug, Display};
use std::panic::{catch_unwind, AssertUnwindSafe};

use bytes::BytesMut;
use tokio_util::codec::Decoder;

use super::drive::{drive, same_runs, End, Event, Run, Segment};
use super::law::{escaped, shortened};
use super::laws::AtEof;
use super::{CutStream, Law, LawViolation, Laws};
#[cfg(doc)]
use crate::{framing::Framing, FrameCodec};

impl<D, M> Laws<D, M>
where
    D: Decoder + 'static,
    D::Item: Debug + PartialEq + PartialEq<M>,
    D::Error: Display + Debug + 'static,
    M: Clone + Debug + 'static,
{
    /// Checks law `linear_work` on `bytes` fed in `chunks(bytes, sizes)`.
    pub fn check_linear_work(&self, bytes: &[u8], sizes: &[usize]) -> Result<(), LawViolation> {
        guarded(Law::LinearWork, || {
            let run = self
                .drive(bytes, sizes)
                .map_err(|v| v.relabel(Law::BoundedBuffering, Law::LinearWork))?;
            let (per_byte, per_call) = self.work_bound;
            let allowed = |s: &Segment| per_byte * s.arrived as u64 + per_call * s.calls as u64;
            match run
                .segments
                .iter()
                .enumerate()
                .find(|(_, s)| s.work > allowed(s))
            {
                None => Ok(()),
                Some((i, s)) => Err(LawViolation::new(
                    Law::LinearWork,
                    format!(
                        "{} fed in chunks of {sizes:?}: by result {i}, {} bytes were examined \
                         for {} bytes that arrived in {} decode calls, over the {} allowed \
                         ({per_byte} per byte + {per_call} per call): work grows faster than \
                         the input",
                        escaped(bytes),
                        s.work,
                        s.arrived,
                        s.calls,
                        allowed(s)
                    ),
                )),
            }
        })
    }

    /// Checks law `round_trip` on `messages`. A message the encoder refuses is a violation.
    pub fn check_round_trip(&self, messages: &[M]) -> Result<(), LawViolation> {
        guarded(Law::RoundTrip, || self.round_trip_inner(messages, false))
    }

    /// Checks law `round_trip` on the messages the encoder accepts; a refused message must
    /// leave the output untouched. For fuzzers, whose messages are arbitrary.
    pub fn check_round_trip_encodable(&self, messages: &[M]) -> Result<(), LawViolation> {
        guarded(Law::RoundTrip, || self.round_trip_inner(messages, true))
    }

    /// Checks law `chunking` on `bytes` fed in `chunks(bytes, sizes)` against the whole buffer.
    pub fn check_chunking(&self, bytes: &[u8], sizes: &[usize]) -> Result<(), LawViolation> {
        guarded(Law::Chunking, || {
            let whole = self.drive(bytes, &[])?;
            let cut = self.drive(bytes, sizes)?;
            if same_runs(&whole, &cut) {
                return Ok(());
            }
            Err(LawViolation::new(
                Law::Chunking,
                shortened(format!(
                    "{} fed whole gave {whole:?}\nbut in chunks of {sizes:?} it gave {cut:?}",
                    escaped(bytes)
                )),
            ))
        })
    }

    /// Checks laws `no_panic` and `bounded_buffering` on `bytes` fed in `chunks(bytes, sizes)`
    /// and whole.
    pub fn check_arbitrary_bytes(&self, bytes: &[u8], sizes: &[usize]) -> Result<(), LawViolation> {
        guarded(Law::BoundedBuffering, || {
            self.drive(bytes, sizes)?;
            self.drive(bytes, &[])?;
            Ok(())
        })
    }

    /// Checks law `max_length` on `bytes` fed in `chunks(bytes, sizes)`.
    pub fn check_max_length(&self, bytes: &[u8], sizes: &[usize]) -> Result<(), LawViolation> {
        guarded(Law::MaxLength, || {
            let relabel = |v: LawViolation| v.relabel(Law::BoundedBuffering, Law::MaxLength);
            let run = self.drive(bytes, sizes).map_err(relabel)?;
            let Some(limit) = self.limits.map(|l| l.frame) else {
                return Ok(());
            };
            let mut lens = match &self.frame_lens {
                Some(frame_lens) => frame_lens(bytes, sizes).map_err(relabel)?,
                None => Vec::new(),
            };
            if let Some(measure) = &self.measure {
                lens.extend(run.events.iter().filter_map(|e| match e {
                    Event::Frame(item) => Some(measure(item)),
                    Event::Error(_) => None,
                }));
            }
            match lens.iter().find(|&&len| len > limit) {
                Some(len) => Err(LawViolation::new(
                    Law::MaxLength,
                    format!(
                        "a {len}-byte frame came out of {} although the limit is {limit}",
                        escaped(bytes)
                    ),
                )),
                None => Ok(()),
            }
        })
    }

    /// Checks law `eof` on one stream: clean when whole, the documented ending when the last
    /// message is cut short.
    pub fn check_eof(&self, input: &CutStream<M>) -> Result<(), LawViolation> {
        guarded(Law::Eof, || self.eof_inner(input))
    }

    /// Checks law `fast_path` on `bytes` fed in `chunks(bytes, sizes)`: for a [`FrameCodec`]'s
    /// strategy, [`decide_frame`](Framing::decide_frame) answers as
    /// [`decide`](Framing::decide) would; any other codec passes (see [`fast_path`](Laws::fast_path)).
    pub fn check_fast_path(&self, bytes: &[u8], sizes: &[usize]) -> Result<(), LawViolation> {
        match &self.fast_path {
            Some(check) => guarded(Law::FastPath, || check(bytes, sizes)),
            None => Ok(()),
        }
    }

    /// Runs every byte law on one input: no panic, bounded buffering, max length, chunking,
    /// linear work and the fast path. The entry point for fuzz targets fed arbitrary bytes.
    pub fn check_bytes(&self, bytes: &[u8], sizes: &[usize]) -> Result<(), LawViolation> {
        self.check_arbitrary_bytes(bytes, sizes)?;
        self.check_max_length(bytes, sizes)?;
        self.check_chunking(bytes, sizes)?;
        self.check_linear_work(bytes, sizes)?;
        self.check_fast_path(bytes, sizes)
    }

    pub(super) fn drive(
        &self,
        bytes: &[u8],
        sizes: &[usize],
    ) -> Result<Run<D::Item, D::Error>, LawViolation> {
        drive(
            &mut (self.make)(),
            bytes,
            sizes,
            self.limits.map(|l| l.buffer),
        )
    }

    /// Encodes `messages` with one codec; with `skip_refused`, refused messages are dropped
    /// (after checking they wrote nothing) and the accepted ones returned.
    pub(super) fn encode_all(
        &self,
        messages: &[M],
        skip_refused: bool,
        law: Law,
    ) -> Result<(BytesMut, Vec<M>), LawViolation> {
        let mut codec = (self.make)();
        let mut wire = BytesMut::new();
        let mut sent = Vec::with_capacity(messages.len());
        for (i, message) in messages.iter().enumerate() {
            let before = wire.len();
            match (self.encode)(&mut codec, message.clone(), &mut wire) {
                Ok(()) => sent.push(message.clone()),
                Err(e) if skip_refused && wire.len() == before => {
                    let _ = e;
                }
                Err(e) if skip_refused => {
                    return Err(LawViolation::new(
                        law,
                        format!(
                            "the encoder refused message {i} ({message:?}: {e}) but left {} bytes \
                             of it in the output",
                            wire.len() - before
                        ),
                    ))
                }
                Err(e) => {
                    return Err(LawViolation::new(
                        law,
                        format!("the encoder refused message {i} ({message:?}): {e}"),
                    ))
                }
            }
        }
        Ok((wire, sent))
    }

    pub(super) fn round_trip_inner(
        &self,
        messages: &[M],
        skip_refused: bool,
    ) -> Result<(), LawViolation> {
        let (wire, sent) = self.encode_all(messages, skip_refused, Law::RoundTrip)?;
        let run = self
            .drive(&wire, &[])
            .map_err(|v| v.relabel(Law::BoundedBuffering, Law::RoundTrip))?;
        let frames: Vec<&D::Item> = run
            .events
            .iter()
            .filter_map(|e| match e {
                Event::Frame(item) => Some(item),
                Event::Error(_) => None,
            })
            .collect();
        let equal = frames.len() == sent.len() && frames.iter().zip(&sent).all(|(d, m)| *d == m);
        if equal && frames.len() == run.events.len() && run.end == (End::Clean { left: 0 }) {
            return Ok(());
        }
        Err(LawViolation::new(
            Law::RoundTrip,
            shortened(format!(
                "sent {sent:?}\nas {}\nbut decoding gave {run:?}",
                escaped(&wire)
            )),
        ))
    }

    pub(super) fn eof_inner(&self, input: &CutStream<M>) -> Result<(), LawViolation> {
        let fail = |detail: String| Err(LawViolation::new(Law::Eof, shortened(detail)));
        match (self.make)().decode_eof(&mut BytesMut::new()) {
            Ok(None) => {}
            other => {
                return fail(format!(
                    "an empty stream ended with {other:?}, not Ok(None)"
                ))
            }
        }

        let (wire, sent) = self.encode_all(&input.messages, false, Law::Eof)?;
        let run = self
            .drive(&wire, &input.sizes)
            .map_err(|v| v.relabel(Law::BoundedBuffering, Law::Eof))?;
        let clean = run.end == (End::Clean { left: 0 })
            && run.events.len() == sent.len()
            && run.events.iter().all(|e| matches!(e, Event::Frame(_)));
        if !clean {
            return fail(format!(
                "{} (whole frames only) ended with {run:?}, not a clean end",
                escaped(&wire)
            ));
        }

        // Cut the last message's encoding short: between one byte and all but one.
        let Some(last) = sent.last() else {
            return Ok(());
        };
        let mut codec = (self.make)();
        let mut tail = BytesMut::new();
        (self.encode)(&mut codec, last.clone(), &mut tail)
            .map_err(|e| LawViolation::new(Law::Eof, e))?;
        if tail.len() < 2 {
            return Ok(());
        }
        let keep = 1 + input.cut % (tail.len() - 1);
        let cut_at = wire.len() - tail.len() + keep;
        let run = self
            .drive(&wire[..cut_at], &input.sizes)
            .map_err(|v| v.relabel(Law::BoundedBuffering, Law::Eof))?;
        let whole = sent.len() - 1;
        let leading_frames_ok = run.events.len() > whole
            && run.events[..whole]
                .iter()
                .zip(&sent)
                .all(|(e, m)| matches!(e, Event::Frame(item) if item == m));
        let ending = &run.events[whole.min(run.events.len())..];
        let over_limit = self.limits.is_some_and(|l| keep > l.frame);
        let ok = leading_frames_ok
            && match &self.at_eof {
                AtEof::Error(is_documented) => {
                    matches!(ending, [Event::Error(e)] if is_documented(e, keep))
                }
                // A cut inside a multi-byte delimiter, after a payload at the maximum, leaves
                // more trailing bytes than a frame may carry: delivering them would break the
                // maximum, so the codec's over-long handling applies and no frame comes out.
                AtEof::Delivered if over_limit => {
                    !ending.iter().any(|e| matches!(e, Event::Frame(_)))
                }
                AtEof::Delivered => {
                    matches!(ending, [Event::Frame(_)]) && run.end == (End::Clean { left: 0 })
                }
            };
        if ok {
            return Ok(());
        }
        let expected = match self.at_eof {
            AtEof::Error(_) => {
                format!("{whole} frames, then the documented error for {keep} buffered bytes")
            }
            AtEof::Delivered if over_limit => {
                format!(
                    "{whole} frames, then no frame: the {keep} trailing bytes are over the maximum"
                )
            }
            AtEof::Delivered => {
                format!("{whole} frames, then the {keep} trailing bytes as a last frame")
            }
        };
        fail(format!(
            "{} (cut {keep} bytes into its last frame) gave {run:?}, expected {expected}",
            escaped(&wire[..cut_at])
        ))
    }
}

/// Runs `f`, turning a panic into a `no_panic` violation that names the law being checked.
fn guarded<T>(law: Law, f: impl FnOnce() -> Result<T, LawViolation>) -> Result<T, LawViolation> {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|panic| {
        let message = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a non-string panic".into());
        Err(LawViolation::new(
            Law::NoPanic,
            format!("the codec panicked while law `{law}` was checked: {message}"),
        ))
    })
}
