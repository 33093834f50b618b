//! The PROXY protocol (HAProxy's `doc/proxy-protocol.txt`): the header a load balancer sends
//! before the client's bytes, saying who the client is. v1 is one text line, v2 a binary
//! header with TLVs; both are framing, so both are strategies held to the framing laws.
//!
//! ```text
//! ProxyProtocol::v1()   "PROXY TCP4 192.0.2.1 10.0.0.1 56324 443\r\n" + client bytes
//! ProxyProtocol::v2()   [signature 12][ver_cmd][fam_proto][len u16 BE][addresses][TLVs] + ...
//! ProxyProtocol::any()  the first byte picks: 'P' is v1, 0x0D is v2, anything else an error
//! ```
//!
//! The frame is the whole header, exactly as it came (to forward it, say). [`ProxyCodec`] yields
//! the parsed [`ProxyHeader`] instead, from the same single pass; once it has its header, hand
//! the rest of the buffer to the protocol's own codec (`Framed::map_codec`). Every error is a
//! [`FrameError`] at the byte that broke the rule; a v2 length over the limit is
//! [`FrameError::TooLong`] as soon as the 16 fixed bytes are in.
//!
//! ```
//! use bytes::BytesMut;
//! use framekit::framing::proxy::{ProxyCodec, ProxyHeader};
//! use tokio_util::codec::Decoder;
//!
//! let mut buf = BytesMut::from(&b"PROXY TCP6 2001:db8::1 2001:db8::2 56324 443\r\n*1\r\n$4\r\nPING\r\n"[..]);
//! let header = ProxyCodec::any().decode(&mut buf).unwrap().unwrap();
//! assert_eq!(header.source(), Some("[2001:db8::1]:56324".parse().unwrap()));
//! assert_eq!(&buf[..], b"*1\r\n$4\r\nPING\r\n"); // the client's bytes, untouched
//! ```
//!
//! # Knobs and defaults
//!
//! [`ProxyProtocol::v1`], [`v2`](ProxyProtocol::v2) or [`any`](ProxyProtocol::any) (the first
//! byte picks). A v1 line is at most 107 bytes, as the specification says; a v2 header at most
//! [`max_header_len`](ProxyProtocol::max_header_len), [`DEFAULT_MAX_HEADER_LEN`] (4 KiB) by
//! default. Which peers may send a header, and how long they have, is the server's preamble stage
//! (`framekit_server::preamble`).

use bytes::BytesMut;
use tokio_util::codec::{Decoder, Encoder};

use super::{Decision, Framing};
use crate::{FrameCodec, FrameError};

mod header;
mod tlv;
mod v1;
mod v2;

pub use header::{Addresses, Command, ProxyHeader, Transport, Version};
pub use tlv::{SslField, SslInfo, Tlv, MAX_UNIQUE_ID};
pub use v1::MAX_LINE as MAX_V1_LEN;
pub use v2::{MAX_LEN as MAX_V2_LEN, SIGNATURE as V2_SIGNATURE};

/// The default limit on a whole v2 header: addresses plus a few KiB of TLVs (an SSL TLV with
/// a certificate's names fits; a peer cannot make the receiver hold 64 KiB).
pub const DEFAULT_MAX_HEADER_LEN: usize = 4096;

/// Which versions a receiver accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Versions {
    /// Only the v1 text line.
    V1,
    /// Only the v2 binary header.
    V2,
    /// Either; the first byte tells them apart.
    Any,
}

impl Versions {
    /// Whether a header of `version` is accepted.
    ///
    /// ```
    /// use framekit::framing::proxy::{Version, Versions};
    /// assert!(Versions::Any.accepts(Version::V1) && !Versions::V2.accepts(Version::V1));
    /// ```
    pub fn accepts(self, version: Version) -> bool {
        matches!(
            (self, version),
            (Versions::Any, _) | (Versions::V1, Version::V1) | (Versions::V2, Version::V2)
        )
    }
}

/// Where the decision on the buffered bytes stands.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
enum State {
    /// Nothing examined yet.
    #[default]
    Start,
    /// A v1 line; the bytes before the position have been checked.
    Line(usize),
    /// A v2 header; the fixed part is judged again until it is whole (16 bytes at most).
    Binary,
    /// A header was cut out and parsed; [`ProxyProtocol::take_header`] hands it over.
    Parsed(Box<ProxyHeader>),
}

/// The PROXY protocol header as a framing strategy: one frame per header, the frame being the
/// header's own bytes.
///
/// ```
/// use framekit::framing::{Decision, Framing, proxy::ProxyProtocol};
///
/// let mut v1 = ProxyProtocol::v1();
/// assert_eq!(v1.decide(b"PROXY UNKNOWN\r\nhello").unwrap(), Decision::frame(15, 0..15));
/// assert!(v1.take_header().is_some());
/// // A client that sends no header is refused at its first byte.
/// assert_eq!(v1.decide(b"*1\r\n").unwrap_err().offset(), Some(0));
/// ```
#[derive(Debug, Clone)]
pub struct ProxyProtocol {
    versions: Versions,
    max_header_len: usize,
    state: State,
}

impl ProxyProtocol {
    /// Accepts `versions`, with v2 headers of at most [`DEFAULT_MAX_HEADER_LEN`] bytes.
    ///
    /// ```
    /// use framekit::framing::proxy::{ProxyProtocol, Versions};
    /// assert_eq!(ProxyProtocol::new(Versions::V2).versions(), Versions::V2);
    /// ```
    pub fn new(versions: Versions) -> Self {
        ProxyProtocol {
            versions,
            max_header_len: DEFAULT_MAX_HEADER_LEN,
            state: State::Start,
        }
    }

    /// Only v1 lines.
    ///
    /// ```
    /// use framekit::framing::{Framing, proxy::ProxyProtocol};
    /// assert_eq!(ProxyProtocol::v1().frame_limit(), 107);
    /// ```
    pub fn v1() -> Self {
        Self::new(Versions::V1)
    }

    /// Only v2 headers.
    ///
    /// ```
    /// use framekit::framing::{Framing, proxy::ProxyProtocol};
    /// assert!(ProxyProtocol::v2().decide(b"PROXY UNKNOWN\r\n").is_err());
    /// ```
    pub fn v2() -> Self {
        Self::new(Versions::V2)
    }

    /// Either version.
    ///
    /// ```
    /// use framekit::framing::{Framing, proxy::ProxyProtocol};
    /// assert!(ProxyProtocol::any().decide(b"PROXY UNKNOWN\r\n").is_ok());
    /// ```
    pub fn any() -> Self {
        Self::new(Versions::Any)
    }

    /// Sets the limit on a whole v2 header, clamped to what the format allows: from room for
    /// two Unix paths (232 bytes) to 16 + 65535.
    ///
    /// ```
    /// use framekit::framing::{Framing, proxy::ProxyProtocol};
    /// assert_eq!(ProxyProtocol::v2().max_header_len(1024).frame_limit(), 1024);
    /// assert_eq!(ProxyProtocol::v2().max_header_len(1).frame_limit(), 232);
    /// ```
    pub fn max_header_len(mut self, max: usize) -> Self {
        self.max_header_len = max.clamp(v2::MIN_LIMIT, v2::MAX_LEN);
        self
    }

    /// The versions accepted.
    pub fn versions(&self) -> Versions {
        self.versions
    }

    /// The header parsed by the last [`decide`](Framing::decide) that returned a frame, once.
    ///
    /// ```
    /// use framekit::framing::{Framing, proxy::ProxyProtocol};
    /// let mut any = ProxyProtocol::any();
    /// any.decide(b"PROXY UNKNOWN\r\n").unwrap();
    /// assert!(any.take_header().is_some());
    /// assert!(any.take_header().is_none());
    /// ```
    pub fn take_header(&mut self) -> Option<ProxyHeader> {
        match std::mem::take(&mut self.state) {
            State::Parsed(header) => Some(*header),
            other => {
                self.state = other;
                None
            }
        }
    }

    fn decide_inner(&mut self, buf: &[u8]) -> Result<Decision, FrameError> {
        let Some(&first) = buf.first() else {
            return Ok(Decision::incomplete(1));
        };
        if matches!(self.state, State::Start | State::Parsed(_)) {
            let v1 = match self.versions {
                Versions::V1 => true,
                Versions::V2 => false,
                Versions::Any if first == v1::PREFIX[0] => true,
                Versions::Any if first == v2::SIGNATURE[0] => false,
                Versions::Any => {
                    return Err(FrameError::malformed(
                        0,
                        "not a PROXY header: neither \"PROXY \" (v1) nor the v2 signature",
                    ))
                }
            };
            self.state = if v1 { State::Line(0) } else { State::Binary };
        }
        // The work meter (see `reports_work`): the line scan reads only new bytes; a whole
        // header is read once more to parse it; v2 reads its fixed head until it is whole.
        let (len, header) = match self.state {
            State::Line(from) => {
                super::work::examined(buf.len().saturating_sub(from));
                match v1::scan(buf, from)? {
                    v1::Scan::Partial(scanned) => {
                        self.state = State::Line(scanned);
                        return Ok(Decision::incomplete(1));
                    }
                    v1::Scan::Line(len) => {
                        super::work::examined(len);
                        (len, v1::parse(&buf[..len - 2])?)
                    }
                }
            }
            _ => {
                super::work::examined(buf.len().min(16));
                match v2::check_head(buf, self.max_header_len)? {
                    v2::Head::Partial(needed) => return Ok(Decision::incomplete(needed)),
                    v2::Head::Whole(len) => {
                        super::work::examined(len);
                        (len, v2::parse(&buf[..len])?)
                    }
                }
            }
        };
        self.state = State::Parsed(Box::new(header));
        Ok(Decision::frame(len, 0..len))
    }
}

impl Framing for ProxyProtocol {
    fn decide(&mut self, buf: &[u8]) -> Result<Decision, FrameError> {
        let decision = self.decide_inner(buf);
        if decision.is_err() {
            self.state = State::Start;
        }
        decision
    }

    fn frame_limit(&self) -> usize {
        match self.versions {
            Versions::V1 => v1::MAX_LINE,
            Versions::V2 => self.max_header_len,
            Versions::Any => self.max_header_len.max(v1::MAX_LINE),
        }
    }

    /// The payload must be one whole header this strategy accepts; nothing is added to it.
    fn encode_head(&mut self, payload: &[u8], _dst: &mut BytesMut) -> Result<(), FrameError> {
        let mut probe = ProxyProtocol::new(self.versions).max_header_len(self.max_header_len);
        match probe.decide(payload) {
            Ok(Decision::Frame { len, .. }) if len == payload.len() => Ok(()),
            Ok(_) => Err(FrameError::unencodable(
                payload.len(),
                "not exactly one whole PROXY header",
            )),
            Err(e) => Err(FrameError::unencodable(
                payload.len(),
                format!("not a PROXY header this framing accepts: {e}"),
            )),
        }
    }

    fn reset(&mut self) {
        self.state = State::Start;
    }

    fn reports_work(&self) -> bool {
        true
    }
}

/// Decodes [`ProxyHeader`]s (one pass over the bytes: the framing parses as it cuts) and
/// encodes them in their own version.
///
/// ```
/// use bytes::BytesMut;
/// use framekit::framing::proxy::{ProxyCodec, ProxyHeader};
/// use tokio_util::codec::{Decoder, Encoder};
///
/// let header = ProxyHeader::v2_local();
/// let mut codec = ProxyCodec::v2();
/// let mut wire = BytesMut::new();
/// codec.encode(header.clone(), &mut wire).unwrap();
/// assert_eq!(codec.decode(&mut wire).unwrap(), Some(header));
/// ```
#[derive(Debug)]
pub struct ProxyCodec {
    inner: FrameCodec<ProxyProtocol>,
}

impl ProxyCodec {
    /// Decodes with `framing`.
    ///
    /// ```
    /// use framekit::framing::proxy::{ProxyCodec, ProxyProtocol};
    /// let codec = ProxyCodec::new(ProxyProtocol::v2().max_header_len(512));
    /// ```
    pub fn new(framing: ProxyProtocol) -> Self {
        ProxyCodec {
            inner: FrameCodec::new(framing),
        }
    }

    /// v1 lines only.
    pub fn v1() -> Self {
        Self::new(ProxyProtocol::v1())
    }

    /// v2 headers only.
    pub fn v2() -> Self {
        Self::new(ProxyProtocol::v2())
    }

    /// Either version.
    pub fn any() -> Self {
        Self::new(ProxyProtocol::any())
    }

    /// The framing inside, for its limits.
    ///
    /// ```
    /// use framekit::framing::{Framing, proxy::ProxyCodec};
    /// assert_eq!(ProxyCodec::v1().framing().frame_limit(), 107);
    /// ```
    pub fn framing(&self) -> &ProxyProtocol {
        self.inner.framing()
    }

    fn decoded(&mut self, raw: Option<bytes::Bytes>) -> Option<ProxyHeader> {
        raw.and_then(|_| self.inner.framing_mut().take_header())
    }
}

impl Decoder for ProxyCodec {
    type Item = ProxyHeader;
    type Error = FrameError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<ProxyHeader>, FrameError> {
        let raw = self.inner.decode(src)?;
        Ok(self.decoded(raw))
    }

    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<ProxyHeader>, FrameError> {
        let raw = self.inner.decode_eof(src)?;
        Ok(self.decoded(raw))
    }
}

impl Encoder<&ProxyHeader> for ProxyCodec {
    type Error = FrameError;

    fn encode(&mut self, header: &ProxyHeader, dst: &mut BytesMut) -> Result<(), FrameError> {
        if !self.framing().versions().accepts(header.version) {
            return Err(FrameError::unencodable(
                0,
                "this codec does not accept the header's version",
            ));
        }
        let start = dst.len();
        header.write(dst)?;
        if dst.len() - start > self.framing().frame_limit() {
            dst.truncate(start);
            return Err(FrameError::unencodable(
                0,
                "the header is over this codec's length limit",
            ));
        }
        Ok(())
    }
}

impl Encoder<ProxyHeader> for ProxyCodec {
    type Error = FrameError;

    fn encode(&mut self, header: ProxyHeader, dst: &mut BytesMut) -> Result<(), FrameError> {
        self.encode(&header, dst)
    }
}
