//! Arbitrary bytes in arbitrary chunks through `length_prefixed` framing: no panic, bounded buffering,
//! no frame over the maximum, and the same frames and errors as the whole buffer.
#![no_main]

use framekit_fuzz::{check, length_prefixed_laws, ByteInput};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let input = ByteInput::parse(data);
    check(length_prefixed_laws(input.config).check_bytes(input.bytes, &input.sizes));
});
