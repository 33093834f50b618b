//! Arbitrary bytes in arbitrary chunks through framekit-examples' RESP2 request codec (the
//! nom parser behind `resp_server`): no panic, bounded buffering, and the same requests and
//! protocol errors however the bytes are chunked.
#![no_main]

use bytes::BytesMut;
use framekit::testing::{Laws, Limits};
use framekit_examples::resp::{Request, RequestParser, RespCodec, Value};
use framekit_fuzz::{check, ByteInput};
use libfuzzer_sys::fuzz_target;
use proptest::strategy::Just;

fuzz_target!(|data: &[u8]| {
    let input = ByteInput::parse(data);
    // Small bulk limit so the fuzzer reaches it; the inline and request limits follow from it.
    let parser = RequestParser::new()
        .max_bulk_len(16 + usize::from(input.config % 16))
        .max_request_len(0);
    let limit = parser.get_max_request_len() + 1;
    let laws = Laws::decoder(
        move || RespCodec::new(parser),
        Just(Ok(Vec::new())),
        |_, request: Request, dst: &mut BytesMut| {
            let args = request.map_err(|e| e.to_string())?;
            Value::Array(args.into_iter().map(Value::Bulk).collect()).encode(dst);
            Ok(())
        },
    )
    .limits(Limits::new(limit, limit));
    check(laws.check_bytes(input.bytes, &input.sizes));
});
