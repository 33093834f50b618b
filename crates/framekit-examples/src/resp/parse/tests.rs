//! Unit tests of `parse.rs`, in a file of their own as `resp/view`'s are.

use super::*;
use bytes::BytesMut;
use framekit::framing::nom::NomCodec;
use tokio_util::codec::Decoder;

fn parse_one(bytes: &'static [u8]) -> Result<(usize, Request), Needed> {
    let buf = Bytes::from_static(bytes);
    match RequestParser::new().parse(&buf, &buf) {
        Ok((rest, req)) => Ok((buf.len() - rest.len(), req)),
        Err(NomErr::Incomplete(n)) => Err(n),
        Err(e) => panic!("parser errors must become items: {e:?}"),
    }
}

fn args(bytes: &'static [u8]) -> Vec<Bytes> {
    parse_one(bytes).unwrap().1.unwrap()
}

fn protocol_error(bytes: &'static [u8]) -> ProtocolError {
    parse_one(bytes).unwrap().1.unwrap_err()
}

#[test]
fn multibulk_arguments_are_binary_safe() {
    assert_eq!(
        args(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$4\r\na\r\n\0\r\n"),
        [&b"SET"[..], b"k", b"a\r\n\0"]
    );
    assert_eq!(args(b"*1\r\n$0\r\n\r\n"), [&b""[..]]);
}

#[test]
fn arguments_share_the_input_buffer() {
    let buf = Bytes::from_static(b"*1\r\n$4\r\nPING\r\n");
    let (_, req) = RequestParser::new().parse(&buf, &buf).unwrap();
    let arg = &req.unwrap()[0];
    assert_eq!(arg.as_ptr(), buf[8..].as_ptr());
}

#[test]
fn inline_requests_split_like_redis() {
    assert_eq!(args(b"PING\r\n"), [&b"PING"[..]]);
    assert_eq!(args(b"set  k\tv\n"), [&b"set"[..], b"k", b"v"]);
    assert_eq!(args(b"SET k \"a b\"\r\n"), [&b"SET"[..], b"k", b"a b"]);
    assert_eq!(args(b"ECHO a\rb\r\n"), [&b"ECHO"[..], b"a", b"b"]);
    assert!(args(b"\r\n").is_empty());
    assert!(args(b"*0\r\n").is_empty());
}

#[test]
fn partial_requests_say_how_much_more_is_needed() {
    assert!(parse_one(b"*2\r\n$3\r\nGET\r\n").is_err());
    assert!(parse_one(b"*1\r\n$3\r\nGE").is_err());
    assert_eq!(
        parse_one(b"*1\r\n$10\r\nabc").unwrap_err(),
        Needed::new(7),
        "the bulk's missing bytes"
    );
    assert!(parse_one(b"PIN").is_err());
    assert!(parse_one(b"*1").is_err());
}

#[test]
fn malformed_requests_are_protocol_errors() {
    assert_eq!(
        protocol_error(b"*x\r\n"),
        ProtocolError::InvalidMultibulkLength
    );
    assert_eq!(
        protocol_error(b"*2147483648\r\n"),
        ProtocolError::InvalidMultibulkLength
    );
    for leading_zero in [&b"*01\r\n$4\r\nPING\r\n"[..], b"*-0\r\n", b"*00\r\n"] {
        let buf = Bytes::copy_from_slice(leading_zero);
        let (_, req) = RequestParser::new().parse(&buf, &buf).unwrap();
        assert_eq!(req.unwrap_err(), ProtocolError::InvalidMultibulkLength);
    }
    assert_eq!(
        protocol_error(b"*1\r\n$04\r\nPING\r\n"),
        ProtocolError::InvalidBulkLength
    );
    assert_eq!(
        protocol_error(b"ECHO \"open\r\n"),
        ProtocolError::UnbalancedQuotes
    );
    assert_eq!(
        protocol_error(b"*1\r\n:1\r\n"),
        ProtocolError::ExpectedBulk { got: b':' }
    );
    assert_eq!(
        protocol_error(b"*1\r\n$-1\r\n"),
        ProtocolError::InvalidBulkLength
    );
    assert_eq!(
        protocol_error(b"*1\r\n$1\r\nabc"),
        ProtocolError::ExpectedCrlf
    );
    assert_eq!(
        protocol_error(b"*1\r\n$99999999999999999999999999999999999"),
        ProtocolError::InvalidBulkLength
    );
    assert_eq!(
        ProtocolError::ExpectedBulk { got: b'x' }.to_string(),
        "expected '$', got 'x'"
    );
}

#[test]
fn declared_sizes_are_checked_before_waiting_for_them() {
    let buf = Bytes::from_static(b"*1\r\n$1025\r\n");
    let mut parser = RequestParser::new().max_bulk_len(1024);
    let (rest, req) = parser.parse(&buf, &buf).unwrap();
    assert_eq!(req.unwrap_err(), ProtocolError::InvalidBulkLength);
    assert_eq!(rest.len(), buf.len() - 1, "the error stands for one byte");
    assert!(
        parser.parse(rest, &buf).is_err(),
        "nothing is parsed after an error"
    );

    let mut parser = RequestParser::new().max_bulk_len(1024).max_request_len(0);
    let limit = parser.get_max_request_len();
    assert_eq!(limit, 1024 + MAX_INLINE_LEN);
    // 100 declared 1 KiB arguments overflow the request limit long before they all arrive.
    let mut wire = BytesMut::from(&b"*100\r\n"[..]);
    for _ in 0..90 {
        wire.extend_from_slice(b"$1024\r\n");
        wire.extend_from_slice(&[b'x'; 1024]);
        wire.extend_from_slice(b"\r\n");
    }
    let buf = wire.freeze();
    let (_, req) = parser.parse(&buf, &buf).unwrap();
    assert_eq!(req.unwrap_err(), ProtocolError::RequestTooLarge { limit });
}

#[test]
fn oversized_inline_lines_are_protocol_errors() {
    let buf = Bytes::from(vec![b'a'; MAX_INLINE_LEN + 1]);
    let (_, req) = RequestParser::new().parse(&buf, &buf).unwrap();
    assert_eq!(req.unwrap_err(), ProtocolError::TooBigInlineRequest);
}

#[test]
fn chunking_does_not_change_requests() {
    let wire: &[u8] = b"*2\r\n$4\r\nECHO\r\n$5\r\nhello\r\nPING\r\n*1\r\n$4\r\nPING\r\n";
    let expected = vec![
        vec![Bytes::from("ECHO"), Bytes::from("hello")],
        vec![Bytes::from("PING")],
        vec![Bytes::from("PING")],
    ];
    for chunk in 1..wire.len() {
        let parser = RequestParser::new();
        let boundary = super::super::RequestBoundary::new(&parser);
        let mut codec = NomCodec::with_boundary(parser, boundary);
        let mut buf = BytesMut::new();
        let mut got = Vec::new();
        for piece in wire.chunks(chunk) {
            buf.extend_from_slice(piece);
            while let Some(req) = codec.decode(&mut buf).unwrap() {
                got.push(req.unwrap());
            }
        }
        assert_eq!(got, expected, "chunk size {chunk}");
    }
}
