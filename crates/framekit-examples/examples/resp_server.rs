//! resp_server: a small Redis-compatible in-memory store (RESP2 parsed with nom) that
//! unmodified `redis-cli` and `redis-benchmark` talk to.
//!
//! ```text
//! cargo run --release -p framekit-examples --example resp_server
//! redis-cli -p 6380 set greeting hello     # OK
//! redis-cli -p 6380 get greeting           # "hello"
//! redis-benchmark -p 6380 -n 20000 -q -t ping,set,get,incr,mset
//! printf 'PING\r\n' | nc -N 127.0.0.1 6380    # +PONG (inline command)
//! ```

use std::future::Ready;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use clap::Parser;
use framekit_examples::commands::run::{self, respond, sweep_expired, with_slices};
use framekit_examples::commands::{Outcome, Session, SharedSession, State};
use framekit_examples::launch::{self, ServerArgs};
use framekit_examples::resp::{self, RespView, RespViewCodec, Value, SERVER_FULL};
use framekit_examples::resp::{
    RequestParser, DEFAULT_MAX_BULK_LEN, DEFAULT_MAX_REQUEST_LEN, MAX_BULK_LEN_CEILING,
};
use framekit_server::listener::Acceptor;
use framekit_server::{Answer, Ctx, Handler, Responder, Server, ServerHandle};

/// The handler: each request's arguments read where they lie ([`RespView::Args`]) and run
/// against the shared state; the connection's session is its handler state, lent to every
/// request (no clone per request).
#[derive(Debug)]
pub struct Resp {
    /// What every connection shares (databases, configuration, client list).
    pub state: Arc<Mutex<State>>,
    /// The listening address, for `CLIENT INFO`'s `laddr` (shared by every session).
    pub laddr: Arc<str>,
}

impl Handler<RespViewCodec, Value> for Resp {
    type State = SharedSession;
    /// Never deferred: every command answers at once.
    type Later = Ready<Option<Value>>;

    fn open(&self, _ctx: &Ctx) -> SharedSession {
        Arc::new(Mutex::new(Session::new(0, Instant::now())))
    }

    fn call(
        &self,
        request: RespView<'_>,
        session: &mut SharedSession,
        ctx: &Ctx,
        out: &mut Responder<'_, RespViewCodec, Value>,
    ) -> Answer<Self::Later> {
        let answer = |outcome: Outcome<'_>| run::answer(out, outcome);
        // Matched by reference: the view is read where the machine put it, not moved again.
        match &request {
            RespView::Args(args) => args
                .with_slices(|args| respond(&self.state, session, ctx, &self.laddr, args, answer)),
            RespView::Parsed(Ok(args)) => with_slices(args, |args| {
                respond(&self.state, session, ctx, &self.laddr, args, answer)
            }),
            RespView::Parsed(Err(e)) => {
                tracing::debug!(error = %e, "protocol error, closing");
                out.send(e.to_reply());
                Answer::Close
            }
        }
    }
}

/// Serves RESP2 against one shared [`State`] (16 databases, the configuration, the client
/// list), one request at a time per connection, applied as it is decoded so pipelined requests
/// act in order; `QUIT` and a protocol error end the connection after their reply. Must be
/// called within a tokio runtime: it starts the expired-key sweeper, which stops with the server.
pub fn serve<A: Acceptor>(server: Server<A, Value>, parser: RequestParser) -> ServerHandle {
    let state = Arc::new(Mutex::new(State::new()));
    tokio::spawn(sweep_expired(Arc::downgrade(&state)));
    let laddr: Arc<str> = server
        .local_addr()
        .map_or_else(|_| Arc::from("?"), |a| Arc::from(a.to_string()));
    server
        .on_failure(resp::failure_reply)
        .on_reject(|_peer| Some(Value::error(SERVER_FULL)))
        .serve(RespViewCodec::new(parser), Resp { state, laddr })
}

#[derive(Debug, Parser)]
#[command(about = "A Redis-compatible (RESP2) in-memory key-value server")]
struct Args {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:6380")]
    addr: String,
    /// Largest value (bulk string) accepted, in bytes; at most 512 MiB.
    #[arg(long, default_value_t = DEFAULT_MAX_BULK_LEN as u64,
          value_parser = clap::value_parser!(u64).range(1..=MAX_BULK_LEN_CEILING as u64))]
    max_value: u64,
    /// Largest whole request (all arguments), in bytes; raised to hold one largest value.
    #[arg(long, default_value_t = DEFAULT_MAX_REQUEST_LEN)]
    max_request: usize,
    #[command(flatten)]
    server: ServerArgs,
}

framekit_examples::jemalloc!();

fn main() -> std::io::Result<()> {
    let args = Args::parse();
    let parser = RequestParser::new()
        .max_bulk_len(usize::try_from(args.max_value).unwrap_or(MAX_BULK_LEN_CEILING))
        .max_request_len(args.max_request);
    let configure = |limits| resp::server_config(limits, &parser);
    launch::run_configured(&args.addr, &args.server, configure, |server| {
        serve(server, parser)
    })
}
