//! kv_client: the command-line client of kv_server.
//!
//! ```text
//! kv_client [--addr 127.0.0.1:7003] set KEY VALUE    # prints OK
//! kv_client get KEY                                  # prints the value, or exits 1 if missing
//! kv_client del KEY                                  # prints OK, or exits 1 if missing
//! ```

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use framekit_examples::kv_protocol::{client_codec, KvRequest, Status, DEFAULT_MAX_FRAME_LEN};
use futures::{SinkExt, StreamExt};
use tokio_util::codec::Framed;

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
    let exchange = async {
        let socket = tokio::net::TcpStream::connect(&args.addr).await?;
        let mut conn = Framed::new(socket, client_codec(DEFAULT_MAX_FRAME_LEN));
        conn.send(request).await?;
        match conn.next().await {
            Some(resp) => Ok(resp?),
            None => Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "server closed the connection",
            )),
        }
    };
    let response = match tokio::time::timeout(deadline, exchange).await {
        Ok(Ok(response)) => response,
        Ok(Err(e)) => {
            eprintln!("kv_client: {e}");
            return ExitCode::from(2);
        }
        Err(_) => {
            eprintln!("kv_client: no answer within {deadline:?}");
            return ExitCode::from(2);
        }
    };
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
