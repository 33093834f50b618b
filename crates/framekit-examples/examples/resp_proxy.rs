//! resp_proxy: a Redis proxy in the manner of twemproxy, a framekit server in front of
//! framekit clients. Unmodified clients speak RESP to it; each key goes to one of the
//! `--backend`s by a ketama consistent hash; MGET, MSET, DEL, EXISTS, UNLINK and TOUCH are
//! split per backend and joined in the client's order; commands that cannot be proxied are
//! refused naming the command (see `framekit_examples::proxy`).
//!
//! ```text
//! redis-server --port 7001 & redis-server --port 7002 &
//! cargo run --release -p framekit-examples --example resp_proxy -- \
//!     --backend 127.0.0.1:7001 --backend 127.0.0.1:7002
//! redis-cli -p 22121 mset a 1 b 2 c 3     # OK (split over both backends)
//! redis-cli -p 22121 mget a b c           # 1 2 3
//! redis-benchmark -p 22121 -t set,get -n 20000 -P 16 -q
//! ```

use bytes::Bytes;
use clap::Parser;
use framekit_examples::launch::{self, parse_duration, ServerArgs};
use framekit_examples::proxy::{self, Backends, KeyHash, Proxy};
use framekit_examples::resp::{self, Request, RequestParser, RespCodec, Value, SERVER_FULL};
use framekit_examples::resp::{DEFAULT_MAX_BULK_LEN, MAX_BULK_LEN_CEILING};
use framekit_server::{listener::Acceptor, Ctx, Server, ServerHandle};

/// Serves RESP requests ([`RespCodec`], `parser`'s limits) through `proxy`, whose handler
/// plans each and sends it to its backends ([`Proxy::handle`]); each client's answers go out in
/// its request order. Protocol errors and `QUIT` close the connection after their answer.
pub fn serve<A: Acceptor>(
    server: Server<A, Bytes>,
    parser: RequestParser,
    proxy: Proxy,
) -> ServerHandle {
    server
        .on_failure(|failure| resp::failure_reply(failure).map(|reply| reply.to_bytes()))
        .on_reject(|_peer| Some(Value::error(SERVER_FULL).to_bytes()))
        .serve(
            RespCodec::new(parser),
            move |request: Request, _ctx: Ctx| proxy.handle(request),
        )
}

#[derive(Debug, Parser)]
#[command(about = "A Redis proxy: keys spread over backends by a consistent hash")]
struct Args {
    /// Address to listen on; port 0 picks a free port (twemproxy's default port by default).
    #[arg(long, default_value = "127.0.0.1:22121")]
    addr: String,
    /// A backend redis-server, HOST:PORT; repeat for each (its address is its name on the ring).
    #[arg(long = "backend", value_name = "HOST:PORT", required = true)]
    backends: Vec<String>,
    /// Hash only the part of a key between these two characters, e.g. {} (twemproxy's
    /// hash_tag): keys with one tag share a backend.
    #[arg(long, value_parser = parse_tag)]
    hash_tag: Option<[u8; 2]>,
    /// How keys are hashed onto the ring: md5 (ketama's own) or fnv1a_64 (twemproxy's
    /// default, which puts keys that differ only in their last bytes on one backend).
    #[arg(long, value_enum, default_value_t = KeyHash::Md5)]
    hash: KeyHash,
    /// A request's deadline at its backend, connecting and waiting for room included.
    #[arg(long, default_value = "2s", value_parser = parse_duration)]
    backend_timeout: std::time::Duration,
    /// Requests in flight on one backend connection; more wait.
    #[arg(long, default_value_t = proxy::DEFAULT_BACKEND_IN_FLIGHT)]
    backend_in_flight: usize,
    /// Connect retries (exponential backoff with jitter) when a backend's connection failed.
    #[arg(long, default_value_t = proxy::DEFAULT_BACKEND_RETRIES)]
    backend_retries: u32,
    /// How long a backend whose connect failed is left out: its requests fail at once
    /// (twemproxy's server_retry_timeout).
    #[arg(long, default_value = "500ms", value_parser = parse_duration)]
    backend_retry_pause: std::time::Duration,
    /// Largest value (bulk string) accepted from a client, in bytes; at most 512 MiB.
    #[arg(long, default_value_t = DEFAULT_MAX_BULK_LEN as u64,
          value_parser = clap::value_parser!(u64).range(1..=MAX_BULK_LEN_CEILING as u64))]
    max_value: u64,
    #[command(flatten)]
    server: ServerArgs,
}

fn parse_tag(text: &str) -> Result<[u8; 2], String> {
    <[u8; 2]>::try_from(text.as_bytes())
        .map_err(|_| format!("`{text}` is not two characters such as {{}}"))
}

framekit_examples::jemalloc!();

fn main() -> std::io::Result<()> {
    let args = Args::parse();
    launch::init_tracing();
    args.server.runtime.runtime()?.block_on(async move {
        let parser = RequestParser::new()
            .max_bulk_len(usize::try_from(args.max_value).unwrap_or(MAX_BULK_LEN_CEILING));
        let backends = Backends::new(args.backends.clone())
            .key_hash(args.hash)
            .hash_tag(args.hash_tag)
            .timeout(args.backend_timeout)
            .in_flight(args.backend_in_flight)
            .retries(args.backend_retries)
            .retry_pause(args.backend_retry_pause);
        let config = resp::server_config(args.server.limits.config(), &parser);
        let server = args.server.deploy.server(&args.addr)?.config(config);
        let server = args.server.runtime.spread(server)?;
        // After the server: with --metrics-addr it installs the recorder, which the backend
        // clients' metrics handles are resolved in when they are built.
        tracing::info!(backends = ?backends.addresses(), "ketama ring");
        let proxy = Proxy::new(&backends);
        let handle = serve(server, parser, proxy.clone());
        launch::announce_and_serve(handle, args.server.limits.shutdown_grace).await;
        proxy.close().await;
        Ok(())
    })
}
