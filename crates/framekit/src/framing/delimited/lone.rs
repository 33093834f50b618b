//! The one-byte delimiter (`newline()`, `byte(b)`) and its per-frame fast path: a delimiter found
//! within the limit is a frame, decided inline in the caller's loop with one search from where
//! the last one stopped. Every other case goes to `decide_any`, which answers the same for
//! these too.
//!
//! At 32-byte frames the search's own call overhead is most of a frame's cost, so the searcher
//! is memchr's AVX2 one, built once per byte value and shared, when the CPU has AVX2: that skips
//! the runtime dispatch (a function pointer and a needle broadcast) that `memchr::memchr` pays
//! on every call. Elsewhere it is `memchr::memchr`.

use super::*;
use crate::framing::InPlace;

/// A delimiter of one byte: the byte, and whether a CR right before it is stripped (newline).
#[derive(Debug, Clone, Copy)]
pub(super) struct Lone {
    byte: u8,
    strip_cr: bool,
}

impl Lone {
    /// The one-byte delimiter of `matcher`, if it is one (`Byte`, `Newline`).
    pub(super) fn of(matcher: &Matcher) -> Option<Lone> {
        let (byte, strip_cr) = match *matcher {
            Matcher::Newline { strip_cr } => (b'\n', strip_cr),
            Matcher::Byte(b) => (b, false),
            _ => return None,
        };
        Some(Lone { byte, strip_cr })
    }
}

/// The searcher for a [`Lone`] delimiter: memchr's AVX2 searcher for its byte when the CPU has
/// AVX2, else `memchr::memchr`. One pointer: the searchers themselves (96 bytes of vectors
/// each) are built once per byte value and kept for the process, not in every connection's
/// codec.
#[derive(Debug, Clone, Copy)]
pub(super) struct Searcher {
    #[cfg(target_arch = "x86_64")]
    avx2: Option<&'static memchr::arch::x86_64::avx2::memchr::One>,
}

impl Searcher {
    /// The searcher for `lone`'s byte (none is needed without one).
    pub(super) fn of(lone: Option<Lone>) -> Searcher {
        let _ = lone;
        Searcher {
            #[cfg(target_arch = "x86_64")]
            avx2: lone.and_then(|lone| avx2_searcher(lone.byte)),
        }
    }

    /// The first `byte` in `hay`; `byte` is the one this searcher was built for.
    #[inline(always)]
    fn find(&self, byte: u8, hay: &[u8]) -> Option<usize> {
        #[cfg(target_arch = "x86_64")]
        if let Some(one) = self.avx2 {
            return one.find(hay);
        }
        memchr::memchr(byte, hay)
    }
}

/// memchr's AVX2 searcher for `byte`, if this CPU has AVX2: built the first time a delimiter of
/// that byte asks for it and kept for the process (256 at most, one per byte value).
#[cfg(target_arch = "x86_64")]
fn avx2_searcher(byte: u8) -> Option<&'static memchr::arch::x86_64::avx2::memchr::One> {
    use memchr::arch::x86_64::avx2::memchr::One;
    use std::sync::OnceLock;
    static SEARCHERS: [OnceLock<Option<One>>; 256] = [const { OnceLock::new() }; 256];
    SEARCHERS[usize::from(byte)]
        .get_or_init(|| One::new(byte))
        .as_ref()
}

impl Delimited {
    /// A one-byte delimiter found within the limit, not skipping: the frame, with the state
    /// `decide_any` would leave. Otherwise `None`, having recorded how far the search got
    /// (`searched`), so that `decide_any` does not search those bytes again.
    #[inline(always)]
    pub(super) fn decide_lone(&mut self, buf: &[u8]) -> Option<InPlace> {
        let lone = self.lone?;
        if self.discarding.is_some() {
            return None;
        }
        let from = self.searched.min(buf.len());
        let Some(i) = self.searcher.find(lone.byte, &buf[from..]) else {
            // Metered as `search` meters a miss: from a delimiter's length before the new bytes.
            crate::framing::work::examined(
                buf.len() - self.searched.saturating_sub(self.longest()).min(buf.len()),
            );
            self.searched = buf.len();
            return None;
        };
        let at = from + i;
        let end = at + 1;
        crate::framing::work::examined(end - self.searched.saturating_sub(self.longest()).min(end));
        if at > self.max_frame_len {
            // `decide_any` finds this delimiter again at once and answers over-long.
            self.searched = at;
            return None;
        }
        self.searched = 0;
        let payload_end = if self.keep_delimiter {
            end
        } else {
            at - usize::from(lone.strip_cr && buf[..at].last() == Some(&b'\r'))
        };
        Some(InPlace {
            len: end,
            payload: 0..payload_end,
        })
    }
}
