//! What a PROXY header says: the command, the transport, the addresses the balancer saw, and
//! the TLVs (v2 only). One type for both versions, so a server handles them alike.

use std::net::SocketAddr;

use bytes::BytesMut;

use super::tlv::{SslInfo, Tlv};
use super::{v1, v2};
use crate::FrameError;

/// Which version of the protocol a header was (or is to be) written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Version {
    /// The text line.
    V1,
    /// The binary header.
    V2,
}

/// What the sender asks of the receiver.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Command {
    /// A connection the balancer opened for itself (a health check): use the socket's own
    /// addresses. v2 only.
    Local,
    /// A relayed connection: the addresses are the client's and the original destination.
    Proxy,
}

/// The transport the relayed connection used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transport {
    /// Not said (v1 `UNKNOWN`, v2 `UNSPEC` or `LOCAL`).
    Unspecified,
    /// TCP, or a Unix stream socket.
    Stream,
    /// UDP, or a Unix datagram socket.
    Datagram,
}

/// The two endpoints of the relayed connection, as the balancer saw them.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Addresses {
    /// None given (v1 `UNKNOWN`, v2 `UNSPEC`, `LOCAL`): use the socket's own addresses.
    Unknown,
    /// IPv4 or IPv6 endpoints (both of one family on the wire).
    Ip {
        /// The client.
        source: SocketAddr,
        /// The address the client connected to.
        destination: SocketAddr,
    },
    /// Unix socket paths (v2 `AF_UNIX`), up to their first NUL byte, at most 108 bytes.
    Unix {
        /// The client's path.
        source: Vec<u8>,
        /// The path the client connected to.
        destination: Vec<u8>,
    },
}

/// One PROXY protocol header, v1 or v2.
///
/// ```
/// use bytes::BytesMut;
/// use framekit::framing::proxy::{ProxyHeader, Tlv};
///
/// let header = ProxyHeader::v2_proxy("192.0.2.1:56324".parse().unwrap(), "10.0.0.1:443".parse().unwrap())
///     .with_tlv(Tlv::Alpn(b"h2".to_vec()));
/// let mut wire = BytesMut::new();
/// header.write(&mut wire).unwrap();
/// let (parsed, len) = ProxyHeader::parse(&wire).unwrap().unwrap();
/// assert_eq!((parsed, len), (header, wire.len()));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ProxyHeader {
    /// The version it was written in.
    pub version: Version,
    /// `LOCAL` or `PROXY`.
    pub command: Command,
    /// The relayed transport.
    pub transport: Transport,
    /// The relayed endpoints.
    pub addresses: Addresses,
    /// The TLVs, in wire order (v2 `PROXY` only).
    pub tlvs: Vec<Tlv>,
}

impl ProxyHeader {
    /// A v1 `PROXY TCP4`/`TCP6` line for these endpoints.
    ///
    /// ```
    /// let h = framekit::framing::proxy::ProxyHeader::v1_tcp("192.0.2.1:1".parse().unwrap(), "192.0.2.2:2".parse().unwrap());
    /// assert_eq!(h.source().unwrap().port(), 1);
    /// ```
    pub fn v1_tcp(source: SocketAddr, destination: SocketAddr) -> Self {
        ProxyHeader {
            version: Version::V1,
            command: Command::Proxy,
            transport: Transport::Stream,
            addresses: Addresses::Ip {
                source,
                destination,
            },
            tlvs: Vec::new(),
        }
    }

    /// The v1 `PROXY UNKNOWN` line.
    ///
    /// ```
    /// assert_eq!(framekit::framing::proxy::ProxyHeader::v1_unknown().source(), None);
    /// ```
    pub fn v1_unknown() -> Self {
        ProxyHeader {
            version: Version::V1,
            command: Command::Proxy,
            transport: Transport::Unspecified,
            addresses: Addresses::Unknown,
            tlvs: Vec::new(),
        }
    }

    /// A v2 `PROXY` header for a TCP connection between these endpoints.
    ///
    /// ```
    /// let h = framekit::framing::proxy::ProxyHeader::v2_proxy("[::1]:1".parse().unwrap(), "[::1]:2".parse().unwrap());
    /// assert_eq!(h.destination().unwrap().port(), 2);
    /// ```
    pub fn v2_proxy(source: SocketAddr, destination: SocketAddr) -> Self {
        ProxyHeader {
            version: Version::V2,
            ..Self::v1_tcp(source, destination)
        }
    }

    /// A v2 `LOCAL` header, as a balancer's health check sends.
    ///
    /// ```
    /// use framekit::framing::proxy::{Command, ProxyHeader};
    /// assert_eq!(ProxyHeader::v2_local().command, Command::Local);
    /// ```
    pub fn v2_local() -> Self {
        ProxyHeader {
            version: Version::V2,
            command: Command::Local,
            transport: Transport::Unspecified,
            addresses: Addresses::Unknown,
            tlvs: Vec::new(),
        }
    }

    /// The header with `tlv` appended.
    ///
    /// ```
    /// use framekit::framing::proxy::{ProxyHeader, Tlv};
    /// let h = ProxyHeader::v2_proxy("[::1]:1".parse().unwrap(), "[::1]:2".parse().unwrap())
    ///     .with_tlv(Tlv::Authority(b"example.com".to_vec()));
    /// assert_eq!(h.authority(), Some(&b"example.com"[..]));
    /// ```
    pub fn with_tlv(mut self, tlv: Tlv) -> Self {
        self.tlvs.push(tlv);
        self
    }

    /// The client's address, when the header carries IP addresses and is not `LOCAL`.
    ///
    /// ```
    /// use framekit::framing::proxy::ProxyHeader;
    /// let h = ProxyHeader::v1_tcp("192.0.2.1:7".parse().unwrap(), "192.0.2.2:8".parse().unwrap());
    /// assert_eq!(h.source(), Some("192.0.2.1:7".parse().unwrap()));
    /// assert_eq!(ProxyHeader::v2_local().source(), None);
    /// ```
    pub fn source(&self) -> Option<SocketAddr> {
        match (&self.addresses, self.command) {
            (Addresses::Ip { source, .. }, Command::Proxy) => Some(*source),
            _ => None,
        }
    }

    /// The address the client connected to, when the header carries IP addresses and is not
    /// `LOCAL`.
    ///
    /// ```
    /// use framekit::framing::proxy::ProxyHeader;
    /// let h = ProxyHeader::v1_tcp("192.0.2.1:7".parse().unwrap(), "192.0.2.2:8".parse().unwrap());
    /// assert_eq!(h.destination(), Some("192.0.2.2:8".parse().unwrap()));
    /// ```
    pub fn destination(&self) -> Option<SocketAddr> {
        match (&self.addresses, self.command) {
            (Addresses::Ip { destination, .. }, Command::Proxy) => Some(*destination),
            _ => None,
        }
    }

    /// The first ALPN TLV: the application protocol the client negotiated with the balancer.
    ///
    /// ```
    /// assert_eq!(framekit::framing::proxy::ProxyHeader::v2_local().alpn(), None);
    /// ```
    pub fn alpn(&self) -> Option<&[u8]> {
        self.tlvs.iter().find_map(|t| match t {
            Tlv::Alpn(v) => Some(&v[..]),
            _ => None,
        })
    }

    /// The first AUTHORITY TLV: the host name the client asked for (TLS SNI, say).
    ///
    /// ```
    /// assert_eq!(framekit::framing::proxy::ProxyHeader::v2_local().authority(), None);
    /// ```
    pub fn authority(&self) -> Option<&[u8]> {
        self.tlvs.iter().find_map(|t| match t {
            Tlv::Authority(v) => Some(&v[..]),
            _ => None,
        })
    }

    /// The first UNIQUE_ID TLV: an opaque id of the connection, at most 128 bytes.
    ///
    /// ```
    /// assert_eq!(framekit::framing::proxy::ProxyHeader::v2_local().unique_id(), None);
    /// ```
    pub fn unique_id(&self) -> Option<&[u8]> {
        self.tlvs.iter().find_map(|t| match t {
            Tlv::UniqueId(v) => Some(&v[..]),
            _ => None,
        })
    }

    /// The first SSL TLV: how the client's TLS connection to the balancer went.
    ///
    /// ```
    /// assert!(framekit::framing::proxy::ProxyHeader::v2_local().ssl().is_none());
    /// ```
    pub fn ssl(&self) -> Option<&SslInfo> {
        self.tlvs.iter().find_map(|t| match t {
            Tlv::Ssl(info) => Some(info),
            _ => None,
        })
    }

    /// Appends the header in its [`version`](Self::version), or fails without writing when it
    /// cannot be said in that version (TLVs or `LOCAL` in v1, mixed address families, a Unix
    /// path over 108 bytes, TLVs over 64 KiB).
    ///
    /// ```
    /// use bytes::BytesMut;
    /// use framekit::framing::proxy::ProxyHeader;
    /// let mut wire = BytesMut::new();
    /// ProxyHeader::v1_tcp("192.0.2.1:7".parse().unwrap(), "192.0.2.2:8".parse().unwrap())
    ///     .write(&mut wire)
    ///     .unwrap();
    /// assert_eq!(&wire[..], b"PROXY TCP4 192.0.2.1 192.0.2.2 7 8\r\n");
    /// ```
    pub fn write(&self, dst: &mut BytesMut) -> Result<(), FrameError> {
        let start = dst.len();
        let written = match self.version {
            Version::V1 => v1::write(self, dst),
            Version::V2 => v2::write(self, dst),
        };
        if written.is_err() {
            dst.truncate(start);
        }
        written
    }

    /// Parses one header of either version at the front of `buf`: `Ok(None)` when more bytes
    /// are needed, else the header and its length on the wire. A server reading a preamble
    /// uses [`ProxyCodec`](super::ProxyCodec) instead, which does not parse a byte twice.
    ///
    /// ```
    /// use framekit::framing::proxy::ProxyHeader;
    /// assert_eq!(ProxyHeader::parse(b"PROXY TCP4 1.2.3.4").unwrap(), None);
    /// let (h, len) = ProxyHeader::parse(b"PROXY UNKNOWN\r\nPING").unwrap().unwrap();
    /// assert_eq!((h, len), (ProxyHeader::v1_unknown(), 15));
    /// assert!(ProxyHeader::parse(b"GET / HTTP/1.1\r\n").unwrap_err().is_malformed());
    /// ```
    pub fn parse(buf: &[u8]) -> Result<Option<(ProxyHeader, usize)>, FrameError> {
        use crate::framing::{Decision, Framing};
        let mut framing = super::ProxyProtocol::any().max_header_len(super::MAX_V2_LEN);
        match framing.decide(buf)? {
            Decision::Frame { len, .. } => Ok(framing.take_header().map(|h| (h, len))),
            _ => Ok(None),
        }
    }
}
