//! kv_server: a binary GET/SET/DEL key-value protocol behind a u32 big-endian length prefix.
//! The wire format is documented in `framekit_examples::kv_protocol`; `kv_client` speaks it.
//!
//! ```text
//! cargo run --release -p framekit-examples --example kv_server
//! cargo run --release -p framekit-examples --example kv_client -- set greeting hello
//! cargo run --release -p framekit-examples --example kv_client -- get greeting
//! ```

use clap::Parser;
use framekit_examples::deploy::DeployArgs;
use framekit_examples::kv_protocol::DEFAULT_MAX_FRAME_LEN;
use framekit_examples::launch::{self, LimitArgs, RuntimeArgs};
use framekit_examples::servers;

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
        let config = servers::kv_config(args.limits.config(), args.max_frame);
        let server = args
            .runtime
            .spread(args.deploy.server(&args.addr)?.config(config))?;
        let handle = servers::kv(server, args.max_frame);
        launch::announce_and_serve(handle, args.limits.shutdown_grace).await;
        Ok(())
    })
}
