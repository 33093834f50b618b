//! memcached_server's handler (compiled in from its example file, with its hooks) held to the
//! server's connection laws through the real driver (`framekit_server::laws`): the fuzzer's
//! bytes choose the plan (how the peer's writes and the server's reads and writes are cut) and
//! a pipelined stream of memcached commands, valid, malformed and closing. Every chunking must
//! give the reference run's bytes, every answer due must arrive with the peer's side left open,
//! and the connection must end with the reference's reason.
#![no_main]

#[allow(dead_code, unexpected_cfgs)]
#[path = "../../crates/framekit-examples/examples/memcached_server.rs"]
mod memcached_server;

use arbitrary::Unstructured;
use framekit_examples::memcached::{codec, MemcacheFraming};
use framekit_server::laws::{Plan, ServerLaws};
use framekit_server::ServerConfig;
use libfuzzer_sys::fuzz_target;

/// Commands per run, at most: each run starts three servers, so short streams keep the
/// executions per second up; pipelining needs only a few.
const MAX_COMMANDS: usize = 12;

/// Cuts of 1 to 64 bytes, "no limit", or (where `block`) a call that would block.
fn cuts(u: &mut Unstructured<'_>, block: bool) -> Vec<usize> {
    let n = u.int_in_range(1..=5usize).unwrap_or(1);
    (0..n)
        .map(|_| match u.int_in_range(0..=9u8).unwrap_or(0) {
            0 | 1 => usize::MAX,
            2 if block => 0,
            _ => u.int_in_range(1..=64usize).unwrap_or(1),
        })
        .collect()
}

fn plan(u: &mut Unstructured<'_>) -> Plan {
    let sends = cuts(u, false);
    let pauses = (0..u.int_in_range(1..=3usize).unwrap_or(1))
        .map(|_| u.arbitrary::<bool>().unwrap_or(false))
        .collect();
    let reads = cuts(u, true);
    let writes = cuts(u, true);
    Plan {
        sends,
        pauses,
        reads,
        writes,
    }
}

/// A key of a small set, so that commands meet the same items.
fn key(u: &mut Unstructured<'_>) -> &'static str {
    ["a", "b", "c", "key"][usize::from(u.int_in_range(0..=3u8).unwrap_or(0))]
}

/// A value of up to 12 bytes of `[a-z0-9]` (the fuzzer's bytes, folded).
fn value(u: &mut Unstructured<'_>) -> String {
    let len = u.int_in_range(0..=12usize).unwrap_or(0);
    (0..len)
        .map(|_| {
            let b = u.arbitrary::<u8>().unwrap_or(0) % 36;
            char::from(if b < 26 { b'a' + b } else { b'0' + b - 26 })
        })
        .collect()
}

fn command(u: &mut Unstructured<'_>) -> Vec<u8> {
    let k = key(u);
    match u.int_in_range(0..=12u8).unwrap_or(0) {
        0..=2 => {
            let verb = ["set", "add", "replace", "append", "prepend"]
                [usize::from(u.int_in_range(0..=4u8).unwrap_or(0))];
            let v = value(u);
            let flags = u.int_in_range(0..=3u8).unwrap_or(0);
            format!("{verb} {k} {flags} 0 {}\r\n{v}\r\n", v.len()).into_bytes()
        }
        3..=5 => {
            let verb = if u.arbitrary::<bool>().unwrap_or(false) {
                "gets"
            } else {
                "get"
            };
            format!("{verb} {k} {}\r\n", key(u)).into_bytes()
        }
        6 => format!("delete {k}\r\n").into_bytes(),
        7 => {
            let verb = if u.arbitrary::<bool>().unwrap_or(false) {
                "incr"
            } else {
                "decr"
            };
            format!("{verb} {k} {}\r\n", u.int_in_range(0..=99u8).unwrap_or(0)).into_bytes()
        }
        8 => {
            let v = value(u);
            format!("set {k} 0 0 {} noreply\r\n{v}\r\n", v.len()).into_bytes()
        }
        9 => format!("mg {k} v f\r\n").into_bytes(),
        10 => [
            &b"version\r\n"[..],
            b"mn\r\n",
            b"bogus\r\n",
            b"set k 0 0 1\r\nzXY\r\n",
        ][usize::from(u.int_in_range(0..=3u8).unwrap_or(0))]
        .to_vec(),
        11 => b"quit\r\n".to_vec(),
        // A line over the limit: the connection closes without a word.
        _ => vec![b'x'; 3000],
    }
}

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let plan = plan(&mut u);
    let mut requests = Vec::new();
    while !u.is_empty() && requests.len() < MAX_COMMANDS {
        requests.push(command(&mut u));
    }
    let framing = MemcacheFraming::new();
    let config = codec::config(ServerConfig::default(), &framing);
    let laws =
        ServerLaws::new(move |server| memcached_server::serve(server, framing.clone(), 1 << 20))
            .config(config);
    if let Err(violation) = laws.check_one(&requests, &plan) {
        panic!("{violation}");
    }
});
