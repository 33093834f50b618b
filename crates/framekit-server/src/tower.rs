//! tower interop: any `tower::Service` as a request/response handler (feature `tower`).
//!
//! Each request goes to a clone of the service (the usual pattern for shared services: wrap
//! stateful middleware such as a concurrency limit in `tower::buffer` so clones share it), after
//! waiting for `poll_ready`. The service takes owned requests, decoded by the codec's
//! `tokio_util` decoder, so [`ServiceHandler`] is an adapter over the one handler model, as an
//! async closure is; its response is anything that is [`IntoReply`] (`Option<Resp>` or
//! [`Reply<Resp>`]).
//!
//! ```
//! use std::convert::Infallible;
//! use std::future::{ready, Ready};
//! use std::task::{Context, Poll};
//! use bytes::Bytes;
//! use framekit_server::tower::{tower_service::Service, ServiceHandler};
//!
//! /// Answers every request with its length.
//! #[derive(Clone)]
//! struct Len;
//!
//! impl Service<Bytes> for Len {
//!     type Response = Option<Bytes>;
//!     type Error = Infallible;
//!     type Future = Ready<Result<Option<Bytes>, Infallible>>;
//!     fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
//!         Poll::Ready(Ok(()))
//!     }
//!     fn call(&mut self, req: Bytes) -> Self::Future {
//!         ready(Ok(Some(Bytes::from(req.len().to_string()))))
//!     }
//! }
//!
//! let mut len = Len;
//! let answer = futures::executor::block_on(len.call(Bytes::from_static(b"four")));
//! assert_eq!(answer, Ok(Some(Bytes::from_static(b"4"))));
//! // Served with `Server::serve(codec, ServiceHandler::new(len))` like any handler.
//! let _handler = ServiceHandler::new(len);
//! ```

use std::future::poll_fn;

use framekit::connection::{CodecError, Owned};
use futures::future::BoxFuture;
use tokio_util::codec::{Decoder, Encoder};
pub use tower_service;
use tower_service::Service;

use crate::context::Ctx;
use crate::handler::{Answer, BoxError, Handler, IntoHandler, IntoReply, Reply, Responder};

/// A `tower::Service` as a [`Handler`] over [`Owned`] codecs.
///
/// A service error (from `poll_ready` or the call) is answered through the error reply hook
/// ([`Reply::Failed`], kind `"handler_error"`), in the request's place; without a hook the
/// request gets no answer. The connection goes on either way.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// use std::convert::Infallible;
/// use std::future::{ready, Ready};
/// use std::task::{Context, Poll};
/// use std::time::Duration;
/// use bytes::Bytes;
/// use framekit::{FrameCodec, framing::delimited::Delimited};
/// use framekit_server::{tower::{tower_service::Service, ServiceHandler}, Server};
///
/// #[derive(Clone)]
/// struct Shout;
///
/// impl Service<Bytes> for Shout {
///     type Response = Option<Bytes>;
///     type Error = Infallible;
///     type Future = Ready<Result<Option<Bytes>, Infallible>>;
///     fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
///         Poll::Ready(Ok(()))
///     }
///     fn call(&mut self, req: Bytes) -> Self::Future {
///         ready(Ok(Some(Bytes::from(req.to_ascii_uppercase()))))
///     }
/// }
///
/// let server = Server::bind("127.0.0.1:0").await?
///     .serve(FrameCodec::new(Delimited::newline()), ServiceHandler::new(Shout));
/// server.shutdown(Duration::from_secs(1)).await;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct ServiceHandler<S> {
    service: S,
}

impl<S> ServiceHandler<S> {
    /// Serves requests with `service`.
    ///
    /// ```
    /// use framekit_server::tower::ServiceHandler;
    /// let handler = ServiceHandler::new(42u32); // any Clone service
    /// assert_eq!(*handler.service(), 42);
    /// ```
    pub fn new(service: S) -> Self {
        ServiceHandler { service }
    }

    /// The service.
    ///
    /// ```
    /// use framekit_server::tower::ServiceHandler;
    /// assert_eq!(*ServiceHandler::new("svc").service(), "svc");
    /// ```
    pub fn service(&self) -> &S {
        &self.service
    }
}

/// [`IntoHandler`] of a [`ServiceHandler`].
#[derive(Debug)]
pub enum Served {}

impl<C, R, S> IntoHandler<C, R, Served> for ServiceHandler<S>
where
    C: Decoder<Item: Send, Error: CodecError> + Encoder<R, Error: CodecError> + Send + 'static,
    R: Send + 'static,
    S: Service<C::Item> + Clone + Send + Sync + 'static,
    S::Future: Send + 'static,
    S::Response: IntoReply<Response = R> + Send,
    S::Error: Into<BoxError>,
{
    type Codec = Owned<C>;
    type Handler = Self;

    fn into_handler(self) -> Self {
        self
    }

    fn codec(codec: C) -> Owned<C> {
        Owned(codec)
    }
}

impl<C, R, S> Handler<Owned<C>, R> for ServiceHandler<S>
where
    C: Decoder<Item: Send, Error: CodecError> + Send + 'static,
    R: Send + 'static,
    S: Service<C::Item> + Clone + Send + Sync + 'static,
    S::Future: Send + 'static,
    S::Response: IntoReply<Response = R> + Send,
    S::Error: Into<BoxError>,
{
    type State = ();
    type Later = BoxFuture<'static, Reply<R>>;

    fn open(&self, _ctx: &Ctx) {}

    fn call(
        &self,
        req: C::Item,
        _: &mut (),
        _ctx: &Ctx,
        _out: &mut Responder<'_, Owned<C>, R>,
    ) -> Answer<Self::Later> {
        let mut service = self.service.clone();
        Answer::Later(Box::pin(async move {
            if let Err(e) = poll_fn(|cx| service.poll_ready(cx)).await {
                return Reply::Failed(e.into());
            }
            match service.call(req).await {
                Ok(response) => response.into_reply(),
                Err(e) => Reply::Failed(e.into()),
            }
        }))
    }
}
