//! Finding the delimiter: incrementally, never searching a byte twice (a multi-byte delimiter
//! re-reads only its own length minus one), with one search per kind of matcher.

use super::*;

impl Delimited {
    /// Finds the first delimiter at or after `self.searched`, and reports what it read to the
    /// work meter: from a delimiter's length before the new bytes to where the search stopped.
    pub(super) fn search(&self, buf: &[u8]) -> Result<Search, FrameError> {
        let result = self.search_unmetered(buf);
        let stopped = match &result {
            Ok(Search::Found(found)) => found.end,
            Ok(Search::NotYet { .. }) => buf.len(),
            Err(FrameError::Malformed { offset, .. }) => (*offset as usize + 2).min(buf.len()),
            Err(_) => buf.len(),
        };
        let from = self.searched.saturating_sub(self.longest()).min(stopped);
        crate::framing::work::examined(stopped - from);
        result
    }

    pub(super) fn search_unmetered(&self, buf: &[u8]) -> Result<Search, FrameError> {
        let from = self.searched.min(buf.len());
        let hay = &buf[from..];
        Ok(match &self.matcher {
            Matcher::Byte(b) => match memchr::memchr(*b, hay) {
                Some(i) => Search::Found(Found {
                    payload_end: from + i,
                    end: from + i + 1,
                }),
                None => Search::NotYet { resume: buf.len() },
            },
            Matcher::Newline { strip_cr } => match memchr::memchr(b'\n', hay) {
                Some(i) => {
                    let lf = from + i;
                    let cr = *strip_cr && lf > 0 && buf[lf - 1] == b'\r';
                    Search::Found(Found {
                        payload_end: lf - usize::from(cr),
                        end: lf + 1,
                    })
                }
                None => Search::NotYet { resume: buf.len() },
            },
            Matcher::StrictCrlf => match memchr::memchr2(b'\r', b'\n', hay) {
                Some(i) => {
                    let at = from + i;
                    if buf[at] == b'\n' {
                        return Err(FrameError::malformed(
                            at,
                            "bare LF without CR in a CRLF-delimited stream",
                        ));
                    }
                    match buf.get(at + 1) {
                        Some(b'\n') => Search::Found(Found {
                            payload_end: at,
                            end: at + 2,
                        }),
                        Some(_) => {
                            return Err(FrameError::malformed(
                                at,
                                "bare CR without LF in a CRLF-delimited stream",
                            ))
                        }
                        None => Search::NotYet { resume: at },
                    }
                }
                None => Search::NotYet { resume: buf.len() },
            },
            Matcher::Sequence(finder) => {
                // A match may straddle the previous search's end: back up by len - 1.
                let dlen = finder.needle().len();
                let from = self.searched.saturating_sub(dlen - 1).min(buf.len());
                match finder.find(&buf[from..]) {
                    Some(i) => Search::Found(Found {
                        payload_end: from + i,
                        end: from + i + dlen,
                    }),
                    // The next search backs up by `dlen - 1` from here by itself.
                    None => Search::NotYet { resume: buf.len() },
                }
            }
            Matcher::AnyOf(delimiters) => any_of_search(delimiters, buf, from),
        })
    }
}

impl Delimited {
    /// Whether a frame within the maximum may still end in `buf` (which holds more than the
    /// maximum and no whole delimiter): only if a delimiter starting at or before byte `max`
    /// has begun in the last bytes and runs past the buffer's end. A newline that strips CR
    /// counts CR LF as its delimiter here: a CR at byte `max` may be the CR of a line of the
    /// maximum. Reads at most a delimiter's length squared bytes, and only near the limit.
    pub(super) fn may_still_end(&self, buf: &[u8]) -> bool {
        let first = buf.len().saturating_sub(self.longest() - 1);
        let last = self.max_frame_len.min(buf.len().saturating_sub(1));
        let begun = |at: usize| {
            let tail = &buf[at..];
            crate::framing::work::examined(tail.len());
            let starts = |d: &[u8]| d.len() > tail.len() && d.starts_with(tail);
            match &self.matcher {
                Matcher::Byte(_) | Matcher::Newline { strip_cr: false } => false,
                Matcher::Newline { strip_cr: true } | Matcher::StrictCrlf => starts(b"\r\n"),
                Matcher::Sequence(finder) => starts(finder.needle()),
                Matcher::AnyOf(delimiters) => delimiters.iter().any(|d| starts(d)),
            }
        };
        (first..=last).any(begun)
    }
}

/// Below this length a payload is checked with memchr's SSE2 searcher, inline (SSE2 is part of
/// every x86_64 CPU, so nothing is dispatched at run time); from it on, `memchr`'s runtime
/// choice (AVX2 where there is one) pays off its call.
const SHORT: usize = 128;

/// Whether `hay` contains `b`.
#[inline]
pub(super) fn contains_byte(hay: &[u8], b: u8) -> bool {
    #[cfg(target_arch = "x86_64")]
    if hay.len() < SHORT {
        if let Some(one) = memchr::arch::x86_64::sse2::memchr::One::new(b) {
            return one.find(hay).is_some();
        }
    }
    memchr::memchr(b, hay).is_some()
}

/// Whether `hay` contains `a` or `b`.
#[inline]
pub(super) fn contains_either(hay: &[u8], a: u8, b: u8) -> bool {
    #[cfg(target_arch = "x86_64")]
    if hay.len() < SHORT {
        if let Some(two) = memchr::arch::x86_64::sse2::memchr::Two::new(a, b) {
            return two.find(hay).is_some();
        }
    }
    memchr::memchr2(a, b, hay).is_some()
}

/// Whether the end of `payload` joined with `delimiter` decodes as anything but exactly
/// `payload` then `delimiter`: a delimiter that ends earlier (a payload ending in `\r\r\n` under
/// `\r\n\r\n`, say, would be cut short), or a longer one ending at the same byte that starts
/// inside the payload (a payload ending in CR under `any_of([b"\n", b"\r\n"])` would lose it).
pub(super) fn straddles(
    payload: &[u8],
    delimiter: &[u8],
    first_match: impl Fn(&[u8]) -> Option<Found>,
) -> bool {
    let tail = &payload[payload.len().saturating_sub(MAX_DELIMITER_LEN - 1)..];
    let mut joined = [0u8; 2 * MAX_DELIMITER_LEN];
    let n = tail.len() + delimiter.len();
    joined[..tail.len()].copy_from_slice(tail);
    joined[tail.len()..n].copy_from_slice(delimiter);
    first_match(&joined[..n])
        != Some(Found {
            payload_end: tail.len(),
            end: n,
        })
}

/// Several delimiters: scan candidate start positions from `from`; the match ending first wins,
/// ties to the longest. A prefix of a delimiter at the very end of the buffer pins `resume`.
pub(super) fn any_of_search(delimiters: &[Box<[u8]>], buf: &[u8], from: usize) -> Search {
    let mut best: Option<(usize, usize)> = None; // (end, delimiter length)
    let mut pending: Option<usize> = None;
    let mut at = from;
    while at < buf.len() {
        if let Some((end, _)) = best {
            if at >= end {
                break;
            }
        }
        let rest = &buf[at..];
        for d in delimiters {
            if rest.len() >= d.len() {
                if rest.starts_with(d) {
                    let end = at + d.len();
                    let better = match best {
                        None => true,
                        Some((e, l)) => end < e || (end == e && d.len() > l),
                    };
                    if better {
                        best = Some((end, d.len()));
                    }
                }
            } else if d.starts_with(rest) && pending.is_none() {
                pending = Some(at);
            }
        }
        at += 1;
    }
    match best {
        Some((end, len)) => Search::Found(Found {
            payload_end: end - len,
            end,
        }),
        None => Search::NotYet {
            resume: pending.unwrap_or(buf.len()),
        },
    }
}

pub(super) fn check_delimiter(delimiter: &[u8]) {
    assert!(!delimiter.is_empty(), "a delimiter cannot be empty");
    assert!(
        delimiter.len() <= MAX_DELIMITER_LEN,
        "a delimiter is at most {MAX_DELIMITER_LEN} bytes, got {}",
        delimiter.len()
    );
}
