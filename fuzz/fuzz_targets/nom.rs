//! Arbitrary bytes in arbitrary chunks through a `NomCodec` (the TLV test protocol): no panic,
//! bounded buffering, no frame over the maximum, and the same items and errors as the whole
//! buffer.
#![no_main]

use framekit_fuzz::{check, nom_laws, ByteInput};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let input = ByteInput::parse(data);
    check(nom_laws(input.config).check_bytes(input.bytes, &input.sizes));
});
