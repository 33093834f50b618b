//! kv_server: a binary GET/SET/DEL key-value protocol behind a u32 big-endian length prefix.
//! The wire format is documented in `framekit_examples::kv_protocol`; `kv_client` speaks it.
//!
//! ```text
//! cargo run --release -p framekit-examples --example kv_server
//! cargo run --release -p framekit-examples --example kv_client -- set greeting hello
//! cargo run --release -p framekit-examples --example kv_client -- get greeting
//! ```

use std::future::Ready;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use clap::Parser;
use framekit::FrameError;
use framekit_examples::kv_protocol::{self, apply_view, KvResponse, KvView, Status};
use framekit_examples::kv_protocol::{ServerPayload, DEFAULT_MAX_FRAME_LEN};
use framekit_examples::launch::{self, ServerArgs};
use framekit_examples::store::Store;
use framekit_server::listener::Acceptor;
use framekit_server::{Answer, Ctx, Handler, Responder, Server, ServerConfig, ServerHandle};

/// u32 BE length-prefixed requests, read where they lie; responses out.
pub type KvCodec =
    framekit::FrameCodec<framekit::framing::length_prefixed::LengthPrefixed, ServerPayload>;

/// The handler: each request parsed where it lies ([`KvView`]) and applied to the one store
/// every connection shares, before the next is decoded, so pipelined requests act in order.
#[derive(Debug, Clone, Default)]
pub struct Kv {
    store: Arc<Mutex<Store>>,
}

impl Handler<KvCodec, KvResponse> for Kv {
    type State = ();
    /// Never deferred: the store answers at once.
    type Later = Ready<Option<KvResponse>>;

    fn open(&self, _ctx: &Ctx) {}

    fn call(
        &self,
        payload: &[u8],
        _: &mut (),
        _ctx: &Ctx,
        out: &mut Responder<'_, KvCodec, KvResponse>,
    ) -> Answer<Self::Later> {
        // A panic elsewhere cannot leave the store half-updated in a way that matters more
        // than staying up.
        let mut store = self.store.lock().unwrap_or_else(PoisonError::into_inner);
        out.send(apply_view(
            &mut store,
            KvView::parse(payload),
            Instant::now(),
        ));
        Answer::Done
    }
}

/// `config` with an input budget that holds `max_frame` plus the 4-byte prefix: the server
/// buffers a whole frame before decoding it, and closes a connection over its budget.
pub fn config(config: ServerConfig, max_frame: usize) -> ServerConfig {
    let budget = config
        .limits()
        .input_budget
        .max(max_frame.saturating_add(4));
    config.input_budget(budget)
}

/// Serves the [`kv_protocol`] over one shared [`Store`]; an oversized frame is answered
/// `TOO_LARGE` before the connection closes.
pub fn serve<A: Acceptor>(server: Server<A, KvResponse>, max_frame: usize) -> ServerHandle {
    server
        .on_failure(|failure| {
            let error = failure.error.downcast_ref::<FrameError>();
            let too_long = error.is_some_and(FrameError::is_too_long);
            too_long.then(|| KvResponse::status(Status::TooLarge))
        })
        .serve(kv_protocol::server_codec(max_frame), Kv::default())
}

#[derive(Debug, Parser)]
#[command(about = "Binary key-value server (u32 BE length-prefixed frames)")]
struct Args {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:7003")]
    addr: String,
    /// Largest frame payload accepted, in bytes; larger frames get TOO_LARGE and a close.
    #[arg(long, default_value_t = DEFAULT_MAX_FRAME_LEN)]
    max_frame: usize,
    #[command(flatten)]
    server: ServerArgs,
}

fn main() -> std::io::Result<()> {
    let args = Args::parse();
    let configure = |limits| config(limits, args.max_frame);
    launch::run_configured(&args.addr, &args.server, configure, |server| {
        serve(server, args.max_frame)
    })
}
