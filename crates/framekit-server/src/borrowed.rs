//! The borrowed request style: a handler that reads each request where it lies in the
//! connection's read buffer and writes its answer straight into the connection's output queue.
//!
//! - [`ViewDecoder`]: a codec that finds the next request and lends it out as a view of the
//!   read buffer (a `&[u8]` for a [`FrameCodec`], a list of argument slices for RESP...).
//! - [`BorrowedHandler`]: called with that view, the connection's own state and [`Ctx`] by
//!   reference, and a [`Responder`] over the output queue. No allocation, reference count or
//!   clone per request is needed on this path.
//! - [`Answer`]: what the handler did: answered already ([`Answer::Done`]), ends the connection
//!   ([`Answer::Close`]), or must wait ([`Answer::Later`] with an owned future, which goes
//!   through the same request-ordered path as the owned style, under the request deadline).
//!
//! The contract, in request order: a handler is only called when every earlier request has
//! been answered and the output queue is below its high water mark, so what it writes lands
//! after every earlier answer. While a [`Later`](Answer::Later) answer is outstanding, later
//! requests wait undecoded in the read buffer (bounded by the input budget), and the next one
//! is handled once it is answered. Pipelining therefore costs nothing for answers given at
//! once; a handler that usually waits is better written in the owned style
//! ([`Handler`](crate::Handler)), which runs up to `max_in_flight` requests concurrently.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> std::io::Result<()> {
//! use std::time::Duration;
//! use bytes::Bytes;
//! use framekit::{FrameCodec, framing::delimited::Delimited};
//! use framekit_server::borrowed::{Answer, BorrowedHandler, Responder};
//! use framekit_server::{Ctx, Server};
//! use tokio::io::{AsyncReadExt, AsyncWriteExt};
//!
//! type Lines = FrameCodec<Delimited>;
//!
//! /// `quit` answers `bye` and closes; every other line is answered with its length.
//! struct Lengths;
//!
//! impl BorrowedHandler<Lines, Bytes> for Lengths {
//!     type State = ();
//!     type Later = std::future::Ready<Option<Bytes>>;
//!     fn open(&self, _ctx: &Ctx) {}
//!     fn call(&self, line: &[u8], _: &mut (), _ctx: &Ctx, out: &mut Responder<'_, Lines, Bytes>)
//!         -> Answer<Self::Later>
//!     {
//!         if line == b"quit" {
//!             out.send(&b"bye"[..]);
//!             return Answer::Close;
//!         }
//!         out.send(line.len().to_string().as_bytes());
//!         Answer::Done
//!     }
//! }
//!
//! let server = Server::bind("127.0.0.1:0").await?
//!     .serve_borrowed(FrameCodec::new(Delimited::newline()), Lengths);
//! let mut peer = tokio::net::TcpStream::connect(server.local_addr().as_tcp().unwrap()).await?;
//! peer.write_all(b"abc\nhello\nquit\nnot handled\n").await?;
//! let mut answers = String::new();
//! peer.read_to_string(&mut answers).await?; // the server closes after `bye`
//! assert_eq!(answers, "3\n5\nbye\n");
//! server.shutdown(Duration::from_secs(1)).await;
//! # Ok(()) }
//! ```

use std::future::Future;

use bytes::BytesMut;
use framekit::framing::Framing;
use framekit::{FrameCodec, FrameError};

use crate::codec::{ConnectionCodec, WithEncoder};
use crate::connection::{encode_or_answer, Env};
use crate::context::Ctx;
use crate::error::CodecError;
use crate::handler::{BoxError, IntoReply};
use crate::outbound::{Outbound, ResponseEncoder};

/// A codec that lends the next request out as a view of the read buffer.
///
/// [`FrameCodec`] is one, with the raw `&[u8]` payload as the view, and so is a
/// [`WithEncoder`] whose decoder is one.
///
/// ```
/// use bytes::{Buf, BytesMut};
/// use framekit::{FrameCodec, framing::delimited::Delimited};
/// use framekit_server::ViewDecoder;
///
/// let mut codec = FrameCodec::new(Delimited::newline());
/// let mut buf = BytesMut::from(&b"ping\npong\n"[..]);
/// let (line, len) = codec.decode_view(&mut buf, false)?.unwrap();
/// assert_eq!(line, b"ping");
/// buf.advance(len); // the caller drops the request once it is done with the view
/// assert_eq!(codec.decode_view(&mut buf, false)?.unwrap().0, b"pong");
/// # Ok::<(), framekit::FrameError>(())
/// ```
pub trait ViewDecoder: Send + 'static {
    /// The request as the handler sees it, borrowed from the read buffer.
    type View<'b>;
    /// The decoding error.
    type Error: CodecError;

    /// The next request at the front of `buf`, and how many bytes of `buf` it takes: the
    /// caller drops those from the front once the view is gone. Bytes the codec skips (an
    /// over-long frame being discarded) may be dropped from `buf` here. `Ok(None)` means wait
    /// for more bytes; `eof` says the peer has closed its side.
    fn decode_view<'b>(
        &mut self,
        buf: &'b mut BytesMut,
        eof: bool,
    ) -> Result<Option<(Self::View<'b>, usize)>, Self::Error>;
}

/// The view is the raw payload where it lies; the codec's payload decoder (which turns owned
/// payloads into items for the owned style) is not used for views.
impl<F: Framing + Send + 'static, C: Send + 'static> ViewDecoder for FrameCodec<F, C> {
    type View<'b> = &'b [u8];
    type Error = FrameError;

    fn decode_view<'b>(
        &mut self,
        buf: &'b mut BytesMut,
        eof: bool,
    ) -> Result<Option<(&'b [u8], usize)>, FrameError> {
        Ok(self
            .decode_in_place(buf, eof)?
            .map(|frame| (&buf[frame.payload], frame.len)))
    }
}

impl<D: ViewDecoder, E: Send + 'static> ViewDecoder for WithEncoder<D, E> {
    type View<'b> = D::View<'b>;
    type Error = D::Error;

    fn decode_view<'b>(
        &mut self,
        buf: &'b mut BytesMut,
        eof: bool,
    ) -> Result<Option<(D::View<'b>, usize)>, D::Error> {
        self.decoder_mut().decode_view(buf, eof)
    }
}

/// What a [`BorrowedHandler`] did with a request.
///
/// ```
/// use framekit_server::Answer;
///
/// let done: Answer<std::future::Ready<Option<&str>>> = Answer::Done;
/// let later = Answer::Later(std::future::ready(Some("slow")));
/// let failed: Answer<std::future::Ready<Option<&str>>> = Answer::failed("disk full");
/// # let _ = (done, later, failed);
/// ```
#[derive(Debug)]
pub enum Answer<F> {
    /// Answered: what the handler wrote through the [`Responder`] (zero, one or several
    /// responses) is the whole answer.
    Done,
    /// The connection ends after what the handler wrote (`QUIT`, a protocol error): nothing
    /// read after this request is handled; the answers go out, then the connection closes.
    Close,
    /// The answer comes from this future (its output: `Option<R>` or a
    /// [`Reply<R>`](crate::Reply)), after whatever the handler wrote, before any later
    /// request is handled. It owns what it needs (copy the request out of the view). It runs
    /// in the connection's task, under the request deadline
    /// ([`ServerConfig::request_timeout`](crate::ServerConfig::request_timeout)) exactly as
    /// an owned handler's future does.
    Later(F),
    /// The handler failed: the error reply hook answers (kind `"handler_error"`, with this
    /// error) after what the handler wrote; the connection goes on.
    Failed(BoxError),
}

impl<F> Answer<F> {
    /// Fails with `error` ([`Answer::Failed`]).
    ///
    /// ```
    /// use framekit_server::Answer;
    /// let answer: Answer<std::future::Pending<Option<()>>> = Answer::failed("no backend");
    /// assert!(matches!(answer, Answer::Failed(_)));
    /// ```
    pub fn failed(error: impl Into<BoxError>) -> Self {
        Answer::Failed(error.into())
    }
}

/// A handler in the borrowed style: called once per request with the request borrowed from the
/// read buffer, the connection's state and [`Ctx`] by reference, and a [`Responder`] that
/// encodes responses straight into the connection's output queue.
///
/// `C` is the connection's codec (a [`ViewDecoder`] for requests, a
/// [`ConnectionCodec<R>`] for the owned responses `R` of deferred answers and of the error
/// hook). See the [module doc](self) for the ordering contract.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// use std::time::Duration;
/// use bytes::Bytes;
/// use framekit::{FrameCodec, framing::delimited::Delimited};
/// use framekit_server::{Answer, BorrowedHandler, Ctx, Responder, Server};
/// use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
///
/// type Lines = FrameCodec<Delimited>;
///
/// /// Echoes each line as it lies in the read buffer, and counts the lines of the connection.
/// /// `slow <text>` answers after a while, through an owned future.
/// struct Echo;
///
/// impl BorrowedHandler<Lines, Bytes> for Echo {
///     type State = u64;
///     type Later = std::pin::Pin<Box<dyn std::future::Future<Output = Option<Bytes>> + Send>>;
///
///     fn open(&self, _ctx: &Ctx) -> u64 {
///         0
///     }
///
///     fn call(&self, line: &[u8], seen: &mut u64, _ctx: &Ctx, out: &mut Responder<'_, Lines, Bytes>)
///         -> Answer<Self::Later>
///     {
///         *seen += 1;
///         if let Some(text) = line.strip_prefix(b"slow ") {
///             let text = Bytes::copy_from_slice(text); // owned: it outlives the buffer
///             return Answer::Later(Box::pin(async move {
///                 tokio::time::sleep(Duration::from_millis(5)).await;
///                 Some(text)
///             }));
///         }
///         out.send(line); // encoded straight into the output queue
///         Answer::Done
///     }
/// }
///
/// let server = Server::bind("127.0.0.1:0").await?
///     .serve_borrowed(FrameCodec::new(Delimited::newline()), Echo);
/// let mut peer = tokio::net::TcpStream::connect(server.local_addr().as_tcp().unwrap()).await?;
/// peer.write_all(b"a\nslow b\nc\n").await?;
/// let mut lines = BufReader::new(peer).lines();
/// for want in ["a", "b", "c"] {
///     assert_eq!(lines.next_line().await?.as_deref(), Some(want)); // request order
/// }
/// server.shutdown(Duration::from_secs(1)).await;
/// # Ok(()) }
/// ```
pub trait BorrowedHandler<C: ViewDecoder, R>: Send + Sync + 'static {
    /// What the handler keeps per connection (a session, counters); made by
    /// [`open`](BorrowedHandler::open).
    type State: Send + 'static;
    /// The future of a deferred answer ([`Answer::Later`]).
    type Later: Future<Output: IntoReply<Response = R> + Send> + Send + 'static;

    /// The state of a new connection.
    fn open(&self, ctx: &Ctx) -> Self::State;

    /// Handles one request.
    fn call(
        &self,
        req: C::View<'_>,
        state: &mut Self::State,
        ctx: &Ctx,
        out: &mut Responder<'_, C, R>,
    ) -> Answer<Self::Later>;
}

/// Where a [`BorrowedHandler`] writes its responses: the connection's output queue, through the
/// codec's encoder.
///
/// Any response type the codec encodes may be sent ([`ResponseEncoder<T>`], which every
/// `tokio_util` `Encoder<T>` is), including types that borrow from the request, so an answer
/// can be written without building an owned response. A response the codec refuses is taken
/// back out of the queue and the error hook's reply goes in its place, as in the owned style.
///
/// ```
/// use framekit::{FrameCodec, framing::delimited::Delimited};
/// use framekit_server::{Answer, BorrowedHandler, Ctx, Responder};
///
/// type Lines = FrameCodec<Delimited>;
/// struct Shout;
///
/// impl BorrowedHandler<Lines, bytes::Bytes> for Shout {
///     type State = Vec<u8>; // reused for every request of the connection
///     type Later = std::future::Ready<Option<bytes::Bytes>>;
///     fn open(&self, _ctx: &Ctx) -> Vec<u8> { Vec::new() }
///     fn call(&self, line: &[u8], scratch: &mut Vec<u8>, _ctx: &Ctx,
///             out: &mut Responder<'_, Lines, bytes::Bytes>) -> Answer<Self::Later> {
///         scratch.clear();
///         scratch.extend(line.iter().map(u8::to_ascii_uppercase));
///         out.send(&scratch[..]);
///         Answer::Done
///     }
/// }
/// # let _ = Shout;
/// ```
pub struct Responder<'a, C, R> {
    codec: &'a mut C,
    out: &'a mut Outbound,
    env: Env<'a, R>,
    /// Responses queued (the hook's replies in place of refused ones included).
    sent: u64,
    /// A refused response could not be taken back out of the queue: the connection ends.
    broken: bool,
}

impl<'a, C: ConnectionCodec<R>, R> Responder<'a, C, R> {
    pub(crate) fn new(codec: &'a mut C, out: &'a mut Outbound, env: Env<'a, R>) -> Self {
        Responder {
            codec,
            out,
            env,
            sent: 0,
            broken: false,
        }
    }

    /// Responses queued so far, and whether the queue is broken (a refused response could not
    /// be taken back).
    pub(crate) fn outcome(&self) -> (u64, bool) {
        (self.sent, self.broken)
    }

    /// Encodes `resp` into the output queue, after everything queued before it.
    ///
    /// ```
    /// use framekit::{FrameCodec, framing::delimited::Delimited};
    /// use framekit_server::{Answer, BorrowedHandler, Ctx, Responder};
    ///
    /// type Lines = FrameCodec<Delimited>;
    /// struct Twice;
    /// impl BorrowedHandler<Lines, bytes::Bytes> for Twice {
    ///     type State = ();
    ///     type Later = std::future::Ready<Option<bytes::Bytes>>;
    ///     fn open(&self, _ctx: &Ctx) {}
    ///     fn call(&self, line: &[u8], _: &mut (), _ctx: &Ctx,
    ///             out: &mut Responder<'_, Lines, bytes::Bytes>) -> Answer<Self::Later> {
    ///         out.send(line);
    ///         out.send(line); // two responses to one request, in order
    ///         Answer::Done
    ///     }
    /// }
    /// # let _ = Twice;
    /// ```
    pub fn send<T>(&mut self, resp: T)
    where
        C: ResponseEncoder<T>,
    {
        if self.broken {
            return;
        }
        match encode_or_answer(self.codec, self.out, self.env, |codec, out| {
            codec.encode_response(resp, out)
        }) {
            Ok(true) => self.sent += 1,
            Ok(false) => {}
            Err(_) => self.broken = true,
        }
    }

    /// Bytes queued for the peer and not yet written (this request's responses included): a
    /// handler producing a large answer can check it against its own bound.
    ///
    /// ```
    /// use framekit::{FrameCodec, framing::delimited::Delimited};
    /// use framekit_server::{Answer, BorrowedHandler, Ctx, Responder};
    ///
    /// type Lines = FrameCodec<Delimited>;
    /// struct Sized;
    /// impl BorrowedHandler<Lines, bytes::Bytes> for Sized {
    ///     type State = ();
    ///     type Later = std::future::Ready<Option<bytes::Bytes>>;
    ///     fn open(&self, _ctx: &Ctx) {}
    ///     fn call(&self, line: &[u8], _: &mut (), _ctx: &Ctx,
    ///             out: &mut Responder<'_, Lines, bytes::Bytes>) -> Answer<Self::Later> {
    ///         let before = out.queued();
    ///         out.send(line);
    ///         assert_eq!(out.queued(), before + line.len() + 1);
    ///         Answer::Done
    ///     }
    /// }
    /// # let _ = Sized;
    /// ```
    pub fn queued(&self) -> usize {
        self.out.len()
    }
}

impl<C, R> std::fmt::Debug for Responder<'_, C, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Responder")
            .field("queued", &self.out.len())
            .field("sent", &self.sent)
            .finish_non_exhaustive()
    }
}
