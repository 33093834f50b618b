//! What an answer given later is: a [`Reply`] (none, one, a stream of parts, the last one, or a
//! failure), or anything that converts into one ([`IntoReply`]: `Option<R>` too).

use futures::stream::BoxStream;
use futures::Stream;

use crate::error::BoxError;

/// What a request/response handler answers with.
///
/// ```
/// use framekit_server::Reply;
/// use futures::stream;
///
/// let none: Reply<&str> = Reply::None;
/// let one = Reply::One("pong");
/// let many = Reply::stream(stream::iter(["a", "b", "c"]));
/// let bye = Reply::last("+OK bye"); // then close the connection
/// let failed: Reply<&str> = Reply::failed("disk full"); // answered by the error reply hook
/// # let _ = (none, one, many, bye, failed);
/// ```
pub enum Reply<R> {
    /// No response to this request.
    None,
    /// One response.
    One(R),
    /// Several responses, written in order before any response to a later request.
    Stream(BoxStream<'static, R>),
    /// The connection's last response (or none), for `QUIT` or a protocol error: the responses
    /// to every earlier request go out first, in order, then this one; then the connection is
    /// flushed and closed (write side first, like any orderly close).
    ///
    /// Nothing after this request is handled: no later request is decoded, and requests already
    /// read ahead and being handled concurrently (see
    /// [`max_in_flight`](crate::ServerConfig::max_in_flight)) are dropped unanswered, their
    /// futures cancelled. A handler with side effects that must not run after a close should
    /// use `max_in_flight(1)`.
    Close(Option<R>),
    /// The handler failed: the error reply hook is asked for the answer (kind
    /// `"handler_error"`, with this error), which goes out in the request's place; the
    /// connection goes on. A [`tower`](crate::tower) service's error arrives this way.
    Failed(BoxError),
}

impl<R> Reply<R> {
    /// Responds with every item of `stream`, in order.
    ///
    /// ```
    /// use framekit_server::Reply;
    /// let _many = Reply::stream(futures::stream::iter(["a", "b"]));
    /// ```
    pub fn stream(stream: impl Stream<Item = R> + Send + 'static) -> Self {
        Reply::Stream(Box::pin(stream))
    }

    /// Responds with `resp`, then closes the connection ([`Reply::Close`]).
    ///
    /// ```
    /// use framekit_server::Reply;
    /// assert!(matches!(Reply::last("+OK"), Reply::Close(Some("+OK"))));
    /// ```
    pub fn last(resp: R) -> Self {
        Reply::Close(Some(resp))
    }

    /// Closes the connection without a response, after the responses to earlier requests
    /// ([`Reply::Close`]).
    ///
    /// ```
    /// use framekit_server::Reply;
    /// assert!(matches!(Reply::<&str>::close(), Reply::Close(None)));
    /// ```
    pub fn close() -> Self {
        Reply::Close(None)
    }

    /// Fails with `error`, answered by the error reply hook ([`Reply::Failed`]).
    ///
    /// ```
    /// use framekit_server::Reply;
    /// assert!(matches!(Reply::<&str>::failed("no such key"), Reply::Failed(_)));
    /// ```
    pub fn failed(error: impl Into<BoxError>) -> Self {
        Reply::Failed(error.into())
    }
}

impl<R> std::fmt::Debug for Reply<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Reply::None => f.write_str("Reply::None"),
            Reply::One(_) => f.write_str("Reply::One(..)"),
            Reply::Stream(_) => f.write_str("Reply::Stream(..)"),
            Reply::Close(Some(_)) => f.write_str("Reply::Close(Some(..))"),
            Reply::Close(None) => f.write_str("Reply::Close(None)"),
            Reply::Failed(e) => write!(f, "Reply::Failed({e})"),
        }
    }
}

/// A handler's output that the server can turn into responses: `Option<R>` or [`Reply<R>`].
///
/// ```
/// use framekit_server::{handler::IntoReply, Reply};
/// assert!(matches!(Some("pong").into_reply(), Reply::One("pong")));
/// assert!(matches!(None::<&str>.into_reply(), Reply::None));
/// ```
pub trait IntoReply {
    /// The response type.
    type Response: Send + 'static;
    /// Converts into a [`Reply`].
    fn into_reply(self) -> Reply<Self::Response>;
}

impl<R: Send + 'static> IntoReply for Option<R> {
    type Response = R;
    fn into_reply(self) -> Reply<R> {
        match self {
            Some(r) => Reply::One(r),
            None => Reply::None,
        }
    }
}

impl<R: Send + 'static> IntoReply for Reply<R> {
    type Response = R;
    fn into_reply(self) -> Reply<R> {
        self
    }
}
