//! The key-value protocol's unit tests: both codecs round-trip every message in the documented
//! wire format, a bad payload is a typed item (not a stream error), and `apply` answers with
//! the status codes.

use super::*;
use tokio_util::codec::{Decoder, Encoder};

#[test]
fn requests_round_trip_through_both_codecs() {
    let requests = [
        KvRequest::Get {
            key: Bytes::from("k"),
        },
        KvRequest::Set {
            key: Bytes::from("k"),
            value: Bytes::from(&b"\0\xffv"[..]),
        },
        KvRequest::Del { key: Bytes::new() },
    ];
    let mut client = client_codec(DEFAULT_MAX_FRAME_LEN);
    let mut server = server_codec(DEFAULT_MAX_FRAME_LEN);
    let mut wire = BytesMut::new();
    for r in &requests {
        client.encode(r.clone(), &mut wire).unwrap();
    }
    for r in &requests {
        assert_eq!(server.decode(&mut wire).unwrap().unwrap().unwrap(), *r);
    }
}

#[test]
fn the_wire_format_is_as_documented() {
    let mut client = client_codec(DEFAULT_MAX_FRAME_LEN);
    let mut wire = BytesMut::new();
    client
        .encode(
            KvRequest::Get {
                key: Bytes::from("k"),
            },
            &mut wire,
        )
        .unwrap();
    assert_eq!(&wire[..], b"\0\0\0\x04\x01\x00\x01k");
    wire.clear();
    let set = KvRequest::Set {
        key: Bytes::from("k"),
        value: Bytes::from("v"),
    };
    client.encode(set, &mut wire).unwrap();
    assert_eq!(&wire[..], b"\0\0\0\x05\x02\x00\x01kv");
    let mut server = server_codec(DEFAULT_MAX_FRAME_LEN);
    let mut out = BytesMut::new();
    server
        .encode(KvResponse::value(Bytes::from("v")), &mut out)
        .unwrap();
    assert_eq!(&out[..], b"\0\0\0\x02\x00v");
    assert_eq!(
        client.decode(&mut out).unwrap().unwrap(),
        KvResponse::value(Bytes::from("v"))
    );
}

#[test]
fn bad_payloads_are_items_not_stream_errors() {
    let mut server = server_codec(DEFAULT_MAX_FRAME_LEN);
    let mut wire = BytesMut::from(&b"\0\0\0\x01\x01\0\0\0\x03\x09\0\0\0\0\0\x04\x01\0\x01k"[..]);
    let truncated = server.decode(&mut wire).unwrap().unwrap();
    assert_eq!(
        truncated,
        Err(KvDecodeError::Truncated { needed: 3, len: 1 })
    );
    let unknown = server.decode(&mut wire).unwrap().unwrap();
    assert_eq!(unknown, Err(KvDecodeError::UnknownCode(9)));
    let good = server.decode(&mut wire).unwrap().unwrap();
    assert_eq!(
        good,
        Ok(KvRequest::Get {
            key: Bytes::from("k")
        })
    );
}

#[test]
fn malformed_requests_are_rejected() {
    let req = |b: &'static [u8]| KvRequest::decode(Bytes::from_static(b));
    assert_eq!(
        req(b"\x01\x00\x05ab"),
        Err(KvDecodeError::Truncated { needed: 8, len: 5 })
    );
    assert_eq!(req(b"\x01\x00\x01kx"), Err(KvDecodeError::TrailingBytes(1)));
    assert!(KvResponse::decode(Bytes::from_static(b"\x07")).is_err());
    assert!(KvResponse::decode(Bytes::new()).is_err());
}

#[test]
fn apply_answers_with_status_codes() {
    let mut store = Store::new();
    let now = Instant::now();
    let key = || Bytes::from("k");
    let del = || KvRequest::Del { key: key() };
    assert_eq!(apply(&mut store, Ok(del()), now).status, Status::NotFound);
    assert_eq!(
        apply(&mut store, Ok(KvRequest::Get { key: key() }), now).status,
        Status::NotFound
    );
    let set = KvRequest::Set {
        key: key(),
        value: Bytes::from("v"),
    };
    assert_eq!(apply(&mut store, Ok(set), now).status, Status::Ok);
    assert_eq!(apply(&mut store, Ok(del()), now).status, Status::Ok);
    let bad = Err(KvDecodeError::UnknownCode(9));
    assert_eq!(apply(&mut store, bad, now).status, Status::BadRequest);
}

#[test]
fn oversized_keys_cannot_be_encoded() {
    let key = Bytes::from(vec![b'k'; 70_000]);
    assert!(KvRequest::Get { key }.encode(&mut BytesMut::new()).is_err());
}
