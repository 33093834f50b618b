//! The glue between the memcached protocol and framekit-server, kept to this one file so it
//! follows the server's handler model wherever it goes: a codec that lends requests out of the
//! read buffer ([`MemcacheCodec`]), a [`Handler`] that runs each one against the
//! shared [`Store`] ([`Memcache`]), and [`serve`], which starts both on a [`Server`].

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use bytes::{Bytes, BytesMut};
use framekit::connection::Decode;
use framekit::framing::Framing;
use framekit::FrameError;
use framekit_server::listener::Acceptor;
use framekit_server::{Answer, Ctx, Handler, Responder, Server, ServerConfig, ServerHandle};
use tokio_util::codec::{Decoder, Encoder};

use super::answer::Env;
use super::clock::Clock;
use super::commands::{execute, Flow};
use super::framing::MemcacheFraming;
use super::request::{Request, RequestDecoder};
use super::store::Store;

/// What memcached tells a client past its connection limit before closing.
pub const SERVER_FULL: &[u8] = b"ERROR Too many open connections\r\n";

/// A memcached connection's codec: requests lent from the read buffer, answers written
/// straight into the output queue by the command that makes them ([`Run`]), and raw answer
/// bytes (the server's hooks).
#[derive(Debug, Clone)]
pub struct MemcacheCodec {
    requests: RequestDecoder,
}

impl MemcacheCodec {
    /// A codec framing requests with `framing`.
    pub fn new(framing: MemcacheFraming) -> Self {
        MemcacheCodec {
            requests: RequestDecoder::new(framing),
        }
    }
}

impl Decoder for MemcacheCodec {
    type Item = Bytes;
    type Error = FrameError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Bytes>, FrameError> {
        Decoder::decode(&mut self.requests, src)
    }
}

impl Decode for MemcacheCodec {
    type Found = usize;
    type View<'b> = Request<'b>;
    type Error = FrameError;

    #[inline]
    fn decode(&mut self, buf: &mut BytesMut, eof: bool) -> Result<Option<usize>, FrameError> {
        Decode::decode(&mut self.requests, buf, eof)
    }

    #[inline]
    fn view<'b>(&self, buf: &'b BytesMut, len: usize) -> (Request<'b>, usize) {
        self.requests.view(buf, len)
    }
}

/// Answer bytes as they are.
impl Encoder<Bytes> for MemcacheCodec {
    type Error = FrameError;

    fn encode(&mut self, answer: Bytes, dst: &mut BytesMut) -> Result<(), FrameError> {
        dst.extend_from_slice(&answer);
        Ok(())
    }
}

/// One request to run, whose answer is written where it is encoded: a `get` copies a value
/// once, from the store into the output queue.
pub struct Run<'a, 'b> {
    request: &'a Request<'b>,
    store: &'a mut Store,
    env: Env,
    flow: &'a mut Flow,
}

impl Encoder<Run<'_, '_>> for MemcacheCodec {
    type Error = FrameError;

    fn encode(&mut self, run: Run<'_, '_>, dst: &mut BytesMut) -> Result<(), FrameError> {
        *run.flow = execute(run.request, run.store, &run.env, dst);
        Ok(())
    }
}

/// Connections open and accepted, for `stats`.
#[derive(Debug, Default)]
struct Connections {
    open: AtomicU64,
    total: AtomicU64,
}

/// A connection's handler state: counts it open until it is dropped.
#[derive(Debug)]
pub struct Open(Arc<Connections>);

impl Drop for Open {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The memcached handler: every connection runs its requests, in order, against one store.
#[derive(Debug)]
pub struct Memcache {
    store: Mutex<Store>,
    clock: Clock,
    connections: Arc<Connections>,
    /// The process id for `stats`, read once (`getpid` is a system call).
    pid: u32,
}

impl Handler<MemcacheCodec, Bytes> for Memcache {
    type State = Open;
    /// Never deferred: every command answers at once.
    type Later = std::future::Ready<Option<Bytes>>;

    fn open(&self, _ctx: &Ctx) -> Open {
        self.connections.open.fetch_add(1, Ordering::Relaxed);
        self.connections.total.fetch_add(1, Ordering::Relaxed);
        Open(self.connections.clone())
    }

    fn call(
        &self,
        request: Request<'_>,
        _open: &mut Open,
        _ctx: &Ctx,
        out: &mut Responder<'_, MemcacheCodec, Bytes>,
    ) -> Answer<Self::Later> {
        let env = Env {
            clock: self.clock,
            now: self.clock.now_system(),
            pid: self.pid,
            curr_connections: self.connections.open.load(Ordering::Relaxed),
            total_connections: self.connections.total.load(Ordering::Relaxed),
        };
        let mut store = self.store.lock().unwrap_or_else(|p| p.into_inner());
        let mut flow = Flow::Continue;
        out.send(Run {
            request: &request,
            store: &mut store,
            env,
            flow: &mut flow,
        });
        match flow {
            Flow::Continue => Answer::Done,
            Flow::Close => Answer::Close,
        }
    }
}

/// `config` with an input budget that holds `framing`'s largest request (a whole item, or a
/// long `get` line), which is buffered before it runs.
pub fn config(config: ServerConfig, framing: &MemcacheFraming) -> ServerConfig {
    let budget = config.limits().input_budget.max(framing.buffer_limit());
    config.input_budget(budget)
}

/// `memcached_server`: memcached's text protocol over one [`Store`] of `memory` bytes. A line
/// over the limit ends its connection without a word, as memcached does; a client past the
/// connection limit is told [`SERVER_FULL`].
pub fn serve<A: Acceptor>(
    server: Server<A, Bytes>,
    framing: MemcacheFraming,
    memory: usize,
) -> ServerHandle {
    let handler = Memcache {
        store: Mutex::new(Store::new(memory, framing.item_limit())),
        clock: Clock::system(),
        connections: Arc::default(),
        pid: std::process::id(),
    };
    server
        .on_failure(|_| None)
        .on_reject(|_| Some(Bytes::from_static(SERVER_FULL)))
        .serve(MemcacheCodec::new(framing), handler)
}
