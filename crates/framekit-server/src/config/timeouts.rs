//! Timeouts of a server: idle, frame (slowloris), write, the per-request deadline and the
//! linger of a closing connection, plus the accept loop's back-off after errors. Each has a
//! bounded default (the request deadline is off unless set), named here. Every one that can
//! mean "none" takes a [`Timeout`] (a `Duration`, an `Option<Duration>`, or
//! [`Timeout::Never`]); a "never" is never armed, and neither is a duration too large for the
//! clock (`Duration::MAX`).

use std::time::Duration;

use super::{ServerConfig, Timeout};

/// Default time a connection may sit with nothing to read, handle or write.
///
/// ```
/// use framekit_server::{config, ServerConfig};
/// assert_eq!(ServerConfig::default().timeouts().idle, config::DEFAULT_IDLE_TIMEOUT.into());
/// ```
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// Default time to receive a whole frame once its first byte arrived (slowloris guard).
///
/// ```
/// use framekit_server::{config, ServerConfig};
/// assert_eq!(ServerConfig::default().timeouts().frame, config::DEFAULT_FRAME_TIMEOUT.into());
/// ```
pub const DEFAULT_FRAME_TIMEOUT: Duration = Duration::from_secs(10);
/// Default time a peer may leave queued output unread before the connection is closed.
///
/// ```
/// use framekit_server::{config, ServerConfig};
/// assert_eq!(ServerConfig::default().timeouts().write, config::DEFAULT_WRITE_TIMEOUT.into());
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

impl ServerConfig {
    /// How long a connection may have nothing to read, handle or write before it is closed
    /// ([`Timeout::Never`] or `None`: never, as memcached).
    ///
    /// ```
    /// use std::time::Duration;
    /// use framekit_server::{config::Timeout, ServerConfig};
    /// let five = ServerConfig::default().idle_timeout(Duration::from_secs(5));
    /// assert_eq!(five.timeouts().idle, Timeout::After(Duration::from_secs(5)));
    /// assert_eq!(ServerConfig::default().idle_timeout(None).timeouts().idle, Timeout::Never);
    /// ```
    pub fn idle_timeout(mut self, t: impl Into<Timeout>) -> Self {
        self.idle_timeout = t.into();
        self
    }

    /// How long a frame may take to arrive once its first byte did (slowloris guard;
    /// [`Timeout::Never`]: no guard).
    ///
    /// ```
    /// use std::time::Duration;
    /// use framekit_server::ServerConfig;
    /// let two = ServerConfig::default().frame_timeout(Duration::from_secs(2));
    /// assert_eq!(two.timeouts().frame, Duration::from_secs(2).into());
    /// ```
    pub fn frame_timeout(mut self, t: impl Into<Timeout>) -> Self {
        self.frame_timeout = t.into();
        self
    }

    /// How long queued output may wait for the peer to read any of it, and how long the final
    /// write-side shutdown may take ([`Timeout::Never`]: as long as the peer takes).
    ///
    /// ```
    /// use std::time::Duration;
    /// use framekit_server::ServerConfig;
    /// let three = ServerConfig::default().write_timeout(Duration::from_secs(3));
    /// assert_eq!(three.timeouts().write, Duration::from_secs(3).into());
    /// ```
    pub fn write_timeout(mut self, t: impl Into<Timeout>) -> Self {
        self.write_timeout = t.into();
        self
    }

    /// The per-request deadline (off by default): a request/response handler that has not
    /// answered `t` after its request was decoded is dropped (cancelled), and the error reply
    /// hook is asked for the answer (kind `"request_timeout"`, error
    /// [`RequestTimeout`](crate::error::RequestTimeout)), which goes out in request order.
    /// Then the connection goes on with the next request, or closes after that answer with
    /// [`close_on_request_timeout`](ServerConfig::close_on_request_timeout). Duplex handlers
    /// owe no answers and have no request deadline.
    ///
    /// ```
    /// use std::time::Duration;
    /// use framekit_server::ServerConfig;
    ///
    /// let config = ServerConfig::default().request_timeout(Duration::from_secs(5));
    /// assert_eq!(config.timeouts().request, Duration::from_secs(5).into());
    /// assert_eq!(config.request_timeout(None).timeouts().request, None.into()); // off again
    /// ```
    pub fn request_timeout(mut self, t: impl Into<Timeout>) -> Self {
        self.request_timeout = t.into();
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

    /// The timeouts.
    ///
    /// ```
    /// use std::time::Duration;
    /// use framekit_server::{config::DEFAULT_IDLE_TIMEOUT, ServerConfig};
    /// let timeouts = ServerConfig::default().frame_timeout(Duration::from_secs(2)).timeouts();
    /// assert_eq!(timeouts.frame, Duration::from_secs(2).into());
    /// assert_eq!(timeouts.idle, DEFAULT_IDLE_TIMEOUT.into());
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

/// A [`ServerConfig`]'s timeouts ([`ServerConfig::timeouts`]).
///
/// ```
/// use std::time::Duration;
/// use framekit_server::ServerConfig;
/// let timeouts = ServerConfig::default().request_timeout(Duration::from_secs(1)).timeouts();
/// assert_eq!(timeouts.request, Duration::from_secs(1).into());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Timeouts {
    /// Nothing to read, handle or write.
    pub idle: Timeout,
    /// A frame started and not finished.
    pub frame: Timeout,
    /// Queued output the peer does not read.
    pub write: Timeout,
    /// A request not answered (off unless set).
    pub request: Timeout,
    /// How long a closing connection discards what the peer still sends.
    pub linger: Duration,
}
