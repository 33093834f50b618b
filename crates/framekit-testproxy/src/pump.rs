//! One direction of a proxied connection: read, apply the [`Faults`], write, until EOF or a
//! fault ends it. Writes never cross a fault's byte position, so a reset or half-close lands on
//! the exact byte the plan names.

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::plan::Faults;

/// The read buffer of one direction: bounded, and large enough that an unfaulted pump is not
/// the bottleneck of a loopback test.
const BUFFER: usize = 16 * 1024;

/// How one direction ended.
#[derive(Debug)]
pub(crate) enum Ended {
    /// The source closed and the close was forwarded.
    Eof,
    /// The plan shut this direction down; the rest of the source was read and dropped.
    HalfClosed,
    /// The plan asks for a reset of both sockets.
    Reset,
    /// A read or write failed (the peer reset, or the target went away).
    Failed,
}

/// Forwards `from` to `to` under `faults`.
pub(crate) async fn pump<R, W>(mut from: R, mut to: W, faults: Faults) -> Ended
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut buf = vec![0u8; BUFFER];
    let mut forwarded: u64 = 0;
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) => {
                return match to.shutdown().await {
                    Ok(()) => Ended::Eof,
                    Err(_) => Ended::Failed,
                }
            }
            Ok(n) => n,
            Err(_) => return Ended::Failed,
        };
        let mut at = 0;
        while at < n {
            let mut step = if faults.is_sliced() { 1 } else { n - at };
            if let Some(point) = faults.next_point(forwarded) {
                let room = usize::try_from(point.saturating_sub(forwarded)).unwrap_or(usize::MAX);
                step = step.min(room);
            }
            if let Some(latency) = faults.latency_per_piece() {
                tokio::time::sleep(latency).await;
            }
            if to.write_all(&buf[at..at + step]).await.is_err() {
                return Ended::Failed;
            }
            if to.flush().await.is_err() {
                return Ended::Failed;
            }
            at += step;
            forwarded = forwarded.saturating_add(step as u64);
            if let Some(stall) = faults.stall_point().filter(|s| s.after == forwarded) {
                tokio::time::sleep(stall.duration).await;
            }
            if faults.reset_position() == Some(forwarded) {
                return Ended::Reset;
            }
            if faults.half_close_position() == Some(forwarded) {
                return half_close(from, to, &mut buf).await;
            }
        }
    }
}

/// Shuts `to` down, then reads `from` to its end, dropping what comes.
async fn half_close<R, W>(mut from: R, mut to: W, buf: &mut [u8]) -> Ended
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    if to.shutdown().await.is_err() {
        return Ended::Failed;
    }
    loop {
        match from.read(buf).await {
            Ok(0) => return Ended::HalfClosed,
            Ok(_) => {}
            Err(_) => return Ended::Failed,
        }
    }
}
