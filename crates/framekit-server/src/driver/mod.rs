//! The request/response connection task: the one async code around the connection machine
//! ([`framekit::connection::Connection`] in its server role).
//!
//! - [`serve`]: the task's whole life: the setup stages (the PROXY preamble in [`preamble`],
//!   then the TLS handshake in [`crate::transport`]), the machine driven to its close
//!   ([`turn`]), then the orderly close ([`close`]: FIN, then a linger).
//! - [`turn`]: the driver itself: it owns the transport and the handler's later answers, polls
//!   the one sleep the connection's future keeps for it, and does what the machine says, in
//!   the order its module doc gives (the close makes a sleep of its own).
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

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use framekit::connection::CloseReason as MachineReason;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::time::Sleep;

use crate::codec::ServerCodec;
use crate::context::{Ctx, Live};
use crate::handler::{Env, Handler};
use crate::metrics::CloseReason;
use crate::shared::Shared;
use crate::transport::Transport;
use crate::watch::Watch;

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
pub(crate) fn serve<Io, C, H, R>(
    io: Io,
    codec: C,
    handler: Arc<H>,
    shared: Arc<Shared<R>>,
    ctx: Ctx,
) -> impl Future<Output = CloseReason>
where
    Io: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    C: ServerCodec<R>,
    H: Handler<C, R>,
    R: Send + 'static,
{
    Serve {
        sleep: tokio::time::sleep(Duration::ZERO),
        stage: Stage::Setup {
            // Boxed, and gone once done: a stage that runs once per connection keeps its
            // buffers and timer out of the future every connection carries for its life.
            setup: Box::pin(setup(io, shared.clone(), ctx)),
            codec,
            handler,
        },
        shared,
    }
}

pin_project_lite::pin_project! {
    /// One connection's future, written by hand rather than as an `async` block: a block keeps
    /// a slot for every value it holds across an await (its captures after they moved, pinned
    /// shadows, the references a `poll_fn` captures), and this future sits in every
    /// connection's task for its whole life, idle or not. Here each stage holds only what it
    /// needs, and the stages share their room.
    struct Serve<S, Io, C, H, R>
    where
        C: ServerCodec<R>,
        H: Handler<C, R>,
    {
        // The one sleep: the driver's, for the connection's life (the close has its own).
        #[pin]
        sleep: Sleep,
        shared: Arc<Shared<R>>,
        stage: Stage<S, Io, C, H, R>,
    }
}

/// Where a connection is in its life.
// The running stage is the connection: boxing it would be one more allocation per
// connection, and the short stages only borrow its room.
#[allow(clippy::large_enum_variant)]
enum Stage<S, Io, C, H, R>
where
    C: ServerCodec<R>,
    H: Handler<C, R>,
{
    /// The PROXY preamble and the TLS handshake (`setup`), before any byte is framed.
    Setup {
        setup: Pin<Box<S>>,
        codec: C,
        handler: Arc<H>,
    },
    /// The machine, driven until it is closed.
    Running {
        driver: Driver<Transport<preamble::Rewind<Io>>, C, H, R>,
        handler: Arc<H>,
        /// Closed when the stage is left or dropped, however the loop ended.
        ctx: Live,
        /// The loop's part in watching the shutdown (the registration is in `ctx`).
        watch: Watch,
    },
    /// The orderly close ([`close`]), boxed: it runs once.
    Closing(Pin<Box<dyn Future<Output = CloseReason> + Send>>),
    /// Returned.
    Done,
}

impl<S, Io, C, H, R> Future for Serve<S, Io, C, H, R>
where
    S: Future<Output = Result<(Transport<preamble::Rewind<Io>>, Ctx), CloseReason>>,
    Io: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    C: ServerCodec<R>,
    H: Handler<C, R>,
    R: Send + 'static,
{
    type Output = CloseReason;

    // Inlined into the task's poll, as the `async` block it replaced was: every wake-up of
    // every connection comes through here.
    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<CloseReason> {
        let mut this = self.project();
        loop {
            match this.stage {
                Stage::Setup { setup, .. } => {
                    let opened = ready!(setup.as_mut().poll(cx));
                    let Stage::Setup { codec, handler, .. } =
                        std::mem::replace(this.stage, Stage::Done)
                    else {
                        unreachable!("matched just above");
                    };
                    let (io, ctx) = match opened {
                        Ok(opened) => opened,
                        Err(reason) => return Poll::Ready(reason),
                    };
                    let state = handler.open(&ctx);
                    *this.stage = Stage::Running {
                        driver: Driver::new(io, codec, state, this.shared),
                        handler,
                        watch: Watch::default(),
                        ctx: ctx.live(),
                    };
                }
                Stage::Running {
                    driver,
                    handler,
                    ctx,
                    watch,
                } => {
                    let env = Env {
                        shared: this.shared,
                        ctx,
                    };
                    ready!(driver.poll_turns(cx, &**handler, env, this.sleep.as_mut(), watch));
                    // The handler's share, its later answers and their futures go before the
                    // close: the peer may take a while. The context is closed first, so tasks
                    // those futures spawned see `Ctx::closing` fire before they are dropped.
                    let Stage::Running { driver, ctx, .. } =
                        std::mem::replace(this.stage, Stage::Done)
                    else {
                        unreachable!("matched just above");
                    };
                    let (ending, eof) = driver.ending();
                    drop(ctx);
                    let io = driver.into_transport();
                    match ending {
                        Ending::Abrupt(reason) => return Poll::Ready(reason),
                        Ending::Orderly(reason) => {
                            let shared = Arc::clone(this.shared);
                            *this.stage =
                                Stage::Closing(Box::pin(close::close(io, eof, reason, shared)));
                        }
                    }
                }
                Stage::Closing(closing) => {
                    let reason = ready!(closing.as_mut().poll(cx));
                    *this.stage = Stage::Done;
                    return Poll::Ready(reason);
                }
                Stage::Done => panic!("a connection's future polled after it returned"),
            }
        }
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
