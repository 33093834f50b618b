//! memcached's meta commands (`mg`, `ms`, `md`, `ma`, `mn`, `me`) with their common flags,
//! answered as memcached 1.6.18 answers them: two-letter codes (`HD`, `VA`, `EN`, `NF`, `NS`,
//! `EX`), returned flags in request order, `q` hiding the nominal answer, errors always shown.

use super::answer::{Env, Out, BAD_CHUNK, BAD_FORMAT, NO_MEMORY, TOO_LARGE};
use super::line::{Words, MAX_KEY_LEN, MAX_META_TOKENS};
use super::number::{strtol, strtoul, strtoull};
use super::request::Data;
use super::store::{DeltaError, Mode, Store, Stored};

/// memcached's `MFLAG_MAX_OPAQUE_LENGTH`.
const MAX_OPAQUE: usize = 32;
const BAD_TOKEN: &str = "CLIENT_ERROR bad token in command line format";

/// The flags of a meta command, read as memcached's `_meta_flag_preparse` reads them.
#[derive(Debug, Default)]
struct Flags {
    exptime: Option<i32>,
    vivify: Option<i32>,
    value: bool,
    no_update: bool,
    quiet: bool,
    client_flags: u32,
    cas: Option<u64>,
    mode: Option<u8>,
    initial: u64,
    delta: u64,
}

impl Flags {
    /// Reads `tokens`; the error is the answer memcached gives.
    fn parse(tokens: &[&[u8]]) -> Result<Flags, &'static str> {
        let mut flags = Flags {
            delta: 1,
            ..Flags::default()
        };
        let mut seen = [false; 128];
        let mut error = None;
        for token in tokens {
            let o = token[0];
            if o >= 127 || seen[usize::from(o)] {
                return Err("CLIENT_ERROR duplicate flag");
            }
            seen[usize::from(o)] = true;
            let arg = &token[1..];
            match o {
                b'N' => match strtol(arg) {
                    Some(t) => flags.vivify = Some(t),
                    None => error = Some(BAD_TOKEN),
                },
                b'T' => match strtol(arg) {
                    Some(t) => flags.exptime = Some(t),
                    None => error = Some(BAD_TOKEN),
                },
                b'R' if strtol(arg).is_none() => error = Some(BAD_TOKEN),
                b'R' | b'l' | b'O' | b'P' | b'L' | b'k' | b's' | b't' | b'c' | b'f' | b'h'
                | b'I' => {}
                b'v' => flags.value = true,
                b'u' => flags.no_update = true,
                b'q' => flags.quiet = true,
                b'F' => match strtoul(arg) {
                    Some(f) => flags.client_flags = f,
                    None => error = Some(error.unwrap_or("CLIENT_ERROR bad command line format")),
                },
                b'C' => match strtoull(arg) {
                    Some(c) => flags.cas = Some(c),
                    None => error = Some(BAD_TOKEN),
                },
                b'M' if token.len() != 2 => {
                    error = Some("CLIENT_ERROR incorrect length for M token")
                }
                b'M' => flags.mode = Some(token[1]),
                b'J' => match strtoull(arg) {
                    Some(j) => flags.initial = j,
                    None => error = Some("CLIENT_ERROR invalid numeric initial value"),
                },
                b'D' => match strtoull(arg) {
                    Some(d) => flags.delta = d,
                    None => error = Some("CLIENT_ERROR invalid numeric delta value"),
                },
                _ => return Err("CLIENT_ERROR invalid flag"),
            }
        }
        match error {
            Some(e) => Err(e),
            None => Ok(flags),
        }
    }
}

/// Appends ` <token>` for an opaque token, or fails when it is too long.
fn opaque(buf: &mut Vec<u8>, token: &[u8]) -> Result<(), &'static str> {
    if token.len() > MAX_OPAQUE {
        return Err("CLIENT_ERROR opaque token too long");
    }
    buf.push(b' ');
    buf.extend_from_slice(token);
    Ok(())
}

fn number(buf: &mut Vec<u8>, flag: u8, value: u64) {
    buf.push(b' ');
    buf.push(flag);
    buf.extend_from_slice(itoa::Buffer::new().format(value).as_bytes());
}

/// `t`: seconds left, or -1 for never.
fn ttl(buf: &mut Vec<u8>, exptime: u32, now: u32) {
    if exptime == 0 {
        buf.extend_from_slice(b" t-1");
    } else {
        number(buf, b't', u64::from(exptime.wrapping_sub(now)));
    }
}

/// Runs meta command `words` (`m` and one letter).
pub(super) fn execute(
    words: &Words<'_>,
    data: Data<'_>,
    store: &mut Store,
    env: &Env,
    out: &mut Out<'_>,
) {
    let letter = words.word(0)[1];
    if letter == b'n' {
        return out.line(b"MN");
    }
    let n = words.ntokens();
    if letter == b'e' {
        return debug(words, store, env, out);
    }
    if !matches!(letter, b'g' | b's' | b'd' | b'a') || n < 3 {
        return out.line(b"ERROR");
    }
    let key = words.word(1);
    if key.len() > MAX_KEY_LEN {
        return out.error(BAD_FORMAT);
    }
    match letter {
        b's' => set(words, key, data, store, env, out),
        _ if n > MAX_META_TOKENS => out.error(if letter == b'g' {
            b"CLIENT_ERROR options flags are too long"
        } else {
            b"CLIENT_ERROR options flags too long"
        }),
        b'g' => get(words, key, store, env, out),
        b'd' => delete(words, key, store, env, out),
        _ => arithmetic(words, key, store, env, out),
    }
}

fn get(words: &Words<'_>, key: &[u8], store: &mut Store, env: &Env, out: &mut Out<'_>) {
    let tokens = words.tail(2);
    let flags = match Flags::parse(tokens) {
        Ok(f) => f,
        Err(e) => return out.error(e.as_bytes()),
    };
    out.noreply = flags.quiet;
    let mut created = false;
    if store.peek(key, env.now).is_none() {
        if let Some(t) = flags.vivify {
            store.set(key, b"", 0, 0, env.now);
            if let Some(item) = store.peek(key, env.now) {
                item.exptime = env.clock.expiry(t, env.now);
            }
            created = true;
        }
    }
    let before = store.peek(key, env.now).map(|i| (i.fetched, i.time));
    let item = match before {
        Some(_) if flags.no_update => store.peek(key, env.now),
        _ => store.get(key, env.now),
    };
    let mut head = Vec::with_capacity(64);
    let Some(item) = item else {
        head.extend_from_slice(b"EN");
        for token in tokens {
            match token[0] {
                b'O' => {
                    if let Err(e) = opaque(&mut head, token) {
                        return out.error(e.as_bytes());
                    }
                }
                b'k' => {
                    head.extend_from_slice(b" k");
                    head.extend_from_slice(key);
                }
                _ => {}
            }
        }
        return out.line(&head);
    };
    let (fetched, time) = before.unwrap_or_default();
    if flags.value {
        head.extend_from_slice(b"VA ");
        head.extend_from_slice(itoa::Buffer::new().format(item.value.len()).as_bytes());
    } else {
        head.extend_from_slice(b"HD");
    }
    for token in tokens {
        match token[0] {
            b'T' => item.exptime = env.clock.expiry(flags.exptime.unwrap_or(0), env.now),
            b's' => number(&mut head, b's', item.value.len() as u64),
            b't' => ttl(&mut head, item.exptime, env.now),
            b'c' => number(&mut head, b'c', item.cas),
            b'f' => number(&mut head, b'f', u64::from(item.flags)),
            b'l' => number(&mut head, b'l', u64::from(env.now.saturating_sub(time))),
            b'h' => head.extend_from_slice(if fetched { b" h1" } else { b" h0" }),
            b'O' => {
                if let Err(e) = opaque(&mut head, token) {
                    return out.error(e.as_bytes());
                }
            }
            b'k' => {
                head.extend_from_slice(b" k");
                head.extend_from_slice(key);
            }
            _ => {}
        }
    }
    if created {
        head.extend_from_slice(b" W");
    }
    // A hit is answered even under `q`.
    out.error(&head);
    if flags.value {
        out.error(&item.value);
    }
}

fn set(
    words: &Words<'_>,
    key: &[u8],
    data: Data<'_>,
    store: &mut Store,
    env: &Env,
    out: &mut Out<'_>,
) {
    let n = words.ntokens();
    if n == 3 {
        return out.error(BAD_FORMAT);
    }
    if n > MAX_META_TOKENS {
        return out.error(b"CLIENT_ERROR options flags too long");
    }
    if strtol(words.word(2)).is_none_or(|b| b < 0) {
        return out.error(BAD_FORMAT);
    }
    let tokens = words.tail(3);
    let flags = match Flags::parse(tokens) {
        Ok(f) => f,
        Err(e) => return out.error(e.as_bytes()),
    };
    out.noreply = flags.quiet;
    let mut returned = Vec::with_capacity(48);
    for token in tokens {
        if token[0] == b'O' {
            if let Err(e) = opaque(&mut returned, token) {
                return out.error(e.as_bytes());
            }
        }
    }
    let mode = match flags.mode {
        None | Some(b'S') => Mode::Set,
        Some(b'E') => Mode::Add,
        Some(b'A') => Mode::Append,
        Some(b'P') => Mode::Prepend,
        Some(b'R') => Mode::Replace,
        Some(_) => return out.error(b"CLIENT_ERROR invalid mode for ms M token"),
    };
    let mode = match (mode, flags.cas) {
        (Mode::Set | Mode::Replace, Some(_)) => Mode::Cas,
        (mode, _) => mode,
    };
    let value = match data {
        Data::Block {
            value,
            terminated: true,
        } => value,
        Data::Block { .. } => return out.error(BAD_CHUNK),
        Data::TooLarge | Data::None => {
            store.delete(key, env.now);
            return out.error(TOO_LARGE);
        }
    };
    let exptime = env.clock.expiry(flags.exptime.unwrap_or(0), env.now);
    let stored = store.store(
        mode,
        key,
        value,
        flags.client_flags,
        exptime,
        flags.cas.unwrap_or(0),
        env.now,
    );
    let (code, cas): (&[u8], u64) = match stored {
        Stored::Stored(cas) => (b"HD", cas),
        Stored::Exists => (b"EX", 0),
        Stored::NotFound => (b"NF", 0),
        Stored::NotStored => (b"NS", 0),
        Stored::NoMemory => return out.error(NO_MEMORY),
    };
    let mut head = code.to_vec();
    for token in tokens {
        match token[0] {
            b'O' => {
                head.push(b' ');
                head.extend_from_slice(token);
            }
            b'k' => {
                head.extend_from_slice(b" k");
                head.extend_from_slice(key);
            }
            b'c' => number(&mut head, b'c', cas),
            _ => {}
        }
    }
    if matches!(stored, Stored::Stored(_)) {
        out.line(&head);
    } else {
        out.error(&head);
    }
}

/// ` O<opaque>` and ` k<key>` for the tokens that ask for them.
fn echo(head: &mut Vec<u8>, tokens: &[&[u8]], key: &[u8]) -> Result<(), &'static str> {
    for token in tokens {
        match token[0] {
            b'O' => opaque(head, token)?,
            b'k' => {
                head.extend_from_slice(b" k");
                head.extend_from_slice(key);
            }
            _ => {}
        }
    }
    Ok(())
}

fn delete(words: &Words<'_>, key: &[u8], store: &mut Store, env: &Env, out: &mut Out<'_>) {
    let tokens = words.tail(2);
    let Ok(flags) = Flags::parse(tokens) else {
        return out.error(b"CLIENT_ERROR invalid or duplicate flag");
    };
    out.noreply = flags.quiet;
    let mut tail = Vec::new();
    if let Err(e) = echo(&mut tail, tokens, key) {
        return out.error(e.as_bytes());
    }
    let code: &[u8] = match store.peek(key, env.now).map(|i| i.cas) {
        None => b"NF",
        Some(cas) if flags.cas.is_some_and(|c| c != cas) => b"EX",
        Some(_) => {
            store.remove(key);
            b"HD"
        }
    };
    let mut head = code.to_vec();
    head.extend_from_slice(&tail);
    if code == b"HD" {
        out.line(&head);
    } else {
        out.error(&head);
    }
}

fn arithmetic(words: &Words<'_>, key: &[u8], store: &mut Store, env: &Env, out: &mut Out<'_>) {
    let tokens = words.tail(2);
    let Ok(flags) = Flags::parse(tokens) else {
        return out.error(b"CLIENT_ERROR invalid or duplicate flag");
    };
    out.noreply = flags.quiet;
    let incr = match flags.mode {
        None | Some(b'I' | b'+') => true,
        Some(b'D' | b'-') => false,
        Some(_) => return out.error(b"CLIENT_ERROR invalid mode for ma M token"),
    };
    let mut created = false;
    let result = match store.add_delta(key, incr, flags.delta, flags.cas.unwrap_or(0), env.now) {
        Ok((value, _)) => Ok(value),
        Err(DeltaError::NonNumeric) => {
            return out.error(b"CLIENT_ERROR cannot increment or decrement non-numeric value")
        }
        Err(DeltaError::NotFound) if flags.vivify.is_some() => {
            let digits = itoa::Buffer::new()
                .format(flags.initial)
                .as_bytes()
                .to_vec();
            if let Stored::NoMemory = store.set(key, &digits, 0, 0, env.now) {
                return out.error(b"SERVER_ERROR Out of memory allocating new item");
            }
            created = true;
            Ok(flags.initial)
        }
        Err(DeltaError::NotFound) => Err(&b"NF"[..]),
        Err(DeltaError::CasMismatch) => Err(&b"EX"[..]),
    };
    let value = match result {
        Ok(value) => value,
        Err(code) => {
            let mut head = code.to_vec();
            if let Err(e) = echo(&mut head, tokens, key) {
                return out.error(e.as_bytes());
            }
            return out.error(&head);
        }
    };
    let Some(item) = store.peek(key, env.now) else {
        return out.error(b"NF");
    };
    let mut digits = itoa::Buffer::new();
    let digits = digits.format(value).as_bytes();
    let mut head = Vec::with_capacity(48);
    if flags.value {
        head.extend_from_slice(b"VA ");
        head.extend_from_slice(itoa::Buffer::new().format(digits.len()).as_bytes());
    } else {
        head.extend_from_slice(b"HD");
    }
    for token in tokens {
        match token[0] {
            b'c' => number(&mut head, b'c', item.cas),
            b't' => ttl(&mut head, item.exptime, env.now),
            b'T' => item.exptime = env.clock.expiry(flags.exptime.unwrap_or(0), env.now),
            b'N' if created => item.exptime = env.clock.expiry(flags.vivify.unwrap_or(0), env.now),
            b'O' => {
                if let Err(e) = opaque(&mut head, token) {
                    return out.error(e.as_bytes());
                }
            }
            b'k' => {
                head.extend_from_slice(b" k");
                head.extend_from_slice(key);
            }
            _ => {}
        }
    }
    if flags.value {
        head.extend_from_slice(b"\r\n");
        head.extend_from_slice(digits);
    }
    // `q` hides a plain success only; a value made by `N` is answered.
    if created {
        out.error(&head);
    } else {
        out.line(&head);
    }
}

/// `me <key>`: the item's metadata; `cls` (memcached's slab class) is always 1 here.
fn debug(words: &Words<'_>, store: &mut Store, env: &Env, out: &mut Out<'_>) {
    let key = words.word(1);
    if words.ntokens() < 3 || key.len() > MAX_KEY_LEN {
        return out.line(BAD_FORMAT);
    }
    let Some(item) = store.peek(key, env.now) else {
        return out.line(b"EN");
    };
    let exp = if item.exptime == 0 {
        -1
    } else {
        i64::from(env.now) - i64::from(item.exptime)
    };
    let text = format!(
        " exp={exp} la={} cas={} fetch={} cls=1 size={}",
        env.now.saturating_sub(item.time),
        item.cas,
        if item.fetched { "yes" } else { "no" },
        48 + key.len() + 1 + item.value.len() + 2 + 8 + if item.flags == 0 { 0 } else { 4 },
    );
    out.buf.extend_from_slice(b"ME ");
    out.buf.extend_from_slice(key);
    out.line(text.as_bytes());
}
