//! The bytes a connection frames: the accepted stream itself, or TLS over it once the
//! handshake stage is done (feature `tls`).
//!
//! This room owns the connection's setup stages that change its transport: [`open`] runs them
//! in the connection's own task, and [`Transport`] is what the framing loop reads and writes.
//! One enum rather than a type per stage keeps one copy of the driver, whatever a server
//! turns on; a plain connection pays one predictable branch per read and write.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::context::Ctx;
use crate::metrics::CloseReason;
use crate::shared::Shared;

/// A connection's transport after its setup stages.
pub(crate) enum Transport<Io> {
    /// The accepted stream as it is.
    Plain(Io),
    /// TLS over it (boxed: rustls' state is large, and plain connections should not carry
    /// its size).
    #[cfg(feature = "tls")]
    Tls(Box<tokio_rustls::server::TlsStream<Io>>),
}

/// Runs the setup stages that change the transport (the TLS handshake, when the server has
/// TLS), and returns the context with what they learned; `Err` is the reason the connection
/// closes instead.
pub(crate) async fn open<Io, R>(
    io: Io,
    shared: &Shared<R>,
    ctx: Ctx,
) -> Result<(Transport<Io>, Ctx), CloseReason>
where
    Io: AsyncRead + AsyncWrite + Unpin,
{
    #[cfg(feature = "tls")]
    if let Some(tls) = &shared.tls {
        let (stream, info) = tls.handshake(io, &ctx).await?;
        return Ok((Transport::Tls(Box::new(stream)), ctx.with_tls(info)));
    }
    #[cfg(not(feature = "tls"))]
    let _ = shared;
    Ok((Transport::Plain(io), ctx))
}

impl<Io: AsyncRead + AsyncWrite + Unpin> AsyncRead for Transport<Io> {
    #[inline]
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Transport::Plain(io) => Pin::new(io).poll_read(cx, buf),
            #[cfg(feature = "tls")]
            Transport::Tls(tls) => Pin::new(tls).poll_read(cx, buf),
        }
    }
}

impl<Io: AsyncRead + AsyncWrite + Unpin> AsyncWrite for Transport<Io> {
    #[inline]
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Transport::Plain(io) => Pin::new(io).poll_write(cx, buf),
            #[cfg(feature = "tls")]
            Transport::Tls(tls) => Pin::new(tls).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Transport::Plain(io) => Pin::new(io).poll_write_vectored(cx, bufs),
            #[cfg(feature = "tls")]
            Transport::Tls(tls) => Pin::new(tls).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            Transport::Plain(io) => io.is_write_vectored(),
            #[cfg(feature = "tls")]
            Transport::Tls(tls) => tls.is_write_vectored(),
        }
    }

    #[inline]
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Transport::Plain(io) => Pin::new(io).poll_flush(cx),
            #[cfg(feature = "tls")]
            Transport::Tls(tls) => Pin::new(tls).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Transport::Plain(io) => Pin::new(io).poll_shutdown(cx),
            #[cfg(feature = "tls")]
            Transport::Tls(tls) => Pin::new(tls).poll_shutdown(cx),
        }
    }
}
