//! How an example is put on a network: the listener (bound, or inherited through systemd's
//! `LISTEN_FDS`), its socket options (`--reuse-port`, `--backlog`, `--tcp-keepalive`), TLS
//! (`--tls-cert`, `--tls-key`, `--tls-handshake-timeout`, `--tls-alpn`) and the Prometheus
//! endpoint (`--metrics-addr`), shared by every example binary.

use std::io;
use std::path::PathBuf;
use std::time::Duration;

use framekit_server::config::Timeout;
use framekit_server::tcp::{TcpAcceptor, TcpOptions, DEFAULT_BACKLOG};
use framekit_server::tls::TlsConfig;
use framekit_server::Server;

use crate::durations::{parse_duration, parse_timeout};

/// The listener and TLS flags every example accepts.
#[derive(Debug, Clone, clap::Args)]
pub struct DeployArgs {
    /// Serve TLS with this PEM certificate chain (leaf first); needs --tls-key.
    #[arg(long, value_name = "PATH", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The PEM private key of --tls-cert (PKCS#8, PKCS#1 or SEC1).
    #[arg(long, value_name = "PATH", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Close a TLS connection whose handshake is not done within this long (none or 0: no
    /// limit).
    #[arg(long, default_value = "10s", value_parser = parse_timeout)]
    pub tls_handshake_timeout: Timeout,
    /// ALPN protocols offered, most preferred first (comma-separated; none by default).
    #[arg(long, value_name = "PROTO,...", value_delimiter = ',')]
    pub tls_alpn: Vec<String>,
    /// Set SO_REUSEPORT: several processes on one port share its connections.
    #[arg(long)]
    pub reuse_port: bool,
    /// The listen backlog (capped by the kernel's net.core.somaxconn).
    #[arg(long, default_value_t = DEFAULT_BACKLOG)]
    pub backlog: u32,
    /// TCP keepalive probes after this long without traffic (0 turns keepalive off).
    #[arg(long, default_value = "300s", value_parser = parse_duration)]
    pub tcp_keepalive: Duration,
    /// Serve Prometheus metrics at http://ADDR/metrics (port 0 picks a free port, printed as
    /// `metrics on ADDR` after the `listening on` line).
    #[arg(long, value_name = "ADDR")]
    pub metrics_addr: Option<String>,
}

impl DeployArgs {
    /// The TCP socket options these flags describe.
    pub fn tcp_options(&self) -> TcpOptions {
        TcpOptions::default()
            .reuse_port(self.reuse_port)
            .backlog(self.backlog)
            .keepalive((!self.tcp_keepalive.is_zero()).then_some(self.tcp_keepalive))
    }

    /// The TLS configuration, if `--tls-cert` and `--tls-key` were given.
    pub fn tls(&self) -> io::Result<Option<TlsConfig>> {
        let (Some(cert), Some(key)) = (&self.tls_cert, &self.tls_key) else {
            return Ok(None);
        };
        let tls = TlsConfig::from_pem_files(cert, key)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e.to_string()))?;
        Ok(Some(
            tls.alpn(&self.tls_alpn)
                .handshake_timeout(self.tls_handshake_timeout),
        ))
    }

    /// Binds `addr` with the socket options these flags describe. Must be called within a
    /// tokio runtime.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// use clap::Parser;
    /// use framekit_examples::deploy::DeployArgs;
    /// use framekit_server::listener::Acceptor;
    ///
    /// #[derive(Parser)]
    /// struct Args {
    ///     #[command(flatten)]
    ///     deploy: DeployArgs,
    /// }
    /// let args = Args::parse_from(["example", "--reuse-port", "--backlog", "128"]);
    /// let listener = args.deploy.listener("127.0.0.1:0")?;
    /// assert!(listener.local_addr()?.as_tcp().is_some());
    /// assert!(Args::try_parse_from(["example", "--tls-cert", "cert.pem"]).is_err(), "needs --tls-key");
    /// # Ok(()) }
    /// ```
    ///
    /// When a supervisor passes a listening socket (`LISTEN_FDS`, systemd socket activation),
    /// that socket is served instead of binding `addr`: it outlives this process, so the next
    /// one takes over the port without a refused connection (connections that arrive in
    /// between wait in its backlog).
    pub fn listener(&self, addr: &str) -> io::Result<TcpAcceptor> {
        if let Some(inherited) = listenfd::ListenFd::from_env().take_tcp_listener(0)? {
            tracing::info!(addr = %inherited.local_addr()?, "serving the inherited socket (LISTEN_FDS)");
            return TcpAcceptor::from_std(inherited, &self.tcp_options());
        }
        TcpAcceptor::bind(addr, &self.tcp_options())
    }

    /// A server on [`listener`](DeployArgs::listener), serving TLS when asked to; with
    /// `--metrics-addr`, the metrics endpoint is started (and its recorder installed) first.
    pub fn server<R>(&self, addr: &str) -> io::Result<Server<TcpAcceptor, R>> {
        let tls = self.tls()?;
        if let Some(metrics_addr) = &self.metrics_addr {
            crate::metrics_http::serve(metrics_addr)?;
        }
        let server = Server::new(self.listener(addr)?);
        Ok(match tls {
            Some(tls) => server.tls(tls),
            None => server,
        })
    }
}
