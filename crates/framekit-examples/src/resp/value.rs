//! RESP2 reply values and their encoding: simple strings, errors, integers, bulk strings
//! (binary-safe), nulls and arrays.

use bytes::{BufMut, Bytes, BytesMut};

/// A RESP2 reply.
///
/// ```
/// use bytes::BytesMut;
/// use framekit_examples::resp::Value;
///
/// let mut wire = BytesMut::new();
/// Value::Array(vec![Value::bulk("a"), Value::Null, Value::Integer(7)]).encode(&mut wire);
/// assert_eq!(&wire[..], b"*3\r\n$1\r\na\r\n$-1\r\n:7\r\n");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// `+text\r\n`; the text holds no CR or LF.
    Simple(&'static str),
    /// `-text\r\n`; the text starts with an error code such as `ERR` and holds no CR or LF. Bytes,
    /// not a `String`: Redis echoes arguments into errors as they are, UTF-8 or not.
    Error(Bytes),
    /// `:n\r\n`.
    Integer(i64),
    /// `$len\r\nbytes\r\n`: any bytes.
    Bulk(Bytes),
    /// `$-1\r\n`: the null bulk string (a missing key).
    Null,
    /// `*n\r\n` then each element.
    Array(Vec<Value>),
}

impl Value {
    /// `+OK`.
    pub const OK: Value = Value::Simple("OK");

    /// A bulk string.
    pub fn bulk(bytes: impl Into<Bytes>) -> Self {
        Value::Bulk(bytes.into())
    }

    /// An error reply; `text` should start with an error code (`ERR ...`). CR and LF are
    /// replaced with spaces so the reply stays one line.
    pub fn error(text: impl Into<String>) -> Self {
        Self::error_bytes(text.into().into_bytes())
    }

    /// An error reply of any bytes (as [`error`](Value::error), CR and LF become spaces, as
    /// Redis maps them).
    pub fn error_bytes(text: impl Into<Vec<u8>>) -> Self {
        let mut text = text.into();
        for b in text.iter_mut() {
            if matches!(*b, b'\r' | b'\n') {
                *b = b' ';
            }
        }
        Value::Error(Bytes::from(text))
    }

    /// The encoded reply in a buffer of its own (for a server whose replies are bytes, as
    /// resp_proxy's, which passes its backends' replies through).
    ///
    /// ```
    /// use framekit_examples::resp::Value;
    /// assert_eq!(Value::error("ERR timeout").to_bytes(), "-ERR timeout\r\n");
    /// ```
    pub fn to_bytes(&self) -> Bytes {
        let mut wire = BytesMut::new();
        self.encode(&mut wire);
        wire.freeze()
    }

    /// Appends the encoded reply to `dst`.
    pub fn encode(&self, dst: &mut BytesMut) {
        match self {
            // The commonest reply of all, written as the constant it is.
            Value::Simple("OK") => dst.extend_from_slice(b"+OK\r\n"),
            Value::Simple(text) => line(dst, b'+', text.as_bytes()),
            Value::Error(text) => line(dst, b'-', text),
            Value::Integer(n) => line(dst, b':', itoa::Buffer::new().format(*n).as_bytes()),
            Value::Bulk(bytes) => encode_bulk(bytes, dst),
            Value::Null => dst.put_slice(b"$-1\r\n"),
            Value::Array(items) => {
                line(
                    dst,
                    b'*',
                    itoa::Buffer::new().format(items.len()).as_bytes(),
                );
                for item in items {
                    item.encode(dst);
                }
            }
        }
    }
}

/// A bulk string reply lent from where its bytes are kept (a stored value), encoded from there
/// with no copy of its own: the same wire form as [`Value::Bulk`].
///
/// ```
/// use bytes::BytesMut;
/// use framekit_examples::resp::BulkRef;
///
/// let mut wire = BytesMut::new();
/// BulkRef(b"hello").encode(&mut wire);
/// assert_eq!(&wire[..], b"$5\r\nhello\r\n");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BulkRef<'a>(pub &'a [u8]);

impl BulkRef<'_> {
    /// Appends the encoded reply to `dst`.
    pub fn encode(self, dst: &mut BytesMut) {
        encode_bulk(self.0, dst);
    }
}

/// `$len\r\nbytes\r\n`, with room reserved once for all of it. A value under 10 bytes (a
/// counter, a flag, `redis-benchmark`'s default 3-byte value) has its header written as one
/// 4-byte constant-size copy.
fn encode_bulk(bytes: &[u8], dst: &mut BytesMut) {
    if let Ok(digit @ 0..=9) = u8::try_from(bytes.len()) {
        dst.reserve(4 + bytes.len() + 2);
        dst.extend_from_slice(&[b'$', b'0' + digit, b'\r', b'\n']);
    } else {
        let mut len = itoa::Buffer::new();
        let len = len.format(bytes.len()).as_bytes();
        dst.reserve(1 + len.len() + 2 + bytes.len() + 2);
        dst.put_u8(b'$');
        dst.put_slice(len);
        dst.put_slice(b"\r\n");
    }
    dst.extend_from_slice(bytes);
    dst.extend_from_slice(b"\r\n");
}

fn line(dst: &mut BytesMut, kind: u8, text: &[u8]) {
    dst.reserve(text.len() + 3);
    dst.put_u8(kind);
    dst.put_slice(text);
    dst.put_slice(b"\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wire(value: Value) -> BytesMut {
        let mut dst = BytesMut::new();
        value.encode(&mut dst);
        dst
    }

    #[test]
    fn every_kind_encodes_as_redis_does() {
        assert_eq!(&wire(Value::OK)[..], b"+OK\r\n");
        assert_eq!(&wire(Value::error("ERR nope"))[..], b"-ERR nope\r\n");
        assert_eq!(&wire(Value::Integer(-3))[..], b":-3\r\n");
        assert_eq!(&wire(Value::bulk(&b"a\r\nb"[..]))[..], b"$4\r\na\r\nb\r\n");
        assert_eq!(&wire(Value::bulk(""))[..], b"$0\r\n\r\n");
        assert_eq!(&wire(Value::Null)[..], b"$-1\r\n");
        assert_eq!(&wire(Value::Array(vec![]))[..], b"*0\r\n");
        assert_eq!(
            &wire(Value::Integer(i64::MIN))[..],
            b":-9223372036854775808\r\n"
        );
        for len in [0, 1, 9, 10, 99, 100] {
            let value = vec![b'v'; len];
            let mut short = BytesMut::new();
            BulkRef(&value).encode(&mut short);
            let mut expected = format!("${len}\r\n").into_bytes();
            expected.extend_from_slice(&value);
            expected.extend_from_slice(b"\r\n");
            assert_eq!(&short[..], &expected[..], "a {len}-byte value");
        }
        assert_eq!(&wire(Value::Simple("OKAY"))[..], b"+OKAY\r\n");
        let mut long = BytesMut::new();
        BulkRef(&[b'x'; 1000]).encode(&mut long);
        assert_eq!(&long[..7], b"$1000\r\n");
        assert_eq!(long.len(), 7 + 1000 + 2);
    }

    #[test]
    fn error_text_stays_on_one_line() {
        assert_eq!(&wire(Value::error("ERR a\r\nb"))[..], b"-ERR a  b\r\n");
    }
}
