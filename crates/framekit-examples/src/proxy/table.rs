//! What the proxy does with each command ([`Kind`], looked up by [`kind_of`]): answer it
//! itself, forward it by its one key, split it over the backends of its keys, forward it only
//! when all its keys share a backend (redis cluster's `CROSSSLOT` rule), or refuse it, naming
//! why. A command not listed is refused: the proxy does not guess where an unknown command's
//! keys are.

use std::collections::HashMap;
use std::sync::LazyLock;

/// A command the proxy answers itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Local {
    /// `PING [message]`: `+PONG`, or the message.
    Ping,
    /// `ECHO message`.
    Echo,
    /// `QUIT`: `+OK`, then the connection closes.
    Quit,
    /// `COMMAND ...`: an empty table (clients that ask, such as `redis-cli`, go on without it).
    Command,
    /// `SELECT 0` is a no-op; other databases are refused (a backend has its own database 0).
    Select,
    /// `HELLO 3`: `-NOPROTO`, as a server that speaks only RESP2 answers (a client such as
    /// redis-py then goes on in RESP2); other forms are refused.
    Hello,
}

/// How the answers of a split command's parts are joined into the client's one answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Join {
    /// `MGET`: each part answers an array; the elements go back in the client's key order.
    Values,
    /// `DEL`, `UNLINK`, `EXISTS`, `TOUCH`: each part answers an integer; they are added up.
    Sum,
    /// `MSET`: each part answers `+OK`; so does the whole.
    AllOk,
}

/// Where a command that must stay on one backend has its keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keys {
    /// Every argument from this one on (`SINTER k1 k2 ...`, `BITOP AND dest k1 ...` from 2).
    From(usize),
    /// The arguments 1 to this one (`RENAME k1 k2`: 2).
    Upto(usize),
    /// Key-value pairs from argument 1 (`MSETNX`).
    Pairs,
    /// `SORT key ... [STORE dest]`: the key and the destination after `STORE`. (Keys that
    /// its `BY` and `GET` patterns name are read on the key's backend, as redis cluster
    /// reads them on the key's node.)
    Sort,
    /// A key count at `count`, and that many keys after it; with `dest`, argument 1 is a key
    /// too (`ZUNIONSTORE dest 2 k1 k2`, `EVAL script 1 k`).
    Counted {
        /// The argument holding the count.
        count: usize,
        /// Whether argument 1 is a destination key.
        dest: bool,
    },
}

/// What the proxy does with a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Answered by the proxy.
    Local(Local),
    /// One key, argument 1: forwarded whole to its backend.
    Single,
    /// Every argument from 1 is a key: split per backend, the answers joined.
    Split(Join),
    /// Key-value pairs from argument 1, split per backend (`MSET`).
    SplitPairs,
    /// Several keys that must share a backend, else `CROSSSLOT`.
    Together(Keys),
    /// Not proxied; the reason goes into the error.
    Refused(&'static str),
}

/// Commands with their one key at argument 1.
const SINGLE: &[&str] = &[
    // strings and counters
    "GET",
    "SET",
    "SETNX",
    "SETEX",
    "PSETEX",
    "APPEND",
    "STRLEN",
    "GETSET",
    "GETDEL",
    "GETEX",
    "GETRANGE",
    "SETRANGE",
    "SUBSTR",
    "INCR",
    "DECR",
    "INCRBY",
    "DECRBY",
    "INCRBYFLOAT",
    "GETBIT",
    "SETBIT",
    "BITCOUNT",
    "BITPOS",
    "BITFIELD",
    "BITFIELD_RO",
    // keys and expiry
    "EXPIRE",
    "PEXPIRE",
    "EXPIREAT",
    "PEXPIREAT",
    "EXPIRETIME",
    "PEXPIRETIME",
    "PERSIST",
    "TTL",
    "PTTL",
    "TYPE",
    "DUMP",
    "RESTORE",
    "SORT_RO",
    // hashes
    "HSET",
    "HSETNX",
    "HGET",
    "HMSET",
    "HMGET",
    "HDEL",
    "HLEN",
    "HEXISTS",
    "HKEYS",
    "HVALS",
    "HGETALL",
    "HINCRBY",
    "HINCRBYFLOAT",
    "HSTRLEN",
    "HSCAN",
    "HRANDFIELD",
    // lists
    "LPUSH",
    "RPUSH",
    "LPUSHX",
    "RPUSHX",
    "LPOP",
    "RPOP",
    "LLEN",
    "LINDEX",
    "LSET",
    "LRANGE",
    "LTRIM",
    "LREM",
    "LINSERT",
    "LPOS",
    // sets
    "SADD",
    "SREM",
    "SCARD",
    "SISMEMBER",
    "SMISMEMBER",
    "SMEMBERS",
    "SPOP",
    "SRANDMEMBER",
    "SSCAN",
    // sorted sets
    "ZADD",
    "ZREM",
    "ZCARD",
    "ZSCORE",
    "ZMSCORE",
    "ZINCRBY",
    "ZRANK",
    "ZREVRANK",
    "ZCOUNT",
    "ZRANGE",
    "ZREVRANGE",
    "ZRANGEBYSCORE",
    "ZREVRANGEBYSCORE",
    "ZRANGEBYLEX",
    "ZREVRANGEBYLEX",
    "ZLEXCOUNT",
    "ZREMRANGEBYRANK",
    "ZREMRANGEBYSCORE",
    "ZREMRANGEBYLEX",
    "ZSCAN",
    "ZPOPMIN",
    "ZPOPMAX",
    "ZRANDMEMBER",
    // hyperloglog, geo, streams
    "PFADD",
    "GEOADD",
    "GEODIST",
    "GEOHASH",
    "GEOPOS",
    "GEOSEARCH",
    "GEORADIUS_RO",
    "GEORADIUSBYMEMBER_RO",
    "XADD",
    "XLEN",
    "XRANGE",
    "XREVRANGE",
    "XDEL",
    "XTRIM",
];

/// Commands whose keys must share a backend.
const TOGETHER: &[(&str, Keys)] = &[
    ("RENAME", Keys::Upto(2)),
    ("RENAMENX", Keys::Upto(2)),
    ("COPY", Keys::Upto(2)),
    ("SMOVE", Keys::Upto(2)),
    ("RPOPLPUSH", Keys::Upto(2)),
    ("LMOVE", Keys::Upto(2)),
    ("LCS", Keys::Upto(2)),
    ("SINTER", Keys::From(1)),
    ("SUNION", Keys::From(1)),
    ("SDIFF", Keys::From(1)),
    ("SINTERSTORE", Keys::From(1)),
    ("SUNIONSTORE", Keys::From(1)),
    ("SDIFFSTORE", Keys::From(1)),
    ("PFCOUNT", Keys::From(1)),
    ("PFMERGE", Keys::From(1)),
    ("BITOP", Keys::From(2)),
    ("MSETNX", Keys::Pairs),
    ("SORT", Keys::Sort),
    (
        "ZUNIONSTORE",
        Keys::Counted {
            count: 2,
            dest: true,
        },
    ),
    (
        "ZINTERSTORE",
        Keys::Counted {
            count: 2,
            dest: true,
        },
    ),
    (
        "ZDIFFSTORE",
        Keys::Counted {
            count: 2,
            dest: true,
        },
    ),
    (
        "ZUNION",
        Keys::Counted {
            count: 1,
            dest: false,
        },
    ),
    (
        "ZINTER",
        Keys::Counted {
            count: 1,
            dest: false,
        },
    ),
    (
        "ZDIFF",
        Keys::Counted {
            count: 1,
            dest: false,
        },
    ),
    (
        "ZINTERCARD",
        Keys::Counted {
            count: 1,
            dest: false,
        },
    ),
    (
        "SINTERCARD",
        Keys::Counted {
            count: 1,
            dest: false,
        },
    ),
    (
        "EVAL",
        Keys::Counted {
            count: 2,
            dest: false,
        },
    ),
    (
        "EVALSHA",
        Keys::Counted {
            count: 2,
            dest: false,
        },
    ),
    (
        "EVAL_RO",
        Keys::Counted {
            count: 2,
            dest: false,
        },
    ),
    (
        "EVALSHA_RO",
        Keys::Counted {
            count: 2,
            dest: false,
        },
    ),
];

/// Commands refused, and why.
const REFUSED: &[(&str, &str)] = &[
    ("SUBSCRIBE", "pub/sub holds a connection to one server"),
    ("PSUBSCRIBE", "pub/sub holds a connection to one server"),
    ("SSUBSCRIBE", "pub/sub holds a connection to one server"),
    ("UNSUBSCRIBE", "pub/sub holds a connection to one server"),
    ("PUNSUBSCRIBE", "pub/sub holds a connection to one server"),
    ("PUBLISH", "pub/sub holds a connection to one server"),
    ("MULTI", "transactions need one connection to one server"),
    ("EXEC", "transactions need one connection to one server"),
    ("DISCARD", "transactions need one connection to one server"),
    ("WATCH", "transactions need one connection to one server"),
    ("UNWATCH", "transactions need one connection to one server"),
    (
        "BLPOP",
        "a blocking command would hold the backend connection others share",
    ),
    (
        "BRPOP",
        "a blocking command would hold the backend connection others share",
    ),
    (
        "BRPOPLPUSH",
        "a blocking command would hold the backend connection others share",
    ),
    (
        "BLMOVE",
        "a blocking command would hold the backend connection others share",
    ),
    (
        "BLMPOP",
        "a blocking command would hold the backend connection others share",
    ),
    (
        "BZPOPMIN",
        "a blocking command would hold the backend connection others share",
    ),
    (
        "BZPOPMAX",
        "a blocking command would hold the backend connection others share",
    ),
    (
        "BZMPOP",
        "a blocking command would hold the backend connection others share",
    ),
    (
        "XREAD",
        "a blocking command would hold the backend connection others share",
    ),
    (
        "XREADGROUP",
        "a blocking command would hold the backend connection others share",
    ),
    (
        "WAIT",
        "a blocking command would hold the backend connection others share",
    ),
    ("CLIENT", "connection state is the proxy's, not a backend's"),
    ("AUTH", "connection state is the proxy's, not a backend's"),
    ("RESET", "connection state is the proxy's, not a backend's"),
    ("KEYS", "it spans every backend"),
    ("SCAN", "it spans every backend"),
    ("RANDOMKEY", "it spans every backend"),
    ("DBSIZE", "it spans every backend"),
    ("FLUSHALL", "it spans every backend"),
    ("FLUSHDB", "it spans every backend"),
    ("INFO", "it spans every backend"),
    ("CONFIG", "it is a backend's administration"),
    ("DEBUG", "it is a backend's administration"),
    ("SAVE", "it is a backend's administration"),
    ("BGSAVE", "it is a backend's administration"),
    ("BGREWRITEAOF", "it is a backend's administration"),
    ("SHUTDOWN", "it is a backend's administration"),
    ("SLAVEOF", "it is a backend's administration"),
    ("REPLICAOF", "it is a backend's administration"),
    ("MONITOR", "it is a backend's administration"),
    ("SLOWLOG", "it is a backend's administration"),
    ("SCRIPT", "it is a backend's administration"),
    ("FUNCTION", "it is a backend's administration"),
    ("MOVE", "a backend has one database"),
    ("SWAPDB", "a backend has one database"),
    ("MIGRATE", "it names a server of its own"),
    ("OBJECT", "its key is not its first argument"),
    ("GEORADIUS", "its STORE key may live on another backend"),
    (
        "GEORADIUSBYMEMBER",
        "its STORE key may live on another backend",
    ),
    (
        "GEOSEARCHSTORE",
        "its destination may live on another backend",
    ),
    ("XGROUP", "its key is not its first argument"),
    ("XINFO", "its key is not its first argument"),
];

/// Longest command name looked up; a longer name is unknown.
const LONGEST_NAME: usize = 24;

static TABLE: LazyLock<HashMap<&'static [u8], Kind>> = LazyLock::new(|| {
    let mut table = HashMap::new();
    for name in SINGLE {
        table.insert(name.as_bytes(), Kind::Single);
    }
    for (name, keys) in TOGETHER {
        table.insert(name.as_bytes(), Kind::Together(*keys));
    }
    for (name, why) in REFUSED {
        table.insert(name.as_bytes(), Kind::Refused(why));
    }
    let special = [
        ("MGET", Kind::Split(Join::Values)),
        ("DEL", Kind::Split(Join::Sum)),
        ("UNLINK", Kind::Split(Join::Sum)),
        ("EXISTS", Kind::Split(Join::Sum)),
        ("TOUCH", Kind::Split(Join::Sum)),
        ("MSET", Kind::SplitPairs),
        ("PING", Kind::Local(Local::Ping)),
        ("ECHO", Kind::Local(Local::Echo)),
        ("QUIT", Kind::Local(Local::Quit)),
        ("COMMAND", Kind::Local(Local::Command)),
        ("SELECT", Kind::Local(Local::Select)),
        ("HELLO", Kind::Local(Local::Hello)),
    ];
    for (name, kind) in special {
        table.insert(name.as_bytes(), kind);
    }
    table
});

/// What to do with the command named `name` (any case); `None` for a command the proxy does
/// not know.
///
/// ```
/// use framekit_examples::proxy::table::{kind_of, Join, Kind};
/// assert_eq!(kind_of(b"get"), Some(Kind::Single));
/// assert_eq!(kind_of(b"MGet"), Some(Kind::Split(Join::Values)));
/// assert!(matches!(kind_of(b"multi"), Some(Kind::Refused(_))));
/// assert_eq!(kind_of(b"frobnicate"), None);
/// ```
pub fn kind_of(name: &[u8]) -> Option<Kind> {
    if name.len() > LONGEST_NAME {
        return None;
    }
    let mut upper = [0u8; LONGEST_NAME];
    let upper = &mut upper[..name.len()];
    upper.copy_from_slice(name);
    upper.make_ascii_uppercase();
    TABLE.get(&*upper).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_is_listed_once() {
        let mut names: Vec<&str> = SINGLE.to_vec();
        names.extend(TOGETHER.iter().map(|(n, _)| *n));
        names.extend(REFUSED.iter().map(|(n, _)| *n));
        let count = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), count, "a command listed twice");
        assert_eq!(TABLE.len(), count + 12);
        assert!(names.iter().all(|n| n.len() <= LONGEST_NAME));
    }

    #[test]
    fn names_are_found_in_any_case_and_long_names_are_unknown() {
        assert_eq!(kind_of(b"hGeTaLl"), Some(Kind::Single));
        assert_eq!(kind_of(b"rename"), Some(Kind::Together(Keys::Upto(2))));
        assert_eq!(kind_of(&[b'A'; LONGEST_NAME + 1]), None);
        assert_eq!(kind_of(b""), None);
    }
}
