//! The type-length-value records after a v2 header's addresses: one type byte, a big-endian
//! 16-bit length, the value. This module owns their types, their parse (every length checked
//! against what is left, offsets reported in the header) and their writer.
//!
//! ```text
//! 0x01 ALPN       0x02 AUTHORITY   0x03 CRC32C (4 bytes, checked)   0x04 NOOP
//! 0x05 UNIQUE_ID (at most 128 bytes)   0x20 SSL   0x30 NETNS
//! SSL value: [client u8][verify u32 BE][sub-TLVs: 0x21 VERSION 0x22 CN 0x23 CIPHER
//!                                                 0x24 SIG_ALG 0x25 KEY_ALG]
//! ```

use bytes::{BufMut, BytesMut};

use crate::FrameError;

const ALPN: u8 = 0x01;
const AUTHORITY: u8 = 0x02;
const CRC32C: u8 = 0x03;
const NOOP: u8 = 0x04;
const UNIQUE_ID: u8 = 0x05;
const SSL: u8 = 0x20;
const SSL_VERSION: u8 = 0x21;
const SSL_CN: u8 = 0x22;
const SSL_CIPHER: u8 = 0x23;
const SSL_SIG_ALG: u8 = 0x24;
const SSL_KEY_ALG: u8 = 0x25;
const NETNS: u8 = 0x30;

/// The longest UNIQUE_ID value the specification allows.
pub const MAX_UNIQUE_ID: usize = 128;

/// One TLV of a v2 header.
///
/// ```
/// use framekit::framing::proxy::Tlv;
/// assert_eq!(Tlv::Alpn(b"h2".to_vec()).kind(), 0x01);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Tlv {
    /// The application protocol negotiated on the client side (`PP2_TYPE_ALPN`).
    Alpn(Vec<u8>),
    /// The host name the client asked for, SNI say (`PP2_TYPE_AUTHORITY`).
    Authority(Vec<u8>),
    /// A CRC32c of the whole header (`PP2_TYPE_CRC32C`): checked when read, computed when
    /// written, so it carries no value here.
    Crc32c,
    /// Padding of this many bytes (`PP2_TYPE_NOOP`).
    Noop(usize),
    /// An opaque id of the connection, at most 128 bytes (`PP2_TYPE_UNIQUE_ID`).
    UniqueId(Vec<u8>),
    /// The client's TLS connection to the balancer (`PP2_TYPE_SSL`).
    Ssl(SslInfo),
    /// The network namespace name (`PP2_TYPE_NETNS`).
    NetNs(Vec<u8>),
    /// Any other type (reserved, custom, experimental), kept as it came.
    Other(u8, Vec<u8>),
}

impl Tlv {
    /// The type byte on the wire.
    ///
    /// ```
    /// assert_eq!(framekit::framing::proxy::Tlv::Other(0xe0, vec![]).kind(), 0xe0);
    /// ```
    pub fn kind(&self) -> u8 {
        match self {
            Tlv::Alpn(_) => ALPN,
            Tlv::Authority(_) => AUTHORITY,
            Tlv::Crc32c => CRC32C,
            Tlv::Noop(_) => NOOP,
            Tlv::UniqueId(_) => UNIQUE_ID,
            Tlv::Ssl(_) => SSL,
            Tlv::NetNs(_) => NETNS,
            Tlv::Other(kind, _) => *kind,
        }
    }
}

/// What the SSL TLV says about the client's TLS connection to the balancer.
///
/// ```
/// use framekit::framing::proxy::{SslField, SslInfo};
/// let info = SslInfo { client: 0x01, verify: 0, fields: vec![SslField::Version(b"TLSv1.3".to_vec())] };
/// assert!(info.over_tls() && info.version() == Some(&b"TLSv1.3"[..]));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SslInfo {
    /// `PP2_CLIENT_SSL` (0x01), `PP2_CLIENT_CERT_CONN` (0x02), `PP2_CLIENT_CERT_SESS` (0x04).
    pub client: u8,
    /// Zero when the client presented a certificate and it was verified.
    pub verify: u32,
    /// The sub-TLVs, in wire order.
    pub fields: Vec<SslField>,
}

impl SslInfo {
    /// Whether the client connected over TLS (`PP2_CLIENT_SSL`).
    ///
    /// ```
    /// let info = framekit::framing::proxy::SslInfo { client: 0, verify: 1, fields: vec![] };
    /// assert!(!info.over_tls());
    /// ```
    pub fn over_tls(&self) -> bool {
        self.client & 0x01 != 0
    }

    /// The TLS version the client used (`PP2_SUBTYPE_SSL_VERSION`).
    ///
    /// ```
    /// let info = framekit::framing::proxy::SslInfo { client: 1, verify: 0, fields: vec![] };
    /// assert_eq!(info.version(), None);
    /// ```
    pub fn version(&self) -> Option<&[u8]> {
        self.fields.iter().find_map(|f| match f {
            SslField::Version(v) => Some(&v[..]),
            _ => None,
        })
    }

    /// The common name of the client certificate's subject (`PP2_SUBTYPE_SSL_CN`).
    ///
    /// ```
    /// use framekit::framing::proxy::{SslField, SslInfo};
    /// let info = SslInfo { client: 3, verify: 0, fields: vec![SslField::CommonName(b"alice".to_vec())] };
    /// assert_eq!(info.common_name(), Some(&b"alice"[..]));
    /// ```
    pub fn common_name(&self) -> Option<&[u8]> {
        self.fields.iter().find_map(|f| match f {
            SslField::CommonName(v) => Some(&v[..]),
            _ => None,
        })
    }
}

/// One sub-TLV of the SSL TLV.
///
/// ```
/// assert_eq!(framekit::framing::proxy::SslField::Cipher(b"TLS_AES_128_GCM_SHA256".to_vec()).kind(), 0x23);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SslField {
    /// `PP2_SUBTYPE_SSL_VERSION`, e.g. `TLSv1.3`.
    Version(Vec<u8>),
    /// `PP2_SUBTYPE_SSL_CN`: the client certificate's common name.
    CommonName(Vec<u8>),
    /// `PP2_SUBTYPE_SSL_CIPHER`.
    Cipher(Vec<u8>),
    /// `PP2_SUBTYPE_SSL_SIG_ALG`: the certificate's signature algorithm.
    SignatureAlgorithm(Vec<u8>),
    /// `PP2_SUBTYPE_SSL_KEY_ALG`: the certificate's key algorithm.
    KeyAlgorithm(Vec<u8>),
    /// Any other sub-type, kept as it came.
    Other(u8, Vec<u8>),
}

impl SslField {
    /// The sub-type byte on the wire.
    ///
    /// ```
    /// assert_eq!(framekit::framing::proxy::SslField::Other(0x2f, vec![]).kind(), 0x2f);
    /// ```
    pub fn kind(&self) -> u8 {
        match self {
            SslField::Version(_) => SSL_VERSION,
            SslField::CommonName(_) => SSL_CN,
            SslField::Cipher(_) => SSL_CIPHER,
            SslField::SignatureAlgorithm(_) => SSL_SIG_ALG,
            SslField::KeyAlgorithm(_) => SSL_KEY_ALG,
            SslField::Other(kind, _) => *kind,
        }
    }

    fn value(&self) -> &[u8] {
        match self {
            SslField::Version(v)
            | SslField::CommonName(v)
            | SslField::Cipher(v)
            | SslField::SignatureAlgorithm(v)
            | SslField::KeyAlgorithm(v)
            | SslField::Other(_, v) => v,
        }
    }
}

/// The TLVs of a header and where its CRC32c value sits, if it has one.
pub(super) struct Parsed {
    pub tlvs: Vec<Tlv>,
    pub crc_at: Option<usize>,
}

/// Splits `buf` into TLV records; `base` is `buf[0]`'s offset in the header, for errors and
/// for the CRC position.
fn records<'a>(
    buf: &'a [u8],
    base: usize,
    what: &'static str,
) -> impl Iterator<Item = Result<(usize, u8, &'a [u8]), FrameError>> {
    let mut at = 0;
    std::iter::from_fn(move || {
        if at >= buf.len() {
            return None;
        }
        let Some(&[kind, hi, lo]) = buf.get(at..at + 3) else {
            let offset = base + at;
            at = buf.len();
            return Some(Err(FrameError::malformed(
                offset,
                format!("{what} header cut short by the end of its block"),
            )));
        };
        let len = u16::from_be_bytes([hi, lo]) as usize;
        let start = at + 3;
        let Some(value) = buf.get(start..start + len) else {
            let offset = base + at;
            at = buf.len();
            return Some(Err(FrameError::malformed(
                offset,
                format!("{what} of {len} bytes runs past the end of its block"),
            )));
        };
        at = start + len;
        Some(Ok((base + start, kind, value)))
    })
}

/// Parses the TLVs in `buf`, which starts at byte `base` of the header.
pub(super) fn parse(buf: &[u8], base: usize) -> Result<Parsed, FrameError> {
    let mut parsed = Parsed {
        tlvs: Vec::new(),
        crc_at: None,
    };
    for record in records(buf, base, "TLV") {
        let (at, kind, value) = record?;
        let tlv = match kind {
            ALPN => Tlv::Alpn(value.to_vec()),
            AUTHORITY => Tlv::Authority(value.to_vec()),
            CRC32C if value.len() != 4 => {
                return Err(FrameError::malformed(
                    at - 3,
                    "CRC32C TLV value is not 4 bytes",
                ))
            }
            CRC32C if parsed.crc_at.is_some() => {
                return Err(FrameError::malformed(at - 3, "second CRC32C TLV"))
            }
            CRC32C => {
                parsed.crc_at = Some(at);
                Tlv::Crc32c
            }
            NOOP => Tlv::Noop(value.len()),
            UNIQUE_ID if value.len() > MAX_UNIQUE_ID => {
                return Err(FrameError::malformed(
                    at - 3,
                    "UNIQUE_ID TLV over 128 bytes",
                ))
            }
            UNIQUE_ID => Tlv::UniqueId(value.to_vec()),
            SSL => Tlv::Ssl(ssl(value, at)?),
            NETNS => Tlv::NetNs(value.to_vec()),
            other => Tlv::Other(other, value.to_vec()),
        };
        parsed.tlvs.push(tlv);
    }
    Ok(parsed)
}

fn ssl(value: &[u8], at: usize) -> Result<SslInfo, FrameError> {
    let Some((&client, rest)) = value.split_first() else {
        return Err(FrameError::malformed(
            at - 3,
            "SSL TLV shorter than 5 bytes",
        ));
    };
    let Some((verify, subs)) = rest.split_first_chunk::<4>() else {
        return Err(FrameError::malformed(
            at - 3,
            "SSL TLV shorter than 5 bytes",
        ));
    };
    let mut fields = Vec::new();
    for record in records(subs, at + 5, "SSL sub-TLV") {
        let (_, kind, v) = record?;
        let v = v.to_vec();
        fields.push(match kind {
            SSL_VERSION => SslField::Version(v),
            SSL_CN => SslField::CommonName(v),
            SSL_CIPHER => SslField::Cipher(v),
            SSL_SIG_ALG => SslField::SignatureAlgorithm(v),
            SSL_KEY_ALG => SslField::KeyAlgorithm(v),
            other => SslField::Other(other, v),
        });
    }
    Ok(SslInfo {
        client,
        verify: u32::from_be_bytes(*verify),
        fields,
    })
}

/// Appends the TLVs; returns where the CRC32c value sits in `dst`, to be filled in once the
/// header is whole.
pub(super) fn write(tlvs: &[Tlv], dst: &mut BytesMut) -> Result<Option<usize>, FrameError> {
    let mut crc_at = None;
    for tlv in tlvs {
        let kind = tlv.kind();
        let start = dst.len();
        dst.put_slice(&[kind, 0, 0]);
        match tlv {
            Tlv::Alpn(v) | Tlv::Authority(v) | Tlv::NetNs(v) | Tlv::Other(_, v) => dst.put_slice(v),
            Tlv::UniqueId(v) if v.len() > MAX_UNIQUE_ID => {
                return Err(FrameError::unencodable(
                    v.len(),
                    "UNIQUE_ID TLV over 128 bytes",
                ))
            }
            Tlv::UniqueId(v) => dst.put_slice(v),
            Tlv::Crc32c if crc_at.is_some() => {
                return Err(FrameError::unencodable(0, "second CRC32C TLV"))
            }
            Tlv::Crc32c => {
                crc_at = Some(dst.len());
                dst.put_u32(0);
            }
            Tlv::Noop(n) => dst.put_bytes(0, *n),
            Tlv::Ssl(info) => {
                dst.put_u8(info.client);
                dst.put_u32(info.verify);
                for field in &info.fields {
                    let sub = field.value();
                    let len = u16::try_from(sub.len()).map_err(|_| {
                        FrameError::unencodable(sub.len(), "SSL sub-TLV over 64 KiB")
                    })?;
                    dst.put_u8(field.kind());
                    dst.put_u16(len);
                    dst.put_slice(sub);
                }
            }
        }
        let len = dst.len() - start - 3;
        let len =
            u16::try_from(len).map_err(|_| FrameError::unencodable(len, "TLV over 64 KiB"))?;
        dst[start + 1..start + 3].copy_from_slice(&len.to_be_bytes());
    }
    Ok(crc_at)
}

/// CRC32c (Castagnoli) of `header` with the 4 bytes at `crc_at` taken as zero.
pub(super) fn crc32c(header: &[u8], crc_at: usize) -> u32 {
    let crc = crc::Crc::<u32>::new(&crc::CRC_32_ISCSI);
    let mut digest = crc.digest();
    digest.update(&header[..crc_at]);
    digest.update(&[0; 4]);
    digest.update(&header[crc_at + 4..]);
    digest.finalize()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32c_is_castagnoli() {
        // The check value of CRC-32/ISCSI over "123456789".
        let crc = crc::Crc::<u32>::new(&crc::CRC_32_ISCSI);
        assert_eq!(crc.checksum(b"123456789"), 0xe306_9283);
        let mut with_field = b"12345678".to_vec();
        with_field.extend_from_slice(&[9, 9, 9, 9]);
        assert_eq!(crc32c(&with_field, 8), crc.checksum(b"12345678\0\0\0\0"));
    }

    #[test]
    fn lengths_past_the_block_are_refused_with_their_offset() {
        let err = parse(&[ALPN, 0, 5, b'h', b'2'], 30).err().unwrap();
        assert_eq!(err.offset(), Some(30));
        let err = parse(&[ALPN, 0, 0, NOOP, 0], 30).err().unwrap();
        assert_eq!(err.offset(), Some(33));
        let err = parse(&[SSL, 0, 4, 1, 0, 0, 0], 0).err().unwrap();
        assert!(err.to_string().contains("SSL TLV shorter"), "{err}");
        let err = parse(&[SSL, 0, 7, 1, 0, 0, 0, 0, SSL_CN, 0], 0)
            .err()
            .unwrap();
        assert_eq!(err.offset(), Some(8));
        let mut id = vec![UNIQUE_ID, 0, 129];
        id.resize(3 + 129, b'x');
        assert!(parse(&id, 0).is_err());
        assert!(parse(&id[..131], 0).is_err());
        id[2] = 128;
        assert!(parse(&id[..131], 0).is_ok());
    }

    #[test]
    fn tlvs_write_and_parse_back() {
        let tlvs = vec![
            Tlv::Alpn(b"h2".to_vec()),
            Tlv::Authority(b"example.com".to_vec()),
            Tlv::Noop(3),
            Tlv::UniqueId(vec![7; 128]),
            Tlv::Ssl(SslInfo {
                client: 0x07,
                verify: 0,
                fields: vec![
                    SslField::Version(b"TLSv1.3".to_vec()),
                    SslField::CommonName(b"alice".to_vec()),
                    SslField::Other(0x2a, vec![1]),
                ],
            }),
            Tlv::NetNs(b"blue".to_vec()),
            Tlv::Other(0xe0, vec![]),
        ];
        let mut wire = BytesMut::new();
        assert_eq!(write(&tlvs, &mut wire).unwrap(), None);
        let parsed = parse(&wire, 0).unwrap();
        assert_eq!(parsed.tlvs, tlvs);
    }
}
