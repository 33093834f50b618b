//! The PROXY preamble stage: before any byte is framed, read the balancer's header under
//! [`Timer::Preamble`], refuse what may not or does not come, and learn the client's address.
//!
//! Bytes read past the header are the client's own; [`Rewind`] hands them to whatever reads
//! next (the TLS handshake, or the framing loop) before the socket's.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Buf, Bytes, BytesMut};
use framekit::framing::proxy::{ProxyCodec, ProxyProtocol};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, ReadBuf};
use tokio::time::Instant;
use tokio_util::codec::Decoder;

use crate::config::{expiry, expiry_or_far};
use crate::context::Ctx;
use crate::listener::Addr;
use crate::metrics::CloseReason;
use crate::preamble::Preamble;
use crate::timers::{Timer, TimerTable};

/// How much one read of the preamble asks for: a v1 line, or a v2 header with small TLVs.
const PREAMBLE_READ: usize = 512;

/// Runs the stage: `Ok` with the connection (its unread bytes first) and the context the
/// handler gets, or the reason the connection is refused.
pub(crate) async fn receive<Io>(
    mut io: Io,
    preamble: &Preamble,
    ctx: Ctx,
) -> Result<(Rewind<Io>, Ctx), CloseReason>
where
    Io: AsyncRead + AsyncWrite + Unpin,
{
    let Some(versions) = preamble.mode().versions() else {
        return Ok((Rewind::new(io, Bytes::new()), ctx));
    };
    // Unix and in-memory peers are as trusted as the file or the code that reaches them.
    if let Addr::Tcp(peer) = ctx.peer() {
        if !preamble.trusts(peer.ip()) {
            tracing::info!(%peer, "PROXY header refused: the source is not a trusted network");
            return Err(CloseReason::PreambleRefused);
        }
    }
    let mut codec =
        ProxyCodec::new(ProxyProtocol::new(versions).max_header_len(preamble.header_limit()));
    let mut buf = BytesMut::new();
    let mut timers = TimerTable::default();
    let now = Instant::now();
    let timeout = preamble.header_timeout();
    timers.set(Timer::Preamble, expiry(timeout, now));
    let sleep = tokio::time::sleep_until(expiry_or_far(timeout, now));
    tokio::pin!(sleep);
    let header = loop {
        match codec.decode(&mut buf) {
            Ok(Some(header)) => break header,
            Ok(None) => {}
            Err(e) => {
                tracing::info!(error = %e, "PROXY header refused");
                return Err(CloseReason::PreambleRefused);
            }
        }
        buf.reserve(PREAMBLE_READ);
        tokio::select! {
            // Nothing was read from the client yet: a shutdown may close this one at once.
            () = ctx.shutdown() => return Err(CloseReason::Shutdown),
            read = io.read_buf(&mut buf) => match read {
                Ok(0) => {
                    tracing::debug!(buffered = buf.len(), "closed before its PROXY header");
                    return Err(CloseReason::PreambleRefused);
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::debug!(error = %e, "read failed in the PROXY preamble");
                    return Err(CloseReason::Reset);
                }
            },
            timer = std::future::poll_fn(|cx| timers.poll_expired(sleep.as_mut(), cx)) => {
                debug_assert_eq!(timer, Timer::Preamble);
                tracing::info!(buffered = buf.len(), "PROXY header timeout");
                return Err(CloseReason::PreambleTimeout);
            }
        }
    };
    tracing::debug!(source = ?header.source(), command = ?header.command, "PROXY header");
    Ok((Rewind::new(io, buf.freeze()), ctx.with_proxy_header(header)))
}

/// A connection whose first bytes were already read: they are read again first.
#[derive(Debug)]
pub(crate) struct Rewind<Io> {
    /// Boxed, and only while there is something: the connection carries one pointer.
    pending: Option<Box<Bytes>>,
    io: Io,
}

impl<Io> Rewind<Io> {
    pub(crate) fn new(io: Io, pending: Bytes) -> Self {
        let pending = (!pending.is_empty()).then(|| Box::new(pending));
        Rewind { pending, io }
    }
}

impl<Io: AsyncRead + Unpin> AsyncRead for Rewind<Io> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if let Some(pending) = self.pending.as_mut() {
            let n = pending.len().min(buf.remaining());
            buf.put_slice(&pending[..n]);
            pending.advance(n);
            if pending.is_empty() {
                self.pending = None;
            }
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl<Io: AsyncWrite + Unpin> AsyncWrite for Rewind<Io> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use bytes::BytesMut;
    use framekit::framing::proxy::ProxyHeader;
    use tokio::io::AsyncWriteExt;
    use tokio_util::sync::CancellationToken;

    use super::*;
    use crate::preamble::ProxyMode;

    fn ctx(peer: &str) -> Ctx {
        Ctx::new(
            1,
            Addr::Tcp(peer.parse().unwrap()),
            CancellationToken::new(),
        )
    }

    fn v2(source: &str) -> Vec<u8> {
        let mut wire = BytesMut::new();
        ProxyHeader::v2_proxy(source.parse().unwrap(), "10.0.0.1:6379".parse().unwrap())
            .write(&mut wire)
            .unwrap();
        wire.to_vec()
    }

    #[tokio::test]
    async fn a_trusted_header_gives_the_client_address_and_keeps_the_bytes_after_it() {
        let (mut peer, io) = tokio::io::duplex(1024);
        let mut sent = v2("192.0.2.1:5000");
        sent.extend_from_slice(b"PING\r\n");
        peer.write_all(&sent).await.unwrap();
        let (mut io, ctx) = receive(io, &Preamble::new(ProxyMode::Any), ctx("127.0.0.1:40000"))
            .await
            .unwrap();
        assert_eq!(ctx.peer(), &Addr::Tcp("192.0.2.1:5000".parse().unwrap()));
        assert_eq!(
            ctx.socket_peer(),
            &Addr::Tcp("127.0.0.1:40000".parse().unwrap())
        );
        assert_eq!(ctx.destination(), Some("10.0.0.1:6379".parse().unwrap()));
        let mut rest = [0u8; 6];
        io.read_exact(&mut rest).await.unwrap();
        assert_eq!(&rest, b"PING\r\n");
    }

    #[tokio::test]
    async fn local_and_unknown_keep_the_socket_addresses() {
        for header in [ProxyHeader::v2_local(), ProxyHeader::v1_unknown()] {
            let (mut peer, io) = tokio::io::duplex(1024);
            let mut wire = BytesMut::new();
            header.write(&mut wire).unwrap();
            peer.write_all(&wire).await.unwrap();
            let (_, ctx) = receive(io, &Preamble::new(ProxyMode::Any), ctx("127.0.0.1:40000"))
                .await
                .unwrap();
            assert_eq!(ctx.peer(), &Addr::Tcp("127.0.0.1:40000".parse().unwrap()));
            assert_eq!(ctx.proxy_header(), Some(&header));
        }
    }

    #[tokio::test]
    async fn untrusted_sources_no_header_and_the_wrong_version_are_refused() {
        let (mut peer, io) = tokio::io::duplex(1024);
        peer.write_all(&v2("192.0.2.1:5000")).await.unwrap();
        let got = receive(io, &Preamble::new(ProxyMode::Any), ctx("192.0.2.9:1")).await;
        assert_eq!(got.err(), Some(CloseReason::PreambleRefused));

        let (mut peer, io) = tokio::io::duplex(1024);
        peer.write_all(b"*1\r\n$4\r\nPING\r\n").await.unwrap();
        let got = receive(io, &Preamble::new(ProxyMode::Any), ctx("127.0.0.1:1")).await;
        assert_eq!(got.err(), Some(CloseReason::PreambleRefused));

        let (mut peer, io) = tokio::io::duplex(1024);
        peer.write_all(b"PROXY UNKNOWN\r\n").await.unwrap();
        let got = receive(io, &Preamble::new(ProxyMode::V2), ctx("127.0.0.1:1")).await;
        assert_eq!(got.err(), Some(CloseReason::PreambleRefused));

        let (peer, io) = tokio::io::duplex(1024);
        drop(peer);
        let got = receive(io, &Preamble::new(ProxyMode::V1), ctx("127.0.0.1:1")).await;
        assert_eq!(got.err(), Some(CloseReason::PreambleRefused));
    }

    #[tokio::test(start_paused = true)]
    async fn a_header_that_does_not_finish_in_time_is_refused_at_the_timeout() {
        let (mut peer, io) = tokio::io::duplex(1024);
        peer.write_all(b"PROXY TCP4 192.0.2.1").await.unwrap();
        let start = Instant::now();
        let preamble = Preamble::new(ProxyMode::V1).timeout(Duration::from_secs(3));
        let got = receive(io, &preamble, ctx("127.0.0.1:1")).await;
        assert_eq!(got.err(), Some(CloseReason::PreambleTimeout));
        assert_eq!(Instant::now() - start, Duration::from_secs(3));
    }

    #[tokio::test]
    async fn off_reads_nothing() {
        let (mut peer, io) = tokio::io::duplex(1024);
        peer.write_all(b"PING\r\n").await.unwrap();
        let (mut io, ctx) = receive(io, &Preamble::default(), ctx("192.0.2.9:1"))
            .await
            .unwrap();
        assert!(ctx.proxy_header().is_none());
        let mut got = [0u8; 6];
        io.read_exact(&mut got).await.unwrap();
        assert_eq!(&got, b"PING\r\n");
    }
}
