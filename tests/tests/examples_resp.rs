//! resp_server over loopback: a RESP client written here sends raw requests (multibulk,
//! inline, pipelined, malformed) and checks the exact reply bytes.

#[allow(dead_code, unexpected_cfgs)]
#[path = "../../crates/framekit-examples/examples/resp_server.rs"]
mod resp_server;

mod support;
use support::resp_command;

use std::time::Duration;

use framekit_examples::resp::RequestParser;
use framekit_server::{Server, ServerConfig, ServerHandle};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;

const LIMIT: Duration = Duration::from_secs(10);

async fn start(parser: RequestParser) -> (ServerHandle, std::net::SocketAddr) {
    let config = framekit_examples::resp::server_config(ServerConfig::default(), &parser);
    let server = Server::bind("127.0.0.1:0").await.unwrap().config(config);
    let handle = resp_server::serve(server, parser);
    let addr = handle.local_addr().as_tcp().unwrap();
    (handle, addr)
}

/// Reads exactly `expected.len()` bytes and compares them.
async fn expect(conn: &mut TcpStream, expected: &[u8]) {
    let mut got = vec![0; expected.len()];
    conn.read_exact(&mut got).await.unwrap();
    assert_eq!(
        String::from_utf8_lossy(&got),
        String::from_utf8_lossy(expected)
    );
}

async fn expect_closed(conn: &mut TcpStream) {
    let mut rest = Vec::new();
    let n = conn.read_to_end(&mut rest).await.unwrap_or(0);
    assert_eq!(
        n,
        0,
        "unexpected bytes: {:?}",
        String::from_utf8_lossy(&rest)
    );
}

#[tokio::test]
async fn commands_answer_like_redis() {
    timeout(LIMIT, async {
        let (server, addr) = start(RequestParser::new()).await;
        let mut c = TcpStream::connect(addr).await.unwrap();
        let exchanges: &[(&[&[u8]], &[u8])] = &[
            (&[b"PING"], b"+PONG\r\n"),
            (&[b"ECHO", b"hi"], b"$2\r\nhi\r\n"),
            (&[b"SET", b"k", b"a\r\n\0b"], b"+OK\r\n"),
            (&[b"GET", b"k"], b"$5\r\na\r\n\0b\r\n"),
            (&[b"SET", b"k", b"v", b"NX"], b"$-1\r\n"),
            (&[b"SET", b"k", b"v", b"XX", b"EX", b"100"], b"+OK\r\n"),
            (&[b"TTL", b"k"], b":100\r\n"),
            (&[b"EXPIRE", b"k", b"50"], b":1\r\n"),
            (&[b"TTL", b"k"], b":50\r\n"),
            (&[b"INCR", b"n"], b":1\r\n"),
            (&[b"INCRBY", b"n", b"41"], b":42\r\n"),
            (&[b"DECR", b"n"], b":41\r\n"),
            (
                &[b"INCR", b"k"],
                b"-ERR value is not an integer or out of range\r\n",
            ),
            (&[b"MSET", b"a", b"1", b"b", b"2"], b"+OK\r\n"),
            (
                &[b"MGET", b"a", b"zz", b"b"],
                b"*3\r\n$1\r\n1\r\n$-1\r\n$1\r\n2\r\n",
            ),
            (&[b"EXISTS", b"a", b"b", b"zz"], b":2\r\n"),
            (&[b"DEL", b"a", b"zz"], b":1\r\n"),
            (&[b"KEYS", b"b*"], b"*1\r\n$1\r\nb\r\n"),
            (&[b"DBSIZE"], b":3\r\n"),
            (
                &[b"CONFIG", b"GET", b"save"],
                b"*2\r\n$4\r\nsave\r\n$0\r\n\r\n",
            ),
            (&[b"FLUSHALL"], b"+OK\r\n"),
            (&[b"DBSIZE"], b":0\r\n"),
            (
                &[b"NOSUCH", b"x"],
                b"-ERR unknown command 'NOSUCH', with args beginning with: 'x' \r\n",
            ),
            (
                &[b"GET"],
                b"-ERR wrong number of arguments for 'get' command\r\n",
            ),
        ];
        for (args, reply) in exchanges {
            c.write_all(&resp_command(args)).await.unwrap();
            expect(&mut c, reply).await;
        }
        c.write_all(&resp_command(&[b"QUIT"])).await.unwrap();
        expect(&mut c, b"+OK\r\n").await;
        expect_closed(&mut c).await;
        server.shutdown(Duration::from_secs(1)).await;
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn keys_expire_in_real_time() {
    timeout(LIMIT, async {
        let (server, addr) = start(RequestParser::new()).await;
        let mut c = TcpStream::connect(addr).await.unwrap();
        c.write_all(&resp_command(&[b"SET", b"k", b"v", b"PX", b"150"]))
            .await
            .unwrap();
        expect(&mut c, b"+OK\r\n").await;
        tokio::time::sleep(Duration::from_millis(400)).await;
        // Gone for readers, and swept from the key count by the background sweeper.
        c.write_all(&resp_command(&[b"DBSIZE"])).await.unwrap();
        expect(&mut c, b":0\r\n").await;
        c.write_all(&resp_command(&[b"GET", b"k"])).await.unwrap();
        expect(&mut c, b"$-1\r\n").await;
        server.shutdown(Duration::from_secs(1)).await;
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn pipelined_requests_are_answered_in_order() {
    timeout(LIMIT, async {
        let (server, addr) = start(RequestParser::new()).await;
        let c = TcpStream::connect(addr).await.unwrap();
        let n = 1000;
        let mut batch = Vec::new();
        let mut expected = Vec::new();
        for i in 0..n {
            let key = format!("key:{i}");
            let value = format!("value:{i}");
            batch.extend(resp_command(&[b"SET", key.as_bytes(), value.as_bytes()]));
            batch.extend(resp_command(&[b"GET", key.as_bytes()]));
            batch.extend(resp_command(&[b"INCR", b"counter"]));
            expected.extend_from_slice(b"+OK\r\n");
            expected.extend(format!("${}\r\n{value}\r\n", value.len()).into_bytes());
            expected.extend(format!(":{}\r\n", i + 1).into_bytes());
        }
        // One write carrying 3000 requests; the reader runs at the same time so neither side
        // waits on a full socket buffer.
        let (mut rd, mut wr) = c.into_split();
        let writer = tokio::spawn(async move {
            wr.write_all(&batch).await.unwrap();
            wr
        });
        let mut got = vec![0; expected.len()];
        rd.read_exact(&mut got).await.unwrap();
        assert!(got == expected, "pipelined replies differ");
        drop(writer.await.unwrap());
        server.shutdown(Duration::from_secs(1)).await;
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn inline_commands_work_as_typed_in_nc() {
    timeout(LIMIT, async {
        let (server, addr) = start(RequestParser::new()).await;
        let mut c = TcpStream::connect(addr).await.unwrap();
        c.write_all(b"PING\r\nSET  greeting   hello\nget greeting\r\n\r\nECHO x\r\n")
            .await
            .unwrap();
        expect(&mut c, b"+PONG\r\n+OK\r\n$5\r\nhello\r\n$1\r\nx\r\n").await;
        server.shutdown(Duration::from_secs(1)).await;
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn protocol_error_closes_only_that_connection() {
    timeout(LIMIT, async {
        let (server, addr) = start(RequestParser::new()).await;
        let mut good = TcpStream::connect(addr).await.unwrap();
        good.write_all(&resp_command(&[b"SET", b"k", b"v"]))
            .await
            .unwrap();
        expect(&mut good, b"+OK\r\n").await;

        // A good request, then a malformed one in the same write: the first is answered, the
        // second gets the protocol error, then the connection closes.
        let mut bad = TcpStream::connect(addr).await.unwrap();
        let mut wire = resp_command(&[b"GET", b"k"]);
        wire.extend_from_slice(b"*1\r\n:oops\r\n");
        bad.write_all(&wire).await.unwrap();
        expect(
            &mut bad,
            b"$1\r\nv\r\n-ERR Protocol error: expected '$', got ':'\r\n",
        )
        .await;
        expect_closed(&mut bad).await;

        let mut bad = TcpStream::connect(addr).await.unwrap();
        bad.write_all(b"*1\r\n$-5\r\n").await.unwrap();
        expect(&mut bad, b"-ERR Protocol error: invalid bulk length\r\n").await;
        expect_closed(&mut bad).await;

        let mut bad = TcpStream::connect(addr).await.unwrap();
        bad.write_all(b"*x\r\n").await.unwrap();
        expect(
            &mut bad,
            b"-ERR Protocol error: invalid multibulk length\r\n",
        )
        .await;
        expect_closed(&mut bad).await;

        // The first connection is unaffected.
        good.write_all(&resp_command(&[b"GET", b"k"]))
            .await
            .unwrap();
        expect(&mut good, b"$1\r\nv\r\n").await;
        server.shutdown(Duration::from_secs(1)).await;
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn values_over_the_limit_are_refused_before_they_arrive() {
    timeout(LIMIT, async {
        let (server, addr) = start(RequestParser::new().max_bulk_len(1024)).await;
        let mut c = TcpStream::connect(addr).await.unwrap();
        let big = vec![b'x'; 1024];
        c.write_all(&resp_command(&[b"SET", b"k", &big]))
            .await
            .unwrap();
        expect(&mut c, b"+OK\r\n").await;
        // Only the header of a 1 MiB value is sent: the refusal does not wait for the body.
        c.write_all(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1048576\r\n")
            .await
            .unwrap();
        expect(&mut c, b"-ERR Protocol error: invalid bulk length\r\n").await;
        expect_closed(&mut c).await;
        server.shutdown(Duration::from_secs(1)).await;
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn large_binary_values_round_trip() {
    timeout(LIMIT, async {
        let (server, addr) = start(RequestParser::new()).await;
        let c = TcpStream::connect(addr).await.unwrap();
        let value: Vec<u8> = (0..2 * 1024 * 1024u32).map(|i| (i % 251) as u8).collect();
        let (mut rd, mut wr) = c.into_split();
        let request = resp_command(&[b"SET", b"big", &value]);
        let writer = tokio::spawn(async move {
            wr.write_all(&request).await.unwrap();
            wr.write_all(&resp_command(&[b"GET", b"big"]))
                .await
                .unwrap();
            wr
        });
        let mut ok = [0; 5];
        rd.read_exact(&mut ok).await.unwrap();
        assert_eq!(&ok, b"+OK\r\n");
        let header = format!("${}\r\n", value.len()).into_bytes();
        let mut got = vec![0; header.len() + value.len() + 2];
        rd.read_exact(&mut got).await.unwrap();
        assert_eq!(&got[..header.len()], &header[..]);
        assert!(got[header.len()..header.len() + value.len()] == value[..]);
        drop(writer.await.unwrap());
        server.shutdown(Duration::from_secs(1)).await;
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn clients_past_the_connection_limit_are_told_and_closed() {
    timeout(LIMIT, async {
        let parser = RequestParser::new();
        let config = framekit_examples::resp::server_config(
            ServerConfig::default().max_connections(1),
            &parser,
        );
        let server = Server::bind("127.0.0.1:0").await.unwrap().config(config);
        let server = resp_server::serve(server, parser);
        let addr = server.local_addr().as_tcp().unwrap();
        let mut first = TcpStream::connect(addr).await.unwrap();
        first.write_all(&resp_command(&[b"PING"])).await.unwrap();
        expect(&mut first, b"+PONG\r\n").await;

        // The second client is accepted only to be told, as Redis words it, then closed.
        let mut second = TcpStream::connect(addr).await.unwrap();
        expect(&mut second, b"-ERR max number of clients reached\r\n").await;
        expect_closed(&mut second).await;

        // The first is unaffected; once it leaves, a new client is served (its permit is
        // returned when the connection task ends, so a few refusals may come first).
        first.write_all(&resp_command(&[b"PING"])).await.unwrap();
        expect(&mut first, b"+PONG\r\n").await;
        drop(first);
        let mut served = false;
        for _ in 0..50 {
            let mut next = TcpStream::connect(addr).await.unwrap();
            next.write_all(&resp_command(&[b"PING"])).await.unwrap();
            let mut reply = [0; 7];
            if next.read_exact(&mut reply).await.is_ok() && &reply == b"+PONG\r\n" {
                served = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(served, "a freed slot is reused");
        server.shutdown(Duration::from_secs(1)).await;
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn clients_share_databases_but_not_their_selection() {
    timeout(LIMIT, async {
        let (server, addr) = start(RequestParser::new()).await;
        let mut a = TcpStream::connect(addr).await.unwrap();
        let mut b = TcpStream::connect(addr).await.unwrap();
        a.write_all(&resp_command(&[b"SELECT", b"5"]))
            .await
            .unwrap();
        expect(&mut a, b"+OK\r\n").await;
        a.write_all(&resp_command(&[b"SET", b"k", b"five"]))
            .await
            .unwrap();
        expect(&mut a, b"+OK\r\n").await;
        b.write_all(&resp_command(&[b"GET", b"k"])).await.unwrap();
        expect(&mut b, b"$-1\r\n").await;
        b.write_all(&resp_command(&[b"SELECT", b"5"]))
            .await
            .unwrap();
        expect(&mut b, b"+OK\r\n").await;
        b.write_all(&resp_command(&[b"GET", b"k"])).await.unwrap();
        expect(&mut b, b"$4\r\nfive\r\n").await;
        // CLIENT LIST shows both connections, by id, with their names and databases.
        a.write_all(&resp_command(&[b"CLIENT", b"SETNAME", b"alpha"]))
            .await
            .unwrap();
        expect(&mut a, b"+OK\r\n").await;
        b.write_all(&resp_command(&[b"CLIENT", b"LIST"]))
            .await
            .unwrap();
        let mut header = Vec::new();
        while !header.ends_with(b"\r\n") {
            let mut byte = [0];
            b.read_exact(&mut byte).await.unwrap();
            header.push(byte[0]);
        }
        let len: usize = std::str::from_utf8(&header[1..header.len() - 2])
            .unwrap()
            .parse()
            .unwrap();
        let mut body = vec![0; len + 2];
        b.read_exact(&mut body).await.unwrap();
        let list = String::from_utf8(body).unwrap();
        let lines: Vec<&str> = list.trim_end().lines().collect();
        assert_eq!(lines.len(), 2, "{list}");
        assert!(
            lines
                .iter()
                .any(|l| l.contains(" name=alpha ") && l.contains(" db=5 ")),
            "{list}"
        );
        assert!(
            lines
                .iter()
                .all(|l| l.contains(" addr=127.0.0.1:") && l.contains(&format!(" laddr={addr} "))),
            "{list}"
        );
        server.shutdown(Duration::from_secs(1)).await;
    })
    .await
    .unwrap();
}
