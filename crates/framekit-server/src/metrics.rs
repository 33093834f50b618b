//! Live counters of a server, and why connections closed.
//!
//! Counters are plain atomics updated by the accept loop and the connections; a
//! [`MetricsSnapshot`] is a consistent-enough copy for logs, tests and exporters. Error kinds and
//! close reasons are short stable names, so they map directly to metric labels.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::Mutex;

/// Why a connection closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum CloseReason {
    /// The peer closed its side and every response was written.
    PeerClosed,
    /// Nothing was read, handled or written for the idle timeout.
    IdleTimeout,
    /// A frame started but did not complete within the frame timeout (slowloris).
    FrameTimeout,
    /// Queued output was not read by the peer within the write timeout.
    WriteTimeout,
    /// A handler did not answer within the request timeout, and the server is configured to
    /// close the connection then (after the error hook's answer).
    RequestTimeout,
    /// The codec rejected the input; the connection was closed after the optional error reply.
    DecodeError,
    /// The codec could not encode a response.
    EncodeError,
    /// The codec wanted more input than the per-connection input budget allows; the connection
    /// was closed after the optional error reply.
    InputBudget,
    /// The peer reset the connection (or it broke) while reading or writing.
    Reset,
    /// Another I/O error while reading or writing.
    IoError,
    /// Closed cleanly during graceful shutdown.
    Shutdown,
    /// Still open at the shutdown deadline, and aborted.
    Aborted,
    /// The handler ended the connection: a duplex handler returned, or a request/response
    /// handler answered with [`Reply::Close`](crate::Reply::Close).
    HandlerDone,
    /// Accepted at the connection limit only to receive the reject reply.
    Rejected,
    /// The connection task panicked (in a handler, most likely).
    Panicked,
    /// The TLS handshake failed or did not finish within its timeout.
    TlsHandshake,
}

impl CloseReason {
    /// Every reason, in counter order.
    pub const ALL: [CloseReason; 16] = [
        CloseReason::PeerClosed,
        CloseReason::IdleTimeout,
        CloseReason::FrameTimeout,
        CloseReason::WriteTimeout,
        CloseReason::RequestTimeout,
        CloseReason::DecodeError,
        CloseReason::EncodeError,
        CloseReason::InputBudget,
        CloseReason::Reset,
        CloseReason::IoError,
        CloseReason::Shutdown,
        CloseReason::Aborted,
        CloseReason::HandlerDone,
        CloseReason::Rejected,
        CloseReason::Panicked,
        CloseReason::TlsHandshake,
    ];

    /// A short, stable name (`"write_timeout"`, ...), for metric labels and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            CloseReason::PeerClosed => "peer_closed",
            CloseReason::IdleTimeout => "idle_timeout",
            CloseReason::FrameTimeout => "frame_timeout",
            CloseReason::WriteTimeout => "write_timeout",
            CloseReason::RequestTimeout => "request_timeout",
            CloseReason::DecodeError => "decode_error",
            CloseReason::EncodeError => "encode_error",
            CloseReason::InputBudget => "input_budget",
            CloseReason::Reset => "reset",
            CloseReason::IoError => "io_error",
            CloseReason::Shutdown => "shutdown",
            CloseReason::Aborted => "aborted",
            CloseReason::HandlerDone => "handler_done",
            CloseReason::Rejected => "rejected",
            CloseReason::Panicked => "panicked",
            CloseReason::TlsHandshake => "tls_handshake",
        }
    }

    fn index(self) -> usize {
        CloseReason::ALL
            .iter()
            .position(|r| *r == self)
            .unwrap_or(0)
    }
}

impl fmt::Display for CloseReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The live counters of one server, shared by its accept loop and connections.
#[derive(Debug, Default)]
pub struct Metrics {
    accepted: AtomicU64,
    rejected: AtomicU64,
    active: AtomicUsize,
    frames_in: AtomicU64,
    frames_out: AtomicU64,
    bytes_in: AtomicU64,
    bytes_out: AtomicU64,
    outbound_peak: AtomicUsize,
    closes: [AtomicU64; CloseReason::ALL.len()],
    errors: Mutex<BTreeMap<&'static str, u64>>,
}

impl Metrics {
    /// A copy of every counter now.
    pub fn snapshot(&self) -> MetricsSnapshot {
        MetricsSnapshot {
            accepted: self.accepted.load(Relaxed),
            rejected: self.rejected.load(Relaxed),
            active: self.active.load(Relaxed),
            frames_in: self.frames_in.load(Relaxed),
            frames_out: self.frames_out.load(Relaxed),
            bytes_in: self.bytes_in.load(Relaxed),
            bytes_out: self.bytes_out.load(Relaxed),
            outbound_peak: self.outbound_peak.load(Relaxed),
            closes: CloseReason::ALL
                .iter()
                .map(|r| (*r, self.closes[r.index()].load(Relaxed)))
                .filter(|(_, n)| *n > 0)
                .collect(),
            errors: self.errors.lock().map(|e| e.clone()).unwrap_or_default(),
        }
    }

    /// Connections open right now.
    pub fn active(&self) -> usize {
        self.active.load(Relaxed)
    }

    pub(crate) fn accepted(&self) {
        self.accepted.fetch_add(1, Relaxed);
    }
    pub(crate) fn rejected(&self) {
        self.rejected.fetch_add(1, Relaxed);
    }
    pub(crate) fn opened(&self) {
        self.active.fetch_add(1, Relaxed);
    }
    pub(crate) fn closed(&self, reason: CloseReason) {
        self.active.fetch_sub(1, Relaxed);
        self.closes[reason.index()].fetch_add(1, Relaxed);
    }
    pub(crate) fn close_counted(&self, reason: CloseReason) {
        self.closes[reason.index()].fetch_add(1, Relaxed);
    }
    pub(crate) fn frames_in(&self, n: u64) {
        self.frames_in.fetch_add(n, Relaxed);
    }
    pub(crate) fn frames_out(&self, n: u64) {
        self.frames_out.fetch_add(n, Relaxed);
    }
    pub(crate) fn bytes_in(&self, n: usize) {
        self.bytes_in.fetch_add(n as u64, Relaxed);
    }
    pub(crate) fn bytes_out(&self, n: usize) {
        self.bytes_out.fetch_add(n as u64, Relaxed);
    }
    pub(crate) fn outbound(&self, queued: usize) {
        self.outbound_peak.fetch_max(queued, Relaxed);
    }
    pub(crate) fn error(&self, kind: &'static str) {
        if let Ok(mut errors) = self.errors.lock() {
            *errors.entry(kind).or_insert(0) += 1;
        }
    }
}

/// A copy of a server's counters at one moment.
///
/// ```
/// use framekit_server::{CloseReason, Metrics};
/// let snap = Metrics::default().snapshot();
/// assert_eq!(snap.active, 0);
/// assert_eq!(snap.closed(CloseReason::WriteTimeout), 0);
/// assert_eq!(snap.errors_of("malformed"), 0);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MetricsSnapshot {
    /// Connections accepted and served.
    pub accepted: u64,
    /// Connections accepted at the limit only to receive the reject reply.
    pub rejected: u64,
    /// Connections open now.
    pub active: usize,
    /// Frames decoded from peers.
    pub frames_in: u64,
    /// Responses encoded for peers.
    pub frames_out: u64,
    /// Bytes read from peers.
    pub bytes_in: u64,
    /// Bytes written to peers.
    pub bytes_out: u64,
    /// The most bytes ever queued for one peer at once: bounded by the high water mark plus one
    /// response.
    pub outbound_peak: usize,
    /// Closed connections by reason (reasons never seen are absent).
    pub closes: BTreeMap<CloseReason, u64>,
    /// Errors by kind: codec kinds (`"too_long"`, `"malformed"`, ...), `"accept"`, `"read"`,
    /// `"write"`.
    pub errors: BTreeMap<&'static str, u64>,
}

impl MetricsSnapshot {
    /// How many connections closed for `reason`.
    pub fn closed(&self, reason: CloseReason) -> u64 {
        self.closes.get(&reason).copied().unwrap_or(0)
    }

    /// How many closes in all.
    pub fn closed_total(&self) -> u64 {
        self.closes.values().sum()
    }

    /// How many errors of `kind`.
    pub fn errors_of(&self, kind: &str) -> u64 {
        self.errors.get(kind).copied().unwrap_or(0)
    }
}
