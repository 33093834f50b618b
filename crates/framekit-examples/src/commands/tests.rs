//! Unit tests of the commands, one Redis behaviour per test.

use std::time::Duration;

use bytes::Bytes;

use super::*;

struct Client {
    state: State,
    session: Session,
    now: Now,
}

impl Client {
    fn new() -> Self {
        let now = Now::system().pinned();
        Client {
            state: State::new(),
            session: Session::new(1, now.instant),
            now,
        }
    }

    fn run(&mut self, line: &str) -> Value {
        let args: Vec<Bytes> = line
            .split(' ')
            .map(|w| Bytes::copy_from_slice(w.as_bytes()))
            .collect();
        self.run_args(&args)
    }

    fn run_args(&mut self, args: &[Bytes]) -> Value {
        match super::run::with_slices(args, |args| {
            execute(&mut self.state, &mut self.session, args, self.now)
        }) {
            Outcome::Reply(v) | Outcome::ReplyAndClose(v) => v,
            Outcome::Bulk(b) => Value::Bulk(Bytes::copy_from_slice(b)),
            Outcome::Nothing => panic!("no reply to {args:?}"),
        }
    }

    fn later(&mut self, ms: u64) {
        self.now = Now::fixed(
            self.now.instant + Duration::from_millis(ms),
            self.now.unix_ms() + ms as i64,
        );
    }
}

fn int(n: i64) -> Value {
    Value::Integer(n)
}

fn err(text: &str) -> Value {
    Value::error(text)
}

const SYNTAX: &str = "ERR syntax error";
const NOT_INT: &str = "ERR value is not an integer or out of range";

#[test]
fn ping_echo_and_quit() {
    let mut c = Client::new();
    assert_eq!(c.run("PING"), Value::Simple("PONG"));
    assert_eq!(c.run("ping hi"), Value::bulk("hi"));
    assert_eq!(c.run("PING a b"), wrong_arity("ping"));
    assert_eq!(c.run("ECHO x"), Value::bulk("x"));
    let quit = execute(&mut c.state, &mut c.session, &[b"quit"], c.now);
    assert_eq!(quit, Outcome::ReplyAndClose(Value::OK));
    assert_eq!(
        execute(&mut c.state, &mut c.session, &[], c.now),
        Outcome::Nothing
    );
}

#[test]
fn unknown_commands_are_named_and_cut_like_redis() {
    let mut c = Client::new();
    assert_eq!(
        c.run("FOO a b"),
        err("ERR unknown command 'FOO', with args beginning with: 'a' 'b' ")
    );
    let long = "x".repeat(200);
    let expected = format!(
        "ERR unknown command '{}', with args beginning with: '{}' ",
        "x".repeat(128),
        "x".repeat(128)
    );
    assert_eq!(c.run(&format!("{long} {long} b")), err(&expected));
    // Every argument is listed while the list is under 128 bytes.
    let many = (0..12)
        .map(|i| format!("a{i}"))
        .collect::<Vec<_>>()
        .join(" ");
    let Value::Error(text) = c.run(&format!("NOPE {many}")) else {
        panic!("an error")
    };
    assert!(text.ends_with(b"'a10' 'a11' "), "{text:?}");
    // Bytes as sent, up to a NUL.
    let args = [Bytes::from_static(b"N\xffO"), Bytes::from_static(b"a\0b")];
    assert_eq!(
        c.run_args(&args),
        Value::error_bytes(&b"ERR unknown command 'N\xffO', with args beginning with: 'a' "[..])
    );
}

#[test]
fn arity_and_subcommand_errors_use_full_names() {
    let mut c = Client::new();
    assert_eq!(c.run("GET"), wrong_arity("get"));
    assert_eq!(c.run("config get"), wrong_arity("config|get"));
    assert_eq!(c.run("config"), wrong_arity("config"));
    assert_eq!(
        c.run("config nope x"),
        err("ERR unknown subcommand 'nope'. Try CONFIG HELP.")
    );
    assert_eq!(c.run("MSET a"), wrong_arity("mset"));
    assert_eq!(c.run("MSET a 1 b"), wrong_arity("mset"));
}

#[test]
fn set_options_work_like_redis() {
    let mut c = Client::new();
    assert_eq!(c.run("SET k v NX"), Value::OK);
    assert_eq!(c.run("SET k w NX"), Value::Null);
    assert_eq!(c.run("SET missing w XX"), Value::Null);
    assert_eq!(c.run("SET k w XX GET"), Value::bulk("v"));
    assert_eq!(c.run("SET k v EX 10"), Value::OK);
    assert_eq!(c.run("TTL k"), int(10));
    assert_eq!(c.run("SET k v PX 1500"), Value::OK);
    assert_eq!(c.run("PTTL k"), int(1500));
    assert_eq!(c.run("TTL k"), int(2));
    assert_eq!(c.run("SET k v KEEPTTL"), Value::OK);
    assert_eq!(c.run("PTTL k"), int(1500));
    c.later(1500);
    assert_eq!(c.run("GET k"), Value::Null);
}

#[test]
fn set_repeated_options_last_wins_and_conflicts_are_syntax_errors() {
    let mut c = Client::new();
    assert_eq!(c.run("SET k v EX 10 EX 20"), Value::OK);
    assert_eq!(c.run("TTL k"), int(20));
    assert_eq!(c.run("SET k v NX NX"), Value::Null);
    assert_eq!(c.run("SET k v GET GET"), Value::bulk("v"));
    for bad in [
        "SET k v NX XX",
        "SET k v XX NX",
        "SET k v EX 1 PX 1",
        "SET k v EX 1 KEEPTTL",
        "SET k v KEEPTTL EX 1",
        "SET k v EX",
        "SET k v FOO",
        // Options are all parsed before the expire value is read.
        "SET k v EX x NX XX",
    ] {
        assert_eq!(c.run(bad), err(SYNTAX), "{bad}");
    }
    assert_eq!(c.run("SET k v EX x"), err(NOT_INT));
    assert_eq!(c.run("SET k v EX 01"), err(NOT_INT));
}

#[test]
fn set_expiry_overflow_is_an_invalid_expire_time() {
    let mut c = Client::new();
    let invalid = err("ERR invalid expire time in 'set' command");
    c.run("SET k keep");
    for bad in [
        "SET k v EX 0",
        "SET k v PX -1",
        "SET k v PX 9223372036854775807",
        "SET k v EX 9223372036854775",
        "SET k v EX 9223372036854776",
        "SET k v EXAT 9223372036854776",
    ] {
        assert_eq!(c.run(bad), invalid, "{bad}");
    }
    assert_eq!(c.run("GET k"), Value::bulk("keep"));
    assert_eq!(
        c.run("SET k v PXAT 1"),
        Value::OK,
        "a past time sets, then expires"
    );
    assert_eq!(c.run("GET k"), Value::Null);
}

#[test]
fn counters_follow_redis_integers() {
    let mut c = Client::new();
    assert_eq!(c.run("INCR n"), int(1));
    assert_eq!(c.run("INCRBY n 10"), int(11));
    assert_eq!(c.run("DECR n"), int(10));
    assert_eq!(c.run("DECRBY n 20"), int(-10));
    assert_eq!(c.run("GET n"), Value::bulk("-10"));
    c.run("SET s abc");
    assert_eq!(c.run("INCR s"), err(NOT_INT));
    for bad in [
        "INCRBY n x",
        "INCRBY n 01",
        "INCRBY n -0",
        "INCRBY n 00",
        "DECRBY n +1",
    ] {
        assert_eq!(c.run(bad), err(NOT_INT), "{bad}");
    }
    c.run(&format!("SET m {}", i64::MAX));
    assert_eq!(
        c.run("INCR m"),
        err("ERR increment or decrement would overflow")
    );
    assert_eq!(
        c.run("DECRBY n -9223372036854775808"),
        err("ERR decrement would overflow")
    );
    c.run("SET z 007");
    assert_eq!(c.run("INCR z"), err(NOT_INT));
}

#[test]
fn multi_key_commands() {
    let mut c = Client::new();
    assert_eq!(c.run("MSET a 1 b 2"), Value::OK);
    assert_eq!(
        c.run("MGET a x b"),
        Value::Array(vec![Value::bulk("1"), Value::Null, Value::bulk("2")])
    );
    assert_eq!(c.run("EXISTS a b x a"), int(3));
    assert_eq!(c.run("DBSIZE"), int(2));
    assert_eq!(c.run("DEL a x a"), int(1));
    assert_eq!(c.run("KEYS *"), Value::Array(vec![Value::bulk("b")]));
    assert_eq!(c.run("FLUSHALL"), Value::OK);
    assert_eq!(c.run("DBSIZE"), int(0));
}

#[test]
fn flush_takes_sync_or_async_only() {
    let mut c = Client::new();
    assert_eq!(c.run("FLUSHALL ASYNC"), Value::OK);
    assert_eq!(c.run("flushdb sync"), Value::OK);
    assert_eq!(c.run("FLUSHALL BAD"), err(SYNTAX));
    assert_eq!(c.run("FLUSHDB SYNC SYNC"), err(SYNTAX));
}

#[test]
fn sixteen_databases() {
    let mut c = Client::new();
    c.run("SET k zero");
    assert_eq!(c.run("SELECT 15"), Value::OK);
    assert_eq!(c.run("GET k"), Value::Null);
    c.run("SET k fifteen");
    assert_eq!(c.run("DBSIZE"), int(1));
    assert_eq!(c.run("FLUSHDB"), Value::OK);
    assert_eq!(c.run("SELECT 0"), Value::OK);
    assert_eq!(c.run("GET k"), Value::bulk("zero"));
    let out_of_range = err("ERR DB index is out of range");
    assert_eq!(c.run("SELECT 16"), out_of_range);
    assert_eq!(c.run("SELECT -1"), out_of_range);
    assert_eq!(c.run("SELECT 01"), err(NOT_INT));
    assert_eq!(c.run("SELECT 4294967296"), err(NOT_INT));
    c.run("SELECT 2");
    c.run("SET other v");
    assert_eq!(c.run("FLUSHALL"), Value::OK);
    assert_eq!(c.run("DBSIZE"), int(0));
    c.run("SELECT 0");
    assert_eq!(c.run("DBSIZE"), int(0));
}

#[test]
fn expiry_commands() {
    let mut c = Client::new();
    assert_eq!(c.run("EXPIRE k 10"), int(0));
    c.run("SET k v");
    assert_eq!(c.run("TTL k"), int(-1));
    assert_eq!(c.run("EXPIRE k 10"), int(1));
    assert_eq!(c.run("TTL k"), int(10));
    assert_eq!(c.run("PERSIST k"), int(1));
    assert_eq!(c.run("TTL k"), int(-1));
    assert_eq!(c.run("PEXPIRE k 100"), int(1));
    assert_eq!(c.run("TTL missing"), int(-2));
    assert_eq!(c.run("EXPIRE k -1"), int(1));
    assert_eq!(c.run("EXISTS k"), int(0));
}

#[test]
fn expire_overflow_keeps_the_key() {
    let mut c = Client::new();
    c.run("SET k v");
    let invalid = err("ERR invalid expire time in 'expire' command");
    assert_eq!(c.run("EXPIRE k 9223372036854775"), invalid);
    assert_eq!(c.run("EXPIRE k -9223372036854776"), invalid);
    assert_eq!(
        c.run("PEXPIRE k 9223372036854775807"),
        err("ERR invalid expire time in 'pexpire' command")
    );
    assert_eq!(c.run("EXPIRE k 01"), err(NOT_INT));
    assert_eq!(c.run("TTL k"), int(-1));
    assert_eq!(
        c.run("EXPIRE k -9223372036854775"),
        int(1),
        "in range: deletes"
    );
    assert_eq!(c.run("EXISTS k"), int(0));
}

#[test]
fn expire_conditions() {
    let mut c = Client::new();
    c.run("SET k v");
    assert_eq!(c.run("EXPIRE k 100 XX"), int(0));
    assert_eq!(
        c.run("EXPIRE k 100 GT"),
        int(0),
        "no TTL counts as infinite"
    );
    assert_eq!(c.run("EXPIRE k 100 LT"), int(1));
    assert_eq!(c.run("EXPIRE k 50 NX"), int(0));
    assert_eq!(c.run("EXPIRE k 200 LT"), int(0));
    assert_eq!(c.run("EXPIRE k 200 gt"), int(1));
    assert_eq!(c.run("TTL k"), int(200));
    assert_eq!(c.run("PEXPIRE k 300000 XX GT"), int(1));
    assert_eq!(
        c.run("EXPIRE k 1 NX XX"),
        err("ERR NX and XX, GT or LT options at the same time are not compatible")
    );
    assert_eq!(
        c.run("EXPIRE k 1 GT LT"),
        err("ERR GT and LT options at the same time are not compatible")
    );
    assert_eq!(c.run("EXPIRE k 1 FOO"), err("ERR Unsupported option FOO"));
    assert_eq!(c.run("EXPIRE k x FOO"), err("ERR Unsupported option FOO"));
}

#[test]
fn config_get_and_set() {
    let mut c = Client::new();
    let pairs =
        |items: &[&str]| Value::Array(items.iter().map(|s| Value::bulk(s.to_string())).collect());
    assert_eq!(c.run("CONFIG GET save"), pairs(&["save", ""]));
    assert_eq!(c.run("config get APPENDONLY"), pairs(&["APPENDONLY", "no"]));
    assert_eq!(c.run("CONFIG GET databases"), pairs(&["databases", "16"]));
    assert_eq!(c.run("CONFIG GET DATA*"), pairs(&["databases", "16"]));
    assert_eq!(
        c.run("CONFIG GET maxmemory* save"),
        pairs(&[
            "maxmemory",
            "0",
            "maxmemory-policy",
            "noeviction",
            "save",
            ""
        ])
    );
    assert_eq!(c.run("CONFIG GET nothing"), Value::Array(vec![]));
    assert_eq!(c.run("CONFIG SET maxmemory 1mb appendonly YES"), Value::OK);
    assert_eq!(
        c.run("CONFIG GET maxmemory"),
        pairs(&["maxmemory", "1048576"])
    );
    assert_eq!(
        c.run("CONFIG GET appendonly"),
        pairs(&["appendonly", "yes"])
    );
    assert_eq!(
        c.run("CONFIG SET nope 1"),
        err("ERR Unknown option or number of arguments for CONFIG SET - 'nope'")
    );
    assert_eq!(
        c.run("CONFIG SET databases 4"),
        err("ERR CONFIG SET failed (possibly related to argument 'databases') - can't set immutable config")
    );
    assert_eq!(
        c.run("CONFIG SET appendonly maybe"),
        err("ERR CONFIG SET failed (possibly related to argument 'appendonly') - argument must be 'yes' or 'no'")
    );
    assert_eq!(c.run("CONFIG SET a b c"), err(SYNTAX));
    assert_eq!(c.run("CONFIG SET a"), wrong_arity("config|set"));
}

#[test]
fn hello_speaks_resp2_only() {
    let mut c = Client::new();
    let Value::Array(map) = c.run("HELLO 2 SETNAME app") else {
        panic!("a map")
    };
    assert_eq!(map.len(), 14);
    assert_eq!(map[4..6], [Value::bulk("proto"), int(2)]);
    assert_eq!(map[6..8], [Value::bulk("id"), int(1)]);
    assert_eq!(c.run("CLIENT GETNAME"), Value::bulk("app"));
    assert_eq!(
        c.run("HELLO 3"),
        err("NOPROTO unsupported protocol version")
    );
    assert_eq!(
        c.run("HELLO x"),
        err("ERR Protocol version is not an integer or out of range")
    );
    assert_eq!(
        c.run("HELLO 2 FOO"),
        err("ERR Syntax error in HELLO option 'FOO'")
    );
    assert!(matches!(c.run("HELLO 2 AUTH default any"), Value::Array(_)));
    assert_eq!(
        c.run("HELLO 2 AUTH bob pw"),
        err("WRONGPASS invalid username-password pair or user is disabled.")
    );
}

#[test]
fn client_names_ids_and_info() {
    let mut c = Client::new();
    c.session.id = 42;
    assert_eq!(c.run("CLIENT ID"), int(42));
    assert_eq!(c.run("CLIENT GETNAME"), Value::Null);
    assert_eq!(c.run("CLIENT SETNAME worker-1"), Value::OK);
    assert_eq!(c.run("CLIENT GETNAME"), Value::bulk("worker-1"));
    assert_eq!(
        c.run_args(&[
            Bytes::from("CLIENT"),
            Bytes::from("SETNAME"),
            Bytes::from("a b")
        ]),
        err("ERR Client names cannot contain spaces, newlines or special characters.")
    );
    assert_eq!(c.run("CLIENT SETINFO LIB-NAME redis-py"), Value::OK);
    assert_eq!(
        c.run("CLIENT SETINFO nope x"),
        err("ERR Unrecognized option 'nope'")
    );
    c.run("SELECT 4");
    let Value::Bulk(info) = c.run("CLIENT INFO") else {
        panic!("a bulk")
    };
    let info = String::from_utf8(info.to_vec()).unwrap();
    assert!(info.starts_with("id=42 addr="), "{info}");
    assert!(info.contains(" name=worker-1 "), "{info}");
    assert!(info.contains(" db=4 "), "{info}");
    assert!(info.contains(" cmd=client|info "), "{info}");
    assert!(info.contains(" lib-name=redis-py "), "{info}");
    let Value::Bulk(list) = c.run("CLIENT LIST") else {
        panic!("a bulk")
    };
    assert!(list.starts_with(b"id=42 "));
    assert_eq!(c.run("CLIENT LIST TYPE pubsub"), Value::bulk(""));
    assert_eq!(c.run("CLIENT LIST ID 7"), Value::bulk(""));
    assert_eq!(c.run("CLIENT LIST ID x"), err("ERR Invalid client ID"));
}

#[test]
fn command_introspection() {
    let mut c = Client::new();
    let count = table::top_level().count() as i64;
    assert_eq!(c.run("COMMAND COUNT"), int(count));
    let Value::Array(all) = c.run("COMMAND") else {
        panic!("an array")
    };
    assert_eq!(all.len() as i64, count);
    let Value::Array(docs) = c.run("COMMAND DOCS get nosuch") else {
        panic!("an array")
    };
    assert_eq!(docs.len(), 2);
    assert_eq!(docs[0], Value::bulk("get"));
    assert_eq!(c.run("COMMAND DOCS nosuch"), Value::Array(vec![]));
}

#[test]
fn keys_glob_like_redis() {
    let mut c = Client::new();
    for k in ["user:1", "user:2", "order:1", "xa]", "-"] {
        c.run(&format!("SET {k} v"));
    }
    let keys = |c: &mut Client, pattern: &str| {
        let Value::Array(found) = c.run(&format!("KEYS {pattern}")) else {
            panic!("an array")
        };
        let mut found: Vec<_> = found
            .into_iter()
            .map(|v| match v {
                Value::Bulk(b) => String::from_utf8(b.to_vec()).unwrap(),
                other => panic!("{other:?}"),
            })
            .collect();
        found.sort();
        found
    };
    assert_eq!(keys(&mut c, "user:*"), ["user:1", "user:2"]);
    assert_eq!(keys(&mut c, "*:1"), ["order:1", "user:1"]);
    assert_eq!(keys(&mut c, "[^]a]"), ["xa]"]);
    assert_eq!(keys(&mut c, "?[^]a]"), Vec::<String>::new());
    assert_eq!(keys(&mut c, "[a-"), ["-"]);
    assert_eq!(keys(&mut c, "**").len(), 5);
}
