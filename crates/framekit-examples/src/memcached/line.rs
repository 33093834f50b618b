//! A memcached command line: split into tokens as memcached 1.6 splits it (on single spaces, at
//! most 23 words), and read just far enough to know what follows it on the wire: nothing, a
//! data block of `<bytes>` + CRLF, or a block too large to keep. The framing and the command
//! executor share this reading, so the two never disagree about where a request ends.

use super::number::{strtol, strtoul, strtoull};

/// memcached's `MAX_TOKENS`: words after the 23rd stay unsplit (`get` reads them on).
pub const MAX_WORDS: usize = 23;
/// memcached's `KEY_MAX_LENGTH`.
pub const MAX_KEY_LEN: usize = 250;
/// memcached's `MFLAG_MAX_OPT_LENGTH`: a meta command with more tokens is refused.
pub const MAX_META_TOKENS: usize = 20;
/// What memcached adds to a value when it checks the item size limit (`item_size_ok`): the
/// item header (48 bytes), the CAS id (8), the key's terminating NUL (1) and the value's CRLF
/// (2); the key's bytes and 4 bytes of client flags (when not 0) come on top.
pub const ITEM_OVERHEAD: usize = 48 + 8 + 1 + 2;

/// The words of a command line, as memcached's `tokenize_command` finds them.
///
/// ```
/// use framekit_examples::memcached::line::Words;
/// let w = Words::split(b"set  k 0 0 5");
/// assert_eq!((w.len(), w.word(0), w.word(1), w.word(9)), (5, &b"set"[..], &b"k"[..], &b""[..]));
/// assert_eq!(w.ntokens(), 6); // memcached counts its terminating token
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Words<'a> {
    words: [&'a [u8]; MAX_WORDS],
    len: usize,
    /// Text after the 23rd word, not split.
    rest: &'a [u8],
}

impl<'a> Words<'a> {
    /// Splits `line` (without its line ending) on spaces.
    pub fn split(line: &'a [u8]) -> Self {
        let mut words: [&[u8]; MAX_WORDS] = [&[]; MAX_WORDS];
        let mut len = 0;
        let mut each = SpaceSplit::new(line);
        let mut rest: &[u8] = &[];
        while len < MAX_WORDS {
            let Some(word) = each.next() else {
                break;
            };
            words[len] = word;
            len += 1;
        }
        if len == MAX_WORDS {
            rest = each.remaining();
        }
        Words { words, len, rest }
    }

    /// How many words were split (at most [`MAX_WORDS`]).
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the line holds no word.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// memcached's token count: the words plus its terminating token.
    pub fn ntokens(&self) -> usize {
        self.len + 1
    }

    /// Word `i`, empty past the last one.
    pub fn word(&self, i: usize) -> &'a [u8] {
        self.words.get(i).copied().unwrap_or_default()
    }

    /// The words from `i` on.
    pub fn tail(&self, i: usize) -> &[&'a [u8]] {
        &self.words[i.min(self.len)..self.len]
    }

    /// What follows the 23rd word, unsplit (empty for shorter lines).
    pub fn rest(&self) -> &'a [u8] {
        self.rest
    }

    /// Whether the next-to-last token is `noreply` (memcached's `set_noreply_maybe`).
    pub fn noreply(&self) -> bool {
        self.len > 0 && self.rest.is_empty() && self.words[self.len - 1] == b"noreply"
    }
}

/// The words of a line one by one, however many: runs of spaces separate them, and each word's
/// end is found with `memchr` (a key is up to 250 bytes, compared byte by byte otherwise).
///
/// ```
/// use framekit_examples::memcached::line::SpaceSplit;
/// let words: Vec<&[u8]> = SpaceSplit::new(b"get  a bb ").collect();
/// assert_eq!(words, [&b"get"[..], b"a", b"bb"]);
/// ```
#[derive(Debug, Clone)]
pub struct SpaceSplit<'a> {
    line: &'a [u8],
}

impl<'a> SpaceSplit<'a> {
    /// The words of `line` (without its line ending).
    pub fn new(line: &'a [u8]) -> Self {
        SpaceSplit { line }
    }

    /// The line from the next word on (empty when no word is left).
    pub fn remaining(&self) -> &'a [u8] {
        let start = self
            .line
            .iter()
            .position(|&b| b != b' ')
            .unwrap_or(self.line.len());
        &self.line[start..]
    }
}

impl<'a> Iterator for SpaceSplit<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        let line = self.remaining();
        if line.is_empty() {
            self.line = line;
            return None;
        }
        let end = memchr::memchr(b' ', line).unwrap_or(line.len());
        self.line = &line[end..];
        Some(&line[..end])
    }
}

/// The classic storage commands, whose line is followed by a data block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Storage {
    /// `set`.
    Set,
    /// `add`.
    Add,
    /// `replace`.
    Replace,
    /// `append`.
    Append,
    /// `prepend`.
    Prepend,
    /// `cas`.
    Cas,
}

impl Storage {
    /// The storage command named `name`.
    pub fn named(name: &[u8]) -> Option<Storage> {
        Some(match name {
            b"set" => Storage::Set,
            b"add" => Storage::Add,
            b"replace" => Storage::Replace,
            b"append" => Storage::Append,
            b"prepend" => Storage::Prepend,
            b"cas" => Storage::Cas,
            _ => return None,
        })
    }
}

/// A valid classic storage line: `<cmd> <key> <flags> <exptime> <bytes> [<cas>] [noreply]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StorageLine<'a> {
    /// Which command.
    pub command: Storage,
    /// The key (at most [`MAX_KEY_LEN`] bytes).
    pub key: &'a [u8],
    /// Client flags.
    pub flags: u32,
    /// Expiry as sent (memcached's conventions: 0 never, up to 30 days relative, else a Unix
    /// time, negative already expired).
    pub exptime: i32,
    /// The data block's length, CRLF excluded.
    pub bytes: usize,
    /// `cas`'s unique id (0 for the others).
    pub cas: u64,
    /// Whether `noreply` was given.
    pub noreply: bool,
}

impl<'a> StorageLine<'a> {
    /// Reads a classic storage line. `Ok(None)` is not a storage command; `Err(noreply)` is
    /// a storage command whose line memcached refuses before reading a block (wrong token
    /// count: `ERROR`; a bad key or number: `CLIENT_ERROR bad command line format`), so no
    /// block follows it. The `Err` carries what the executor needs to answer.
    pub fn parse(words: &Words<'a>) -> Result<Option<StorageLine<'a>>, LineError> {
        let Some(command) = Storage::named(words.word(0)) else {
            return Ok(None);
        };
        let n = words.ntokens();
        let counts = if command == Storage::Cas {
            [7, 8]
        } else {
            [6, 7]
        };
        if !counts.contains(&n) {
            return Err(LineError::Unknown);
        }
        let noreply = words.noreply();
        let bad = LineError::Format { noreply };
        let key = words.word(1);
        if key.len() > MAX_KEY_LEN {
            return Err(bad);
        }
        let (Some(flags), Some(exptime), Some(bytes)) = (
            strtoul(words.word(2)),
            strtol(words.word(3)),
            strtol(words.word(4)),
        ) else {
            return Err(bad);
        };
        let cas = if command == Storage::Cas {
            strtoull(words.word(5)).ok_or(bad)?
        } else {
            0
        };
        // memcached refuses a negative length and one whose CRLF would overflow an int.
        let bytes = usize::try_from(bytes)
            .ok()
            .filter(|&b| b <= i32::MAX as usize - 2)
            .ok_or(bad)?;
        Ok(Some(StorageLine {
            command,
            key,
            flags,
            exptime,
            bytes,
            cas,
            noreply,
        }))
    }
}

/// A valid [`StorageLine`] with its key kept as a place in the line, so that it outlives the
/// borrow of the buffer it was read from: the framing reads a storage line once, and the
/// command takes it from the request instead of reading the line again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct StoragePlace {
    /// The line's fields, its key left empty.
    fields: StorageLine<'static>,
    /// Where the key starts in the line.
    key_at: usize,
    key_len: usize,
}

impl StoragePlace {
    /// `parsed`, read from `line`.
    pub(crate) fn new(parsed: &StorageLine<'_>, line: &[u8]) -> Self {
        // The key is a piece of the line: its place is the distance between their starts.
        let key_at = (parsed.key.as_ptr() as usize).saturating_sub(line.as_ptr() as usize);
        StoragePlace {
            fields: StorageLine {
                key: &[],
                ..*parsed
            },
            key_at,
            key_len: parsed.key.len(),
        }
    }

    /// The storage line again, its key taken from `line` (the line it was read from).
    pub(crate) fn in_line<'a>(&self, line: &'a [u8]) -> StorageLine<'a> {
        let end = self.key_at.saturating_add(self.key_len);
        StorageLine {
            key: line.get(self.key_at..end).unwrap_or_default(),
            ..self.fields
        }
    }
}

/// Why a line that names a storage command is refused before its block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineError {
    /// The wrong number of tokens: memcached answers `ERROR`.
    Unknown,
    /// A bad key or number: `CLIENT_ERROR bad command line format` (unless `noreply`).
    Format {
        /// Whether the line asked for no reply.
        noreply: bool,
    },
}

/// The head of a meta set line `ms <key> <datalen> <flags>*` that memcached follows with a
/// block; the flags are read by the executor, except the client flags, which count in the item
/// size limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MetaSetLine<'a> {
    /// The key (at most [`MAX_KEY_LEN`] bytes).
    pub key: &'a [u8],
    /// The data block's length, CRLF excluded.
    pub bytes: usize,
    /// The client flags of an `F` flag (0 without one, or when it does not parse).
    pub flags: u32,
}

impl<'a> MetaSetLine<'a> {
    /// Reads an `ms` line. `Ok(None)` is not `ms`; `Err` is an `ms` line memcached refuses
    /// before reading a block (the executor answers it), so none follows.
    pub fn parse(words: &Words<'a>) -> Result<Option<MetaSetLine<'a>>, LineError> {
        if words.word(0) != b"ms" {
            return Ok(None);
        }
        let n = words.ntokens();
        if n < 3 {
            return Err(LineError::Unknown);
        }
        let bad = LineError::Format { noreply: false };
        if words.word(1).len() > MAX_KEY_LEN || n == 3 || n > MAX_META_TOKENS {
            return Err(bad);
        }
        let bytes = strtol(words.word(2))
            .and_then(|b| usize::try_from(b).ok())
            .filter(|&b| b <= i32::MAX as usize - 2)
            .ok_or(bad)?;
        let flags = words
            .tail(3)
            .iter()
            .find_map(|w| w.strip_prefix(b"F"))
            .and_then(strtoul)
            .unwrap_or(0);
        Ok(Some(MetaSetLine {
            key: words.word(1),
            bytes,
            flags,
        }))
    }
}

/// Whether a value of `bytes` under `key_len` bytes of key and `flags` fits memcached's item
/// size limit `item_max` (its `-I`, 1 MiB by default), counted as memcached counts it.
///
/// ```
/// use framekit_examples::memcached::line::fits;
/// assert!(fits(1024 * 1024 - 60, 1, 0, 1024 * 1024));
/// assert!(!fits(1024 * 1024 - 60, 2, 0, 1024 * 1024));
/// ```
pub fn fits(bytes: usize, key_len: usize, flags: u32, item_max: usize) -> bool {
    let suffix = if flags == 0 { 0 } else { 4 };
    bytes
        .saturating_add(key_len)
        .saturating_add(suffix)
        .saturating_add(ITEM_OVERHEAD)
        <= item_max
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_past_the_23rd_stay_unsplit() {
        let line: Vec<u8> = (0..30)
            .flat_map(|i| format!("k{i} ").into_bytes())
            .collect();
        let w = Words::split(&line);
        assert_eq!(w.len(), MAX_WORDS);
        assert_eq!(w.ntokens(), 24);
        assert_eq!(w.rest(), b"k23 k24 k25 k26 k27 k28 k29 ");
    }

    #[test]
    fn storage_lines_are_read_as_memcached_reads_them() {
        fn parse(l: &[u8]) -> Result<Option<StorageLine<'_>>, LineError> {
            StorageLine::parse(&Words::split(l))
        }
        let line = parse(b"cas k 5 -1 3 99 noreply").unwrap().unwrap();
        assert_eq!(
            (line.flags, line.exptime, line.bytes, line.cas, line.noreply),
            (5, -1, 3, 99, true)
        );
        assert_eq!(parse(b"get k"), Ok(None));
        assert_eq!(parse(b"set k 0 0"), Err(LineError::Unknown));
        assert_eq!(
            parse(b"set k 0 0 -1"),
            Err(LineError::Format { noreply: false })
        );
        let long = format!("set {} 0 0 1 noreply", "k".repeat(251));
        assert_eq!(
            parse(long.as_bytes()),
            Err(LineError::Format { noreply: true })
        );
        let meta = MetaSetLine::parse(&Words::split(b"ms k 3 T0 F7 q"))
            .unwrap()
            .unwrap();
        assert_eq!((meta.bytes, meta.flags), (3, 7));
        assert!(MetaSetLine::parse(&Words::split(b"ms k")).is_err());
    }
}
