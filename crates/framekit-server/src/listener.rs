//! Where connections come from: TCP (IPv4 and IPv6), Unix domain sockets, or any stream of
//! `AsyncRead + AsyncWrite` values (in-memory duplex pipes, streams accepted elsewhere), or
//! several at once ([`Both`], from [`Acceptor::and`]) under one connection limit and one
//! shutdown.
//!
//! This room owns accepting and the accept-error policy: errors that concern one peer are
//! retried at once; errors that concern the process (EMFILE, ENFILE, ENOBUFS, ENOMEM) back off
//! exponentially instead of spinning. The connection limit is taken by the caller before it
//! asks for the next connection.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> std::io::Result<()> {
//! use std::time::Duration;
//! use bytes::Bytes;
//! use framekit::{FrameCodec, framing::delimited::Delimited};
//! use framekit_server::{listener::Acceptor, Ctx, Server};
//!
//! // Two TCP listeners (say, two interfaces) behind one server.
//! let a = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! let b = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! let server = Server::new(a.and(b))
//!     .serve(FrameCodec::new(Delimited::newline()), |req: Bytes, _ctx: Ctx| async move { Some(req) });
//! assert_eq!(server.local_addrs().len(), 2);
//! server.shutdown(Duration::from_secs(1)).await;
//! # Ok(()) }
//! ```

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use futures::Stream;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_util::either::Either;

use crate::config::{MAX_ACCEPT_BACKOFF, MIN_ACCEPT_BACKOFF};

/// The address of a peer or of a listener.
///
/// ```
/// use std::path::PathBuf;
/// use framekit_server::Addr;
///
/// let unix = Addr::Unix(Some(PathBuf::from("/run/app.sock")));
/// assert_eq!(unix.to_string(), "unix:/run/app.sock");
/// assert_eq!(unix.as_tcp(), None);
/// assert_eq!(Addr::Unix(None).to_string(), "unix:(unnamed)");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Addr {
    /// A TCP address (IPv4 or IPv6).
    Tcp(SocketAddr),
    /// A Unix domain socket path (`None` for unnamed sockets, as peers usually are).
    Unix(Option<PathBuf>),
    /// Any other transport, described by a label.
    Other(Arc<str>),
}

impl Addr {
    /// The TCP socket address, if this is one.
    ///
    /// ```
    /// use framekit_server::Addr;
    /// let addr = Addr::Tcp("127.0.0.1:7000".parse().unwrap());
    /// assert_eq!(addr.as_tcp().unwrap().port(), 7000);
    /// assert_eq!(addr.to_string(), "127.0.0.1:7000");
    /// ```
    pub fn as_tcp(&self) -> Option<SocketAddr> {
        match self {
            Addr::Tcp(a) => Some(*a),
            _ => None,
        }
    }

    /// A label for a transport without addresses.
    ///
    /// ```
    /// use framekit_server::Addr;
    /// let pipe = Addr::other("in-memory");
    /// assert_eq!(pipe.to_string(), "in-memory");
    /// assert_eq!(pipe, Addr::Other("in-memory".into()));
    /// ```
    pub fn other(label: &str) -> Self {
        Addr::Other(label.into())
    }
}

impl fmt::Display for Addr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Addr::Tcp(a) => a.fmt(f),
            Addr::Unix(Some(p)) => write!(f, "unix:{}", p.display()),
            Addr::Unix(None) => f.write_str("unix:(unnamed)"),
            Addr::Other(label) => f.write_str(label),
        }
    }
}

/// One accepted connection and its peer's address, or the accept error.
///
/// ```
/// use framekit_server::{listener::Accepted, Addr};
///
/// let (_client, server_side) = tokio::io::duplex(64);
/// let accepted: Accepted<tokio::io::DuplexStream> = Ok((server_side, Addr::other("pipe")));
/// assert_eq!(accepted.map(|(_, peer)| peer).unwrap().to_string(), "pipe");
/// ```
pub type Accepted<Io> = io::Result<(Io, Addr)>;

/// A source of connections.
///
/// `poll_accept` yields the next connection and its peer address, an error, or `None` when the
/// source is exhausted (the server then stops accepting but keeps serving what it has).
///
/// ```
/// use std::collections::VecDeque;
/// use std::io;
/// use std::task::{Context, Poll};
/// use framekit_server::{listener::Accepted, listener::Acceptor, Addr};
/// use tokio::io::DuplexStream;
///
/// /// Hands out a fixed set of in-memory connections, then is exhausted.
/// struct Pipes(VecDeque<DuplexStream>);
///
/// impl Acceptor for Pipes {
///     type Io = DuplexStream;
///     fn poll_accept(&mut self, _cx: &mut Context<'_>) -> Poll<Option<Accepted<DuplexStream>>> {
///         Poll::Ready(self.0.pop_front().map(|io| Ok((io, Addr::other("pipe")))))
///     }
///     fn local_addr(&self) -> io::Result<Addr> {
///         Ok(Addr::other("pipes"))
///     }
/// }
///
/// let (_client, server_side) = tokio::io::duplex(64);
/// let pipes = Pipes(VecDeque::from([server_side]));
/// assert_eq!(pipes.local_addrs(), [Addr::other("pipes")]);
/// ```
pub trait Acceptor: Send + 'static {
    /// The connection type.
    type Io: AsyncRead + AsyncWrite + Unpin + Send + 'static;

    /// Polls for the next connection.
    fn poll_accept(&mut self, cx: &mut Context<'_>) -> Poll<Option<Accepted<Self::Io>>>;

    /// The address connections arrive at.
    fn local_addr(&self) -> io::Result<Addr>;

    /// Prepares an accepted connection (socket options). The default does nothing.
    fn configure(&self, io: &Self::Io, nodelay: bool) {
        let _ = (io, nodelay);
    }

    /// Every address connections arrive at (one, unless this joins several acceptors).
    fn local_addrs(&self) -> Vec<Addr> {
        self.local_addr().into_iter().collect()
    }

    /// Serves the connections of `self` and `other` both, under the one connection limit and
    /// the one shutdown of the server they are given to.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// use framekit_server::listener::Acceptor;
    /// let dir = std::env::temp_dir().join(format!("framekit-and-{}", std::process::id()));
    /// std::fs::create_dir_all(&dir)?;
    /// let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    /// let unix = tokio::net::UnixListener::bind(dir.join("sock"))?;
    /// let both = tcp.and(unix);
    /// assert!(both.local_addrs().iter().any(|a| a.as_tcp().is_some()));
    /// # std::fs::remove_dir_all(&dir)?;
    /// # Ok(()) }
    /// ```
    fn and<B: Acceptor>(self, other: B) -> Both<Self, B>
    where
        Self: Sized,
    {
        Both {
            first: self,
            second: other,
            first_done: false,
            second_done: false,
            turn: false,
        }
    }
}

/// Two acceptors served at once (see [`Acceptor::and`]); chain `and` for more. Neither can
/// starve the other: they take turns being asked first. Exhausted when both are.
///
/// ```
/// use framekit_server::{listener::Acceptor, Addr, listener::StreamAcceptor};
///
/// let none = || futures::stream::iter(Vec::<tokio::io::DuplexStream>::new());
/// let both = StreamAcceptor::new(none(), "a").and(StreamAcceptor::new(none(), "b"));
/// assert_eq!(both.local_addrs(), [Addr::other("a"), Addr::other("b")]);
/// assert_eq!(both.local_addr().unwrap(), Addr::other("a"));
/// ```
pub struct Both<A, B> {
    first: A,
    second: B,
    first_done: bool,
    second_done: bool,
    /// Whether `second` is asked first on the next poll.
    turn: bool,
}

impl<A: Acceptor, B: Acceptor> Acceptor for Both<A, B> {
    type Io = Either<A::Io, B::Io>;

    fn poll_accept(&mut self, cx: &mut Context<'_>) -> Poll<Option<Accepted<Self::Io>>> {
        self.turn = !self.turn;
        for second in [self.turn, !self.turn] {
            let polled = if second {
                if self.second_done {
                    continue;
                }
                self.second
                    .poll_accept(cx)
                    .map(|o| o.map(|r| r.map(|(io, peer)| (Either::Right(io), peer))))
            } else {
                if self.first_done {
                    continue;
                }
                self.first
                    .poll_accept(cx)
                    .map(|o| o.map(|r| r.map(|(io, peer)| (Either::Left(io), peer))))
            };
            match polled {
                Poll::Ready(Some(accepted)) => return Poll::Ready(Some(accepted)),
                Poll::Ready(None) if second => self.second_done = true,
                Poll::Ready(None) => self.first_done = true,
                Poll::Pending => {}
            }
        }
        if self.first_done && self.second_done {
            Poll::Ready(None)
        } else {
            Poll::Pending
        }
    }

    /// The first acceptor's address ([`local_addrs`](Acceptor::local_addrs) has them all).
    fn local_addr(&self) -> io::Result<Addr> {
        self.first.local_addr()
    }

    fn local_addrs(&self) -> Vec<Addr> {
        let mut addrs = self.first.local_addrs();
        addrs.extend(self.second.local_addrs());
        addrs
    }

    fn configure(&self, io: &Self::Io, nodelay: bool) {
        match io {
            Either::Left(io) => self.first.configure(io, nodelay),
            Either::Right(io) => self.second.configure(io, nodelay),
        }
    }
}

impl Acceptor for tokio::net::TcpListener {
    type Io = tokio::net::TcpStream;

    fn poll_accept(&mut self, cx: &mut Context<'_>) -> Poll<Option<Accepted<Self::Io>>> {
        tokio::net::TcpListener::poll_accept(self, cx)
            .map(|r| Some(r.map(|(io, peer)| (io, Addr::Tcp(peer)))))
    }

    fn local_addr(&self) -> io::Result<Addr> {
        tokio::net::TcpListener::local_addr(self).map(Addr::Tcp)
    }

    fn configure(&self, io: &Self::Io, nodelay: bool) {
        if let Err(e) = io.set_nodelay(nodelay) {
            tracing::debug!(error = %e, "could not set TCP_NODELAY");
        }
    }
}

#[cfg(unix)]
impl Acceptor for tokio::net::UnixListener {
    type Io = tokio::net::UnixStream;

    fn poll_accept(&mut self, cx: &mut Context<'_>) -> Poll<Option<Accepted<Self::Io>>> {
        tokio::net::UnixListener::poll_accept(self, cx).map(|r| {
            Some(r.map(|(io, peer)| {
                let path = peer.as_pathname().map(|p| p.to_path_buf());
                (io, Addr::Unix(path))
            }))
        })
    }

    fn local_addr(&self) -> io::Result<Addr> {
        tokio::net::UnixListener::local_addr(self)
            .map(|a| Addr::Unix(a.as_pathname().map(|p| p.to_path_buf())))
    }
}

/// Serves connections from any stream of `AsyncRead + AsyncWrite` values: TLS streams accepted
/// elsewhere, `tokio::io::duplex` pipes in tests, ...
///
/// ```
/// use framekit_server::{listener::Acceptor, listener::StreamAcceptor};
/// let (_client, server_side) = tokio::io::duplex(1024);
/// let acceptor = StreamAcceptor::new(futures::stream::iter(vec![server_side]), "in-memory");
/// assert_eq!(acceptor.local_addr().unwrap().to_string(), "in-memory");
/// ```
pub struct StreamAcceptor<St> {
    stream: St,
    label: Arc<str>,
}

impl<St> StreamAcceptor<St> {
    /// Accepts every item of `stream`; `label` names both ends in logs.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// use std::time::Duration;
    /// use bytes::Bytes;
    /// use framekit::{FrameCodec, framing::delimited::Delimited};
    /// use framekit_server::{Ctx, Server, listener::StreamAcceptor};
    /// use tokio::io::{AsyncReadExt, AsyncWriteExt};
    ///
    /// let (mut client, server_side) = tokio::io::duplex(1024);
    /// let acceptor = StreamAcceptor::new(futures::stream::iter(vec![server_side]), "pipe");
    /// let server = Server::new(acceptor)
    ///     .serve(FrameCodec::new(Delimited::newline()), |req: Bytes, _ctx: Ctx| async move { Some(req) });
    /// client.write_all(b"hi\n").await?;
    /// let mut answer = [0u8; 3];
    /// client.read_exact(&mut answer).await?;
    /// assert_eq!(&answer, b"hi\n");
    /// server.shutdown(Duration::from_secs(1)).await;
    /// # Ok(()) }
    /// ```
    pub fn new(stream: St, label: &str) -> Self {
        StreamAcceptor {
            stream,
            label: label.into(),
        }
    }
}

impl<St, Io> Acceptor for StreamAcceptor<St>
where
    St: Stream<Item = Io> + Unpin + Send + 'static,
    Io: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    type Io = Io;

    fn poll_accept(&mut self, cx: &mut Context<'_>) -> Poll<Option<Accepted<Io>>> {
        Pin::new(&mut self.stream)
            .poll_next(cx)
            .map(|o| o.map(|io| Ok((io, Addr::Other(self.label.clone())))))
    }

    fn local_addr(&self) -> io::Result<Addr> {
        Ok(Addr::Other(self.label.clone()))
    }
}

/// Whether an accept error concerns only the peer being accepted (retry at once) rather than
/// the process (back off).
pub(crate) fn is_per_connection(err: &io::Error) -> bool {
    matches!(
        err.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionRefused
            | io::ErrorKind::Interrupted
            | io::ErrorKind::WouldBlock
    )
}

/// Exponential backoff between accept attempts after process-level accept errors.
#[derive(Debug)]
pub(crate) struct AcceptBackoff {
    next: Duration,
}

impl AcceptBackoff {
    pub(crate) fn new() -> Self {
        AcceptBackoff {
            next: MIN_ACCEPT_BACKOFF,
        }
    }

    /// The pause before the next attempt; doubles each call up to the maximum.
    pub(crate) fn pause(&mut self) -> Duration {
        let now = self.next;
        self.next = (self.next * 2).min(MAX_ACCEPT_BACKOFF);
        now
    }

    /// A successful accept resets the pause.
    pub(crate) fn reset(&mut self) {
        self.next = MIN_ACCEPT_BACKOFF;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_maximum_and_resets() {
        let mut b = AcceptBackoff::new();
        assert_eq!(b.pause(), MIN_ACCEPT_BACKOFF);
        assert_eq!(b.pause(), MIN_ACCEPT_BACKOFF * 2);
        for _ in 0..20 {
            b.pause();
        }
        assert_eq!(b.pause(), MAX_ACCEPT_BACKOFF);
        b.reset();
        assert_eq!(b.pause(), MIN_ACCEPT_BACKOFF);
    }

    /// Accepts everything `acceptor` has now, without waiting.
    fn drain<A: Acceptor>(acceptor: &mut A) -> (Vec<String>, bool) {
        let waker = futures::task::noop_waker();
        let mut cx = Context::from_waker(&waker);
        let mut peers = Vec::new();
        loop {
            match acceptor.poll_accept(&mut cx) {
                Poll::Ready(Some(Ok((_, peer)))) => peers.push(peer.to_string()),
                Poll::Ready(Some(Err(e))) => panic!("{e}"),
                Poll::Ready(None) => return (peers, true),
                Poll::Pending => return (peers, false),
            }
        }
    }

    fn pipes(
        n: usize,
        label: &str,
    ) -> StreamAcceptor<futures::stream::Iter<std::vec::IntoIter<tokio::io::DuplexStream>>> {
        let ends: Vec<_> = (0..n).map(|_| tokio::io::duplex(8).1).collect();
        StreamAcceptor::new(futures::stream::iter(ends), label)
    }

    #[test]
    fn both_take_turns_and_end_when_both_are_exhausted() {
        let mut both = pipes(3, "a").and(pipes(1, "b"));
        assert_eq!(both.local_addrs(), vec![Addr::other("a"), Addr::other("b")]);
        let (peers, exhausted) = drain(&mut both);
        // Neither starves the other: "b" is served among the first two, then "a" to its end.
        assert_eq!(peers.len(), 4);
        assert!(peers[..2].contains(&"b".to_string()), "{peers:?}");
        assert!(exhausted);
    }

    #[test]
    fn both_go_on_while_one_still_accepts() {
        let waiting =
            StreamAcceptor::new(futures::stream::pending::<tokio::io::DuplexStream>(), "w");
        let mut both = pipes(2, "a").and(waiting);
        let (peers, exhausted) = drain(&mut both);
        assert_eq!(peers, vec!["a", "a"]);
        assert!(
            !exhausted,
            "the second acceptor may still yield connections"
        );
    }

    #[test]
    fn emfile_is_not_per_connection() {
        assert!(!is_per_connection(&io::Error::from_raw_os_error(24)));
        assert!(is_per_connection(&io::Error::from(
            io::ErrorKind::ConnectionAborted
        )));
    }
}
