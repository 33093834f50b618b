//! framed_ack: the ack protocol as a tokio-util user writes it, `FramedRead`/`FramedWrite` with
//! `LinesCodec`, one of the peers `bench/server.sh` measures framekit against.
//!
//! Each LF-terminated line (a CR before the LF dropped, as `LinesCodec` does) is answered with
//! `ack:<line>\n`, in order. The answers of a read are fed to the writer and flushed together
//! when no further line is ready (`StreamExt::forward` flushes when its stream would wait), so
//! pipelined requests share a write. Lines longer than 64 KiB close the connection, the bound the
//! `LinesCodec` docs ask for on untrusted input.
//!
//! ```text
//! framed_ack --addr 127.0.0.1:7102     # prints `listening on 127.0.0.1:7102`
//! ```

use std::io;
use std::time::Duration;

use clap::Parser;
use futures::StreamExt;
use tokio::net::{TcpListener, TcpStream};
use tokio_util::codec::{FramedRead, FramedWrite, LinesCodec, LinesCodecError};

/// Longest line accepted; a longer one closes the connection.
const MAX_LINE: usize = 64 * 1024;

#[derive(Debug, Parser)]
#[command(
    about = "tokio-util Framed + LinesCodec ack server: a peer ack_server is measured against"
)]
struct Args {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:7102")]
    addr: String,
}

#[tokio::main]
async fn main() -> io::Result<()> {
    let args = Args::parse();
    let listener = TcpListener::bind(&args.addr).await?;
    println!("listening on {}", listener.local_addr()?);
    loop {
        match listener.accept().await {
            Ok((socket, _)) => {
                tokio::spawn(async move {
                    // A peer that resets or sends a monster line just loses its connection.
                    let _ = serve(socket).await;
                });
            }
            // Out of file descriptors and the like: back off instead of spinning.
            Err(_) => tokio::time::sleep(Duration::from_millis(5)).await,
        }
    }
}

async fn serve(socket: TcpStream) -> Result<(), LinesCodecError> {
    socket.set_nodelay(true)?;
    let (read, write) = socket.into_split();
    let lines = FramedRead::new(read, LinesCodec::new_with_max_length(MAX_LINE));
    let answers = FramedWrite::new(write, LinesCodec::new());
    lines
        .map(|line| line.map(|line| format!("ack:{line}")))
        .forward(answers)
        .await
}
