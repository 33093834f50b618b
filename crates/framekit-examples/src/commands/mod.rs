//! The Redis commands of `resp_server`: one request's arguments in, one reply out, against the
//! shared [`State`] (16 databases, the `CONFIG` table, the client list) and the connection's
//! [`Session`], at a given instant. No I/O, so every command is a plain unit test.
//!
//! Lookup, arity and error texts follow Redis 7's `processCommand`: an unknown command or
//! subcommand is named (cut at 128 bytes, as Redis does), then the arity is checked, then the
//! command runs. The commands themselves live in [`keys`] (data) and [`server`] (connection
//! and introspection); [`table`] lists them with their arity, for `COMMAND`.

use std::time::{Instant, SystemTime, UNIX_EPOCH};

use crate::resp::{parse_i64, Value};
use crate::store::Store;

pub mod keys;
pub mod run;
pub mod server;
pub mod session;
pub mod table;

pub use session::{ClientList, Session, SessionCodec, SharedSession};

/// Redis's number of databases (`SELECT 0` to `SELECT 15`).
pub const DATABASES: usize = 16;

/// What the connection does after a command; a reply may be lent from the store (`'s`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome<'s> {
    /// Send this reply and go on.
    Reply(Value),
    /// Send these bytes as a bulk string and go on: a value found in the store (`GET`), lent
    /// from where it is kept so that it is encoded straight into the output.
    Bulk(&'s [u8]),
    /// Send this reply, then close the connection (`QUIT`).
    ReplyAndClose(Value),
    /// Send nothing (an empty request).
    Nothing,
}

/// Everything commands share across connections.
#[derive(Debug)]
pub struct State {
    /// The databases `SELECT` chooses between.
    pub dbs: Vec<Store>,
    /// The parameters `CONFIG GET` reports and `CONFIG SET` changes.
    pub config: server::Config,
    /// The connections `CLIENT LIST` reports.
    pub clients: ClientList,
}

impl Default for State {
    fn default() -> Self {
        State {
            dbs: (0..DATABASES).map(|_| Store::new()).collect(),
            config: server::Config::default(),
            clients: ClientList::default(),
        }
    }
}

impl State {
    /// Empty databases, default configuration, no clients.
    pub fn new() -> Self {
        Self::default()
    }

    /// Removes up to `budget` expired keys across all databases; returns how many.
    pub fn purge_expired(&mut self, now: Instant, budget: usize) -> usize {
        let mut removed = 0;
        for db in &mut self.dbs {
            removed += db.purge_expired(now, budget - removed);
        }
        removed
    }
}

/// The clock a command reads: the monotonic instant deadlines are kept in, and the Unix time in
/// milliseconds that `EXPIRE`, `SET EX` and their overflow checks are computed in (as Redis
/// computes them). The Unix time is read from the system clock only by a command that needs it
/// (most do not), once per command ([`pinned`](Now::pinned)).
///
/// ```
/// use std::time::Instant;
/// use framekit_examples::commands::Now;
///
/// let now = Now::fixed(Instant::now(), 1_700_000_000_000);
/// assert_eq!(now.unix_ms(), 1_700_000_000_000);
/// let read = Now::system().pinned();
/// assert_eq!(read.unix_ms(), read.unix_ms(), "read once");
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Now {
    /// The monotonic instant.
    pub instant: Instant,
    /// The same moment as Unix milliseconds, once read.
    unix_ms: Option<i64>,
}

impl Now {
    /// The current time.
    pub fn system() -> Self {
        Now::at(Instant::now())
    }

    /// `instant`, taken to be the current Unix time.
    pub fn at(instant: Instant) -> Self {
        Now {
            instant,
            unix_ms: None,
        }
    }

    /// `instant`, at Unix time `unix_ms` (a clock for tests).
    pub fn fixed(instant: Instant, unix_ms: i64) -> Self {
        Now {
            instant,
            unix_ms: Some(unix_ms),
        }
    }

    /// The Unix time in milliseconds (read from the system clock unless already read).
    pub fn unix_ms(&self) -> i64 {
        self.unix_ms.unwrap_or_else(system_unix_ms)
    }

    /// The same moment with its Unix time read, so every use in one command sees one value.
    pub fn pinned(self) -> Self {
        Now::fixed(self.instant, self.unix_ms())
    }
}

fn system_unix_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Runs one request for `session` against `state` at `now`.
///
/// ```
/// use std::time::Instant;
/// use framekit_examples::commands::{execute, Now, Outcome, Session, State};
/// use framekit_examples::resp::Value;
///
/// let mut state = State::new();
/// let mut session = Session::new(1, Instant::now());
/// let (s, now) = (&mut session, Now::system());
/// assert_eq!(execute(&mut state, s, &[b"SET", b"k", b"v"], now), Outcome::Reply(Value::OK));
/// assert_eq!(execute(&mut state, s, &[b"get", b"k"], now), Outcome::Bulk(b"v"));
/// assert_eq!(execute(&mut state, s, &[b"SELECT", b"3"], now), Outcome::Reply(Value::OK));
/// assert_eq!(execute(&mut state, s, &[b"GET", b"k"], now), Outcome::Reply(Value::Null));
/// ```
#[inline]
pub fn execute<'s>(
    state: &'s mut State,
    session: &mut Session,
    args: &[&[u8]],
    now: Now,
) -> Outcome<'s> {
    let Some(name) = args.first() else {
        return Outcome::Nothing;
    };
    session.touch(now.instant);
    let command = match table::lookup(name, args.get(1).copied()) {
        Ok(command) => command,
        Err(unknown) => {
            session.last_command = "NULL";
            return Outcome::Reply(match unknown {
                table::Unknown::Command => unknown_command(args),
                table::Unknown::Subcommand => unknown_subcommand(args),
            });
        }
    };
    session.last_command = command.full_name;
    if !command.arity_allows(args.len()) {
        return Outcome::Reply(wrong_arity(command.full_name));
    }
    match command.id {
        table::Id::Quit => return Outcome::ReplyAndClose(Value::OK),
        table::Id::Get => return keys::get(state, session, args[1], now),
        _ => {}
    }
    let reply = match command.group {
        table::Group::Keys => keys::run(command.id, state, session, args, now),
        table::Group::Server => server::run(command.id, state, session, args, now),
    };
    Outcome::Reply(reply.unwrap_or_else(|err| err))
}

/// A reply, or an error reply carried in `Err` so `?` stops a command early.
pub type Reply = Result<Value, Value>;

/// `ERR wrong number of arguments for 'NAME' command`, with Redis's lower-case full name
/// (`config|get` for a subcommand).
pub fn wrong_arity(full_name: &str) -> Value {
    Value::error(format!(
        "ERR wrong number of arguments for '{full_name}' command"
    ))
}

/// `ERR syntax error`.
pub fn syntax_error() -> Value {
    Value::error("ERR syntax error")
}

/// `ERR value is not an integer or out of range`.
pub fn not_an_integer() -> Value {
    Value::error("ERR value is not an integer or out of range")
}

/// An integer argument, as Redis's `getLongLongFromObjectOrReply` reads it.
pub fn integer(arg: &[u8]) -> Result<i64, Value> {
    parse_i64(arg).ok_or_else(not_an_integer)
}

/// `arg` read as the C string Redis sees in error messages and option names: up to its first
/// NUL byte.
pub fn c_str(arg: &[u8]) -> &[u8] {
    match arg.iter().position(|&b| b == 0) {
        Some(nul) => &arg[..nul],
        None => arg,
    }
}

/// At most `max` bytes of `arg` as a C string (`%.128s`).
fn cut(arg: &[u8], max: usize) -> &[u8] {
    let arg = c_str(arg);
    &arg[..arg.len().min(max)]
}

/// Longest name, and longest argument list, echoed in an unknown-command error (Redis's 128).
const ECHO_MAX: usize = 128;

/// `ERR unknown command 'NAME', with args beginning with: 'a' 'b' `: the name cut at 128 bytes,
/// then arguments while the list is under 128 bytes, each cut to what is left, bytes as sent.
fn unknown_command(args: &[&[u8]]) -> Value {
    let mut text = b"ERR unknown command '".to_vec();
    text.extend_from_slice(cut(args[0], ECHO_MAX));
    text.extend_from_slice(b"', with args beginning with: ");
    let mut listed = 0;
    for arg in &args[1..] {
        if listed >= ECHO_MAX {
            break;
        }
        let piece = cut(arg, ECHO_MAX - listed);
        text.push(b'\'');
        text.extend_from_slice(piece);
        text.extend_from_slice(b"' ");
        listed += piece.len() + 3;
    }
    Value::error_bytes(text)
}

/// `ERR unknown subcommand 'SUB'. Try CMD HELP.`
fn unknown_subcommand(args: &[&[u8]]) -> Value {
    let mut text = b"ERR unknown subcommand '".to_vec();
    text.extend_from_slice(cut(args[1], ECHO_MAX));
    text.extend_from_slice(b"'. Try ");
    text.extend(c_str(args[0]).iter().map(u8::to_ascii_uppercase));
    text.extend_from_slice(b" HELP.");
    Value::error_bytes(text)
}

#[cfg(test)]
mod tests;
