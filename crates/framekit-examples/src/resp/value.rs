//! RESP2 reply values and their encoding: simple strings, errors, integers, bulk strings
//! (binary-safe), nulls and arrays.

use std::fmt::Write as _;

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

    /// Appends the encoded reply to `dst`.
    pub fn encode(&self, dst: &mut BytesMut) {
        match self {
            Value::Simple(text) => line(dst, b'+', text.as_bytes()),
            Value::Error(text) => line(dst, b'-', text),
            Value::Integer(n) => {
                let _ = write!(dst, ":{n}\r\n");
            }
            Value::Bulk(bytes) => {
                dst.reserve(bytes.len() + 16);
                let _ = write!(dst, "${}\r\n", bytes.len());
                dst.put_slice(bytes);
                dst.put_slice(b"\r\n");
            }
            Value::Null => dst.put_slice(b"$-1\r\n"),
            Value::Array(items) => {
                let _ = write!(dst, "*{}\r\n", items.len());
                for item in items {
                    item.encode(dst);
                }
            }
        }
    }
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
    }

    #[test]
    fn error_text_stays_on_one_line() {
        assert_eq!(&wire(Value::error("ERR a\r\nb"))[..], b"-ERR a  b\r\n");
    }
}
