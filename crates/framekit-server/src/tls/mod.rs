//! TLS on rustls (feature `tls`): [`Server::tls`](crate::Server::tls) makes every connection
//! of a server start with a TLS handshake.
//!
//! This room owns the TLS configuration (a PEM certificate chain and key, ALPN, the handshake
//! timeout) and the handshake stage. The handshake never runs in the accept loop: it is the
//! first setup stage of the connection's own task, which holds its connection permit, so
//! silent peers cost only their own task and are closed at the handshake timeout; failures are
//! counted (close reason `tls_handshake`, metric [`HANDSHAKE_FAILURES`]) and logged at debug
//! with the peer address, which stays the transport's. Crypto comes from `ring`, chosen because
//! it builds from crates.io with nothing but a C compiler (aws-lc-rs, rustls' default, also
//! needs cmake).
//!
//! A whole exchange, with a rustls client that trusts a certificate made on the spot; the
//! handler sees what the handshake agreed on:
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use std::time::Duration;
//! use bytes::Bytes;
//! use framekit::{FrameCodec, framing::delimited::Delimited};
//! use framekit_server::tls::{rustls, TlsConfig};
//! use framekit_server::{Ctx, Server};
//! use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
//!
//! let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()])?;
//! let tls = TlsConfig::from_pem(cert.cert.pem().as_bytes(), cert.signing_key.serialize_pem().as_bytes())?
//!     .alpn(["echo/1"]);
//! let server = Server::bind("127.0.0.1:0").await?.tls(tls).serve(
//!     FrameCodec::new(Delimited::newline()),
//!     |_line: Bytes, ctx: Ctx| async move {
//!         let tls = ctx.tls()?;
//!         let alpn = String::from_utf8_lossy(tls.alpn_protocol()?).into_owned();
//!         Some(Bytes::from(format!("{alpn} {}", tls.server_name()?)))
//!     },
//! );
//!
//! // The client: trusts that one certificate, offers ALPN `echo/1`, names `localhost`.
//! let mut roots = rustls::RootCertStore::empty();
//! roots.add(cert.cert.der().clone())?;
//! let provider = Arc::new(rustls::crypto::ring::default_provider());
//! let mut client = rustls::ClientConfig::builder_with_provider(provider)
//!     .with_safe_default_protocol_versions()?
//!     .with_root_certificates(roots)
//!     .with_no_client_auth();
//! client.alpn_protocols = vec![b"echo/1".to_vec()];
//! let tcp = tokio::net::TcpStream::connect(server.local_addr().as_tcp().unwrap()).await?;
//! let name = rustls::pki_types::ServerName::try_from("localhost")?;
//! let stream = tokio_rustls::TlsConnector::from(Arc::new(client)).connect(name, tcp).await?;
//! let mut lines = BufReader::new(stream).lines();
//! lines.get_mut().write_all(b"hello\n").await?;
//! assert_eq!(lines.next_line().await?.as_deref(), Some("echo/1 localhost"));
//! server.shutdown(Duration::from_secs(1)).await;
//! # Ok(()) }
//! ```

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use framekit::connection::Timeout;

use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// The rustls crate this feature is built on, for [`TlsConfig::from_rustls`].
pub use tokio_rustls::rustls;
use tokio_rustls::rustls::ServerConfig;

mod handshake;

pub(crate) use self::handshake::TlsStage;
pub use crate::context::TlsInfo;

/// How long a peer gets to complete the TLS handshake, unless
/// [`TlsConfig::handshake_timeout`] says otherwise.
///
/// ```
/// use std::time::Duration;
/// assert_eq!(framekit_server::tls::DEFAULT_HANDSHAKE_TIMEOUT, Duration::from_secs(10));
/// ```
pub const DEFAULT_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// The metric counting failed handshakes, labelled `reason`: `"timeout"`, `"error"` (a
/// protocol error or the peer leaving), or `"rejected"` (a peer refused at the connection
/// limit that did not take the reject reply's handshake).
///
/// ```
/// use framekit_server::{metrics::names, tls};
/// assert_eq!(tls::HANDSHAKE_FAILURES, names::TLS_HANDSHAKE_FAILURES);
/// ```
pub const HANDSHAKE_FAILURES: &str = "framekit_tls_handshake_failures_total";

/// Why a TLS configuration could not be built.
///
/// ```
/// use framekit_server::tls::{TlsConfig, TlsConfigError};
///
/// let missing = TlsConfig::from_pem_files("/nonexistent/cert.pem", "/nonexistent/key.pem");
/// match missing {
///     Err(TlsConfigError::Pem { what, path, .. }) => {
///         assert_eq!(what, "certificate chain");
///         assert_eq!(path.to_str(), Some("/nonexistent/cert.pem"));
///     }
///     other => panic!("expected a PEM error, got {other:?}"),
/// }
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsConfigError {
    /// A PEM file could not be read or parsed.
    #[error("cannot read the {what} from {path}: {source}")]
    Pem {
        /// `"certificate chain"` or `"private key"`.
        what: &'static str,
        /// The file (`"(memory)"` for PEM given as bytes).
        path: PathBuf,
        /// What went wrong.
        source: rustls::pki_types::pem::Error,
    },
    /// The certificate file held no certificate.
    #[error("no certificate in {}", path.display())]
    NoCertificate {
        /// The file (`"(memory)"` for PEM given as bytes).
        path: PathBuf,
    },
    /// rustls refused the chain and key (a key that does not match the certificate, an
    /// unsupported key type, ...).
    #[error("the certificate chain and key are not usable: {0}")]
    Rustls(#[from] rustls::Error),
}

/// A TLS server configuration: certificate chain and key, ALPN protocols, handshake timeout.
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use std::time::Duration;
/// use framekit_server::tls::TlsConfig;
///
/// let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()])?;
/// let tls = TlsConfig::from_pem(cert.cert.pem().as_bytes(), cert.signing_key.serialize_pem().as_bytes())?
///     .alpn(["redis"])
///     .handshake_timeout(Duration::from_secs(5));
/// assert_eq!(tls.rustls().alpn_protocols, vec![b"redis".to_vec()]);
/// assert!(TlsConfig::from_pem(b"not pem", b"").is_err());
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct TlsConfig {
    rustls: Arc<ServerConfig>,
    handshake_timeout: Timeout,
}

impl fmt::Debug for TlsConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsConfig")
            .field("alpn", &self.rustls.alpn_protocols)
            .field("handshake_timeout", &self.handshake_timeout)
            .finish_non_exhaustive()
    }
}

impl TlsConfig {
    /// Reads a PEM certificate chain (leaf first) and a PEM private key (PKCS#8, PKCS#1 or
    /// SEC1) from files.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use framekit_server::tls::TlsConfig;
    ///
    /// let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()])?;
    /// let dir = std::env::temp_dir().join(format!("framekit-tls-doc-{}", std::process::id()));
    /// std::fs::create_dir_all(&dir)?;
    /// std::fs::write(dir.join("cert.pem"), cert.cert.pem())?;
    /// std::fs::write(dir.join("key.pem"), cert.signing_key.serialize_pem())?;
    /// let tls = TlsConfig::from_pem_files(dir.join("cert.pem"), dir.join("key.pem"))?;
    /// assert!(tls.rustls().alpn_protocols.is_empty());
    /// // The key file named as the certificate: no certificate in it.
    /// assert!(TlsConfig::from_pem_files(dir.join("key.pem"), dir.join("key.pem")).is_err());
    /// std::fs::remove_dir_all(&dir)?;
    /// # Ok(()) }
    /// ```
    pub fn from_pem_files(
        cert: impl AsRef<Path>,
        key: impl AsRef<Path>,
    ) -> Result<Self, TlsConfigError> {
        let (cert, key) = (cert.as_ref(), key.as_ref());
        let pem_error = |what, path: &Path| {
            let path = path.to_path_buf();
            move |source| TlsConfigError::Pem { what, path, source }
        };
        let chain = CertificateDer::pem_file_iter(cert)
            .map_err(pem_error("certificate chain", cert))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(pem_error("certificate chain", cert))?;
        let private = PrivateKeyDer::from_pem_file(key).map_err(pem_error("private key", key))?;
        Self::from_der(chain, private, cert)
    }

    /// Like [`from_pem_files`](TlsConfig::from_pem_files), from PEM text in memory.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use framekit_server::tls::{TlsConfig, TlsConfigError};
    ///
    /// let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()])?;
    /// let key = cert.signing_key.serialize_pem();
    /// assert!(TlsConfig::from_pem(cert.cert.pem().as_bytes(), key.as_bytes()).is_ok());
    /// // A key given where the chain belongs holds no certificate.
    /// let refused = TlsConfig::from_pem(key.as_bytes(), key.as_bytes());
    /// assert!(matches!(refused, Err(TlsConfigError::NoCertificate { .. })));
    /// # Ok(()) }
    /// ```
    pub fn from_pem(cert: &[u8], key: &[u8]) -> Result<Self, TlsConfigError> {
        let memory = Path::new("(memory)");
        let pem_error = |what| {
            move |source| TlsConfigError::Pem {
                what,
                path: memory.to_path_buf(),
                source,
            }
        };
        let chain = CertificateDer::pem_slice_iter(cert)
            .collect::<Result<Vec<_>, _>>()
            .map_err(pem_error("certificate chain"))?;
        let private = PrivateKeyDer::from_pem_slice(key).map_err(pem_error("private key"))?;
        Self::from_der(chain, private, memory)
    }

    fn from_der(
        chain: Vec<CertificateDer<'static>>,
        key: PrivateKeyDer<'static>,
        path: &Path,
    ) -> Result<Self, TlsConfigError> {
        if chain.is_empty() {
            return Err(TlsConfigError::NoCertificate {
                path: path.to_path_buf(),
            });
        }
        // The provider is named rather than taken from the process default, which panics when
        // more than one provider is compiled in.
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(chain, key)?;
        Ok(Self::from_rustls(Arc::new(config)))
    }

    /// Uses a rustls configuration built elsewhere (client certificates, a certificate
    /// resolver that reloads, ...).
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use std::sync::Arc;
    /// use framekit_server::tls::{rustls, TlsConfig};
    /// use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    ///
    /// let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()])?;
    /// let key = PrivateKeyDer::Pkcs8(cert.signing_key.serialize_der().into());
    /// let provider = Arc::new(rustls::crypto::ring::default_provider());
    /// let config = rustls::ServerConfig::builder_with_provider(provider)
    ///     .with_safe_default_protocol_versions()?
    ///     .with_no_client_auth()
    ///     .with_single_cert(vec![CertificateDer::from(cert.cert.der().to_vec())], key)?;
    /// let tls = TlsConfig::from_rustls(Arc::new(config)).alpn(["h2"]);
    /// assert_eq!(tls.rustls().alpn_protocols, vec![b"h2".to_vec()]);
    /// # Ok(()) }
    /// ```
    pub fn from_rustls(config: Arc<ServerConfig>) -> Self {
        TlsConfig {
            rustls: config,
            handshake_timeout: Timeout::After(DEFAULT_HANDSHAKE_TIMEOUT),
        }
    }

    /// The ALPN protocols offered, most preferred first (none by default: a client that asks
    /// for one is then served without ALPN).
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use std::time::Duration;
    /// use framekit_server::tls::TlsConfig;
    /// let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()])?;
    /// let tls = TlsConfig::from_pem(cert.cert.pem().as_bytes(), cert.signing_key.serialize_pem().as_bytes())?
    ///     .alpn(["redis", "resp3"]);
    /// assert_eq!(tls.rustls().alpn_protocols, vec![b"redis".to_vec(), b"resp3".to_vec()]);
    /// # Ok(()) }
    /// ```
    pub fn alpn<P: AsRef<[u8]>>(mut self, protocols: impl IntoIterator<Item = P>) -> Self {
        Arc::make_mut(&mut self.rustls).alpn_protocols =
            protocols.into_iter().map(|p| p.as_ref().to_vec()).collect();
        self
    }

    /// How long a peer gets to complete the handshake (default
    /// [`DEFAULT_HANDSHAKE_TIMEOUT`]); then its connection is closed.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use std::time::Duration;
    /// use framekit_server::tls::TlsConfig;
    /// let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()])?;
    /// let tls = TlsConfig::from_pem(cert.cert.pem().as_bytes(), cert.signing_key.serialize_pem().as_bytes())?
    ///     .handshake_timeout(Duration::from_secs(3));
    /// assert!(format!("{tls:?}").contains("handshake_timeout: After(3s)"));
    /// # Ok(()) }
    /// ```
    pub fn handshake_timeout(mut self, timeout: impl Into<Timeout>) -> Self {
        self.handshake_timeout = timeout.into();
        self
    }

    /// The rustls configuration.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use std::time::Duration;
    /// use framekit_server::tls::TlsConfig;
    /// let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()])?;
    /// let tls = TlsConfig::from_pem(cert.cert.pem().as_bytes(), cert.signing_key.serialize_pem().as_bytes())?;
    /// // Session resumption and the rest are rustls' defaults.
    /// assert!(tls.rustls().max_fragment_size.is_none());
    /// # Ok(()) }
    /// ```
    pub fn rustls(&self) -> &ServerConfig {
        &self.rustls
    }
}
