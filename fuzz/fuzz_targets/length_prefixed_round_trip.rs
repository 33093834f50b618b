//! Arbitrary messages through `LengthPrefixed` framing: what the encoder accepts decodes back
//! equal, what it refuses writes nothing, and a stream cut inside its last frame ends as
//! documented.
#![no_main]

use framekit_fuzz::{
    check_messages, length_prefixed, length_prefixed_laws, length_prefixed_round_trip_config,
    MessageInput,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Some(input) = MessageInput::<Vec<u8>>::parse(data) {
        let config = length_prefixed_round_trip_config(input.config);
        check_messages(
            &length_prefixed_laws(config),
            || length_prefixed(config),
            &input,
        );
    }
});
