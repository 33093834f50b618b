//! memcached_server: memcached's text protocol (classic and meta commands) over an in-memory
//! store with a memory limit and LRU eviction, which unmodified memcached clients talk to.
//!
//! ```text
//! cargo run --release -p framekit-examples --example memcached_server
//! printf 'set greeting 0 0 5\r\nhello\r\nget greeting\r\n' | nc -q1 127.0.0.1 11212
//! memcslap --servers=127.0.0.1:11212 --concurrency=4 --execute-number=1000
//! ```

use clap::Parser;
use framekit_examples::deploy::DeployArgs;
use framekit_examples::launch::{self, LimitArgs, RuntimeArgs};
use framekit_examples::memcached::{
    server, MemcacheFraming, DEFAULT_ITEM_MAX, DEFAULT_MAX_GET_LINE, DEFAULT_MEMORY_LIMIT,
    ITEM_MAX_CEILING,
};

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
    limits: LimitArgs,
    #[command(flatten)]
    deploy: DeployArgs,
    #[command(flatten)]
    runtime: RuntimeArgs,
}

/// jemalloc (feature `jemalloc`, on by default), as the other example servers.
#[cfg(feature = "jemalloc")]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> std::io::Result<()> {
    let args = Args::parse();
    launch::init_tracing();
    args.runtime.runtime()?.block_on(async move {
        let framing = MemcacheFraming::new()
            .item_max(usize::try_from(args.item_max).unwrap_or(ITEM_MAX_CEILING))
            .max_get_line(args.max_get_line);
        let memory = usize::try_from(args.memory_mb << 20).unwrap_or(usize::MAX);
        let config = server::config(args.limits.config(), &framing);
        let listener = args
            .runtime
            .spread(args.deploy.server(&args.addr)?.config(config))?;
        let handle = server::serve(listener, framing, memory);
        launch::announce_and_serve(handle, args.limits.shutdown_grace).await;
        Ok(())
    })
}
