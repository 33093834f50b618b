//! RESP2, the Redis serialization protocol: requests parsed by a streaming nom parser that
//! plugs into framekit's [`NomCodec`](framekit::framing::nom::NomCodec), paced by a
//! [`RequestBoundary`] so each request is parsed once however it arrives, replies as
//! [`Value`]s.
//!
//! ```text
//! request (multibulk)   *2\r\n$3\r\nGET\r\n$1\r\nk\r\n   -> ["GET", "k"]  (zero-copy Bytes)
//! request (inline)      GET k "a b"\r\n                  -> ["GET", "k", "a b"]
//! replies               +OK\r\n  -ERR msg\r\n  :42\r\n  $3\r\nabc\r\n  $-1\r\n  *2\r\n...
//! ```
//!
//! A malformed request is not a decoder error: the parser yields it as a [`ProtocolError`] item
//! so the server can answer `-ERR Protocol error: ...` before closing that one connection.

use framekit_server::ServerConfig;

mod boundary;
mod codec;
mod inline;
mod integer;
mod parse;
mod value;
mod view;

pub use boundary::RequestBoundary;
pub use codec::RespCodec;
pub use inline::split_inline;
pub use integer::parse_i64;
pub use parse::{
    ProtocolError, Request, RequestParser, DEFAULT_MAX_BULK_LEN, DEFAULT_MAX_REQUEST_LEN,
    MAX_BULK_LEN_CEILING, MAX_INLINE_LEN, MAX_MULTIBULK_COUNT,
};
pub use value::{BulkRef, Value};
pub use view::{Args, RespView, RespViewCodec};

/// The reply a client past the connection limit gets before the connection closes (the
/// server's `on_reject` hook), as Redis words it.
pub const SERVER_FULL: &str = "ERR max number of clients reached";

/// The error reply for a failure the server's hook is told of, as Redis words it: a request
/// that ran out of time is `ERR timeout`, bytes that are not RESP a protocol error; a peer that
/// closed in the middle of a request is told nothing (it is gone).
///
/// ```no_run
/// # async fn run() -> std::io::Result<()> {
/// use framekit_examples::resp::{failure_reply, Value};
/// use framekit_server::Server;
///
/// let server = Server::bind("127.0.0.1:6380").await?.on_failure(failure_reply);
/// # let _: &Server<_, Value> = &server;
/// # Ok(())
/// # }
/// ```
pub fn failure_reply(failure: &framekit_server::Failure<'_>) -> Option<Value> {
    if failure.error.is::<framekit_server::error::RequestTimeout>() {
        return Some(Value::error("ERR timeout"));
    }
    let error = failure.error.downcast_ref::<framekit::FrameError>();
    let ended = error.is_some_and(framekit::FrameError::is_unexpected_eof);
    (!ended).then(|| Value::error(format!("ERR Protocol error: {}", failure.error)))
}

/// `config` with an input budget that holds the parser's largest request, which is buffered
/// whole before it is parsed.
pub fn server_config(config: ServerConfig, parser: &RequestParser) -> ServerConfig {
    let budget = config
        .limits()
        .input_budget
        .max(parser.get_max_request_len().saturating_add(1));
    config.input_budget(budget)
}
