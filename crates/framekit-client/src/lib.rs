//! framekit-client: the other end of a framekit connection.
//!
//! The modules, one concept each:
//!
//! - `pool`: the client of one backend ([`Client`], set up by a [`Builder`]): a pool of
//!   connections made on demand, requests spread over them, ended connections replaced.
//! - [`connection`]: one connection as its callers see it ([`ClientConnection`]): calls,
//!   deadlines, its load, graceful close; `driver`: the task that runs the connection machine
//!   (`framekit::connection`) over the transport; `call`: what passes between them.
//! - `codec`: what a client needs from a codec ([`ClientCodec`]).
//! - [`tower`]: `tower::Service` for the client and its connections, `Load` for a balancer.
//! - [`endpoint`]: where a backend is ([`Endpoint`]: TCP, a Unix socket, TLS over TCP).
//! - `connect`: opening a [`Transport`] to an endpoint within a connect timeout
//!   ([`Connector`]), and again after failures under a [`Reconnect`] policy.
//! - `transport`: the stream a connection reads and writes ([`Transport`]).
//! - `tls` (feature `tls`): rustls settings: the server name, ALPN, the CA roots or a
//!   verifier ([`TlsSettings`]).
//! - [`backoff`]: exponential backoff with jitter, bounded, or none ([`Reconnect`]).
//! - `error`: typed failures that say whether a request may have been applied ([`Error`]).
//! - [`metrics`]: what a client reports to the `metrics` facade, and under which [names](metrics::names).
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use std::time::Duration;
//! use framekit_client::{Connector, Endpoint, Reconnect};
//! use tokio::io::{AsyncReadExt, AsyncWriteExt};
//!
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! let addr = listener.local_addr()?;
//! tokio::spawn(async move {
//!     let (mut s, _) = listener.accept().await?;
//!     s.write_all(b"+PONG\r\n").await
//! });
//! let connector = Connector::new(Endpoint::tcp(addr)).timeout(Duration::from_secs(1));
//! let mut transport = connector.connect_with(&Reconnect::default()).await?;
//! let mut answer = [0u8; 7];
//! transport.read_exact(&mut answer).await?;
//! assert_eq!(&answer, b"+PONG\r\n");
//! # Ok(()) }
//! ```

pub mod backoff;
mod call;
mod codec;
mod connect;
pub mod connection;
mod driver;
pub mod endpoint;
mod error;
pub mod metrics;
mod pool;
mod shared;
#[cfg(feature = "tls")]
mod tls;
pub mod tower;
mod transport;

pub use crate::backoff::{Backoff, Jitter, Reconnect};
pub use crate::codec::ClientCodec;
pub use crate::connect::{Connector, DEFAULT_CONNECT_TIMEOUT};
pub use crate::connection::{ClientConnection, Options};
pub use crate::endpoint::Endpoint;
pub use crate::error::{Cause, ConnectError, ConnectFailure, ConnectStage, Delivery, Error};
pub use crate::pool::{Builder, Client, DEFAULT_POOL_SIZE};
#[cfg(feature = "tls")]
pub use crate::tls::{rustls, TlsSettings, TlsSettingsError};
pub use crate::transport::Transport;

/// The README's example, compiled with the doc tests so it cannot rot.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
