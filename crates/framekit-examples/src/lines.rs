//! What the line examples (`ack_server`, `chat_server`) share: how much longer than a request
//! line their reply lines may be, and the line a client past the connection limit is sent.

/// How much longer than the longest request line a reply line may be (`ack:`, `<id>: `, error
/// text).
pub const REPLY_HEADROOM: usize = 256;

/// The line a client of a line protocol gets past the connection limit, before the connection
/// closes.
pub const LINE_SERVER_FULL: &str = "error: server full";
