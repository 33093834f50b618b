//! The example binaries and real clients as processes, every wait bounded by [`LIMIT`].
//!
//! The binaries are the ones `cargo test --workspace` built next to the test; the clients
//! (`redis-cli`, `openssl`, `curl`) come from the system, installed in CI by `.ci/tls-tools.sh`.
//! Missing either fails the test in CI (`CI` set) and skips it elsewhere, saying why.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, ChildStdout, Command};

/// The most any single step may take before the test fails; generous for slow machines.
pub const LIMIT: Duration = Duration::from_secs(20);

/// `target/<profile>/examples/<name>`, found from this test's own path in `target/<profile>/deps`.
fn example_path(name: &str) -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let path = exe.parent()?.parent()?.join("examples").join(name);
    path.is_file().then_some(path)
}

/// Whether `tool` is on the PATH; in CI its absence fails the test.
pub fn have(tool: &str) -> bool {
    let found = std::process::Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        assert!(!in_ci(), "{tool} is missing: .ci/tls-tools.sh installs it");
        eprintln!("skipping: {tool} is not installed (outside CI only)");
    }
    found
}

/// Whether this run is CI (`CI` set to anything but empty, `0` or `false`, as CI services
/// and `.ci/run` set it): there a missing tool or example fails the test instead of skipping.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !matches!(v.trim(), "" | "0" | "false"))
}

/// A running example that printed `listening on ADDR` (and `metrics on ADDR` when asked).
pub struct Example {
    pub child: Child,
    pub stdout: BufReader<ChildStdout>,
    pub addr: SocketAddr,
    pub name: String,
}

impl Example {
    /// Starts `name` with `args` (after `--addr 127.0.0.1:0` unless `args` has an `--addr`),
    /// or `None` when it is not built outside CI.
    pub async fn start(name: &str, args: &[&str]) -> Option<Example> {
        let Some(path) = example_path(name) else {
            assert!(
                !in_ci(),
                "{name} is not built: CI runs `cargo test --workspace`, which builds it"
            );
            eprintln!("skipping {name}: not built (cargo build -p framekit-examples --examples)");
            return None;
        };
        let mut command = Command::new(path);
        if std::env::var_os("RUST_LOG").is_none() {
            // Warnings and errors only: the test output stays readable.
            command.env("RUST_LOG", "warn");
        }
        if !args.contains(&"--addr") {
            command.args(["--addr", "127.0.0.1:0"]);
        }
        let mut child = command
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let line = read_line(&mut stdout).await;
        let addr = line
            .strip_prefix("listening on ")
            .and_then(|a| a.parse().ok())
            .unwrap_or_else(|| panic!("{name} printed {line:?}"));
        Some(Example {
            child,
            stdout,
            addr,
            name: name.to_string(),
        })
    }

    /// The next line the example prints, without its newline.
    pub async fn next_line(&mut self) -> String {
        read_line(&mut self.stdout).await
    }

    pub fn port(&self) -> String {
        self.addr.port().to_string()
    }

    /// SIGTERM, then exit status 0 within 5 s.
    pub async fn stop(mut self) {
        let pid = self.child.id().unwrap().to_string();
        let status = std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap();
        assert!(status.success());
        let exit = tokio::time::timeout(Duration::from_secs(5), self.child.wait())
            .await
            .unwrap_or_else(|_| panic!("{} still running 5 s after SIGTERM", self.name))
            .unwrap();
        assert!(exit.success(), "{} exited with {exit}", self.name);
    }
}

async fn read_line(stdout: &mut BufReader<ChildStdout>) -> String {
    let mut line = String::new();
    tokio::time::timeout(LIMIT, stdout.read_line(&mut line))
        .await
        .expect("timed out waiting for a line on stdout")
        .unwrap();
    line.trim_end().to_string()
}

/// Runs a client to completion (bounded), feeding it `stdin`; its stdout, or a panic with its
/// stderr when it fails.
pub async fn run(program: &str, args: &[&str], stdin: &[u8]) -> String {
    use tokio::io::AsyncWriteExt;
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("{program}: {e}"));
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin).await.unwrap();
    drop(input);
    let out = tokio::time::timeout(LIMIT, child.wait_with_output())
        .await
        .unwrap_or_else(|_| panic!("{program} {args:?} did not finish"))
        .unwrap();
    assert!(
        out.status.success(),
        "{program} {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}
