//! The PROXY protocol targets' configurations: the framing in each accepted-versions mode, the
//! headers `arbitrary` builds, and the differential check against the `ppp` crate.

use arbitrary::Arbitrary;
use framekit::framing::proxy::{
    Addresses, Command, ProxyCodec, ProxyHeader, ProxyProtocol, SslField, SslInfo, Tlv,
    Transport, Version, MAX_V2_LEN,
};
use framekit::framing::{Decision, Framing};
use framekit::testing::{Laws, Limits};
use framekit::FrameCodec;
use proptest::strategy::Just;

/// The smallest v2 limit the framing allows, so short inputs reach it.
const SMALL_V2: usize = 232;

/// v1, v2 or either, with a small or the largest v2 limit.
pub fn proxy(config: u8) -> ProxyProtocol {
    let framing = match config % 3 {
        0 => ProxyProtocol::v1(),
        1 => ProxyProtocol::v2(),
        _ => ProxyProtocol::any(),
    };
    match (config / 3) % 2 {
        0 => framing.max_header_len(SMALL_V2),
        _ => framing.max_header_len(MAX_V2_LEN),
    }
}

/// The laws for `proxy(config)` as a raw-header framing.
pub fn proxy_laws(config: u8) -> Laws<FrameCodec<ProxyProtocol>, Vec<u8>> {
    Laws::frame_codec(move || FrameCodec::new(proxy(config)), Just(Vec::new()))
}

/// The laws for [`ProxyCodec`] over `proxy(config)`, with parsed headers as messages.
pub fn proxy_codec_laws(config: u8) -> Laws<ProxyCodec, ProxyHeader> {
    let limit = proxy(config).frame_limit();
    Laws::new(
        move || ProxyCodec::new(proxy(config)),
        Just(ProxyHeader::v2_local()),
    )
    .limits(Limits::new(limit, limit))
    .frame_len(wire_len)
}

/// The length of `header` on the wire (0 when it cannot be written).
pub fn wire_len(header: &ProxyHeader) -> usize {
    let mut dst = bytes::BytesMut::new();
    header.write(&mut dst).map_or(0, |_| dst.len())
}

/// A header as `arbitrary` builds it.
#[derive(Debug, Clone, Arbitrary)]
pub enum HeaderInput {
    /// `PROXY UNKNOWN`.
    V1Unknown,
    /// `PROXY TCP4`/`TCP6`.
    V1Tcp(AddressInput),
    /// v2 `LOCAL`.
    V2Local,
    /// v2 `PROXY`.
    V2 {
        /// Picks the transport.
        transport: u8,
        /// The endpoints, if any.
        addresses: Option<AddressInput>,
        /// Unix paths instead, when set.
        unix: Option<(Vec<u8>, Vec<u8>)>,
        /// The TLVs.
        tlvs: Vec<TlvInput>,
    },
}

/// IPv4 or IPv6 endpoints.
#[derive(Debug, Clone, Arbitrary)]
pub enum AddressInput {
    /// IPv4.
    V4([u8; 4], u16, [u8; 4], u16),
    /// IPv6.
    V6([u8; 16], u16, [u8; 16], u16),
}

/// A TLV as `arbitrary` builds it.
#[derive(Debug, Clone, Arbitrary)]
pub enum TlvInput {
    /// ALPN.
    Alpn(Vec<u8>),
    /// AUTHORITY.
    Authority(Vec<u8>),
    /// CRC32C.
    Crc32c,
    /// NOOP.
    Noop(u8),
    /// UNIQUE_ID.
    UniqueId(Vec<u8>),
    /// SSL with sub-TLVs of these kinds.
    Ssl(u8, u32, Vec<(u8, Vec<u8>)>),
    /// NETNS.
    NetNs(Vec<u8>),
    /// Another type.
    Other(u8, Vec<u8>),
}

const KNOWN_TLVS: &[u8] = &[0x01, 0x02, 0x03, 0x04, 0x05, 0x20, 0x30];

impl From<AddressInput> for Addresses {
    fn from(a: AddressInput) -> Addresses {
        match a {
            AddressInput::V4(s, sp, d, dp) => Addresses::Ip {
                source: (s, sp).into(),
                destination: (d, dp).into(),
            },
            AddressInput::V6(s, sp, d, dp) => Addresses::Ip {
                source: (s, sp).into(),
                destination: (d, dp).into(),
            },
        }
    }
}

impl From<TlvInput> for Tlv {
    fn from(t: TlvInput) -> Tlv {
        match t {
            TlvInput::Alpn(v) => Tlv::Alpn(v),
            TlvInput::Authority(v) => Tlv::Authority(v),
            TlvInput::Crc32c => Tlv::Crc32c,
            TlvInput::Noop(n) => Tlv::Noop(n.into()),
            TlvInput::UniqueId(v) => Tlv::UniqueId(v),
            TlvInput::Ssl(client, verify, subs) => Tlv::Ssl(SslInfo {
                client,
                verify,
                fields: subs
                    .into_iter()
                    .map(|(k, v)| match k {
                        0x21 => SslField::Version(v),
                        0x22 => SslField::CommonName(v),
                        0x23 => SslField::Cipher(v),
                        0x24 => SslField::SignatureAlgorithm(v),
                        0x25 => SslField::KeyAlgorithm(v),
                        other => SslField::Other(other, v),
                    })
                    .collect(),
            }),
            TlvInput::NetNs(v) => Tlv::NetNs(v),
            // A known kind would come back as its own variant.
            TlvInput::Other(k, v) if KNOWN_TLVS.contains(&k) => Tlv::Other(0xe0, v),
            TlvInput::Other(k, v) => Tlv::Other(k, v),
        }
    }
}

impl From<HeaderInput> for ProxyHeader {
    fn from(h: HeaderInput) -> ProxyHeader {
        match h {
            HeaderInput::V1Unknown => ProxyHeader::v1_unknown(),
            HeaderInput::V1Tcp(a) => ProxyHeader {
                addresses: a.into(),
                ..ProxyHeader::v1_tcp(([0; 4], 0).into(), ([0; 4], 0).into())
            },
            HeaderInput::V2Local => ProxyHeader::v2_local(),
            HeaderInput::V2 {
                transport,
                addresses,
                unix,
                tlvs,
            } => ProxyHeader {
                version: Version::V2,
                command: Command::Proxy,
                transport: match transport % 3 {
                    0 => Transport::Unspecified,
                    1 => Transport::Stream,
                    _ => Transport::Datagram,
                },
                addresses: match (unix, addresses) {
                    (Some((source, destination)), _) => Addresses::Unix {
                        source,
                        destination,
                    },
                    (None, Some(a)) => a.into(),
                    (None, None) => Addresses::Unknown,
                },
                tlvs: tlvs.into_iter().map(Tlv::from).collect(),
            },
        }
    }
}

// ---- Differential: framekit against ppp ------------------------------------------------------

/// What framekit decides on the whole input.
#[derive(Debug)]
enum Ours {
    Header(ProxyHeader, usize),
    Waiting,
    Refused(framekit::FrameError),
}

fn ours(data: &[u8]) -> Ours {
    let mut framing = ProxyProtocol::any().max_header_len(MAX_V2_LEN);
    match framing.decide(data) {
        Ok(Decision::Frame { len, .. }) => {
            Ours::Header(framing.take_header().expect("a frame has a header"), len)
        }
        Ok(_) => Ours::Waiting,
        Err(e) => Ours::Refused(e),
    }
}

/// framekit and ppp accept and refuse the same inputs, and agree on the addresses and the
/// header's length; the differences the specification allows or that ppp gets wrong are named
/// one by one below, each checked on the input itself.
pub fn differential(data: &[u8]) {
    let ours = ours(data);
    match data.first() {
        Some(b'P') => differential_v1(data, ours),
        Some(b'\r') => differential_v2(data, ours),
        None => assert!(matches!(ours, Ours::Waiting), "{ours:?}"),
        Some(_) => assert!(matches!(ours, Ours::Refused(_)), "{ours:?}"),
    }
}

fn differential_v1(data: &[u8], ours: Ours) {
    use ppp::PartialResult;
    let theirs = ppp::v1::Header::try_from(data);
    let line_end = data.iter().position(|&b| b == b'\r').unwrap_or(data.len());
    let line = &data[..line_end];
    // ppp accepts any UTF-8 in the ignored tail of an UNKNOWN line; the specification says the
    // line is US-ASCII, and framekit refuses what is not printable.
    let unprintable = line.iter().any(|&b| !(0x20..=0x7e).contains(&b));
    // ppp accepts a port written "+80" (Rust's integer parse allows a sign).
    let signed_port = line.contains(&b'+') && !line.starts_with(b"PROXY UNKNOWN");
    // ppp splits a line into at most 7 parts and then misses the CRLF of an UNKNOWN line
    // with six or more spaces, which the specification says to ignore up to the CRLF.
    let many_spaces = line.iter().filter(|&&b| b == b' ').count() >= 6;
    match (&theirs, &ours) {
        (Ok(h), Ours::Header(mine, len)) => {
            assert_eq!(h.header.len(), *len, "header length");
            let expected = match h.addresses {
                ppp::v1::Addresses::Tcp4(a) => Some((
                    (a.source_address, a.source_port).into(),
                    (a.destination_address, a.destination_port).into(),
                )),
                ppp::v1::Addresses::Tcp6(a) => Some((
                    (a.source_address, a.source_port).into(),
                    (a.destination_address, a.destination_port).into(),
                )),
                ppp::v1::Addresses::Unknown => None,
            };
            assert_eq!(expected, mine.source().zip(mine.destination()), "addresses");
        }
        (Ok(h), other) => assert!(
            unprintable || signed_port,
            "ppp accepted {h:?}, framekit gave {other:?}"
        ),
        (Err(e), Ours::Header(mine, _)) => assert!(
            e.is_incomplete() && many_spaces && mine.addresses == Addresses::Unknown,
            "ppp refused with {e:?}, framekit accepted {mine:?}"
        ),
        // framekit waits for the whole line before it judges the fields; ppp judges what it
        // sees, so it may refuse early what framekit refuses once the line is in.
        (Err(_), Ours::Waiting | Ours::Refused(_)) => {}
    }
}

fn differential_v2(data: &[u8], ours: Ours) {
    use ppp::PartialResult;
    // Under LOCAL the specification says to ignore the family; ppp checks it, so ppp gets the
    // same bytes with the family cleared.
    let mut theirs_input = data.to_vec();
    let local = data.len() > 13 && data[12] & 0x0f == 0;
    if local {
        theirs_input[13] = 0;
    }
    let theirs = ppp::v2::Header::try_from(&theirs_input[..]);
    match (&theirs, &ours) {
        (Ok(h), Ours::Header(mine, len)) => {
            assert_eq!(h.len(), *len, "header length");
            assert_eq!(h.command == ppp::v2::Command::Local, mine.command == Command::Local);
            if !local {
                compare_addresses(h, mine);
                assert!(valid_tlvs(h), "framekit accepted TLVs ppp's walk refuses: {h:?}");
            }
        }
        (Ok(h), Ours::Refused(e)) => {
            let unspec = h.address_family() == ppp::v2::AddressFamily::Unspecified;
            // ppp leaves TLV checks to a later walk (and, for UNSPEC, takes the whole block
            // for addresses); framekit refuses bad TLVs at once.
            assert!(
                !local && (unspec || !valid_tlvs(h)),
                "ppp accepted {h:?}, framekit refused: {e}"
            );
            assert!(e.offset().is_some_and(|o| o >= 16), "{e}");
        }
        (Ok(h), Ours::Waiting) => panic!("ppp accepted {h:?}, framekit waits"),
        (Err(e), Ours::Header(mine, _)) => panic!("ppp refused with {e:?}, framekit accepted {mine:?}"),
        (Err(e), Ours::Waiting) => assert!(e.is_incomplete(), "ppp refused with {e:?}, framekit waits"),
        // framekit judges bytes 12 and 13 as soon as they arrive; ppp waits for all 16.
        (Err(e), Ours::Refused(_)) => assert!(!e.is_incomplete() || data.len() < 16, "{e:?}"),
    }
}

fn compare_addresses(h: &ppp::v2::Header, mine: &ProxyHeader) {
    use ppp::v2::Addresses as A;
    let trimmed = |p: &[u8; 108]| p[..p.iter().position(|&b| b == 0).unwrap_or(108)].to_vec();
    let expected = match h.addresses {
        A::Unspecified => Addresses::Unknown,
        A::IPv4(a) => Addresses::Ip {
            source: (a.source_address, a.source_port).into(),
            destination: (a.destination_address, a.destination_port).into(),
        },
        A::IPv6(a) => Addresses::Ip {
            source: (a.source_address, a.source_port).into(),
            destination: (a.destination_address, a.destination_port).into(),
        },
        A::Unix(u) => Addresses::Unix {
            source: trimmed(&u.source),
            destination: trimmed(&u.destination),
        },
    };
    assert_eq!(expected, mine.addresses, "addresses");
    let transport = match h.protocol {
        ppp::v2::Protocol::Unspecified => Transport::Unspecified,
        ppp::v2::Protocol::Stream => Transport::Stream,
        ppp::v2::Protocol::Datagram => Transport::Datagram,
    };
    assert_eq!(transport, mine.transport, "transport");
}

/// The TLV rules framekit adds to ppp's walk: the CRC32c is 4 bytes, alone and right; a
/// UNIQUE_ID is at most 128 bytes; an SSL TLV has its 5 fixed bytes and well-formed sub-TLVs.
fn valid_tlvs(h: &ppp::v2::Header) -> bool {
    let mut crcs = 0;
    let tlv_start = h.len() - h.tlv_bytes().len();
    let mut at = tlv_start;
    for tlv in h.tlvs() {
        let Ok(tlv) = tlv else { return false };
        let value_at = at + 3;
        at = value_at + tlv.value.len();
        let ok = match tlv.kind {
            0x03 => {
                crcs += 1;
                tlv.value.len() == 4 && crcs == 1 && crc_matches(h.as_bytes(), value_at)
            }
            0x05 => tlv.value.len() <= 128,
            0x20 => tlv.value.len() >= 5 && sub_tlvs_fit(&tlv.value[5..]),
            _ => true,
        };
        if !ok {
            return false;
        }
    }
    true
}

fn sub_tlvs_fit(mut rest: &[u8]) -> bool {
    while !rest.is_empty() {
        let Some(&[_, hi, lo]) = rest.get(..3) else { return false };
        let end = 3 + u16::from_be_bytes([hi, lo]) as usize;
        let Some(next) = rest.get(end..) else { return false };
        rest = next;
    }
    true
}

fn crc_matches(header: &[u8], at: usize) -> bool {
    let mut zeroed = header.to_vec();
    zeroed[at..at + 4].fill(0);
    let crc = crc::Crc::<u32>::new(&crc::CRC_32_ISCSI).checksum(&zeroed);
    crc.to_be_bytes() == header[at..at + 4]
}
