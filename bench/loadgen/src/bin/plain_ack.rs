//! plain_ack: the bench baseline for `ack_server`, written with nothing but tokio.
//!
//! The same protocol (each LF-terminated line, a CR before the LF dropped, is answered with
//! `ack:<line>\n`, in order) done the way a careful hand-written server does it: one 4 KiB read
//! buffer per connection, every whole line of a read answered into one output buffer, one write
//! per read. No framing library, no limits beyond a 64 KiB line; it is the yardstick, not a
//! server to deploy.
//!
//! ```text
//! plain_ack --addr 127.0.0.1:7101      # prints `listening on 127.0.0.1:7101`
//! ```

use std::io;
use std::time::Duration;

use clap::Parser;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Read buffer size, and how much it grows by for a longer line.
const READ_BUF: usize = 4 * 1024;
/// Longest line accepted; a longer one closes the connection.
const MAX_LINE: usize = 64 * 1024;

#[derive(Debug, Parser)]
#[command(about = "Plain-tokio ack server: the baseline ack_server is measured against")]
struct Args {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:7101")]
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

async fn serve(mut socket: TcpStream) -> io::Result<()> {
    socket.set_nodelay(true)?;
    let mut input = vec![0u8; READ_BUF];
    let (mut start, mut end) = (0, 0);
    let mut output = Vec::with_capacity(READ_BUF);
    loop {
        if end == input.len() {
            if start > 0 {
                input.copy_within(start..end, 0);
                (start, end) = (0, end - start);
            } else if input.len() > MAX_LINE {
                return Err(io::Error::new(io::ErrorKind::InvalidData, "line too long"));
            } else {
                input.resize(input.len() + READ_BUF, 0);
            }
        }
        let n = socket.read(&mut input[end..]).await?;
        if n == 0 {
            return Ok(());
        }
        end += n;
        while let Some(i) = memchr::memchr(b'\n', &input[start..end]) {
            let mut line = &input[start..start + i];
            if let [rest @ .., b'\r'] = line {
                line = rest;
            }
            output.extend_from_slice(b"ack:");
            output.extend_from_slice(line);
            output.push(b'\n');
            start += i + 1;
        }
        if start == end {
            (start, end) = (0, 0);
        }
        if !output.is_empty() {
            socket.write_all(&output).await?;
            output.clear();
        }
    }
}
