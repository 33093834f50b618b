//! The one request/response handler model: [`Handler`] is lent each request where it lies in
//! the read buffer and answers through a [`Responder`], now or [later](Answer::Later).
//!
//! - [`Handler`], [`Answer`] and [`Responder`]: the trait and what it works with.
//! - [`reply`]: what a later answer is ([`Reply`], [`IntoReply`]).
//! - [`owned`]: the owned style (an async closure taking owned requests) as an adapter over
//!   [`Handler`], and [`IntoHandler`], which lets `serve` take either.
//!
//! The contract, in request order: the server hands a handler requests in the order they
//! arrived; what it writes through the [`Responder`] goes out after every earlier request's
//! answer and before every later one's, whether it answers at once or later. Up to
//! [`max_in_flight`](crate::ServerConfig::max_in_flight) requests may wait for later answers
//! at once; answers that finish early are held until the earlier ones are written.

use std::future::Future;

use framekit::connection::{self, CodecError, Decode};
use tokio_util::codec::Encoder;

use crate::context::{Ctx, Live};
use crate::error::{CodecErrorDyn, FailureOrigin};
use crate::shared::Shared;

pub mod owned;
pub mod reply;

pub use self::owned::IntoHandler;
pub use self::reply::{IntoReply, Reply};
pub use crate::error::BoxError;

/// A request/response handler: called once per request with the request lent from the read
/// buffer (the codec's [`Decode::View`]: `&[u8]` for a [`framekit::FrameCodec`]), the
/// connection's state and [`Ctx`], and a [`Responder`] that encodes answers straight into the
/// connection's output. Nothing is allocated, copied or reference-counted per request on this
/// path.
///
/// `C` is the connection's codec; `R` is the server's response type (what a later answer and
/// the error reply hook answer with). An async closure taking owned requests is a handler too,
/// through the [`owned`] adapter.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// use std::time::Duration;
/// use bytes::Bytes;
/// use framekit::{FrameCodec, framing::delimited::Delimited};
/// use framekit_server::{Answer, Ctx, Handler, Responder, Server};
/// use tokio::io::{AsyncReadExt, AsyncWriteExt};
///
/// type Lines = FrameCodec<Delimited>;
///
/// /// Answers each line with its length and counts the connection's lines; `quit` closes,
/// /// `slow` answers later.
/// struct Lengths;
///
/// impl Handler<Lines, Bytes> for Lengths {
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
///         match line {
///             b"quit" => {
///                 out.send(&b"bye"[..]);
///                 Answer::Close
///             }
///             b"slow" => Answer::Later(Box::pin(async {
///                 tokio::time::sleep(Duration::from_millis(5)).await;
///                 Some(Bytes::from_static(b"late"))
///             })),
///             _ => {
///                 out.send(line.len().to_string().as_bytes());
///                 Answer::Done
///             }
///         }
///     }
/// }
///
/// let server = Server::bind("127.0.0.1:0").await?
///     .serve(FrameCodec::new(Delimited::newline()), Lengths);
/// let mut peer = tokio::net::TcpStream::connect(server.local_addr().as_tcp().unwrap()).await?;
/// peer.write_all(b"abc\nslow\nhello\nquit\nnot handled\n").await?;
/// let mut answers = String::new();
/// peer.read_to_string(&mut answers).await?; // the server closes after `bye`
/// assert_eq!(answers, "3\nlate\n5\nbye\n"); // in request order
/// server.shutdown(Duration::from_secs(1)).await;
/// # Ok(()) }
/// ```
pub trait Handler<C: Decode, R>: Send + Sync + 'static {
    /// What the handler keeps per connection (a session, a scratch buffer, counters); made by
    /// [`open`](Handler::open).
    type State: Send + 'static;
    /// The future of a later answer ([`Answer::Later`]): it owns what it needs (copy it out
    /// of the request), and resolves to `Option<R>` or a [`Reply<R>`].
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

/// What a [`Handler`] did with a request.
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
    /// Answered: what the handler wrote through the [`Responder`] (nothing, one or several
    /// messages) is the whole answer.
    Done,
    /// The connection ends after what the handler wrote (`QUIT`, a protocol error): nothing
    /// read after this request is handled; every earlier answer and this one go out, then the
    /// connection closes.
    Close,
    /// The rest of the answer comes from this future (after whatever the handler wrote), under
    /// the request deadline
    /// ([`ServerConfig::request_timeout`](crate::ServerConfig::request_timeout)). Later
    /// requests are handled meanwhile, up to the in-flight limit; their answers wait for this
    /// one. A [`Reply::Stream`] is written in parts as the peer reads.
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

/// What the handling of one connection consults but never changes: the server's shared state
/// and this connection's context.
pub(crate) struct Env<'a, R> {
    pub(crate) shared: &'a Shared<R>,
    pub(crate) ctx: &'a Live,
}

impl<R> Clone for Env<'_, R> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<R> Copy for Env<'_, R> {}

impl<R> Env<'_, R> {
    /// The error reply hook's answer to a failure (counted under `origin`).
    pub(crate) fn reject(
        &self,
        origin: FailureOrigin,
        error: &dyn CodecErrorDyn,
        recoverable: bool,
    ) -> Option<R> {
        self.shared.reject(
            origin,
            error.kind(),
            error.as_error(),
            recoverable,
            self.ctx,
        )
    }
}

/// Where a [`Handler`] writes one request's answer: the connection's output, through the
/// codec's encoder, in request order.
///
/// Any message the codec encodes may be sent (every `Encoder<T>` of the codec), including
/// types that borrow from the request, so an answer can be written without building an owned
/// response. A message the codec refuses leaves the output as it was; the error reply hook's
/// answer (origin [`Encode`](crate::FailureOrigin::Encode)) goes in its place.
///
/// ```
/// use framekit::{FrameCodec, framing::delimited::Delimited};
/// use framekit_server::{Answer, Ctx, Handler, Responder};
///
/// type Lines = FrameCodec<Delimited>;
/// struct Shout;
///
/// impl Handler<Lines, bytes::Bytes> for Shout {
///     type State = Vec<u8>; // reused for every request of the connection
///     type Later = std::future::Ready<Option<bytes::Bytes>>;
///     fn open(&self, _ctx: &Ctx) -> Vec<u8> { Vec::new() }
///     fn call(&self, line: &[u8], scratch: &mut Vec<u8>, _ctx: &Ctx,
///             out: &mut Responder<'_, Lines, bytes::Bytes>) -> Answer<Self::Later> {
///         scratch.clear();
///         scratch.extend(line.iter().map(u8::to_ascii_uppercase));
///         out.send(&scratch[..]);
///         out.send(&b"--"[..]); // several messages to one request, in order
///         Answer::Done
///     }
/// }
/// # let _ = Shout;
/// ```
pub struct Responder<'c, C, R> {
    exchange: connection::Responder<'c, C>,
    env: Env<'c, R>,
}

impl<'c, C, R> Responder<'c, C, R> {
    pub(crate) fn new(exchange: connection::Responder<'c, C>, env: Env<'c, R>) -> Self {
        Responder { exchange, env }
    }

    pub(crate) fn into_exchange(self) -> connection::Responder<'c, C> {
        self.exchange
    }

    pub(crate) fn id(&self) -> connection::ExchangeId {
        self.exchange.id()
    }

    /// Whether the bytes queued for the peer are below the connection's high water mark: a
    /// handler writing a large answer at once can stop here and give the rest as a
    /// [`Reply::Stream`], which the server writes as the peer reads.
    ///
    /// ```
    /// use framekit::{FrameCodec, framing::delimited::Delimited};
    /// use framekit_server::{Answer, Ctx, Handler, Responder};
    ///
    /// type Lines = FrameCodec<Delimited>;
    /// struct Polite;
    /// impl Handler<Lines, bytes::Bytes> for Polite {
    ///     type State = ();
    ///     type Later = std::future::Ready<Option<bytes::Bytes>>;
    ///     fn open(&self, _ctx: &Ctx) {}
    ///     fn call(&self, line: &[u8], _: &mut (), _ctx: &Ctx,
    ///             out: &mut Responder<'_, Lines, bytes::Bytes>) -> Answer<Self::Later> {
    ///         if out.has_room() {
    ///             out.send(line);
    ///         }
    ///         Answer::Done
    ///     }
    /// }
    /// # let _ = Polite;
    /// ```
    pub fn has_room(&self) -> bool {
        self.exchange.has_room()
    }

    /// Writes `bytes` as they are, bypassing the codec (a pre-encoded answer).
    ///
    /// ```
    /// use framekit::{FrameCodec, framing::delimited::Delimited};
    /// use framekit_server::{Answer, Ctx, Handler, Responder};
    ///
    /// type Lines = FrameCodec<Delimited>;
    /// struct Canned;
    /// impl Handler<Lines, bytes::Bytes> for Canned {
    ///     type State = ();
    ///     type Later = std::future::Ready<Option<bytes::Bytes>>;
    ///     fn open(&self, _ctx: &Ctx) {}
    ///     fn call(&self, _line: &[u8], _: &mut (), _ctx: &Ctx,
    ///             out: &mut Responder<'_, Lines, bytes::Bytes>) -> Answer<Self::Later> {
    ///         out.send_raw(b"+OK\r\n");
    ///         Answer::Done
    ///     }
    /// }
    /// # let _ = Canned;
    /// ```
    pub fn send_raw(&mut self, bytes: &[u8]) {
        self.exchange.send_raw(bytes);
    }
}

impl<'c, C: Encoder<R, Error: CodecError>, R> Responder<'c, C, R> {
    /// Encodes `message` as (part of) the answer, after everything written before it.
    ///
    /// ```
    /// use framekit::{FrameCodec, framing::delimited::Delimited};
    /// use framekit_server::{Answer, Ctx, Handler, Responder};
    ///
    /// type Lines = FrameCodec<Delimited>;
    /// struct Twice;
    /// impl Handler<Lines, bytes::Bytes> for Twice {
    ///     type State = ();
    ///     type Later = std::future::Ready<Option<bytes::Bytes>>;
    ///     fn open(&self, _ctx: &Ctx) {}
    ///     fn call(&self, line: &[u8], _: &mut (), _ctx: &Ctx,
    ///             out: &mut Responder<'_, Lines, bytes::Bytes>) -> Answer<Self::Later> {
    ///         out.send(line);
    ///         out.send(line); // two messages to one request, in order
    ///         Answer::Done
    ///     }
    /// }
    /// # let _ = Twice;
    /// ```
    pub fn send<T>(&mut self, message: T)
    where
        C: Encoder<T, Error: CodecError>,
    {
        match self.exchange.send(message) {
            Ok(()) => self.env.shared.metrics.frames_out(1),
            Err(error) => self.refused(&error),
        }
    }

    /// Sends the server's own response type (a later answer's, the error hook's).
    pub(crate) fn send_response(&mut self, response: R) {
        match self.exchange.send(response) {
            Ok(()) => self.env.shared.metrics.frames_out(1),
            Err(error) => self.refused(&error),
        }
    }

    /// The error reply hook answers for a message the codec refused.
    fn refused(&mut self, error: &dyn CodecErrorDyn) {
        let Some(reply) = self.env.reject(FailureOrigin::Encode, error, true) else {
            return;
        };
        match self.exchange.send(reply) {
            Ok(()) => self.env.shared.metrics.frames_out(1),
            Err(again) => {
                tracing::warn!(error = %again, "the error hook's reply could not be encoded either")
            }
        }
    }

    /// The error reply hook answers for `error` (origin `origin`), in this exchange's place.
    pub(crate) fn reject(
        &mut self,
        origin: FailureOrigin,
        error: &dyn CodecErrorDyn,
        recoverable: bool,
    ) {
        if let Some(reply) = self.env.reject(origin, error, recoverable) {
            self.send_response(reply);
        }
    }
}

impl<C, R> std::fmt::Debug for Responder<'_, C, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Responder")
            .field("exchange", &self.exchange.id())
            .finish_non_exhaustive()
    }
}
