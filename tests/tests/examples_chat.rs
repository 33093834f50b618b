//! chat_server over loopback: join and leave notices, broadcast to the others only, and a
//! client that stops reading is dropped while the room goes on.
//! The server is the example binary's own `serve`, compiled in from its file.

#[allow(dead_code, unexpected_cfgs)]
#[path = "../../crates/framekit-examples/examples/chat_server.rs"]
mod chat_server;

use std::time::Duration;

use framekit_examples::chat::Room;
use framekit_server::{Server, ServerConfig, ServerHandle};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpSocket, TcpStream};
use tokio::time::timeout;

const LIMIT: Duration = Duration::from_secs(20);

async fn start(config: ServerConfig, room: Room) -> (ServerHandle, std::net::SocketAddr) {
    let server = Server::bind("127.0.0.1:0").await.unwrap().config(config);
    let handle = chat_server::serve(server, 4096, room);
    let addr = handle.local_addr().as_tcp().unwrap();
    (handle, addr)
}

struct Member {
    id: u64,
    lines: Lines<BufReader<OwnedReadHalf>>,
    tx: OwnedWriteHalf,
}

impl Member {
    async fn join(addr: std::net::SocketAddr) -> Member {
        Member::join_with(TcpStream::connect(addr).await.unwrap()).await
    }

    /// Joins with a small receive buffer, so a member that stops reading backs up quickly
    /// (loopback autotuning would otherwise let the kernel absorb tens of megabytes).
    async fn join_small(addr: std::net::SocketAddr) -> Member {
        let socket = TcpSocket::new_v4().unwrap();
        socket.set_recv_buffer_size(4096).unwrap();
        Member::join_with(socket.connect(addr).await.unwrap()).await
    }

    async fn join_with(stream: TcpStream) -> Member {
        let (rd, tx) = stream.into_split();
        let mut lines = BufReader::new(rd).lines();
        let welcome = lines.next_line().await.unwrap().unwrap();
        let id = welcome
            .strip_prefix("* welcome, you are ")
            .and_then(|id| id.parse().ok())
            .unwrap_or_else(|| panic!("not a welcome: {welcome}"));
        Member { id, lines, tx }
    }

    async fn say(&mut self, line: &str) {
        self.tx.write_all(line.as_bytes()).await.unwrap();
        self.tx.write_all(b"\n").await.unwrap();
    }

    async fn hear(&mut self) -> String {
        self.lines
            .next_line()
            .await
            .unwrap()
            .expect("connection closed")
    }
}

#[tokio::test]
async fn members_hear_each_other_and_join_and_leave_notices() {
    timeout(LIMIT, async {
        let room = Room::new(64, Duration::from_secs(2));
        let (server, addr) = start(ServerConfig::default(), room.clone()).await;
        let mut a = Member::join(addr).await;
        let mut b = Member::join(addr).await;
        assert_eq!(a.hear().await, format!("* {} joined", b.id));
        let mut c = Member::join(addr).await;
        assert_eq!(a.hear().await, format!("* {} joined", c.id));
        assert_eq!(b.hear().await, format!("* {} joined", c.id));

        a.say("hello").await;
        assert_eq!(b.hear().await, format!("{}: hello", a.id));
        assert_eq!(c.hear().await, format!("{}: hello", a.id));
        c.say("hi a").await;
        // A hears c, not its own line.
        assert_eq!(a.hear().await, format!("{}: hi a", c.id));
        assert_eq!(b.hear().await, format!("{}: hi a", c.id));

        drop(b.tx);
        drop(b.lines);
        assert_eq!(a.hear().await, format!("* {} left", b.id));
        assert_eq!(c.hear().await, format!("* {} left", b.id));
        assert_eq!(room.members(), 2);
        server.shutdown(Duration::from_secs(1)).await;
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn a_client_that_stops_reading_is_dropped_not_the_room() {
    timeout(LIMIT, async {
        // Small queues and a short stall timeout so the test fills them quickly.
        let config = ServerConfig::default()
            .water_marks(8 * 1024, 32 * 1024)
            .write_timeout(Duration::from_secs(5));
        let room = Room::new(1024, Duration::from_secs(1));
        let (server, addr) = start(config, room).await;
        let mut talker = Member::join(addr).await;
        let mut listener = Member::join(addr).await;
        assert_eq!(talker.hear().await, format!("* {} joined", listener.id));
        // The slow member reads its welcome, then never reads again.
        let slow = Member::join_small(addr).await;
        let slow_id = slow.id;
        assert_eq!(talker.hear().await, format!("* {slow_id} joined"));
        assert_eq!(listener.hear().await, format!("* {slow_id} joined"));

        let line = "x".repeat(1000);
        let talking = tokio::spawn(async move {
            // At most 50 MB (the slow member backs up after a few), paced in bursts so a
            // reading member keeps up.
            for burst in 0..3_200 {
                for _ in 0..16 {
                    talker.say(&line).await;
                }
                if burst % 4 == 0 {
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
            }
            talker
        });
        let dropped = format!("* {slow_id} dropped (too slow)");
        let mut heard = 0u64;
        loop {
            let line = listener.hear().await;
            if line == dropped {
                break;
            }
            assert!(line.ends_with(&"x".repeat(1000)), "unexpected: {line}");
            heard += 1;
        }
        assert!(heard > 0);
        talking.abort();
        // The room still works for those who read.
        let mut other = Member::join(addr).await;
        assert_eq!(other.id, slow_id + 1);
        other.say("still here").await;
        loop {
            let line = listener.hear().await;
            if line == format!("{}: still here", other.id) {
                break;
            }
        }
        drop(slow);
        server.shutdown(Duration::from_secs(1)).await;
    })
    .await
    .unwrap();
}
