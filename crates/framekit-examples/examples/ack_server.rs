//! ack_server: newline-framed lines in, `ack:<line>` out, in order, pipelined. The whole
//! server is here: the framing, the reply encoder, the handler, the hooks and the flags.
//!
//! ```text
//! cargo run --release -p framekit-examples --example ack_server
//! printf 'hello\nworld\n' | nc -N 127.0.0.1 7001       # ack:hello / ack:world
//! ```

use bytes::{Bytes, BytesMut};
use clap::Parser;
use framekit::framing::delimited::Delimited;
use framekit::{FrameCodec, FrameError};
use framekit_examples::launch::{self, ServerArgs};
use framekit_examples::lines::{failure_line, LINE_SERVER_FULL, REPLY_HEADROOM};
use framekit_server::codec::WithEncoder;
use framekit_server::listener::Acceptor;
use framekit_server::{Answer, Ctx, Handler, Responder, Server, ServerHandle};
use tokio_util::codec::Encoder;

/// Newline-framed lines in, [`Reply`] lines out.
pub type AckCodec = WithEncoder<FrameCodec<Delimited>, AckEncoder>;

/// `ack:` and a line borrowed from the request (nothing is built per request), or an error line.
#[derive(Debug, Clone)]
pub enum Reply<'a> {
    /// `ack:` and the line, written from the read buffer.
    Ack(&'a [u8]),
    /// An error line, as it is.
    Error(Bytes),
}

/// Writes `ack:` and the line straight into the outbound buffer as one line of at most `max`
/// bytes. A body with a newline in it would be two lines, and one ending in CR would lose it
/// (the newline framing strips a CR before the LF), so both are refused.
#[derive(Debug, Clone, Copy)]
pub struct AckEncoder {
    max: usize,
}

impl Encoder<Reply<'_>> for AckEncoder {
    type Error = FrameError;

    fn encode(&mut self, reply: Reply<'_>, dst: &mut BytesMut) -> Result<(), FrameError> {
        let (prefix, body): (&[u8], &[u8]) = match &reply {
            Reply::Ack(line) => (b"ack:", line),
            Reply::Error(text) => (b"", text),
        };
        let last_cr = body.last() == Some(&b'\r');
        if body.len() > self.max || last_cr || memchr::memchr(b'\n', body).is_some() {
            let reason = format!("not one line of at most {} bytes", self.max);
            return Err(FrameError::unencodable(body.len(), reason));
        }
        dst.reserve(prefix.len() + body.len() + 1);
        dst.extend_from_slice(prefix);
        dst.extend_from_slice(body);
        dst.extend_from_slice(b"\n");
        Ok(())
    }
}

/// The handler: every line is answered at once with `ack:` and the line.
#[derive(Debug, Clone, Copy)]
pub struct Ack;

impl Handler<AckCodec, Reply<'static>> for Ack {
    type State = ();
    type Later = std::future::Ready<Option<Reply<'static>>>;

    fn open(&self, _ctx: &Ctx) {}

    fn call(
        &self,
        line: &[u8],
        _: &mut (),
        _ctx: &Ctx,
        out: &mut Responder<'_, AckCodec, Reply<'static>>,
    ) -> Answer<Self::Later> {
        out.send(Reply::Ack(line));
        Answer::Done
    }
}

/// Serves `ack:<line>` for lines of up to `max_line` bytes; a failed request (an over-long line)
/// is answered with its [`failure_line`], a client past the connection limit with
/// [`LINE_SERVER_FULL`].
pub fn serve<A: Acceptor>(server: Server<A, Reply<'static>>, max_line: usize) -> ServerHandle {
    let codec: AckCodec = WithEncoder::new(
        FrameCodec::new(Delimited::newline().max_frame_len(max_line)),
        AckEncoder {
            max: max_line.saturating_add(REPLY_HEADROOM),
        },
    );
    let full = Reply::Error(Bytes::from_static(LINE_SERVER_FULL.as_bytes()));
    server
        .on_failure(move |f| Some(Reply::Error(failure_line(f.error, max_line))))
        .on_reject(move |_peer| Some(full.clone()))
        .serve(codec, Ack)
}

#[derive(Debug, Parser)]
#[command(about = "Answers every line with ack:<line> (newline framing)")]
struct Args {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:7001")]
    addr: String,
    /// Longest line accepted, in bytes (without the newline).
    #[arg(long, default_value_t = framekit::framing::delimited::DEFAULT_MAX_FRAME_LEN)]
    max_line: usize,
    #[command(flatten)]
    server: ServerArgs,
}

framekit_examples::jemalloc!();

fn main() -> std::io::Result<()> {
    let args = Args::parse();
    launch::run(&args.addr, &args.server, |server| {
        serve(server, args.max_line)
    })
}
