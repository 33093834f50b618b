//! The chat room of `chat_server`: every line a member sends goes to every other member as
//! `<id>: <line>`, with join and leave notices. A member that cannot keep up is dropped; the
//! room never waits for anyone.
//!
//! ```text
//! to the joiner      * welcome, you are 3
//! to the others      * 3 joined
//! member 3 sends     hello            others get   3: hello
//! member 3 leaves                     others get   * 3 left
//! member 3 too slow                   others get   * 3 dropped (too slow)
//! ```
//!
//! The room is a `tokio::sync::broadcast` channel of pre-formatted lines, so saying something
//! never waits for any listener. A member is too slow, and dropped, when it falls more than the
//! room's capacity behind (`Lagged`), or when its connection's outbound queue stays full for
//! longer than the stall timeout.

use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use framekit_server::{Ctx, Inbox, Outbox};
use futures::StreamExt;
use tokio::sync::broadcast::{self, error::RecvError};

/// Default number of lines a member may fall behind before it is dropped.
pub const DEFAULT_ROOM_CAPACITY: usize = 1024;
/// Default time a member's outbound queue may stay full before it is dropped.
pub const DEFAULT_STALL_TIMEOUT: Duration = Duration::from_secs(2);

/// `<id>: <line>`, the line another member sees.
pub fn message_line(from: u64, line: &[u8]) -> Bytes {
    let id = from.to_string();
    let mut out = BytesMut::with_capacity(id.len() + 2 + line.len());
    out.put_slice(id.as_bytes());
    out.put_slice(b": ");
    out.put_slice(line);
    out.freeze()
}

/// The first line a member gets.
pub fn welcome_line(id: u64) -> Bytes {
    Bytes::from(format!("* welcome, you are {id}"))
}

/// The notice sent to the others when `id` joins.
pub fn joined_line(id: u64) -> Bytes {
    Bytes::from(format!("* {id} joined"))
}

/// Why a member left the room.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Departure {
    /// It closed its side, or the server is shutting down.
    Left,
    /// It fell too far behind.
    TooSlow,
}

/// The notice sent to the others when `id` leaves.
pub fn left_line(id: u64, how: Departure) -> Bytes {
    match how {
        Departure::Left => Bytes::from(format!("* {id} left")),
        Departure::TooSlow => Bytes::from(format!("* {id} dropped (too slow)")),
    }
}

#[derive(Debug, Clone)]
struct Said {
    from: u64,
    line: Bytes,
}

/// One chat room; clone it into every connection's handler (clones share the room).
///
/// ```
/// use std::time::Duration;
/// use framekit_examples::chat::Room;
/// let room = Room::new(64, Duration::from_secs(1));
/// assert_eq!(room.members(), 0);
/// ```
#[derive(Debug, Clone)]
pub struct Room {
    tx: broadcast::Sender<Said>,
    stall_timeout: Duration,
}

impl Room {
    /// A room where members may fall `capacity` lines behind, or leave their outbound queue
    /// full for `stall_timeout`, before being dropped.
    pub fn new(capacity: usize, stall_timeout: Duration) -> Self {
        let (tx, _) = broadcast::channel(capacity.max(1));
        Room { tx, stall_timeout }
    }

    /// How many members are in the room.
    pub fn members(&self) -> usize {
        self.tx.receiver_count()
    }

    fn say(&self, from: u64, line: Bytes) {
        // An error only means nobody is listening.
        let _ = self.tx.send(Said { from, line });
    }

    /// Runs one member's connection: its duplex handler.
    ///
    /// One loop: what the member says goes to the room, what the room says goes to the member.
    /// framekit-server keeps polling a duplex handler while its connection is paused above the
    /// outbound high water mark, so the stall timer around `send` runs exactly when a slow
    /// member backs up. The departure is announced however this future ends, also when the
    /// connection is dropped under it (the peer reset): a drop guard says it.
    pub async fn member(self, mut inbox: Inbox<Bytes>, mut outbox: Outbox<Bytes>, ctx: Ctx) {
        let id = ctx.id();
        let mut leaving = Leaving {
            room: self.clone(),
            id,
            how: Departure::Left,
        };
        // Declared after the guard, so it is dropped first: the member has left the room's
        // count when the departure is announced.
        let mut heard = self.tx.subscribe();
        if outbox.send(welcome_line(id)).await.is_err() {
            return;
        }
        self.say(id, joined_line(id));
        tracing::info!(id, members = self.members(), "joined");
        leaving.how = loop {
            tokio::select! {
                line = inbox.next() => match line {
                    Some(line) => self.say(id, message_line(id, &line)),
                    None => break Departure::Left,
                },
                said = heard.recv() => match said {
                    Ok(said) if said.from == id => {}
                    Ok(said) => {
                        match tokio::time::timeout(self.stall_timeout, outbox.send(said.line)).await
                        {
                            Ok(Ok(())) => {}
                            Ok(Err(_)) => break Departure::Left,
                            Err(_) => {
                                tracing::warn!(id, "member's output stalled, dropping it");
                                break Departure::TooSlow;
                            }
                        }
                    }
                    Err(RecvError::Lagged(missed)) => {
                        tracing::warn!(id, missed, "member too slow, dropping it");
                        break Departure::TooSlow;
                    }
                    Err(RecvError::Closed) => break Departure::Left,
                },
            }
        };
    }
}

/// Tells the room that a member left, when the member's handler ends or is dropped.
struct Leaving {
    room: Room,
    id: u64,
    how: Departure,
}

impl Drop for Leaving {
    fn drop(&mut self) {
        self.room.say(self.id, left_line(self.id, self.how));
        tracing::info!(id = self.id, how = ?self.how, members = self.room.members(), "left");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_formatted_as_documented() {
        assert_eq!(message_line(3, b"hello"), "3: hello");
        assert_eq!(welcome_line(3), "* welcome, you are 3");
        assert_eq!(joined_line(3), "* 3 joined");
        assert_eq!(left_line(3, Departure::Left), "* 3 left");
        assert_eq!(left_line(3, Departure::TooSlow), "* 3 dropped (too slow)");
    }
}
