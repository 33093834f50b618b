//! The server's limits and timeouts, in one value.
//!
//! Every knob has a bounded default, named as a constant here, so a server built with
//! `ServerConfig::default()` cannot be made to hold unbounded memory, connections or time by a
//! peer. Builder methods consume and return the config.

use std::time::Duration;

use crate::preamble::Preamble;

/// Default maximum number of connections served at once.
///
/// ```
/// use framekit_server::{config, ServerConfig};
/// assert_eq!(ServerConfig::default().limits().max_connections, config::DEFAULT_MAX_CONNECTIONS);
/// ```
pub const DEFAULT_MAX_CONNECTIONS: usize = 1024;
/// Default maximum number of requests of one connection being handled at once (pipelining depth).
///
/// ```
/// use framekit_server::{config, ServerConfig};
/// assert_eq!(ServerConfig::default().limits().max_in_flight, config::DEFAULT_MAX_IN_FLIGHT);
/// ```
pub const DEFAULT_MAX_IN_FLIGHT: usize = 32;
/// Default per-connection budget of buffered, not yet decoded input bytes.
///
/// ```
/// use framekit_server::{config, ServerConfig};
/// assert_eq!(ServerConfig::default().limits().input_budget, config::DEFAULT_INPUT_BUDGET);
/// ```
pub const DEFAULT_INPUT_BUDGET: usize = 1024 * 1024;
/// Default outbound high water mark: above it a connection stops reading and taking responses.
///
/// ```
/// use framekit_server::{config, ServerConfig};
/// assert_eq!(ServerConfig::default().limits().water_marks.high, config::DEFAULT_HIGH_WATER);
/// ```
pub const DEFAULT_HIGH_WATER: usize = 256 * 1024;
/// Default outbound low water mark: below it a paused connection resumes.
///
/// ```
/// use framekit_server::{config, ServerConfig};
/// assert_eq!(ServerConfig::default().limits().water_marks.low, config::DEFAULT_LOW_WATER);
/// ```
pub const DEFAULT_LOW_WATER: usize = 64 * 1024;
/// Default payload size from which a response payload is written as its own buffer (vectored
/// write) instead of being copied behind its header.
///
/// ```
/// use framekit_server::{config, ServerConfig};
/// assert!(config::DEFAULT_VECTORED_MIN >= 4096, "small payloads are copied");
/// ```
pub const DEFAULT_VECTORED_MIN: usize = 16 * 1024;
/// Default time a connection may sit with nothing to read, handle or write.
///
/// ```
/// use framekit_server::{config, ServerConfig};
/// assert_eq!(ServerConfig::default().timeouts().idle, config::DEFAULT_IDLE_TIMEOUT);
/// ```
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// Default time to receive a whole frame once its first byte arrived (slowloris guard).
///
/// ```
/// use framekit_server::{config, ServerConfig};
/// assert_eq!(ServerConfig::default().timeouts().frame, config::DEFAULT_FRAME_TIMEOUT);
/// ```
pub const DEFAULT_FRAME_TIMEOUT: Duration = Duration::from_secs(10);
/// Default time a peer may leave queued output unread before the connection is closed.
///
/// ```
/// use framekit_server::{config, ServerConfig};
/// assert_eq!(ServerConfig::default().timeouts().write, config::DEFAULT_WRITE_TIMEOUT);
/// ```
pub const DEFAULT_WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// Default time a closing connection reads and discards what the peer still sends, so the
/// kernel does not answer our last bytes with a reset.
///
/// ```
/// use framekit_server::{config, ServerConfig};
/// assert_eq!(ServerConfig::default().timeouts().linger, config::DEFAULT_LINGER);
/// ```
pub const DEFAULT_LINGER: Duration = Duration::from_secs(1);
/// First pause after an accept error such as EMFILE; it doubles up to [`MAX_ACCEPT_BACKOFF`].
///
/// ```
/// use framekit_server::{config, ServerConfig};
/// assert!(config::MIN_ACCEPT_BACKOFF < config::MAX_ACCEPT_BACKOFF);
/// ```
pub const MIN_ACCEPT_BACKOFF: Duration = Duration::from_millis(5);
/// Longest pause between accept attempts after repeated accept errors.
///
/// ```
/// use framekit_server::{config, ServerConfig};
/// assert!(config::MAX_ACCEPT_BACKOFF <= std::time::Duration::from_secs(1));
/// ```
pub const MAX_ACCEPT_BACKOFF: Duration = Duration::from_secs(1);

/// Limits and timeouts of a server.
///
/// ```
/// use std::time::Duration;
/// use framekit_server::ServerConfig;
///
/// let config = ServerConfig::default()
///     .max_connections(100)
///     .max_in_flight(8)
///     .write_timeout(Duration::from_secs(5))
///     .water_marks(16 * 1024, 64 * 1024);
/// assert_eq!(config.limits().max_connections, 100);
/// assert_eq!(config.limits().water_marks.high, 64 * 1024);
/// assert_eq!(config.timeouts().request, None); // off unless set
/// ```
#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub(crate) max_connections: usize,
    pub(crate) max_in_flight: usize,
    pub(crate) input_budget: usize,
    pub(crate) low_water: usize,
    pub(crate) high_water: usize,
    pub(crate) vectored_min: usize,
    pub(crate) idle_timeout: Duration,
    pub(crate) frame_timeout: Duration,
    pub(crate) write_timeout: Duration,
    pub(crate) request_timeout: Option<Duration>,
    pub(crate) close_on_request_timeout: bool,
    pub(crate) linger: Duration,
    pub(crate) tcp_nodelay: bool,
    pub(crate) recover_decode_errors: bool,
    pub(crate) preamble: Preamble,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            max_connections: DEFAULT_MAX_CONNECTIONS,
            max_in_flight: DEFAULT_MAX_IN_FLIGHT,
            input_budget: DEFAULT_INPUT_BUDGET,
            low_water: DEFAULT_LOW_WATER,
            high_water: DEFAULT_HIGH_WATER,
            vectored_min: DEFAULT_VECTORED_MIN,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            frame_timeout: DEFAULT_FRAME_TIMEOUT,
            write_timeout: DEFAULT_WRITE_TIMEOUT,
            request_timeout: None,
            close_on_request_timeout: false,
            linger: DEFAULT_LINGER,
            tcp_nodelay: true,
            recover_decode_errors: true,
            preamble: Preamble::default(),
        }
    }
}

impl ServerConfig {
    /// The defaults (the `DEFAULT_*` constants of this module).
    ///
    /// ```
    /// use std::time::Duration;
    /// use framekit_server::ServerConfig;
    /// assert_eq!(ServerConfig::new().limits(), ServerConfig::default().limits());
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Most connections served at once (at least 1). At the limit the server stops calling
    /// `accept`, so new peers wait in the kernel backlog, unless a reject hook is set.
    ///
    /// ```
    /// use std::time::Duration;
    /// use framekit_server::ServerConfig;
    /// assert_eq!(ServerConfig::default().max_connections(0).limits().max_connections, 1);
    /// ```
    pub fn max_connections(mut self, n: usize) -> Self {
        self.max_connections = n.max(1);
        self
    }

    /// Most requests of one connection handled at once (at least 1). Further complete requests
    /// wait in the input buffer, and reading stops once it is full.
    ///
    /// ```
    /// use std::time::Duration;
    /// use framekit_server::ServerConfig;
    /// assert_eq!(ServerConfig::default().max_in_flight(1).limits().max_in_flight, 1);
    /// ```
    pub fn max_in_flight(mut self, n: usize) -> Self {
        self.max_in_flight = n.max(1);
        self
    }

    /// Most bytes of undecoded input one connection may buffer, whatever the codec says. A
    /// connection whose codec still wants more at this point fails with
    /// [`InputBudgetExceeded`](crate::InputBudgetExceeded) (kind `"input_budget"`): the
    /// error reply hook is asked for a reply, then the connection closes.
    ///
    /// Keep it at or above the framing's [`buffer_limit`](framekit::framing::Framing::buffer_limit)
    /// (its largest frame plus headers), or frames the framing accepts are refused by the budget
    /// instead; [`fit_framing`](ServerConfig::fit_framing) does that. The server logs a warning
    /// the first time the budget cuts a connection off.
    ///
    /// ```
    /// use std::time::Duration;
    /// use framekit_server::ServerConfig;
    /// assert_eq!(ServerConfig::default().input_budget(64 * 1024).limits().input_budget, 64 * 1024);
    /// ```
    pub fn input_budget(mut self, bytes: usize) -> Self {
        self.input_budget = bytes.max(1);
        self
    }

    /// Raises the input budget (never lowers it) to hold the largest frame `framing` accepts,
    /// headers and delimiters included, so that over-long input is refused by the framing (with
    /// its own error, `"too_long"`) and never by the budget.
    ///
    /// ```
    /// use framekit::framing::length_prefixed::LengthPrefixed;
    /// use framekit_server::ServerConfig;
    ///
    /// let framing = LengthPrefixed::u32_be().max_frame_len(8 * 1024 * 1024);
    /// let config = ServerConfig::default().fit_framing(&framing);
    /// assert_eq!(config.limits().input_budget, 8 * 1024 * 1024 + 4);
    /// // A budget already larger is kept.
    /// let small = LengthPrefixed::u16_be();
    /// assert_eq!(config.fit_framing(&small).limits().input_budget, 8 * 1024 * 1024 + 4);
    /// ```
    pub fn fit_framing<F: framekit::framing::Framing + ?Sized>(self, framing: &F) -> Self {
        let budget = self.input_budget.max(framing.buffer_limit());
        self.input_budget(budget)
    }

    /// Whether a connection carries on after a decode error its codec calls
    /// [`recoverable`](crate::CodecError::recoverable) (default: yes). The error reply hook is
    /// asked for a reply, which goes out in request order (after the responses to earlier
    /// requests, before those to later ones), and decoding goes on with the next frame. A
    /// duplex handler answers on its own schedule, so there the reply goes out as soon as
    /// possible, ahead of what the handler queues next; the handler does not see the bad frame.
    ///
    /// Recoverable errors are the ones after which the stream is still in sync: framekit's
    /// `FrameError::Payload` (one frame's payload was rejected: bad UTF-8, bad JSON) and
    /// `FrameError::Skipped` (an over-long frame skipped whole under `Overlong::Discard`), and
    /// tokio-util's too-long line. Any other decode error always closes the connection, after
    /// the reply. With `false`, every decode error closes the connection.
    ///
    /// ```
    /// use std::time::Duration;
    /// use framekit_server::ServerConfig;
    /// assert!(!ServerConfig::default().recover_decode_errors(false).recovers_decode_errors());
    /// ```
    pub fn recover_decode_errors(mut self, on: bool) -> Self {
        self.recover_decode_errors = on;
        self
    }

    /// Outbound water marks: once more than `high` bytes are queued for a peer the connection
    /// stops reading requests and taking responses until the queue drains to `low` or below.
    /// A duplex handler keeps running meanwhile; its [`Outbox::send`](crate::Outbox::send)
    /// waits. `low` is clamped to at most `high`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use framekit_server::ServerConfig;
    /// let marks = ServerConfig::default().water_marks(100, 10).limits().water_marks;
    /// assert_eq!((marks.low, marks.high), (10, 10), "low is clamped to high");
    /// ```
    pub fn water_marks(mut self, low: usize, high: usize) -> Self {
        self.high_water = high.max(1);
        self.low_water = low.min(self.high_water);
        self
    }

    /// Payloads of at least this many bytes are queued as their own buffer and written with
    /// vectored I/O next to their header, instead of being copied (with [`crate::Vectored`]).
    ///
    /// ```
    /// use std::time::Duration;
    /// use framekit_server::ServerConfig;
    /// let _config = ServerConfig::default().vectored_min(64 * 1024);
    /// ```
    pub fn vectored_min(mut self, bytes: usize) -> Self {
        self.vectored_min = bytes;
        self
    }

    /// How long a connection may have nothing to read, handle or write before it is closed.
    ///
    /// ```
    /// use std::time::Duration;
    /// use framekit_server::ServerConfig;
    /// assert_eq!(ServerConfig::default().idle_timeout(Duration::from_secs(5)).timeouts().idle, Duration::from_secs(5));
    /// ```
    pub fn idle_timeout(mut self, t: Duration) -> Self {
        self.idle_timeout = t;
        self
    }

    /// How long a frame may take to arrive once its first byte did (slowloris guard).
    ///
    /// ```
    /// use std::time::Duration;
    /// use framekit_server::ServerConfig;
    /// assert_eq!(ServerConfig::default().frame_timeout(Duration::from_secs(2)).timeouts().frame, Duration::from_secs(2));
    /// ```
    pub fn frame_timeout(mut self, t: Duration) -> Self {
        self.frame_timeout = t;
        self
    }

    /// How long queued output may wait for the peer to read any of it, and how long the final
    /// write-side shutdown may take.
    ///
    /// ```
    /// use std::time::Duration;
    /// use framekit_server::ServerConfig;
    /// assert_eq!(ServerConfig::default().write_timeout(Duration::from_secs(3)).timeouts().write, Duration::from_secs(3));
    /// ```
    pub fn write_timeout(mut self, t: Duration) -> Self {
        self.write_timeout = t;
        self
    }

    /// The per-request deadline (off by default): a request/response handler that has not
    /// answered `t` after its request was decoded is dropped (cancelled), and the error reply
    /// hook is asked for the answer (kind `"request_timeout"`, error
    /// [`RequestTimeout`](crate::RequestTimeout)), which goes out in request order.
    /// Then the connection goes on with the next request, or closes after that answer with
    /// [`close_on_request_timeout`](ServerConfig::close_on_request_timeout). Duplex handlers
    /// owe no answers and have no request deadline.
    ///
    /// ```
    /// use std::time::Duration;
    /// use framekit_server::ServerConfig;
    ///
    /// let config = ServerConfig::default().request_timeout(Duration::from_secs(5));
    /// assert_eq!(config.timeouts().request, Some(Duration::from_secs(5)));
    /// ```
    pub fn request_timeout(mut self, t: Duration) -> Self {
        self.request_timeout = Some(t);
        self
    }

    /// Whether a request that ran out of time closes its connection after its answer
    /// (default: no, the connection goes on). Nothing read after it is handled then.
    ///
    /// ```
    /// use std::time::Duration;
    /// use framekit_server::ServerConfig;
    /// let config = ServerConfig::default()
    ///     .request_timeout(Duration::from_secs(5))
    ///     .close_on_request_timeout(true);
    /// assert!(config.closes_on_request_timeout());
    /// ```
    pub fn close_on_request_timeout(mut self, on: bool) -> Self {
        self.close_on_request_timeout = on;
        self
    }

    /// How long a closing connection reads and discards what the peer still sends after our
    /// last bytes and FIN (default [`DEFAULT_LINGER`]; zero turns it off). Without it, a peer
    /// still sending could make the kernel answer with a reset that destroys our last
    /// response in flight.
    ///
    /// ```
    /// use std::time::Duration;
    /// use framekit_server::ServerConfig;
    /// assert_eq!(ServerConfig::default().linger(Duration::ZERO).timeouts().linger, Duration::ZERO);
    /// ```
    pub fn linger(mut self, t: Duration) -> Self {
        self.linger = t;
        self
    }

    /// Whether TCP connections disable Nagle's algorithm (default: yes).
    ///
    /// ```
    /// use std::time::Duration;
    /// use framekit_server::ServerConfig;
    /// let _config = ServerConfig::default().tcp_nodelay(false);
    /// ```
    pub fn tcp_nodelay(mut self, on: bool) -> Self {
        self.tcp_nodelay = on;
        self
    }

    /// Sets the PROXY protocol preamble every connection must start with (off by default):
    /// see [`preamble`](crate::preamble).
    ///
    /// ```
    /// use framekit_server::{preamble::{Preamble, ProxyMode}, ServerConfig};
    /// let config = ServerConfig::default().preamble(Preamble::new(ProxyMode::V2));
    /// assert_eq!(config.proxy_preamble().mode(), ProxyMode::V2);
    /// ```
    pub fn preamble(mut self, preamble: Preamble) -> Self {
        self.preamble = preamble;
        self
    }

    /// The PROXY protocol preamble.
    pub fn proxy_preamble(&self) -> &Preamble {
        &self.preamble
    }

    /// The size limits.
    ///
    /// ```
    /// use framekit_server::ServerConfig;
    /// let limits = ServerConfig::default().max_in_flight(4).limits();
    /// assert_eq!(limits.max_in_flight, 4);
    /// assert!(limits.water_marks.low <= limits.water_marks.high);
    /// ```
    pub fn limits(&self) -> Limits {
        Limits {
            max_connections: self.max_connections,
            max_in_flight: self.max_in_flight,
            input_budget: self.input_budget,
            water_marks: WaterMarks {
                low: self.low_water,
                high: self.high_water,
            },
        }
    }

    /// The timeouts.
    ///
    /// ```
    /// use std::time::Duration;
    /// use framekit_server::{config::DEFAULT_IDLE_TIMEOUT, ServerConfig};
    /// let timeouts = ServerConfig::default().frame_timeout(Duration::from_secs(2)).timeouts();
    /// assert_eq!(timeouts.frame, Duration::from_secs(2));
    /// assert_eq!(timeouts.idle, DEFAULT_IDLE_TIMEOUT);
    /// ```
    pub fn timeouts(&self) -> Timeouts {
        Timeouts {
            idle: self.idle_timeout,
            frame: self.frame_timeout,
            write: self.write_timeout,
            request: self.request_timeout,
            linger: self.linger,
        }
    }

    /// Whether connections carry on after recoverable decode errors.
    ///
    /// ```
    /// use framekit_server::ServerConfig;
    /// assert!(ServerConfig::default().recovers_decode_errors());
    /// assert!(!ServerConfig::default().recover_decode_errors(false).recovers_decode_errors());
    /// ```
    pub fn recovers_decode_errors(&self) -> bool {
        self.recover_decode_errors
    }

    /// Whether a request that ran out of time closes its connection.
    ///
    /// ```
    /// use framekit_server::ServerConfig;
    /// assert!(!ServerConfig::default().closes_on_request_timeout());
    /// ```
    pub fn closes_on_request_timeout(&self) -> bool {
        self.close_on_request_timeout
    }
}

/// A [`ServerConfig`]'s size limits ([`ServerConfig::limits`]).
///
/// ```
/// use std::time::Duration;
/// use framekit_server::ServerConfig;
/// let limits = ServerConfig::default().max_connections(10).limits();
/// assert_eq!(limits.max_connections, 10);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// Most connections served at once.
    pub max_connections: usize,
    /// Most requests of one connection handled at once.
    pub max_in_flight: usize,
    /// Most undecoded input bytes one connection buffers.
    pub input_budget: usize,
    /// The outbound water marks.
    pub water_marks: WaterMarks,
}

/// Outbound water marks, in bytes queued for one peer ([`ServerConfig::water_marks`]).
///
/// ```
/// use std::time::Duration;
/// use framekit_server::ServerConfig;
/// let marks = ServerConfig::default().water_marks(1024, 4096).limits().water_marks;
/// assert_eq!((marks.low, marks.high), (1024, 4096));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WaterMarks {
    /// At or below it a paused connection resumes.
    pub low: usize,
    /// Above it a connection stops reading and taking responses.
    pub high: usize,
}

/// A [`ServerConfig`]'s timeouts ([`ServerConfig::timeouts`]).
///
/// ```
/// use std::time::Duration;
/// use framekit_server::ServerConfig;
/// let timeouts = ServerConfig::default().request_timeout(Duration::from_secs(1)).timeouts();
/// assert_eq!(timeouts.request, Some(Duration::from_secs(1)));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Timeouts {
    /// Nothing to read, handle or write.
    pub idle: Duration,
    /// A frame started and not finished.
    pub frame: Duration,
    /// Queued output the peer does not read.
    pub write: Duration,
    /// A request not answered (off when `None`).
    pub request: Option<Duration>,
    /// How long a closing connection discards what the peer still sends.
    pub linger: Duration,
}
