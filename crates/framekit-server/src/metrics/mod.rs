//! Live counters of a server, and why connections closed.
//!
//! Counters are plain atomics updated by the accept loop and the connections; a
//! [`MetricsSnapshot`] is a consistent-enough copy for logs and tests. The same events also go
//! to the [`metrics`](https://docs.rs/metrics) facade under the names in [`names`], so any
//! exporter (Prometheus, StatsD, ...) installed as the global recorder *before the server
//! starts* sees them: the handles are resolved once per server, and without a recorder each is
//! a no-op behind one branch. Error kinds and close reasons are short stable names, so they map
//! directly to metric labels.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> std::io::Result<()> {
//! use std::time::Duration;
//! use bytes::Bytes;
//! use framekit::{FrameCodec, framing::delimited::Delimited};
//! use framekit_server::{metrics::CloseReason, Ctx, Server};
//! use tokio::io::{AsyncReadExt, AsyncWriteExt};
//!
//! let server = Server::bind("127.0.0.1:0").await?
//!     .serve(FrameCodec::new(Delimited::newline()), |req: Bytes, _ctx: Ctx| async move { Some(req) });
//! let mut peer = tokio::net::TcpStream::connect(server.local_addr().as_tcp().unwrap()).await?;
//! peer.write_all(b"one\ntwo\n").await?;
//! peer.shutdown().await?;
//! let mut answers = Vec::new();
//! peer.read_to_end(&mut answers).await?;
//! drop(peer);
//! let metrics = server.metrics_source();
//! server.shutdown(Duration::from_secs(1)).await;
//! let snap = metrics.snapshot();
//! assert_eq!((snap.accepted, snap.frames_in, snap.frames_out), (1, 2, 2));
//! assert_eq!(snap.closed(CloseReason::PeerClosed), 1);
//! # Ok(()) }
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::error::FailureOrigin;

mod close;
pub mod names;

pub use self::close::CloseReason;

/// An I/O operation that failed on a socket, counted as `framekit_errors_total{kind}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IoFailure {
    Accept,
    Read,
    Write,
}

impl IoFailure {
    fn as_str(self) -> &'static str {
        match self {
            IoFailure::Accept => "accept",
            IoFailure::Read => "read",
            IoFailure::Write => "write",
        }
    }
}

/// The time elapsed since an instant, in seconds, read only when a histogram records it:
/// `metrics` converts a value only for a live handle, so without a recorder the clock is not
/// read.
struct Elapsed(tokio::time::Instant);

impl metrics::IntoF64 for Elapsed {
    fn into_f64(self) -> f64 {
        self.0.elapsed().as_secs_f64()
    }
}

/// The facade handles of one server, resolved when it starts.
struct Facade {
    accepted: metrics::Counter,
    closed: [metrics::Counter; CloseReason::ALL.len()],
    open: metrics::Gauge,
    requests: metrics::Counter,
    in_flight: metrics::Gauge,
    bytes_read: metrics::Counter,
    bytes_written: metrics::Counter,
    request_duration: metrics::Histogram,
    frame_size: metrics::Histogram,
}

impl Default for Facade {
    fn default() -> Self {
        Facade {
            accepted: metrics::counter!(names::ACCEPTED),
            closed: CloseReason::ALL
                .map(|r| metrics::counter!(names::CLOSED, "reason" => r.as_str())),
            open: metrics::gauge!(names::OPEN),
            requests: metrics::counter!(names::REQUESTS),
            in_flight: metrics::gauge!(names::IN_FLIGHT),
            bytes_read: metrics::counter!(names::BYTES_READ),
            bytes_written: metrics::counter!(names::BYTES_WRITTEN),
            request_duration: metrics::histogram!(names::REQUEST_DURATION),
            frame_size: metrics::histogram!(names::FRAME_SIZE),
        }
    }
}

impl fmt::Debug for Facade {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Facade")
    }
}

/// The live counters of one server, shared by its accept loop and connections
/// ([`ServerHandle::metrics_source`](crate::ServerHandle::metrics_source)).
///
/// ```
/// use framekit_server::metrics::Metrics;
/// let metrics = Metrics::default();
/// assert_eq!(metrics.active(), 0);
/// assert_eq!(metrics.snapshot().accepted, 0);
/// ```
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
    facade: Facade,
    /// A thread-per-core server's per-thread counters, summed into this one's readings: each
    /// thread counts in its own, so no counter is shared between threads on the request path.
    threads: Vec<Arc<Metrics>>,
}

impl Metrics {
    /// The counters of a server whose threads each count in their own `threads`.
    pub(crate) fn of_threads(threads: Vec<Arc<Metrics>>) -> Self {
        Metrics {
            threads,
            ..Metrics::default()
        }
    }

    /// A copy of every counter now.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// use std::time::Duration;
    /// use bytes::Bytes;
    /// use framekit::{FrameCodec, framing::delimited::Delimited};
    /// use framekit_server::{Ctx, Server};
    /// let server = Server::bind("127.0.0.1:0").await?
    ///     .serve(FrameCodec::new(Delimited::newline()), |req: Bytes, _ctx: Ctx| async move { Some(req) });
    /// let metrics = server.metrics_source();
    /// let _peer = tokio::net::TcpStream::connect(server.local_addr().as_tcp().unwrap()).await?;
    /// while metrics.snapshot().accepted == 0 {
    ///     tokio::task::yield_now().await;
    /// }
    /// assert_eq!(metrics.snapshot().accepted, 1);
    /// server.shutdown(Duration::from_secs(1)).await;
    /// # Ok(()) }
    /// ```
    pub fn snapshot(&self) -> MetricsSnapshot {
        let mut total = self.own_snapshot();
        for thread in &self.threads {
            total.add(&thread.snapshot());
        }
        total
    }

    fn own_snapshot(&self) -> MetricsSnapshot {
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
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// use std::time::Duration;
    /// use bytes::Bytes;
    /// use framekit::{FrameCodec, framing::delimited::Delimited};
    /// use framekit_server::{Ctx, Server};
    /// let server = Server::bind("127.0.0.1:0").await?
    ///     .serve(FrameCodec::new(Delimited::newline()), |req: Bytes, _ctx: Ctx| async move { Some(req) });
    /// let metrics = server.metrics_source();
    /// server.shutdown(Duration::from_secs(1)).await;
    /// assert_eq!(metrics.active(), 0, "no connection outlives its server");
    /// # Ok(()) }
    /// ```
    pub fn active(&self) -> usize {
        self.active.load(Relaxed) + self.threads.iter().map(|t| t.active()).sum::<usize>()
    }

    pub(crate) fn accepted(&self) {
        self.accepted.fetch_add(1, Relaxed);
        self.facade.accepted.increment(1);
    }
    pub(crate) fn rejected(&self) {
        self.rejected.fetch_add(1, Relaxed);
    }
    pub(crate) fn opened(&self) {
        self.active.fetch_add(1, Relaxed);
        self.facade.open.increment(1.0);
    }
    pub(crate) fn closed(&self, reason: CloseReason) {
        self.active.fetch_sub(1, Relaxed);
        self.facade.open.decrement(1.0);
        self.close_counted(reason);
    }
    pub(crate) fn close_counted(&self, reason: CloseReason) {
        self.closes[reason.index()].fetch_add(1, Relaxed);
        self.facade.closed[reason.index()].increment(1);
    }
    pub(crate) fn frames_in(&self, n: u64) {
        self.frames_in.fetch_add(n, Relaxed);
        self.facade.requests.increment(n);
    }
    pub(crate) fn frames_out(&self, n: u64) {
        self.frames_out.fetch_add(n, Relaxed);
    }
    pub(crate) fn bytes_in(&self, n: usize) {
        self.bytes_in.fetch_add(n as u64, Relaxed);
        self.facade.bytes_read.increment(n as u64);
    }
    pub(crate) fn bytes_out(&self, n: usize) {
        self.bytes_out.fetch_add(n as u64, Relaxed);
        self.facade.bytes_written.increment(n as u64);
    }
    pub(crate) fn outbound(&self, queued: usize) {
        self.outbound_peak.fetch_max(queued, Relaxed);
    }
    /// A decoded request that took `len` bytes of the stream (counted by
    /// [`frames_in`](Metrics::frames_in), once per turn).
    pub(crate) fn request_size(&self, len: u64) {
        self.facade.frame_size.record(len as f64);
    }
    /// `n` requests answered just now, in the turn that decoded them: timed from `read_at`,
    /// when the read that brought them completed. Only a live histogram (a recorder was
    /// installed before the server started) reads the clock for it: a no-op handle never
    /// converts its value, so a server without a recorder does no timing work at all.
    pub(crate) fn answered_at_once(&self, n: u64, read_at: tokio::time::Instant) {
        self.facade
            .request_duration
            .record_many(Elapsed(read_at), n as usize);
    }
    /// A request's handler did not answer at once: it is in flight until [`Metrics::settled`].
    pub(crate) fn waiting(&self) {
        self.facade.in_flight.increment(1.0);
    }
    /// A request that waited got its answer (`took` since it was decoded), or was dropped
    /// with its connection (`None`).
    pub(crate) fn settled(&self, took: Option<Duration>) {
        self.facade.in_flight.decrement(1.0);
        if let Some(took) = took {
            self.facade.request_duration.record(took.as_secs_f64());
        }
    }
    /// A failed request of `kind`, counted under its origin's name.
    pub(crate) fn failure(&self, origin: FailureOrigin, kind: &'static str) {
        let name = match origin {
            FailureOrigin::Decode => names::DECODE_ERRORS,
            FailureOrigin::Encode => names::ENCODE_ERRORS,
            FailureOrigin::Handler | FailureOrigin::RequestTimeout => names::ERRORS,
        };
        self.count_error(name, kind);
    }
    /// A socket operation failed.
    pub(crate) fn io_error(&self, op: IoFailure) {
        self.count_error(names::ERRORS, op.as_str());
    }
    fn count_error(&self, name: &'static str, kind: &'static str) {
        if let Ok(mut errors) = self.errors.lock() {
            *errors.entry(kind).or_insert(0) += 1;
        }
        metrics::counter!(name, "kind" => kind).increment(1);
    }
}

/// A copy of a server's counters at one moment.
///
/// ```
/// use framekit_server::{metrics::CloseReason, metrics::Metrics};
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
    /// Errors by kind, whatever their origin: codec kinds (`"too_long"`, `"malformed"`,
    /// `"input_budget"`, an encoder's kinds, ...), `"request_timeout"`, `"handler_error"`,
    /// `"accept"`, `"read"`, `"write"`. The facade counters tell decode and encode errors
    /// apart ([`names`]).
    pub errors: BTreeMap<&'static str, u64>,
}

impl MetricsSnapshot {
    /// Adds `other`'s counts to these (the peak is the larger one).
    fn add(&mut self, other: &MetricsSnapshot) {
        self.accepted += other.accepted;
        self.rejected += other.rejected;
        self.active += other.active;
        self.frames_in += other.frames_in;
        self.frames_out += other.frames_out;
        self.bytes_in += other.bytes_in;
        self.bytes_out += other.bytes_out;
        self.outbound_peak = self.outbound_peak.max(other.outbound_peak);
        for (reason, n) in &other.closes {
            *self.closes.entry(*reason).or_insert(0) += n;
        }
        for (kind, n) in &other.errors {
            *self.errors.entry(kind).or_insert(0) += n;
        }
    }

    /// How many connections closed for `reason`.
    ///
    /// ```
    /// use std::collections::BTreeMap;
    /// use framekit_server::{metrics::CloseReason, metrics::MetricsSnapshot};
    ///
    /// let snap = MetricsSnapshot {
    ///     closes: BTreeMap::from([(CloseReason::PeerClosed, 3), (CloseReason::IdleTimeout, 1)]),
    ///     errors: BTreeMap::from([("malformed", 2)]),
    ///     ..MetricsSnapshot::default()
    /// };
    /// assert_eq!(snap.closed(CloseReason::IdleTimeout), 1);
    /// assert_eq!(snap.closed_total(), 4);
    /// assert_eq!((snap.errors_of("malformed"), snap.errors_of("too_long")), (2, 0));
    /// ```
    pub fn closed(&self, reason: CloseReason) -> u64 {
        self.closes.get(&reason).copied().unwrap_or(0)
    }

    /// How many closes in all.
    ///
    /// ```
    /// use std::collections::BTreeMap;
    /// use framekit_server::{metrics::CloseReason, metrics::MetricsSnapshot};
    ///
    /// let snap = MetricsSnapshot {
    ///     closes: BTreeMap::from([(CloseReason::PeerClosed, 3), (CloseReason::IdleTimeout, 1)]),
    ///     errors: BTreeMap::from([("malformed", 2)]),
    ///     ..MetricsSnapshot::default()
    /// };
    /// assert_eq!(snap.closed(CloseReason::IdleTimeout), 1);
    /// assert_eq!(snap.closed_total(), 4);
    /// assert_eq!((snap.errors_of("malformed"), snap.errors_of("too_long")), (2, 0));
    /// ```
    pub fn closed_total(&self) -> u64 {
        self.closes.values().sum()
    }

    /// How many errors of `kind`.
    ///
    /// ```
    /// use std::collections::BTreeMap;
    /// use framekit_server::{metrics::CloseReason, metrics::MetricsSnapshot};
    ///
    /// let snap = MetricsSnapshot {
    ///     closes: BTreeMap::from([(CloseReason::PeerClosed, 3), (CloseReason::IdleTimeout, 1)]),
    ///     errors: BTreeMap::from([("malformed", 2)]),
    ///     ..MetricsSnapshot::default()
    /// };
    /// assert_eq!(snap.closed(CloseReason::IdleTimeout), 1);
    /// assert_eq!(snap.closed_total(), 4);
    /// assert_eq!((snap.errors_of("malformed"), snap.errors_of("too_long")), (2, 0));
    /// ```
    pub fn errors_of(&self, kind: &str) -> u64 {
        self.errors.get(kind).copied().unwrap_or(0)
    }
}
