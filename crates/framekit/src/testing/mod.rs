//! The law kit (feature `testing`): holds any framing, codec or `tokio_util` decoder to the laws
//! every framing must obey, with proptest shrinking failures to a minimal counterexample.
//!
//! | law | what must hold |
//! |---|---|
//! | [`round_trip`](Laws::round_trip) | messages encoded one after another decode back equal, in order, with a clean end |
//! | [`chunking`](Laws::chunking) | the same bytes cut at any points (one byte at a time included) give the same frames and errors as the whole buffer |
//! | [`arbitrary_bytes`](Laws::arbitrary_bytes) | hostile bytes never panic, never loop, and never make the codec hold more than its buffer limit or reserve memory a header merely asked for |
//! | [`max_length`](Laws::max_length) | no frame over the limit comes out, and the error comes before more than limit + header bytes are held |
//! | [`eof`](Laws::eof) | a clean end is no error; a stream cut inside a frame ends with the documented error |
//! | [`linear_work`](Laws::linear_work) | the bytes examined per frame stay within a constant times the frame's length, in every chunking (one byte at a time included) |
//! | [`fast_path`](Laws::fast_path) | a strategy's [`decide_frame`](Framing::decide_frame), asked as [`FrameCodec`] asks it, answers exactly as [`decide`](Framing::decide) would, and leaves the strategy where `decide` would, in every chunking |
//! | `progress` (every run of every law) | every answer of a strategy makes progress: no zero-byte discard that reports nothing, never two in a row, nothing outside the buffer ([the contract](Framing#every-answer-makes-progress)); [`FrameCodec`] answers such a strategy with [`FrameError::Strategy`](crate::FrameError::Strategy) instead of looping, and the kit names the law |
//!
//! ## The measure behind `linear_work`
//!
//! Work is counted in bytes through [`work::examined`](crate::framing::work::examined): each
//! built-in strategy reports the slice it scans (a delimiter search reports the new bytes and a
//! delimiter's length back; a length prefix its length field; fixed-size records nothing);
//! [`FrameCodec`] charges a strategy that does not report the whole buffer on every call; and
//! [`NomCodec`](crate::framing::nom::NomCodec) reports every byte it hands its boundary or its
//! parser (a parse that completes a frame counts the frame, one that comes back short counts
//! up to the error: the parser is a black box). At every result and at the end, the law asks
//! that the work counted since the stream began be at most [`WORK_PER_BYTE`] times the bytes
//! that have arrived plus [`WORK_PER_CALL`] per `decode` call (the few bytes a header or a
//! delimiter straddling two reads may be read again): every frame's work is paid for by the
//! bytes that brought it, with no room for a rescan that grows with the frame. A decoder that
//! reports nothing (a third-party codec) passes trivially: the law is about framekit's own
//! counting.
//!
//! ### What `linear_work` can and cannot catch
//!
//! The count is the strategies' own: the kit hands `decide` a slice and cannot see which of its
//! bytes are read, or how often. So the law catches what the counting sees, and no more:
//! - it catches a built-in strategy, or one that reports honestly, whose search grows with the
//!   frame on every call (a rescan from the frame's start at each read: quadratic work on
//!   dripped input), and a nom parser run again on a growing prefix, since the kit itself
//!   counts every byte handed to a parser;
//! - it holds a strategy that does not report ([`reports_work`](Framing::reports_work) false)
//!   to the worst case: the whole buffer on every call, which an incremental strategy fed one
//!   byte at a time fails, so such a strategy must report to pass;
//! - it cannot catch a strategy that reports less than it reads (a rescan left out of its
//!   report passes), nor work done outside `decide` and the parser.
//!
//! The built-in strategies' work is also measured without their reports: the repository's
//! `tests/tests/linear_work_instructions.rs` (run by `.ci/linear-work-callgrind.sh`) drips a
//! frame of n, 2n and 4n bytes one byte per `decode` call through each of them (newline, strict
//! CRLF, byte, sequence, several delimiters, a skipped over-long line, u32 and varint prefixes)
//! under callgrind, and requires the instructions to double with the bytes (2.00 for each;
//! a strategy that rescans and reports nothing of it passes this law and grows 3.95 there).
//!
//! The kit's rooms: [`Law`] and [`LawViolation`] (the verdicts, `law.rs`), [`Laws`] and its
//! knobs (`laws.rs`), the inputs and the strategies that draw them (`inputs.rs`), one property
//! runner per law (`properties.rs`), the single checks a fuzzer calls (`checks.rs`), the
//! sans-IO driver they share (`drive.rs`) and the twin driver behind `fast_path`
//! (`fast_path.rs`).
//!
//! Everything is sans-IO: the kit owns a `BytesMut`, appends the chunks it chose and calls
//! `Decoder::decode` / `decode_eof` as `Framed` would. The `check_*` functions take plain bytes
//! and cut points, so a fuzzer can call them too (see `fuzz/` in the repository).
//!
//! ```
//! use framekit::{FrameCodec, framing::delimited::Delimited, testing::Laws};
//!
//! // Lines of up to 32 bytes, checked with messages from a proptest strategy (a regex here).
//! Laws::frame_codec(
//!     || FrameCodec::new(Delimited::newline().max_frame_len(32)),
//!     "[a-z ]{0,32}",
//! )
//! .cases(64)
//! .check_all();
//! ```
//!
//! Any other codec, with the limits it promises stated by hand:
//!
//! ```
//! use framekit::testing::{Laws, Limits};
//! use tokio_util::codec::LinesCodec;
//!
//! Laws::new(|| LinesCodec::new_with_max_length(64), "[a-z]{0,64}")
//!     .limits(Limits::new(64, 65))
//!     .frame_len(|line: &String| line.len())
//!     // LinesCodec hands over an unterminated last line at EOF instead of failing.
//!     .partial_frame_delivered()
//!     .cases(64)
//!     .check_all();
//! ```

#[cfg(doc)]
use crate::{framing::Framing, FrameCodec};

mod checks;
pub mod connection;
mod drive;
mod fast_path;
mod inputs;
mod law;
mod laws;
mod properties;
pub mod tlv;

pub use drive::chunks;
pub use inputs::{Chunked, CutStream};
pub use law::{Law, LawViolation};
pub use laws::{Laws, Limits};

#[cfg(test)]
mod builtin;

/// The `linear_work` law's allowance per byte of a frame (see [the measure](self#the-measure-behind-linear_work)).
///
/// ```
/// assert_eq!(framekit::testing::WORK_PER_BYTE, 8);
/// ```
pub const WORK_PER_BYTE: u64 = 8;

/// The `linear_work` law's allowance per `decode` call: bytes a strategy may read again on
/// every call (a length field, the tail of a multi-byte delimiter).
///
/// ```
/// assert_eq!(framekit::testing::WORK_PER_CALL, 16);
/// ```
pub const WORK_PER_CALL: u64 = 16;
