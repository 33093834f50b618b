//! A reply from a Redis server as the client owns it ([`Reply`]), and the one pass that builds
//! it from bytes the [scanner](super::scan) already found complete.

use bytes::Bytes;

use super::line::find_crlf;
use crate::resp::parse_i64;

/// A RESP2 reply.
///
/// ```
/// use bytes::Bytes;
/// use framekit_examples::resp_client::Reply;
///
/// assert_eq!(Reply::Bulk(Bytes::from("v")).as_bytes(), Some(&b"v"[..]));
/// assert!(Reply::Error(Bytes::from("ERR x")).is_error());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// `+text`.
    Simple(Bytes),
    /// `-CODE text`.
    Error(Bytes),
    /// `:n`.
    Integer(i64),
    /// `$n` and n bytes.
    Bulk(Bytes),
    /// `$-1` or `*-1`: nothing (a missing key).
    Null,
    /// `*n` and n replies.
    Array(Vec<Reply>),
}

impl Reply {
    /// The bytes of a bulk or simple string.
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Reply::Bulk(b) | Reply::Simple(b) => Some(b),
            _ => None,
        }
    }

    /// Whether the server answered with an error.
    pub fn is_error(&self) -> bool {
        matches!(self, Reply::Error(_))
    }
}

/// Builds the reply at the front of `wire`, which the scanner found complete and well formed;
/// returns it and its length. `None` only if the scanner's promise was broken.
pub(crate) fn build(wire: &Bytes) -> Option<(Reply, usize)> {
    let mut at = 0;
    let reply = element(wire, &mut at)?;
    Some((reply, at))
}

/// One element at `*at`, moving `*at` past it. The recursion is as deep as the arrays nest,
/// which the scanner bounded ([`MAX_DEPTH`](super::MAX_DEPTH)).
fn element(wire: &Bytes, at: &mut usize) -> Option<Reply> {
    let line_end = *at + find_crlf(&wire[*at..])?;
    let kind = wire[*at];
    let text = wire.slice(*at + 1..line_end);
    *at = line_end + 2;
    match kind {
        b'+' => Some(Reply::Simple(text)),
        b'-' => Some(Reply::Error(text)),
        b':' => parse_i64(&text).map(Reply::Integer),
        b'$' => {
            let len = parse_i64(&text)?;
            if len < 0 {
                return Some(Reply::Null);
            }
            let len = usize::try_from(len).ok()?;
            let bulk = wire.slice(*at..*at + len);
            *at += len + 2;
            Some(Reply::Bulk(bulk))
        }
        b'*' => {
            let count = parse_i64(&text)?;
            if count < 0 {
                return Some(Reply::Null);
            }
            let count = usize::try_from(count).ok()?;
            let mut items = Vec::with_capacity(count.min(1024));
            for _ in 0..count {
                items.push(element(wire, at)?);
            }
            Some(Reply::Array(items))
        }
        _ => None,
    }
}
