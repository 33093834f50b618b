//! Arbitrary TLV messages through a `NomCodec`: what fits the maximum decodes back equal, and
//! a stream cut inside its last message ends with `UnexpectedEof`.
#![no_main]

use framekit::testing::tlv::Msg;
use framekit_fuzz::{check, nom_laws, nom_max, MessageInput, TlvMessage};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Some(input) = MessageInput::<TlvMessage>::parse(data) {
        let laws = nom_laws(input.config);
        let messages: Vec<Msg> = input.messages.iter().cloned().map(Msg::from).collect();
        check(laws.check_round_trip_encodable(&messages));
        let max = nom_max(input.config);
        let accepted = messages
            .into_iter()
            .filter(|m| m.wire_len() <= max)
            .collect();
        check(laws.check_eof(&framekit::testing::CutStream {
            messages: accepted,
            cut: input.cut,
            sizes: input.sizes.clone(),
        }));
    }
});
