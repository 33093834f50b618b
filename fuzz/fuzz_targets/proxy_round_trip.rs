//! Arbitrary PROXY headers through `ProxyCodec`: what the writer accepts (and fits the limit)
//! decodes back equal, and a stream cut inside its last header ends with `UnexpectedEof`.
#![no_main]

use framekit::framing::proxy::ProxyHeader;
use framekit::framing::Framing;
use framekit_fuzz::proxy::{proxy, proxy_codec_laws, wire_len, HeaderInput};
use framekit_fuzz::{check, MessageInput};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Some(input) = MessageInput::<HeaderInput>::parse(data) {
        let laws = proxy_codec_laws(input.config);
        let framing = proxy(input.config);
        let headers: Vec<ProxyHeader> = input.messages.iter().cloned().map(ProxyHeader::from).collect();
        check(laws.check_round_trip_encodable(&headers));
        let accepted: Vec<ProxyHeader> = headers
            .into_iter()
            .filter(|h| {
                let len = wire_len(h);
                len > 0 && len <= framing.frame_limit() && framing.versions().accepts(h.version)
            })
            .collect();
        check(laws.check_eof(&framekit::testing::CutStream {
            messages: accepted,
            cut: input.cut,
            sizes: input.sizes.clone(),
        }));
    }
});
