//! The owned style as an adapter over [`Handler`]: an async closure of `(request, Ctx)` that
//! takes each request as an owned value decoded by a `tokio_util` decoder, and answers with
//! `Option<R>` or a [`Reply<R>`](super::Reply). The connection runs the codec wrapped in
//! [`Owned`], and every request becomes a later answer ([`Answer::Later`]) of the one handler
//! model: the same ordering, in-flight limit, deadline and backpressure.
//!
//! [`IntoHandler`] is what lets [`Server::serve`](crate::Server::serve) take a [`Handler`] or a
//! closure; its `How` parameter is inferred.

use std::future::Future;
use std::marker::PhantomData;

use framekit::connection::{CodecError, Owned};
use tokio_util::codec::{Decoder, Encoder};

use super::{Answer, Handler, IntoReply, Responder};
use crate::codec::ServerCodec;
use crate::context::Ctx;

/// Something [`Server::serve`](crate::Server::serve) can run with connections of codec `C`: a
/// [`Handler`] of `C` itself ([`Lent`]), or an async closure of owned requests
/// ([`ByValue`]), which runs over [`Owned<C>`].
///
/// ```
/// use bytes::Bytes;
/// use framekit::{FrameCodec, framing::delimited::Delimited};
/// use framekit_server::{Ctx, handler::{IntoHandler, owned::ByValue}};
///
/// type Lines = FrameCodec<Delimited>;
/// fn servable<H: IntoHandler<Lines, Bytes, ByValue<Bytes>>>(_: H) {}
/// servable(|line: Bytes, _ctx: Ctx| async move { Some(line) });
/// ```
pub trait IntoHandler<C, R, How> {
    /// The codec the connection runs.
    type Codec: ServerCodec<R>;
    /// The handler it runs.
    type Handler: Handler<Self::Codec, R>;
    /// The handler.
    fn into_handler(self) -> Self::Handler;
    /// The connection's codec, from the one the server was given.
    fn codec(codec: C) -> Self::Codec;
}

/// [`IntoHandler`] of a [`Handler`]: requests are lent as the codec's views.
#[derive(Debug)]
pub enum Lent {}

/// [`IntoHandler`] of an async closure taking owned `Req`uests.
#[derive(Debug)]
pub struct ByValue<Req>(PhantomData<fn(Req)>);

impl<C: ServerCodec<R>, R, H: Handler<C, R>> IntoHandler<C, R, Lent> for H {
    type Codec = C;
    type Handler = H;

    fn into_handler(self) -> H {
        self
    }

    fn codec(codec: C) -> C {
        codec
    }
}

impl<C, R, F, Fut, Req> IntoHandler<C, R, ByValue<Req>> for F
where
    C: Decoder<Item = Req, Error: CodecError> + Encoder<R, Error: CodecError> + Send + 'static,
    Req: Send + 'static,
    R: Send + 'static,
    F: Fn(Req, Ctx) -> Fut + Send + Sync + 'static,
    Fut: Future<Output: IntoReply<Response = R> + Send> + Send + 'static,
{
    type Codec = Owned<C>;
    type Handler = Closure<F>;

    fn into_handler(self) -> Closure<F> {
        Closure(self)
    }

    fn codec(codec: C) -> Owned<C> {
        Owned(codec)
    }
}

/// An async closure of owned requests as a [`Handler`] over [`Owned`] codecs.
///
/// ```
/// use bytes::Bytes;
/// use framekit::{FrameCodec, connection::Owned, framing::delimited::Delimited};
/// use framekit_server::{Ctx, Handler, handler::owned::Closure};
///
/// fn is_handler<H: Handler<Owned<FrameCodec<Delimited>>, Bytes>>(_: H) {}
/// is_handler(Closure(|line: Bytes, _ctx: Ctx| async move { Some(line) }));
/// ```
#[derive(Debug, Clone)]
pub struct Closure<F>(pub F);

impl<C, R, F, Fut> Handler<Owned<C>, R> for Closure<F>
where
    C: Decoder<Error: CodecError> + Send + 'static,
    C::Item: Send + 'static,
    F: Fn(C::Item, Ctx) -> Fut + Send + Sync + 'static,
    Fut: Future<Output: IntoReply<Response = R> + Send> + Send + 'static,
{
    type State = ();
    type Later = Fut;

    fn open(&self, _ctx: &Ctx) {}

    fn call(
        &self,
        req: C::Item,
        _: &mut (),
        ctx: &Ctx,
        _out: &mut Responder<'_, Owned<C>, R>,
    ) -> Answer<Fut> {
        Answer::Later((self.0)(req, ctx.clone()))
    }
}
