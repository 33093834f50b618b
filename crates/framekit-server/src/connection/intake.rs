//! How requests get from the read buffer to a handler: decoded into owned values and pushed
//! (the owned kinds, through [`take_owned`]), or lent out where they lie (the borrowed kind),
//! with answers that are ready at once going straight into the write side's queue.

use std::task::Context;

use bytes::BytesMut;

use crate::codec::ConnectionCodec;
use crate::error::CodecError;

use super::dispatch::{Dispatch, Work};
use super::writing::Writing;
use super::Env;

/// What one [`Intake::take`] did with the read buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Taken {
    /// A request was taken out of the buffer and handled; `answered` responses went straight
    /// into the output queue.
    Request { answered: u64 },
    /// No whole request is buffered: wait for more bytes.
    Incomplete,
    /// A request may be buffered but cannot be handled now (the output queue is above its
    /// high water mark): try again on a later turn.
    Wait,
}

/// Why [`Intake::take`] took no request.
#[derive(Debug)]
pub(crate) enum Refused<E> {
    /// The codec failed on the buffered bytes.
    Decode(E),
    /// A response could not be encoded and the queue could not be repaired.
    Unencodable,
}

/// How requests get from the read buffer to a handler kind, with codec `C`.
pub(crate) trait Intake<C, R> {
    /// The decoding error.
    type Error: CodecError;
    /// Takes the next request from `buf` (`eof`: the peer has closed its side) and hands it
    /// over; answers that are ready at once go straight into `writing`'s queue. `cx` is the
    /// connection task's.
    #[allow(clippy::too_many_arguments)]
    fn take(
        &mut self,
        codec: &mut C,
        buf: &mut BytesMut,
        eof: bool,
        writing: &mut Writing,
        env: Env<'_, R>,
        cx: &mut Context<'_>,
    ) -> Result<Taken, Refused<Self::Error>>;
}

/// The owned kinds' [`Intake`]: the codec decodes an owned request, which is pushed; a
/// response ready at once (with no earlier one still to come) is encoded straight away.
pub(crate) fn take_owned<C, D, Req>(
    dispatch: &mut D,
    codec: &mut C,
    buf: &mut BytesMut,
    eof: bool,
    writing: &mut Writing,
    env: Env<'_, D::Resp>,
    cx: &mut Context<'_>,
) -> Result<Taken, Refused<C::DecodeError>>
where
    C: ConnectionCodec<D::Resp, Request = Req>,
    D: Dispatch<Req>,
{
    let req = match codec.decode_request(buf, eof) {
        Ok(Some(req)) => req,
        Ok(None) => return Ok(Taken::Incomplete),
        Err(err) => return Err(Refused::Decode(err)),
    };
    let direct = writing.takes_direct(env.shared.config.high_water);
    let Some(resp) = dispatch.push(Work::Request { req, direct }, cx) else {
        return Ok(Taken::Request { answered: 0 });
    };
    writing
        .encode(codec, resp, env)
        .map_err(|_| Refused::Unencodable)?;
    Ok(Taken::Request { answered: 1 })
}
