//! resp_server: a small Redis-compatible in-memory store (RESP2 parsed with nom) that
//! unmodified `redis-cli` and `redis-benchmark` talk to.
//!
//! ```text
//! cargo run --release -p framekit-examples --example resp_server
//! redis-cli -p 6380 set greeting hello     # OK
//! redis-cli -p 6380 get greeting           # "hello"
//! redis-benchmark -p 6380 -n 20000 -q -t ping,set,get,incr,mset
//! printf 'PING\r\n' | nc -q1 127.0.0.1 6380   # +PONG (inline command)
//! ```

use clap::Parser;
use framekit_examples::deploy::DeployArgs;
use framekit_examples::launch::{self, LimitArgs, RuntimeArgs};
use framekit_examples::resp::{
    RequestParser, DEFAULT_MAX_BULK_LEN, DEFAULT_MAX_REQUEST_LEN, MAX_BULK_LEN_CEILING,
};
use framekit_examples::servers;

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
    limits: LimitArgs,
    #[command(flatten)]
    deploy: DeployArgs,
    #[command(flatten)]
    runtime: RuntimeArgs,
}

/// jemalloc, as Redis ships (feature `jemalloc`, on by default): with it an idle connection
/// costs its allocations' sizes, not glibc's overhead on their 128-byte alignment.
#[cfg(feature = "jemalloc")]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> std::io::Result<()> {
    let args = Args::parse();
    launch::init_tracing();
    args.runtime.runtime()?.block_on(async move {
        let parser = RequestParser::new()
            .max_bulk_len(usize::try_from(args.max_value).unwrap_or(MAX_BULK_LEN_CEILING))
            .max_request_len(args.max_request);
        let config = servers::resp_config(args.limits.config(), &parser);
        let server = args
            .runtime
            .spread(args.deploy.server(&args.addr)?.config(config))?;
        let handle = servers::resp(server, parser);
        launch::announce_and_serve(handle, args.limits.shutdown_grace).await;
        Ok(())
    })
}
