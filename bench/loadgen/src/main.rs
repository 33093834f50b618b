//! loadgen: a closed-loop load generator for newline-framed request/response servers, on
//! loopback only, bounded in time and in requests.
//!
//! Each of `--connections` connections keeps `--in-flight` requests outstanding: it writes
//! requests until the window is full, reads, and for every response line (counted by LF;
//! responses come back in order) records the latency of the oldest outstanding request and
//! sends another. Requests sent during `--warmup` are not counted. The last line printed is
//! `key=value` pairs for scripts: `rps`, `p50_us`, `p99_us`, `requests` (counted), `total`
//! (every response, warm-up included), ..., and what the generator itself spent over the whole
//! run (`client_user_s`, `client_sys_s`, `client_vcsw` and `client_ivcsw`: its voluntary and
//! involuntary context switches), so a script can add the client's CPU to the server's.
//!
//! ```text
//! loadgen --addr 127.0.0.1:7001 --connections 32 --in-flight 16 --duration 5s
//! loadgen --addr 127.0.0.1:7001 --idle 10000 --hold 20s   # open, exchange one line, hold
//! ```

mod histogram;
mod usage;

use std::collections::VecDeque;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::task::JoinSet;
use tokio::time::timeout;

use histogram::Histogram;
use usage::Usage;

/// A response slower than this fails its connection: the server is stuck, not slow.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(5);

/// How many connections the idle mode opens at once.
const CONNECT_BATCH: usize = 256;

#[derive(Debug, Parser)]
#[command(about = "Closed-loop load for line-protocol servers on loopback")]
struct Args {
    /// Server address; must be a loopback address.
    #[arg(long, default_value = "127.0.0.1:7001")]
    addr: SocketAddr,
    /// Connections driven at once.
    #[arg(long, default_value_t = 16)]
    connections: usize,
    /// Requests outstanding on each connection.
    #[arg(long, default_value_t = 8)]
    in_flight: usize,
    /// How long requests are sent, warm-up included (e.g. 5s, 500ms).
    #[arg(long, default_value = "5s", value_parser = parse_duration)]
    duration: Duration,
    /// Requests sent during this first part of the run are not counted.
    #[arg(long, default_value = "1s", value_parser = parse_duration)]
    warmup: Duration,
    /// Stop sending after this many requests in all, whatever the time.
    #[arg(long, default_value_t = 50_000_000)]
    max_requests: u64,
    /// Bytes in each request line before its LF (`x` repeated).
    #[arg(long, default_value_t = 16)]
    payload: usize,
    /// The request line itself, instead of `--payload` bytes of `x` (an LF is added).
    #[arg(long)]
    line: Option<String>,
    /// Runtime worker threads for the generator.
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Instead of load: open this many connections, exchange one line on each, print `ready`,
    /// and hold them idle for `--hold`.
    #[arg(long)]
    idle: Option<usize>,
    /// How long `--idle` holds its connections.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    hold: Duration,
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    let (n, ms) = if let Some(n) = text.strip_suffix("ms") {
        (n, 1)
    } else if let Some(n) = text.strip_suffix('s') {
        (n, 1000)
    } else {
        (text, 1000)
    };
    n.parse::<u64>()
        .map(|n| Duration::from_millis(n * ms))
        .map_err(|_| format!("`{text}` is not a duration like 500ms or 5s"))
}

/// What every connection task shares: the clock limits and the request budget.
struct Plan {
    addr: SocketAddr,
    in_flight: usize,
    line: Vec<u8>,
    measure_from: Instant,
    stop_at: Instant,
    budget: u64,
    claimed: AtomicU64,
}

impl Plan {
    /// Takes one request from the budget, if any is left.
    fn claim(&self) -> bool {
        self.claimed.fetch_add(1, Ordering::Relaxed) < self.budget
    }
}

/// What one connection measured.
#[derive(Default)]
struct Measured {
    latencies: Histogram,
    completed: u64,
    /// Every response, warm-up included: what the server did in the whole run.
    answered: u64,
}

/// Drives one connection until the plan's time or budget runs out and every answer is in.
async fn drive(plan: Arc<Plan>) -> io::Result<Measured> {
    let mut stream = TcpStream::connect(plan.addr).await?;
    stream.set_nodelay(true)?;
    let mut sent: VecDeque<Instant> = VecDeque::with_capacity(plan.in_flight);
    let mut out = Vec::with_capacity(plan.in_flight * plan.line.len());
    let mut input = vec![0u8; 64 * 1024];
    let mut measured = Measured::default();
    loop {
        let now = Instant::now();
        out.clear();
        while now < plan.stop_at && sent.len() < plan.in_flight && plan.claim() {
            out.extend_from_slice(&plan.line);
            sent.push_back(now);
        }
        if !out.is_empty() {
            stream.write_all(&out).await?;
        }
        if sent.is_empty() {
            return Ok(measured);
        }
        let n = timeout(RESPONSE_TIMEOUT, stream.read(&mut input))
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "no response within 5 s"))??;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        let now = Instant::now();
        for _ in memchr::memchr_iter(b'\n', &input[..n]) {
            let started = sent.pop_front().ok_or_else(|| {
                io::Error::new(io::ErrorKind::InvalidData, "more responses than requests")
            })?;
            measured.answered += 1;
            if started >= plan.measure_from {
                measured.latencies.record(now - started);
                measured.completed += 1;
            }
        }
    }
}

/// The request line, LF included.
fn request_line(args: &Args) -> Vec<u8> {
    let mut line = match &args.line {
        Some(text) => text.as_bytes().to_vec(),
        None => vec![b'x'; args.payload],
    };
    line.push(b'\n');
    line
}

async fn load(args: &Args) -> io::Result<()> {
    let start = Instant::now();
    let line = request_line(args);
    let plan = Arc::new(Plan {
        addr: args.addr,
        in_flight: args.in_flight.max(1),
        line,
        measure_from: start + args.warmup,
        stop_at: start + args.duration.max(args.warmup),
        budget: args.max_requests,
        claimed: AtomicU64::new(0),
    });
    let mut tasks = JoinSet::new();
    for _ in 0..args.connections {
        tasks.spawn(drive(plan.clone()));
    }
    let mut all = Measured::default();
    let mut errors = 0;
    while let Some(done) = tasks.join_next().await {
        match done {
            Ok(Ok(m)) => {
                all.latencies.merge(&m.latencies);
                all.completed += m.completed;
                all.answered += m.answered;
            }
            Ok(Err(e)) => {
                errors += 1;
                eprintln!("connection failed: {e}");
            }
            Err(e) => return Err(io::Error::other(e)),
        }
    }
    // Counted requests were all sent inside [measure_from, stop_at), or before the budget ran out.
    let window = plan.stop_at.min(Instant::now()) - plan.measure_from;
    let secs = window.as_secs_f64().max(1e-9);
    let spent = Usage::of_this_process()?;
    println!(
        "rps={:.0} p50_us={:.1} p99_us={:.1} requests={} total={} seconds={:.2} connections={} in_flight={} payload={} errors={} client_user_s={:.3} client_sys_s={:.3} client_vcsw={} client_ivcsw={}",
        all.completed as f64 / secs,
        all.latencies.quantile(0.50).as_secs_f64() * 1e6,
        all.latencies.quantile(0.99).as_secs_f64() * 1e6,
        all.completed,
        all.answered,
        secs,
        args.connections,
        plan.in_flight,
        plan.line.len() - 1,
        errors,
        spent.user.as_secs_f64(),
        spent.system.as_secs_f64(),
        spent.voluntary_switches,
        spent.involuntary_switches,
    );
    if errors > 0 {
        return Err(io::Error::other(format!("{errors} connections failed")));
    }
    Ok(())
}

/// Opens one connection and completes one request/response on it.
async fn open_one(addr: SocketAddr, line: &[u8]) -> io::Result<TcpStream> {
    let mut stream = TcpStream::connect(addr).await?;
    stream.write_all(line).await?;
    let mut reply = [0u8; 256];
    loop {
        let n = timeout(RESPONSE_TIMEOUT, stream.read(&mut reply))
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "no response within 5 s"))??;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        if reply[..n].contains(&b'\n') {
            return Ok(stream);
        }
    }
}

async fn idle(args: &Args, count: usize) -> io::Result<()> {
    let line: Arc<[u8]> = request_line(args).into();
    let mut held = Vec::with_capacity(count);
    while held.len() < count {
        let mut batch = JoinSet::new();
        for _ in 0..CONNECT_BATCH.min(count - held.len()) {
            let line = line.clone();
            let addr = args.addr;
            batch.spawn(async move { open_one(addr, &line).await });
        }
        while let Some(done) = batch.join_next().await {
            held.push(done.map_err(io::Error::other)??);
        }
    }
    println!("ready connections={}", held.len());
    tokio::time::sleep(args.hold).await;
    drop(held);
    println!("released");
    Ok(())
}

fn main() -> io::Result<()> {
    let args = Args::parse();
    if !args.addr.ip().is_loopback() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "{} is not a loopback address: loadgen only loads this machine",
                args.addr
            ),
        ));
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.threads.max(1))
        .enable_all()
        .build()?;
    runtime.block_on(async {
        match args.idle {
            Some(count) => idle(&args, count).await,
            None => load(&args).await,
        }
    })
}
