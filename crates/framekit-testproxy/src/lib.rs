//! framekit-testproxy: faults on purpose, for tests, without netem.
//!
//! A [`FaultProxy`] listens on 127.0.0.1 and forwards every connection to a target, applying a
//! [`Plan`] to each direction: latency, bytes sliced one at a time, a stall after N bytes, a
//! reset (RST, both sides) after N bytes, a half-close after N bytes. A [`SilentBackend`] is a
//! server that accepts, reads and never answers. Modules: `plan` (what to do), `pump` (one
//! direction's copy loop), `proxy` (the listener and the pairs), `silent` (the mute backend).
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> std::io::Result<()> {
//! use framekit_testproxy::{Faults, FaultProxy, Plan};
//! use tokio::io::{AsyncReadExt, AsyncWriteExt};
//!
//! // An echo backend, and a proxy in front of it that slices its answers into single bytes.
//! let backend = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! let target = backend.local_addr()?;
//! tokio::spawn(async move {
//!     let (mut s, _) = backend.accept().await?;
//!     let (mut r, mut w) = s.split();
//!     tokio::io::copy(&mut r, &mut w).await
//! });
//! let proxy = FaultProxy::start(target, Plan::default().downstream(Faults::default().sliced())).await?;
//! let mut client = tokio::net::TcpStream::connect(proxy.local_addr()).await?;
//! client.write_all(b"hello").await?;
//! client.shutdown().await?;
//! let mut echoed = Vec::new();
//! client.read_to_end(&mut echoed).await?;
//! assert_eq!(echoed, b"hello");
//! # Ok(()) }
//! ```

mod plan;
mod proxy;
mod pump;
mod silent;

pub use crate::plan::{Faults, Plan, Stall};
pub use crate::proxy::{FaultProxy, PairEnd};
pub use crate::silent::SilentBackend;
