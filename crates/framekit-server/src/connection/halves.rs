//! The read and write halves of a busy connection, borrowed from the transport the connection
//! task owns.
//!
//! `tokio::io::split` takes the stream by value and puts it in an `Arc` (one allocation, and
//! an idle connection would carry its pointer and count). A busy phase only borrows the
//! transport for its own length, so both halves here are references to one lock that lives in
//! the busy phase's own state: no allocation, and nothing left once the connection is quiet
//! again. The lock is never contended: both halves are polled by the one connection task, one
//! at a time; it exists because the busy phase's future must be `Send`, which a `RefCell`
//! shared by reference is not.

use std::io;
use std::pin::Pin;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// One transport, borrowed by both halves.
pub(super) struct Borrowed<'a, Io>(Mutex<&'a mut Io>);

impl<'a, Io> Borrowed<'a, Io> {
    pub(super) fn new(io: &'a mut Io) -> Self {
        Borrowed(Mutex::new(io))
    }

    /// A half (read or write: each is both, and the connection uses each for one side).
    pub(super) fn half(&self) -> Half<'_, 'a, Io> {
        Half(&self.0)
    }
}

/// A half of a borrowed transport (see the module doc).
pub(super) struct Half<'s, 'a, Io>(&'s Mutex<&'a mut Io>);

impl<'s, 'a, Io> Half<'s, 'a, Io> {
    fn io(&self) -> MutexGuard<'s, &'a mut Io> {
        // A panic while polling unwinds the whole connection task: nothing reads on after it.
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl<Io: AsyncRead + Unpin> AsyncRead for Half<'_, '_, Io> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut **self.io()).poll_read(cx, buf)
    }
}

impl<Io: AsyncWrite + Unpin> AsyncWrite for Half<'_, '_, Io> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut **self.io()).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut **self.io()).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io().is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut **self.io()).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut **self.io()).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    #[tokio::test]
    async fn both_halves_reach_the_one_transport() {
        let (mut peer, mut ours) = tokio::io::duplex(64);
        {
            let shared = Borrowed::new(&mut ours);
            let (mut rd, mut wr) = (shared.half(), shared.half());
            peer.write_all(b"ping").await.unwrap();
            let mut got = [0u8; 4];
            rd.read_exact(&mut got).await.unwrap();
            assert_eq!(&got, b"ping");
            wr.write_all(b"pong").await.unwrap();
            wr.shutdown().await.unwrap();
        }
        let mut answer = Vec::new();
        peer.read_to_end(&mut answer).await.unwrap();
        assert_eq!(answer, b"pong");
        // The transport is whole again once the halves are gone.
        peer.write_all(b"again").await.unwrap();
        let mut again = [0u8; 5];
        ours.read_exact(&mut again).await.unwrap();
        assert_eq!(&again, b"again");
    }
}
