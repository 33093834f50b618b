//! The newline framing the line examples (`ack_server`, `chat_server`) share: a codec whose
//! reply lines may be a little longer than the request lines, and the line a client past the
//! connection limit is sent.

use framekit::framing::delimited::Delimited;
use framekit::FrameCodec;
use framekit_server::codec::WithEncoder;

/// How much longer than the longest request line a reply line may be (`ack:`, `<id>: `, error
/// text).
pub const REPLY_HEADROOM: usize = 256;

/// The line a client of a line protocol gets past the connection limit, before the connection
/// closes.
pub const LINE_SERVER_FULL: &str = "error: server full";

/// Newline-framed lines: in up to `max_line` bytes, out up to `max_line + REPLY_HEADROOM`.
///
/// ```
/// let codec = framekit_examples::lines::line_codec(1024);
/// # let _ = codec;
/// ```
pub fn line_codec(max_line: usize) -> WithEncoder<FrameCodec<Delimited>, FrameCodec<Delimited>> {
    WithEncoder::new(
        FrameCodec::new(Delimited::newline().max_frame_len(max_line)),
        FrameCodec::new(
            Delimited::newline().max_frame_len(max_line.saturating_add(REPLY_HEADROOM)),
        ),
    )
}
