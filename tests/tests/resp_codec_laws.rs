//! resp_server's owned request codec (`RespCodec`) held to the framing laws: every law of the
//! law kit, protocol errors under any chunking, and a dripped request's work linear in its size.
//!
//! These live here, not beside the codec, so that the examples crate needs no dev-dependency on
//! framekit's `testing` feature: dev-dependencies are built into cargo examples too, and the
//! feature switches on the law kit's work meter, which the benchmarked servers must not carry.

use bytes::Bytes;
use bytes::BytesMut;
use framekit::testing::{Laws, Limits};
use framekit_examples::resp::{Request, RequestParser, RespCodec, Value};
use proptest::collection::vec;
use proptest::prelude::*;
use tokio_util::codec::Decoder;

/// Requests as a client writes them: an array of bulk strings.
fn write_request(request: Request, dst: &mut BytesMut) -> Result<(), String> {
    let args = request.map_err(|e| e.to_string())?;
    Value::Array(args.into_iter().map(Value::Bulk).collect()).encode(dst);
    Ok(())
}

fn laws() -> Laws<RespCodec, Request> {
    let parser = RequestParser::new().max_bulk_len(16).max_request_len(0);
    let limit = parser.get_max_request_len() + 1;
    let args = vec(vec(any::<u8>(), 0..=16).prop_map(Bytes::from), 0..6);
    Laws::decoder(
        move || RespCodec::new(parser),
        args.prop_map(Ok),
        |_, request, dst| write_request(request, dst),
    )
    .limits(Limits::new(limit, limit))
    .cases(32)
}

#[test]
fn resp_codec_obeys_the_framing_laws() {
    laws().check_all();
}

#[test]
fn chunking_does_not_change_protocol_errors() {
    let laws = laws();
    for wire in [
        &b"*1\r\n$2\r\nab\r\n*1\r\n:x\r\n*1\r\n$1\r\nz\r\n"[..],
        b"PING\r\n*1\r\n$99999999999999999999999999999999999999\r\n",
        b"*2\r\n$1\r\na\r\n$1\r\nbXX*1\r\n$1\r\nc\r\n",
        // Found by the fuzzer: a bulk followed by LF alone.
        b"\0\0\0\0((\r\n*1\r\n$13\r\n55(\x95551\n\xfb\r555\n",
    ] {
        for size in 0..4 {
            laws.check_chunking(wire, &[size]).unwrap();
        }
    }
}

/// An `MSET` of `pairs` small pairs, as a client writes it.
fn mset(pairs: usize) -> BytesMut {
    let mut args = vec![Bytes::from_static(b"MSET")];
    for i in 0..pairs {
        args.push(Bytes::from(format!("key:{i}")));
        args.push(Bytes::from(format!("value:{i}")));
    }
    let mut wire = BytesMut::new();
    write_request(Ok(args), &mut wire).unwrap();
    wire
}

#[test]
fn a_dripped_request_costs_linear_work() {
    // 2,000 pairs (about 50 KB) one byte at a time, and in 1 KiB and 8 KiB pieces.
    let laws = laws();
    let wire = mset(2000);
    let big = RequestParser::new();
    let big_laws = Laws::decoder(
        move || RespCodec::new(big),
        Just(Ok(Vec::new())),
        |_, request, dst| write_request(request, dst),
    );
    for sizes in [&[1][..], &[1024], &[8192], &[]] {
        big_laws.check_linear_work(&wire, sizes).unwrap();
    }
    laws.check_linear_work(b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\nPING\r\n", &[1])
        .unwrap();
}

#[test]
fn a_dripped_request_is_parsed_once_and_answered_at_its_last_byte() {
    let wire = mset(300);
    let mut codec = RespCodec::new(RequestParser::new());
    let mut buf = BytesMut::new();
    for (i, b) in wire.iter().enumerate() {
        buf.extend_from_slice(&[*b]);
        match codec.decode(&mut buf).unwrap() {
            None => assert!(i + 1 < wire.len(), "the last byte completes the request"),
            Some(request) => {
                assert_eq!(i + 1, wire.len(), "delivered at byte {i}");
                assert_eq!(request.unwrap().len(), 601);
            }
        }
    }
}
