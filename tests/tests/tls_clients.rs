//! The example servers over TLS with the real clients people use: `redis-cli --tls` against
//! `resp_server` (PING, SET/GET, a pipelined batch with `--pipe`) and `openssl s_client`
//! against `ack_server`, with certificates made at test time.

mod deploy_support;

use std::process::Stdio;

use deploy_support::certs::Certs;
use deploy_support::process::{have, run, Example, LIMIT};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

fn tls_flags(certs: &Certs) -> Vec<String> {
    vec![
        "--tls-cert".into(),
        certs.cert_path().display().to_string(),
        "--tls-key".into(),
        certs.key_path().display().to_string(),
        "--tls-handshake-timeout".into(),
        "5s".into(),
    ]
}

#[tokio::test]
async fn redis_cli_over_tls_pings_sets_gets_and_pipelines() {
    if !have("redis-cli") {
        return;
    }
    let certs = Certs::new("redis-cli");
    let flags = tls_flags(&certs);
    let args: Vec<&str> = flags.iter().map(String::as_str).collect();
    let Some(server) = Example::start("resp_server", &args).await else {
        return;
    };
    let ca = certs.ca_path().display().to_string();
    let port = server.port();
    let cli = |extra: &[&str]| {
        let mut a = vec!["--tls", "--cacert", &ca, "-h", "127.0.0.1", "-p", &port];
        a.extend_from_slice(extra);
        a.into_iter().map(String::from).collect::<Vec<_>>()
    };
    let redis = |args: Vec<String>, stdin: Vec<u8>| async move {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        run("redis-cli", &args, &stdin).await
    };

    assert_eq!(redis(cli(&["PING"]), vec![]).await, "PONG\n");
    assert_eq!(
        redis(cli(&["SET", "greeting", "hello tls"]), vec![]).await,
        "OK\n"
    );
    assert_eq!(
        redis(cli(&["GET", "greeting"]), vec![]).await,
        "hello tls\n"
    );

    // A pipelined batch: `--pipe` writes every command before reading the replies.
    let mut batch = Vec::new();
    for i in 0..1000 {
        let (k, v) = (format!("key:{i}"), format!("value {i}"));
        batch.extend_from_slice(
            format!(
                "*3\r\n$3\r\nSET\r\n${}\r\n{k}\r\n${}\r\n{v}\r\n",
                k.len(),
                v.len()
            )
            .as_bytes(),
        );
    }
    let piped = redis(cli(&["--pipe"]), batch).await;
    assert!(piped.contains("errors: 0, replies: 1000"), "{piped}");
    assert_eq!(redis(cli(&["GET", "key:999"]), vec![]).await, "value 999\n");
    assert_eq!(redis(cli(&["DBSIZE"]), vec![]).await, "1001\n");
    server.stop().await;
}

#[tokio::test]
async fn openssl_s_client_verifies_the_certificate_and_talks_to_ack_server() {
    if !have("openssl") {
        return;
    }
    let certs = Certs::new("s-client");
    let flags = tls_flags(&certs);
    let args: Vec<&str> = flags.iter().map(String::as_str).collect();
    let Some(server) = Example::start("ack_server", &args).await else {
        return;
    };
    let connect = server.addr.to_string();
    let ca = certs.ca_path().display().to_string();
    ack_over_s_client(&connect, &ca).await;

    // A client that does not trust the certificate fails its handshake; the server goes on.
    let other = Certs::new("s-client-other");
    let untrusted = other.ca_path().display().to_string();
    let refused = tokio::process::Command::new("openssl")
        .args(["s_client", "-connect", &connect, "-CAfile", &untrusted])
        .args(["-verify_return_error", "-quiet"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .status();
    let status = tokio::time::timeout(LIMIT, refused).await.unwrap().unwrap();
    assert!(!status.success(), "an untrusted certificate was accepted");
    ack_over_s_client(&connect, &ca).await;
    server.stop().await;
}

/// `hello` and `world` through `openssl s_client`, which must verify the server as
/// `localhost` against `ca`; both acknowledged.
async fn ack_over_s_client(connect: &str, ca: &str) {
    // -quiet keeps the session open after stdin ends (it implies -ign_eof), so the replies are
    // read from its stdout and the client is ended by the test.
    let mut client = tokio::process::Command::new("openssl")
        .args(["s_client", "-connect", connect, "-CAfile", ca])
        .args(["-servername", "localhost", "-verify_hostname", "localhost"])
        .args(["-verify_return_error", "-quiet"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut stdin = client.stdin.take().unwrap();
    stdin.write_all(b"hello\nworld\n").await.unwrap();
    let mut lines = BufReader::new(client.stdout.take().unwrap()).lines();
    for expected in ["ack:hello", "ack:world"] {
        let line = tokio::time::timeout(LIMIT, lines.next_line())
            .await
            .expect("s_client answered")
            .unwrap();
        assert_eq!(line.as_deref(), Some(expected));
    }
    drop(stdin);
    client.kill().await.unwrap();
}
