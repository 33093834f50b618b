//! Every request/response example's handler held to the connection laws
//! (`framekit_server::laws`) through the server's real driver: each example is started by its
//! binary's own `serve` (compiled in from its file, with its hooks), and fed streams of its
//! protocol drawn here: valid requests, pipelined, some malformed, and the commands that close
//! (`QUIT`, `quit`, a frame or line over the limit). Nothing time-relative is drawn (no TTLs,
//! no EXPIRE, no stats), so each handler answers a stream the same way in every run.
//!
//! chat_server is duplex (its answers go to other connections) and has no request/response
//! handler to hold to these laws.

#[allow(dead_code, unexpected_cfgs)]
#[path = "../../crates/framekit-examples/examples/ack_server.rs"]
mod ack_server;
#[allow(dead_code, unexpected_cfgs)]
#[path = "../../crates/framekit-examples/examples/kv_server.rs"]
mod kv_server;
#[allow(dead_code, unexpected_cfgs)]
#[path = "../../crates/framekit-examples/examples/memcached_server.rs"]
mod memcached_server;
#[allow(dead_code, unexpected_cfgs)]
#[path = "../../crates/framekit-examples/examples/records_server.rs"]
mod records_server;
#[allow(dead_code, unexpected_cfgs)]
#[path = "../../crates/framekit-examples/examples/resp_server.rs"]
mod resp_server;

mod support;
use support::resp_command;

use bytes::BytesMut;
use framekit_examples::kv_protocol::KvRequest;
use framekit_examples::memcached::{codec as memcached_codec, MemcacheFraming};
use framekit_examples::records::Record;
use framekit_examples::resp::{self, RequestParser};
use framekit_server::laws::ServerLaws;
use framekit_server::ServerConfig;
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;

/// Cases per example: each is three runs of a fresh server; a few dozen stay well under a
/// second each in a debug build.
const CASES: u32 = 64;

/// Requests per stream.
const REQUESTS: std::ops::Range<usize> = 1..12;

fn key() -> impl Strategy<Value = &'static str> {
    select(vec!["a", "b", "k"])
}

#[test]
fn ack_server_keeps_the_connection_laws() {
    const MAX_LINE: usize = 16;
    let line = prop_oneof![
        6 => ("[a-z :]{0,16}", select(vec!["\n", "\r\n"]))
            .prop_map(|(text, end)| format!("{text}{end}").into_bytes()),
        // Over the limit: an error line, then the connection closes.
        1 => "[a-z]{17,40}\n".prop_map(String::into_bytes),
    ];
    ServerLaws::new(|server| ack_server::serve(server, MAX_LINE))
        .cases(CASES)
        .check(vec(line, REQUESTS));
}

#[test]
fn records_server_keeps_the_connection_laws() {
    let message = prop_oneof![
        4 => (0u64..1000, -50i32..50).prop_map(|(timestamp, value)| {
            Record { timestamp, value: f64::from(value) }.to_bytes().to_vec()
        }),
        1 => Just(Record::query_bytes().to_vec()),
    ];
    ServerLaws::new(records_server::serve)
        .cases(CASES)
        .check(vec(message, REQUESTS));
}

#[test]
fn kv_server_keeps_the_connection_laws() {
    const MAX_FRAME: usize = 64;
    let frame = |payload: &[u8]| {
        let mut frame = (payload.len() as u32).to_be_bytes().to_vec();
        frame.extend_from_slice(payload);
        frame
    };
    let request = prop_oneof![
        3 => (key(), "[a-z]{0,20}").prop_map(|(key, value)| KvRequest::Set {
            key: key.into(),
            value: value.into(),
        }),
        3 => key().prop_map(|key| KvRequest::Get { key: key.into() }),
        1 => key().prop_map(|key| KvRequest::Del { key: key.into() }),
    ]
    .prop_map(move |request| {
        let mut payload = BytesMut::new();
        request
            .encode(&mut payload)
            .expect("a small request encodes");
        frame(&payload)
    });
    let stream = vec(
        prop_oneof![
            8 => request,
            // Not a request (an unknown op, a key longer than the payload): BAD_REQUEST.
            1 => select(vec![frame(&[0x09, 0, 1, b'k']), frame(&[0x01, 0, 9, b'k'])]),
            // A frame over the limit: TOO_LARGE, then the connection closes.
            1 => Just((MAX_FRAME as u32 + 1).to_be_bytes().to_vec()),
        ],
        REQUESTS,
    );
    ServerLaws::new(|server| kv_server::serve(server, MAX_FRAME))
        .config(kv_server::config(ServerConfig::default(), MAX_FRAME))
        .cases(CASES)
        .check(stream);
}

#[test]
fn resp_server_keeps_the_connection_laws() {
    let value = prop_oneof![
        6 => "[a-z0-9]{0,8}".prop_map(String::into_bytes),
        // Larger than the high water mark set below and than the pipe: an answer that fills
        // the output, so the requests behind it wait for the peer to read (issue 21's stall).
        1 => (5000usize..9000).prop_map(|n| vec![b'v'; n]),
    ];
    let command = prop_oneof![
        4 => (key(), value).prop_map(|(k, v)| resp_command(&[b"SET", k.as_bytes(), &v])),
        4 => key().prop_map(|k| resp_command(&[b"GET", k.as_bytes()])),
        1 => key().prop_map(|k| resp_command(&[b"DEL", k.as_bytes()])),
        1 => key().prop_map(|k| resp_command(&[b"INCR", k.as_bytes()])),
        1 => (key(), "[a-z]{1,4}").prop_map(|(k, v)| resp_command(&[b"APPEND", k.as_bytes(), v.as_bytes()])),
        1 => (key(), key()).prop_map(|(a, b)| resp_command(&[b"MGET", a.as_bytes(), b.as_bytes()])),
        1 => "[a-z]{0,6}".prop_map(|v| resp_command(&[b"ECHO", v.as_bytes()])),
        1 => Just(resp_command(&[b"PING"])),
        1 => Just(resp_command(&[b"NOSUCHCOMMAND"])),
        // Inline commands.
        1 => select(vec![b"PING\r\n".to_vec(), b"GET a\r\n".to_vec(), b"SET  b  inline\n".to_vec()]),
        // Malformed: a protocol error is answered, then the connection closes.
        1 => select(vec![b"*x\r\n".to_vec(), b"*1\r\n$-5\r\n".to_vec(), b"*1\r\n:oops\r\n".to_vec()]),
        // QUIT: +OK, then the connection closes.
        1 => Just(resp_command(&[b"QUIT"])),
    ];
    let parser = RequestParser::new();
    let config = resp::server_config(ServerConfig::default(), &parser).water_marks(256, 1024);
    ServerLaws::new(move |server| resp_server::serve(server, parser))
        .config(config)
        .cases(CASES)
        .check(vec(command, REQUESTS));
}

#[test]
fn memcached_server_keeps_the_connection_laws() {
    let data = "[a-z0-9]{0,12}";
    let command = prop_oneof![
        4 => (select(vec!["set", "add", "replace", "append", "prepend"]), key(), 0u32..4, data)
            .prop_map(|(verb, k, flags, v)| {
                format!("{verb} {k} {flags} 0 {}\r\n{v}\r\n", v.len()).into_bytes()
            }),
        4 => (select(vec!["get", "gets"]), vec(key(), 1..4))
            .prop_map(|(verb, keys)| format!("{verb} {}\r\n", keys.join(" ")).into_bytes()),
        1 => key().prop_map(|k| format!("delete {k}\r\n").into_bytes()),
        1 => (select(vec!["incr", "decr"]), key(), 0u32..100)
            .prop_map(|(verb, k, by)| format!("{verb} {k} {by}\r\n").into_bytes()),
        1 => (key(), "[0-9]{1,3}").prop_map(|(k, v)| {
            format!("set {k} 0 0 {} noreply\r\n{v}\r\n", v.len()).into_bytes()
        }),
        1 => key().prop_map(|k| format!("mg {k} v f\r\n").into_bytes()),
        1 => Just(b"version\r\n".to_vec()),
        1 => Just(b"mn\r\n".to_vec()),
        // Malformed: an unknown command, a data block of the wrong length, a bad number.
        1 => select(vec![
            b"bogus\r\n".to_vec(),
            b"set k 0 0 1\r\nzXY\r\n".to_vec(),
            b"set k 0 0 abc\r\n".to_vec(),
        ]),
        // quit, and a line over the limit: the connection closes without a word.
        1 => select(vec![b"quit\r\n".to_vec(), vec![b'x'; 3000]]),
    ];
    let framing = MemcacheFraming::new();
    let config = memcached_codec::config(ServerConfig::default(), &framing);
    ServerLaws::new(move |server| memcached_server::serve(server, framing.clone(), 1 << 20))
        .config(config)
        .cases(CASES)
        .check(vec(command, REQUESTS));
}
