//! The async shell: [`FrameCodec`] turns any [`Framing`] plus a payload codec into a
//! `tokio_util` [`Decoder`] + [`Encoder`].
//!
//! It owns the decisions that depend on the read buffer rather than on the protocol: not asking
//! the strategy again before the bytes it said it needs have arrived, growing the buffer only in
//! proportion to what arrived, cutting zero-copy frames out of it, and shrinking it after a large
//! frame.

use bytes::{Buf, BytesMut};
use tokio_util::codec::{Decoder, Encoder};

use crate::error::StrategyFault;
pub use crate::framing::InPlace;
use crate::framing::{Decision, Framing};
use crate::payload::{PayloadDecoder, PayloadEncoder, Raw};
use crate::FrameError;

/// Above this capacity an emptied (or nearly empty) read buffer is released, so one large frame
/// does not pin its memory for the rest of the connection.
///
/// ```
/// assert_eq!(framekit::codec::SHRINK_ABOVE, 64 * 1024);
/// ```
pub const SHRINK_ABOVE: usize = 64 * 1024;

/// How much room the codec reserves at least when it knows more bytes are coming. Larger
/// requests grow with what is already buffered (at most doubling), never with what a peer
/// merely declared.
///
/// ```
/// assert_eq!(framekit::codec::MIN_RESERVE, 4096);
/// ```
pub const MIN_RESERVE: usize = 4 * 1024;

/// A framing strategy and a payload codec, as a `tokio_util` codec.
///
/// Decoding yields the payload codec's items ([`Bytes`](bytes::Bytes) with [`Raw`], the
/// default); encoding accepts anything the payload codec encodes.
///
/// ```
/// use bytes::BytesMut;
/// use framekit::{FrameCodec, framing::length_prefixed::LengthPrefixed};
/// use tokio_util::codec::{Decoder, Encoder};
///
/// let mut codec = FrameCodec::new(LengthPrefixed::u32_be());
/// let mut wire = BytesMut::new();
/// codec.encode(&b"hello"[..], &mut wire).unwrap();
/// assert_eq!(&wire[..], b"\0\0\0\x05hello");
/// assert_eq!(codec.decode(&mut wire).unwrap().unwrap(), "hello");
/// ```
///
/// With `tokio_util::codec::Framed` (any `AsyncRead + AsyncWrite`):
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), framekit::FrameError> {
/// use futures::{SinkExt, StreamExt};
/// use framekit::{FrameCodec, framing::delimited::Delimited, payload::Utf8};
/// use tokio_util::codec::Framed;
///
/// let (a, b) = tokio::io::duplex(64);
/// let mut client = Framed::new(a, FrameCodec::with_payload(Delimited::newline(), Utf8));
/// let mut server = Framed::new(b, FrameCodec::with_payload(Delimited::newline(), Utf8));
/// client.send("ping").await?;
/// assert_eq!(server.next().await.unwrap()?, "ping");
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct FrameCodec<F, C = Raw> {
    framing: F,
    payload: C,
    /// Buffer length below which the strategy's last answer cannot change.
    want: usize,
    /// Bytes removed from the front of the stream so far: the base of error offsets.
    consumed: u64,
    /// Reused to serialise payloads whose length must be known before framing them.
    scratch: BytesMut,
    /// The strategy's last answer that changed anything was a zero-byte discard: a second one
    /// before a frame or a dropped byte is [`StrategyFault::RepeatedEmptyDiscard`].
    empty_discard: bool,
}

impl<F: Framing> FrameCodec<F, Raw> {
    /// A codec yielding raw `Bytes` payloads.
    ///
    /// ```
    /// use tokio_util::codec::Decoder;
    /// use framekit::{FrameCodec, framing::fixed::FixedSize};
    /// let mut codec = FrameCodec::new(FixedSize::new(2));
    /// let mut buf = bytes::BytesMut::from(&b"abc"[..]);
    /// assert_eq!(codec.decode(&mut buf).unwrap().unwrap(), "ab");
    /// ```
    pub fn new(framing: F) -> Self {
        Self::with_payload(framing, Raw)
    }
}

impl<F: Framing, C> FrameCodec<F, C> {
    /// A codec framing with `framing` and interpreting payloads with `payload`.
    ///
    /// ```
    /// use framekit::{FrameCodec, framing::{Framing, delimited::Delimited}, payload::Utf8};
    /// let codec = FrameCodec::with_payload(Delimited::newline(), Utf8);
    /// assert_eq!(codec.framing().frame_limit(), 64 * 1024);
    /// ```
    pub fn with_payload(framing: F, payload: C) -> Self {
        FrameCodec {
            framing,
            payload,
            want: 0,
            consumed: 0,
            scratch: BytesMut::new(),
            empty_discard: false,
        }
    }

    /// The framing strategy.
    ///
    /// ```
    /// use framekit::{FrameCodec, framing::{Framing, fixed::FixedSize}};
    /// assert_eq!(FrameCodec::new(FixedSize::new(8)).framing().frame_limit(), 8);
    /// ```
    pub fn framing(&self) -> &F {
        &self.framing
    }

    /// The framing strategy, mutably (to change a limit mid-stream, for instance).
    ///
    /// ```
    /// use framekit::{FrameCodec, framing::{Framing, delimited::Delimited}};
    /// let mut codec = FrameCodec::new(Delimited::newline());
    /// // Builder methods take `self`; swap in a reconfigured copy.
    /// let tighter = codec.framing().clone().max_frame_len(80);
    /// *codec.framing_mut() = tighter;
    /// assert_eq!(codec.framing().frame_limit(), 80);
    /// ```
    pub fn framing_mut(&mut self) -> &mut F {
        &mut self.framing
    }

    /// The payload codec.
    ///
    /// ```
    /// use framekit::{FrameCodec, framing::delimited::Delimited, payload::Utf8};
    /// assert_eq!(*FrameCodec::with_payload(Delimited::newline(), Utf8).payload(), Utf8);
    /// ```
    pub fn payload(&self) -> &C {
        &self.payload
    }

    /// The payload codec, mutably.
    ///
    /// ```
    /// use framekit::{FrameCodec, framing::delimited::Delimited, payload::Raw};
    /// let mut codec = FrameCodec::new(Delimited::newline());
    /// *codec.payload_mut() = Raw;
    /// ```
    pub fn payload_mut(&mut self) -> &mut C {
        &mut self.payload
    }

    /// How many bytes this codec has removed from its read buffers so far (frames, delimiters
    /// and discarded bytes): the stream offset of the next frame.
    ///
    /// ```
    /// use tokio_util::codec::Decoder;
    /// use framekit::{FrameCodec, framing::delimited::Delimited};
    /// let mut codec = FrameCodec::new(Delimited::newline());
    /// let mut buf = bytes::BytesMut::from(&b"ab\r\ncd"[..]);
    /// codec.decode(&mut buf).unwrap();
    /// assert_eq!(codec.bytes_consumed(), 4);
    /// ```
    pub fn bytes_consumed(&self) -> u64 {
        self.consumed
    }

    /// Takes the framing and payload codec back, for example to switch protocol.
    ///
    /// The codec holds no stream bytes of its own (they stay in the read buffer that `Framed`
    /// owns), so nothing is lost; see [switching protocol mid-stream](crate#switching-protocol-mid-stream).
    ///
    /// ```
    /// use framekit::{FrameCodec, framing::fixed::FixedSize, payload::Raw};
    /// let (framing, payload) = FrameCodec::new(FixedSize::new(4)).into_parts();
    /// assert_eq!((framing.size(), payload), (4, Raw));
    /// ```
    pub fn into_parts(self) -> (F, C) {
        (self.framing, self.payload)
    }

    /// Forgets any partial progress, as if the next byte starts a new stream: error offsets
    /// count from zero again. Call it before reusing (or cloning) a codec for another stream.
    ///
    /// ```
    /// use tokio_util::codec::Decoder;
    /// use framekit::{FrameCodec, framing::delimited::Delimited};
    /// let mut codec = FrameCodec::new(Delimited::newline());
    /// let mut old = bytes::BytesMut::from(&b"partial"[..]);
    /// assert!(codec.decode(&mut old).unwrap().is_none());
    /// codec.reset(); // a new connection reuses the codec
    /// let mut fresh = bytes::BytesMut::from(&b"x\n"[..]);
    /// assert_eq!(codec.decode(&mut fresh).unwrap().unwrap(), "x");
    /// assert_eq!(codec.bytes_consumed(), 2);
    /// ```
    pub fn reset(&mut self) {
        self.framing.reset();
        self.want = 0;
        self.consumed = 0;
        self.empty_discard = false;
    }

    /// Cuts the next frame out of `src`, with its stream offset; `Ok(None)` means wait for
    /// more bytes.
    fn step(
        &mut self,
        src: &mut BytesMut,
        eof: bool,
    ) -> Result<Option<(BytesMut, u64)>, FrameError> {
        match self.step_in_place(src, eof)? {
            None => Ok(None),
            Some(InPlace { len, payload }) => {
                let offset = self.consumed - len as u64;
                // Cut the frame, then trim it to the payload in place: no copy, and no extra
                // reference-count traffic from slicing a frozen `Bytes`.
                let mut frame = src.split_to(len);
                frame.truncate(payload.end);
                frame.advance(payload.start);
                self.release_if_oversized(src);
                Ok(Some((frame, offset)))
            }
        }
    }

    /// The next whole frame, left at the front of `src`: where it ends and where its payload
    /// lies, for a caller that reads the payload where it is (a server handing requests to
    /// handlers by reference) and then drops `len` bytes from the front of `src` itself.
    ///
    /// Bytes a strategy discards are dropped from `src` here. `Ok(None)` means wait for more
    /// bytes; with `eof` the end of the stream is applied as
    /// [`decode_eof`](Decoder::decode_eof) does. The payload codec is not used: the payload is
    /// raw bytes. Call it again only once the frame's bytes are gone from `src`.
    ///
    /// ```
    /// use bytes::{Buf, BytesMut};
    /// use framekit::{FrameCodec, framing::delimited::Delimited};
    ///
    /// let mut codec = FrameCodec::new(Delimited::newline());
    /// let mut buf = BytesMut::from(&b"ping\npo"[..]);
    /// let frame = codec.decode_in_place(&mut buf, false)?.unwrap();
    /// assert_eq!(&buf[frame.payload.clone()], b"ping");
    /// buf.advance(frame.len);
    /// assert!(codec.decode_in_place(&mut buf, false)?.is_none());
    /// buf.extend_from_slice(b"ng\n");
    /// assert_eq!(codec.decode_in_place(&mut buf, false)?.unwrap().len, 5);
    /// # Ok::<(), framekit::FrameError>(())
    /// ```
    #[inline]
    pub fn decode_in_place(
        &mut self,
        src: &mut BytesMut,
        eof: bool,
    ) -> Result<Option<InPlace>, FrameError> {
        match self.step_in_place(src, false)? {
            None if eof => self.step_in_place(src, true),
            found => Ok(found),
        }
    }

    /// Runs decisions on `src` until a frame is found (left in `src`) or more bytes are needed;
    /// discarded bytes are dropped.
    ///
    /// The strategy's fast path ([`Framing::decide_frame`]) is tried first and inline: a server
    /// decodes every request through here, and at small frames the calls and the
    /// `Result<Decision, _>` passed through memory cost more than finding the frame.
    #[inline]
    fn step_in_place(
        &mut self,
        src: &mut BytesMut,
        eof: bool,
    ) -> Result<Option<InPlace>, FrameError> {
        if !eof && src.len() >= self.want {
            // No strategy frames nothing (a frame takes at least one byte): a server asks again
            // after every request it drained, so an empty buffer is answered here at once.
            if src.is_empty() {
                return Ok(None);
            }
            if let Some(found) = self.framing.decide_frame(src) {
                if !self.framing.reports_work() {
                    crate::framing::work::examined(src.len());
                }
                return self.found(src, found);
            }
        }
        self.decide_in_place(src, eof)
    }

    /// A frame the strategy found: checked to lie inside `src`, then counted as consumed.
    #[inline(always)]
    fn found(&mut self, src: &BytesMut, found: InPlace) -> Result<Option<InPlace>, FrameError> {
        let InPlace { len, ref payload } = found;
        if len == 0 || len > src.len() || payload.start > payload.end || payload.end > len {
            return Err(self.outside());
        }
        self.want = 0;
        self.empty_discard = false;
        self.consumed += len as u64;
        Ok(Some(found))
    }

    #[cold]
    #[inline(never)]
    fn outside(&mut self) -> FrameError {
        self.fail(FrameError::Strategy {
            offset: 0,
            fault: StrategyFault::FrameOutsideBuffer,
        })
    }

    /// Everything the fast path leaves: asks [`Framing::decide`] (or `decide_eof`) until a
    /// frame is found or more bytes are needed, dropping discarded bytes.
    #[inline(never)]
    fn decide_in_place(
        &mut self,
        src: &mut BytesMut,
        eof: bool,
    ) -> Result<Option<InPlace>, FrameError> {
        loop {
            let decision = if eof {
                if !self.framing.reports_work() {
                    crate::framing::work::examined(src.len());
                }
                match self.framing.decide_eof(src) {
                    Ok(Some(d)) => d,
                    Ok(None) => return Ok(None),
                    Err(e) => return Err(self.fail(e)),
                }
            } else {
                // `decide` is never asked about nothing: a discard may have emptied `src`.
                if src.len() < self.want || src.is_empty() {
                    return Ok(None);
                }
                if !self.framing.reports_work() {
                    crate::framing::work::examined(src.len());
                }
                match self.framing.decide(src) {
                    Ok(d) => d,
                    Err(e) => return Err(self.fail(e)),
                }
            };
            match decision {
                Decision::Frame { len, payload } => {
                    return self.found(src, InPlace { len, payload })
                }
                Decision::Discard { len, skipped_frame } => {
                    self.check_discard(len, src.len(), skipped_frame.is_some())?;
                    let piece_start = self.consumed;
                    src.advance(len);
                    self.want = 0;
                    self.consumed += len as u64;
                    self.release_if_oversized(src);
                    if let Some(report) = skipped_frame {
                        return Err(report.error(piece_start));
                    }
                }
                Decision::Incomplete { needed } if eof => {
                    let _ = needed;
                    return Err(self.fail(FrameError::UnexpectedEof {
                        buffered: src.len(),
                    }));
                }
                Decision::Incomplete { needed } => {
                    self.want = src.len().saturating_add(needed);
                    // Make room in proportion to what has arrived, never to what was declared:
                    // a 4-byte header claiming 8 MiB gets a few KiB until the bytes show up.
                    let room = src.capacity() - src.len();
                    let grow = needed.min(src.len().max(MIN_RESERVE));
                    if room < grow {
                        src.reserve(grow);
                    }
                    return Ok(None);
                }
            }
        }
    }

    /// Checks a discard of `len` bytes out of `buffered` against the contract: it lies inside
    /// the buffer, and a zero-byte one reports a skipped frame (all of whose bytes are gone
    /// already) and does not follow another one, or asking again would loop for ever.
    fn check_discard(
        &mut self,
        len: usize,
        buffered: usize,
        reports: bool,
    ) -> Result<(), FrameError> {
        let fault = match (len, reports, self.empty_discard) {
            (1.., _, _) if len <= buffered => {
                self.empty_discard = false;
                return Ok(());
            }
            (1.., _, _) => StrategyFault::DiscardOutsideBuffer,
            (0, true, false) => {
                self.empty_discard = true;
                return Ok(());
            }
            (0, false, _) => StrategyFault::EmptyDiscard,
            (0, true, true) => StrategyFault::RepeatedEmptyDiscard,
        };
        Err(self.fail(FrameError::Strategy { offset: 0, fault }))
    }

    fn fail(&mut self, err: FrameError) -> FrameError {
        self.framing.reset();
        self.want = 0;
        self.empty_discard = false;
        err.shifted(self.consumed)
    }

    /// Drops a large allocation once a big frame has been cut out of it.
    fn release_if_oversized(&mut self, src: &mut BytesMut) {
        if src.capacity() > SHRINK_ABOVE && src.len() <= src.capacity() / 8 {
            if src.is_empty() {
                *src = BytesMut::new();
            } else {
                let mut fresh = BytesMut::with_capacity(src.len().max(MIN_RESERVE));
                fresh.extend_from_slice(src);
                *src = fresh;
            }
        }
    }
}

impl<F: Framing, C: PayloadDecoder> FrameCodec<F, C> {
    fn decode_inner(
        &mut self,
        src: &mut BytesMut,
        eof: bool,
    ) -> Result<Option<C::Item>, FrameError> {
        let Some((frame, offset)) = self.step(src, eof)? else {
            return Ok(None);
        };
        self.payload
            .decode_payload(frame.freeze())
            .map(Some)
            .map_err(|e| FrameError::payload(offset, e))
    }
}

impl<F: Framing, C: PayloadDecoder> Decoder for FrameCodec<F, C> {
    type Item = C::Item;
    type Error = FrameError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<C::Item>, FrameError> {
        self.decode_inner(src, false)
    }

    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<C::Item>, FrameError> {
        match self.decode_inner(src, false)? {
            Some(item) => Ok(Some(item)),
            None => self.decode_inner(src, true),
        }
    }
}

impl<F: Framing, C: PayloadEncoder<T>, T> Encoder<T> for FrameCodec<F, C> {
    type Error = FrameError;

    fn encode(&mut self, item: T, dst: &mut BytesMut) -> Result<(), FrameError> {
        self.payload
            .encode_frame(item, &mut self.framing, &mut self.scratch, dst)
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod contract_tests;
