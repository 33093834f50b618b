use bytes::{Bytes, BytesMut};
use proptest::prelude::*;
use tokio_util::codec::Decoder;

use super::*;

fn sample() -> (Vec<u8>, Vec<Reply>) {
    let wire = b"+OK\r\n-ERR no\r\n:-42\r\n$3\r\na\r\n\r\n$-1\r\n*-1\r\n*0\r\n*3\r\n$1\r\nx\r\n*1\r\n:1\r\n$0\r\n\r\n";
    let replies = vec![
        Reply::Simple(Bytes::from("OK")),
        Reply::Error(Bytes::from("ERR no")),
        Reply::Integer(-42),
        Reply::Bulk(Bytes::from("a\r\n")),
        Reply::Null,
        Reply::Null,
        Reply::Array(vec![]),
        Reply::Array(vec![
            Reply::Bulk(Bytes::from("x")),
            Reply::Array(vec![Reply::Integer(1)]),
            Reply::Bulk(Bytes::new()),
        ]),
    ];
    (wire.to_vec(), replies)
}

/// Feeds `wire` in pieces of the given sizes (cycled), decoding after each.
fn fed(wire: &[u8], pieces: &[usize]) -> Result<Vec<Reply>, ReplyError> {
    let mut codec = ReplyCodec::default();
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    let mut at = 0;
    let mut i = 0;
    while at < wire.len() {
        let n = pieces[i % pieces.len()].max(1).min(wire.len() - at);
        buf.extend_from_slice(&wire[at..at + n]);
        at += n;
        i += 1;
        while let Some(reply) = codec.decode(&mut buf)? {
            out.push(reply);
        }
    }
    if let Some(reply) = codec.decode_eof(&mut buf)? {
        out.push(reply);
    }
    Ok(out)
}

#[test]
fn every_reply_type_decodes_whole() {
    let (wire, replies) = sample();
    assert_eq!(fed(&wire, &[wire.len()]).unwrap(), replies);
}

proptest! {
    #[test]
    fn replies_are_the_same_in_every_chunking(pieces in prop::collection::vec(1usize..12, 1..8)) {
        let (wire, replies) = sample();
        prop_assert_eq!(fed(&wire, &pieces).unwrap(), replies);
    }
}

#[test]
fn a_reply_arriving_byte_by_byte_is_scanned_once() {
    // 2,000 elements one byte at a time: a rescanning decoder would look at ~20M bytes; the
    // resuming scanner's offset only moves forward, so each decode looks at the new bytes.
    let mut wire = b"*2000\r\n".to_vec();
    for _ in 0..2000 {
        wire.extend_from_slice(b":1\r\n");
    }
    let mut codec = ReplyCodec::default();
    let mut buf = BytesMut::new();
    for (i, b) in wire.iter().enumerate() {
        buf.extend_from_slice(&[*b]);
        let got = codec.decode(&mut buf).unwrap();
        let complete = i == wire.len() - 1;
        assert_eq!(got.is_some(), complete);
        // The next decode resumes after the last whole element (at most one 4-byte element
        // behind), not at the reply's start.
        if !complete && i >= 7 {
            assert!(
                codec.resumes_at() + 4 > i,
                "byte {i}: resumes at {}",
                codec.resumes_at()
            );
        }
    }
}

#[test]
fn limits_and_malformed_replies_are_typed_errors_with_offsets() {
    let cases: [(&[u8], &str); 6] = [
        (b"?x\r\n", "malformed"),
        (b"$-2\r\n", "malformed"),
        (b":12a\r\n", "malformed"),
        (b"$3\r\nabcd\r\n", "malformed"),
        (b"$999\r\n", "too_large"),
        (b"*5000000\r\n", "too_large"),
    ];
    for (wire, kind) in cases {
        let mut codec = ReplyCodec::default().max_bulk(100);
        let error = codec.decode(&mut BytesMut::from(wire)).unwrap_err();
        assert_eq!(
            framekit::connection::CodecError::kind_name(&error),
            kind,
            "{wire:?}"
        );
    }
    let mut deep = Vec::new();
    for _ in 0..=MAX_DEPTH {
        deep.extend_from_slice(b"*1\r\n");
    }
    let error = ReplyCodec::default()
        .decode(&mut BytesMut::from(&deep[..]))
        .unwrap_err();
    assert!(
        matches!(error, ReplyError::TooLarge { what: "depth", .. }),
        "{error}"
    );
    let long = vec![b'+'; MAX_LINE + 10];
    let error = ReplyCodec::default()
        .decode(&mut BytesMut::from(&long[..]))
        .unwrap_err();
    assert!(matches!(error, ReplyError::LineTooLong { offset: 0, .. }));
}

#[test]
fn a_reply_cut_by_the_end_of_stream_is_truncated() {
    let mut codec = ReplyCodec::default();
    let mut buf = BytesMut::from(&b"$5\r\nab"[..]);
    assert!(matches!(
        codec.decode_eof(&mut buf),
        Err(ReplyError::Truncated { buffered: 6 })
    ));
}
