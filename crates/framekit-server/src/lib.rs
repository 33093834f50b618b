//! framekit-server: a framing (or any `tokio_util` codec) plus a handler, served with the
//! discipline of a production server: backpressure, bounded buffers, timeouts, limits and
//! graceful shutdown.
//!
//! Each connection is the core's sans-IO connection machine
//! ([`framekit::connection::Connection`], held to the connection laws of
//! `framekit::testing::connection`) driven by one task; this crate is that driver, the
//! listeners and the deployment stages around it. The modules, one concept each:
//!
//! - [`handler`]: the one request/response model ([`Handler`], [`Answer`], [`Responder`]; later
//!   answers as [`Reply`]), and the owned style (an async closure) as an adapter over it.
//! - [`duplex`]: handlers that own a connection's two directions ([`DuplexHandler`], [`Inbox`],
//!   [`Outbox`]), for push and broadcast.
//! - [`codec`]: what a connection needs of its codec, and a codec per connection.
//! - `server`: setting a server up ([`Server`]) and its two entry points,
//!   [`serve`](Server::serve) and [`serve_duplex`](Server::serve_duplex); `accept`: the
//!   accept loop, the connection limit, the drain; `driver`: each connection's task.
//! - [`listener`] and [`tcp`]: where connections come from (TCP, Unix sockets, any stream);
//!   [`threads`]: thread-per-core; `tls` (feature `tls`) and [`preamble`] (PROXY protocol): the
//!   setup stages.
//! - [`error`]: failures as the error reply hook sees them ([`Failure`]); [`config`] and
//!   [`metrics`]: limits with bounded defaults, and live counters; `tower` (feature `tower`):
//!   any `tower::Service` as a handler.
//! - `laws` (feature `laws`): the connection laws for your own handler, run through this
//!   crate's driver over an in-memory connection cut at random.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> std::io::Result<()> {
//! use std::time::Duration;
//! use bytes::Bytes;
//! use framekit::{FrameCodec, framing::length_prefixed::LengthPrefixed};
//! use framekit_server::{Ctx, Server};
//! use futures::{SinkExt, StreamExt};
//! use tokio_util::codec::Framed;
//!
//! // An uppercasing server over u32 length-prefixed frames, on a free port.
//! let server = Server::bind("127.0.0.1:0").await?.serve(
//!     FrameCodec::new(LengthPrefixed::u32_be()),
//!     |req: Bytes, _ctx: Ctx| async move { Some(Bytes::from(req.to_ascii_uppercase())) },
//! );
//!
//! let socket = tokio::net::TcpStream::connect(server.local_addr().as_tcp().unwrap()).await?;
//! let mut client = Framed::new(socket, FrameCodec::new(LengthPrefixed::u32_be()));
//! client.send(&b"hello"[..]).await?;
//! assert_eq!(client.next().await.unwrap()?, "HELLO");
//!
//! drop(client);
//! let report = server.shutdown(Duration::from_secs(1)).await;
//! assert_eq!(report.aborted, 0);
//! # Ok(()) }
//! ```
//!
//! The same server as a [`Handler`]: each frame is lent where it lies in the read buffer and the
//! answer is encoded straight into the output, with nothing allocated or reference-counted per
//! request.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> std::io::Result<()> {
//! use std::time::Duration;
//! use bytes::Bytes;
//! use framekit::{FrameCodec, framing::length_prefixed::LengthPrefixed};
//! use framekit_server::{Answer, Ctx, Handler, Responder, Server};
//! use futures::{SinkExt, StreamExt};
//! use tokio_util::codec::Framed;
//!
//! type Frames = FrameCodec<LengthPrefixed>;
//!
//! struct Upper;
//!
//! impl Handler<Frames, Bytes> for Upper {
//!     type State = Vec<u8>; // the connection's scratch buffer, reused for every request
//!     type Later = std::future::Ready<Option<Bytes>>; // never later
//!     fn open(&self, _ctx: &Ctx) -> Vec<u8> {
//!         Vec::new()
//!     }
//!     fn call(&self, req: &[u8], scratch: &mut Vec<u8>, _ctx: &Ctx,
//!             out: &mut Responder<'_, Frames, Bytes>) -> Answer<Self::Later> {
//!         scratch.clear();
//!         scratch.extend(req.iter().map(u8::to_ascii_uppercase));
//!         out.send(&scratch[..]);
//!         Answer::Done
//!     }
//! }
//!
//! let server = Server::bind("127.0.0.1:0").await?
//!     .serve(FrameCodec::new(LengthPrefixed::u32_be()), Upper);
//! let socket = tokio::net::TcpStream::connect(server.local_addr().as_tcp().unwrap()).await?;
//! let mut client = Framed::new(socket, FrameCodec::new(LengthPrefixed::u32_be()));
//! client.send(&b"hello"[..]).await?;
//! assert_eq!(client.next().await.unwrap()?, "HELLO");
//! drop(client);
//! server.shutdown(Duration::from_secs(1)).await;
//! # Ok(()) }
//! ```

#![warn(missing_docs)]

mod accept;
pub mod codec;
pub mod config;
mod context;
mod driver;
pub mod duplex;
pub mod error;
pub mod handler;
#[cfg(any(test, feature = "laws"))]
pub mod laws;
pub mod listener;
pub mod metrics;
mod pool;
pub mod preamble;
mod server;
mod shared;
mod shutdown;
pub mod tcp;
pub mod threads;
mod timers;
#[cfg(feature = "tls")]
pub mod tls;
#[cfg(feature = "tower")]
pub mod tower;
mod transport;
#[cfg(unix)]
mod unix_socket;
mod watch;

pub use config::ServerConfig;
pub use context::Ctx;
pub use duplex::{DuplexHandler, Inbox, Outbox};
pub use error::{CodecError, Failure, FailureOrigin};
pub use handler::{Answer, BoxError, Handler, Reply, Responder};
pub use listener::Addr;
pub use server::Server;
pub use shutdown::{shutdown_signal, ServerHandle, ShutdownReport};
#[cfg(unix)]
pub use unix_socket::UnixSocket;

/// The README's example, compiled with the doc tests so it cannot rot.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
