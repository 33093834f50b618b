//! The memcached connection's codec for framekit-server: requests lent out of the read buffer
//! ([`MemcacheCodec`]), each run against the store as its answer is encoded ([`Run`]), and the
//! input budget a [`MemcacheFraming`] needs ([`config`]). `memcached_server`'s handler uses it.

use bytes::{Bytes, BytesMut};
use framekit::connection::Decode;
use framekit::framing::Framing;
use framekit::FrameError;
use framekit_server::ServerConfig;
use tokio_util::codec::{Decoder, Encoder};

use super::answer::Env;
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
    /// The request, lent from the read buffer.
    pub request: &'a Request<'b>,
    /// The store it runs against.
    pub store: &'a mut Store,
    /// What `stats` reports and the request's time.
    pub env: Env,
    /// Set to whether the connection goes on after this request.
    pub flow: &'a mut Flow,
}

impl Encoder<Run<'_, '_>> for MemcacheCodec {
    type Error = FrameError;

    fn encode(&mut self, run: Run<'_, '_>, dst: &mut BytesMut) -> Result<(), FrameError> {
        *run.flow = execute(run.request, run.store, &run.env, dst);
        Ok(())
    }
}

/// `config` with an input budget that holds `framing`'s largest request (a whole item, or a
/// long `get` line), which is buffered before it runs.
pub fn config(config: ServerConfig, framing: &MemcacheFraming) -> ServerConfig {
    let budget = config.limits().input_budget.max(framing.buffer_limit());
    config.input_budget(budget)
}
