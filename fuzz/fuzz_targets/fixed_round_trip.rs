//! Arbitrary messages through `FixedSize` framing: records of the right size decode back
//! equal, others are refused without writing, and a cut last record ends as documented.
#![no_main]

use framekit_fuzz::{check_messages, fixed, fixed_laws, MessageInput};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Some(input) = MessageInput::<Vec<u8>>::parse(data) {
        let config = input.config;
        check_messages(&fixed_laws(config), || fixed(config), &input);
    }
});
