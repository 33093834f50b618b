//! Arbitrary bytes in arbitrary chunks through the PROXY protocol framing (v1, v2, either; a
//! small and the largest v2 limit): no panic, bounded buffering, no header over the limit, and
//! the same headers and errors as the whole buffer.
#![no_main]

use framekit_fuzz::proxy::proxy_laws;
use framekit_fuzz::{check, ByteInput};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let input = ByteInput::parse(data);
    check(proxy_laws(input.config).check_bytes(input.bytes, &input.sizes));
});
