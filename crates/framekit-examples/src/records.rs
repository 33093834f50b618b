//! The fixed-size record protocol of `records_server`: 16-byte samples in, a 32-byte summary
//! out, and the running aggregate they feed.
//!
//! ```text
//! record    +-------------------+-----------------+      16 bytes, big endian
//! (in)      | timestamp: u64    | value: f64      |
//!           +-------------------+-----------------+
//!           timestamp = 0xFFFF_FFFF_FFFF_FFFF: a query (the value field is ignored)
//!
//! summary   +------------+----------+----------+-----------+   32 bytes, big endian,
//! (out)     | count: u64 | min: f64 | max: f64 | mean: f64 |   one per query
//!           +------------+----------+----------+-----------+
//!           count 0: min, max and mean are NaN
//! ```
//!
//! Non-finite values (NaN, infinities) are ignored: they are not counted.

use bytes::{Buf, BufMut, Bytes, BytesMut};
use framekit::connection::Decode;
use framekit::framing::fixed::FixedSize;
use framekit::payload::{PayloadDecoder, PayloadError};
use framekit::{FrameCodec, FrameError};
use tokio_util::codec::{Decoder, Encoder};

/// Bytes of one record.
pub const RECORD_LEN: usize = 16;
/// Bytes of one summary.
pub const SUMMARY_LEN: usize = 32;
/// The timestamp that marks a query.
pub const QUERY_TIMESTAMP: u64 = u64::MAX;

/// One sample.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Record {
    /// When, in whatever unit the client uses.
    pub timestamp: u64,
    /// The sample.
    pub value: f64,
}

impl Record {
    /// The record's 16 bytes.
    pub fn to_bytes(self) -> [u8; RECORD_LEN] {
        let mut out = [0u8; RECORD_LEN];
        out[..8].copy_from_slice(&self.timestamp.to_be_bytes());
        out[8..].copy_from_slice(&self.value.to_be_bytes());
        out
    }

    /// The 16 bytes of a query.
    pub fn query_bytes() -> [u8; RECORD_LEN] {
        Record {
            timestamp: QUERY_TIMESTAMP,
            value: 0.0,
        }
        .to_bytes()
    }
}

/// What one 16-byte frame is.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Message {
    /// A sample to aggregate.
    Record(Record),
    /// A request for the current summary.
    Query,
}

impl Message {
    /// Reads a 16-byte frame.
    pub fn from_bytes(bytes: [u8; RECORD_LEN]) -> Message {
        let mut buf = &bytes[..];
        let timestamp = buf.get_u64();
        let value = buf.get_f64();
        if timestamp == QUERY_TIMESTAMP {
            Message::Query
        } else {
            Message::Record(Record { timestamp, value })
        }
    }
}

/// count, min, max and mean of the values seen.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    /// How many values.
    pub count: u64,
    /// The smallest (NaN if none).
    pub min: f64,
    /// The largest (NaN if none).
    pub max: f64,
    /// The mean (NaN if none).
    pub mean: f64,
}

impl Summary {
    /// The summary's 32 bytes.
    pub fn to_bytes(self) -> [u8; SUMMARY_LEN] {
        let mut out = [0u8; SUMMARY_LEN];
        out[..8].copy_from_slice(&self.count.to_be_bytes());
        out[8..16].copy_from_slice(&self.min.to_be_bytes());
        out[16..24].copy_from_slice(&self.max.to_be_bytes());
        out[24..].copy_from_slice(&self.mean.to_be_bytes());
        out
    }

    /// Reads a summary's 32 bytes.
    pub fn from_bytes(bytes: [u8; SUMMARY_LEN]) -> Summary {
        let mut buf = &bytes[..];
        Summary {
            count: buf.get_u64(),
            min: buf.get_f64(),
            max: buf.get_f64(),
            mean: buf.get_f64(),
        }
    }
}

/// The running aggregate: constant memory, whatever the number of records.
///
/// ```
/// use framekit_examples::records::{Aggregate, Record};
///
/// let mut agg = Aggregate::default();
/// for (t, v) in [(1, 2.0), (2, 4.0), (3, 9.0)] {
///     agg.add(Record { timestamp: t, value: v });
/// }
/// let s = agg.summary();
/// assert_eq!((s.count, s.min, s.max, s.mean), (3, 2.0, 9.0, 5.0));
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Aggregate {
    count: u64,
    min: f64,
    max: f64,
    /// Running mean (Welford), which stays accurate where a running sum would overflow.
    mean: f64,
}

impl Default for Aggregate {
    fn default() -> Self {
        Aggregate {
            count: 0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
            mean: 0.0,
        }
    }
}

impl Aggregate {
    /// Adds a record; returns whether it counted (non-finite values do not).
    pub fn add(&mut self, record: Record) -> bool {
        let v = record.value;
        if !v.is_finite() {
            return false;
        }
        self.count += 1;
        self.min = self.min.min(v);
        self.max = self.max.max(v);
        self.mean += (v - self.mean) / self.count as f64;
        true
    }

    /// The summary so far.
    pub fn summary(&self) -> Summary {
        if self.count == 0 {
            return Summary {
                count: 0,
                min: f64::NAN,
                max: f64::NAN,
                mean: f64::NAN,
            };
        }
        Summary {
            count: self.count,
            min: self.min,
            max: self.max,
            mean: self.mean,
        }
    }
}

/// Payload codec of 16-byte frames.
#[derive(Debug, Clone, Copy, Default)]
pub struct RecordPayload;

impl PayloadDecoder for RecordPayload {
    type Item = Message;
    fn decode_payload(&mut self, payload: Bytes) -> Result<Message, PayloadError> {
        let bytes: [u8; RECORD_LEN] = payload[..].try_into().map_err(|_| "a record is 16 bytes")?;
        Ok(Message::from_bytes(bytes))
    }
}

/// The server's codec: 16-byte records in (framekit's [`FixedSize`]), 32-byte summaries out.
/// Requests and replies have different fixed sizes, so the encoder writes summaries directly.
#[derive(Debug, Clone)]
pub struct RecordsCodec {
    records: FrameCodec<FixedSize, RecordPayload>,
}

impl RecordsCodec {
    /// Records framed by `records` (16-byte [`FixedSize`] frames, each a [`RecordPayload`]),
    /// summaries out.
    ///
    /// ```
    /// use framekit::{framing::fixed::FixedSize, FrameCodec};
    /// use framekit_examples::records::{RecordPayload, RecordsCodec, RECORD_LEN};
    ///
    /// let codec = RecordsCodec::new(FrameCodec::with_payload(FixedSize::new(RECORD_LEN), RecordPayload));
    /// # let _ = codec;
    /// ```
    pub fn new(records: FrameCodec<FixedSize, RecordPayload>) -> Self {
        RecordsCodec { records }
    }
}

impl Default for RecordsCodec {
    fn default() -> Self {
        RecordsCodec::new(FrameCodec::with_payload(
            FixedSize::new(RECORD_LEN),
            RecordPayload,
        ))
    }
}

impl Decoder for RecordsCodec {
    type Item = Message;
    type Error = FrameError;
    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Message>, FrameError> {
        Decoder::decode(&mut self.records, src)
    }
    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<Message>, FrameError> {
        Decoder::decode_eof(&mut self.records, src)
    }
}

/// A record is read where it lies (16 bytes copied into a [`Message`], no buffer cut out).
impl Decode for RecordsCodec {
    /// The record, copied out, and its length on the wire.
    type Found = (Message, usize);
    type View<'b> = Message;
    type Error = FrameError;

    fn decode(
        &mut self,
        buf: &mut BytesMut,
        eof: bool,
    ) -> Result<Option<(Message, usize)>, FrameError> {
        let Some(frame) = self.records.decode_in_place(buf, eof)? else {
            return Ok(None);
        };
        let bytes: [u8; RECORD_LEN] = buf[frame.payload]
            .try_into()
            .map_err(|_| FrameError::malformed(0, "a record is 16 bytes"))?;
        Ok(Some((Message::from_bytes(bytes), frame.len)))
    }

    fn view(&self, _: &BytesMut, found: (Message, usize)) -> (Message, usize) {
        found
    }
}

impl Encoder<Summary> for RecordsCodec {
    type Error = FrameError;
    fn encode(&mut self, summary: Summary, dst: &mut BytesMut) -> Result<(), FrameError> {
        dst.put_slice(&summary.to_bytes());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_and_queries_decode_from_the_wire() {
        let mut codec = RecordsCodec::default();
        let mut wire = BytesMut::new();
        let r = Record {
            timestamp: 7,
            value: -1.5,
        };
        wire.extend_from_slice(&r.to_bytes());
        wire.extend_from_slice(&Record::query_bytes());
        wire.extend_from_slice(&[0; 5]);
        assert_eq!(
            Decoder::decode(&mut codec, &mut wire).unwrap(),
            Some(Message::Record(r))
        );
        assert_eq!(
            Decoder::decode(&mut codec, &mut wire).unwrap(),
            Some(Message::Query)
        );
        assert_eq!(Decoder::decode(&mut codec, &mut wire).unwrap(), None);
        assert!(codec.decode_eof(&mut wire).unwrap_err().is_unexpected_eof());
    }

    #[test]
    fn layout_is_big_endian() {
        let r = Record {
            timestamp: 1,
            value: 1.0,
        };
        assert_eq!(
            r.to_bytes(),
            [0, 0, 0, 0, 0, 0, 0, 1, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0]
        );
        let s = Summary {
            count: 2,
            min: 1.0,
            max: 3.0,
            mean: 2.0,
        };
        let mut wire = BytesMut::new();
        RecordsCodec::default().encode(s, &mut wire).unwrap();
        assert_eq!(wire.len(), SUMMARY_LEN);
        assert_eq!(&wire[..8], &[0, 0, 0, 0, 0, 0, 0, 2]);
        assert_eq!(Summary::from_bytes(wire[..].try_into().unwrap()), s);
    }

    #[test]
    fn empty_aggregate_is_nan_and_non_finite_values_are_ignored() {
        let mut agg = Aggregate::default();
        let s = agg.summary();
        assert_eq!(s.count, 0);
        assert!(s.min.is_nan() && s.max.is_nan() && s.mean.is_nan());
        assert!(!agg.add(Record {
            timestamp: 1,
            value: f64::NAN
        }));
        assert!(!agg.add(Record {
            timestamp: 1,
            value: f64::INFINITY
        }));
        assert!(agg.add(Record {
            timestamp: 1,
            value: -2.0
        }));
        assert_eq!(agg.summary().count, 1);
        assert_eq!(agg.summary().mean, -2.0);
    }

    #[test]
    fn mean_is_exact_for_many_equal_values() {
        let mut agg = Aggregate::default();
        for t in 0..10_000 {
            agg.add(Record {
                timestamp: t,
                value: 0.1,
            });
        }
        assert!((agg.summary().mean - 0.1).abs() < 1e-12);
    }
}
