//! What the line examples (`ack_server`, `chat_server`) share: how much longer than a request
//! line their reply lines may be, the line a client past the connection limit is sent, and
//! the error line of a request that failed.

use bytes::Bytes;
use framekit::FrameError;

/// How much longer than the longest request line a reply line may be (`ack:`, `<id>: `, error
/// text).
pub const REPLY_HEADROOM: usize = 256;

/// The line a client of a line protocol gets past the connection limit, before the connection
/// closes.
pub const LINE_SERVER_FULL: &str = "error: server full";

/// The error line of a request that failed to decode (`error: ...`). An over-long line is named
/// by the limit alone: how long the codec saw it to be depends on where the reads cut it ("19
/// bytes" in one read, "at least 17" dripped), and the peer's bytes must not (the connection
/// laws of `tests/tests/examples_laws.rs` hold `ack_server` to that).
///
/// ```
/// use framekit::FrameError;
/// use framekit_examples::lines::failure_line;
///
/// let long = FrameError::too_long(6, 20, 16, "no newline within the maximum");
/// assert_eq!(failure_line(&long, 16), "error: the line at byte 6 is over the maximum of 16 bytes");
/// ```
pub fn failure_line(
    error: &(dyn std::error::Error + Send + Sync + 'static),
    max_line: usize,
) -> Bytes {
    match error.downcast_ref::<FrameError>() {
        Some(e) if e.is_too_long() => {
            let at = e.offset().unwrap_or_default();
            Bytes::from(format!(
                "error: the line at byte {at} is over the maximum of {max_line} bytes"
            ))
        }
        _ => Bytes::from(format!("error: {error}")),
    }
}
