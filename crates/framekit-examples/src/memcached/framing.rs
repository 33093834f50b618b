//! The memcached text protocol's request framing: a command line up to LF (CRLF in practice),
//! then, for a storage command whose line is valid, a data block of exactly `<bytes>` bytes and
//! CRLF. A block over the item size limit is never buffered: the line is handed on alone (its
//! command answers `SERVER_ERROR object too large for cache`) and the block is dropped as it
//! arrives ([`Decision::Discard`]), which keeps the stream in step with the client.
//!
//! ```text
//! get a b\r\n                      one frame, payload `get a b`
//! set k 0 0 5\r\nhello\r\n          one frame, payload `set k 0 0 5\r\nhello` (line, CRLF, data)
//! set k 0 0 2000000\r\n<2000002 B>  a frame for the line, then discards for the block
//! ```
//!
//! Why a [`Framing`] and not a nom parser with a boundary: where a request ends depends on
//! whether its line is valid (a refused `set` line is followed by no block: memcached reads the
//! next bytes as a command), and a dropped block must never be asked for whole; a strategy that
//! owns that state says both directly.

use std::ops::Range;

use bytes::BytesMut;
use framekit::framing::{work, Decision, Framing};
use framekit::FrameError;

use super::line::{fits, MetaSetLine, Storage, StorageLine, StoragePlace, Words};

/// memcached's limit on a command line without LF: it closes a connection that has sent more
/// than 2048 bytes of one line (a `get`/`gets` line excepted).
pub const DEFAULT_MAX_LINE: usize = 2048;
/// How long a `get`/`gets` line may grow (memcached lets these grow without bound; this framing
/// keeps a bound, 1 MiB, the default item size: memcslap's `mget` of 2,000 keys sends 74 KB).
pub const DEFAULT_MAX_GET_LINE: usize = 1024 * 1024;
/// memcached's default item size limit (`-I 1m`): key, value and item header together.
pub const DEFAULT_ITEM_MAX: usize = 1024 * 1024;
/// The largest item size limit the framing accepts (memcached's own ceiling, 1 GiB).
pub const ITEM_MAX_CEILING: usize = 1024 * 1024 * 1024;

/// What follows the command line of the last frame found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Block {
    /// Nothing: the frame is the line.
    None,
    /// A data block of `len` bytes and its 2-byte terminator, inside the frame.
    Data {
        /// The block's length, terminator excluded.
        len: usize,
    },
    /// A block of `len` bytes (terminator excluded) over the item size limit, outside the
    /// frame: it is being dropped as it arrives.
    Skipped {
        /// The block's declared length, terminator excluded.
        len: usize,
    },
}

/// Where the parts of the last frame lie, from its first byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    /// The command line, line ending excluded.
    pub line: usize,
    /// The command line with its line ending.
    pub line_len: usize,
    /// What follows the line.
    pub block: Block,
    /// A classic storage line as the framing read it, for the command to take.
    storage: Option<StoragePlace>,
}

impl Layout {
    /// The frame's classic storage line, read once by the framing; `line` is the frame's line.
    pub(crate) fn storage<'a>(&self, line: &'a [u8]) -> Option<StorageLine<'a>> {
        self.storage.map(|place| place.in_line(line))
    }

    /// Where the data block lies in the frame, terminator excluded (empty without one).
    pub fn data(&self) -> Range<usize> {
        match self.block {
            Block::Data { len } => self.line_len..self.line_len + len,
            Block::None | Block::Skipped { .. } => self.line_len..self.line_len,
        }
    }

    /// The frame's whole length.
    fn frame_len(&self) -> usize {
        match self.block {
            Block::Data { len } => self.line_len + len + 2,
            Block::None | Block::Skipped { .. } => self.line_len,
        }
    }

    /// The frame's payload: the line, and for a block its CRLF and data (its terminator is
    /// the frame's last two bytes and stays out, so a payload written with CRLF after it is
    /// the frame again).
    fn payload(&self) -> Range<usize> {
        match self.block {
            Block::Data { len } => 0..self.line_len + len,
            Block::None | Block::Skipped { .. } => 0..self.line,
        }
    }
}

/// The framing of memcached text-protocol requests, with memcached's limits.
///
/// ```
/// use framekit::framing::{Decision, Framing};
/// use framekit_examples::memcached::{Block, MemcacheFraming};
///
/// let mut framing = MemcacheFraming::new();
/// let wire = b"set k 0 0 5\r\nhello\r\nget k\r\n";
/// assert_eq!(framing.decide(wire).unwrap(), Decision::frame(20, 0..18));
/// assert_eq!(framing.last().block, Block::Data { len: 5 });
/// assert_eq!(framing.decide(&wire[20..]).unwrap(), Decision::frame(7, 0..5));
/// ```
#[derive(Debug, Clone)]
pub struct MemcacheFraming {
    max_line: usize,
    max_get_line: usize,
    item_max: usize,
    /// Bytes of the current line already searched for LF.
    searched: usize,
    /// The current request's line, once found, while its block arrives.
    pending: Option<Layout>,
    /// Bytes of a too-large block (terminator included) still to drop.
    skip: usize,
    /// The last frame's layout.
    last: Layout,
}

impl Default for MemcacheFraming {
    fn default() -> Self {
        MemcacheFraming::new()
    }
}

impl MemcacheFraming {
    /// memcached 1.6's defaults: 2048-byte lines, 1 MiB items.
    pub fn new() -> Self {
        MemcacheFraming {
            max_line: DEFAULT_MAX_LINE,
            max_get_line: DEFAULT_MAX_GET_LINE,
            item_max: DEFAULT_ITEM_MAX,
            searched: 0,
            pending: None,
            skip: 0,
            last: Layout {
                line: 0,
                line_len: 0,
                block: Block::None,
                storage: None,
            },
        }
    }

    /// The item size limit (memcached's `-I`), clamped to 64 bytes ..= [`ITEM_MAX_CEILING`].
    ///
    /// ```
    /// use framekit_examples::memcached::MemcacheFraming;
    /// assert_eq!(MemcacheFraming::new().item_max(4096).item_limit(), 4096);
    /// ```
    pub fn item_max(mut self, bytes: usize) -> Self {
        self.item_max = bytes.clamp(64, ITEM_MAX_CEILING);
        self
    }

    /// The longest `get`/`gets` line, at least the command line limit.
    ///
    /// ```
    /// use framekit_examples::memcached::MemcacheFraming;
    /// assert_eq!(MemcacheFraming::new().max_get_line(10).get_line_limit(), 2048);
    /// ```
    pub fn max_get_line(mut self, bytes: usize) -> Self {
        self.max_get_line = bytes.max(self.max_line);
        self
    }

    /// The item size limit in force.
    pub fn item_limit(&self) -> usize {
        self.item_max
    }

    /// The `get` line limit in force.
    pub fn get_line_limit(&self) -> usize {
        self.max_get_line
    }

    /// The layout of the last frame found (what the request's payload holds).
    pub fn last(&self) -> Layout {
        self.last
    }

    /// A frame whose layout is `layout`.
    fn found(&mut self, layout: Layout) -> Decision {
        self.last = layout;
        self.pending = None;
        self.searched = 0;
        if let Block::Skipped { len } = layout.block {
            self.skip = len.saturating_add(2);
        }
        Decision::frame(layout.frame_len(), layout.payload())
    }

    /// Whether `buf` starts a line memcached lets grow past its line limit: `get ` or `gets `
    /// after at most 100 spaces.
    fn is_get_line(buf: &[u8]) -> bool {
        let spaces = buf.iter().take(101).take_while(|&&b| b == b' ').count();
        if spaces > 100 {
            return false;
        }
        let rest = &buf[spaces..];
        rest.starts_with(b"get ") || rest.starts_with(b"gets ")
    }

    /// The line limit for the line at the front of `buf`.
    fn line_limit(&self, buf: &[u8]) -> usize {
        if Self::is_get_line(buf) {
            self.max_get_line
        } else {
            self.max_line
        }
    }

    /// What the line of `line_len` bytes (LF included) at the front of `buf` is followed by.
    fn layout(&self, buf: &[u8], line_len: usize) -> Layout {
        let lf = line_len - 1;
        // memcached strips a CR before the LF only from a line of two bytes or more.
        let line = if lf > 1 && buf[lf - 1] == b'\r' {
            lf - 1
        } else {
            lf
        };
        self.shape(&buf[..line], line_len)
    }

    /// The layout of `line` (line ending excluded), whose line ending makes it `line_len` bytes.
    fn shape(&self, line: &[u8], line_len: usize) -> Layout {
        // Only a storage command has a block: other lines are not split into words here.
        let start = line.iter().position(|&b| b != b' ').unwrap_or(line.len());
        let name_end = memchr::memchr(b' ', &line[start..]).map_or(line.len(), |i| start + i);
        let name = &line[start..name_end];
        if Storage::named(name).is_none() && name != b"ms" {
            return Layout {
                line: line.len(),
                line_len,
                block: Block::None,
                storage: None,
            };
        }
        let words = Words::split(line);
        let mut storage = None;
        let block = match StorageLine::parse(&words) {
            Ok(Some(s)) => {
                storage = Some(StoragePlace::new(&s, line));
                Some((s.bytes, s.key.len(), s.flags))
            }
            Ok(None) => match MetaSetLine::parse(&words) {
                Ok(Some(m)) => Some((m.bytes, m.key.len(), m.flags)),
                _ => None,
            },
            Err(_) => None,
        };
        let block = match block {
            None => Block::None,
            Some((len, key, flags)) if fits(len, key, flags, self.item_max) => Block::Data { len },
            Some((len, _, _)) => Block::Skipped { len },
        };
        Layout {
            line: line.len(),
            line_len,
            block,
            storage,
        }
    }

    /// A line with no LF within its limit: memcached closes such a connection without an
    /// answer. `len` is how far the search got (a lower bound, so not `FrameError::too_long`,
    /// which states an exact length).
    fn too_long(len: usize, max: usize) -> FrameError {
        FrameError::TooLong {
            len: len as u64,
            max,
            offset: 0,
            exact: false,
            reason: Some("command line too long"),
        }
    }
}

impl Framing for MemcacheFraming {
    fn decide(&mut self, buf: &[u8]) -> Result<Decision, FrameError> {
        if self.skip > 0 {
            if buf.is_empty() {
                // One byte, not the rest of the block: a strategy never asks to buffer what
                // it will drop (a caller may wait for `needed` bytes before asking again).
                return Ok(Decision::incomplete(1));
            }
            let len = self.skip.min(buf.len());
            self.skip -= len;
            // No skip report: the line went out as a frame and its command answers the skip
            // (`SERVER_ERROR object too large for cache`, or an `ms` flag error); a report
            // would surface as a decode error and be answered a second time.
            return Ok(Decision::Discard {
                len,
                skipped_frame: None,
            });
        }
        let layout = match self.pending {
            Some(layout) => layout,
            None => {
                let from = self.searched.min(buf.len());
                let Some(at) = memchr::memchr(b'\n', &buf[from..]).map(|i| from + i) else {
                    work::examined(buf.len() - from);
                    self.searched = buf.len();
                    let limit = self.line_limit(buf);
                    if buf.len() > limit {
                        return Err(Self::too_long(buf.len(), limit));
                    }
                    return Ok(Decision::incomplete(1));
                };
                let limit = self.line_limit(buf);
                if at > limit {
                    return Err(Self::too_long(at, limit));
                }
                // The search up to the LF, then the line's reading.
                work::examined((at + 1 - from) + (at + 1));
                let layout = self.layout(buf, at + 1);
                self.pending = Some(layout);
                layout
            }
        };
        let len = layout.frame_len();
        if buf.len() < len {
            return Ok(Decision::incomplete(len - buf.len()));
        }
        Ok(self.found(layout))
    }

    fn frame_limit(&self) -> usize {
        self.max_get_line.max(
            self.max_line
                .saturating_add(2)
                .saturating_add(self.item_max),
        )
    }

    fn buffer_limit(&self) -> usize {
        self.frame_limit().saturating_add(2)
    }

    /// Checks that `payload` is one request as this framing cuts it (a line, or a storage line,
    /// CRLF and its whole block), so that the payload and CRLF decode back to it: this framing
    /// writes requests, for a client or a test; replies have their own shape and encoder.
    fn encode_head(&mut self, payload: &[u8], _dst: &mut BytesMut) -> Result<(), FrameError> {
        let refuse = |why| Err(FrameError::unencodable(payload.len(), why));
        let Some(lf) = memchr::memchr(b'\n', payload) else {
            if payload.is_empty() {
                // memcached reads a bare CRLF as the one-byte line "\r".
                return refuse("an empty line");
            }
            if payload.last() == Some(&b'\r') {
                return refuse("a line ending in CR");
            }
            if payload.len() > self.line_limit(payload) {
                return refuse("a line over the line limit");
            }
            return match self.shape(payload, payload.len() + 2).block {
                Block::None => Ok(()),
                Block::Data { .. } | Block::Skipped { .. } => {
                    refuse("a storage line without its block")
                }
            };
        };
        if lf > self.line_limit(payload) {
            return refuse("a line over the line limit");
        }
        match self.layout(payload, lf + 1).block {
            Block::Data { len } if payload.len() == lf + 1 + len => Ok(()),
            _ => refuse("a block that does not match its line"),
        }
    }

    fn encode_tail(&mut self, dst: &mut BytesMut) -> Result<(), FrameError> {
        dst.extend_from_slice(b"\r\n");
        Ok(())
    }

    fn reset(&mut self) {
        self.searched = 0;
        self.pending = None;
        self.skip = 0;
    }

    fn reports_work(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests;
