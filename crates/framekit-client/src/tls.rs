//! TLS settings of a client (feature `tls`): the name the server must prove, the ALPN
//! protocols offered, and whom to trust (CA roots, or a verifier of the caller's), on rustls
//! with the `ring` provider like the server.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use std::time::Duration;
//! use bytes::Bytes;
//! use framekit::{FrameCodec, framing::delimited::Delimited};
//! use framekit_client::{Connector, Endpoint, Reconnect, TlsSettings};
//! use framekit_server::tls::TlsConfig;
//! use framekit_server::{Ctx, Server};
//! use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
//!
//! let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()])?;
//! let server_tls = TlsConfig::from_pem(cert.cert.pem().as_bytes(), cert.signing_key.serialize_pem().as_bytes())?
//!     .alpn(["echo/1"]);
//! let server = Server::bind("127.0.0.1:0").await?.tls(server_tls).serve(
//!     FrameCodec::new(Delimited::newline()),
//!     |line: Bytes, _ctx: Ctx| async move { Some(line) },
//! );
//!
//! let roots = TlsSettings::roots_from_pem(cert.cert.pem().as_bytes())?;
//! let tls = TlsSettings::with_roots("localhost", roots)?.alpn(["echo/1"]);
//! let addr = server.local_addr().as_tcp().unwrap();
//! let transport = Connector::new(Endpoint::tls(addr, tls)).connect_with(&Reconnect::Never).await?;
//! assert_eq!(transport.alpn_protocol(), Some(&b"echo/1"[..]));
//! let mut lines = BufReader::new(transport).lines();
//! lines.get_mut().write_all(b"hello\n").await?;
//! assert_eq!(lines.next_line().await?.as_deref(), Some("hello"));
//! server.shutdown(Duration::from_secs(1)).await;
//! # Ok(()) }
//! ```

use std::fmt;
use std::sync::Arc;

use tokio_rustls::rustls::client::danger::ServerCertVerifier;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
use tokio_rustls::rustls::{ClientConfig, RootCertStore};
use tokio_rustls::TlsConnector;

/// The rustls crate this feature is built on, for [`TlsSettings::from_rustls`] and verifiers.
pub use tokio_rustls::rustls;

/// Why TLS settings could not be made.
#[derive(Debug, thiserror::Error)]
pub enum TlsSettingsError {
    /// The server name is neither a DNS name nor an IP address.
    #[error("invalid TLS server name {0:?}")]
    ServerName(String),
    /// A PEM input held no certificate, or a malformed one.
    #[error("no usable certificate in the PEM input: {0}")]
    Pem(String),
    /// rustls refused the configuration.
    #[error("rustls: {0}")]
    Rustls(#[from] rustls::Error),
}

/// How a client connection does TLS. Cheap to clone.
#[derive(Clone)]
pub struct TlsSettings {
    server_name: ServerName<'static>,
    config: Arc<ClientConfig>,
}

impl fmt::Debug for TlsSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsSettings")
            .field("server_name", &self.server_name)
            .field("alpn", &self.config.alpn_protocols)
            .finish_non_exhaustive()
    }
}

impl TlsSettings {
    /// Trusts the CAs in `roots`; the server must prove `server_name`.
    pub fn with_roots(server_name: &str, roots: RootCertStore) -> Result<Self, TlsSettingsError> {
        let config = builder()?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Self::from_rustls(server_name, Arc::new(config))
    }

    /// Trusts what `verifier` accepts (pinning, a private PKI, ...); the server must prove
    /// `server_name` to it.
    pub fn with_verifier(
        server_name: &str,
        verifier: Arc<dyn ServerCertVerifier>,
    ) -> Result<Self, TlsSettingsError> {
        let config = builder()?
            .dangerous()
            .with_custom_certificate_verifier(verifier)
            .with_no_client_auth();
        Self::from_rustls(server_name, Arc::new(config))
    }

    /// A rustls configuration made by the caller (client certificates, resumption, ...).
    pub fn from_rustls(
        server_name: &str,
        config: Arc<ClientConfig>,
    ) -> Result<Self, TlsSettingsError> {
        let server_name = ServerName::try_from(server_name.to_owned())
            .map_err(|_| TlsSettingsError::ServerName(server_name.to_owned()))?;
        Ok(TlsSettings {
            server_name,
            config,
        })
    }

    /// The ALPN protocols offered, most preferred first.
    pub fn alpn<P: AsRef<[u8]>>(mut self, protocols: impl IntoIterator<Item = P>) -> Self {
        Arc::make_mut(&mut self.config).alpn_protocols =
            protocols.into_iter().map(|p| p.as_ref().to_vec()).collect();
        self
    }

    /// The CA certificates in a PEM input, as roots to trust.
    pub fn roots_from_pem(pem: &[u8]) -> Result<RootCertStore, TlsSettingsError> {
        let mut roots = RootCertStore::empty();
        for cert in CertificateDer::pem_slice_iter(pem) {
            let cert = cert.map_err(|e| TlsSettingsError::Pem(e.to_string()))?;
            roots.add(cert)?;
        }
        if roots.is_empty() {
            return Err(TlsSettingsError::Pem("no CERTIFICATE block".to_owned()));
        }
        Ok(roots)
    }

    pub(crate) fn server_name(&self) -> ServerName<'static> {
        self.server_name.clone()
    }

    pub(crate) fn connector(&self) -> TlsConnector {
        TlsConnector::from(Arc::clone(&self.config))
    }
}

fn builder() -> Result<rustls::ConfigBuilder<ClientConfig, rustls::WantsVerifier>, TlsSettingsError>
{
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(ClientConfig::builder_with_provider(provider).with_safe_default_protocol_versions()?)
}
