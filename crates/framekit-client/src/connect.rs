//! Opening a [`Transport`] to an [`Endpoint`]: resolve, connect, and for TLS the handshake, all
//! within one connect timeout; and again after failures, pausing as the [`Reconnect`] policy
//! says. Each attempt, success and retry is counted in the endpoint's metrics.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpStream, UnixStream};

use crate::backoff::Reconnect;
use crate::endpoint::Endpoint;
use crate::error::{ConnectError, ConnectFailure, ConnectStage};
use crate::metrics::ClientMetrics;
use crate::transport::Transport;

/// How long a connect (resolve, connect and TLS handshake together) may take, unless
/// [`Connector::timeout`] says otherwise.
///
/// ```
/// assert_eq!(framekit_client::DEFAULT_CONNECT_TIMEOUT, std::time::Duration::from_secs(5));
/// ```
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Opens transports to one endpoint.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// use std::time::Duration;
/// use framekit_client::{Backoff, ConnectStage, Connector, Endpoint, Jitter, Reconnect};
///
/// // Nothing listens on this port any more: three attempts, each refused.
/// let port = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap().local_addr().unwrap();
/// let reconnect = Reconnect::Backoff(Backoff::default().retries(2).jitter(Jitter::None));
/// let error = Connector::new(Endpoint::tcp(port)).connect_with(&reconnect).await.unwrap_err();
/// assert_eq!((error.stage, error.attempts), (ConnectStage::Tcp, 3));
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct Connector {
    endpoint: Endpoint,
    name: Arc<str>,
    timeout: Duration,
    metrics: ClientMetrics,
}

impl Connector {
    /// A connector to `endpoint` with the default connect timeout; its metrics are resolved
    /// in the recorder installed now.
    pub fn new(endpoint: Endpoint) -> Connector {
        let name: Arc<str> = endpoint.to_string().into();
        Connector {
            metrics: ClientMetrics::new(&name),
            endpoint,
            name,
            timeout: DEFAULT_CONNECT_TIMEOUT,
        }
    }

    /// How long one connect may take, TLS handshake included.
    pub fn timeout(mut self, timeout: Duration) -> Connector {
        self.timeout = timeout;
        self
    }

    /// The endpoint.
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// The endpoint as it displays (in errors and metric labels).
    pub fn name(&self) -> &Arc<str> {
        &self.name
    }

    /// The endpoint's metrics.
    pub fn metrics(&self) -> &ClientMetrics {
        &self.metrics
    }

    /// Connects, retrying under `reconnect`; the error is the last attempt's.
    pub async fn connect_with(&self, reconnect: &Reconnect) -> Result<Transport, ConnectError> {
        let mut pauses = reconnect.pauses();
        let mut attempts: u32 = 1;
        loop {
            match self.connect_once().await {
                Ok(transport) => {
                    self.metrics.connected();
                    return Ok(transport);
                }
                Err((stage, failure)) => {
                    self.metrics.connect_failed();
                    let Some(pause) = pauses.next() else {
                        return Err(ConnectError {
                            endpoint: Arc::clone(&self.name),
                            stage,
                            attempts,
                            failure,
                        });
                    };
                    tokio::time::sleep(pause).await;
                    self.metrics.retried();
                    attempts = attempts.saturating_add(1);
                }
            }
        }
    }

    /// One attempt within the connect timeout.
    async fn connect_once(&self) -> Result<Transport, (ConnectStage, ConnectFailure)> {
        let mut stage = ConnectStage::Resolve;
        let attempt = self.steps(&mut stage);
        match tokio::time::timeout(self.timeout, attempt).await {
            Ok(Ok(transport)) => Ok(transport),
            Ok(Err(error)) => Err((stage, ConnectFailure::Io(error))),
            Err(_) => Err((stage, ConnectFailure::TimedOut(self.timeout))),
        }
    }

    /// The steps of one attempt; `stage` says which one is running when it fails or times out.
    async fn steps(&self, stage: &mut ConnectStage) -> io::Result<Transport> {
        match &self.endpoint {
            Endpoint::Tcp(addr) => Ok(Transport::Tcp(tcp(addr, stage).await?)),
            Endpoint::Unix(path) => {
                *stage = ConnectStage::Unix;
                Ok(Transport::Unix(UnixStream::connect(path).await?))
            }
            #[cfg(feature = "tls")]
            Endpoint::Tls { addr, settings } => {
                let tcp = tcp(addr, stage).await?;
                *stage = ConnectStage::Tls;
                let tls = settings
                    .connector()
                    .connect(settings.server_name(), tcp)
                    .await?;
                Ok(Transport::Tls(Box::new(tls)))
            }
        }
    }
}

/// Resolves `addr` and connects to its addresses in order; the error is the last one's.
async fn tcp(addr: &str, stage: &mut ConnectStage) -> io::Result<TcpStream> {
    *stage = ConnectStage::Resolve;
    let addrs = tokio::net::lookup_host(addr).await?;
    *stage = ConnectStage::Tcp;
    let mut last = io::Error::new(io::ErrorKind::NotFound, "the name resolved to no address");
    for addr in addrs {
        match TcpStream::connect(addr).await {
            Ok(stream) => {
                stream.set_nodelay(true)?;
                return Ok(stream);
            }
            Err(error) => last = error,
        }
    }
    Err(last)
}
