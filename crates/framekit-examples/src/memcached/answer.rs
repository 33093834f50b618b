//! What a memcached command answers through: the request's environment ([`Env`]: the clock,
//! the time, the server's counters), the answer buffer with memcached's `noreply` rule
//! (`Out`), and the answer texts the classic and meta commands share.

use bytes::BytesMut;

use super::clock::Clock;
use super::connections::Connections;

/// What a request runs with besides the store: the clock, the time, and the server's counters
/// for `stats`.
#[derive(Debug, Clone, Copy)]
pub struct Env {
    /// The store's clock.
    pub clock: Clock,
    /// The store time of this request.
    pub now: u32,
    /// The server's process id.
    pub pid: u32,
    /// Connections open now.
    pub curr_connections: u64,
    /// Connections accepted since start.
    pub total_connections: u64,
}

impl Env {
    /// The environment of a request run now: `clock`'s time, the process id `pid` and the
    /// counts of `connections`.
    pub fn now(clock: Clock, pid: u32, connections: &Connections) -> Env {
        Env {
            clock,
            now: clock.now_system(),
            pid,
            curr_connections: connections.current(),
            total_connections: connections.total(),
        }
    }
}

/// Answers, or none under `noreply` (memcached's `out_string`).
pub(super) struct Out<'a> {
    pub buf: &'a mut BytesMut,
    pub noreply: bool,
}

impl Out<'_> {
    /// A whole answer line, unless `noreply`.
    pub fn line(&mut self, text: &[u8]) {
        if !self.noreply {
            self.buf.extend_from_slice(text);
            self.buf.extend_from_slice(b"\r\n");
        }
    }

    /// An answer line even under `noreply` (memcached's `out_errstring`).
    pub fn error(&mut self, text: &[u8]) {
        self.buf.extend_from_slice(text);
        self.buf.extend_from_slice(b"\r\n");
    }
}

pub(super) const BAD_FORMAT: &[u8] = b"CLIENT_ERROR bad command line format";
pub(super) const BAD_EXPTIME: &[u8] = b"CLIENT_ERROR invalid exptime argument";
pub(super) const TOO_LARGE: &[u8] = b"SERVER_ERROR object too large for cache";
pub(super) const NO_MEMORY: &[u8] = b"SERVER_ERROR out of memory storing object";
pub(super) const BAD_CHUNK: &[u8] = b"CLIENT_ERROR bad data chunk";
