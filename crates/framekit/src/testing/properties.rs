//! The property runners: one method per law, each drawing its inputs with proptest and
//! panicking with the law's name and the shrunk counterexample, and `check_all` to run them all.

use std::fmt::{Debug, Display};

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::test_runner::{TestCaseError, TestError, TestRunner};
use tokio_util::codec::Decoder;

use super::inputs::sizes;
use super::{CutStream, LawViolation, Laws};
#[cfg(doc)]
use crate::{framing::Framing, FrameCodec};

impl<D, M> Laws<D, M>
where
    D: Decoder + 'static,
    D::Item: Debug + PartialEq + PartialEq<M>,
    D::Error: Display + Debug + 'static,
    M: Clone + Debug + 'static,
{
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
    /// frame's length in bytes examined (see [the measure](crate::testing#the-measure-behind-linear_work)).
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
