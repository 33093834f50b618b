//! resp_client's reply codec held to the connection laws in the client role: commands go out
//! as the client encodes them, a model Redis peer (resp_server's own request codec) reads each
//! one and answers with a reply of a kind that varies with the request (bulk strings with CRLF
//! inside, integers, nested arrays with nulls, error and simple replies), arriving in every
//! chunking and interleaving, with deadlines, the peer's close, resets and the caller's close;
//! every exchange must end once, with its own reply. A codec that splits an array reply into
//! its elements must be caught.
//!
//! Here rather than beside the codec: the examples crate takes no dev-dependency on framekit's
//! `testing` feature (see resp_codec_laws.rs).

use bytes::{BufMut, Bytes, BytesMut};
use framekit::connection::{CodecError, Owned, Pipelined};
use framekit::testing::connection::{ClientModel, ConnectionLaws};
use framekit_examples::resp::{RequestParser, RespCodec};
use framekit_examples::resp_client::{cmd, Command, Reply, ReplyCodec, ReplyError};
use tokio_util::codec::Decoder;

/// The model Redis: request `i` is `GET k<i>`, `SET k<i> <binary>` or `INCR k<i>`; its reply
/// is one of six kinds, each carrying `i`.
struct RedisModel {
    peer: RespCodec,
}

impl RedisModel {
    fn new() -> Self {
        RedisModel {
            peer: RespCodec::new(RequestParser::new()),
        }
    }
}

/// The reply to request `index`, as the client should build it.
fn reply(index: u64) -> Reply {
    let text = Bytes::from(format!("a{index}"));
    match index % 6 {
        0 => Reply::Bulk(text),
        1 => Reply::Integer(index as i64),
        2 => Reply::Array(vec![
            Reply::Bulk(text),
            Reply::Integer(-(index as i64)),
            Reply::Array(vec![Reply::Null, Reply::Bulk(Bytes::new())]),
            Reply::Array(Vec::new()),
        ]),
        3 => Reply::Error(Bytes::from(format!("ERR a{index}"))),
        4 => Reply::Simple(text),
        _ => Reply::Bulk(Bytes::from(format!("\r\n{index}\r\n$-1\r\n*1\r\n"))),
    }
}

/// `reply` as a Redis server writes it (written here by hand, not by the client's code).
fn write(reply: &Reply, dst: &mut BytesMut) {
    let line = |dst: &mut BytesMut, kind: u8, text: &[u8]| {
        dst.put_u8(kind);
        dst.put_slice(text);
        dst.put_slice(b"\r\n");
    };
    match reply {
        Reply::Simple(text) => line(dst, b'+', text),
        Reply::Error(text) => line(dst, b'-', text),
        Reply::Integer(n) => line(dst, b':', n.to_string().as_bytes()),
        Reply::Bulk(bytes) => {
            line(dst, b'$', bytes.len().to_string().as_bytes());
            dst.put_slice(bytes);
            dst.put_slice(b"\r\n");
        }
        Reply::Null => line(dst, b'$', b"-1"),
        Reply::Array(items) => {
            line(dst, b'*', items.len().to_string().as_bytes());
            for item in items {
                write(item, dst);
            }
        }
    }
}

impl<D> ClientModel<Owned<D>> for RedisModel
where
    D: Decoder<Item = Reply>,
    D::Error: CodecError,
{
    type Request = Command;
    type Tags = Pipelined;

    fn request(&mut self, index: u64) -> Command {
        let key = format!("k{index}");
        match index % 3 {
            0 => cmd("GET").arg(key),
            1 => cmd("SET").arg(key).arg(&b"v\r\n\0*1\r\n"[..]),
            _ => cmd("INCR").arg(key),
        }
    }

    fn read_request(&mut self, wire: &mut BytesMut) -> Result<Option<u64>, String> {
        let Some(request) = self.peer.decode(wire).map_err(|e| e.to_string())? else {
            return Ok(None);
        };
        let args = request.map_err(|e| format!("the peer refused a request: {e:?}"))?;
        let key = args.get(1).ok_or("a request without a key")?;
        std::str::from_utf8(key.get(1..).unwrap_or_default())
            .ok()
            .and_then(|digits| digits.parse().ok())
            .map(Some)
            .ok_or_else(|| format!("a request for key {key:?}"))
    }

    fn write_answer(&mut self, index: u64, dst: &mut BytesMut) {
        write(&reply(index), dst);
    }

    fn is_answer(&self, answer: &Reply, index: u64) -> bool {
        *answer == reply(index)
    }

    fn describe(&self, answer: &Reply) -> String {
        format!("{answer:?}")
    }

    fn tags(&self) -> Option<Pipelined> {
        None
    }
}

#[test]
fn the_model_writes_replies_as_redis_does() {
    let mut wire = BytesMut::new();
    write(&reply(2), &mut wire);
    assert_eq!(
        &wire[..],
        b"*4\r\n$2\r\na2\r\n:-2\r\n*2\r\n$-1\r\n$0\r\n\r\n*0\r\n"
    );
    wire.clear();
    write(&reply(5), &mut wire);
    assert_eq!(&wire[..], b"$14\r\n\r\n5\r\n$-1\r\n*1\r\n\r\n");
}

#[test]
fn resp_client_replies_keep_every_connection_law() {
    ConnectionLaws::new(|| Owned(ReplyCodec::default()))
        .cases(512)
        .check_client_model(RedisModel::new);
}

/// A reply codec that hands an array's elements out as replies of their own: every reply after
/// an array goes to the wrong request.
#[derive(Default)]
struct Flattening {
    inner: ReplyCodec,
    pending: std::collections::VecDeque<Reply>,
}

impl Decoder for Flattening {
    type Item = Reply;
    type Error = ReplyError;

    fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Reply>, ReplyError> {
        if let Some(reply) = self.pending.pop_front() {
            return Ok(Some(reply));
        }
        match self.inner.decode(buf)? {
            Some(Reply::Array(items)) if !items.is_empty() => {
                self.pending.extend(items);
                Ok(self.pending.pop_front())
            }
            other => Ok(other),
        }
    }
}

impl tokio_util::codec::Encoder<Command> for Flattening {
    type Error = ReplyError;

    fn encode(&mut self, command: Command, dst: &mut BytesMut) -> Result<(), ReplyError> {
        self.inner.encode(command, dst)
    }
}

#[test]
#[should_panic(expected = "exactly_once_in_order")]
fn the_laws_catch_a_reply_codec_that_splits_arrays() {
    ConnectionLaws::new(|| Owned(Flattening::default()))
        .cases(512)
        .check_client_model(RedisModel::new);
}
