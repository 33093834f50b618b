//! The connection and introspection commands: `PING`, `ECHO`, `HELLO`, `CLIENT ...`,
//! `CONFIG GET|SET` and `COMMAND [COUNT|DOCS]`, with the [`Config`] table they report.

use bytes::Bytes;

use super::session::Session;
use super::table::{self, Command, Id};
use super::{c_str, integer, syntax_error, Now, Reply, State, DATABASES};
use crate::glob::glob_match;
use crate::resp::Value;

/// The Redis version whose commands and replies `resp_server` follows (`HELLO`'s `version`).
pub const REDIS_VERSION: &str = "7.0.0";

/// Runs a connection or introspection command (table group
/// [`Server`](super::table::Group::Server)).
pub fn run(id: Id, state: &mut State, session: &mut Session, args: &[&[u8]], now: Now) -> Reply {
    match id {
        Id::Ping => match args {
            [_] => Ok(Value::Simple("PONG")),
            [_, msg] => Ok(Value::Bulk(Bytes::copy_from_slice(msg))),
            _ => Err(super::wrong_arity("ping")),
        },
        Id::Echo => Ok(Value::Bulk(Bytes::copy_from_slice(args[1]))),
        Id::Hello => hello(session, args),
        Id::ClientId => Ok(Value::Integer(session.id as i64)),
        Id::ClientGetName => Ok(session.name().cloned().map_or(Value::Null, Value::Bulk)),
        Id::ClientSetName => {
            session.set_name(client_name(args[2], b"Client names")?);
            Ok(Value::OK)
        }
        Id::ClientSetInfo => client_set_info(session, args[2], args[3]),
        Id::ClientInfo => Ok(Value::Bulk(session.info_line(now.instant).into())),
        Id::ClientList => client_list(state, session, args, now),
        Id::ConfigGet => Ok(state.config.get(&args[2..])),
        Id::ConfigSet => state.config.set(&args[2..]),
        Id::Command => Ok(Value::Array(table::top_level().map(command_info).collect())),
        Id::CommandCount => Ok(Value::Integer(table::top_level().count() as i64)),
        Id::CommandDocs => Ok(command_docs(&args[2..])),
        _ => Err(Value::error("ERR command not in this group")),
    }
}

/// `HELLO [protover [AUTH user pass] [SETNAME name]]`: RESP2 only; `HELLO 3` is refused with
/// Redis's `NOPROTO` error, which clients take as "speak RESP2".
fn hello(session: &mut Session, args: &[&[u8]]) -> Reply {
    let mut next = 1;
    if let Some(version) = args.get(1) {
        let version = super::parse_i64(version).ok_or_else(|| {
            Value::error("ERR Protocol version is not an integer or out of range")
        })?;
        next = 2;
        if version != 2 {
            return Err(Value::error("NOPROTO unsupported protocol version"));
        }
    }
    let mut name = None;
    let mut auth = None;
    while next < args.len() {
        let opt = c_str(args[next]);
        let more = args.len() - 1 - next;
        if opt.eq_ignore_ascii_case(b"AUTH") && more >= 2 {
            auth = Some(&args[next + 1]);
            next += 3;
        } else if opt.eq_ignore_ascii_case(b"SETNAME") && more >= 1 {
            name = Some(&args[next + 1]);
            next += 2;
        } else {
            let mut text = b"ERR Syntax error in HELLO option '".to_vec();
            text.extend_from_slice(opt);
            text.push(b'\'');
            return Err(Value::error_bytes(text));
        }
    }
    // Only Redis's default user exists, with no password (`nopass`): any password is right.
    if auth.is_some_and(|user| &user[..] != b"default") {
        return Err(Value::error(
            "WRONGPASS invalid username-password pair or user is disabled.",
        ));
    }
    if let Some(name) = name {
        session.set_name(client_name(name, b"Client names")?);
    }
    let pair = |k: &'static str, v: Value| [Value::bulk(k), v];
    Ok(Value::Array(
        [
            pair("server", Value::bulk("redis")),
            pair("version", Value::bulk(REDIS_VERSION)),
            pair("proto", Value::Integer(2)),
            pair("id", Value::Integer(session.id as i64)),
            pair("mode", Value::bulk("standalone")),
            pair("role", Value::bulk("master")),
            pair("modules", Value::Array(Vec::new())),
        ]
        .into_iter()
        .flatten()
        .collect(),
    ))
}

/// A client name or library field: printable ASCII without spaces; empty clears it.
fn client_name(name: &[u8], what: &[u8]) -> Result<Option<Bytes>, Value> {
    if name.iter().any(|&b| !(b'!'..=b'~').contains(&b)) {
        let mut text = b"ERR ".to_vec();
        text.extend_from_slice(what);
        text.extend_from_slice(b" cannot contain spaces, newlines or special characters.");
        return Err(Value::error_bytes(text));
    }
    Ok((!name.is_empty()).then(|| Bytes::copy_from_slice(name)))
}

/// `CLIENT SETINFO LIB-NAME|LIB-VER value` (Redis 7.2).
fn client_set_info(session: &mut Session, attr: &[u8], value: &[u8]) -> Reply {
    let attr = c_str(attr);
    if attr.eq_ignore_ascii_case(b"LIB-NAME") {
        session.set_lib_name(client_name(value, b"lib-name")?);
    } else if attr.eq_ignore_ascii_case(b"LIB-VER") {
        session.set_lib_ver(client_name(value, b"lib-ver")?);
    } else {
        let mut text = b"ERR Unrecognized option '".to_vec();
        text.extend_from_slice(attr);
        text.push(b'\'');
        return Err(Value::error_bytes(text));
    }
    Ok(Value::OK)
}

/// `CLIENT LIST [TYPE normal|master|replica|pubsub] [ID id ...]`: every connection that has
/// sent a command, by id.
fn client_list(state: &State, session: &Session, args: &[&[u8]], now: Now) -> Reply {
    let mut wanted_ids: Option<Vec<i64>> = None;
    let mut normal = true;
    match args.get(2).map(|a| c_str(a).to_ascii_uppercase()) {
        None => {}
        Some(opt) if opt == b"TYPE" && args.len() == 4 => {
            let kind = c_str(args[3]).to_ascii_lowercase();
            match kind.as_slice() {
                b"normal" => {}
                b"master" | b"replica" | b"slave" | b"pubsub" => normal = false,
                _ => {
                    let mut text = b"ERR Unknown client type '".to_vec();
                    text.extend_from_slice(args[3]);
                    text.push(b'\'');
                    return Err(Value::error_bytes(text));
                }
            }
        }
        Some(opt) if opt == b"ID" && args.len() > 3 => {
            let ids = args[3..]
                .iter()
                .map(|a| match super::parse_i64(a) {
                    Some(id) if id > 0 => Ok(id),
                    _ => Err(Value::error("ERR Invalid client ID")),
                })
                .collect::<Result<_, _>>()?;
            wanted_ids = Some(ids);
        }
        Some(_) => return Err(syntax_error()),
    }
    let mut lines = state.clients.others(now.instant);
    lines.push((session.id, session.info_line(now.instant)));
    lines.sort_by_key(|(id, _)| *id);
    let mut out = Vec::new();
    for (id, line) in lines {
        let listed = wanted_ids
            .as_ref()
            .is_none_or(|ids| ids.contains(&(id as i64)));
        if normal && listed {
            out.extend_from_slice(&line);
        }
    }
    Ok(Value::Bulk(out.into()))
}

/// A command's `COMMAND` entry, Redis 7's ten fields (ACL categories, tips and key
/// specifications empty).
fn command_info(c: &'static Command) -> Value {
    let (first, last, step) = c.keys;
    Value::Array(vec![
        Value::bulk(c.full_name),
        Value::Integer(c.arity),
        Value::Array(c.flags.iter().map(|f| Value::Simple(f)).collect()),
        Value::Integer(first),
        Value::Integer(last),
        Value::Integer(step),
        Value::Array(Vec::new()),
        Value::Array(Vec::new()),
        Value::Array(Vec::new()),
        Value::Array(c.subcommands().map(command_info).collect()),
    ])
}

/// `COMMAND DOCS [name ...]`: name, then a map of summary, since and group, for each named (or
/// every) top-level command; unknown names are left out, as Redis does.
fn command_docs(names: &[&[u8]]) -> Value {
    let docs = |c: &'static Command| {
        [
            Value::bulk(c.full_name),
            Value::Array(vec![
                Value::bulk("summary"),
                Value::bulk(c.summary),
                Value::bulk("since"),
                Value::bulk(c.since),
                Value::bulk("group"),
                Value::bulk(c.doc_group),
            ]),
        ]
    };
    let chosen: Vec<&'static Command> = if names.is_empty() {
        table::top_level().collect()
    } else {
        names
            .iter()
            .filter_map(|n| {
                table::top_level().find(|c| c.full_name.as_bytes().eq_ignore_ascii_case(n))
            })
            .collect()
    };
    Value::Array(chosen.into_iter().flat_map(docs).collect())
}

/// How a configuration value is checked and written back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Fixed at start.
    Immutable,
    /// `yes` or `no`.
    Bool,
    /// A memory size (`100`, `10mb`, `1gb`), reported in bytes.
    Memory,
    /// A non-negative `int`.
    Count,
    /// One of a set of words.
    Enum(&'static [&'static str]),
    /// `save`: empty, or pairs of seconds and changes.
    SavePoints,
    /// `notify-keyspace-events`: letters from Redis's set.
    EventClasses,
}

const POLICIES: &[&str] = &[
    "volatile-lru",
    "volatile-lfu",
    "volatile-random",
    "volatile-ttl",
    "allkeys-lru",
    "allkeys-lfu",
    "allkeys-random",
    "noeviction",
];

/// The parameters `CONFIG GET` reports and `CONFIG SET` accepts, with Redis's defaults (as a
/// server started with `--save '' --appendonly no`). They are validated and stored so client
/// setup code works; none of them changes what the server does (it has no persistence,
/// eviction or keyspace events).
#[derive(Debug, Clone)]
pub struct Config {
    entries: Vec<(&'static str, Kind, String)>,
}

impl Default for Config {
    fn default() -> Self {
        let entries = [
            ("save", Kind::SavePoints, ""),
            ("appendonly", Kind::Bool, "no"),
            ("databases", Kind::Immutable, ""),
            ("maxmemory", Kind::Memory, "0"),
            ("maxmemory-policy", Kind::Enum(POLICIES), "noeviction"),
            ("timeout", Kind::Count, "0"),
            ("notify-keyspace-events", Kind::EventClasses, ""),
            ("lazyfree-lazy-user-flush", Kind::Bool, "no"),
        ];
        Config {
            entries: entries
                .into_iter()
                .map(|(name, kind, value)| {
                    let value = if name == "databases" {
                        DATABASES.to_string()
                    } else {
                        value.to_string()
                    };
                    (name, kind, value)
                })
                .collect(),
        }
    }
}

impl Config {
    /// `CONFIG GET pattern ...`: a name without glob characters is echoed as given; a glob
    /// matches names case-insensitively and reports them in lower case. Each parameter once.
    pub fn get(&self, patterns: &[&[u8]]) -> Value {
        let mut found: Vec<(Bytes, usize)> = Vec::new();
        for pattern in patterns {
            let pattern = c_str(pattern);
            if !pattern.iter().any(|b| b"[*?".contains(b)) {
                if let Some(i) = self.index(pattern) {
                    if !found.iter().any(|(_, j)| *j == i) {
                        found.push((Bytes::copy_from_slice(pattern), i));
                    }
                }
                continue;
            }
            let lower = pattern.to_ascii_lowercase();
            for (i, (name, _, _)) in self.entries.iter().enumerate() {
                if !found.iter().any(|(_, j)| *j == i) && glob_match(&lower, name.as_bytes()) {
                    found.push((Bytes::from_static(name.as_bytes()), i));
                }
            }
        }
        let pairs = found
            .into_iter()
            .flat_map(|(name, i)| [Value::Bulk(name), Value::bulk(self.entries[i].2.clone())]);
        Value::Array(pairs.collect())
    }

    fn index(&self, name: &[u8]) -> Option<usize> {
        self.entries
            .iter()
            .position(|(n, _, _)| n.as_bytes().eq_ignore_ascii_case(name))
    }

    /// `CONFIG SET name value [name value ...]`: all checked first, then all applied.
    pub fn set(&mut self, pairs: &[&[u8]]) -> Reply {
        if pairs.len() % 2 != 0 {
            return Err(syntax_error());
        }
        let mut updates: Vec<(usize, String)> = Vec::new();
        for pair in pairs.chunks_exact(2) {
            let name = c_str(pair[0]);
            let Some(i) = self.index(name) else {
                let mut text =
                    b"ERR Unknown option or number of arguments for CONFIG SET - '".to_vec();
                text.extend_from_slice(name);
                text.push(b'\'');
                return Err(Value::error_bytes(text));
            };
            let failed = |why: &str| {
                Value::error(format!(
                    "ERR CONFIG SET failed (possibly related to argument '{}') - {why}",
                    self.entries[i].0
                ))
            };
            if updates.iter().any(|(j, _)| *j == i) {
                return Err(failed("duplicate parameter"));
            }
            let value = String::from_utf8_lossy(c_str(pair[1])).into_owned();
            let value = normalize(self.entries[i].1, &value).map_err(failed)?;
            updates.push((i, value));
        }
        for (i, value) in updates {
            self.entries[i].2 = value;
        }
        Ok(Value::OK)
    }
}

/// Checks a new value of `kind` and writes it the way `CONFIG GET` reports it.
fn normalize(kind: Kind, value: &str) -> Result<String, &'static str> {
    match kind {
        Kind::Immutable => Err("can't set immutable config"),
        Kind::Bool => match value.to_ascii_lowercase().as_str() {
            v @ ("yes" | "no") => Ok(v.to_string()),
            _ => Err("argument must be 'yes' or 'no'"),
        },
        Kind::Memory => memory_bytes(value)
            .map(|n| n.to_string())
            .ok_or("argument must be a memory value"),
        Kind::Count => match integer(value.as_bytes()) {
            Ok(n) if (0..=i64::from(i32::MAX)).contains(&n) => Ok(n.to_string()),
            Ok(_) => Err("argument must be between 0 and 2147483647 inclusive"),
            Err(_) => Err("argument couldn't be parsed into an integer"),
        },
        Kind::Enum(words) => {
            let lower = value.to_ascii_lowercase();
            words
                .iter()
                .find(|w| **w == lower)
                .map(|w| w.to_string())
                .ok_or("argument(s) must be one of the following: volatile-lru, volatile-lfu, volatile-random, volatile-ttl, allkeys-lru, allkeys-lfu, allkeys-random, noeviction")
        }
        Kind::SavePoints => {
            let parts: Vec<&str> = value.split_ascii_whitespace().collect();
            let numbers = parts
                .iter()
                .all(|p| integer(p.as_bytes()).is_ok_and(|n| n >= 0));
            if parts.len() % 2 == 0 && numbers {
                Ok(parts.join(" "))
            } else {
                Err("Invalid save parameters")
            }
        }
        Kind::EventClasses => {
            if value.bytes().all(|b| b"KEg$lshzxetmdnA".contains(&b)) {
                Ok(value.to_string())
            } else {
                Err("Invalid event class character. Use 'Ag$lshzxeKEtmdn'.")
            }
        }
    }
}

/// `100`, `1k`, `1kb`, `5mb`, `2gb` (Redis's `memtoull`): k/m/g are 1000s, kb/mb/gb 1024s.
fn memory_bytes(value: &str) -> Option<u64> {
    let lower = value.to_ascii_lowercase();
    let digits_end = lower
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(lower.len());
    let (digits, unit) = lower.split_at(digits_end);
    let scale: u64 = match unit {
        "" | "b" => 1,
        "k" => 1000,
        "kb" => 1024,
        "m" => 1000 * 1000,
        "mb" => 1024 * 1024,
        "g" => 1000 * 1000 * 1000,
        "gb" => 1024 * 1024 * 1024,
        _ => return None,
    };
    digits.parse::<u64>().ok()?.checked_mul(scale)
}
