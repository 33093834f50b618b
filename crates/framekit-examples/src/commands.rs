//! The Redis commands of `resp_server`: one request's arguments in, one reply out, against a
//! [`Store`] at a given instant. No I/O and no clock, so every command is a plain unit test.
//!
//! Supported: PING, ECHO, SET (EX, PX, EXAT, PXAT, KEEPTTL, NX, XX, GET), GET, DEL, EXISTS,
//! INCR, DECR, INCRBY, DECRBY, MGET, MSET, EXPIRE, PEXPIRE, PERSIST, TTL, PTTL, DBSIZE,
//! FLUSHALL, FLUSHDB, KEYS, CONFIG GET, SELECT 0, COMMAND (empty), QUIT.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;

use crate::resp::{parse_i64, Value};
use crate::store::{glob_match, Condition, Expiry, IncrError, Store, Ttl};

/// What the connection does after a command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Send this reply and go on.
    Reply(Value),
    /// Send this reply, then close the connection (`QUIT`).
    ReplyAndClose(Value),
    /// Send nothing (an empty request).
    Nothing,
}

/// The configuration parameters `CONFIG GET` reports; enough for `redis-benchmark` and
/// `redis-cli` to start without warnings.
const CONFIG: &[(&str, &str)] = &[
    ("save", ""),
    ("appendonly", "no"),
    ("databases", "1"),
    ("maxmemory", "0"),
];

/// Runs one request against `store` at instant `now`.
///
/// ```
/// use std::time::Instant;
/// use bytes::Bytes;
/// use framekit_examples::commands::{execute, Outcome};
/// use framekit_examples::resp::Value;
/// use framekit_examples::store::Store;
///
/// let mut store = Store::new();
/// let args = |s: &str| s.split(' ').map(|w| Bytes::copy_from_slice(w.as_bytes())).collect::<Vec<_>>();
/// let now = Instant::now();
/// assert_eq!(execute(&mut store, &args("SET k v"), now), Outcome::Reply(Value::OK));
/// assert_eq!(execute(&mut store, &args("get k"), now), Outcome::Reply(Value::bulk("v")));
/// ```
pub fn execute(store: &mut Store, args: &[Bytes], now: Instant) -> Outcome {
    let Some(name) = args.first() else {
        return Outcome::Nothing;
    };
    let mut upper = [0u8; 16];
    let name_upper = match upper.get_mut(..name.len()) {
        Some(dst) => {
            dst.copy_from_slice(name);
            dst.make_ascii_uppercase();
            &*dst
        }
        None => b"" as &[u8],
    };
    let reply = match name_upper {
        b"QUIT" => return Outcome::ReplyAndClose(Value::OK),
        b"PING" => ping(args),
        b"ECHO" => arity(args, 2, 2).map(|()| Value::Bulk(args[1].clone())),
        b"SET" => set(store, args, now),
        b"GET" => {
            arity(args, 2, 2).map(|()| store.get(&args[1], now).map_or(Value::Null, Value::Bulk))
        }
        b"DEL" => arity(args, 2, usize::MAX).map(|()| count(&args[1..], |k| store.remove(k, now))),
        b"EXISTS" => {
            arity(args, 2, usize::MAX).map(|()| count(&args[1..], |k| store.contains(k, now)))
        }
        b"INCR" => arity(args, 2, 2).and_then(|()| incr(store, &args[1], 1, now)),
        b"DECR" => arity(args, 2, 2).and_then(|()| incr(store, &args[1], -1, now)),
        b"INCRBY" | b"DECRBY" => arity(args, 3, 3).and_then(|()| {
            let n = integer(&args[2])?;
            let n = if name_upper == b"DECRBY" {
                n.checked_neg().ok_or_else(not_an_integer)?
            } else {
                n
            };
            incr(store, &args[1], n, now)
        }),
        b"MGET" => arity(args, 2, usize::MAX).map(|()| {
            let values = args[1..]
                .iter()
                .map(|k| store.get(k, now).map_or(Value::Null, Value::Bulk));
            Value::Array(values.collect())
        }),
        b"MSET" => mset(store, args, now),
        b"EXPIRE" | b"PEXPIRE" => arity(args, 3, 3).and_then(|()| {
            let n = integer(&args[2])?;
            let unit = if name_upper == b"EXPIRE" { 1000 } else { 1 };
            let deadline = deadline_after(n, unit, now, name)?;
            Ok(Value::Integer(
                store.expire_at(&args[1], deadline, now).into(),
            ))
        }),
        b"PERSIST" => {
            arity(args, 2, 2).map(|()| Value::Integer(store.persist(&args[1], now).into()))
        }
        b"TTL" | b"PTTL" => arity(args, 2, 2).map(|()| {
            Value::Integer(match store.ttl(&args[1], now) {
                Ttl::Missing => -2,
                Ttl::Persistent => -1,
                // TTL rounds to the nearest second, as Redis does.
                Ttl::Remaining(d) if name_upper == b"TTL" => ((d.as_millis() + 500) / 1000) as i64,
                Ttl::Remaining(d) => d.as_millis() as i64,
            })
        }),
        b"DBSIZE" => arity(args, 1, 1).map(|()| Value::Integer(store.len() as i64)),
        b"FLUSHALL" | b"FLUSHDB" => arity(args, 1, 2).map(|()| {
            store.clear();
            Value::OK
        }),
        b"KEYS" => arity(args, 2, 2).map(|()| {
            Value::Array(
                store
                    .keys(&args[1], now)
                    .into_iter()
                    .map(Value::Bulk)
                    .collect(),
            )
        }),
        b"CONFIG" => config(args),
        b"SELECT" => arity(args, 2, 2).and_then(|()| match integer(&args[1])? {
            0 => Ok(Value::OK),
            _ => Err(Value::error("ERR DB index is out of range")),
        }),
        b"COMMAND" => Ok(Value::Array(Vec::new())),
        _ => Err(unknown_command(args)),
    };
    Outcome::Reply(reply.unwrap_or_else(|err| err))
}

/// An error reply, carried in `Err` so `?` stops a command early.
type Reply = Result<Value, Value>;

fn arity(args: &[Bytes], min: usize, max: usize) -> Result<(), Value> {
    if (min..=max).contains(&args.len()) {
        Ok(())
    } else {
        Err(Value::error(format!(
            "ERR wrong number of arguments for '{}' command",
            String::from_utf8_lossy(&args[0]).to_lowercase()
        )))
    }
}

fn not_an_integer() -> Value {
    Value::error("ERR value is not an integer or out of range")
}

fn integer(arg: &[u8]) -> Result<i64, Value> {
    parse_i64(arg).ok_or_else(not_an_integer)
}

fn count(keys: &[Bytes], mut f: impl FnMut(&[u8]) -> bool) -> Value {
    Value::Integer(keys.iter().filter(|k| f(k)).count() as i64)
}

fn unknown_command(args: &[Bytes]) -> Value {
    let mut text = format!(
        "ERR unknown command '{}', with args beginning with: ",
        String::from_utf8_lossy(&args[0])
    );
    for arg in args[1..].iter().take(8) {
        text.push_str(&format!("'{}' ", String::from_utf8_lossy(arg)));
    }
    Value::error(text)
}

fn ping(args: &[Bytes]) -> Reply {
    arity(args, 1, 2)?;
    Ok(match args.get(1) {
        Some(msg) => Value::Bulk(msg.clone()),
        None => Value::Simple("PONG"),
    })
}

fn incr(store: &mut Store, key: &[u8], delta: i64, now: Instant) -> Reply {
    match store.incr_by(key, delta, now) {
        Ok(n) => Ok(Value::Integer(n)),
        Err(IncrError::NotAnInteger) => Err(not_an_integer()),
        Err(IncrError::Overflow) => Err(Value::error("ERR increment or decrement would overflow")),
    }
}

/// The instant `n` units of `unit_ms` milliseconds after `now`; `n <= 0` is `now` (delete).
fn deadline_after(n: i64, unit_ms: u64, now: Instant, command: &[u8]) -> Result<Instant, Value> {
    let invalid = || {
        Value::error(format!(
            "ERR invalid expire time in '{}' command",
            String::from_utf8_lossy(command).to_lowercase()
        ))
    };
    if n <= 0 {
        return Ok(now);
    }
    let ms = (n as u64).checked_mul(unit_ms).ok_or_else(invalid)?;
    now.checked_add(Duration::from_millis(ms))
        .ok_or_else(invalid)
}

/// The instant of a Unix time in milliseconds, seen from `now`.
fn instant_of_unix_ms(unix_ms: i64, now: Instant) -> Option<Instant> {
    let now_unix = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .ok()?
        .as_millis() as i64;
    let ahead = unix_ms.saturating_sub(now_unix);
    if ahead <= 0 {
        Some(now)
    } else {
        now.checked_add(Duration::from_millis(ahead as u64))
    }
}

fn set(store: &mut Store, args: &[Bytes], now: Instant) -> Reply {
    arity(args, 3, usize::MAX)?;
    let syntax = || Value::error("ERR syntax error");
    let invalid = || Value::error("ERR invalid expire time in 'set' command");
    let mut expiry = None;
    let mut condition = Condition::Always;
    let mut want_old = false;
    let mut options = args[3..].iter();
    while let Some(option) = options.next() {
        let mut upper = option.to_vec();
        upper.make_ascii_uppercase();
        match upper.as_slice() {
            b"NX" | b"XX" if condition != Condition::Always => return Err(syntax()),
            b"NX" => condition = Condition::IfAbsent,
            b"XX" => condition = Condition::IfPresent,
            b"GET" => want_old = true,
            b"KEEPTTL" if expiry.is_none() => expiry = Some(Expiry::Keep),
            b"EX" | b"PX" | b"EXAT" | b"PXAT" if expiry.is_none() => {
                let n = integer(options.next().ok_or_else(syntax)?)?;
                if n <= 0 {
                    return Err(invalid());
                }
                let at = match upper.as_slice() {
                    b"EX" => deadline_after(n, 1000, now, b"set")?,
                    b"PX" => deadline_after(n, 1, now, b"set")?,
                    b"EXAT" => instant_of_unix_ms(n.checked_mul(1000).ok_or_else(invalid)?, now)
                        .ok_or_else(invalid)?,
                    _ => instant_of_unix_ms(n, now).ok_or_else(invalid)?,
                };
                expiry = Some(Expiry::At(at));
            }
            _ => return Err(syntax()),
        }
    }
    let old = if want_old {
        store.get(&args[1], now)
    } else {
        None
    };
    // Values arrive as slices of the read buffer; the store keeps its own copies.
    let written = store.set(
        Bytes::copy_from_slice(&args[1]),
        Bytes::copy_from_slice(&args[2]),
        expiry.unwrap_or_default(),
        condition,
        now,
    );
    Ok(match (want_old, written) {
        (true, _) => old.map_or(Value::Null, Value::Bulk),
        (false, true) => Value::OK,
        (false, false) => Value::Null,
    })
}

fn mset(store: &mut Store, args: &[Bytes], now: Instant) -> Reply {
    if args.len() < 3 || args.len() % 2 == 0 {
        return Err(Value::error(
            "ERR wrong number of arguments for 'mset' command",
        ));
    }
    for pair in args[1..].chunks_exact(2) {
        store.set(
            Bytes::copy_from_slice(&pair[0]),
            Bytes::copy_from_slice(&pair[1]),
            Expiry::Never,
            Condition::Always,
            now,
        );
    }
    Ok(Value::OK)
}

fn config(args: &[Bytes]) -> Reply {
    arity(args, 2, usize::MAX)?;
    if !args[1].eq_ignore_ascii_case(b"GET") {
        return Err(Value::error(format!(
            "ERR unknown subcommand '{}'",
            String::from_utf8_lossy(&args[1])
        )));
    }
    arity(args, 3, usize::MAX)?;
    let mut pairs = Vec::new();
    for &(name, value) in CONFIG {
        if args[2..]
            .iter()
            .any(|p| glob_match(&p.to_ascii_lowercase(), name.as_bytes()))
        {
            pairs.push(Value::bulk(name));
            pairs.push(Value::bulk(value));
        }
    }
    Ok(Value::Array(pairs))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(store: &mut Store, line: &str, now: Instant) -> Value {
        let args: Vec<Bytes> = line
            .split(' ')
            .map(|w| Bytes::copy_from_slice(w.as_bytes()))
            .collect();
        match execute(store, &args, now) {
            Outcome::Reply(v) | Outcome::ReplyAndClose(v) => v,
            Outcome::Nothing => panic!("no reply to {line}"),
        }
    }

    fn int(n: i64) -> Value {
        Value::Integer(n)
    }

    #[test]
    fn ping_echo_and_quit() {
        let mut s = Store::new();
        let now = Instant::now();
        assert_eq!(run(&mut s, "PING", now), Value::Simple("PONG"));
        assert_eq!(run(&mut s, "ping hi", now), Value::bulk("hi"));
        assert_eq!(run(&mut s, "ECHO x", now), Value::bulk("x"));
        assert_eq!(
            execute(&mut s, &[Bytes::from("quit")], now),
            Outcome::ReplyAndClose(Value::OK)
        );
        assert_eq!(execute(&mut s, &[], now), Outcome::Nothing);
    }

    #[test]
    fn set_options_work_like_redis() {
        let mut s = Store::new();
        let now = Instant::now();
        assert_eq!(run(&mut s, "SET k v NX", now), Value::OK);
        assert_eq!(run(&mut s, "SET k w NX", now), Value::Null);
        assert_eq!(run(&mut s, "SET missing w XX", now), Value::Null);
        assert_eq!(run(&mut s, "SET k w XX GET", now), Value::bulk("v"));
        assert_eq!(run(&mut s, "SET k v EX 10", now), Value::OK);
        assert_eq!(run(&mut s, "TTL k", now), int(10));
        assert_eq!(run(&mut s, "SET k v PX 1500", now), Value::OK);
        assert_eq!(run(&mut s, "PTTL k", now), int(1500));
        assert_eq!(run(&mut s, "TTL k", now), int(2));
        let later = now + Duration::from_millis(1500);
        assert_eq!(run(&mut s, "GET k", later), Value::Null);
        assert_eq!(
            run(&mut s, "SET k v EX 0", now),
            Value::error("ERR invalid expire time in 'set' command")
        );
        assert_eq!(run(&mut s, "SET k v EX x", now), not_an_integer());
        assert_eq!(
            run(&mut s, "SET k v NX XX", now),
            Value::error("ERR syntax error")
        );
        assert_eq!(
            run(&mut s, "SET k v EX 1 PX 1", now),
            Value::error("ERR syntax error")
        );
        assert_eq!(
            run(&mut s, "SET k v EX", now),
            Value::error("ERR syntax error")
        );
    }

    #[test]
    fn counters() {
        let mut s = Store::new();
        let now = Instant::now();
        assert_eq!(run(&mut s, "INCR n", now), int(1));
        assert_eq!(run(&mut s, "INCRBY n 10", now), int(11));
        assert_eq!(run(&mut s, "DECR n", now), int(10));
        assert_eq!(run(&mut s, "DECRBY n 20", now), int(-10));
        assert_eq!(run(&mut s, "GET n", now), Value::bulk("-10"));
        run(&mut s, "SET s abc", now);
        assert_eq!(run(&mut s, "INCR s", now), not_an_integer());
        assert_eq!(run(&mut s, "INCRBY n x", now), not_an_integer());
        run(&mut s, &format!("SET m {}", i64::MAX), now);
        assert_eq!(
            run(&mut s, "INCR m", now),
            Value::error("ERR increment or decrement would overflow")
        );
    }

    #[test]
    fn multi_key_commands() {
        let mut s = Store::new();
        let now = Instant::now();
        assert_eq!(run(&mut s, "MSET a 1 b 2", now), Value::OK);
        assert_eq!(
            run(&mut s, "MGET a x b", now),
            Value::Array(vec![Value::bulk("1"), Value::Null, Value::bulk("2")])
        );
        assert_eq!(run(&mut s, "EXISTS a b x a", now), int(3));
        assert_eq!(run(&mut s, "DBSIZE", now), int(2));
        assert_eq!(run(&mut s, "DEL a x", now), int(1));
        assert_eq!(
            run(&mut s, "KEYS *", now),
            Value::Array(vec![Value::bulk("b")])
        );
        assert_eq!(run(&mut s, "FLUSHALL", now), Value::OK);
        assert_eq!(run(&mut s, "DBSIZE", now), int(0));
        assert_eq!(
            run(&mut s, "MSET a", now),
            Value::error("ERR wrong number of arguments for 'mset' command")
        );
    }

    #[test]
    fn expiry_commands() {
        let mut s = Store::new();
        let now = Instant::now();
        assert_eq!(run(&mut s, "EXPIRE k 10", now), int(0));
        run(&mut s, "SET k v", now);
        assert_eq!(run(&mut s, "TTL k", now), int(-1));
        assert_eq!(run(&mut s, "EXPIRE k 10", now), int(1));
        assert_eq!(run(&mut s, "TTL k", now), int(10));
        assert_eq!(run(&mut s, "PERSIST k", now), int(1));
        assert_eq!(run(&mut s, "TTL k", now), int(-1));
        assert_eq!(run(&mut s, "PEXPIRE k 100", now), int(1));
        assert_eq!(run(&mut s, "TTL missing", now), int(-2));
        assert_eq!(run(&mut s, "EXPIRE k -1", now), int(1));
        assert_eq!(run(&mut s, "EXISTS k", now), int(0));
    }

    #[test]
    fn config_get_answers_what_benchmarks_ask() {
        let mut s = Store::new();
        let now = Instant::now();
        assert_eq!(
            run(&mut s, "CONFIG GET save", now),
            Value::Array(vec![Value::bulk("save"), Value::bulk("")])
        );
        assert_eq!(
            run(&mut s, "config get APPENDONLY", now),
            Value::Array(vec![Value::bulk("appendonly"), Value::bulk("no")])
        );
        assert_eq!(run(&mut s, "CONFIG GET nothing", now), Value::Array(vec![]));
    }

    #[test]
    fn errors_name_the_command() {
        let mut s = Store::new();
        let now = Instant::now();
        assert_eq!(
            run(&mut s, "FOO a b", now),
            Value::error("ERR unknown command 'FOO', with args beginning with: 'a' 'b' ")
        );
        assert_eq!(
            run(&mut s, "GET", now),
            Value::error("ERR wrong number of arguments for 'get' command")
        );
        assert_eq!(
            run(&mut s, "averyveryverylongcommandname", now),
            Value::error(
                "ERR unknown command 'averyveryverylongcommandname', with args beginning with: "
            )
        );
    }
}
