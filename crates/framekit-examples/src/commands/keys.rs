//! The data commands: strings (`GET`, `SET`, `INCR`...), keys and their expiry (`DEL`,
//! `EXPIRE`, `TTL`, `KEYS`...), and the database ones (`SELECT`, `DBSIZE`, `FLUSHALL`).
//!
//! Expiry arithmetic is Redis's: times are Unix milliseconds in an `i64`, and a time that
//! overflows it (`SET k v PX 9223372036854775807`, `EXPIRE k 9223372036854775`) is refused
//! with `invalid expire time in '...' command`, leaving the key as it was.

use std::time::Duration;

use bytes::Bytes;

use super::session::Session;
use super::table::Id;
use super::{
    c_str, integer, not_an_integer, syntax_error, wrong_arity, Now, Outcome, Reply, State,
};
use crate::resp::Value;
use crate::store::{Condition, Expiry, IncrError, Store, Ttl};

/// `GET key`: the value lent from the store, so it is encoded from where it is kept.
// Inlined into `execute`, as `execute` into `respond`, `lookup` into `execute` and the
// store's `live` and `hash_of` into their callers: the request path of a GET or SET is a
// chain of small calls, and each call's entry and exit cost more than some of the bodies
// (-P 1 5,246 -> 5,201 instructions per request, bench/resp-callgrind.sh).
#[inline]
pub fn get<'s>(state: &'s mut State, session: &Session, key: &[u8], now: Now) -> Outcome<'s> {
    match state.dbs.get_mut(session.db) {
        None => Outcome::Reply(out_of_range()),
        // Not `map_or`: its default is built before the lookup and dropped after a hit, and
        // the compiler does not always see that dropping `Null` does nothing (a call into
        // `Value`'s drop glue per GET, 11 instructions at -P 16).
        Some(db) => match db.get(key, now.instant) {
            Some(value) => Outcome::Bulk(value),
            None => Outcome::Reply(Value::Null),
        },
    }
}

fn out_of_range() -> Value {
    Value::error("ERR DB index is out of range")
}

/// A stored value as an owned reply (a copy: the store keeps its own).
fn found(value: Option<&[u8]>) -> Value {
    value.map_or(Value::Null, |v| Value::Bulk(Bytes::copy_from_slice(v)))
}

/// Runs a data command (one whose table group is [`Keys`](super::table::Group::Keys)).
pub fn run(id: Id, state: &mut State, session: &mut Session, args: &[&[u8]], now: Now) -> Reply {
    match id {
        Id::Select => return select(session, args[1]),
        Id::FlushAll => {
            flush_mode(args)?;
            state.dbs.iter_mut().for_each(Store::clear);
            return Ok(Value::OK);
        }
        _ => {}
    }
    let Some(db) = state.dbs.get_mut(session.db) else {
        return Err(out_of_range());
    };
    let t = now.instant;
    match id {
        Id::Get => Ok(found(db.get(args[1], t))),
        Id::Set => set(db, args, now),
        Id::Del => Ok(count(&args[1..], |k| db.remove(k, t))),
        Id::Exists => Ok(count(&args[1..], |k| db.contains(k, t))),
        Id::Incr => incr(db, args[1], 1, now),
        Id::Decr => incr(db, args[1], -1, now),
        Id::IncrBy => incr(db, args[1], integer(args[2])?, now),
        Id::DecrBy => match integer(args[2])?.checked_neg() {
            Some(delta) => incr(db, args[1], delta, now),
            None => Err(Value::error("ERR decrement would overflow")),
        },
        Id::MGet => Ok(Value::Array(
            args[1..].iter().map(|k| found(db.get(k, t))).collect(),
        )),
        Id::MSet => mset(db, args, now),
        Id::Expire => expire(db, args, 1000, "expire", now),
        Id::PExpire => expire(db, args, 1, "pexpire", now),
        Id::Persist => Ok(Value::Integer(db.persist(args[1], t).into())),
        Id::Ttl | Id::PTtl => Ok(Value::Integer(match db.ttl(args[1], t) {
            Ttl::Missing => -2,
            Ttl::Persistent => -1,
            // TTL rounds to the nearest second, as Redis does.
            Ttl::Remaining(d) if id == Id::Ttl => ((d.as_millis() + 500) / 1000) as i64,
            Ttl::Remaining(d) => d.as_millis() as i64,
        })),
        Id::DbSize => Ok(Value::Integer(db.len() as i64)),
        Id::FlushDb => {
            flush_mode(args)?;
            db.clear();
            Ok(Value::OK)
        }
        Id::Keys => Ok(Value::Array(
            db.keys(args[1], t).into_iter().map(Value::Bulk).collect(),
        )),
        _ => Err(Value::error("ERR command not in this group")),
    }
}

fn count(keys: &[&[u8]], mut f: impl FnMut(&[u8]) -> bool) -> Value {
    Value::Integer(keys.iter().filter(|k| f(k)).count() as i64)
}

/// `SELECT n`: an `int`, then one of the 16 databases.
fn select(session: &mut Session, arg: &[u8]) -> Reply {
    let n = integer(arg)?;
    let n = i32::try_from(n).map_err(|_| not_an_integer())?;
    match usize::try_from(n) {
        Ok(db) if db < super::DATABASES => {
            session.db = db;
            Ok(Value::OK)
        }
        _ => Err(out_of_range()),
    }
}

/// `FLUSHALL` / `FLUSHDB` take nothing, `SYNC` or `ASYNC` (both flush at once here).
fn flush_mode(args: &[&[u8]]) -> Result<(), Value> {
    match args {
        [_] => Ok(()),
        [_, mode]
            if c_str(mode).eq_ignore_ascii_case(b"SYNC")
                || c_str(mode).eq_ignore_ascii_case(b"ASYNC") =>
        {
            Ok(())
        }
        _ => Err(syntax_error()),
    }
}

fn incr(db: &mut Store, key: &[u8], delta: i64, now: Now) -> Reply {
    match db.incr_by(key, delta, now.instant) {
        Ok(n) => Ok(Value::Integer(n)),
        Err(IncrError::NotAnInteger) => Err(not_an_integer()),
        Err(IncrError::Overflow) => Err(Value::error("ERR increment or decrement would overflow")),
    }
}

fn mset(db: &mut Store, args: &[&[u8]], now: Now) -> Reply {
    if args.len() % 2 == 0 {
        return Err(wrong_arity("mset"));
    }
    for pair in args[1..].chunks_exact(2) {
        db.set(
            pair[0],
            pair[1],
            Expiry::Never,
            Condition::Always,
            now.instant,
        );
    }
    Ok(Value::OK)
}

fn invalid_expire(command: &str) -> Value {
    Value::error(format!("ERR invalid expire time in '{command}' command"))
}

/// The deadline of Unix time `unix_ms`: `now` if it has passed.
fn deadline_of(unix_ms: i64, now: Now) -> Option<std::time::Instant> {
    match u64::try_from(unix_ms.saturating_sub(now.unix_ms())) {
        Ok(ahead) if ahead > 0 => now.instant.checked_add(Duration::from_millis(ahead)),
        _ => Some(now.instant),
    }
}

/// `SET`'s expiry options.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unit {
    Ex,
    Px,
    ExAt,
    PxAt,
}

/// `SET key value [NX|XX] [GET] [EX s|PX ms|EXAT s|PXAT ms|KEEPTTL]`, parsed as Redis's
/// `parseExtendedStringArgumentsOrReply`: a repeated option is allowed (the last value wins),
/// conflicting ones are a syntax error, and all options are parsed before the expire value is.
fn set(db: &mut Store, args: &[&[u8]], now: Now) -> Reply {
    let (mut nx, mut xx, mut get, mut keep_ttl) = (false, false, false, false);
    let mut expire: Option<(Unit, &[u8])> = None;
    let mut j = 3;
    while j < args.len() {
        let opt = c_str(args[j]);
        let is = |name: &[u8]| opt.eq_ignore_ascii_case(name);
        let unit = [
            (&b"EX"[..], Unit::Ex),
            (b"PX", Unit::Px),
            (b"EXAT", Unit::ExAt),
            (b"PXAT", Unit::PxAt),
        ]
        .into_iter()
        .find_map(|(name, unit)| is(name).then_some(unit));
        if is(b"NX") && !xx {
            nx = true;
        } else if is(b"XX") && !nx {
            xx = true;
        } else if is(b"GET") {
            get = true;
        } else if is(b"KEEPTTL") && expire.is_none() {
            keep_ttl = true;
        } else if let Some(unit) = unit
            .filter(|&u| !keep_ttl && expire.is_none_or(|(set, _)| set == u) && j + 1 < args.len())
        {
            expire = Some((unit, args[j + 1]));
            j += 1;
        } else {
            return Err(syntax_error());
        }
        j += 1;
    }
    let expiry = match expire {
        None if keep_ttl => Expiry::Keep,
        None => Expiry::Never,
        Some((unit, arg)) => {
            let now = now.pinned();
            let mut ms = integer(arg)?;
            let seconds = matches!(unit, Unit::Ex | Unit::ExAt);
            if ms <= 0 || (seconds && ms > i64::MAX / 1000) {
                return Err(invalid_expire("set"));
            }
            if seconds {
                ms *= 1000;
            }
            if matches!(unit, Unit::Ex | Unit::Px) {
                ms = ms
                    .checked_add(now.unix_ms())
                    .ok_or_else(|| invalid_expire("set"))?;
            }
            Expiry::At(deadline_of(ms, now).ok_or_else(|| invalid_expire("set"))?)
        }
    };
    let old = get.then(|| found(db.get(args[1], now.instant)));
    let condition = match (nx, xx) {
        (true, _) => Condition::IfAbsent,
        (_, true) => Condition::IfPresent,
        _ => Condition::Always,
    };
    // Values arrive as slices of the read buffer; the store copies what it keeps.
    let written = db.set(args[1], args[2], expiry, condition, now.instant);
    Ok(match (old, written) {
        (Some(old), _) => old,
        (None, true) => Value::OK,
        (None, false) => Value::Null,
    })
}

/// `EXPIRE` / `PEXPIRE key n [NX|XX|GT|LT]`, as Redis's `expireGenericCommand`: options, then
/// the number, then overflow checks, then the key; a time not in the future deletes the key.
fn expire(db: &mut Store, args: &[&[u8]], unit_ms: i64, name: &str, now: Now) -> Reply {
    let (mut nx, mut xx, mut gt, mut lt) = (false, false, false, false);
    for opt in &args[3..] {
        let opt = c_str(opt);
        match opt.to_ascii_uppercase().as_slice() {
            b"NX" => nx = true,
            b"XX" => xx = true,
            b"GT" => gt = true,
            b"LT" => lt = true,
            _ => {
                let mut text = b"ERR Unsupported option ".to_vec();
                text.extend_from_slice(opt);
                return Err(Value::error_bytes(text));
            }
        }
    }
    if nx && (xx || gt || lt) {
        return Err(Value::error(
            "ERR NX and XX, GT or LT options at the same time are not compatible",
        ));
    }
    if gt && lt {
        return Err(Value::error(
            "ERR GT and LT options at the same time are not compatible",
        ));
    }
    let n = integer(args[2])?;
    let now = now.pinned();
    let when = n
        .checked_mul(unit_ms)
        .and_then(|ms| ms.checked_add(now.unix_ms()))
        .ok_or_else(|| invalid_expire(name))?;
    let key = &args[1];
    let current = match db.ttl(key, now.instant) {
        Ttl::Missing => return Ok(Value::Integer(0)),
        Ttl::Persistent => None,
        Ttl::Remaining(d) => Some(now.unix_ms().saturating_add(d.as_millis() as i64)),
    };
    let refused = (nx && current.is_some())
        || (xx && current.is_none())
        || (gt && current.is_none_or(|c| when <= c))
        || (lt && current.is_some_and(|c| when >= c));
    if refused {
        return Ok(Value::Integer(0));
    }
    let deadline = deadline_of(when, now).ok_or_else(|| invalid_expire(name))?;
    Ok(Value::Integer(
        db.expire_at(key, deadline, now.instant).into(),
    ))
}
