//! Arbitrary messages through `Delimited` framing: what the encoder accepts decodes back equal,
//! what it refuses writes nothing, and a stream cut inside its last frame ends as documented.
#![no_main]

use framekit_fuzz::{check_messages, delimited, delimited_laws, MessageInput};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Some(input) = MessageInput::<Vec<u8>>::parse(data) {
        let config = input.config;
        check_messages(&delimited_laws(config), || delimited(config), &input);
    }
});
