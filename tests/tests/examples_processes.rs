//! The example binaries as processes: each prints exactly `listening on HOST:PORT` once bound
//! to port 0, answers a real exchange on that port, and exits 0 within 5 s of SIGTERM (with a
//! client still connected).
//!
//! The binaries are the ones `cargo test --workspace` (or `cargo build -p framekit-examples
//! --examples`) built next to this test; when they are missing the test says so and passes, so
//! `cargo test -p framekit-tests --test examples_processes` alone does not fail for lack of a
//! build.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::process::{Child, ChildStdout, Command};
use tokio::time::timeout;

const LIMIT: Duration = Duration::from_secs(20);

/// `target/<profile>/examples/<name>`, found from this test's own path in `target/<profile>/deps`.
fn example(name: &str) -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let path = exe.parent()?.parent()?.join("examples").join(name);
    path.is_file().then_some(path)
}

struct Running {
    child: Child,
    stdout: BufReader<ChildStdout>,
    addr: std::net::SocketAddr,
}

async fn start(name: &str) -> Option<Running> {
    start_with(name, &[]).await
}

async fn start_with(name: &str, args: &[&str]) -> Option<Running> {
    let Some(path) = example(name) else {
        // `cargo test --workspace` builds the examples; a narrower run may not. In CI the
        // binaries must be there: a skip would hide a broken example.
        assert!(
            std::env::var_os("CI").is_none(),
            "{name} is not built: CI runs `cargo test --workspace`, which builds it"
        );
        eprintln!("skipping {name}: not built (cargo build -p framekit-examples --examples)");
        return None;
    };
    let mut child = Command::new(path)
        .args(["--addr", "127.0.0.1:0"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).await.unwrap();
    let addr = line
        .strip_prefix("listening on ")
        .and_then(|a| a.trim_end().parse().ok())
        .unwrap_or_else(|| panic!("{name} printed {line:?}"));
    Some(Running {
        child,
        stdout,
        addr,
    })
}

/// Keeps `stream` open like an interactive client: reading until the server closes its side,
/// then closing too.
fn hold_open<S: tokio::io::AsyncRead + Unpin + Send + 'static>(mut stream: S) {
    tokio::spawn(async move {
        let mut sink = Vec::new();
        let _ = stream.read_to_end(&mut sink).await;
    });
}

/// SIGTERM, then exit status 0 within 5 s and nothing more on stdout.
async fn stop(mut running: Running, name: &str) {
    let pid = running.child.id().unwrap().to_string();
    let status = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = timeout(Duration::from_secs(5), running.child.wait())
        .await
        .unwrap_or_else(|_| panic!("{name} still running 5 s after SIGTERM"))
        .unwrap();
    assert!(exit.success(), "{name} exited with {exit}");
    let mut rest = String::new();
    running.stdout.read_to_string(&mut rest).await.unwrap();
    assert_eq!(rest, "", "{name} printed more than the listening line");
}

#[tokio::test]
async fn every_example_announces_its_port_answers_and_stops_on_sigterm() {
    timeout(LIMIT, async {
        if let Some(ack) = start("ack_server").await {
            let mut c = TcpStream::connect(ack.addr).await.unwrap();
            c.write_all(b"hi\n").await.unwrap();
            let mut reply = [0u8; 7];
            c.read_exact(&mut reply).await.unwrap();
            assert_eq!(&reply, b"ack:hi\n");
            hold_open(c);
            stop(ack, "ack_server").await;
        }
        if let Some(resp) = start("resp_server").await {
            let mut c = TcpStream::connect(resp.addr).await.unwrap();
            c.write_all(b"PING\r\n").await.unwrap();
            let mut reply = [0u8; 7];
            c.read_exact(&mut reply).await.unwrap();
            assert_eq!(&reply, b"+PONG\r\n");
            hold_open(c);
            stop(resp, "resp_server").await;
        }
        if let Some(chat) = start("chat_server").await {
            let c = TcpStream::connect(chat.addr).await.unwrap();
            let mut lines = BufReader::new(c).lines();
            let welcome = lines.next_line().await.unwrap().unwrap();
            assert!(welcome.starts_with("* welcome"), "{welcome}");
            hold_open(lines.into_inner());
            stop(chat, "chat_server").await;
        }
        if let Some(kv) = start("kv_server").await {
            let mut c = TcpStream::connect(kv.addr).await.unwrap();
            c.write_all(b"\0\0\0\x04\x01\0\x01k").await.unwrap();
            let mut reply = [0u8; 5];
            c.read_exact(&mut reply).await.unwrap();
            assert_eq!(&reply, b"\0\0\0\x01\x01", "NOT_FOUND");
            hold_open(c);
            stop(kv, "kv_server").await;
        }
        if let Some(records) = start("records_server").await {
            let mut c = TcpStream::connect(records.addr).await.unwrap();
            c.write_all(&[0xff; 8]).await.unwrap();
            c.write_all(&[0; 8]).await.unwrap();
            let mut reply = [0u8; 32];
            c.read_exact(&mut reply).await.unwrap();
            assert_eq!(&reply[..8], &[0; 8], "count 0");
            hold_open(c);
            stop(records, "records_server").await;
        }
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn thread_per_core_examples_answer_on_every_connection_and_stop_on_sigterm() {
    timeout(LIMIT, async {
        for threads in [
            ["--threads", "2", "--reuse-port"].as_slice(),
            &["--threads", "3"],
        ] {
            if let Some(ack) = start_with("ack_server", threads).await {
                for i in 0..16 {
                    let mut c = TcpStream::connect(ack.addr).await.unwrap();
                    let line = format!("{i:02}\n");
                    c.write_all(line.as_bytes()).await.unwrap();
                    let mut reply = [0u8; 7];
                    c.read_exact(&mut reply).await.unwrap();
                    assert_eq!(reply, format!("ack:{line}").as_bytes(), "{threads:?}");
                    hold_open(c);
                }
                stop(ack, "ack_server").await;
            }
            if let Some(resp) = start_with("resp_server", threads).await {
                // One store, whichever thread each connection is on.
                let mut c = TcpStream::connect(resp.addr).await.unwrap();
                c.write_all(b"SET k v\r\n").await.unwrap();
                let mut reply = [0u8; 5];
                c.read_exact(&mut reply).await.unwrap();
                assert_eq!(&reply, b"+OK\r\n");
                for _ in 0..16 {
                    let mut c = TcpStream::connect(resp.addr).await.unwrap();
                    c.write_all(b"GET k\r\n").await.unwrap();
                    let mut reply = [0u8; 7];
                    c.read_exact(&mut reply).await.unwrap();
                    assert_eq!(&reply, b"$1\r\nv\r\n", "{threads:?}");
                    hold_open(c);
                }
                hold_open(c);
                stop(resp, "resp_server").await;
            }
        }
    })
    .await
    .unwrap();
}
