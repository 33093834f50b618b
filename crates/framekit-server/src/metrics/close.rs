//! Why a connection closed: one [`CloseReason`] per way a connection can end, each a stable
//! label of `framekit_connections_closed_total{reason}`.

use std::fmt;

/// Why a connection closed.
///
/// ```
/// use framekit_server::metrics::CloseReason;
///
/// // Each reason is one label value of `framekit_connections_closed_total{reason}`.
/// assert_eq!(CloseReason::FrameTimeout.to_string(), "frame_timeout");
/// assert!(CloseReason::ALL.contains(&CloseReason::TlsHandshake));
/// ```
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
    /// The PROXY preamble was refused: an untrusted source, no header, or a bad one.
    PreambleRefused,
    /// The PROXY header did not arrive whole within the preamble timeout.
    PreambleTimeout,
}

impl CloseReason {
    /// Every reason, in counter order.
    ///
    /// ```
    /// use std::collections::BTreeSet;
    /// use framekit_server::metrics::CloseReason;
    /// let labels: BTreeSet<_> = CloseReason::ALL.iter().map(|r| r.as_str()).collect();
    /// assert_eq!(labels.len(), CloseReason::ALL.len(), "every label is distinct");
    /// ```
    pub const ALL: [CloseReason; 18] = [
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
        CloseReason::PreambleRefused,
        CloseReason::PreambleTimeout,
    ];

    /// A short, stable name (`"write_timeout"`, ...), for metric labels and logs.
    ///
    /// ```
    /// use framekit_server::metrics::CloseReason;
    /// assert_eq!(CloseReason::WriteTimeout.as_str(), "write_timeout");
    /// assert_eq!(CloseReason::PeerClosed.as_str(), "peer_closed");
    /// ```
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
            CloseReason::PreambleRefused => "preamble_refused",
            CloseReason::PreambleTimeout => "preamble_timeout",
        }
    }

    pub(super) fn index(self) -> usize {
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
