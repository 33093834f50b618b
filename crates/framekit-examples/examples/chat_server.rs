//! chat_server: every line a client sends goes to all the others as `<id>: <line>`, with join
//! and leave notices; a client too slow to keep up is dropped, never the room.
//!
//! ```text
//! cargo run --release -p framekit-examples --example chat_server
//! nc 127.0.0.1 7002        # in two terminals; type lines
//! ```

use bytes::Bytes;
use clap::Parser;
use framekit::{framing::delimited::Delimited, FrameCodec};
use framekit_examples::chat::{Room, DEFAULT_ROOM_CAPACITY};
use framekit_examples::launch::{self, parse_duration, ServerArgs};
use framekit_examples::lines::{LINE_SERVER_FULL, REPLY_HEADROOM};
use framekit_server::codec::WithEncoder;
use framekit_server::listener::Acceptor;
use framekit_server::{Ctx, Inbox, Outbox, Server, ServerHandle};

/// Serves one [`Room`] to every connection over newline framing: lines up to `max_line` bytes
/// in, and out the others' lines, a little longer (`<id>: ` before each); a client past the
/// connection limit gets [`LINE_SERVER_FULL`].
pub fn serve<A: Acceptor>(server: Server<A, Bytes>, max_line: usize, room: Room) -> ServerHandle {
    let lines = WithEncoder::new(
        FrameCodec::new(Delimited::newline().max_frame_len(max_line)),
        FrameCodec::new(
            Delimited::newline().max_frame_len(max_line.saturating_add(REPLY_HEADROOM)),
        ),
    );
    server
        .on_reject(|_peer| Some(Bytes::from_static(LINE_SERVER_FULL.as_bytes())))
        // Duplex: a member's future reads its inbox (the lines it sends) and writes its outbox
        // (the others' lines and notices); one whose outbox stays full past the stall timeout,
        // or who falls the room's capacity behind, is dropped (`chat::Room::member`).
        .serve_duplex(
            lines,
            move |inbox: Inbox<Bytes>, outbox: Outbox<Bytes>, ctx: Ctx| {
                room.clone().member(inbox, outbox, ctx)
            },
        )
}

#[derive(Debug, Parser)]
#[command(about = "A line-based chat room (newline framing, duplex handler)")]
struct Args {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:7002")]
    addr: String,
    /// Longest line accepted, in bytes (without the newline).
    #[arg(long, default_value_t = 4096)]
    max_line: usize,
    /// Lines a client may fall behind before it is dropped.
    #[arg(long, default_value_t = DEFAULT_ROOM_CAPACITY)]
    room_capacity: usize,
    /// Drop a client whose output stays queued, unread, this long (e.g. 2s, 500ms).
    #[arg(long, default_value = "2s", value_parser = parse_duration)]
    stall_timeout: std::time::Duration,
    #[command(flatten)]
    server: ServerArgs,
}

fn main() -> std::io::Result<()> {
    let args = Args::parse();
    launch::run(&args.addr, &args.server, |server| {
        let room = Room::new(args.room_capacity, args.stall_timeout);
        serve(server, args.max_line, room)
    })
}
