//! records_server: 16-byte records (u64 timestamp, f64 value, big endian) in; a query record
//! (timestamp 0xFFFFFFFFFFFFFFFF) gets a 32-byte summary: count, min, max, mean.
//!
//! ```text
//! cargo run --release -p framekit-examples --example records_server
//! # two records (t=1 v=2.0, t=2 v=4.0), then a query; prints the 32-byte summary in hex
//! printf '\0\0\0\0\0\0\0\001\100\0\0\0\0\0\0\0\0\0\0\0\0\0\0\002\100\020\0\0\0\0\0\0\377\377\377\377\377\377\377\377\0\0\0\0\0\0\0\0' \
//!   | nc -q1 127.0.0.1 7004 | od -An -tx1
//! ```

use clap::Parser;
use framekit_examples::deploy::DeployArgs;
use framekit_examples::launch::{self, LimitArgs, RuntimeArgs};
use framekit_examples::servers;

#[derive(Debug, Parser)]
#[command(about = "Aggregates fixed-size 16-byte records; queries get count/min/max/mean")]
struct Args {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:7004")]
    addr: String,
    #[command(flatten)]
    limits: LimitArgs,
    #[command(flatten)]
    deploy: DeployArgs,
    #[command(flatten)]
    runtime: RuntimeArgs,
}

fn main() -> std::io::Result<()> {
    let args = Args::parse();
    launch::init_tracing();
    args.runtime.runtime()?.block_on(async move {
        let server = args
            .runtime
            .spread(args.deploy.server(&args.addr)?.config(args.limits.config()))?;
        let handle = servers::records(server);
        launch::announce_and_serve(handle, args.limits.shutdown_grace).await;
        Ok(())
    })
}
