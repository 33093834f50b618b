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

use std::any::Any;
use std::fmt::{self, Debug, Display};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::Rc;

use bytes::BytesMut;
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::test_runner::{TestCaseError, TestError, TestRunner};
use tokio_util::codec::{Decoder, Encoder};

use crate::framing::Framing;
use crate::payload::{PayloadDecoder, PayloadEncoder};
use crate::{FrameCodec, FrameError};

mod checks;
mod drive;
mod fast_path;
pub mod tlv;

pub use drive::chunks;
use drive::{drive, same_runs, End, Event, Run, Segment};

#[cfg(test)]
mod builtin;

/// Longest generated input, in bytes, whatever the limits: keeps a thousand cases quick.
const MAX_INPUT: usize = 1024;

/// Longest input the max-length law builds around a limit.
const MAX_NEAR_LIMIT_INPUT: usize = 64 * 1024;

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

/// The laws of framing, each with a stable name used in failure messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
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

    fn relabel(mut self, from: Law, to: Law) -> Self {
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

/// The limits a codec promises: the largest payload it returns, and the most bytes it holds
/// while waiting for a frame (payload plus headers and delimiters).
///
/// ```
/// use framekit::{FrameCodec, framing::{Framing, length_prefixed::LengthPrefixed}, testing::Limits};
/// let lp = LengthPrefixed::u16_be().max_frame_len(100);
/// assert_eq!(Limits::of(&lp), Limits::new(100, 102));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The largest payload a frame may carry.
    pub frame: usize,
    /// The most bytes the codec may hold while it has no whole frame yet.
    pub buffer: usize,
}

impl Limits {
    /// Limits of `frame` payload bytes and `buffer` buffered bytes.
    pub fn new(frame: usize, buffer: usize) -> Self {
        Limits { frame, buffer }
    }

    /// The limits a framing strategy declares.
    pub fn of<F: Framing + ?Sized>(framing: &F) -> Self {
        Limits::new(framing.frame_limit(), framing.buffer_limit())
    }
}

/// Bytes and the chunk sizes to feed them in (see [`chunks`]): the input of the byte laws,
/// printed as an escaped byte string so a counterexample can be pasted into a unit test.
#[derive(Clone, PartialEq, Eq)]
pub struct Chunked {
    /// The whole input.
    pub bytes: Vec<u8>,
    /// Chunk sizes, repeated; `[1]` is one byte at a time.
    pub sizes: Vec<usize>,
}

impl Debug for Chunked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Chunked {{ bytes: {}, sizes: {:?} }}",
            escaped(&self.bytes),
            self.sizes
        )
    }
}

/// A stream of messages, and where to cut the last one's encoding short: the input of the
/// [`eof`](Laws::eof) law.
#[derive(Debug, Clone)]
pub struct CutStream<M> {
    /// Messages sent; the last one is the one cut short.
    pub messages: Vec<M>,
    /// Picks how many bytes of the last message's encoding arrive (at least one, not all).
    pub cut: usize,
    /// Chunk sizes, as in [`Chunked`].
    pub sizes: Vec<usize>,
}

fn escaped(bytes: &[u8]) -> String {
    const SHOWN: usize = 512;
    let shown = &bytes[..bytes.len().min(SHOWN)];
    let more = match bytes.len() > SHOWN {
        true => format!(" ... ({} bytes in all)", bytes.len()),
        false => String::new(),
    };
    format!("b\"{}\"{more}", shown.escape_ascii())
}

fn shortened(text: String) -> String {
    const SHOWN: usize = 2000;
    match text.char_indices().nth(SHOWN) {
        Some((at, _)) => format!("{} ...", &text[..at]),
        None => text,
    }
}

type Make<D> = Rc<dyn Fn() -> D>;
type Encode<D, M> = Rc<dyn Fn(&mut D, M, &mut BytesMut) -> Result<(), String>>;
type FrameLens = Rc<dyn Fn(&[u8], &[usize]) -> Result<Vec<usize>, LawViolation>>;
type Measure<I> = Rc<dyn Fn(&I) -> usize>;
type PartialRule<E> = Rc<dyn Fn(&E, usize) -> bool>;
type FastPath = Rc<dyn Fn(&[u8], &[usize]) -> Result<(), LawViolation>>;

/// What a codec does with a frame cut short by the end of the stream.
enum AtEof<E> {
    /// It fails with an error the predicate accepts (given how many bytes were buffered).
    Error(PartialRule<E>),
    /// It delivers the bytes as a last frame and ends cleanly.
    Delivered,
}

/// The laws of framing for one codec and one kind of message.
///
/// Build it with [`frame_codec`](Laws::frame_codec) (a [`FrameCodec`]: the limits are read from
/// its framing), [`new`](Laws::new) (any `Decoder + Encoder`) or [`decoder`](Laws::decoder) (a
/// decoder plus an encoding function, for decode-only codecs such as
/// [`NomCodec`](crate::framing::nom::NomCodec)). Then run one law, or
/// [`check_all`](Laws::check_all). Each law panics with its name and proptest's shrunk
/// counterexample when it breaks; the `check_*` methods return a [`LawViolation`] instead, for
/// fuzzers and hand-written cases.
pub struct Laws<D: Decoder, M> {
    make: Make<D>,
    messages: BoxedStrategy<M>,
    encode: Encode<D, M>,
    limits: Option<Limits>,
    frame_lens: Option<FrameLens>,
    measure: Option<Measure<D::Item>>,
    /// Law `fast_path` on one input, for a [`FrameCodec`]'s strategy; `None` for other codecs.
    fast_path: Option<FastPath>,
    at_eof: AtEof<D::Error>,
    config: ProptestConfig,
    max_messages: usize,
    work_bound: (u64, u64),
}

impl<D: Decoder, M> Debug for Laws<D, M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Laws")
            .field("limits", &self.limits)
            .field("cases", &self.config.cases)
            .field("max_messages", &self.max_messages)
            .finish_non_exhaustive()
    }
}

/// What an error must be to count as "the documented error" for a frame cut short at EOF,
/// unless told otherwise: [`FrameError::UnexpectedEof`] with the bytes buffered, for framekit's
/// codecs; any error for others.
fn documented_partial_error<E: 'static>(err: &E, buffered: usize) -> bool {
    match (err as &dyn Any).downcast_ref::<FrameError>() {
        Some(FrameError::UnexpectedEof { buffered: b }) => *b == buffered,
        Some(_) => false,
        None => true,
    }
}

impl<D, M> Laws<D, M>
where
    D: Decoder + 'static,
    D::Item: Debug + PartialEq + PartialEq<M>,
    D::Error: Display + Debug + 'static,
    M: Clone + Debug + 'static,
{
    /// The laws for any codec that encodes `M` and decodes items comparable to `M`.
    ///
    /// `make` builds a fresh codec (one per run, so state never leaks between cases);
    /// `messages` generates the messages the round-trip and EOF laws send. The limits are
    /// unknown until [`limits`](Self::limits) states them; for a [`FrameCodec`], use
    /// [`frame_codec`](Laws::frame_codec), which reads them from the framing.
    pub fn new<S>(make: impl Fn() -> D + 'static, messages: S) -> Self
    where
        D: Encoder<M>,
        <D as Encoder<M>>::Error: Display,
        S: Strategy<Value = M> + 'static,
    {
        Self::decoder(make, messages, |codec: &mut D, message, dst| {
            codec.encode(message, dst).map_err(|e| e.to_string())
        })
    }

    /// The laws for a decoder whose messages are written by `encode` (a decode-only codec, or
    /// one whose encoder lives elsewhere). `encode` gets a codec built by `make`, which it may
    /// ignore, and must append one whole frame to the buffer, or fail without writing.
    ///
    /// ```
    /// use bytes::BufMut;
    /// use nom::{IResult, Parser, bytes::streaming::take, number::streaming::u8 as byte};
    /// use framekit::{framing::nom::{NomCodec, parser_fn}, testing::{Laws, Limits}};
    ///
    /// fn counted(input: &[u8]) -> IResult<&[u8], Vec<u8>> {
    ///     let (rest, n) = byte(input)?;
    ///     let (rest, body) = take(n).parse(rest)?;
    ///     Ok((rest, body.to_vec()))
    /// }
    ///
    /// Laws::decoder(
    ///     || NomCodec::new(parser_fn(counted)).max_frame_len(64),
    ///     proptest::collection::vec(0u8.., 0..=63),
    ///     |_, body: Vec<u8>, dst| {
    ///         dst.put_u8(body.len() as u8);
    ///         dst.put_slice(&body);
    ///         Ok(())
    ///     },
    /// )
    /// .limits(Limits::new(64, 64))
    /// .frame_len(|body: &Vec<u8>| 1 + body.len())
    /// .cases(64)
    /// .check_all();
    /// ```
    pub fn decoder<S>(
        make: impl Fn() -> D + 'static,
        messages: S,
        encode: impl Fn(&mut D, M, &mut BytesMut) -> Result<(), String> + 'static,
    ) -> Self
    where
        S: Strategy<Value = M> + 'static,
    {
        Laws {
            make: Rc::new(make),
            messages: messages.boxed(),
            encode: Rc::new(encode),
            limits: None,
            frame_lens: None,
            measure: None,
            fast_path: None,
            at_eof: AtEof::Error(Rc::new(documented_partial_error::<D::Error>)),
            config: ProptestConfig {
                failure_persistence: None,
                ..ProptestConfig::default()
            },
            max_messages: 8,
            work_bound: (WORK_PER_BYTE, WORK_PER_CALL),
        }
    }

    /// Sets the `linear_work` law's allowance: `per_byte` bytes examined per byte of a frame,
    /// plus `per_call` per `decode` call. Defaults: [`WORK_PER_BYTE`] and [`WORK_PER_CALL`].
    pub fn work_bound(mut self, per_byte: u64, per_call: u64) -> Self {
        self.work_bound = (per_byte, per_call);
        self
    }

    /// States the codec's limits, so the buffering and max-length laws can hold it to them.
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = Some(limits);
        self
    }

    /// How long the frame behind a decoded item was, for the max-length law (which otherwise
    /// only checks buffering, or for a [`FrameCodec`] the payload lengths of its framing).
    pub fn frame_len(mut self, measure: impl Fn(&D::Item) -> usize + 'static) -> Self {
        self.measure = Some(Rc::new(measure));
        self
    }

    /// A frame cut short by the end of the stream must fail with an error `is_documented`
    /// accepts; it also gets how many bytes of the frame were buffered.
    pub fn partial_frame_error(
        mut self,
        is_documented: impl Fn(&D::Error, usize) -> bool + 'static,
    ) -> Self {
        self.at_eof = AtEof::Error(Rc::new(is_documented));
        self
    }

    /// A frame cut short by the end of the stream is delivered as a last frame
    /// ([`Trailing::Deliver`](crate::framing::delimited::Trailing::Deliver), for instance).
    pub fn partial_frame_delivered(mut self) -> Self {
        self.at_eof = AtEof::Delivered;
        self
    }

    /// How many cases each law runs (proptest's default is 256).
    pub fn cases(mut self, cases: u32) -> Self {
        self.config.cases = cases;
        self
    }

    /// The whole proptest configuration, for shrinking budgets, seeds and so on.
    pub fn config(mut self, config: ProptestConfig) -> Self {
        self.config = config;
        self
    }

    /// The most messages one round-trip or EOF case sends. Default 8.
    pub fn max_messages(mut self, max: usize) -> Self {
        self.max_messages = max.max(1);
        self
    }

    /// Runs every law; the max-length law only when the limits or a frame length are known.
    pub fn check_all(&self) {
        self.round_trip();
        self.chunking();
        self.arbitrary_bytes();
        if self.limits.is_some() || self.frame_lens.is_some() || self.measure.is_some() {
            self.max_length();
        }
        self.eof();
        self.linear_work();
        self.fast_path();
    }

    /// Law `round_trip`: any sequence of messages, encoded one after another, decodes back to
    /// the same messages in order, and the stream then ends cleanly.
    pub fn round_trip(&self) {
        let strategy = vec(self.messages.clone(), 0..=self.max_messages);
        self.run("round_trip", strategy, |messages| {
            self.check_round_trip(messages)
        });
    }

    /// Law `chunking`: valid streams, damaged streams and arbitrary bytes decode to the same
    /// frames and errors whether they arrive whole or cut at arbitrary points, one byte at a
    /// time included.
    pub fn chunking(&self) {
        self.run("chunking", self.chunked_inputs(), |input| {
            self.check_chunking(&input.bytes, &input.sizes)
        });
    }

    /// Laws `no_panic` and `bounded_buffering`: hostile bytes in any chunking never panic,
    /// never produce results without consuming input, never leave the codec holding more than
    /// its buffer limit, and never make the read buffer reserve more than arrived.
    pub fn arbitrary_bytes(&self) {
        self.run("arbitrary_bytes", self.chunked_inputs(), |input| {
            self.check_arbitrary_bytes(&input.bytes, &input.sizes)
        });
    }

    /// Law `max_length`: inputs built around the limit (long runs without a frame end, frames
    /// just under and over it) never yield a frame over the limit, and the error comes before
    /// more than limit + header bytes are held.
    ///
    /// # Panics
    /// If neither limits nor a frame length are known (see [`limits`](Self::limits)).
    pub fn max_length(&self) {
        assert!(
            self.limits.is_some() || self.frame_lens.is_some() || self.measure.is_some(),
            "law `max_length` needs the codec's limits: call `.limits(..)` or `.frame_len(..)`"
        );
        self.run("max_length", self.near_limit_inputs(), |input| {
            self.check_max_length(&input.bytes, &input.sizes)
        });
    }

    /// Law `eof`: a stream of whole frames ends with no error; a stream cut inside its last
    /// frame ends with the documented error (or, when configured, delivers it).
    pub fn eof(&self) {
        let strategy = (
            vec(self.messages.clone(), 1..=self.max_messages),
            any::<usize>(),
            sizes(),
        )
            .prop_map(|(messages, cut, sizes)| CutStream {
                messages,
                cut,
                sizes,
            });
        self.run("eof", strategy, |input| self.check_eof(input));
    }

    /// Law `linear_work`: valid, damaged and arbitrary streams, and long runs near the limit,
    /// in any chunking (one byte at a time included), cost at most a constant times each
    /// frame's length in bytes examined (see [the measure](self#the-measure-behind-linear_work)).
    pub fn linear_work(&self) {
        let inputs = prop_oneof![3 => self.chunked_inputs(), 1 => self.near_limit_inputs()];
        self.run("linear_work", inputs, |input| {
            self.check_linear_work(&input.bytes, &input.sizes)
        });
    }

    /// Law `fast_path`: on valid, damaged and arbitrary streams, and long runs near the limit,
    /// in any chunking, a [`FrameCodec`]'s strategy asked [`decide_frame`](Framing::decide_frame)
    /// first (as the codec asks it) answers exactly what a twin asked only
    /// [`decide`](Framing::decide) answers, and ends the stream the same way. A codec built
    /// with [`new`](Laws::new) or [`decoder`](Laws::decoder) has no strategy to ask: the law
    /// holds trivially.
    ///
    /// A strategy whose fast path claims a frame before its delimiter arrived:
    ///
    /// ```
    /// use bytes::BytesMut;
    /// use framekit::{FrameCodec, FrameError};
    /// use framekit::framing::{Decision, Framing, InPlace, delimited::Delimited};
    /// use framekit::testing::{Law, Laws};
    ///
    /// /// Newline-framed lines, with a fast path that forgets the line may not have ended.
    /// #[derive(Clone)]
    /// struct Hasty(Delimited);
    /// impl Framing for Hasty {
    ///     fn decide(&mut self, buf: &[u8]) -> Result<Decision, FrameError> {
    ///         self.0.decide(buf)
    ///     }
    ///     fn decide_frame(&mut self, buf: &[u8]) -> Option<InPlace> {
    ///         let end = buf.iter().position(|&b| b == b'\n').unwrap_or(buf.len() - 1);
    ///         Some(InPlace { len: end + 1, payload: 0..end })
    ///     }
    ///     fn frame_limit(&self) -> usize { self.0.frame_limit() }
    ///     fn encode_head(&mut self, p: &[u8], dst: &mut BytesMut) -> Result<(), FrameError> {
    ///         self.0.encode_head(p, dst)
    ///     }
    ///     fn encode_tail(&mut self, dst: &mut BytesMut) -> Result<(), FrameError> {
    ///         self.0.encode_tail(dst)
    ///     }
    /// }
    ///
    /// let hasty = || FrameCodec::new(Hasty(Delimited::newline().max_frame_len(32)));
    /// let laws = Laws::frame_codec(hasty, "[a-z]{0,8}");
    /// let broken = laws.check_fast_path(b"ab\ncd\n", &[1]).unwrap_err();
    /// assert_eq!(broken.law(), Law::FastPath);
    /// assert!(broken.detail().contains("decide_frame answered Some"), "{broken}");
    ///
    /// // The built-in strategy's own fast path passes.
    /// Laws::frame_codec(|| FrameCodec::new(Delimited::newline().max_frame_len(32)), "[a-z]{0,8}")
    ///     .cases(64)
    ///     .fast_path();
    /// ```
    pub fn fast_path(&self) {
        if self.fast_path.is_none() {
            return;
        }
        let inputs = prop_oneof![3 => self.chunked_inputs(), 1 => self.near_limit_inputs()];
        self.run("fast_path", inputs, |input| {
            self.check_fast_path(&input.bytes, &input.sizes)
        });
    }

    /// Valid streams, valid streams with junk spliced in, and arbitrary bytes, with chunkings.
    fn chunked_inputs(&self) -> BoxedStrategy<Chunked> {
        let cap = match self.limits {
            Some(l) => l.buffer.saturating_mul(2).saturating_add(64).min(MAX_INPUT),
            None => MAX_INPUT,
        };
        let encode = self.encoder();
        let valid = vec(self.messages.clone(), 0..=self.max_messages)
            .prop_map(move |messages| encode(&messages));
        let encode = self.encoder();
        let damaged = (
            vec(self.messages.clone(), 1..=self.max_messages),
            vec(any::<u8>(), 1..=16),
            any::<prop::sample::Index>(),
        )
            .prop_map(move |(messages, junk, at)| {
                let mut bytes = encode(&messages);
                let at = at.index(bytes.len() + 1);
                bytes.splice(at..at, junk);
                bytes
            });
        let arbitrary = vec(any::<u8>(), 0..=cap);
        (
            prop_oneof![2 => valid, 2 => damaged, 3 => arbitrary],
            sizes(),
        )
            .prop_map(|(bytes, sizes)| Chunked { bytes, sizes })
            .boxed()
    }

    /// Long runs without a frame end, around the buffer limit, with a few bytes sprinkled in.
    fn near_limit_inputs(&self) -> BoxedStrategy<Chunked> {
        let limit = self.limits.map_or(MAX_INPUT, |l| l.buffer);
        let low = limit.saturating_sub(8).min(MAX_NEAR_LIMIT_INPUT);
        let high = limit.saturating_add(16).min(MAX_NEAR_LIMIT_INPUT).max(low);
        let encode = self.encoder();
        (
            vec(self.messages.clone(), 0..=2),
            any::<u8>(),
            low..=high,
            vec((any::<prop::sample::Index>(), any::<u8>()), 0..=4),
            vec(1usize..=64, 1..=4),
        )
            .prop_map(move |(lead, filler, len, sprinkles, sizes)| {
                let mut bytes = encode(&lead);
                let start = bytes.len();
                bytes.resize(start + len, filler);
                for (at, b) in sprinkles {
                    let at = start + at.index(len.max(1)).min(len.saturating_sub(1));
                    if let Some(slot) = bytes.get_mut(at) {
                        *slot = b;
                    }
                }
                Chunked { bytes, sizes }
            })
            .boxed()
    }

    /// Encodes messages into one stream, dropping any the encoder refuses.
    fn encoder(&self) -> impl Fn(&[M]) -> Vec<u8> + 'static {
        let (make, encode) = (self.make.clone(), self.encode.clone());
        move |messages| {
            let mut codec = make();
            let mut wire = BytesMut::new();
            for m in messages {
                let before = wire.len();
                if encode(&mut codec, m.clone(), &mut wire).is_err() {
                    wire.truncate(before);
                }
            }
            wire.to_vec()
        }
    }

    /// Runs one proptest check; `method` names the `Laws` method, for the failure message.
    fn run<S>(
        &self,
        method: &str,
        strategy: S,
        check: impl Fn(&S::Value) -> Result<(), LawViolation>,
    ) where
        S: Strategy,
        S::Value: Debug,
    {
        let mut runner = TestRunner::new(self.config.clone());
        let result = runner.run(&strategy, |input| {
            check(&input).map_err(|v| TestCaseError::fail(v.to_string()))
        });
        match result {
            Ok(()) => {}
            Err(TestError::Fail(reason, input)) => panic!(
                "{reason}\nminimal counterexample (shrunk by proptest) from `Laws::{method}`:\n\
                 {input:#?}"
            ),
            Err(TestError::Abort(reason)) => {
                panic!("`Laws::{method}`: proptest gave up: {reason}")
            }
        }
    }
}

impl<F, C, M> Laws<FrameCodec<F, C>, M>
where
    F: Framing + 'static,
    C: PayloadDecoder + PayloadEncoder<M> + 'static,
    C::Item: Debug + PartialEq + PartialEq<M>,
    M: Clone + Debug + 'static,
{
    /// The laws for a [`FrameCodec`]: like [`new`](Laws::new), with the limits read from the
    /// framing, and the max-length law measuring every payload the framing cuts.
    ///
    /// ```
    /// use framekit::{FrameCodec, framing::length_prefixed::LengthPrefixed, payload::{Text, Utf8}};
    /// use framekit::testing::Laws;
    /// use proptest::prelude::*;
    ///
    /// Laws::frame_codec(
    ///     || FrameCodec::with_payload(LengthPrefixed::u8().max_frame_len(40), Utf8),
    ///     "\\PC{0,10}".prop_map(Text::from),
    /// )
    /// .cases(64)
    /// .check_all();
    /// ```
    pub fn frame_codec<S>(make: impl Fn() -> FrameCodec<F, C> + 'static, messages: S) -> Self
    where
        S: Strategy<Value = M> + 'static,
    {
        let mut laws = Laws::new(make, messages);
        laws.limits = Some(Limits::of((laws.make)().framing()));
        let make = laws.make.clone();
        laws.fast_path = Some(Rc::new(move |bytes, sizes| {
            let framing = || make().into_parts().0;
            fast_path::check_fast_path(framing(), framing(), bytes, sizes)
        }));
        let make = laws.make.clone();
        laws.frame_lens = Some(Rc::new(move |bytes, sizes| {
            let (framing, _) = make().into_parts();
            let run = drive(&mut FrameCodec::new(framing), bytes, sizes, None)?;
            Ok(run
                .events
                .iter()
                .filter_map(|e| match e {
                    Event::Frame(payload) => Some(payload.len()),
                    Event::Error(_) => None,
                })
                .collect())
        }));
        laws
    }
}

/// Chunkings: one byte at a time, small pieces, larger pieces.
fn sizes() -> BoxedStrategy<Vec<usize>> {
    prop_oneof![
        1 => Just(vec![1]),
        2 => vec(1usize..=8, 1..=6),
        2 => vec(1usize..=300, 1..=4),
    ]
    .boxed()
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
