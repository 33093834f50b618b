//! memcached's classic text commands run against the [`Store`], answers written as memcached
//! 1.6 writes them (the same words, the same `noreply` rules, the same refusals), and the
//! dispatch of a line to them or to the meta commands (`meta.rs`).

use bytes::BytesMut;

use super::answer::{Env, Out, BAD_CHUNK, BAD_EXPTIME, BAD_FORMAT, NO_MEMORY, TOO_LARGE};
use super::line::{LineError, SpaceSplit, Storage, StorageLine, Words, MAX_KEY_LEN};
use super::meta;
use super::number::{strtol, strtoul, strtoull};
use super::request::{Data, Request};
use super::store::{DeltaError, Mode, Store, Stored};

/// The version `version` reports: memcached's series, marked as this server.
pub const VERSION: &str = "1.6.18-framekit";

/// What the connection does after a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Reads the next request.
    Continue,
    /// Closes once the answers are written (`quit`, an HTTP request line).
    Close,
}

/// Runs one request, appending its answer to `out`.
///
/// ```
/// use bytes::BytesMut;
/// use framekit_examples::memcached::request::{Data, Request};
/// use framekit_examples::memcached::{execute, Clock, Env, Flow, Store};
///
/// let mut store = Store::new(1 << 20, 1 << 20);
/// let env = Env { clock: Clock::system(), now: 100, pid: 1, curr_connections: 1, total_connections: 1 };
/// let mut out = BytesMut::new();
/// let set = Request {
///     line: b"set k 0 0 2",
///     data: Data::Block { value: b"hi", terminated: true },
///     storage: None,
/// };
/// assert_eq!(execute(&set, &mut store, &env, &mut out), Flow::Continue);
/// let get = Request { line: b"get k", data: Data::None, storage: None };
/// execute(&get, &mut store, &env, &mut out);
/// assert_eq!(&out[..], b"STORED\r\nVALUE k 0 2\r\nhi\r\nEND\r\n");
/// ```
pub fn execute(req: &Request<'_>, store: &mut Store, env: &Env, out: &mut BytesMut) -> Flow {
    let mut out = Out {
        buf: out,
        noreply: false,
    };
    if let Some(line) = req.storage {
        // The framing read this storage line to find its block: not read a second time.
        store_line(line, req.data, store, env, &mut out);
        return Flow::Continue;
    }
    // A get names its keys after the command: it reads the line itself, and needs no split.
    let mut head = SpaceSplit::new(req.line);
    if let (Some((cas, touch)), Some(_)) = (head.next().and_then(get_variant), head.next()) {
        get(req.line, store, env, cas, touch, &mut out);
        return Flow::Continue;
    }
    let words = Words::split(req.line);
    let name = words.word(0);
    if words.ntokens() < 2 || name.len() < 2 {
        out.line(b"ERROR");
        return Flow::Continue;
    }
    if name.len() == 2 && name[0] == b'm' {
        meta::execute(&words, req.data, store, env, &mut out);
        return Flow::Continue;
    }
    let n = words.ntokens();
    match name {
        // Only a get without a word after it is left here: the others ran above.
        b"get" | b"gets" | b"gat" | b"gats" | b"bget" => out.line(b"ERROR"),
        b"set" | b"add" | b"replace" | b"append" | b"prepend" | b"cas" => {
            storage(&words, req.data, store, env, &mut out)
        }
        b"incr" | b"decr" if n != 4 && n != 5 => out.line(b"ERROR"),
        b"incr" | b"decr" => arithmetic(&words, name == b"incr", store, env, &mut out),
        b"delete" if !(3..=5).contains(&n) => out.line(b"ERROR"),
        b"delete" => delete(&words, store, env, &mut out),
        b"touch" if n != 4 && n != 5 => out.line(b"ERROR"),
        b"touch" => touch(&words, store, env, &mut out),
        b"flush_all" if !(2..=4).contains(&n) => out.line(b"ERROR"),
        b"flush_all" => flush_all(&words, store, env, &mut out),
        b"version" => {
            out.buf.extend_from_slice(b"VERSION ");
            out.line(VERSION.as_bytes());
        }
        b"verbosity" if n != 3 && n != 4 => out.line(b"ERROR"),
        b"verbosity" => {
            out.noreply = words.noreply();
            match strtoul(words.word(1)) {
                Some(_) => out.line(b"OK"),
                None => out.line(BAD_FORMAT),
            }
        }
        b"stats" => stats(&words, store, env, &mut out),
        b"quit" => return Flow::Close,
        // memcached hangs up on a line that looks like HTTP.
        _ if words.word(n - 2).starts_with(b"HTTP/") && words.rest().is_empty() => {
            return Flow::Close
        }
        _ => out.line(b"ERROR"),
    }
    Flow::Continue
}

/// Whether `name` is a get command, and which: (with CAS ids, with a new expiry).
fn get_variant(name: &[u8]) -> Option<(bool, bool)> {
    match name {
        b"get" | b"bget" => Some((false, false)),
        b"gets" => Some((true, false)),
        b"gat" => Some((false, true)),
        b"gats" => Some((true, true)),
        _ => None,
    }
}

/// `get`/`gets`/`gat`/`gats`: every key of the line, however many (memcached reads a long
/// line 23 tokens at a time); a key over 250 bytes drops the whole answer for an error.
fn get(line: &[u8], store: &mut Store, env: &Env, cas: bool, touch: bool, out: &mut Out<'_>) {
    let start = out.buf.len();
    let mut words = SpaceSplit::new(line).skip(1);
    let mut exptime = None;
    if touch {
        match words.next().and_then(strtol) {
            Some(e) => exptime = Some(env.clock.expiry(e, env.now)),
            None => return out.line(BAD_EXPTIME),
        }
    }
    for key in words {
        if key.len() > MAX_KEY_LEN {
            out.buf.truncate(start);
            return out.line(BAD_FORMAT);
        }
        let Some(item) = store.get(key, env.now) else {
            continue;
        };
        if let Some(exptime) = exptime {
            item.exptime = exptime;
        }
        let mut num = itoa::Buffer::new();
        let buf = &mut *out.buf;
        buf.reserve(key.len() + item.value.len() + 48);
        buf.extend_from_slice(b"VALUE ");
        buf.extend_from_slice(key);
        buf.extend_from_slice(b" ");
        buf.extend_from_slice(num.format(item.flags).as_bytes());
        buf.extend_from_slice(b" ");
        buf.extend_from_slice(num.format(item.value.len()).as_bytes());
        if cas {
            buf.extend_from_slice(b" ");
            buf.extend_from_slice(num.format(item.cas).as_bytes());
        }
        buf.extend_from_slice(b"\r\n");
        buf.extend_from_slice(&item.value);
        buf.extend_from_slice(b"\r\n");
    }
    out.line(b"END");
}

/// The classic storage commands.
fn storage(words: &Words<'_>, data: Data<'_>, store: &mut Store, env: &Env, out: &mut Out<'_>) {
    match StorageLine::parse(words) {
        Ok(Some(line)) => store_line(line, data, store, env, out),
        Ok(None) | Err(LineError::Unknown) => out.line(b"ERROR"),
        Err(LineError::Format { noreply }) => {
            out.noreply = noreply;
            out.line(BAD_FORMAT)
        }
    }
}

/// A valid classic storage line and its block.
fn store_line(
    line: StorageLine<'_>,
    data: Data<'_>,
    store: &mut Store,
    env: &Env,
    out: &mut Out<'_>,
) {
    out.noreply = line.noreply;
    let value = match data {
        Data::Block {
            value,
            terminated: true,
        } => value,
        Data::Block {
            terminated: false, ..
        } => return out.line(BAD_CHUNK),
        Data::TooLarge | Data::None => {
            // memcached drops a stale value rather than keep it after a failed set.
            if line.command == Storage::Set {
                store.delete(line.key, env.now);
            }
            return out.line(TOO_LARGE);
        }
    };
    let mode = match line.command {
        Storage::Set => Mode::Set,
        Storage::Add => Mode::Add,
        Storage::Replace => Mode::Replace,
        Storage::Append => Mode::Append,
        Storage::Prepend => Mode::Prepend,
        Storage::Cas => Mode::Cas,
    };
    let exptime = env.clock.expiry(line.exptime, env.now);
    let stored = store.store(
        mode, line.key, value, line.flags, exptime, line.cas, env.now,
    );
    out.line(match stored {
        Stored::Stored(_) => b"STORED",
        Stored::Exists => b"EXISTS",
        Stored::NotFound => b"NOT_FOUND",
        Stored::NotStored => b"NOT_STORED",
        Stored::NoMemory => NO_MEMORY,
    });
}

fn arithmetic(words: &Words<'_>, incr: bool, store: &mut Store, env: &Env, out: &mut Out<'_>) {
    out.noreply = words.noreply();
    let key = words.word(1);
    if key.len() > MAX_KEY_LEN {
        return out.line(BAD_FORMAT);
    }
    let Some(delta) = strtoull(words.word(2)) else {
        return out.line(b"CLIENT_ERROR invalid numeric delta argument");
    };
    match store.add_delta(key, incr, delta, 0, env.now) {
        Ok((value, _)) => out.line(itoa::Buffer::new().format(value).as_bytes()),
        Err(DeltaError::NotFound | DeltaError::CasMismatch) => out.line(b"NOT_FOUND"),
        Err(DeltaError::NonNumeric) => {
            out.line(b"CLIENT_ERROR cannot increment or decrement non-numeric value")
        }
    }
}

fn delete(words: &Words<'_>, store: &mut Store, env: &Env, out: &mut Out<'_>) {
    let n = words.ntokens();
    if n > 3 {
        let hold_is_zero = words.word(2) == b"0";
        out.noreply = words.noreply();
        let valid =
            (n == 4 && (hold_is_zero || out.noreply)) || (n == 5 && hold_is_zero && out.noreply);
        if !valid {
            return out
                .line(b"CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]");
        }
    }
    let key = words.word(1);
    if key.len() > MAX_KEY_LEN {
        return out.line(BAD_FORMAT);
    }
    if store.delete(key, env.now) {
        out.line(b"DELETED");
    } else {
        out.line(b"NOT_FOUND");
    }
}

fn touch(words: &Words<'_>, store: &mut Store, env: &Env, out: &mut Out<'_>) {
    out.noreply = words.noreply();
    let key = words.word(1);
    if key.len() > MAX_KEY_LEN {
        return out.line(BAD_FORMAT);
    }
    let Some(exptime) = strtol(words.word(2)) else {
        return out.line(BAD_EXPTIME);
    };
    if store.touch(key, env.clock.expiry(exptime, env.now), env.now) {
        out.line(b"TOUCHED");
    } else {
        out.line(b"NOT_FOUND");
    }
}

fn flush_all(words: &Words<'_>, store: &mut Store, env: &Env, out: &mut Out<'_>) {
    out.noreply = words.noreply();
    let plain = if out.noreply { 3 } else { 2 };
    let mut delay = 0;
    if words.ntokens() != plain {
        match strtol(words.word(1)) {
            Some(d) => delay = d,
            None => return out.line(BAD_EXPTIME),
        }
    }
    let at = if delay > 0 {
        env.clock.expiry(delay, env.now)
    } else {
        0
    };
    store.flush(at, env.now);
    out.line(b"OK");
}

/// `stats` (the general group); other groups are not kept by this server.
fn stats(words: &Words<'_>, store: &Store, env: &Env, out: &mut Out<'_>) {
    if words.ntokens() > 2 {
        return out.line(b"ERROR");
    }
    let s = store.stats;
    let mut stat = |name: &str, value: u64| {
        let buf = &mut *out.buf;
        buf.extend_from_slice(b"STAT ");
        buf.extend_from_slice(name.as_bytes());
        buf.extend_from_slice(b" ");
        buf.extend_from_slice(itoa::Buffer::new().format(value).as_bytes());
        buf.extend_from_slice(b"\r\n");
    };
    stat("pid", u64::from(env.pid));
    stat("uptime", u64::from(env.now));
    stat("time", u64::try_from(env.clock.unix(env.now)).unwrap_or(0));
    out.buf.extend_from_slice(b"STAT version ");
    out.buf.extend_from_slice(VERSION.as_bytes());
    out.buf.extend_from_slice(b"\r\n");
    let mut stat = |name: &str, value: u64| {
        let buf = &mut *out.buf;
        buf.extend_from_slice(b"STAT ");
        buf.extend_from_slice(name.as_bytes());
        buf.extend_from_slice(b" ");
        buf.extend_from_slice(itoa::Buffer::new().format(value).as_bytes());
        buf.extend_from_slice(b"\r\n");
    };
    stat("pointer_size", usize::BITS.into());
    stat("curr_connections", env.curr_connections);
    stat("total_connections", env.total_connections);
    stat("cmd_get", s.get_hits + s.get_misses);
    stat("get_hits", s.get_hits);
    stat("get_misses", s.get_misses);
    stat("get_expired", s.expired);
    stat("curr_items", store.len() as u64);
    stat("total_items", s.total_items);
    stat("bytes", store.bytes() as u64);
    stat("limit_maxbytes", store.limit() as u64);
    stat("evictions", s.evictions);
    out.line(b"END");
}
