//! PROXY protocol version 2: a binary header of 16 bytes, then an address block and TLVs.
//!
//! ```text
//! [0..12)  signature      0D 0A 0D 0A 00 0D 0A 51 55 49 54 0A
//! [12]     ver_cmd        0x2_ version 2; 0x_0 LOCAL, 0x_1 PROXY
//! [13]     fam_proto      family 0x0_ UNSPEC, 0x1_ INET, 0x2_ INET6, 0x3_ UNIX;
//!                         protocol 0x_0 UNSPEC, 0x_1 STREAM, 0x_2 DGRAM
//! [14..16) len            big-endian length of everything after byte 16
//! [16..)   addresses      INET: src4 dst4 sport dport (12); INET6: 36; UNIX: 108 + 108
//!          TLVs           the rest of `len` (see `tlv`)
//! ```
//!
//! This module owns the check of the fixed 16 bytes (each byte judged as soon as it arrives),
//! the parse of a whole header, and the writer. `LOCAL` discards the block, family included, as
//! the specification says.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};

use bytes::{BufMut, BytesMut};

use super::header::{Addresses, Command, ProxyHeader, Transport, Version};
use super::tlv;
use crate::FrameError;

/// The 12 bytes every v2 header starts with.
pub const SIGNATURE: [u8; 12] = *b"\r\n\r\n\0\r\nQUIT\n";

/// The fixed part: signature, version and command, family and protocol, length.
pub const HEAD: usize = 16;

/// The longest header the 16-bit length allows.
pub const MAX_LEN: usize = HEAD + u16::MAX as usize;

/// The shortest limit a receiver may set: room for the largest address block (two Unix paths).
pub const MIN_LIMIT: usize = HEAD + UNIX_BLOCK;

const INET_BLOCK: usize = 12;
const INET6_BLOCK: usize = 36;
const UNIX_PATH: usize = 108;
const UNIX_BLOCK: usize = 2 * UNIX_PATH;

/// What the fixed 16 bytes say so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Head {
    /// More bytes are needed; none seen so far is wrong.
    Partial(usize),
    /// A whole header of this many bytes is buffered.
    Whole(usize),
}

/// Judges the fixed part of the header, byte by byte as far as it is buffered, against a limit
/// of `max` bytes for the whole header.
pub(super) fn check_head(buf: &[u8], max: usize) -> Result<Head, FrameError> {
    let seen = buf.len().min(SIGNATURE.len());
    if let Some(at) = (0..seen).find(|&i| buf[i] != SIGNATURE[i]) {
        return Err(FrameError::malformed(
            at,
            "not a PROXY v2 header: the 12-byte signature does not match",
        ));
    }
    let Some(&ver_cmd) = buf.get(12) else {
        return Ok(Head::Partial(1));
    };
    if ver_cmd >> 4 != 2 {
        return Err(FrameError::malformed(
            12,
            format!("PROXY header version {} (only 2 is defined)", ver_cmd >> 4),
        ));
    }
    let command = command(ver_cmd)?;
    let Some(&fam_proto) = buf.get(13) else {
        return Ok(Head::Partial(1));
    };
    let block = match command {
        Command::Local => 0,
        Command::Proxy => family_block(fam_proto)?,
    };
    if command == Command::Proxy {
        transport(fam_proto)?;
    }
    let Some(&[hi, lo]) = buf.get(14..16) else {
        return Ok(Head::Partial(HEAD - buf.len()));
    };
    let len = u16::from_be_bytes([hi, lo]) as usize;
    if HEAD + len > max {
        return Err(FrameError::TooLong {
            len: (HEAD + len) as u64,
            max,
            offset: 0,
            exact: true,
            reason: None,
        });
    }
    if len < block {
        return Err(FrameError::malformed(
            14,
            format!("length {len} is shorter than the {block}-byte address block of the family"),
        ));
    }
    match buf.len() < HEAD + len {
        true => Ok(Head::Partial(HEAD + len - buf.len())),
        false => Ok(Head::Whole(HEAD + len)),
    }
}

fn command(ver_cmd: u8) -> Result<Command, FrameError> {
    match ver_cmd & 0x0f {
        0 => Ok(Command::Local),
        1 => Ok(Command::Proxy),
        other => Err(FrameError::malformed(
            12,
            format!("PROXY v2 command {other} (only LOCAL 0 and PROXY 1 are defined)"),
        )),
    }
}

fn family_block(fam_proto: u8) -> Result<usize, FrameError> {
    match fam_proto >> 4 {
        0 => Ok(0),
        1 => Ok(INET_BLOCK),
        2 => Ok(INET6_BLOCK),
        3 => Ok(UNIX_BLOCK),
        other => Err(FrameError::malformed(
            13,
            format!("PROXY v2 address family {other} (0 to 3 are defined)"),
        )),
    }
}

fn transport(fam_proto: u8) -> Result<Transport, FrameError> {
    match fam_proto & 0x0f {
        0 => Ok(Transport::Unspecified),
        1 => Ok(Transport::Stream),
        2 => Ok(Transport::Datagram),
        other => Err(FrameError::malformed(
            13,
            format!("PROXY v2 transport protocol {other} (0 to 2 are defined)"),
        )),
    }
}

/// Parses a whole header that [`check_head`] found to be `header.len()` bytes.
pub(super) fn parse(header: &[u8]) -> Result<ProxyHeader, FrameError> {
    if command(header[12])? == Command::Local {
        return Ok(ProxyHeader::v2_local());
    }
    let fam_proto = header[13];
    let block = family_block(fam_proto)?;
    let a = &header[HEAD..HEAD + block];
    let port = |at: usize| u16::from_be_bytes([a[at], a[at + 1]]);
    let addresses = match fam_proto >> 4 {
        1 => Addresses::Ip {
            source: SocketAddr::new(Ipv4Addr::from(octets::<4>(a, 0)).into(), port(8)),
            destination: SocketAddr::new(Ipv4Addr::from(octets::<4>(a, 4)).into(), port(10)),
        },
        2 => Addresses::Ip {
            source: SocketAddr::new(Ipv6Addr::from(octets::<16>(a, 0)).into(), port(32)),
            destination: SocketAddr::new(Ipv6Addr::from(octets::<16>(a, 16)).into(), port(34)),
        },
        3 => Addresses::Unix {
            source: unix_path(&a[..UNIX_PATH]),
            destination: unix_path(&a[UNIX_PATH..]),
        },
        _ => Addresses::Unknown,
    };
    let parsed = tlv::parse(&header[HEAD + block..], HEAD + block)?;
    if let Some(at) = parsed.crc_at {
        let sent = u32::from_be_bytes(octets::<4>(header, at));
        if tlv::crc32c(header, at) != sent {
            return Err(FrameError::malformed(
                at,
                "CRC32C TLV does not match the header",
            ));
        }
    }
    Ok(ProxyHeader {
        version: Version::V2,
        command: Command::Proxy,
        transport: transport(fam_proto)?,
        addresses,
        tlvs: parsed.tlvs,
    })
}

fn octets<const N: usize>(bytes: &[u8], at: usize) -> [u8; N] {
    let mut out = [0; N];
    out.copy_from_slice(&bytes[at..at + N]);
    out
}

/// A Unix path field: the bytes up to the first NUL.
fn unix_path(field: &[u8]) -> Vec<u8> {
    let end = memchr::memchr(0, field).unwrap_or(field.len());
    field[..end].to_vec()
}

/// Appends the v2 header for `header`; the caller truncates `dst` on error.
pub(super) fn write(header: &ProxyHeader, dst: &mut BytesMut) -> Result<(), FrameError> {
    let start = dst.len();
    dst.put_slice(&SIGNATURE);
    if header.command == Command::Local {
        if header.addresses != Addresses::Unknown || !header.tlvs.is_empty() {
            return Err(FrameError::unencodable(
                0,
                "a LOCAL header carries no addresses and no TLVs",
            ));
        }
        dst.put_slice(&[0x20, 0x00, 0, 0]);
        return Ok(());
    }
    let proto: u8 = match header.transport {
        Transport::Unspecified => 0,
        Transport::Stream => 1,
        Transport::Datagram => 2,
    };
    let family = match &header.addresses {
        Addresses::Unknown => 0,
        Addresses::Ip {
            source: SocketAddr::V4(_),
            destination: SocketAddr::V4(_),
        } => 1,
        Addresses::Ip {
            source: SocketAddr::V6(_),
            destination: SocketAddr::V6(_),
        } => 2,
        Addresses::Ip { .. } => {
            return Err(FrameError::unencodable(
                0,
                "PROXY v2 addresses must both be IPv4 or both IPv6",
            ))
        }
        Addresses::Unix { .. } => 3,
    };
    dst.put_slice(&[0x21, family << 4 | proto, 0, 0]);
    match &header.addresses {
        Addresses::Unknown => {}
        Addresses::Ip {
            source,
            destination,
        } => {
            match (source, destination) {
                (SocketAddr::V4(s), SocketAddr::V4(d)) => {
                    dst.put_slice(&s.ip().octets());
                    dst.put_slice(&d.ip().octets());
                }
                (SocketAddr::V6(s), SocketAddr::V6(d)) => {
                    dst.put_slice(&s.ip().octets());
                    dst.put_slice(&d.ip().octets());
                }
                _ => unreachable!("mixed families were refused above"),
            }
            dst.put_u16(source.port());
            dst.put_u16(destination.port());
        }
        Addresses::Unix {
            source,
            destination,
        } => {
            for path in [source, destination] {
                if path.len() > UNIX_PATH || path.contains(&0) {
                    return Err(FrameError::unencodable(
                        path.len(),
                        "a Unix path is at most 108 bytes, without NUL",
                    ));
                }
                dst.put_slice(path);
                dst.put_bytes(0, UNIX_PATH - path.len());
            }
        }
    }
    let crc_at = tlv::write(&header.tlvs, dst)?;
    let len = dst.len() - start - HEAD;
    let len = u16::try_from(len)
        .map_err(|_| FrameError::unencodable(len, "PROXY v2 header over 64 KiB"))?;
    dst[start + 14..start + 16].copy_from_slice(&len.to_be_bytes());
    if let Some(at) = crc_at {
        let crc = tlv::crc32c(&dst[start..], at - start);
        dst[at..at + 4].copy_from_slice(&crc.to_be_bytes());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framing::proxy::Tlv;

    fn head(ver_cmd: u8, fam_proto: u8, len: u16) -> Vec<u8> {
        let mut h = SIGNATURE.to_vec();
        h.extend_from_slice(&[ver_cmd, fam_proto]);
        h.extend_from_slice(&len.to_be_bytes());
        h
    }

    #[test]
    fn each_fixed_byte_is_judged_where_it_stands() {
        let cases: &[(Vec<u8>, u64)] = &[
            (b"\r\n\r\n\0\r\nQUIX".to_vec(), 10),
            (head(0x11, 0x11, 12), 12),
            (head(0x22, 0x11, 12), 12),
            (head(0x21, 0x41, 12), 13),
            (head(0x21, 0x13, 12), 13),
            (head(0x21, 0x11, 11), 14),
            (head(0x21, 0x21, 35), 14),
            (head(0x21, 0x31, 215), 14),
        ];
        for (bytes, offset) in cases {
            let err = check_head(bytes, MAX_LEN).unwrap_err();
            assert_eq!(err.offset(), Some(*offset), "{err}");
        }
        // LOCAL ignores the family and its block.
        assert_eq!(
            check_head(&head(0x20, 0xff, 0), MAX_LEN).unwrap(),
            Head::Whole(16)
        );
        assert_eq!(
            check_head(&head(0x21, 0x11, 12), MAX_LEN).unwrap(),
            Head::Partial(12)
        );
    }

    #[test]
    fn a_declared_length_over_the_limit_is_too_long_before_it_arrives() {
        let err = check_head(&head(0x21, 0x11, 1000), 500).unwrap_err();
        assert!(matches!(
            err,
            FrameError::TooLong {
                len: 1016,
                max: 500,
                exact: true,
                reason: None,
                ..
            }
        ));
    }

    #[test]
    fn addresses_of_every_family_parse() {
        let mut inet = head(0x21, 0x11, 12);
        inet.extend_from_slice(&[192, 0, 2, 1, 10, 0, 0, 1, 0xdc, 0x04, 0x01, 0xbb]);
        let h = parse(&inet).unwrap();
        assert_eq!(h.source(), Some("192.0.2.1:56324".parse().unwrap()));
        assert_eq!(h.destination(), Some("10.0.0.1:443".parse().unwrap()));
        let mut unix = head(0x21, 0x32, 216);
        unix.extend_from_slice(b"/a");
        unix.resize(16 + 108, 0);
        unix.extend_from_slice(b"/b\0junk");
        unix.resize(16 + 216, 0);
        let h = parse(&unix).unwrap();
        assert_eq!(
            h.addresses,
            Addresses::Unix {
                source: b"/a".to_vec(),
                destination: b"/b".to_vec()
            }
        );
        assert_eq!(h.transport, Transport::Datagram);
        let unspec = parse(&head(0x21, 0x00, 0)).unwrap();
        assert_eq!(
            (unspec.addresses, unspec.command),
            (Addresses::Unknown, Command::Proxy)
        );
    }

    #[test]
    fn the_crc32c_tlv_is_written_and_checked() {
        let header = ProxyHeader::v2_proxy("[::1]:1".parse().unwrap(), "[::2]:2".parse().unwrap())
            .with_tlv(Tlv::Crc32c)
            .with_tlv(Tlv::Alpn(b"redis".to_vec()));
        let mut wire = BytesMut::new();
        header.write(&mut wire).unwrap();
        assert_eq!(parse(&wire).unwrap(), header);
        let last = wire.len() - 1;
        wire[last] ^= 1;
        let err = parse(&wire).unwrap_err();
        assert_eq!(err.offset(), Some(16 + 36 + 3), "{err}");
    }
}
