//! memcached_server: memcached's text protocol (classic and meta commands) over an in-memory
//! store with a memory limit and LRU eviction, which unmodified memcached clients talk to.
//!
//! ```text
//! cargo run --release -p framekit-examples --example memcached_server
//! printf 'set greeting 0 0 5\r\nhello\r\nget greeting\r\n' | nc -N 127.0.0.1 11212
//! memcslap --servers=127.0.0.1:11212 --concurrency=4 --execute-number=1000
//! ```

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use clap::Parser;
use framekit_examples::launch::{self, ServerArgs};
use framekit_examples::memcached::codec::{self, MemcacheCodec, Run, SERVER_FULL};
use framekit_examples::memcached::{Clock, Connections, Env, Flow, Open, Request, Store};
use framekit_examples::memcached::{
    MemcacheFraming, DEFAULT_ITEM_MAX, DEFAULT_MAX_GET_LINE, DEFAULT_MEMORY_LIMIT, ITEM_MAX_CEILING,
};
use framekit_server::listener::Acceptor;
use framekit_server::{Answer, Ctx, Handler, Responder, Server, ServerHandle};

/// The memcached handler: every connection runs its requests, in order, against one store.
#[derive(Debug)]
pub struct Memcache {
    store: Mutex<Store>,
    clock: Clock,
    connections: Arc<Connections>,
    /// The process id for `stats`, read once (`getpid` is a system call).
    pid: u32,
}

impl Handler<MemcacheCodec, Bytes> for Memcache {
    type State = Open;
    /// Never deferred: every command answers at once.
    type Later = std::future::Ready<Option<Bytes>>;

    fn open(&self, _ctx: &Ctx) -> Open {
        self.connections.open()
    }

    fn call(
        &self,
        request: Request<'_>,
        _open: &mut Open,
        _ctx: &Ctx,
        out: &mut Responder<'_, MemcacheCodec, Bytes>,
    ) -> Answer<Self::Later> {
        let env = Env::now(self.clock, self.pid, &self.connections);
        let mut store = self.store.lock().unwrap_or_else(|p| p.into_inner());
        let mut flow = Flow::Continue;
        out.send(Run {
            request: &request,
            store: &mut store,
            env,
            flow: &mut flow,
        });
        match flow {
            Flow::Continue => Answer::Done,
            Flow::Close => Answer::Close,
        }
    }
}

/// `memcached_server`: memcached's text protocol over one [`Store`] of `memory` bytes. A line
/// over the limit ends its connection without a word, as memcached does; a client past the
/// connection limit is told [`SERVER_FULL`].
pub fn serve<A: Acceptor>(
    server: Server<A, Bytes>,
    framing: MemcacheFraming,
    memory: usize,
) -> ServerHandle {
    let handler = Memcache {
        store: Mutex::new(Store::new(memory, framing.item_limit())),
        clock: Clock::system(),
        connections: Arc::default(),
        pid: std::process::id(),
    };
    server
        .on_failure(|_| None)
        .on_reject(|_| Some(Bytes::from_static(SERVER_FULL)))
        .serve(MemcacheCodec::new(framing), handler)
}

#[derive(Debug, Parser)]
#[command(about = "A memcached-compatible (text protocol) in-memory cache")]
struct Args {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:11212")]
    addr: String,
    /// Memory for items, in MiB (memcached's -m); the least recently used go first.
    #[arg(long, default_value_t = (DEFAULT_MEMORY_LIMIT >> 20) as u64,
          value_parser = clap::value_parser!(u64).range(1..=1 << 20))]
    memory_mb: u64,
    /// Largest item (key, value and header), in bytes (memcached's -I); at most 1 GiB.
    #[arg(long, default_value_t = DEFAULT_ITEM_MAX as u64,
          value_parser = clap::value_parser!(u64).range(64..=ITEM_MAX_CEILING as u64))]
    item_max: u64,
    /// Longest get/gets line, in bytes.
    #[arg(long, default_value_t = DEFAULT_MAX_GET_LINE)]
    max_get_line: usize,
    #[command(flatten)]
    server: ServerArgs,
}

framekit_examples::jemalloc!();

fn main() -> std::io::Result<()> {
    let args = Args::parse();
    let framing = MemcacheFraming::new()
        .item_max(usize::try_from(args.item_max).unwrap_or(ITEM_MAX_CEILING))
        .max_get_line(args.max_get_line);
    let memory = usize::try_from(args.memory_mb << 20).unwrap_or(usize::MAX);
    let configure = |limits| codec::config(limits, &framing);
    launch::run_configured(&args.addr, &args.server, configure, |server| {
        serve(server, framing.clone(), memory)
    })
}
