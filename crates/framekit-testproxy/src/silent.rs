//! A backend that never answers: it accepts, reads and drops everything, and keeps each
//! connection open until the client closes or the backend is dropped. For deadlines and
//! "the server went quiet" tests.

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::AsyncReadExt;
use tokio::net::TcpListener;
use tokio::task::{JoinHandle, JoinSet};

/// Connections held at once; more are closed on accept.
const MAX_CONNECTIONS: usize = 1024;

/// A server on 127.0.0.1 that reads and never writes.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// use std::time::Duration;
/// use framekit_testproxy::SilentBackend;
/// use tokio::io::{AsyncReadExt, AsyncWriteExt};
///
/// let silent = SilentBackend::start().await?;
/// let mut client = tokio::net::TcpStream::connect(silent.local_addr()).await?;
/// client.write_all(b"PING\r\n").await?;
/// let answer = tokio::time::timeout(Duration::from_millis(50), client.read(&mut [0u8; 8])).await;
/// assert!(answer.is_err(), "no answer ever comes");
/// # Ok(()) }
/// ```
pub struct SilentBackend {
    addr: SocketAddr,
    received: Arc<AtomicU64>,
    task: JoinHandle<()>,
}

impl SilentBackend {
    /// Listens on a free port of 127.0.0.1.
    pub async fn start() -> io::Result<SilentBackend> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let received = Arc::new(AtomicU64::new(0));
        let task = tokio::spawn(swallow(listener, Arc::clone(&received)));
        Ok(SilentBackend {
            addr,
            received,
            task,
        })
    }

    /// Where clients connect.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Bytes read (and dropped) so far, over all connections.
    pub fn received(&self) -> u64 {
        self.received.load(Relaxed)
    }
}

impl Drop for SilentBackend {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn swallow(listener: TcpListener, received: Arc<AtomicU64>) {
    let mut held = JoinSet::new();
    loop {
        let mut stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        while held.try_join_next().is_some() {}
        if held.len() >= MAX_CONNECTIONS {
            continue;
        }
        let received = Arc::clone(&received);
        held.spawn(async move {
            let mut buf = [0u8; 4096];
            while let Ok(n @ 1..) = stream.read(&mut buf).await {
                received.fetch_add(n as u64, Relaxed);
            }
        });
    }
}
