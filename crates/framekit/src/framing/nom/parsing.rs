//! When [`NomCodec`] runs its parser: the parse passes. With a [`Boundary`], only over the whole
//! frames it found (each byte scanned once); without one, or when the boundary and the parser
//! disagree, by bounded guessing (a try waits until the bytes already spent on the frame are
//! within `GUESS_BUDGET` times its length). Every parsed item is checked against the limits
//! and queued.

use bytes::{Bytes, BytesMut};
use nom::{Err as NomErr, Needed};

use super::{Boundary, NomCodec, Scan, StreamParser, GUESS_BUDGET};
use crate::framing::work;
use crate::FrameError;

impl<P: StreamParser, B: Boundary, E> NomCodec<P, B, E> {
    /// Takes one parsed item of `used` bytes: counted as work, checked against the limits and
    /// queued. Returns false, with the error pending, when the parser's answer is refused.
    fn accept(&mut self, item: P::Item, used: usize) -> bool {
        work::examined(used);
        if let Err(e) = self.check_used(used) {
            self.pending_error = Some(e);
            return false;
        }
        self.consumed += used as u64;
        self.ready.push_back((item, used));
        true
    }

    /// Parses what `src` holds: whole frames into the queue, the partial tail left in `src`.
    pub(super) fn parse_buffered(&mut self, src: &mut BytesMut, eof: bool) {
        if self.ready.is_empty() {
            self.batch = Bytes::new();
        }
        while self.pending_error.is_none() && !src.is_empty() {
            let progressed = if !self.guessing && B::SCANS {
                self.parse_scanned(src)
            } else {
                false
            };
            if progressed {
                continue;
            }
            // Guess when the boundary has given up on this frame, or when there is none; and,
            // whatever the boundary says, at the maximum and at the end of the stream, where
            // only the parser's verdict counts.
            let must = eof || src.len() >= self.max_frame_len;
            if (self.guessing && src.len() >= self.want) || must {
                if !self.guess(src, eof) {
                    break;
                }
                continue;
            }
            break;
        }
    }

    /// Feeds the boundary what it has not seen; parses the whole frames it finds. Returns
    /// whether any frame was queued (or an error found).
    fn parse_scanned(&mut self, src: &mut BytesMut) -> bool {
        let mut whole_end = 0;
        while self.scanned < src.len() {
            let new = &src[self.scanned..];
            match self.boundary.scan(new) {
                Scan::More => {
                    work::examined(new.len());
                    self.scanned = src.len();
                }
                Scan::Ends(n) => {
                    let n = n.min(new.len());
                    work::examined(n);
                    self.scanned += n;
                    if self.scanned == whole_end {
                        // An empty frame: the boundary is confused; let the parser judge.
                        self.guessing = true;
                        break;
                    }
                    whole_end = self.scanned;
                }
            }
        }
        if whole_end == 0 {
            return self.guessing;
        }
        // Parse exactly the whole frames; the partial frame after them stays in `src` uncopied.
        let whole = src.split_to(whole_end).freeze();
        self.scanned -= whole_end;
        let mut at = 0;
        while at < whole.len() {
            let input = &whole[at..];
            match self.parser.parse(input, &whole) {
                Ok((rest, item)) => {
                    let used = input.len() - rest.len();
                    if !self.accept(item, used) {
                        break;
                    }
                    at += used;
                }
                Err(NomErr::Incomplete(_)) => {
                    // The boundary ended a frame the parser finds unfinished: guess from here,
                    // with this try counted against the budget, and not on these same bytes.
                    work::examined(input.len());
                    self.guessing = true;
                    self.spent = self.spent.saturating_add(input.len());
                    self.want = self
                        .spent
                        .div_ceil(GUESS_BUDGET - 1)
                        .max(input.len() + 1)
                        .min(self.max_frame_len);
                    break;
                }
                Err(NomErr::Error(e) | NomErr::Failure(e)) => {
                    self.pending_error = Some(self.malformed(input, e.input, e.code));
                    break;
                }
            }
        }
        if at < whole.len() {
            // The parser and the boundary disagree: give back what the parser did not take
            // (one copy, on this rare path) and scan it again from a fresh boundary.
            let mut back = BytesMut::with_capacity(whole.len() - at + src.len());
            back.extend_from_slice(&whole[at..]);
            back.extend_from_slice(src);
            *src = back;
            self.boundary.reset();
            self.scanned = 0;
        }
        self.keep_batch(whole, at);
        true
    }

    /// One try of the parser over everything buffered; returns whether a frame was queued.
    fn guess(&mut self, src: &mut BytesMut, eof: bool) -> bool {
        let whole = src.split().freeze();
        let mut at = 0;
        let mut queued = false;
        while at < whole.len() {
            let input = &whole[at..];
            match self.parser.parse(input, &whole) {
                Ok((rest, item)) => {
                    let used = input.len() - rest.len();
                    if !self.accept(item, used) {
                        break;
                    }
                    at += used;
                    queued = true;
                    self.spent = 0;
                    self.want = 0;
                    if B::SCANS {
                        // Back to the boundary from the next frame on.
                        self.boundary.reset();
                        self.scanned = 0;
                        self.guessing = false;
                        break;
                    }
                }
                Err(NomErr::Incomplete(needed)) => {
                    work::examined(input.len());
                    self.spent = self.spent.saturating_add(input.len());
                    if input.len() >= self.max_frame_len {
                        self.pending_error = Some(FrameError::TooLong {
                            len: input.len() as u64,
                            max: self.max_frame_len,
                            offset: self.consumed,
                            exact: false,
                            reason: None,
                        });
                    } else if !eof {
                        self.guessing = true;
                        let needed = match needed {
                            Needed::Size(n) => n.get(),
                            Needed::Unknown => 1,
                        };
                        // The parser's hint, and the budget: the next try (L bytes) may not
                        // take the bytes spent on this frame past GUESS_BUDGET * L, so
                        // L >= spent / (GUESS_BUDGET - 1). Never past the maximum, where the
                        // verdict is due.
                        let budget = self.spent.div_ceil(GUESS_BUDGET - 1);
                        self.want = input
                            .len()
                            .saturating_add(needed)
                            .max(budget)
                            .min(self.max_frame_len);
                    }
                    break;
                }
                Err(NomErr::Error(e) | NomErr::Failure(e)) => {
                    self.pending_error = Some(self.malformed(input, e.input, e.code));
                    break;
                }
            }
        }
        *src = BytesMut::from(whole.slice(at..));
        self.keep_batch(whole, at);
        queued
    }

    fn check_used(&self, used: usize) -> Result<(), FrameError> {
        if used == 0 {
            return Err(FrameError::Malformed {
                offset: self.consumed,
                reason: "parser succeeded without consuming input".into(),
            });
        }
        if used > self.max_frame_len {
            return Err(FrameError::TooLong {
                len: used as u64,
                max: self.max_frame_len,
                offset: self.consumed,
                exact: true,
                reason: None,
            });
        }
        Ok(())
    }

    /// The error a parser reported at `at`; what it examined counts up to there.
    fn malformed(&self, input: &[u8], at: &[u8], code: nom::error::ErrorKind) -> FrameError {
        let where_ = (at.as_ptr() as usize)
            .checked_sub(input.as_ptr() as usize)
            .filter(|&o| o <= input.len())
            .unwrap_or(0);
        work::examined((where_ + 1).min(input.len()));
        FrameError::Malformed {
            offset: self.consumed + where_ as u64,
            reason: format!("parser rejected the input ({code:?})").into(),
        }
    }
}
