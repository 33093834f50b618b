//! Arbitrary bytes in arbitrary chunks through memcached_server's request framing
//! (`MemcacheFraming`): no panic, bounded buffering, the same requests, skipped blocks and
//! errors however the bytes are chunked, and work linear in the input.
#![no_main]

use bytes::Bytes;
use framekit::testing::Laws;
use framekit::FrameCodec;
use framekit_examples::memcached::MemcacheFraming;
use framekit_fuzz::{check, ByteInput};
use libfuzzer_sys::fuzz_target;
use proptest::strategy::Just;

fuzz_target!(|data: &[u8]| {
    let input = ByteInput::parse(data);
    // A small item limit, so the fuzzer reaches blocks that are skipped as they arrive.
    let item_max = 64 + usize::from(input.config);
    let laws = Laws::frame_codec(
        move || FrameCodec::new(MemcacheFraming::new().item_max(item_max)),
        Just(Bytes::from_static(b"mn")),
    );
    check(laws.check_bytes(input.bytes, &input.sizes));
});
