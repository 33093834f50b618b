//! The request/response connection task: the one async code around the connection machine
//! ([`framekit::connection::Connection`] in its server role).
//!
//! - [`serve`]: the task's whole life: the setup stages (the PROXY preamble in [`preamble`],
//!   then the TLS handshake in [`crate::transport`]), the machine driven to its close
//!   ([`turn`]), then the orderly close ([`close`]: FIN, then a linger).
//! - [`turn`]: the driver itself: it owns the transport, the one sleep and the handler's later
//!   answers, and does what the machine says, in the order its module doc gives.
//! - [`work`]: the handler's work in flight (later and streamed answers), in request order, and
//!   how each is written when it moves.
//!
//! Everything lives in the one task; dropping it cancels everything cleanly. Later answers of
//! one connection run inside it: concurrent, not parallel. Work that needs a core of its own
//! goes through [`Ctx::blocking`](crate::Ctx::blocking).

pub(crate) mod close;
pub(crate) mod preamble;
mod turn;
mod work;

use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::sync::Arc;

use framekit::connection::CloseReason as MachineReason;
use tokio::io::{AsyncRead, AsyncWrite};

use crate::codec::ServerCodec;
use crate::context::Ctx;
use crate::handler::{Env, Handler};
use crate::metrics::CloseReason;
use crate::shared::Shared;
use crate::transport::Transport;

use self::turn::Driver;

/// How the connection's loop ended, which decides how it closes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ending {
    /// Everything owed was written: send FIN, then linger (see [`close`]).
    Orderly(CloseReason),
    /// The transport failed or a timeout fired: drop it as it is.
    Abrupt(CloseReason),
}

/// The connection task's life: the setup stages, the machine driven until it is closed, then
/// the close.
///
/// Not an `async fn`: the parameters of one would keep their slots for the future's whole
/// life, so the accepted stream would be carried twice (once as it came, once as the
/// transport). The setup stage takes it at once and the future starts from that.
pub(crate) fn serve<Io, C, H, R>(
    io: Io,
    codec: C,
    handler: Arc<H>,
    shared: Arc<Shared<R>>,
    ctx: Ctx,
) -> impl Future<Output = CloseReason>
where
    Io: AsyncRead + AsyncWrite + Unpin + Send,
    C: ServerCodec<R>,
    H: Handler<C, R>,
    R: Send + 'static,
{
    // Boxed, and gone once done: a stage that runs once per connection keeps its buffers and
    // timer out of the future every connection carries for its whole life. The codec rides
    // in it too: a value the block below captured would keep its slot in that future after
    // moving into the driver (a capture is never overlapped), so it would be carried twice.
    let setup = Box::pin(async move {
        let opened = setup(io, shared.clone(), ctx).await;
        opened.map(|(io, ctx)| (io, ctx, codec, shared))
    });
    async move {
        let (io, ctx, codec, shared) = match setup.await {
            Ok(opened) => opened,
            Err(reason) => return reason,
        };
        let sleep = tokio::time::sleep(std::time::Duration::ZERO);
        tokio::pin!(sleep);
        // In a block of its own: the driver's slot ends with it, so the close below does not
        // carry a second one beside the transport.
        let (ending, eof, mut io) = {
            let state = handler.open(&ctx);
            let mut driver = Driver::new(io, codec, state, &shared);
            // Created once and kept: it registers with the shutdown once, then reads a flag.
            // Not pinned in place: it is `Unpin`, and a pinned shadow would take a slot.
            let mut closing = ctx.watch();
            poll_fn(|cx| {
                let env = Env {
                    shared: &shared,
                    ctx: &ctx,
                };
                driver.poll_turns(cx, &*handler, env, sleep.as_mut(), Pin::new(&mut closing))
            })
            .await;
            drop(handler);
            let (ending, eof) = driver.ending();
            // Later answers and their futures go before the close: the peer may take a while.
            (ending, eof, driver.into_transport())
        };
        ctx.close();
        Box::pin(close::close(
            &mut io,
            eof,
            ending,
            &shared.config,
            sleep.as_mut(),
        ))
        .await
    }
}

/// The setup stages, in the connection's own task (which holds its permit), before any byte
/// is framed: the PROXY preamble (learning the peer's address), then the TLS handshake
/// (wrapping `io`). What they learn goes into the `Ctx` the handler is started with.
pub(crate) async fn setup<Io, R>(
    io: Io,
    shared: Arc<Shared<R>>,
    ctx: Ctx,
) -> Result<(Transport<preamble::Rewind<Io>>, Ctx), CloseReason>
where
    Io: AsyncRead + AsyncWrite + Unpin,
{
    let (io, ctx) = preamble::receive(io, &shared.config.preamble, ctx).await?;
    crate::transport::open(io, &shared, ctx).await
}

/// The server's name for why the machine closed (`io_error`: the transport error, if that was
/// the reason).
pub(crate) fn close_reason(
    reason: MachineReason,
    io_error: Option<std::io::ErrorKind>,
) -> CloseReason {
    match reason {
        MachineReason::PeerClosed => CloseReason::PeerClosed,
        MachineReason::Local => CloseReason::HandlerDone,
        MachineReason::Shutdown => CloseReason::Shutdown,
        MachineReason::Decode(_) | MachineReason::Unsolicited => CloseReason::DecodeError,
        MachineReason::InputBudget => CloseReason::InputBudget,
        MachineReason::IdleTimeout => CloseReason::IdleTimeout,
        MachineReason::WriteTimeout => CloseReason::WriteTimeout,
        MachineReason::FrameTimeout => CloseReason::FrameTimeout,
        MachineReason::Transport => match io_error {
            Some(
                std::io::ErrorKind::ConnectionReset
                | std::io::ErrorKind::ConnectionAborted
                | std::io::ErrorKind::BrokenPipe
                | std::io::ErrorKind::UnexpectedEof,
            ) => CloseReason::Reset,
            _ => CloseReason::IoError,
        },
        // The machine's reasons may grow; a new one is an error until it is named here.
        #[allow(unreachable_patterns)]
        _ => CloseReason::IoError,
    }
}

#[cfg(test)]
mod tests;
