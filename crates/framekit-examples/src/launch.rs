//! What every example's `main` does around its protocol ([`run`]): the shared command-line flags
//! ([`ServerArgs`]: limits, with the connection limit fitted to the process's file descriptors as
//! Redis fits `maxclients`, and the PROXY preamble; deployment; the runtime, `--threads`), tracing
//! to stderr, the `listening on HOST:PORT` line, graceful shutdown on SIGINT or SIGTERM, and the
//! allocator ([`jemalloc!`](crate::jemalloc)).

use std::io::{self, IsTerminal, Write};
use std::time::Duration;

use framekit_server::config::{self, Timeout};
use framekit_server::preamble::{self, IpNet, Preamble, ProxyMode};
use framekit_server::tcp::TcpAcceptor;
use framekit_server::threads::Spread;
use framekit_server::{Server, ServerConfig, ServerHandle, ShutdownReport};

use crate::deploy::DeployArgs;
pub use crate::durations::{parse_duration, parse_timeout};

/// How long connections get to finish after SIGINT or SIGTERM before they are aborted; well
/// inside the 5 s a supervisor waits.
pub const DEFAULT_SHUTDOWN_GRACE: Duration = Duration::from_secs(3);

/// The examples' default connection limit, as Redis's `maxclients`; lowered at start to what the
/// file descriptor limit allows ([`connection_limit`]).
pub const DEFAULT_MAX_CONNECTIONS: usize = 10_000;

/// File descriptors kept back from connections for listeners, logs and the runtime (Redis
/// keeps 32).
pub const RESERVED_FDS: u64 = 32;

/// The flags every example server takes besides its protocol's own and its `--addr` (the
/// limits, the deployment and the runtime), flattened into its `Args` and handed to [`run`].
// One paragraph, the example in `run`'s doc: clap makes a flattened struct's doc of more than
// one paragraph the long help of every example.
#[derive(Debug, Clone, clap::Args)]
pub struct ServerArgs {
    /// Connection and request limits, timeouts, the PROXY preamble.
    #[command(flatten)]
    pub limits: LimitArgs,
    /// The listener, TLS and the metrics endpoint.
    #[command(flatten)]
    pub deploy: DeployArgs,
    /// One multi-threaded runtime, or thread-per-core.
    #[command(flatten)]
    pub runtime: RuntimeArgs,
}

/// An example server's `main` after its flags are parsed: tracing to stderr, the runtime
/// `--threads` asks for, a server on `addr` (or the socket systemd passed) with the deployment
/// flags and the limits, spread over the threads; `serve` starts the protocol on it. Then the
/// `listening on` line, serving until SIGINT or SIGTERM, and a graceful shutdown within
/// `--shutdown-grace`. An example's flags, with the shared ones flattened in:
///
/// ```
/// use clap::Parser;
/// use framekit_examples::launch::ServerArgs;
///
/// #[derive(Parser)]
/// struct Args {
///     #[arg(long, default_value = "127.0.0.1:7001")]
///     addr: String,
///     #[command(flatten)]
///     server: ServerArgs,
/// }
/// let args = Args::parse_from(["example", "--max-in-flight", "8", "--reuse-port", "--threads", "2"]);
/// assert_eq!(args.server.limits.max_in_flight, 8);
/// assert!(args.server.deploy.reuse_port);
/// assert_eq!(args.server.runtime.threads, Some(2));
/// ```
pub fn run<R>(
    addr: &str,
    args: &ServerArgs,
    serve: impl FnOnce(Server<TcpAcceptor, R>) -> ServerHandle,
) -> io::Result<()> {
    run_configured(addr, args, |limits| limits, serve)
}

/// [`run`], with the limits' configuration adjusted by `configure` first (a protocol's input
/// budget, raised to hold its largest request).
pub fn run_configured<R>(
    addr: &str,
    args: &ServerArgs,
    configure: impl FnOnce(ServerConfig) -> ServerConfig,
    serve: impl FnOnce(Server<TcpAcceptor, R>) -> ServerHandle,
) -> io::Result<()> {
    init_tracing();
    args.runtime.runtime()?.block_on(async {
        let config = configure(args.limits.config());
        let server = args.deploy.server(addr)?.config(config);
        let handle = serve(args.runtime.spread(server)?);
        announce_and_serve(handle, args.limits.shutdown_grace).await;
        Ok(())
    })
}

/// Makes jemalloc the global allocator of the example binary that invokes it, when the
/// `jemalloc` feature (on by default) is on, as Redis ships: with it an idle connection costs
/// its allocations' sizes, not glibc's overhead on their 128-byte alignment. The feature is
/// checked where the macro is invoked, so a test that compiles an example file in (without the
/// feature) keeps its own allocator.
#[macro_export]
macro_rules! jemalloc {
    () => {
        #[cfg(feature = "jemalloc")]
        #[global_allocator]
        static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;
    };
}

/// The server limits every example accepts on its command line.
#[derive(Debug, Clone, clap::Args)]
pub struct LimitArgs {
    /// Most connections served at once; past it a client is refused with an error and closed.
    /// Lowered to what the file descriptor limit allows.
    #[arg(long, default_value_t = DEFAULT_MAX_CONNECTIONS)]
    pub max_connections: usize,
    /// Most requests of one connection handled at once (pipelining depth).
    #[arg(long, default_value_t = config::DEFAULT_MAX_IN_FLIGHT)]
    pub max_in_flight: usize,
    /// Close a connection idle this long (e.g. 60s, 500ms; none or 0: never, as memcached).
    #[arg(long, default_value = "60s", value_parser = parse_timeout)]
    pub idle_timeout: Timeout,
    /// Close a connection whose frame takes longer than this to arrive once started (none or
    /// 0: no slowloris guard).
    #[arg(long, default_value = "10s", value_parser = parse_timeout)]
    pub frame_timeout: Timeout,
    /// Close a connection that leaves queued output unread this long (none or 0: wait as
    /// long as the peer takes).
    #[arg(long, default_value = "10s", value_parser = parse_timeout)]
    pub write_timeout: Timeout,
    /// Answer a request whose handler has not answered this long with an error and cancel
    /// the handler (none or 0: no request deadline).
    #[arg(long, default_value = "30s", value_parser = parse_timeout)]
    pub request_timeout: Timeout,
    /// How long connections get to finish on SIGINT/SIGTERM before they are aborted.
    #[arg(long, default_value = "3s", value_parser = parse_duration)]
    pub shutdown_grace: Duration,
    /// Expect a PROXY protocol header (from a load balancer) first on every connection: off,
    /// v1, v2 or any.
    #[arg(long, default_value = "off")]
    pub proxy_protocol: ProxyMode,
    /// Source networks allowed to send a PROXY header, CIDR[,CIDR...]; others are refused.
    #[arg(long, default_value = "127.0.0.0/8,::1", value_parser = parse_trusted)]
    pub proxy_trusted: Trusted,
}

/// How an example runs: one multi-threaded tokio runtime (the default), or thread-per-core.
#[derive(Debug, Clone, clap::Args)]
pub struct RuntimeArgs {
    /// Serve on N threads, each a single-threaded runtime with its own listener (a duplicate
    /// of the one socket, or with --reuse-port a socket of its own); a connection stays on
    /// the thread that accepted it. Without it, one multi-threaded runtime serves everything.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub threads: Option<u16>,
}

impl RuntimeArgs {
    /// The runtime `main` runs in: multi-threaded, or (with `--threads`) the single-threaded
    /// runtime of the first thread.
    ///
    /// ```
    /// use clap::Parser;
    /// use framekit_examples::launch::RuntimeArgs;
    ///
    /// #[derive(Parser)]
    /// struct Args {
    ///     #[command(flatten)]
    ///     runtime: RuntimeArgs,
    /// }
    /// let args = Args::parse_from(["example", "--threads", "2"]);
    /// assert_eq!(args.runtime.threads, Some(2));
    /// let answer = args.runtime.runtime().unwrap().block_on(async { 42 });
    /// assert_eq!(answer, 42);
    /// assert!(Args::try_parse_from(["example", "--threads", "0"]).is_err());
    /// ```
    pub fn runtime(&self) -> std::io::Result<tokio::runtime::Runtime> {
        match self.threads {
            None => tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build(),
            Some(_) => tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build(),
        }
    }

    /// `server` spread over the `--threads` (see [`Server::threads`]); unchanged without
    /// the flag. Logs the runtime chosen.
    pub fn spread<A: Spread, R>(&self, server: Server<A, R>) -> std::io::Result<Server<A, R>> {
        match self.threads {
            None => {
                tracing::info!("runtime: one multi-threaded tokio runtime");
                Ok(server)
            }
            Some(n) => {
                tracing::info!(
                    threads = n,
                    "runtime: thread-per-core, a single-threaded runtime per thread"
                );
                server.threads(usize::from(n))
            }
        }
    }
}

/// The networks of `--proxy-trusted`.
#[derive(Debug, Clone)]
pub struct Trusted(pub Vec<IpNet>);

fn parse_trusted(list: &str) -> Result<Trusted, String> {
    preamble::parse_networks(list).map(Trusted)
}

impl LimitArgs {
    /// The server configuration these flags describe; the connection limit goes through
    /// [`connection_limit`] (which raises the process's file descriptor limit).
    pub fn config(&self) -> ServerConfig {
        ServerConfig::default()
            .max_connections(connection_limit(self.max_connections))
            .max_in_flight(self.max_in_flight)
            .idle_timeout(self.idle_timeout)
            .frame_timeout(self.frame_timeout)
            .write_timeout(self.write_timeout)
            .request_timeout(self.request_timeout)
            .preamble(Preamble::new(self.proxy_protocol).trusted(self.proxy_trusted.0.clone()))
    }
}

/// Raises the soft `RLIMIT_NOFILE` to the hard limit, then returns `requested` lowered (if
/// needed) so that many connections plus [`RESERVED_FDS`] fit in it, logging what was chosen.
/// As Redis does at start for `maxclients`; at least 1.
///
/// ```
/// use framekit_examples::launch::connection_limit;
/// let n = connection_limit(10_000);
/// assert!(n >= 1 && n <= 10_000);
/// ```
pub fn connection_limit(requested: usize) -> usize {
    let Some(fds) = raise_nofile_limit() else {
        tracing::warn!(
            requested,
            "could not read the file descriptor limit; keeping the connection limit"
        );
        return requested;
    };
    let fitting = usize::try_from(fds.saturating_sub(RESERVED_FDS))
        .unwrap_or(usize::MAX)
        .max(1);
    if requested > fitting {
        tracing::warn!(
            requested,
            chosen = fitting,
            open_files_limit = fds,
            "connection limit lowered to fit the open files limit (raise it with ulimit -n)"
        );
        fitting
    } else {
        tracing::info!(
            max_connections = requested,
            open_files_limit = fds,
            "connection limit"
        );
        requested
    }
}

/// Sets the soft open-files limit to the hard one; returns the soft limit now in force.
fn raise_nofile_limit() -> Option<u64> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and setrlimit only read and write the struct passed by pointer, which
    // lives on this stack frame for the whole call.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return None;
        }
        if limit.rlim_cur < limit.rlim_max {
            let raised = libc::rlimit {
                rlim_cur: limit.rlim_max,
                rlim_max: limit.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                limit = raised;
            }
        }
    }
    Some(limit.rlim_cur)
}

/// Sends tracing output to stderr, filtered by `RUST_LOG` (default `info`).
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
}

/// Prints the one stdout line scripts wait for, `listening on HOST:PORT`, with the real port,
/// then `metrics on HOST:PORT` when `--metrics-addr` serves metrics.
fn announce(server: &ServerHandle) {
    let mut out = std::io::stdout().lock();
    // If stdout is gone nobody is waiting for the line; serving goes on.
    let _ = writeln!(out, "listening on {}", server.local_addr());
    if let Some(metrics) = crate::metrics_http::metrics_addr() {
        let _ = writeln!(out, "metrics on {metrics}");
    }
    let _ = out.flush();
}

/// Announces the server, serves until SIGINT or SIGTERM, then shuts down gracefully within
/// `grace`.
///
/// The signal handlers are installed before the `listening on` line is printed: a script that
/// sends SIGTERM as soon as it reads the line must get a graceful shutdown, not the default
/// action of the signal.
pub async fn announce_and_serve(server: ServerHandle, grace: Duration) -> ShutdownReport {
    let stop = framekit_server::shutdown_signal();
    announce(&server);
    let report = server.shutdown_on(stop, grace).await;
    tracing::info!(closed = report.closed, aborted = report.aborted, "stopped");
    report
}
