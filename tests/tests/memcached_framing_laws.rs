//! memcached_server's request framing (`MemcacheFraming`) held to the framing laws of the law
//! kit: requests as clients write them (command lines, and storage lines with their blocks,
//! whose data may hold CRLF), under every chunking; and a dripped 1 MB value's work linear in
//! its size. Here, not beside the framing, so the examples crate needs no `testing` feature.

use bytes::Bytes;
use framekit::testing::Laws;
use framekit::FrameCodec;
use framekit_examples::memcached::MemcacheFraming;
use proptest::collection::vec;
use proptest::prelude::*;

/// A request's payload as the framing cuts it: a line, or a storage line, CRLF and its data.
fn requests() -> impl Strategy<Value = Bytes> {
    let key = "[a-z0-9]{1,12}";
    let line = (
        prop_oneof![
            Just("get"),
            Just("gets"),
            Just("delete"),
            Just("incr"),
            Just("mg")
        ],
        vec(key, 1..4),
    )
        .prop_map(|(cmd, keys)| Bytes::from(format!("{cmd} {}", keys.join(" "))));
    let storage = (
        prop_oneof![Just("set"), Just("add"), Just("append"), Just("ms")],
        key,
        vec(any::<u8>(), 0..64),
        any::<bool>(),
    )
        .prop_map(|(cmd, key, data, noreply)| {
            let head = if cmd == "ms" {
                format!("ms {key} {}{}", data.len(), if noreply { " q" } else { "" })
            } else {
                let nr = if noreply { " noreply" } else { "" };
                format!("{cmd} {key} 0 0 {}{nr}", data.len())
            };
            let mut payload = head.into_bytes();
            payload.extend_from_slice(b"\r\n");
            payload.extend_from_slice(&data);
            Bytes::from(payload)
        });
    prop_oneof![line, storage]
}

fn laws() -> Laws<FrameCodec<MemcacheFraming>, Bytes> {
    Laws::frame_codec(
        || FrameCodec::new(MemcacheFraming::new().item_max(4096)),
        requests(),
    )
    .cases(64)
}

#[test]
fn memcache_framing_obeys_the_framing_laws() {
    laws().check_all();
}

#[test]
fn a_dripped_one_megabyte_value_costs_linear_work() {
    let laws = Laws::frame_codec(|| FrameCodec::new(MemcacheFraming::new()), requests());
    let mut wire = b"set big 0 0 1000000\r\n".to_vec();
    wire.resize(wire.len() + 1_000_000, b'v');
    wire.extend_from_slice(b"\r\nget big\r\n");
    for sizes in [&[1][..], &[1024], &[]] {
        laws.check_linear_work(&wire, sizes).unwrap();
    }
}
