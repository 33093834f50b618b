//! PROXY protocol version 1: one US-ASCII line of at most 107 bytes, CRLF included.
//!
//! ```text
//! PROXY TCP4 192.0.2.1 198.51.100.7 56324 443\r\n
//! PROXY TCP6 2001:db8::1 2001:db8::2 56324 443\r\n
//! PROXY UNKNOWN<anything up to the CRLF, ignored>\r\n
//! ```
//!
//! This module owns the line scan (remembering how far it got, so no byte is examined twice),
//! the parse of a whole line, and the writer.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::str::FromStr;

use bytes::{BufMut, BytesMut};

use super::header::{Addresses, Command, ProxyHeader, Transport, Version};
use crate::FrameError;

/// Every v1 line starts with these six bytes.
pub(super) const PREFIX: &[u8] = b"PROXY ";

/// The longest v1 line, CRLF included, as the specification fixes it.
pub const MAX_LINE: usize = 107;

/// How far a scan of the buffered bytes got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Scan {
    /// A whole line of this many bytes, CRLF included.
    Line(usize),
    /// No CRLF yet; every byte before this position has been checked.
    Partial(usize),
}

/// Checks the bytes from `from` on (the prefix, printable ASCII, CR only before LF) and finds
/// the end of the line.
pub(super) fn scan(buf: &[u8], from: usize) -> Result<Scan, FrameError> {
    let mut at = from;
    while at < buf.len() {
        let byte = buf[at];
        if at < PREFIX.len() {
            if byte != PREFIX[at] {
                return Err(FrameError::malformed(
                    at,
                    "not a PROXY v1 header: a v1 line starts with \"PROXY \"",
                ));
            }
        } else {
            match byte {
                b'\r' => match buf.get(at + 1) {
                    Some(b'\n') => return Ok(Scan::Line(at + 2)),
                    Some(_) => {
                        return Err(FrameError::malformed(
                            at + 1,
                            "CR not followed by LF in a PROXY v1 line",
                        ))
                    }
                    // The CR is looked at again once its successor arrives.
                    None => return Ok(Scan::Partial(at)),
                },
                b'\n' => {
                    return Err(FrameError::malformed(
                        at,
                        "bare LF in a PROXY v1 line (it ends with CRLF)",
                    ))
                }
                0x20..=0x7e => {}
                _ => {
                    return Err(FrameError::malformed(
                        at,
                        "byte outside printable US-ASCII in a PROXY v1 line",
                    ))
                }
            }
        }
        at += 1;
        // The last place a CR may start is MAX_LINE - 2; past it the line cannot fit.
        if at > MAX_LINE - 2 {
            return Err(FrameError::TooLong {
                len: MAX_LINE as u64 + 1,
                max: MAX_LINE,
                offset: 0,
                exact: false,
                reason: None,
            });
        }
    }
    Ok(Scan::Partial(at))
}

/// Parses a whole line without its CRLF; [`scan`] has checked its bytes.
pub(super) fn parse(line: &[u8]) -> Result<ProxyHeader, FrameError> {
    let mut fields = Fields {
        line,
        at: PREFIX.len(),
    };
    let (at, protocol) = fields.next("the protocol (TCP4, TCP6 or UNKNOWN)")?;
    match protocol {
        // "The receiver must ignore anything presented before the CRLF is found."
        b"UNKNOWN" => return Ok(ProxyHeader::v1_unknown()),
        b"TCP4" | b"TCP6" => {}
        _ => {
            return Err(FrameError::malformed(
                at,
                "unknown PROXY v1 protocol (expected TCP4, TCP6 or UNKNOWN)",
            ))
        }
    }
    let v4 = protocol == b"TCP4";
    let source = fields.address(v4, "the source address")?;
    let destination = fields.address(v4, "the destination address")?;
    let source_port = fields.port("the source port")?;
    let destination_port = fields.port("the destination port")?;
    if fields.at < line.len() {
        return Err(FrameError::malformed(
            fields.at,
            "extra field or trailing space after the destination port in a PROXY v1 line",
        ));
    }
    Ok(ProxyHeader {
        version: Version::V1,
        command: Command::Proxy,
        transport: Transport::Stream,
        addresses: Addresses::Ip {
            source: SocketAddr::new(source, source_port),
            destination: SocketAddr::new(destination, destination_port),
        },
        tlvs: Vec::new(),
    })
}

/// The space-separated fields of a line, each with its offset.
struct Fields<'a> {
    line: &'a [u8],
    /// Where the next field starts.
    at: usize,
}

impl<'a> Fields<'a> {
    /// The next field: a single space (except before the first field), then one or more
    /// non-space bytes.
    fn next(&mut self, what: &'static str) -> Result<(usize, &'a [u8]), FrameError> {
        let mut start = self.at;
        if start > PREFIX.len() && start < self.line.len() {
            // The previous field ended at a space.
            start += 1;
        }
        if start >= self.line.len() {
            return Err(FrameError::malformed(
                start,
                format!("PROXY v1 line ends before {what}"),
            ));
        }
        let rest = &self.line[start..];
        let len = memchr::memchr(b' ', rest).unwrap_or(rest.len());
        if len == 0 {
            return Err(FrameError::malformed(
                start,
                format!("empty field where {what} belongs (fields are separated by one space)"),
            ));
        }
        self.at = start + len;
        Ok((start, &rest[..len]))
    }

    fn address(&mut self, v4: bool, what: &'static str) -> Result<IpAddr, FrameError> {
        let (at, field) = self.next(what)?;
        // Fields are ASCII (checked by the scan), so this cannot fail.
        let text = std::str::from_utf8(field).unwrap_or_default();
        let parsed = match v4 {
            true => Ipv4Addr::from_str(text).map(IpAddr::V4).ok(),
            false => Ipv6Addr::from_str(text).map(IpAddr::V6).ok(),
        };
        parsed.ok_or_else(|| {
            let family = if v4 { "IPv4" } else { "IPv6" };
            FrameError::malformed(at, format!("{what} is not an {family} address"))
        })
    }

    fn port(&mut self, what: &'static str) -> Result<u16, FrameError> {
        let (at, field) = self.next(what)?;
        let digits = field.iter().all(u8::is_ascii_digit);
        let leading_zero = field.len() > 1 && field[0] == b'0';
        let value = std::str::from_utf8(field)
            .ok()
            .filter(|_| digits && !leading_zero)
            .and_then(|t| t.parse::<u16>().ok());
        value.ok_or_else(|| {
            FrameError::malformed(
                at,
                format!("{what} is not a decimal 0..65535 without leading zeroes"),
            )
        })
    }
}

/// Appends the v1 line for `header`, or fails without writing.
pub(super) fn write(header: &ProxyHeader, dst: &mut BytesMut) -> Result<(), FrameError> {
    let refuse = |reason: &'static str| Err(FrameError::unencodable(0, reason));
    if header.command != Command::Proxy || !header.tlvs.is_empty() {
        return refuse("PROXY v1 has no LOCAL command and no TLVs");
    }
    let line = match (&header.addresses, header.transport) {
        (Addresses::Unknown, Transport::Unspecified) => "PROXY UNKNOWN\r\n".to_string(),
        (
            Addresses::Ip {
                source,
                destination,
            },
            Transport::Stream,
        ) => {
            let protocol = match (source.ip(), destination.ip()) {
                (IpAddr::V4(_), IpAddr::V4(_)) => "TCP4",
                (IpAddr::V6(_), IpAddr::V6(_)) => "TCP6",
                _ => return refuse("PROXY v1 addresses must both be IPv4 or both IPv6"),
            };
            format!(
                "PROXY {protocol} {} {} {} {}\r\n",
                source.ip(),
                destination.ip(),
                source.port(),
                destination.port()
            )
        }
        _ => return refuse("PROXY v1 carries TCP over IP addresses, or UNKNOWN"),
    };
    debug_assert!(line.len() <= MAX_LINE);
    dst.put_slice(line.as_bytes());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn whole(line: &[u8]) -> Result<ProxyHeader, FrameError> {
        match scan(line, 0)? {
            Scan::Line(len) => parse(&line[..len - 2]),
            Scan::Partial(_) => panic!("partial: {:?}", line.escape_ascii().to_string()),
        }
    }

    #[test]
    fn tcp4_and_tcp6_lines_give_their_addresses() {
        let h = whole(b"PROXY TCP4 192.0.2.1 198.51.100.7 56324 443\r\n").unwrap();
        assert_eq!(h.source(), Some("192.0.2.1:56324".parse().unwrap()));
        assert_eq!(h.destination(), Some("198.51.100.7:443".parse().unwrap()));
        let h = whole(b"PROXY TCP6 2001:db8::1 ::1 0 65535\r\n").unwrap();
        assert_eq!(h.source(), Some("[2001:db8::1]:0".parse().unwrap()));
        assert_eq!(h.destination(), Some("[::1]:65535".parse().unwrap()));
    }

    #[test]
    fn unknown_ignores_the_rest_of_the_line() {
        for line in [
            &b"PROXY UNKNOWN\r\n"[..],
            b"PROXY UNKNOWN 1.2.3.4 junk ~ 9\r\n",
        ] {
            assert_eq!(whole(line).unwrap(), ProxyHeader::v1_unknown());
        }
    }

    #[test]
    fn errors_name_the_offending_byte() {
        let cases: &[(&[u8], u64)] = &[
            (b"PROXZ", 4),
            (b"PROXY TCP5 1.2.3.4 1.2.3.4 1 2\r\n", 6),
            (b"PROXY TCP4 1.2.3.4 1.2.3 1 2\r\n", 19),
            (b"PROXY TCP4 ::1 ::1 1 2\r\n", 11),
            (b"PROXY TCP4 1.2.3.4 1.2.3.4 01 2\r\n", 27),
            (b"PROXY TCP4 1.2.3.4 1.2.3.4 1 65536\r\n", 29),
            (b"PROXY TCP4 1.2.3.4 1.2.3.4 1 2 3\r\n", 30),
            (b"PROXY TCP4 1.2.3.4  1.2.3.4 1 2\r\n", 19),
            (b"PROXY TCP4 1.2.3.4 1.2.3.4 1 2 \r\n", 30),
            (b"PROXY TCP4 1.2.3.4\r\n", 18),
            (b"PROXY TCP4 1.2.3.4 1.2.3.4 1 2\n", 30),
            (b"PROXY TCP4 1.2.3.4 1.2.3.4 1 2\rX", 31),
            (b"PROXY UNKNOWN \x01\r\n", 14),
        ];
        for &(line, offset) in cases {
            let err = whole(line).unwrap_err();
            assert!(err.is_malformed(), "{err}");
            assert_eq!(
                err.offset(),
                Some(offset),
                "{err} for {:?}",
                line.escape_ascii().to_string()
            );
        }
    }

    #[test]
    fn a_line_that_cannot_end_by_byte_107_is_too_long() {
        let mut line = b"PROXY UNKNOWN ".to_vec();
        line.resize(105, b'x');
        line.extend_from_slice(b"\r\n");
        assert_eq!(scan(&line, 0).unwrap(), Scan::Line(107));
        line.insert(10, b'x');
        assert!(scan(&line, 0).unwrap_err().is_too_long());
        assert!(scan(&line[..105], 0).is_ok());
        assert!(scan(&line[..106], 0).unwrap_err().is_too_long());
    }

    #[test]
    fn a_resumed_scan_gives_what_a_whole_scan_gives() {
        let line = b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n";
        let mut from = 0;
        for end in 1..=line.len() {
            match scan(&line[..end], from).unwrap() {
                Scan::Partial(at) => from = at,
                Scan::Line(len) => assert_eq!((len, end), (line.len(), line.len())),
            }
        }
    }
}
