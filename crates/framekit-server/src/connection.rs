//! One connection, from its first byte to its close: reading, decoding, dispatching to the
//! handler, writing, and every limit in between.
//!
//! The connection owns its read buffer, its outbound queue and its handler futures, all in one
//! task; dropping the task cancels everything cleanly. It calls the codec (a
//! [`ConnectionCodec`]) directly on its own buffer (no `Framed`) so that:
//!
//! - an idle connection holds **no** read buffer: while waiting for the first byte of a frame
//!   it polls the socket with a buffer on the stack that lives only during the poll, and it
//!   allocates only for bytes that arrived;
//! - the input budget applies whatever the codec says: a codec still asking for more once the
//!   budget is buffered is a decode failure of kind `"input_budget"` (error reply, then close);
//! - reading stops while the in-flight limit is reached or the outbound queue is above its high
//!   water mark, and resumes below the low water mark;
//! - three timers run: idle (nothing to read, handle or write), frame (a frame started but did
//!   not finish: slowloris) and write (queued output that the peer does not read).
//!
//! Each turn of the loop decodes what is buffered, then waits for the first of: the shutdown
//! signal, the output side (every response that is ready joins the queue, then one vectored
//! write or a flush), a read, or the timer. Gathering responses before writing is what makes
//! pipelined answers leave in one system call.
//!
//! Handler futures of one connection run inside its task: they are concurrent, not parallel.
//! Work that needs a core of its own goes through [`Ctx::blocking`](crate::Ctx::blocking) (or a
//! task the handler spawns).
//!
//! Closing is orderly: requests already decoded are answered, the queue is flushed, the write
//! side is shut down (FIN), and when the server is shutting down or the input was rejected,
//! the connection briefly reads and discards what the peer still sends so the kernel does not
//! answer our last bytes with a reset.

use std::collections::VecDeque;
use std::error::Error as StdError;
use std::future::{poll_fn, Future};
use std::io;
use std::mem::MaybeUninit;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use bytes::{BufMut, BytesMut};
use futures::stream::BoxStream;
use futures::task::AtomicWaker;
use futures::StreamExt;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::codec::ConnectionCodec;
use crate::config::ServerConfig;
use crate::context::Ctx;
use crate::error::{CodecError, InputBudgetExceeded};
use crate::handler::{DuplexHandler, Handler, Inbox, IntoReply, Outbox, Reply};
use crate::metrics::{CloseReason, Metrics};
use crate::outbound::Outbound;

/// Size of the on-stack buffer used to read into an idle connection.
const IDLE_READ: usize = 4 * 1024;
/// How much room a connection reserves when a frame is under way and the buffer is full.
const READ_CHUNK: usize = 8 * 1024;
/// How long a closing connection reads and discards input after an error reply or a handler's
/// end, so our last bytes are not lost to a reset.
const LINGER_AFTER_ERROR: Duration = Duration::from_secs(1);
/// The least a closing connection reads and discards (when the input budget is smaller).
const LINGER_DISCARD_MIN: usize = 64 * 1024;

/// What the error reply hook is told about a rejected input: a codec error, or the input budget
/// running out while the codec still wanted more ([`InputBudgetExceeded`], kind
/// `"input_budget"`).
///
/// When [`recoverable`](DecodeFailure::recoverable) is true the connection carries on after the
/// reply (see [`ServerConfig::recover_decode_errors`](crate::ServerConfig::recover_decode_errors));
/// otherwise the reply is the connection's last response.
///
/// ```
/// use bytes::Bytes;
/// use framekit::FrameError;
/// use framekit_server::DecodeFailure;
///
/// // A hook that names the offset of malformed input, when the codec is a framekit one.
/// fn reply(failure: &DecodeFailure<'_>) -> Option<Bytes> {
///     let at = failure.error.downcast_ref::<FrameError>().and_then(|e| e.offset());
///     Some(Bytes::from(format!("-ERR {} at {:?}", failure.kind, at)))
/// }
/// # let _ = reply;
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub struct DecodeFailure<'a> {
    /// The error's kind name ([`CodecError::kind_name`]): `"too_long"`, `"malformed"`, ...
    pub kind: &'static str,
    /// The codec's error; downcast it (to [`framekit::FrameError`], or
    /// [`InputBudgetExceeded`]) for details.
    pub error: &'a (dyn StdError + Send + Sync + 'static),
    /// Whether the connection goes on after this error (the reply is then sent in request
    /// order, and later requests are handled as usual).
    pub recoverable: bool,
    /// The connection.
    pub ctx: &'a Ctx,
}

impl DecodeFailure<'_> {
    /// Whether the input budget ran out ([`InputBudgetExceeded`]), rather than the codec
    /// rejecting the input.
    pub fn is_input_budget(&self) -> bool {
        self.error.is::<InputBudgetExceeded>()
    }
}

/// The error reply hook: the response to send on a decode error.
pub(crate) type ErrorHook<R> = Arc<dyn Fn(&DecodeFailure<'_>) -> Option<R> + Send + Sync>;

/// What every connection of one server shares.
pub(crate) struct Shared<R> {
    pub(crate) config: ServerConfig,
    pub(crate) metrics: Arc<Metrics>,
    pub(crate) on_decode_error: Option<ErrorHook<R>>,
    /// Whether the "input budget below the codec's needs" warning was logged already.
    pub(crate) budget_warned: AtomicBool,
}

impl<R> Shared<R> {
    /// Counts a rejected input and asks the hook for a reply.
    fn reject(
        &self,
        kind: &'static str,
        error: &(dyn StdError + Send + Sync + 'static),
        recoverable: bool,
        ctx: &Ctx,
    ) -> Option<R> {
        self.metrics.error(kind);
        let hook = self.on_decode_error.as_ref()?;
        hook(&DecodeFailure {
            kind,
            error,
            recoverable,
            ctx,
        })
    }
}

/// How decoded requests become responses: the two handler styles behind one interface.
pub(crate) trait Dispatch<Req>: Send {
    type Resp: Send + 'static;
    /// Whether another request may be handed over now.
    fn has_room(&self) -> bool;
    /// Ready once there is room; otherwise registers the connection's task to be woken when
    /// room frees up by other means than [`poll_response`](Dispatch::poll_response).
    fn poll_room(&mut self, cx: &mut Context<'_>) -> Poll<()>;
    /// Hands over a request. When `direct` is true and its response is ready now, with no
    /// earlier response still to come, the response is returned for the caller to encode
    /// straight away; otherwise it is kept, in order, for [`poll_response`](Dispatch::poll_response).
    /// `cx` is the connection task's: a handler future polled here wakes the connection.
    fn push(&mut self, req: Req, direct: bool, cx: &mut Context<'_>) -> Option<Self::Resp>;
    /// Queues a response that is ready now (an error reply), after every earlier request's.
    fn push_reply(&mut self, resp: Self::Resp);
    /// No more requests will come.
    fn end_input(&mut self);
    /// Give up on work that has not produced output yet (after a decode error).
    fn abandon(&mut self);
    /// Whether a handler asked for the connection to close after its reply.
    fn close_requested(&self) -> bool;
    /// Nothing is being handled (timers may treat the connection as idle).
    fn is_quiet(&self) -> bool;
    /// Nothing more will ever be produced.
    fn is_done(&self) -> bool;
    /// Whether `poll_response` has anything to drive.
    fn wants_poll(&self) -> bool;
    /// Whether work runs that must be driven even while no response is taken (output paused).
    fn has_background(&self) -> bool;
    /// Drives that work; Ready when it made progress the caller must look at (it finished).
    fn poll_background(&mut self, cx: &mut Context<'_>) -> Poll<()>;
    /// The connection is quiet: let go of memory kept for reuse.
    fn release(&mut self) {}
    /// The next response. `Ready(None)` reports progress without a response (a request
    /// answered with nothing, a handler that finished): the caller re-checks its state.
    fn poll_response(&mut self, cx: &mut Context<'_>) -> Poll<Option<Self::Resp>>;
}

/// The response type of a request/response handler.
type RespOf<H, Req> = <<H as Handler<Req>>::Output as IntoReply>::Response;
/// A handler future's home: boxed once, polled in place, and reused for a later request once
/// its future is done (`None` between uses).
type FutureBox<H, Req> = Pin<Box<Option<<H as Handler<Req>>::Future>>>;
/// A kept future box no larger than this survives quiet periods (so a connection answering
/// one request at a time does not allocate per request); larger ones are released.
const KEEP_FUTURE_BOX: usize = 256;

/// One request's place in the response order.
enum Slot<H: Handler<Req>, Req> {
    /// Its handler's future, still pending.
    Waiting(FutureBox<H, Req>),
    /// Its answer, waiting for the answers to earlier requests.
    Done(Reply<RespOf<H, Req>>),
}

/// Request/response with pipelining: handler futures run concurrently, responses come out in
/// request order.
///
/// The fast path allocates nothing per request: a handler's future is polled once as soon as
/// it is created, with the connection task's context, and when it is ready and no earlier
/// answer is waiting its response goes straight to the caller to encode. Only futures that are
/// pending (and answers that must wait behind them) take a slot in `order`; pending futures
/// are all polled, in order, when the connection is woken and the oldest is still pending.
pub(crate) struct Pipeline<H: Handler<Req>, Req> {
    handler: Arc<H>,
    ctx: Ctx,
    max_in_flight: usize,
    /// Answers that could not go out yet, oldest first (at most `max_in_flight`).
    order: VecDeque<Slot<H, Req>>,
    /// How many slots of `order` are [`Slot::Waiting`].
    waiting: usize,
    /// Empty future boxes, reused for the next requests.
    spare: Vec<FutureBox<H, Req>>,
    /// The response stream of the oldest request, being drained.
    current: Option<BoxStream<'static, RespOf<H, Req>>>,
    input_ended: bool,
    /// A handler answered with [`Reply::Close`]: nothing after it is handled.
    close: bool,
}

impl<H: Handler<Req>, Req> Pipeline<H, Req> {
    pub(crate) fn new(handler: Arc<H>, ctx: Ctx, max_in_flight: usize) -> Self {
        Pipeline {
            handler,
            ctx,
            max_in_flight,
            order: VecDeque::new(),
            waiting: 0,
            spare: Vec::new(),
            current: None,
            input_ended: false,
            close: false,
        }
    }

    fn in_flight(&self) -> usize {
        self.order.len() + usize::from(self.current.is_some())
    }

    /// The request that ends the connection was seen: nothing after it is handled.
    fn start_closing(&mut self) {
        self.close = true;
        self.input_ended = true;
    }

    /// Polls every pending future once, in request order; the finished ones become answers
    /// and give their box back.
    fn drive_waiting(&mut self, cx: &mut Context<'_>) {
        let mut left = self.waiting;
        for slot in self.order.iter_mut() {
            if left == 0 {
                break;
            }
            let Slot::Waiting(fut) = slot else { continue };
            left -= 1;
            let done = match fut.as_mut().as_pin_mut() {
                Some(f) => match f.poll(cx) {
                    Poll::Ready(output) => output.into_reply(),
                    Poll::Pending => continue,
                },
                None => Reply::None,
            };
            let Slot::Waiting(mut emptied) = std::mem::replace(slot, Slot::Done(done)) else {
                unreachable!("the slot was waiting")
            };
            emptied.as_mut().set(None);
            self.waiting -= 1;
            if self.spare.len() < self.max_in_flight {
                self.spare.push(emptied);
            }
        }
    }
}

impl<H: Handler<Req>, Req> Drop for Pipeline<H, Req> {
    fn drop(&mut self) {
        // Handlers (and the tasks they spawned) learn that the connection is gone before their
        // futures are dropped.
        self.ctx.closing().cancel();
    }
}

impl<H: Handler<Req>, Req: Send> Dispatch<Req> for Pipeline<H, Req> {
    type Resp = RespOf<H, Req>;

    fn has_room(&self) -> bool {
        !self.close && self.in_flight() < self.max_in_flight
    }
    fn poll_room(&mut self, _cx: &mut Context<'_>) -> Poll<()> {
        // Room only frees up when a response is taken, which the caller sees.
        if self.has_room() {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
    fn push(&mut self, req: Req, direct: bool, cx: &mut Context<'_>) -> Option<Self::Resp> {
        if self.close {
            return None;
        }
        let mut fut = self.spare.pop().unwrap_or_else(|| Box::pin(None));
        fut.as_mut()
            .set(Some(self.handler.call(req, self.ctx.clone())));
        let polled = match fut.as_mut().as_pin_mut() {
            Some(f) => f.poll(cx),
            None => unreachable!("the future was just set"),
        };
        let reply = match polled {
            Poll::Ready(output) => {
                fut.as_mut().set(None);
                self.spare.push(fut);
                output.into_reply()
            }
            Poll::Pending => {
                self.order.push_back(Slot::Waiting(fut));
                self.waiting += 1;
                return None;
            }
        };
        let in_order = direct && self.order.is_empty() && self.current.is_none();
        match reply {
            Reply::None => None,
            Reply::One(resp) if in_order => Some(resp),
            Reply::Close(last) if in_order => {
                self.start_closing();
                last
            }
            Reply::Close(last) => {
                // Nothing read after it is handled, even while earlier answers still wait.
                self.close = true;
                self.order.push_back(Slot::Done(Reply::Close(last)));
                None
            }
            other => {
                self.order.push_back(Slot::Done(other));
                None
            }
        }
    }
    fn push_reply(&mut self, resp: Self::Resp) {
        self.order.push_back(Slot::Done(Reply::One(resp)));
    }
    fn end_input(&mut self) {
        self.input_ended = true;
    }
    fn abandon(&mut self) {}
    fn close_requested(&self) -> bool {
        self.close
    }
    fn is_quiet(&self) -> bool {
        self.in_flight() == 0
    }
    fn is_done(&self) -> bool {
        self.input_ended && self.in_flight() == 0
    }
    fn wants_poll(&self) -> bool {
        self.in_flight() > 0
    }
    fn has_background(&self) -> bool {
        false
    }
    fn poll_background(&mut self, _cx: &mut Context<'_>) -> Poll<()> {
        Poll::Pending
    }
    fn release(&mut self) {
        if std::mem::size_of::<Option<H::Future>>() > KEEP_FUTURE_BOX {
            self.spare = Vec::new();
        } else {
            self.spare.truncate(1);
        }
    }
    fn poll_response(&mut self, cx: &mut Context<'_>) -> Poll<Option<Self::Resp>> {
        loop {
            if let Some(stream) = self.current.as_mut() {
                match ready!(stream.poll_next_unpin(cx)) {
                    Some(resp) => return Poll::Ready(Some(resp)),
                    None => {
                        self.current = None;
                        if self.order.is_empty() {
                            return Poll::Ready(None);
                        }
                    }
                }
            }
            if matches!(self.order.front(), Some(Slot::Waiting(_))) {
                self.drive_waiting(cx);
            }
            let reply = match self.order.front() {
                None => return Poll::Ready(None),
                Some(Slot::Waiting(_)) => return Poll::Pending,
                Some(Slot::Done(_)) => match self.order.pop_front() {
                    Some(Slot::Done(reply)) => reply,
                    _ => unreachable!("the front slot was done"),
                },
            };
            match reply {
                // A slot is free: the caller may decode another request.
                Reply::None => return Poll::Ready(None),
                Reply::One(resp) => return Poll::Ready(Some(resp)),
                Reply::Stream(stream) => self.current = Some(stream),
                Reply::Close(last) => {
                    // Later requests read ahead are dropped unanswered (their futures
                    // cancelled), and no more are decoded.
                    self.start_closing();
                    self.order.clear();
                    self.waiting = 0;
                    return Poll::Ready(last);
                }
            }
        }
    }
}

/// Duplex: the handler owns an inbox and an outbox; its future is driven by the connection,
/// always (also while output is paused, so its timers run).
pub(crate) struct Duplex<Req, Resp> {
    inbox: Option<mpsc::Sender<Req>>,
    /// Woken by the [`Inbox`] whenever a request is taken out of it.
    room: Arc<AtomicWaker>,
    outbox: mpsc::Receiver<Resp>,
    /// Error replies, sent before what the handler queues next.
    replies: VecDeque<Resp>,
    handler: Option<Pin<Box<dyn Future<Output = ()> + Send>>>,
    finished: bool,
    ctx: Ctx,
}

impl<Req: Send + 'static, Resp: Send + 'static> Duplex<Req, Resp> {
    pub(crate) fn new<H: DuplexHandler<Req, Resp>>(handler: &H, ctx: Ctx, capacity: usize) -> Self {
        let (in_tx, in_rx) = mpsc::channel(capacity.max(1));
        let (out_tx, out_rx) = mpsc::channel(capacity.max(1));
        let room = Arc::new(AtomicWaker::new());
        let fut = handler.call(
            Inbox::new(in_rx, room.clone()),
            Outbox::new(out_tx),
            ctx.clone(),
        );
        Duplex {
            inbox: Some(in_tx),
            room,
            outbox: out_rx,
            replies: VecDeque::new(),
            handler: Some(Box::pin(fut)),
            finished: false,
            ctx,
        }
    }
}

impl<Req, Resp> Drop for Duplex<Req, Resp> {
    fn drop(&mut self) {
        // The handler (and the tasks it spawned) learn that the connection is gone before its
        // future is dropped.
        self.ctx.closing().cancel();
    }
}

impl<Req: Send, Resp: Send + 'static> Dispatch<Req> for Duplex<Req, Resp> {
    type Resp = Resp;

    fn has_room(&self) -> bool {
        self.inbox
            .as_ref()
            .is_some_and(|tx| tx.is_closed() || tx.capacity() > 0)
    }
    fn poll_room(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        self.room.register(cx.waker());
        if self.has_room() {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
    fn push(&mut self, req: Req, _direct: bool, _cx: &mut Context<'_>) -> Option<Resp> {
        if let Some(tx) = &self.inbox {
            // Room was checked; a closed inbox means the handler stopped listening.
            let _ = tx.try_send(req);
        }
        None
    }
    fn push_reply(&mut self, resp: Resp) {
        self.replies.push_back(resp);
    }
    fn end_input(&mut self) {
        self.inbox = None;
    }
    fn abandon(&mut self) {
        self.ctx.closing().cancel();
        self.handler = None;
        self.finished = true;
        self.outbox.close();
    }
    fn close_requested(&self) -> bool {
        false
    }
    fn is_quiet(&self) -> bool {
        true
    }
    fn is_done(&self) -> bool {
        self.finished
    }
    fn wants_poll(&self) -> bool {
        !self.finished
    }
    fn has_background(&self) -> bool {
        self.handler.is_some()
    }
    fn poll_background(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        if let Some(handler) = self.handler.as_mut() {
            if handler.as_mut().poll(cx).is_ready() {
                self.handler = None;
                return Poll::Ready(());
            }
        }
        Poll::Pending
    }
    fn poll_response(&mut self, cx: &mut Context<'_>) -> Poll<Option<Resp>> {
        if let Some(reply) = self.replies.pop_front() {
            return Poll::Ready(Some(reply));
        }
        match self.outbox.poll_recv(cx) {
            Poll::Ready(Some(resp)) => Poll::Ready(Some(resp)),
            Poll::Ready(None) => {
                self.finished = self.handler.is_none();
                if self.finished {
                    Poll::Ready(None)
                } else {
                    // Every outbox is gone but the handler still runs (reading, say); its
                    // end is seen by `poll_background`.
                    Poll::Pending
                }
            }
            Poll::Pending if self.handler.is_none() => {
                // The handler returned and what it queued is written: done, even if a clone
                // of its outbox still lives in some other task.
                self.finished = true;
                Poll::Ready(None)
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

/// Reads into `buf`, at most `limit` bytes; with an empty, unallocated buffer the read goes
/// through the stack so waiting costs no heap memory.
fn poll_read_lazy<R: AsyncRead + Unpin>(
    rd: &mut R,
    buf: &mut BytesMut,
    limit: usize,
    cx: &mut Context<'_>,
) -> Poll<io::Result<usize>> {
    let limit = limit.max(1);
    if buf.is_empty() && buf.capacity() == 0 {
        let mut stack = [MaybeUninit::<u8>::uninit(); IDLE_READ];
        let want = limit.min(IDLE_READ);
        let mut rb = ReadBuf::uninit(&mut stack[..want]);
        ready!(Pin::new(rd).poll_read(cx, &mut rb))?;
        let got = rb.filled();
        buf.extend_from_slice(got);
        return Poll::Ready(Ok(got.len()));
    }
    if buf.capacity() == buf.len() {
        buf.reserve(READ_CHUNK.min(limit));
    }
    let mut limited = (&mut *buf).limit(limit);
    tokio_util::io::poll_read_buf(Pin::new(rd), cx, &mut limited)
}

/// What one turn of the output side did.
#[derive(Debug, Default)]
struct OutputStep {
    /// Responses encoded into the queue.
    responses: u64,
    /// The most bytes queued after encoding them.
    queued_peak: usize,
    /// Bytes written to the peer.
    written: usize,
    /// Whether a flush completed.
    flushed: bool,
    /// Whether the dispatcher made progress without a response.
    progressed: bool,
}

enum OutputError<E> {
    Encode(E),
    Io(io::Error),
}

/// One turn of the output side: background work (a duplex handler) is driven, room for the
/// next request is waited for (when `want_room`), every response that is ready joins the queue
/// (while it holds at most `take_up_to` bytes; `None` takes no response), then one (vectored)
/// write goes out, or a flush once everything is written. Pending when none of that could
/// progress.
#[allow(clippy::too_many_arguments)]
fn poll_output<D, C, W, Req>(
    dispatch: &mut D,
    codec: &mut C,
    out: &mut Outbound,
    wr: &mut W,
    take_up_to: Option<usize>,
    want_room: bool,
    unflushed: bool,
    cx: &mut Context<'_>,
) -> Poll<Result<OutputStep, OutputError<C::EncodeError>>>
where
    D: Dispatch<Req>,
    C: ConnectionCodec<D::Resp>,
    W: AsyncWrite + Unpin,
{
    let mut step = OutputStep::default();
    if dispatch.has_background() && dispatch.poll_background(cx).is_ready() {
        step.progressed = true;
    }
    if want_room && dispatch.poll_room(cx).is_ready() {
        step.progressed = true;
    }
    if let Some(high_water) = take_up_to {
        while out.len() <= high_water && dispatch.wants_poll() {
            match dispatch.poll_response(cx) {
                Poll::Ready(Some(resp)) => {
                    codec
                        .queue_response(resp, out)
                        .map_err(OutputError::Encode)?;
                    step.responses += 1;
                    step.queued_peak = step.queued_peak.max(out.len());
                }
                Poll::Ready(None) => step.progressed = true,
                Poll::Pending => break,
            }
        }
    }
    let mut flush = unflushed;
    if !out.is_empty() {
        if let Poll::Ready(written) = out.poll_write(wr, cx) {
            step.written = written.map_err(OutputError::Io)?;
            flush |= step.written > 0;
        }
    }
    // Everything is written: flush in the same turn (free on a socket; TLS sends its records).
    if out.is_empty() && flush {
        if let Poll::Ready(flushed) = Pin::new(wr).poll_flush(cx) {
            flushed.map_err(OutputError::Io)?;
            step.flushed = true;
        }
    }
    if step.responses > 0 || step.written > 0 || step.flushed || step.progressed {
        Poll::Ready(Ok(step))
    } else {
        Poll::Pending
    }
}

fn io_close_reason(err: &io::Error) -> CloseReason {
    match err.kind() {
        io::ErrorKind::ConnectionReset
        | io::ErrorKind::ConnectionAborted
        | io::ErrorKind::BrokenPipe
        | io::ErrorKind::UnexpectedEof => CloseReason::Reset,
        _ => CloseReason::IoError,
    }
}

/// Runs one connection to its end and says why it ended.
pub(crate) async fn run<Io, C, D, Req>(
    io: Io,
    mut codec: C,
    mut dispatch: D,
    shared: &Shared<D::Resp>,
    ctx: &Ctx,
) -> CloseReason
where
    Io: AsyncRead + AsyncWrite + Unpin + Send,
    C: ConnectionCodec<D::Resp, Request = Req>,
    D: Dispatch<Req>,
{
    let cfg = &shared.config;
    let metrics = &*shared.metrics;
    let (mut rd, mut wr) = tokio::io::split(io);
    let mut buf = BytesMut::new();
    let mut out = Outbound::new(cfg.vectored_min);

    // Read side state.
    let mut eof = false;
    let mut input_done = false;
    let mut decoder_wants_more = false;
    let mut end_reason: Option<CloseReason> = None;
    let mut error_reply: Option<D::Resp> = None;
    let mut shutting_down = false;
    let mut closed_by_handler = false;
    // Write side state.
    let mut paused = false;
    // Written but not flushed: transports that buffer (TLS) hold those bytes until a flush.
    let mut unflushed = false;
    // Timers.
    let start = Instant::now();
    let mut last_activity = start;
    let mut frame_started: Option<Instant> = None;
    let mut write_since = start;
    let mut was_reading = false;
    let mut outbound_peak = 0;
    // One timer for all three timeouts. It is moved earlier when needed, but never later: a
    // deadline that moved later is found when the timer fires early, and only then re-armed,
    // so busy connections do not touch the runtime's timer wheel for every event.
    let sleep = tokio::time::sleep_until(start + cfg.idle_timeout);
    tokio::pin!(sleep);
    // Created once: registering a fresh cancellation waiter on every turn costs a lock.
    let closing = ctx.closing().clone().cancelled_owned();
    tokio::pin!(closing);
    // The connection task's waker, for handler futures polled as their request is decoded.
    let mut waker = poll_fn(|cx| Poll::Ready(cx.waker().clone())).await;

    let reason = loop {
        if !closed_by_handler && dispatch.close_requested() {
            // A handler's reply was the last: nothing read after it is handled or answered,
            // not even a decode error found further on.
            closed_by_handler = true;
            error_reply = None;
            if !input_done {
                input_done = true;
                dispatch.end_input();
                buf = BytesMut::new();
            }
            end_reason = Some(CloseReason::HandlerDone);
        }
        // Decode and dispatch every request already buffered, as room allows.
        let mut frames_decoded = 0;
        // Frames consumed without a request (recoverable errors): the frame clock restarts too.
        let mut frames_refused = 0;
        let mut encode_failed = false;
        // Where the last recoverable error left the buffer: a codec that fails twice there in
        // a row makes no progress, and the error is treated as fatal.
        let mut recovered_at: Option<usize> = None;
        // Responses that were ready at once and went straight into the outbound queue.
        let mut answered_at_once = 0;
        let was_writing = !out.is_empty() || unflushed;
        if !input_done && dispatch.has_room() {
            poll_fn(|cx| {
                if !waker.will_wake(cx.waker()) {
                    waker = cx.waker().clone();
                }
                Poll::Ready(())
            })
            .await;
        }
        {
            // Scoped: a `Context` must not live across an await.
            let cx = &mut Context::from_waker(&waker);
            while !input_done && dispatch.has_room() {
                let decoded = codec.decode_request(&mut buf, eof);
                match decoded {
                    Ok(Some(req)) => {
                        frames_decoded += 1;
                        decoder_wants_more = false;
                        recovered_at = None;
                        let direct = !paused && out.len() <= cfg.high_water;
                        if let Some(resp) = dispatch.push(req, direct, cx) {
                            if let Err(e) = codec.queue_response(resp, &mut out) {
                                metrics.error(e.kind_name());
                                tracing::warn!(error = %e, "response could not be encoded");
                                encode_failed = true;
                                break;
                            }
                            answered_at_once += 1;
                        }
                    }
                    Ok(None) => {
                        decoder_wants_more = true;
                        if eof || shutting_down {
                            input_done = true;
                            dispatch.end_input();
                            end_reason.get_or_insert(if shutting_down {
                                CloseReason::Shutdown
                            } else {
                                CloseReason::PeerClosed
                            });
                        }
                        break;
                    }
                    Err(err) => {
                        let kind = err.kind_name();
                        let recover = cfg.recover_decode_errors
                            && err.recoverable()
                            && recovered_at != Some(buf.len());
                        let reply = shared.reject(kind, &err, recover, ctx);
                        if recover {
                            tracing::debug!(error = %err, kind, "recoverable decode error, going on");
                            recovered_at = Some(buf.len());
                            decoder_wants_more = false;
                            frames_refused += 1;
                            if let Some(reply) = reply {
                                dispatch.push_reply(reply);
                            }
                            continue;
                        }
                        tracing::debug!(error = %err, kind, "decode error, closing");
                        error_reply = reply;
                        input_done = true;
                        dispatch.end_input();
                        dispatch.abandon();
                        end_reason = Some(CloseReason::DecodeError);
                        buf = BytesMut::new();
                        break;
                    }
                }
            }
        }
        if frames_decoded > 0 {
            metrics.frames_in(frames_decoded);
        }
        if encode_failed {
            break CloseReason::EncodeError;
        }
        let consumed = frames_decoded > 0 || frames_refused > 0;
        // One clock reading for what this turn's decoding started.
        let stamp = (answered_at_once > 0 || (consumed && !buf.is_empty())).then(Instant::now);
        if let (true, Some(now)) = (answered_at_once > 0, stamp) {
            metrics.frames_out(answered_at_once);
            if out.len() > outbound_peak {
                outbound_peak = out.len();
                metrics.outbound(outbound_peak);
            }
            if !was_writing {
                // The queue just became non-empty: the write clock starts.
                write_since = now;
            }
            last_activity = now;
        }
        if consumed {
            // What is left over is the start of the next frame: its clock starts now.
            frame_started = if buf.is_empty() { None } else { stamp };
        }
        if buf.is_empty() {
            frame_started = None;
            if buf.capacity() > 0 {
                // Idle connections hold no read buffer (frames cut from it keep their bytes).
                buf = BytesMut::new();
            }
        }
        if !input_done && decoder_wants_more && buf.len() >= cfg.input_budget {
            let err = InputBudgetExceeded {
                budget: cfg.input_budget,
                buffered: buf.len(),
            };
            if !shared.budget_warned.swap(true, Ordering::Relaxed) {
                tracing::warn!(
                    budget = cfg.input_budget,
                    "input budget exhausted while the codec still wanted more input; if frames \
                     this large are legitimate, raise ServerConfig::input_budget above the \
                     framing's buffer_limit (ServerConfig::fit_framing); logged once per server"
                );
            }
            tracing::debug!(buffered = buf.len(), "input budget exhausted, closing");
            error_reply = shared.reject(err.kind_name(), &err, false, ctx);
            input_done = true;
            dispatch.end_input();
            dispatch.abandon();
            end_reason = Some(CloseReason::InputBudget);
            buf = BytesMut::new();
            frame_started = None;
        }

        // The error reply follows every response to earlier requests.
        if dispatch.is_done() {
            if let Some(reply) = error_reply.take() {
                if out.is_empty() {
                    write_since = Instant::now();
                }
                match codec.queue_response(reply, &mut out) {
                    Ok(()) => metrics.frames_out(1),
                    Err(e) => metrics.error(e.kind_name()),
                }
            }
            if out.is_empty() && !unflushed {
                break end_reason.unwrap_or(CloseReason::HandlerDone);
            }
        }

        // Water marks.
        if paused && out.len() <= cfg.low_water {
            paused = false;
        } else if !paused && out.len() > cfg.high_water {
            paused = true;
        }
        if out.is_empty() && dispatch.is_quiet() {
            // Nothing to answer: keep no encode buffer either while the peer thinks.
            out.release();
            dispatch.release();
        }

        let room = cfg.input_budget.saturating_sub(buf.len());
        let reading = !eof
            && !input_done
            && !shutting_down
            && !paused
            && dispatch.has_room()
            && buf.len() < cfg.input_budget;
        if reading && !was_reading && !buf.is_empty() {
            // Reading resumes after a pause of our own making: the frame clock restarts.
            frame_started = Some(Instant::now());
        }
        was_reading = reading;

        let mut deadline: Option<Instant> = None;
        let mut arm = |at: Instant| deadline = Some(deadline.map_or(at, |d| d.min(at)));
        let writing = !out.is_empty() || unflushed;
        let take_responses = !paused && dispatch.wants_poll();
        let want_room = !input_done && !dispatch.has_room();
        let background = dispatch.has_background();
        if writing {
            arm(write_since + cfg.write_timeout);
        }
        if let (true, Some(started)) = (reading, frame_started) {
            arm(started + cfg.frame_timeout);
        }
        let quiet = buf.is_empty() && !writing && dispatch.is_quiet();
        if quiet && !input_done {
            arm(last_activity + cfg.idle_timeout);
        }
        if let Some(at) = deadline {
            if at < sleep.deadline() || (sleep.is_elapsed() && at != sleep.deadline()) {
                sleep.as_mut().reset(at);
            }
        }

        tokio::select! {
            biased;
            () = &mut closing, if !shutting_down => {
                tracing::debug!("shutdown signalled");
                shutting_down = true;
            }
            step = poll_fn(|cx| poll_output(
                &mut dispatch,
                &mut codec,
                &mut out,
                &mut wr,
                take_responses.then_some(cfg.high_water),
                want_room,
                unflushed,
                cx,
            )), if writing || take_responses || want_room || background => {
                match step {
                    Ok(step) => {
                        let now = Instant::now();
                        if step.responses > 0 {
                            metrics.frames_out(step.responses);
                            if step.queued_peak > outbound_peak {
                                outbound_peak = step.queued_peak;
                                metrics.outbound(outbound_peak);
                            }
                            if !writing {
                                // The queue just became non-empty: the write clock starts.
                                write_since = now;
                            }
                            last_activity = now;
                        }
                        if step.written > 0 {
                            metrics.bytes_out(step.written);
                            unflushed = true;
                            write_since = now;
                            last_activity = now;
                        }
                        if step.flushed {
                            unflushed = false;
                        }
                    }
                    Err(OutputError::Encode(e)) => {
                        metrics.error(e.kind_name());
                        tracing::warn!(error = %e, "response could not be encoded");
                        break CloseReason::EncodeError;
                    }
                    Err(OutputError::Io(e)) => {
                        metrics.error("write");
                        tracing::debug!(error = %e, "write failed");
                        return io_close_reason(&e);
                    }
                }
            }
            read = poll_fn(|cx| poll_read_lazy(&mut rd, &mut buf, room, cx)), if reading => {
                match read {
                    Ok(0) => eof = true,
                    Ok(n) => {
                        metrics.bytes_in(n);
                        last_activity = Instant::now();
                        frame_started.get_or_insert(last_activity);
                    }
                    Err(e) => {
                        metrics.error("read");
                        tracing::debug!(error = %e, "read failed");
                        return io_close_reason(&e);
                    }
                }
            }
            () = &mut sleep, if deadline.is_some() => {
                let now = Instant::now();
                if writing && now >= write_since + cfg.write_timeout {
                    tracing::info!(queued = out.len(), "write timeout: peer is not reading");
                    return CloseReason::WriteTimeout;
                }
                if let (true, Some(started)) = (reading, frame_started) {
                    if now >= started + cfg.frame_timeout {
                        tracing::info!(buffered = buf.len(), "frame timeout: incomplete frame");
                        return CloseReason::FrameTimeout;
                    }
                }
                if quiet && !input_done && now >= last_activity + cfg.idle_timeout {
                    tracing::debug!("idle timeout");
                    return CloseReason::IdleTimeout;
                }
            }
        }
    };

    if reason == CloseReason::EncodeError {
        return reason;
    }
    // Orderly close: everything is written; send FIN, then let the peer finish.
    match tokio::time::timeout(cfg.write_timeout, wr.shutdown()).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            tracing::debug!(error = %e, "write shutdown failed");
            return reason;
        }
        Err(_) => return CloseReason::WriteTimeout,
    }
    let linger = match reason {
        CloseReason::PeerClosed => None,
        CloseReason::Shutdown => Some(cfg.idle_timeout),
        _ if eof => None,
        _ => Some(LINGER_AFTER_ERROR.min(cfg.idle_timeout)),
    };
    if let Some(linger) = linger {
        // On the heap, and only now: the connection's future stays small while it runs.
        let mut discard = vec![0u8; 1024];
        let mut budget = cfg.input_budget.max(LINGER_DISCARD_MIN);
        let _ = tokio::time::timeout(linger, async {
            while budget > 0 {
                match rd.read(&mut discard).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => budget = budget.saturating_sub(n),
                }
            }
        })
        .await;
    }
    reason
}
