//! The PROXY protocol strategies held to the framing laws: v1, v2 and either as raw-header
//! framings, and [`ProxyCodec`] with parsed headers; then the properties the laws do not state.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};

use bytes::BytesMut;
use proptest::collection::vec;
use proptest::prelude::*;
use tokio_util::codec::{Decoder, Encoder};

use super::CASES;
use crate::framing::proxy::{
    Addresses, Command, ProxyCodec, ProxyHeader, ProxyProtocol, SslField, SslInfo, Tlv, Transport,
    Version,
};
use crate::framing::{Decision, Framing};
use crate::testing::{Laws, Limits};
use crate::FrameCodec;

/// A v2 limit small enough that the max-length law sees headers over it.
const V2_MAX: usize = 400;

fn ip_pair() -> impl Strategy<Value = (SocketAddr, SocketAddr)> {
    prop_oneof![
        (
            any::<Ipv4Addr>(),
            any::<u16>(),
            any::<Ipv4Addr>(),
            any::<u16>()
        )
            .prop_map(|(s, sp, d, dp)| ((s, sp).into(), (d, dp).into())),
        (
            any::<Ipv6Addr>(),
            any::<u16>(),
            any::<Ipv6Addr>(),
            any::<u16>()
        )
            .prop_map(|(s, sp, d, dp)| ((s, sp).into(), (d, dp).into())),
    ]
}

fn v1_headers() -> impl Strategy<Value = ProxyHeader> {
    prop_oneof![
        1 => Just(ProxyHeader::v1_unknown()),
        4 => ip_pair().prop_map(|(s, d)| ProxyHeader::v1_tcp(s, d)),
    ]
}

fn bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    vec(any::<u8>(), 0..=max)
}

/// Kinds the parser gives a variant of their own; `Other` must avoid them.
const KNOWN_TLVS: &[u8] = &[0x01, 0x02, 0x03, 0x04, 0x05, 0x20, 0x30];

fn ssl_fields() -> impl Strategy<Value = SslField> {
    prop_oneof![
        bytes(8).prop_map(SslField::Version),
        bytes(8).prop_map(SslField::CommonName),
        bytes(8).prop_map(SslField::Cipher),
        bytes(8).prop_map(SslField::SignatureAlgorithm),
        bytes(8).prop_map(SslField::KeyAlgorithm),
        (
            any::<u8>().prop_filter("unknown", |k| !(0x21..=0x25).contains(k)),
            bytes(4)
        )
            .prop_map(|(k, v)| SslField::Other(k, v)),
    ]
}

fn tlvs() -> impl Strategy<Value = Tlv> {
    prop_oneof![
        bytes(8).prop_map(Tlv::Alpn),
        bytes(16).prop_map(Tlv::Authority),
        Just(Tlv::Crc32c),
        (0usize..8).prop_map(Tlv::Noop),
        bytes(128).prop_map(Tlv::UniqueId),
        (any::<u8>(), any::<u32>(), vec(ssl_fields(), 0..3)).prop_map(
            |(client, verify, fields)| {
                Tlv::Ssl(SslInfo {
                    client,
                    verify,
                    fields,
                })
            }
        ),
        bytes(8).prop_map(Tlv::NetNs),
        (
            any::<u8>().prop_filter("unknown", |k| !KNOWN_TLVS.contains(k)),
            bytes(8)
        )
            .prop_map(|(k, v)| Tlv::Other(k, v)),
    ]
}

fn unix_path() -> impl Strategy<Value = Vec<u8>> {
    vec(1u8.., 0..=108)
}

fn transports() -> impl Strategy<Value = Transport> {
    prop_oneof![
        Just(Transport::Unspecified),
        Just(Transport::Stream),
        Just(Transport::Datagram)
    ]
}

fn v2_headers() -> impl Strategy<Value = ProxyHeader> {
    let addresses = prop_oneof![
        Just(Addresses::Unknown),
        ip_pair().prop_map(|(source, destination)| Addresses::Ip {
            source,
            destination
        }),
        (unix_path(), unix_path()).prop_map(|(source, destination)| Addresses::Unix {
            source,
            destination
        }),
    ];
    let proxied = (transports(), addresses, vec(tlvs(), 0..4))
        .prop_filter("at most one CRC32C", |(_, _, t)| {
            t.iter().filter(|t| **t == Tlv::Crc32c).count() <= 1
        })
        .prop_map(|(transport, addresses, tlvs)| ProxyHeader {
            version: Version::V2,
            command: Command::Proxy,
            transport,
            addresses,
            tlvs,
        });
    prop_oneof![1 => Just(ProxyHeader::v2_local()), 6 => proxied]
        .prop_filter("fits the limit", |h| wire(h).len() <= V2_MAX)
}

fn any_headers() -> impl Strategy<Value = ProxyHeader> {
    prop_oneof![v1_headers(), v2_headers()]
}

fn wire(header: &ProxyHeader) -> Vec<u8> {
    let mut dst = BytesMut::new();
    header
        .write(&mut dst)
        .expect("generated headers are encodable");
    dst.to_vec()
}

laws!(
    proxy_v1_lines,
    Laws::frame_codec(
        || FrameCodec::new(ProxyProtocol::v1()),
        v1_headers().prop_map(|h| wire(&h))
    )
);

laws!(
    proxy_v2_headers,
    Laws::frame_codec(
        || FrameCodec::new(ProxyProtocol::v2().max_header_len(V2_MAX)),
        v2_headers().prop_map(|h| wire(&h))
    )
);

laws!(
    proxy_either_version,
    Laws::frame_codec(
        || FrameCodec::new(ProxyProtocol::any().max_header_len(V2_MAX)),
        any_headers().prop_map(|h| wire(&h))
    )
);

laws!(
    proxy_parsed_headers,
    Laws::new(
        || ProxyCodec::new(ProxyProtocol::any().max_header_len(V2_MAX)),
        any_headers()
    )
    .limits(Limits::new(V2_MAX, V2_MAX))
    .frame_len(|h: &ProxyHeader| wire(h).len())
);

proptest! {
    #![proptest_config(ProptestConfig::with_cases(CASES))]

    /// A receiver waits for the rest of a header it has seen only part of: no prefix of a valid
    /// header is an error (so a slow balancer is never refused for being slow).
    #[test]
    fn every_prefix_of_a_header_waits_for_more(header in any_headers()) {
        let bytes = wire(&header);
        for end in 0..bytes.len() {
            let mut framing = ProxyProtocol::any().max_header_len(V2_MAX);
            let decision = framing.decide(&bytes[..end]);
            prop_assert!(matches!(decision, Ok(Decision::Incomplete { .. })), "{end}: {decision:?}");
        }
    }

    /// What follows a header is left for the protocol's own codec, byte for byte.
    #[test]
    fn the_bytes_after_a_header_are_untouched(header in any_headers(), rest in bytes(64)) {
        let mut buf = BytesMut::from(&wire(&header)[..]);
        buf.extend_from_slice(&rest);
        let got = ProxyCodec::new(ProxyProtocol::any().max_header_len(V2_MAX)).decode(&mut buf).unwrap();
        prop_assert_eq!(got, Some(header));
        prop_assert_eq!(&buf[..], &rest[..]);
    }

    /// A framing for one version refuses the other's headers at their first byte.
    #[test]
    fn one_version_refuses_the_other(v1 in v1_headers(), v2 in v2_headers()) {
        let err = ProxyProtocol::v2().decide(&wire(&v1)).unwrap_err();
        prop_assert_eq!(err.offset(), Some(0));
        let err = ProxyProtocol::v1().decide(&wire(&v2)).unwrap_err();
        prop_assert_eq!(err.offset(), Some(0));
        let mut codec = ProxyCodec::v1();
        prop_assert!(codec.encode(&v2, &mut BytesMut::new()).is_err());
    }

    /// Damage to a v2 header's TLV block is refused with an offset inside the header, or, when
    /// it still parses, gives a header that is written back as the same bytes... except where
    /// the writer chooses: padding content, which NOOP does not keep.
    #[test]
    fn a_damaged_tlv_block_is_refused_inside_the_header(
        header in v2_headers().prop_filter("has TLVs", |h| !h.tlvs.is_empty()),
        at in any::<prop::sample::Index>(),
        byte in any::<u8>(),
    ) {
        let mut bytes = wire(&header);
        let block = 16 + match &header.addresses {
            Addresses::Unknown => 0,
            Addresses::Ip { source: SocketAddr::V4(_), .. } => 12,
            Addresses::Ip { .. } => 36,
            Addresses::Unix { .. } => 216,
        };
        let at = block + at.index(bytes.len() - block);
        bytes[at] = byte;
        match ProxyHeader::parse(&bytes) {
            Ok(Some((_, len))) => prop_assert_eq!(len, bytes.len()),
            Ok(None) => {}
            Err(e) => prop_assert!(e.offset().is_some_and(|o| o < bytes.len() as u64), "{e}"),
        }
    }
}
