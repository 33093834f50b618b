//! kv_client: the command-line client of kv_server.
//!
//! ```text
//! kv_client [--addr 127.0.0.1:7003] set KEY VALUE    # prints OK
//! kv_client get KEY                                  # prints the value, or exits 1 if missing
//! kv_client del KEY                                  # prints OK, or exits 1 if missing
//! ```
//!
//! Built on framekit-client: one connection (connect timeout, no reconnect), the request's
//! deadline kept by the connection machine, and a failure that says whether the request may
//! have been applied.

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use framekit::connection::{Owned, Pipelined};
use framekit_client::{ClientConnection, Connector, Endpoint, Options, Reconnect};
use framekit_examples::kv_protocol::{client_codec, KvRequest, Status, DEFAULT_MAX_FRAME_LEN};

#[derive(Debug, Parser)]
#[command(about = "Client of kv_server")]
struct Args {
    /// The server's address.
    #[arg(long, default_value = "127.0.0.1:7003")]
    addr: String,
    /// Give up after this many seconds.
    #[arg(long, default_value_t = 5)]
    timeout_secs: u64,
    #[command(subcommand)]
    op: Op,
}

#[derive(Debug, Subcommand)]
enum Op {
    /// Print the value of KEY.
    Get { key: String },
    /// Set KEY to VALUE.
    Set { key: String, value: String },
    /// Delete KEY.
    Del { key: String },
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args = Args::parse();
    let request = match args.op {
        Op::Get { key } => KvRequest::Get { key: key.into() },
        Op::Set { key, value } => KvRequest::Set {
            key: key.into(),
            value: value.into(),
        },
        Op::Del { key } => KvRequest::Del { key: key.into() },
    };
    let is_get = matches!(request, KvRequest::Get { .. });
    let deadline = Duration::from_secs(args.timeout_secs);
    let connector = Connector::new(Endpoint::tcp(&args.addr)).timeout(deadline);
    let transport = match connector.connect_with(&Reconnect::Never).await {
        Ok(transport) => transport,
        Err(e) => {
            eprintln!("kv_client: {e}");
            return ExitCode::from(2);
        }
    };
    let codec = Owned(client_codec(DEFAULT_MAX_FRAME_LEN));
    let conn = ClientConnection::spawn(transport, codec, Pipelined, Options::default(), &connector);
    let response = match conn.call_within(request, deadline).await {
        Ok(response) => response,
        Err(e) => {
            let applied = if e.may_have_been_applied() {
                "may have been"
            } else {
                "was not"
            };
            eprintln!("kv_client: {e} (the request {applied} applied)");
            return ExitCode::from(2);
        }
    };
    conn.close().await;
    let mut out = std::io::stdout().lock();
    match response.status {
        Status::Ok if is_get => {
            let _ = out.write_all(&response.value);
            let _ = writeln!(out);
            ExitCode::SUCCESS
        }
        Status::Ok => {
            let _ = writeln!(out, "OK");
            ExitCode::SUCCESS
        }
        other => {
            eprintln!("kv_client: {other:?}");
            ExitCode::from(1)
        }
    }
}
