//! The server's limits, timeouts and policies, in one value.
//!
//! Every knob has a bounded default, named as a constant here, so a server built with
//! `ServerConfig::default()` cannot be made to hold unbounded memory, connections or time by a
//! peer. Builder methods consume and return the config. The knobs live by concept: size limits
//! (`limits.rs`), timeouts (`timeouts.rs`), and here the policies (decode error recovery, the
//! PROXY preamble, `TCP_NODELAY`). TLS is set on the server itself
//! ([`Server::tls`](crate::Server::tls), feature `tls`).
//!
//! ```
//! use std::time::Duration;
//! use framekit_server::{config, ServerConfig};
//!
//! let config = ServerConfig::default()
//!     .max_connections(10_000)
//!     .request_timeout(Duration::from_secs(30));
//! assert_eq!(config.limits().max_in_flight, config::DEFAULT_MAX_IN_FLIGHT);
//! assert_eq!(config.timeouts().request, Duration::from_secs(30).into());
//! ```

use std::time::Duration;

use crate::preamble::Preamble;

mod limits;
mod timeout;
mod timeouts;

pub use self::limits::{
    Limits, WaterMarks, DEFAULT_HIGH_WATER, DEFAULT_INPUT_BUDGET, DEFAULT_LOW_WATER,
    DEFAULT_MAX_CONNECTIONS, DEFAULT_MAX_IN_FLIGHT,
};
pub use self::timeout::Timeout;
pub(crate) use self::timeout::{deadline, expiry, expiry_or_far, limit};
pub use self::timeouts::{
    Timeouts, DEFAULT_FRAME_TIMEOUT, DEFAULT_IDLE_TIMEOUT, DEFAULT_LINGER, DEFAULT_WRITE_TIMEOUT,
    MAX_ACCEPT_BACKOFF, MIN_ACCEPT_BACKOFF,
};

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
/// assert_eq!(config.timeouts().request, framekit_server::config::Timeout::Never); // off unless set
/// ```
#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub(crate) max_connections: usize,
    pub(crate) max_in_flight: usize,
    pub(crate) input_budget: usize,
    pub(crate) low_water: usize,
    pub(crate) high_water: usize,
    pub(crate) idle_timeout: Timeout,
    pub(crate) frame_timeout: Timeout,
    pub(crate) write_timeout: Timeout,
    pub(crate) request_timeout: Timeout,
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
            idle_timeout: Timeout::After(DEFAULT_IDLE_TIMEOUT),
            frame_timeout: Timeout::After(DEFAULT_FRAME_TIMEOUT),
            write_timeout: Timeout::After(DEFAULT_WRITE_TIMEOUT),
            request_timeout: Timeout::Never,
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

    /// The PROXY protocol preamble (off unless [`preamble`](ServerConfig::preamble) set one).
    ///
    /// ```
    /// use framekit_server::{preamble::ProxyMode, ServerConfig};
    /// assert_eq!(ServerConfig::default().proxy_preamble().mode(), ProxyMode::Off);
    /// ```
    pub fn proxy_preamble(&self) -> &Preamble {
        &self.preamble
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
}

impl ServerConfig {
    /// The connection machine's settings for this configuration's connections.
    pub(crate) fn machine_settings(&self) -> framekit::connection::Settings {
        framekit::connection::Settings::default()
            .input_budget(self.input_budget)
            .high_water(self.high_water)
            .low_water(self.low_water)
            .max_in_flight(self.max_in_flight)
            .idle(self.idle_timeout)
            .exchange(self.request_timeout)
            .write(self.write_timeout)
            .frame(self.frame_timeout)
    }
}
