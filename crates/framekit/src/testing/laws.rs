//! [`Laws`]: one codec, one kind of message, and the knobs the laws need (its limits, how long
//! a frame was, what it does at EOF, how many cases); built for any `Decoder`, or for a
//! [`FrameCodec`] with the limits and the fast path read from its framing.

use std::any::Any;
use std::fmt::{self, Debug, Display};
use std::rc::Rc;

use bytes::BytesMut;
use proptest::prelude::*;
use tokio_util::codec::{Decoder, Encoder};

use super::drive::{drive, Event};
use super::{fast_path, LawViolation, WORK_PER_BYTE, WORK_PER_CALL};
use crate::framing::Framing;
use crate::payload::{PayloadDecoder, PayloadEncoder};
use crate::{FrameCodec, FrameError};

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

pub(super) type Make<D> = Rc<dyn Fn() -> D>;
pub(super) type Encode<D, M> = Rc<dyn Fn(&mut D, M, &mut BytesMut) -> Result<(), String>>;
pub(super) type FrameLens = Rc<dyn Fn(&[u8], &[usize]) -> Result<Vec<usize>, LawViolation>>;
pub(super) type Measure<I> = Rc<dyn Fn(&I) -> usize>;
pub(super) type PartialRule<E> = Rc<dyn Fn(&E, usize) -> bool>;
pub(super) type FastPath = Rc<dyn Fn(&[u8], &[usize]) -> Result<(), LawViolation>>;

/// What a codec does with a frame cut short by the end of the stream.
pub(super) enum AtEof<E> {
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
    pub(super) make: Make<D>,
    pub(super) messages: BoxedStrategy<M>,
    pub(super) encode: Encode<D, M>,
    pub(super) limits: Option<Limits>,
    pub(super) frame_lens: Option<FrameLens>,
    pub(super) measure: Option<Measure<D::Item>>,
    /// Law `fast_path` on one input, for a [`FrameCodec`]'s strategy; `None` for other codecs.
    pub(super) fast_path: Option<FastPath>,
    pub(super) at_eof: AtEof<D::Error>,
    pub(super) config: ProptestConfig,
    pub(super) max_messages: usize,
    pub(super) work_bound: (u64, u64),
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
