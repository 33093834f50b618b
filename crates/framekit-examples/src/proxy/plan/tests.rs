use bytes::Bytes;
use proptest::prelude::*;

use super::*;
use crate::proxy::KeyHash;

fn args(words: &[&str]) -> Vec<Bytes> {
    words.iter().map(|w| Bytes::from(w.to_string())).collect()
}

fn ring() -> Ring {
    Ring::new(
        &["127.0.0.1:7001", "127.0.0.1:7002", "127.0.0.1:7003"],
        KeyHash::Md5,
        Some(*b"{}"),
    )
}

/// Keys named `prefix0`, `prefix1`, ... until there is one on each backend.
fn keys_on_every_backend(ring: &Ring) -> Vec<String> {
    let mut seen = vec![false; ring.backends()];
    let mut keys = Vec::new();
    for i in 0.. {
        let key = format!("key{i}");
        seen[ring.backend_of(key.as_bytes())] = true;
        keys.push(key);
        if seen.iter().all(|s| *s) {
            return keys;
        }
    }
    unreachable!()
}

/// An MGET of keys on every backend, and its split.
fn mget_on_every_backend() -> (Vec<String>, Split) {
    let ring = ring();
    let keys = keys_on_every_backend(&ring);
    let mut words = vec!["MGET"];
    words.extend(keys.iter().map(String::as_str));
    let Plan::Split(split) = plan(args(&words), &ring) else {
        panic!("keys on 3 backends")
    };
    (keys, split)
}

fn answer(plan: Plan) -> Bytes {
    match plan {
        Plan::Answer(bytes) => bytes,
        other => panic!("not answered locally: {other:?}"),
    }
}

#[test]
fn local_commands_are_answered_as_redis_answers_them() {
    let ring = ring();
    assert_eq!(answer(plan(args(&["ping"]), &ring)), "+PONG\r\n");
    assert_eq!(answer(plan(args(&["PING", "hi"]), &ring)), "$2\r\nhi\r\n");
    assert_eq!(answer(plan(args(&["ECHO", "a b"]), &ring)), "$3\r\na b\r\n");
    assert_eq!(
        answer(plan(args(&["ECHO"]), &ring)),
        "-ERR wrong number of arguments for 'echo' command\r\n"
    );
    assert_eq!(
        plan(args(&["QUIT"]), &ring),
        Plan::Close(Bytes::from("+OK\r\n"))
    );
    assert_eq!(answer(plan(args(&["COMMAND", "DOCS"]), &ring)), "*0\r\n");
    assert_eq!(answer(plan(args(&["SELECT", "0"]), &ring)), "+OK\r\n");
    assert!(
        answer(plan(args(&["SELECT", "1"]), &ring)).starts_with(b"-ERR 'SELECT' is not supported")
    );
    assert_eq!(
        answer(plan(args(&["HELLO", "3"]), &ring)),
        "-NOPROTO sorry, this protocol version is not supported\r\n"
    );
    assert!(answer(plan(args(&["HELLO"]), &ring)).starts_with(b"-ERR 'HELLO' is not supported"));
    assert_eq!(answer(plan(vec![], &ring)), "");
}

#[test]
fn refused_and_unknown_commands_name_the_command() {
    let ring = ring();
    for name in [
        "subscribe",
        "MULTI",
        "blpop",
        "Keys",
        "flushall",
        "config",
        "client",
        "scan",
    ] {
        let reply = answer(plan(args(&[name, "x"]), &ring));
        let expected = format!(
            "-ERR '{}' is not supported by resp_proxy: ",
            name.to_uppercase()
        );
        assert!(reply.starts_with(expected.as_bytes()), "{reply:?}");
        assert!(reply.ends_with(b"\r\n"));
    }
    let reply = answer(plan(args(&["frobnicate\r\n", "x"]), &ring));
    assert!(
        reply.starts_with(b"-ERR unknown command 'frobnicate  '"),
        "{reply:?}"
    );
}

#[test]
fn a_single_key_command_goes_whole_to_its_keys_backend() {
    let ring = ring();
    let request = args(&["SET", "user:{7}:name", "ann"]);
    assert_eq!(
        plan(request.clone(), &ring),
        Plan::Forward {
            backend: ring.backend_of(b"7"),
            request: Command::from_args(request)
        }
    );
    assert_eq!(
        answer(plan(args(&["GET"]), &ring)),
        "-ERR wrong number of arguments for 'get' command\r\n"
    );
}

#[test]
fn multi_key_commands_on_one_backend_are_forwarded_whole() {
    let ring = ring();
    let request = args(&["MGET", "{a}1", "{a}2", "{a}3"]);
    assert!(matches!(plan(request, &ring), Plan::Forward { .. }));
    let request = args(&["RENAME", "{a}1", "{a}2"]);
    assert!(matches!(plan(request, &ring), Plan::Forward { .. }));
}

#[test]
fn keys_on_different_backends_are_crossslot_where_redis_cluster_refuses() {
    let ring = ring();
    let keys = keys_on_every_backend(&ring);
    let (first, last) = (keys[0].as_str(), keys[keys.len() - 1].as_str());
    let crossslot = format!("-{CROSSSLOT}\r\n");
    for words in [
        vec!["RENAME", first, last],
        vec!["SMOVE", first, last, "m"],
        vec!["SINTER", first, last],
        vec!["MSETNX", first, "1", last, "2"],
        vec!["ZUNIONSTORE", first, "1", last],
        vec!["EVAL", "return 1", "2", first, last],
        vec!["SORT", first, "ALPHA", "store", last],
    ] {
        assert_eq!(
            answer(plan(args(&words), &ring)),
            crossslot.as_str(),
            "{words:?}"
        );
    }
    // The count's keys only: a member or a weight that names another backend's key is fine.
    assert!(matches!(
        plan(
            args(&["ZUNIONSTORE", first, "1", first, "WEIGHTS", last]),
            &ring
        ),
        Plan::Forward { .. }
    ));
    assert!(answer(plan(args(&["EVAL", "return 1", "0"]), &ring)).starts_with(b"-ERR 'EVAL'"));
    assert!(matches!(
        plan(args(&["SORT", first, "BY", last, "DESC"]), &ring),
        Plan::Forward { .. }
    ));
}

#[test]
fn mget_splits_per_backend_and_joins_in_the_clients_order() {
    let (keys, split) = mget_on_every_backend();
    assert_eq!(split.parts().len(), 3);
    // Each part answers its keys' values: the key's own name, so order is checked.
    let answers = split
        .parts()
        .iter()
        .map(|part| {
            let mut wire = format!("*{}\r\n", part.request.args().len() - 1);
            for key in &part.request.args()[1..] {
                let key = std::str::from_utf8(key).unwrap();
                wire.push_str(&format!("${}\r\n{key}\r\n", key.len()));
            }
            Ok(Bytes::from(wire))
        })
        .collect();
    let mut expected = format!("*{}\r\n", keys.len());
    for key in &keys {
        expected.push_str(&format!("${}\r\n{key}\r\n", key.len()));
    }
    assert_eq!(split.join(answers), expected.as_str());
}

#[test]
fn mset_splits_pairs_and_an_error_answers_the_whole_command() {
    let ring = ring();
    let keys = keys_on_every_backend(&ring);
    let mut words = vec!["MSET"];
    for key in &keys {
        words.extend([key.as_str(), "v"]);
    }
    let Plan::Split(split) = plan(args(&words), &ring) else {
        panic!("keys on 3 backends")
    };
    let total: usize = split
        .parts()
        .iter()
        .map(|p| p.request.args().len() - 1)
        .sum();
    assert_eq!(total, keys.len() * 2, "every key with its value");
    let ok = || Ok(Bytes::from("+OK\r\n"));
    assert_eq!(split.join(vec![ok(), ok(), ok()]), "+OK\r\n");
    let failed = Err(Bytes::from("-ERR resp_proxy: backend down\r\n"));
    assert_eq!(
        split.join(vec![ok(), failed, ok()]),
        "-ERR resp_proxy: backend down\r\n"
    );
    assert!(split
        .join(vec![ok(), Ok(Bytes::from(":1\r\n")), ok()])
        .starts_with(b"-ERR resp_proxy: a backend answered"));
    assert_eq!(
        answer(plan(args(&["MSET", "a", "1", "b"]), &ring)),
        "-ERR wrong number of arguments for 'mset' command\r\n"
    );
}

#[test]
fn a_malformed_mget_answer_is_an_error_not_a_shifted_value() {
    let (_, split) = mget_on_every_backend();
    // One element short from every part.
    let answers = split
        .parts()
        .iter()
        .map(|part| {
            let short = part.request.args().len() - 2;
            Ok(Bytes::from(format!(
                "*{short}\r\n{}",
                "$-1\r\n".repeat(short)
            )))
        })
        .collect();
    assert!(split.join(answers).starts_with(b"-ERR"));
}

proptest! {
    /// Whatever the keys, the parts hold each key once, on its own backend, and a join of
    /// per-key answers gives the keys' answers in the client's order.
    #[test]
    fn split_parts_cover_every_key_once(keys in prop::collection::vec("[a-z{}]{1,6}", 1..24)) {
        let ring = ring();
        let mut words = vec!["DEL"];
        words.extend(keys.iter().map(String::as_str));
        match plan(args(&words), &ring) {
            Plan::Forward { backend, .. } => {
                prop_assert!(keys.iter().all(|k| ring.backend_of(k.as_bytes()) == backend));
            }
            Plan::Split(split) => {
                let mut seen = 0;
                for part in split.parts() {
                    for key in &part.request.args()[1..] {
                        prop_assert_eq!(ring.backend_of(key), part.backend);
                        seen += 1;
                    }
                }
                prop_assert_eq!(seen, keys.len());
                let answers = split
                    .parts()
                    .iter()
                    .map(|p| Ok(Bytes::from(format!(":{}\r\n", p.request.args().len() - 1))))
                    .collect();
                prop_assert_eq!(split.join(answers), Bytes::from(format!(":{}\r\n", keys.len())));
            }
            other => prop_assert!(false, "{:?}", other),
        }
    }
}
