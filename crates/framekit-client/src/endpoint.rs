//! Where a backend is: a TCP address (resolved at each connect, so a name that moves is
//! followed), a Unix socket path, or TLS over TCP with its settings. An endpoint displays as
//! the text the metrics and errors name it by.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

#[cfg(feature = "tls")]
use crate::tls::TlsSettings;

/// A backend's address.
///
/// ```
/// use framekit_client::Endpoint;
///
/// let tcp = Endpoint::tcp("127.0.0.1:6379");
/// assert_eq!(tcp.to_string(), "127.0.0.1:6379");
/// let unix = Endpoint::unix("/run/redis.sock");
/// assert_eq!(unix.to_string(), "unix:/run/redis.sock");
/// ```
#[derive(Clone, Debug)]
pub enum Endpoint {
    /// `host:port`, resolved at each connect; the addresses are tried in order.
    Tcp(Arc<str>),
    /// A Unix stream socket's path.
    Unix(PathBuf),
    /// TLS over TCP to `host:port`.
    #[cfg(feature = "tls")]
    Tls {
        /// `host:port`, resolved at each connect.
        addr: Arc<str>,
        /// The server name, ALPN and trust.
        settings: TlsSettings,
    },
}

impl Endpoint {
    /// A TCP endpoint: a `SocketAddr` or `"host:port"` text.
    pub fn tcp(addr: impl fmt::Display) -> Endpoint {
        Endpoint::Tcp(addr.to_string().into())
    }

    /// A Unix socket endpoint.
    pub fn unix(path: impl Into<PathBuf>) -> Endpoint {
        Endpoint::Unix(path.into())
    }

    /// A TLS endpoint: TCP to `addr`, then a handshake under `settings`.
    #[cfg(feature = "tls")]
    pub fn tls(addr: impl fmt::Display, settings: TlsSettings) -> Endpoint {
        Endpoint::Tls {
            addr: addr.to_string().into(),
            settings,
        }
    }
}

impl From<SocketAddr> for Endpoint {
    fn from(addr: SocketAddr) -> Self {
        Endpoint::tcp(addr)
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Endpoint::Tcp(addr) => f.write_str(addr),
            Endpoint::Unix(path) => write!(f, "unix:{}", path.display()),
            #[cfg(feature = "tls")]
            Endpoint::Tls { addr, .. } => write!(f, "tls:{addr}"),
        }
    }
}
