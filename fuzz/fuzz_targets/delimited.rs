//! Arbitrary bytes in arbitrary chunks through `delimited` framing: no panic, bounded buffering,
//! no frame over the maximum, and the same frames and errors as the whole buffer.
#![no_main]

use framekit_fuzz::{check, delimited_laws, ByteInput};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let input = ByteInput::parse(data);
    check(delimited_laws(input.config).check_bytes(input.bytes, &input.sizes));
});
