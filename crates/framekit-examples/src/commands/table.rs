//! The command table: every command `resp_server` runs, with Redis's arity, flags, key
//! positions and documentation group, used for lookup and arity checks and reported by
//! `COMMAND`, `COMMAND COUNT` and `COMMAND DOCS`.

/// Which command a request names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum Id {
    Get,
    Set,
    Del,
    Exists,
    Incr,
    Decr,
    IncrBy,
    DecrBy,
    MGet,
    MSet,
    Expire,
    PExpire,
    Persist,
    Ttl,
    PTtl,
    DbSize,
    FlushAll,
    FlushDb,
    Keys,
    Select,
    Ping,
    Echo,
    Quit,
    Hello,
    Command,
    CommandCount,
    CommandDocs,
    Config,
    ConfigGet,
    ConfigSet,
    Client,
    ClientId,
    ClientGetName,
    ClientSetName,
    ClientInfo,
    ClientList,
    ClientSetInfo,
}

/// Which module runs a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Group {
    /// Keys and values: [`keys`](super::keys).
    Keys,
    /// Connection and introspection: [`server`](super::server).
    Server,
}

/// One command as Redis describes it.
#[derive(Debug)]
pub struct Command {
    /// Which command.
    pub id: Id,
    /// Redis's full name: lower case, `parent|sub` for a subcommand.
    pub full_name: &'static str,
    /// Exactly this many arguments (name included) when positive, at least `-arity` when
    /// negative.
    pub arity: i64,
    /// Redis's command flags.
    pub flags: &'static [&'static str],
    /// First key argument, last (`-1`: the last argument), step.
    pub keys: (i64, i64, i64),
    /// Which module runs it.
    pub group: Group,
    /// Redis's documentation group (`string`, `generic`, `server`, `connection`).
    pub doc_group: &'static str,
    /// The Redis version that introduced it.
    pub since: &'static str,
    /// One-line summary.
    pub summary: &'static str,
}

impl Command {
    /// Whether a request of `argc` arguments (name included) fits the arity.
    pub fn arity_allows(&self, argc: usize) -> bool {
        let argc = argc as i64;
        if self.arity >= 0 {
            argc == self.arity
        } else {
            argc >= -self.arity
        }
    }

    /// The command's name without its parent (`get` of `config|get`).
    pub fn short_name(&self) -> &'static str {
        self.full_name
            .rsplit_once('|')
            .map_or(self.full_name, |(_, sub)| sub)
    }

    /// Whether it is a subcommand (`config|get`).
    pub fn is_subcommand(&self) -> bool {
        self.full_name.contains('|')
    }

    /// The subcommands of a container command (`config`), in table order.
    pub fn subcommands(&self) -> impl Iterator<Item = &'static Command> + '_ {
        let at = COMMANDS.iter().position(|c| std::ptr::eq(c, self));
        at.map_or(&[][..], subcommands_of).iter()
    }

    /// Whether this is a subcommand of `parent` (`config|get` of `config`), by its name.
    const fn is_subcommand_of(&self, parent: &Command) -> bool {
        let (name, parent) = (self.full_name.as_bytes(), parent.full_name.as_bytes());
        if name.len() <= parent.len() || name[parent.len()] != b'|' {
            return false;
        }
        let mut i = 0;
        while i < parent.len() {
            if name[i] != parent[i] {
                return false;
            }
            i += 1;
        }
        true
    }
}

macro_rules! commands {
    ($(($id:ident, $name:literal, $arity:literal, [$($flag:literal),*], ($f:literal, $l:literal, $s:literal),
        $group:ident, $doc:literal, $since:literal, $summary:literal)),* $(,)?) => {
        const TABLE: &[Command] = &[$(Command {
            id: Id::$id,
            full_name: $name,
            arity: $arity,
            flags: &[$($flag),*],
            keys: ($f, $l, $s),
            group: Group::$group,
            doc_group: $doc,
            since: $since,
            summary: $summary,
        }),*];
    };
}

/// Every command; a container command's subcommands follow it directly, so they are found next
/// to it rather than by a search of the table.
pub static COMMANDS: &[Command] = TABLE;

/// How a top-level command's name is compared: its bytes as one little-endian word, and the
/// case bit of each of its letters, which a request's name may have either way.
#[derive(Debug, Clone, Copy)]
struct NameKey {
    word: u64,
    letters: u64,
    len: usize,
}

/// The longest top-level name (checked when the table is built): a longer request name is
/// no command.
const MAX_NAME: usize = 8;

/// Each command's [`NameKey`] in table order, `None` for subcommands (never found by their
/// full name): a request's name is found by comparing one word per command.
static NAME_KEYS: [Option<NameKey>; TABLE.len()] = name_keys();

const fn name_keys() -> [Option<NameKey>; TABLE.len()] {
    let mut keys = [None; TABLE.len()];
    let mut i = 0;
    while i < TABLE.len() {
        let name = TABLE[i].full_name.as_bytes();
        let mut container = false;
        let mut j = 0;
        while j < name.len() {
            container |= name[j] == b'|';
            j += 1;
        }
        if !container {
            assert!(
                name.len() <= MAX_NAME,
                "a command name longer than MAX_NAME"
            );
            let (mut word, mut letters, mut j) = (0u64, 0u64, 0);
            while j < name.len() {
                assert!(
                    !name[j].is_ascii_uppercase(),
                    "command names are lower case"
                );
                word |= (name[j] as u64) << (8 * j);
                if name[j].is_ascii_lowercase() {
                    letters |= 0x20 << (8 * j);
                }
                j += 1;
            }
            keys[i] = Some(NameKey {
                word,
                letters,
                len: name.len(),
            });
        }
        i += 1;
    }
    keys
}

/// The position of the top-level command named `name`, ignoring ASCII case: a letter matches
/// itself with its case bit either way, any other byte only itself.
fn find(name: &[u8]) -> Option<usize> {
    if name.len() > MAX_NAME {
        return None;
    }
    // Byte by byte: a name is a few bytes, fewer instructions than a call to copy them.
    let word = name
        .iter()
        .enumerate()
        .fold(0u64, |word, (i, &b)| word | u64::from(b) << (8 * i));
    NAME_KEYS
        .iter()
        .position(|k| k.is_some_and(|k| k.len == name.len() && word | k.letters == k.word))
}

commands![
    (Get, "get", 2, ["readonly", "fast"], (1, 1, 1), Keys, "string", "1.0.0", "Returns the string value of a key."),
    (Set, "set", -3, ["write", "denyoom"], (1, 1, 1), Keys, "string", "1.0.0", "Sets the string value of a key, ignoring its type. The key is created if it doesn't exist."),
    (Del, "del", -2, ["write"], (1, -1, 1), Keys, "generic", "1.0.0", "Deletes one or more keys."),
    (Exists, "exists", -2, ["readonly", "fast"], (1, -1, 1), Keys, "generic", "1.0.0", "Determines whether one or more keys exist."),
    (Incr, "incr", 2, ["write", "denyoom", "fast"], (1, 1, 1), Keys, "string", "1.0.0", "Increments the integer value of a key by one. Uses 0 as initial value if the key doesn't exist."),
    (Decr, "decr", 2, ["write", "denyoom", "fast"], (1, 1, 1), Keys, "string", "1.0.0", "Decrements the integer value of a key by one. Uses 0 as initial value if the key doesn't exist."),
    (IncrBy, "incrby", 3, ["write", "denyoom", "fast"], (1, 1, 1), Keys, "string", "1.0.0", "Increments the integer value of a key by a number. Uses 0 as initial value if the key doesn't exist."),
    (DecrBy, "decrby", 3, ["write", "denyoom", "fast"], (1, 1, 1), Keys, "string", "1.0.0", "Decrements a number from the integer value of a key. Uses 0 as initial value if the key doesn't exist."),
    (MGet, "mget", -2, ["readonly", "fast"], (1, -1, 1), Keys, "string", "1.0.0", "Atomically returns the string values of one or more keys."),
    (MSet, "mset", -3, ["write", "denyoom"], (1, -1, 2), Keys, "string", "1.0.1", "Atomically creates or modifies the string values of one or more keys."),
    (Expire, "expire", -3, ["write", "fast"], (1, 1, 1), Keys, "generic", "1.0.0", "Sets the expiration time of a key in seconds."),
    (PExpire, "pexpire", -3, ["write", "fast"], (1, 1, 1), Keys, "generic", "2.6.0", "Sets the expiration time of a key in milliseconds."),
    (Persist, "persist", 2, ["write", "fast"], (1, 1, 1), Keys, "generic", "2.2.0", "Removes the expiration time of a key."),
    (Ttl, "ttl", 2, ["readonly", "fast"], (1, 1, 1), Keys, "generic", "1.0.0", "Returns the expiration time in seconds of a key."),
    (PTtl, "pttl", 2, ["readonly", "fast"], (1, 1, 1), Keys, "generic", "2.6.0", "Returns the expiration time in milliseconds of a key."),
    (DbSize, "dbsize", 1, ["readonly", "fast"], (0, 0, 0), Keys, "server", "1.0.0", "Returns the number of keys in the database."),
    (FlushAll, "flushall", -1, ["write"], (0, 0, 0), Keys, "server", "1.0.0", "Removes all keys from all databases."),
    (FlushDb, "flushdb", -1, ["write"], (0, 0, 0), Keys, "server", "1.0.0", "Remove all keys from the current database."),
    (Keys, "keys", 2, ["readonly"], (0, 0, 0), Keys, "generic", "1.0.0", "Returns all key names that match a pattern."),
    (Select, "select", 2, ["loading", "stale", "fast"], (0, 0, 0), Keys, "connection", "1.0.0", "Changes the selected database."),
    (Ping, "ping", -1, ["fast"], (0, 0, 0), Server, "connection", "1.0.0", "Returns the server's liveliness response."),
    (Echo, "echo", 2, ["fast"], (0, 0, 0), Server, "connection", "1.0.0", "Returns the given string."),
    (Quit, "quit", -1, ["noscript", "loading", "stale", "fast"], (0, 0, 0), Server, "connection", "1.0.0", "Closes the connection."),
    (Hello, "hello", -1, ["noscript", "loading", "stale", "fast"], (0, 0, 0), Server, "connection", "6.0.0", "Handshakes with the Redis server."),
    (Command, "command", -1, ["loading", "stale"], (0, 0, 0), Server, "server", "2.8.13", "Returns detailed information about all commands."),
    (CommandCount, "command|count", 2, ["loading", "stale"], (0, 0, 0), Server, "server", "2.8.13", "Returns a count of commands."),
    (CommandDocs, "command|docs", -2, ["loading", "stale"], (0, 0, 0), Server, "server", "7.0.0", "Returns documentary information about one, multiple or all commands."),
    (Config, "config", -2, [], (0, 0, 0), Server, "server", "2.0.0", "A container for server configuration commands."),
    (ConfigGet, "config|get", -3, ["admin", "noscript", "loading", "stale"], (0, 0, 0), Server, "server", "2.0.0", "Returns the effective values of configuration parameters."),
    (ConfigSet, "config|set", -4, ["admin", "noscript", "loading", "stale"], (0, 0, 0), Server, "server", "2.0.0", "Sets configuration parameters in-flight."),
    (Client, "client", -2, [], (0, 0, 0), Server, "connection", "2.4.0", "A container for client connection commands."),
    (ClientId, "client|id", 2, ["noscript", "loading", "stale"], (0, 0, 0), Server, "connection", "5.0.0", "Returns the unique client ID of the connection."),
    (ClientGetName, "client|getname", 2, ["noscript", "loading", "stale"], (0, 0, 0), Server, "connection", "2.6.9", "Returns the name of the connection."),
    (ClientSetName, "client|setname", 3, ["noscript", "loading", "stale"], (0, 0, 0), Server, "connection", "2.6.9", "Sets the connection name."),
    (ClientInfo, "client|info", 2, ["noscript", "loading", "stale"], (0, 0, 0), Server, "connection", "6.2.0", "Returns information about the connection."),
    (ClientList, "client|list", -2, ["admin", "noscript", "loading", "stale"], (0, 0, 0), Server, "connection", "2.4.0", "Lists open connections."),
    (ClientSetInfo, "client|setinfo", 4, ["noscript", "loading", "stale"], (0, 0, 0), Server, "connection", "7.2.0", "Sets information specific to the client or connection."),
];

/// Why a request names no command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unknown {
    /// No such command.
    Command,
    /// A container command (`CONFIG`) with no such subcommand.
    Subcommand,
}

/// How many subcommands follow each entry of the table (the entries right after it that name
/// it as their parent), counted when the table is built so a lookup does not compare names.
static SUBCOMMAND_COUNTS: [usize; TABLE.len()] = subcommand_counts();

const fn subcommand_counts() -> [usize; TABLE.len()] {
    let mut counts = [0; TABLE.len()];
    let mut at = 0;
    while at < TABLE.len() {
        let mut next = at + 1;
        while next < TABLE.len() && TABLE[next].is_subcommand_of(&TABLE[at]) {
            next += 1;
        }
        counts[at] = next - at - 1;
        at += 1;
    }
    counts
}

/// The subcommands of `COMMANDS[at]` (none for most commands).
fn subcommands_of(at: usize) -> &'static [Command] {
    &COMMANDS[at + 1..][..SUBCOMMAND_COUNTS[at]]
}

/// The command a request names: its first argument, and for a container command with more
/// arguments, its second (as Redis looks commands up, ignoring ASCII case).
#[inline]
pub fn lookup(name: &[u8], sub: Option<&[u8]>) -> Result<&'static Command, Unknown> {
    // A subcommand's full name (`config|get`) is not a command of its own.
    let at = find(name).ok_or(Unknown::Command)?;
    let base = &COMMANDS[at];
    let subs = subcommands_of(at);
    match sub {
        Some(sub) if !subs.is_empty() => subs
            .iter()
            .find(|c| {
                let short = c.short_name().as_bytes();
                short.len() == sub.len() && short.eq_ignore_ascii_case(sub)
            })
            .ok_or(Unknown::Subcommand),
        _ => Ok(base),
    }
}

/// The top-level commands (what `COMMAND COUNT` counts).
pub fn top_level() -> impl Iterator<Item = &'static Command> {
    COMMANDS.iter().filter(|c| !c.is_subcommand())
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    #[test]
    fn lookup_is_case_insensitive_and_finds_subcommands() {
        assert_eq!(lookup(b"gEt", None).unwrap().id, Id::Get);
        let sub = Bytes::from("Get");
        assert_eq!(lookup(b"CONFIG", Some(&sub)).unwrap().id, Id::ConfigGet);
        assert_eq!(lookup(b"CONFIG", None).unwrap().id, Id::Config);
        assert_eq!(lookup(b"GET", Some(&sub)).unwrap().id, Id::Get);
        let nope = Bytes::from("nope");
        assert_eq!(
            lookup(b"client", Some(&nope)).unwrap_err(),
            Unknown::Subcommand
        );
        assert_eq!(lookup(b"config|get", None).unwrap_err(), Unknown::Command);
        assert_eq!(lookup(b"nope", None).unwrap_err(), Unknown::Command);
        assert_eq!(lookup(b"ge", None).unwrap_err(), Unknown::Command);
        assert_eq!(lookup(b"get\0", None).unwrap_err(), Unknown::Command);
        assert_eq!(lookup(b"gets", None).unwrap_err(), Unknown::Command);
        assert_eq!(lookup(&[b'g'; 200], None).unwrap_err(), Unknown::Command);
        // Not letters, so not the same under ASCII case folding.
        assert_eq!(lookup(b"G\xc5T", None).unwrap_err(), Unknown::Command);
        assert_eq!(lookup(b"G\x05T", None).unwrap_err(), Unknown::Command);
        assert_eq!(lookup(b"DB\x13IZE", None).unwrap_err(), Unknown::Command);
        for c in COMMANDS.iter().filter(|c| !c.is_subcommand()) {
            let upper = c.full_name.to_ascii_uppercase();
            assert_eq!(lookup(upper.as_bytes(), None).unwrap().id, c.id);
        }
    }

    #[test]
    fn subcommands_follow_their_parent_and_names_are_lower_case() {
        for (i, c) in COMMANDS.iter().enumerate() {
            assert_eq!(c.full_name, c.full_name.to_ascii_lowercase());
            if let Some((parent, _)) = c.full_name.split_once('|') {
                let before = &COMMANDS[i - 1];
                assert!(
                    before.full_name == parent
                        || before.full_name.starts_with(&format!("{parent}|")),
                    "{} must follow {parent} or a sibling",
                    c.full_name
                );
            }
        }
        for (i, c) in COMMANDS.iter().enumerate() {
            let named = COMMANDS
                .iter()
                .filter(|s| s.full_name.starts_with(&format!("{}|", c.full_name)))
                .count();
            assert_eq!(SUBCOMMAND_COUNTS[i], named, "{}'s subcommands", c.full_name);
        }
        let config = lookup(b"config", None).unwrap();
        let subs: Vec<_> = config.subcommands().map(|c| c.full_name).collect();
        assert_eq!(subs, ["config|get", "config|set"]);
        assert_eq!(lookup(b"get", None).unwrap().subcommands().count(), 0);
        let client = lookup(b"CLIENT", None).unwrap();
        assert_eq!(client.subcommands().count(), 6);
        assert_eq!(
            lookup(b"Client", Some(b"SETNAME")).unwrap().id,
            Id::ClientSetName
        );
    }

    #[test]
    fn arity_follows_redis_sign_convention() {
        let get = lookup(b"get", None).unwrap();
        assert!(get.arity_allows(2) && !get.arity_allows(3));
        let del = lookup(b"del", None).unwrap();
        assert!(!del.arity_allows(1) && del.arity_allows(2) && del.arity_allows(9));
    }
}
