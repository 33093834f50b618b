//! ack_server: newline-framed lines in, `ack:<line>` out, in order, pipelined.
//!
//! ```text
//! cargo run --release -p framekit-examples --example ack_server
//! printf 'hello\nworld\n' | nc -q1 127.0.0.1 7001      # ack:hello / ack:world
//! ```

use clap::Parser;
use framekit_examples::deploy::DeployArgs;
use framekit_examples::launch::{self, LimitArgs, RuntimeArgs};
use framekit_examples::servers;

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
        let server = args
            .runtime
            .spread(args.deploy.server(&args.addr)?.config(args.limits.config()))?;
        let handle = servers::ack(server, args.max_line);
        launch::announce_and_serve(handle, args.limits.shutdown_grace).await;
        Ok(())
    })
}
