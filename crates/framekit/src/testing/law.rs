//! The verdicts: [`Law`] names each law, [`LawViolation`] says which broke and how, and the
//! helpers that print the bytes behind a violation short enough to read and paste.

use std::fmt::{self, Display};

#[cfg(doc)]
use crate::framing::Framing;

/// The laws of framing, each with a stable name used in failure messages.
///
/// Non-exhaustive: the kit may learn new laws (as it learned `FastPath`), and a match on a
/// verdict's law should not stop compiling when it does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Law {
    /// Encoded messages decode back equal, in order, and the stream ends cleanly.
    RoundTrip,
    /// Any chunking of the same bytes gives the same frames and errors.
    Chunking,
    /// No panic and no endless stream of results, whatever the bytes.
    NoPanic,
    /// The codec never holds more than its buffer limit, and reserves room in proportion to what
    /// arrived.
    BoundedBuffering,
    /// No frame over the limit, and the error comes before limit + header bytes are held.
    MaxLength,
    /// A clean end is no error; a partial frame at the end is the documented error.
    Eof,
    /// The bytes examined per frame stay within a constant times its length, in any chunking.
    LinearWork,
    /// A strategy's [`Framing::decide_frame`] answers exactly as [`Framing::decide`] would.
    FastPath,
    /// Every answer of a strategy makes progress inside the buffer (see
    /// [the contract](Framing#every-answer-makes-progress)): no zero-byte discard without a
    /// report, never two in a row, no frame or discard outside the buffer. Checked in every
    /// run of every law, through the [`FrameError::Strategy`](crate::FrameError::Strategy) the
    /// codec answers instead of looping.
    Progress,
}

impl Law {
    /// The law's name, as printed in failures.
    ///
    /// ```
    /// assert_eq!(framekit::testing::Law::Chunking.name(), "chunking");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            Law::RoundTrip => "round_trip",
            Law::Chunking => "chunking",
            Law::NoPanic => "no_panic",
            Law::BoundedBuffering => "bounded_buffering",
            Law::MaxLength => "max_length",
            Law::Eof => "eof",
            Law::LinearWork => "linear_work",
            Law::FastPath => "fast_path",
            Law::Progress => "progress",
        }
    }
}

impl Display for Law {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A broken law: which one, and what happened.
///
/// ```
/// use framekit::testing::{Law, LawViolation};
/// let v = LawViolation::new(Law::Eof, "a clean end reported an error");
/// assert_eq!(v.to_string(), "law `eof` broke: a clean end reported an error");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LawViolation {
    law: Law,
    detail: String,
}

impl LawViolation {
    /// A violation of `law`, explained by `detail`.
    pub fn new(law: Law, detail: impl Into<String>) -> Self {
        LawViolation {
            law,
            detail: detail.into(),
        }
    }

    /// The law that broke.
    pub fn law(&self) -> Law {
        self.law
    }

    /// What happened.
    pub fn detail(&self) -> &str {
        &self.detail
    }

    pub(super) fn relabel(mut self, from: Law, to: Law) -> Self {
        if self.law == from {
            self.law = to;
        }
        self
    }
}

impl Display for LawViolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "law `{}` broke: {}", self.law, self.detail)
    }
}

impl std::error::Error for LawViolation {}

/// `bytes` as a Rust byte-string literal, cut after the first 512.
pub(super) fn escaped(bytes: &[u8]) -> String {
    const SHOWN: usize = 512;
    let shown = &bytes[..bytes.len().min(SHOWN)];
    let more = match bytes.len() > SHOWN {
        true => format!(" ... ({} bytes in all)", bytes.len()),
        false => String::new(),
    };
    format!("b\"{}\"{more}", shown.escape_ascii())
}

/// `text` cut after its first 2000 characters.
pub(super) fn shortened(text: String) -> String {
    const SHOWN: usize = 2000;
    match text.char_indices().nth(SHOWN) {
        Some((at, _)) => format!("{} ...", &text[..at]),
        None => text,
    }
}
