//! The in-memory connection the laws serve: [`Pipe`], an [`Acceptor`] that hands the server one
//! [`PlannedIo`], a `tokio::io::duplex` pipe whose reads take at most the sizes a [`Plan`]
//! says and whose writes accept at most its amounts; the test keeps the pipe's other end and
//! plays the peer.

use std::fmt;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, DuplexStream, ReadBuf};

use crate::listener::{Accepted, Acceptor, Addr};

/// How one run cuts the input and the output: the peer's writes, its pauses, the server's
/// reads and the server's writes. Every list is cycled; an empty list, or one of zeros only,
/// stands for "no limit" (a schedule must let bytes through somewhere).
///
/// ```
/// use framekit_server::laws::Plan;
///
/// let whole = Plan::whole();
/// assert_eq!(whole.reads, [usize::MAX]);
/// // One byte per read, and writes that take two bytes, then would block, then take five.
/// let drip = Plan { reads: vec![1], writes: vec![2, 0, 5], ..Plan::whole() };
/// assert_eq!(drip.writes.len(), 3);
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Plan {
    /// The sizes of the peer's writes of the input.
    pub sends: Vec<usize>,
    /// After each of the peer's writes, whether it waits until the server has gone quiet
    /// (so the server sees its read would block, parks, and wakes again).
    pub pauses: Vec<bool>,
    /// The most each read of the server takes; 0: the read would block (and is woken at once).
    pub reads: Vec<usize>,
    /// The most each write of the server accepts; 0: the write would block (and is woken at
    /// once).
    pub writes: Vec<usize>,
}

impl Plan {
    /// The reference plan: the input sent in one write, read in one read where the server's
    /// buffer holds it, and writes that accept everything.
    pub fn whole() -> Plan {
        Plan {
            sends: vec![usize::MAX],
            pauses: vec![false],
            reads: vec![usize::MAX],
            writes: vec![usize::MAX],
        }
    }
}

/// Printed as in failures: `all` for no limit, `block` for a call that would block.
///
/// ```
/// use framekit_server::laws::Plan;
/// let plan = Plan { reads: vec![3, 0], ..Plan::whole() };
/// assert_eq!(
///     format!("{plan:?}"),
///     "Plan { sends: [all], pauses: [false], reads: [3, block], writes: [all] }"
/// );
/// ```
impl fmt::Debug for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        struct Limits<'a>(&'a [usize]);
        impl fmt::Debug for Limits<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                let mut list = f.debug_list();
                for &limit in self.0 {
                    match limit {
                        usize::MAX => list.entry(&format_args!("all")),
                        0 => list.entry(&format_args!("block")),
                        n => list.entry(&n),
                    };
                }
                list.finish()
            }
        }
        f.debug_struct("Plan")
            .field("sends", &Limits(&self.sends))
            .field("pauses", &self.pauses)
            .field("reads", &Limits(&self.reads))
            .field("writes", &Limits(&self.writes))
            .finish()
    }
}

/// One cycled list of limits, read by the I/O calls in turn.
#[derive(Debug, Clone)]
pub(super) struct Schedule {
    steps: Vec<usize>,
    at: usize,
}

impl Schedule {
    pub(super) fn new(steps: &[usize]) -> Schedule {
        // A schedule of zeros would block for ever: it means "no limit" instead (see `Plan`).
        let steps = match steps.iter().any(|&s| s > 0) {
            true => steps.to_vec(),
            false => vec![usize::MAX],
        };
        Schedule { steps, at: 0 }
    }

    /// The current step's limit; it is used up only by [`advance`](Schedule::advance), so a
    /// call that the pipe itself keeps waiting does not skip a step.
    pub(super) fn peek(&self) -> usize {
        self.steps[self.at % self.steps.len()]
    }

    /// The current step's limit for a read or write of the pipe, or `None` where the step is a
    /// call that would block: that step is used up and the task woken at once, so the call is
    /// made again.
    fn limit(&mut self, cx: &Context<'_>) -> Option<usize> {
        let most = self.peek();
        if most == 0 {
            self.advance();
            cx.waker().wake_by_ref();
            return None;
        }
        Some(most)
    }

    pub(super) fn advance(&mut self) {
        self.at = self.at.wrapping_add(1);
    }
}

/// The server's end of the law pipe: a `tokio::io::duplex` stream whose reads and writes take
/// at most what the plan allows in turn.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// use framekit_server::laws::{Pipe, Plan};
/// use framekit_server::listener::Acceptor;
/// use tokio::io::{AsyncReadExt, AsyncWriteExt};
///
/// let plan = Plan { reads: vec![2], ..Plan::whole() };
/// let (mut pipe, mut peer) = Pipe::new(&plan, 1024);
/// let mut server_end = futures::future::poll_fn(|cx| pipe.poll_accept(cx)).await.unwrap()?.0;
/// peer.write_all(b"hello").await?;
/// let mut buf = [0u8; 8];
/// assert_eq!(server_end.read(&mut buf).await?, 2, "the plan's reads take two bytes");
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct PlannedIo {
    inner: DuplexStream,
    reads: Schedule,
    writes: Schedule,
}

impl AsyncRead for PlannedIo {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let Some(most) = this.reads.limit(cx) else {
            return Poll::Pending;
        };
        let polled = if buf.remaining() <= most {
            Pin::new(&mut this.inner).poll_read(cx, buf)
        } else {
            // A shorter read buffer of our own: what the peer sent beyond the limit stays in
            // the pipe for the next read.
            let mut scratch = vec![0u8; most];
            let mut part = ReadBuf::new(&mut scratch);
            let polled = Pin::new(&mut this.inner).poll_read(cx, &mut part);
            if let Poll::Ready(Ok(())) = polled {
                buf.put_slice(part.filled());
            }
            polled
        };
        if polled.is_ready() {
            this.reads.advance();
        }
        polled
    }
}

impl AsyncWrite for PlannedIo {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let Some(most) = this.writes.limit(cx) else {
            return Poll::Pending;
        };
        let polled = Pin::new(&mut this.inner).poll_write(cx, &data[..data.len().min(most)]);
        if polled.is_ready() {
            this.writes.advance();
        }
        polled
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

/// An [`Acceptor`] of one in-memory connection, cut as a [`Plan`] says; after it, the pipe
/// waits (it is never exhausted, so the server stays up until it is shut down).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// use std::time::Duration;
/// use bytes::Bytes;
/// use framekit::{FrameCodec, framing::delimited::Delimited};
/// use framekit_server::laws::{Pipe, Plan};
/// use framekit_server::{Ctx, Server};
/// use tokio::io::{AsyncReadExt, AsyncWriteExt};
///
/// // The server reads one byte at a time and writes at most three bytes per write.
/// let plan = Plan { reads: vec![1], writes: vec![3], ..Plan::whole() };
/// let (pipe, mut peer) = Pipe::new(&plan, 1024);
/// let server = Server::new(pipe)
///     .serve(FrameCodec::new(Delimited::newline()), |req: Bytes, _ctx: Ctx| async move { Some(req) });
/// peer.write_all(b"hello\n").await?;
/// peer.shutdown().await?;
/// let mut echoed = String::new();
/// peer.read_to_string(&mut echoed).await?;
/// assert_eq!(echoed, "hello\n");
/// server.shutdown(Duration::from_secs(1)).await;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Pipe {
    io: Option<PlannedIo>,
}

impl Pipe {
    /// A pipe cut as `plan` says, each direction buffering up to `capacity` bytes, and the
    /// peer's end of it.
    pub fn new(plan: &Plan, capacity: usize) -> (Pipe, DuplexStream) {
        let (peer, server) = tokio::io::duplex(capacity.max(1));
        let io = PlannedIo {
            inner: server,
            reads: Schedule::new(&plan.reads),
            writes: Schedule::new(&plan.writes),
        };
        (Pipe { io: Some(io) }, peer)
    }
}

impl Acceptor for Pipe {
    type Io = PlannedIo;

    fn poll_accept(&mut self, _cx: &mut Context<'_>) -> Poll<Option<Accepted<PlannedIo>>> {
        match self.io.take() {
            Some(io) => Poll::Ready(Some(Ok((io, Addr::other("law-pipe"))))),
            // Nothing will come: no waker is kept, the server's shutdown ends the wait.
            None => Poll::Pending,
        }
    }

    fn local_addr(&self) -> io::Result<Addr> {
        Ok(Addr::other("law-pipe"))
    }
}
