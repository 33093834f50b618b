//! What the client-role laws must know of a protocol ([`ClientModel`]): how the caller writes
//! request number i, how the model peer reads a request off the wire and answers it, whether an
//! answer is request i's, and (for a multiplexed protocol) the matcher that reads an answer's
//! tag. [`PayloadModel`] is the model for codecs whose answers are byte views; a codec whose
//! answers are values (a parsed reply) brings its own.

use bytes::{Buf, Bytes, BytesMut};
use tokio_util::codec::Encoder;

use crate::connection::{Decode, Match};

/// A protocol as the client-role laws drive it: request `i` goes out, the model peer reads it
/// and writes answer `i`, and the kit checks that exchange `i` ends with an answer that
/// [`is_answer`](ClientModel::is_answer) to `i`, whatever the chunking, interleaving, deadlines
/// and faults. The check never asks the matcher, so a matcher that pairs an answer with the
/// wrong request is caught.
///
/// ```
/// use bytes::{Bytes, BytesMut};
/// use framekit::{FrameCodec, framing::delimited::Delimited};
/// use framekit::testing::connection::{ClientModel, PayloadModel};
///
/// let mut model = PayloadModel::new(FrameCodec::new(Delimited::newline()));
/// assert_eq!(model.request(7), Bytes::from("q7"));
/// let mut wire = BytesMut::from(&b"q7\n"[..]);
/// assert_eq!(model.read_request(&mut wire), Ok(Some(7)));
/// let mut answer = BytesMut::new();
/// model.write_answer(7, &mut answer);
/// assert_eq!(&answer[..], b"a7\n");
/// assert!(model.is_answer(&&b"a7"[..], 7));
/// ```
pub trait ClientModel<C: Decode> {
    /// What the codec encodes as a request.
    type Request;
    /// The matcher a tagged plan uses; request `i` is submitted with tag `i`.
    type Tags: Match<C>;

    /// The caller's request number `index`.
    fn request(&mut self, index: u64) -> Self::Request;

    /// The peer's side: takes the next whole request off the front of `wire` (bytes as the
    /// client wrote them) and says its index; `Ok(None)` waits for more bytes. An `Err` says
    /// what the client wrote that is not a request.
    fn read_request(&mut self, wire: &mut BytesMut) -> Result<Option<u64>, String>;

    /// Appends the peer's answer to request `index` to `dst`, as it goes on the wire.
    fn write_answer(&mut self, index: u64, dst: &mut BytesMut);

    /// Whether `answer` is the answer to request `index` (compared with what
    /// [`write_answer`](ClientModel::write_answer) wrote for it, never through the matcher).
    fn is_answer(&self, answer: &C::View<'_>, index: u64) -> bool;

    /// `answer` in words, for a violation's report.
    fn describe(&self, answer: &C::View<'_>) -> String;

    /// The matcher for tagged plans, which the peer answers in any order; `None` for a
    /// protocol that is pipelined only (its tagged plans then run in order).
    fn tags(&self) -> Option<Self::Tags>;
}

/// The model for a codec whose answers are byte views: request `i` is `q<i>` and its answer
/// `a<i>`, each framed by the codec (a second codec from the same `make` plays the peer).
#[derive(Debug)]
pub struct PayloadModel<C> {
    peer: C,
}

impl<C> PayloadModel<C> {
    /// The model whose peer frames with `peer`.
    pub fn new(peer: C) -> Self {
        PayloadModel { peer }
    }
}

/// Reads the index of a `q<i>` or `a<i>` payload.
fn index_in(payload: &[u8]) -> Option<u64> {
    std::str::from_utf8(payload.get(1..)?).ok()?.parse().ok()
}

impl<C> ClientModel<C> for PayloadModel<C>
where
    C: Decode + Encoder<Bytes>,
    for<'b> C::View<'b>: AsRef<[u8]>,
{
    type Request = Bytes;
    type Tags = IndexTag;

    fn request(&mut self, index: u64) -> Bytes {
        Bytes::from(format!("q{index}"))
    }

    fn read_request(&mut self, wire: &mut BytesMut) -> Result<Option<u64>, String> {
        let found = match self.peer.decode(wire, false) {
            Ok(Some(found)) => found,
            Ok(None) => return Ok(None),
            Err(error) => return Err(format!("the peer could not decode a request: {error}")),
        };
        let (view, len) = self.peer.view(wire, found);
        let index = index_in(view.as_ref()).ok_or_else(|| {
            format!(
                "the peer read {:?}, not a request",
                String::from_utf8_lossy(view.as_ref())
            )
        })?;
        drop(view);
        wire.advance(len);
        Ok(Some(index))
    }

    fn write_answer(&mut self, index: u64, dst: &mut BytesMut) {
        // A refused answer leaves nothing on the wire: the exchange then never ends, which the
        // liveness law reports.
        let _ = self.peer.encode(Bytes::from(format!("a{index}")), dst);
    }

    fn is_answer(&self, answer: &C::View<'_>, index: u64) -> bool {
        answer.as_ref().first() == Some(&b'a') && index_in(answer.as_ref()) == Some(index)
    }

    fn describe(&self, answer: &C::View<'_>) -> String {
        format!("{:?}", String::from_utf8_lossy(answer.as_ref()))
    }

    fn tags(&self) -> Option<IndexTag> {
        Some(IndexTag)
    }
}

/// Reads the tag of an answer `a<index>` (the [`PayloadModel`] peer writes them).
#[derive(Debug, Clone, Copy, Default)]
pub struct IndexTag;

impl<C> Match<C> for IndexTag
where
    C: Decode,
    for<'b> C::View<'b>: AsRef<[u8]>,
{
    fn tag(&self, answer: &C::View<'_>) -> Option<u64> {
        index_in(answer.as_ref())
    }
}

/// How a plan's connection matches answers: in order, or by the model's tags.
pub(super) enum PlanMatch<T> {
    InOrder,
    Tagged(T),
}

impl<C: Decode, T: Match<C>> Match<C> for PlanMatch<T> {
    fn tag(&self, answer: &C::View<'_>) -> Option<u64> {
        match self {
            PlanMatch::InOrder => None,
            PlanMatch::Tagged(tags) => tags.tag(answer),
        }
    }
}
