//! Arbitrary messages through `LengthPrefixed` framing: what the encoder accepts decodes back
//! equal, what it refuses writes nothing, and a stream cut inside its last frame ends as
//! documented.
#![no_main]

use framekit_fuzz::{
    check_messages, length_prefixed, length_prefixed_laws, MessageInput,
    LENGTH_PREFIXED_ROUND_TRIP_CONFIGS,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Some(input) = MessageInput::<Vec<u8>>::parse(data) {
        let config = input.config % LENGTH_PREFIXED_ROUND_TRIP_CONFIGS;
        check_messages(
            &length_prefixed_laws(config),
            || length_prefixed(config),
            &input,
        );
    }
});
