//! Where a connection is in its life ([`State`]), and why it ended or is ending
//! ([`CloseReason`]).

/// Why a connection is closing or closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CloseReason {
    /// The peer closed its side and everything owed was answered.
    PeerClosed,
    /// The handler (server) or the owner (client) asked for the close.
    Local,
    /// The connection's owner is shutting down gracefully.
    Shutdown,
    /// A decoding error the codec cannot recover from; its [`kind_name`](super::CodecError::kind_name).
    Decode(&'static str),
    /// A message needed more than the input budget.
    InputBudget,
    /// Nothing happened for the idle timeout.
    IdleTimeout,
    /// Bytes were owed and none could be written for the write timeout.
    WriteTimeout,
    /// A message's first byte arrived and the rest did not within the frame timeout.
    FrameTimeout,
    /// The transport failed (reported by the driver).
    Transport,
    /// The peer sent a message no exchange was waiting for (client).
    Unsolicited,
}

impl CloseReason {
    /// A short, stable name (`"peer_closed"`, `"idle_timeout"`, ...), for metrics and logs.
    ///
    /// ```
    /// use framekit::connection::CloseReason;
    /// assert_eq!(CloseReason::IdleTimeout.name(), "idle_timeout");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            CloseReason::PeerClosed => "peer_closed",
            CloseReason::Local => "local",
            CloseReason::Shutdown => "shutdown",
            CloseReason::Decode(_) => "decode_error",
            CloseReason::InputBudget => "input_budget",
            CloseReason::IdleTimeout => "idle_timeout",
            CloseReason::WriteTimeout => "write_timeout",
            CloseReason::FrameTimeout => "frame_timeout",
            CloseReason::Transport => "transport",
            CloseReason::Unsolicited => "unsolicited",
        }
    }

    /// Whether the close lets everything owed be written first (otherwise the transport is
    /// dropped as it is).
    pub fn orderly(self) -> bool {
        !matches!(
            self,
            CloseReason::WriteTimeout | CloseReason::Transport | CloseReason::Unsolicited
        )
    }
}

/// Where a connection is in its life.
///
/// ```
/// use framekit::connection::{CloseReason, State};
/// assert!(State::Closed(CloseReason::PeerClosed).is_closed());
/// assert!(!State::Closing(CloseReason::Local).is_closed());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Taking new exchanges.
    Open,
    /// No new exchanges; those started finish and everything owed is written, then closed.
    Closing(CloseReason),
    /// Over: the driver closes the transport (with a FIN after an orderly close).
    Closed(CloseReason),
}

impl State {
    /// Whether the connection is over.
    pub fn is_closed(self) -> bool {
        matches!(self, State::Closed(_))
    }

    /// Why the connection is closing or closed.
    pub fn reason(self) -> Option<CloseReason> {
        match self {
            State::Open => None,
            State::Closing(reason) | State::Closed(reason) => Some(reason),
        }
    }
}
