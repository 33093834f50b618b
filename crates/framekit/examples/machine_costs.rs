//! machine_costs: a small, bounded driver of the connection machine's per-request path, for a
//! load-independent count of instructions per request under callgrind, with no socket and no
//! runtime: what the machine itself costs a server or a client, apart from system calls.
//!
//! ```text
//! machine_costs ROLE DEPTH REQUESTS     e.g. machine_costs server 16 100000
//! ```
//!
//! `server`: DEPTH newline requests arrive in one read, each is answered at once through its
//! `Responder` (`ack:<line>`, as `ack_server` answers), and the answers leave in one write.
//! `client`: DEPTH requests are submitted, written in one write, and their DEPTH answers arrive
//! in one read and are matched. Running at two request counts and dividing the difference by
//! the requests gives the cost per request without the setup's:
//!
//! ```text
//! valgrind --tool=callgrind --callgrind-out-file=/dev/null target/release/examples/machine_costs server 1 20000
//! ```
//!
//! It also prints the machine's size (what an idle connection holds of it).

use std::hint::black_box;
use std::time::Instant;

use bytes::Bytes;
use framekit::connection::{ClientEvent, Connection, Event, Pipelined, Server, Settings};
use framekit::framing::delimited::Delimited;
use framekit::FrameCodec;

type Lines = FrameCodec<Delimited>;

fn server(depth: usize, requests: usize) -> usize {
    let now = Instant::now();
    let mut conn = Connection::server(Lines::new(Delimited::newline()), Settings::default(), now);
    let burst: Vec<u8> = b"ping\n".repeat(depth);
    let mut answered = 0;
    let mut prefix = Vec::with_capacity(64);
    while answered < requests {
        let buf = conn.read_buf().expect("reads");
        buf.extend_from_slice(&burst);
        conn.handle_read(burst.len(), now);
        while let Some(event) = conn.poll_event(now) {
            if let Event::Request {
                view,
                mut responder,
            } = event
            {
                prefix.clear();
                prefix.extend_from_slice(b"ack:");
                prefix.extend_from_slice(view);
                let _ = responder.send(&prefix[..]);
                responder.finish();
                answered += 1;
            }
        }
        while let Some(out) = conn.poll_transmit() {
            let n = black_box(out).len();
            conn.handle_written(n, now);
        }
    }
    answered
}

fn client(depth: usize, requests: usize) -> usize {
    let now = Instant::now();
    let codec = Lines::new(Delimited::newline());
    let mut conn = Connection::client(codec, Pipelined, Settings::default(), now);
    let answers: Vec<u8> = b"ack:ping\n".repeat(depth);
    let mut answered = 0;
    while answered < requests {
        for _ in 0..depth {
            conn.submit(Bytes::from_static(b"ping"), None, now)
                .expect("room");
        }
        while let Some(out) = conn.poll_transmit() {
            let n = black_box(out).len();
            conn.handle_written(n, now);
        }
        let buf = conn.read_buf().expect("reads");
        buf.extend_from_slice(&answers);
        conn.handle_read(answers.len(), now);
        while let Some(event) = conn.poll_event(now) {
            if let ClientEvent::Response { answer, .. } = event {
                black_box(answer);
                answered += 1;
            }
        }
    }
    answered
}

fn main() {
    let mut args = std::env::args().skip(1);
    let role = args.next().unwrap_or_else(|| "server".into());
    let depth: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(1).max(1);
    let requests: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(10_000);
    let answered = match role.as_str() {
        "server" => server(depth, requests),
        "client" => client(depth, requests),
        other => {
            eprintln!("machine_costs: unknown role {other:?} (server or client)");
            std::process::exit(2);
        }
    };
    println!(
        "{role} depth {depth}: {answered} requests; Connection<FrameCodec<Delimited>, Server> is {} bytes",
        std::mem::size_of::<Connection<Lines, Server>>()
    );
}
