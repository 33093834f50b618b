//! The reply codec ([`ReplyCodec`]): finds where a reply ends with a scanner that resumes where
//! it stopped (an offset and the counts of the arrays still open), so a reply arriving in many
//! pieces is scanned once in all, then builds it in one pass. Every size has a bound.
//!
//! ```text
//! +OK\r\n   -ERR x\r\n   :42\r\n   $3\r\nabc\r\n   $-1\r\n   *2\r\n$1\r\na\r\n:1\r\n   *-1\r\n
//! ```

use bytes::{Buf, BytesMut};
use tokio_util::codec::{Decoder, Encoder};

use super::command::Command;
use super::line::find_crlf;
use super::reply::{build, Reply};
use crate::resp::parse_i64;

/// Longest header or simple line (`+...`, `-...`, `:n`, `$n`, `*n`).
pub const MAX_LINE: usize = 64 * 1024;
/// Default longest bulk string (Redis's own default `proto-max-bulk-len` is 512 MiB).
pub const DEFAULT_MAX_BULK: usize = 64 * 1024 * 1024;
/// Default most elements of one array.
pub const DEFAULT_MAX_ELEMENTS: usize = 1024 * 1024;
/// Deepest nesting of arrays.
pub const MAX_DEPTH: usize = 32;

/// A reply the codec refused, with where it was and the limit.
#[derive(Debug, thiserror::Error)]
pub enum ReplyError {
    /// A line without its CRLF within [`MAX_LINE`] bytes, at `offset` in the reply.
    #[error("reply line at offset {offset} longer than {max} bytes")]
    LineTooLong {
        /// Where the line starts.
        offset: usize,
        /// The limit.
        max: usize,
    },
    /// A type byte, length or count that is not RESP2.
    #[error("malformed reply at offset {offset}: {what}")]
    Malformed {
        /// Where.
        offset: usize,
        /// What was wrong.
        what: &'static str,
    },
    /// A bulk string or array over its limit.
    #[error("reply at offset {offset}: {what} of {len} over the limit {max}")]
    TooLarge {
        /// Where.
        offset: usize,
        /// `"bulk"`, `"array"` or `"depth"`.
        what: &'static str,
        /// The size announced.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The connection ended inside a reply.
    #[error("the connection ended inside a reply ({buffered} bytes buffered)")]
    Truncated {
        /// Bytes of the unfinished reply.
        buffered: usize,
    },
    /// Reading or writing failed (tokio-util's codec contract).
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

impl framekit::connection::CodecError for ReplyError {
    fn kind_name(&self) -> &'static str {
        match self {
            ReplyError::LineTooLong { .. } => "too_long",
            ReplyError::Malformed { .. } => "malformed",
            ReplyError::TooLarge { .. } => "too_large",
            ReplyError::Truncated { .. } => "unexpected_eof",
            ReplyError::Io(_) => "io",
        }
    }
}

/// Decodes replies ([`Reply`]) and encodes [`Command`]s as RESP multibulk requests. Use it with
/// `framekit::connection::Owned` for a framekit client.
///
/// ```
/// use bytes::BytesMut;
/// use framekit_examples::resp_client::{cmd, Reply, ReplyCodec};
/// use tokio_util::codec::{Decoder, Encoder};
///
/// let mut codec = ReplyCodec::default();
/// let mut wire = BytesMut::new();
/// codec.encode(cmd("GET").arg("k"), &mut wire)?;
/// assert_eq!(&wire[..], b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n");
///
/// let mut input = BytesMut::from(&b"*2\r\n$1\r\na\r"[..]);
/// assert_eq!(codec.decode(&mut input)?, None);
/// input.extend_from_slice(b"\n:7\r\n");
/// let reply = codec.decode(&mut input)?.unwrap();
/// assert_eq!(reply, Reply::Array(vec![Reply::Bulk("a".into()), Reply::Integer(7)]));
/// # Ok::<(), framekit_examples::resp_client::ReplyError>(())
/// ```
#[derive(Debug, Clone)]
pub struct ReplyCodec {
    max_bulk: usize,
    max_elements: usize,
    /// Bytes of the current reply scanned and complete so far.
    scanned: usize,
    /// Elements still to come in each open array, outermost first.
    open: Vec<usize>,
}

impl Default for ReplyCodec {
    fn default() -> Self {
        ReplyCodec {
            max_bulk: DEFAULT_MAX_BULK,
            max_elements: DEFAULT_MAX_ELEMENTS,
            scanned: 0,
            open: Vec::new(),
        }
    }
}

impl ReplyCodec {
    /// The longest bulk string accepted.
    pub fn max_bulk(mut self, max: usize) -> Self {
        self.max_bulk = max;
        self
    }

    /// The most elements of one array.
    pub fn max_elements(mut self, max: usize) -> Self {
        self.max_elements = max;
        self
    }

    /// Bytes of the current reply already scanned (where the next decode resumes).
    #[cfg(test)]
    pub(crate) fn resumes_at(&self) -> usize {
        self.scanned
    }

    /// Scans on from where the last call stopped; `Some(len)` once the reply at the front of
    /// `buf` is complete.
    fn scan(&mut self, buf: &[u8]) -> Result<Option<usize>, ReplyError> {
        loop {
            let at = self.scanned;
            let Some(rest) = buf.get(at..).filter(|r| !r.is_empty()) else {
                return Ok(None);
            };
            let window = &rest[..rest.len().min(MAX_LINE + 2)];
            let Some(line_len) = find_crlf(window) else {
                if rest.len() > MAX_LINE + 1 {
                    return Err(ReplyError::LineTooLong {
                        offset: at,
                        max: MAX_LINE,
                    });
                }
                return Ok(None);
            };
            let text = &rest[1..line_len];
            let after_line = at + line_len + 2;
            let malformed = |what| ReplyError::Malformed { offset: at, what };
            match rest[0] {
                b'+' | b'-' => self.scanned = after_line,
                b':' => {
                    parse_i64(text).ok_or_else(|| malformed("integer"))?;
                    self.scanned = after_line;
                }
                b'$' => {
                    let len = parse_i64(text).ok_or_else(|| malformed("bulk length"))?;
                    if len < -1 {
                        return Err(malformed("bulk length"));
                    }
                    if len >= 0 {
                        let len = usize::try_from(len).unwrap_or(usize::MAX);
                        if len > self.max_bulk {
                            return Err(ReplyError::TooLarge {
                                offset: at,
                                what: "bulk",
                                len,
                                max: self.max_bulk,
                            });
                        }
                        let end = after_line.saturating_add(len).saturating_add(2);
                        if buf.len() < end {
                            return Ok(None);
                        }
                        if &buf[end - 2..end] != b"\r\n" {
                            return Err(malformed("bulk not ended by CRLF"));
                        }
                        self.scanned = end;
                    } else {
                        self.scanned = after_line;
                    }
                }
                b'*' => {
                    let count = parse_i64(text).ok_or_else(|| malformed("array length"))?;
                    if count < -1 {
                        return Err(malformed("array length"));
                    }
                    self.scanned = after_line;
                    if count > 0 {
                        let count = usize::try_from(count).unwrap_or(usize::MAX);
                        if count > self.max_elements {
                            return Err(ReplyError::TooLarge {
                                offset: at,
                                what: "array",
                                len: count,
                                max: self.max_elements,
                            });
                        }
                        if self.open.len() >= MAX_DEPTH {
                            return Err(ReplyError::TooLarge {
                                offset: at,
                                what: "depth",
                                len: self.open.len() + 1,
                                max: MAX_DEPTH,
                            });
                        }
                        self.open.push(count);
                        continue;
                    }
                }
                _ => return Err(malformed("type byte")),
            }
            // One element is complete: it closes the arrays it was the last element of.
            while let Some(left) = self.open.last_mut() {
                *left -= 1;
                if *left > 0 {
                    break;
                }
                self.open.pop();
            }
            if self.open.is_empty() {
                return Ok(Some(std::mem::take(&mut self.scanned)));
            }
        }
    }
}

impl Decoder for ReplyCodec {
    type Item = Reply;
    type Error = ReplyError;

    fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Reply>, ReplyError> {
        let Some(len) = self.scan(buf)? else {
            return Ok(None);
        };
        let wire = buf.split_to(len).freeze();
        match build(&wire) {
            Some((reply, used)) if used == len => Ok(Some(reply)),
            _ => Err(ReplyError::Malformed {
                offset: 0,
                what: "reply the scanner accepted",
            }),
        }
    }

    fn decode_eof(&mut self, buf: &mut BytesMut) -> Result<Option<Reply>, ReplyError> {
        let reply = self.decode(buf)?;
        at_end(reply, buf)
    }
}

/// At the end of the stream: the last reply, or nothing, or [`ReplyError::Truncated`] when
/// bytes of an unfinished reply are left (they are dropped).
fn at_end<T>(reply: Option<T>, buf: &mut BytesMut) -> Result<Option<T>, ReplyError> {
    match reply {
        Some(reply) => Ok(Some(reply)),
        None if buf.is_empty() => Ok(None),
        None => {
            let buffered = buf.len();
            buf.advance(buffered);
            Err(ReplyError::Truncated { buffered })
        }
    }
}

impl Encoder<Command> for ReplyCodec {
    type Error = ReplyError;

    fn encode(&mut self, command: Command, dst: &mut BytesMut) -> Result<(), ReplyError> {
        command.encode(dst);
        Ok(())
    }
}

/// Decodes each reply as its own RESP bytes, found by [`ReplyCodec`]'s scanner and not built
/// into a [`Reply`] (a proxy passes a backend's reply on as it came); encodes [`Command`]s.
///
/// ```
/// use bytes::BytesMut;
/// use framekit_examples::resp_client::RawReplyCodec;
/// use tokio_util::codec::Decoder;
///
/// let mut codec = RawReplyCodec::default();
/// let mut input = BytesMut::from(&b"*2\r\n$1\r\na\r\n:7\r\n+OK"[..]);
/// assert_eq!(&codec.decode(&mut input)?.unwrap()[..], b"*2\r\n$1\r\na\r\n:7\r\n");
/// assert_eq!(codec.decode(&mut input)?, None);
/// # Ok::<(), framekit_examples::resp_client::ReplyError>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct RawReplyCodec(ReplyCodec);

impl RawReplyCodec {
    /// A codec with `replies`' limits.
    pub fn new(replies: ReplyCodec) -> Self {
        RawReplyCodec(replies)
    }
}

impl Decoder for RawReplyCodec {
    type Item = bytes::Bytes;
    type Error = ReplyError;

    fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<bytes::Bytes>, ReplyError> {
        Ok(self.0.scan(buf)?.map(|len| buf.split_to(len).freeze()))
    }

    fn decode_eof(&mut self, buf: &mut BytesMut) -> Result<Option<bytes::Bytes>, ReplyError> {
        let reply = self.decode(buf)?;
        at_end(reply, buf)
    }
}

impl Encoder<Command> for RawReplyCodec {
    type Error = ReplyError;

    fn encode(&mut self, command: Command, dst: &mut BytesMut) -> Result<(), ReplyError> {
        command.encode(dst);
        Ok(())
    }
}
