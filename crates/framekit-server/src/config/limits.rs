//! Size limits of a server: connections, pipelining depth, the input budget, the outbound
//! water marks and when payloads go out as their own buffer. Each has a bounded default,
//! named here, so no peer can make a server hold unbounded memory or connections.

use super::ServerConfig;

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

impl ServerConfig {
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
    /// [`InputBudgetExceeded`](crate::error::InputBudgetExceeded) (kind `"input_budget"`): the
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
