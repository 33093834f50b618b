//! framekit-server: a framing (or any `tokio_util` codec) plus a handler, served with the
//! discipline of a production server: backpressure, bounded buffers, timeouts, limits and
//! graceful shutdown.
//!
//! Everything is re-exported here. The modules, one concept each:
//!
//! - [`listener`]: where connections come from (TCP v4/v6, any stream of
//!   `AsyncRead + AsyncWrite`, several at once), and accept-error backoff; `unix_socket`: a Unix socket that
//!   owns its file ([`UnixSocket`]).
//! - [`tcp`]: TCP listeners with socket options (`SO_REUSEPORT`, backlog, keepalive).
//! - `tls` (feature `tls`): TLS on rustls, the handshake bounded and run in the connection's
//!   task; `transport`: what the framing loop reads and writes after the setup stages.
//! - `server`: setting a server up ([`Server`]); `accept`: the accept loop, the connection
//!   limit (taken before `accept`), the reject slots, the connection tasks, the drain.
//! - [`threads`]: thread-per-core, one single-threaded runtime and listener per thread
//!   ([`Server::threads`]), one limit and one shutdown over them.
//! - `codec`: what a connection needs from its codec ([`ConnectionCodec`], [`WithEncoder`]).
//! - `connection`: one connection as rooms: reading, the pipelining ring, duplex handling,
//!   writing, timers (one table), the orderly close.
//! - `outbound`: the outbound queue and vectored writes ([`Outbound`], [`Vectored`]).
//! - `handler`: request/response and duplex handlers ([`Handler`], [`DuplexHandler`]).
//! - [`borrowed`]: the borrowed request style ([`BorrowedHandler`], [`ViewDecoder`],
//!   [`Responder`], [`Answer`]): requests lent from the read buffer, answers written straight
//!   into the output queue.
//! - [`preamble`]: the PROXY protocol header a balancer sends first, and whom to trust.
//! - `context`: what a handler knows about its connection ([`Ctx`]).
//! - `shutdown`: the running server's handle and graceful shutdown ([`ServerHandle`]).
//! - `error`: failures and their kinds ([`CodecError`], [`Failure`], [`FailureOrigin`]).
//! - [`config`] and [`metrics`]: limits with bounded defaults, and live counters.
//! - `tower` (feature `tower`): any `tower::Service` as a handler.
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
//! The same server in the borrowed style ([`Server::serve_borrowed`]): the handler reads each
//! frame where it lies in the read buffer and writes the answer straight into the output queue,
//! with nothing allocated or reference-counted per request.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> std::io::Result<()> {
//! use std::time::Duration;
//! use bytes::Bytes;
//! use framekit::{FrameCodec, framing::length_prefixed::LengthPrefixed};
//! use framekit_server::{Answer, BorrowedHandler, Ctx, Responder, Server};
//! use futures::{SinkExt, StreamExt};
//! use tokio_util::codec::Framed;
//!
//! type Frames = FrameCodec<LengthPrefixed>;
//!
//! struct Upper;
//!
//! impl BorrowedHandler<Frames, Bytes> for Upper {
//!     type State = Vec<u8>; // the connection's scratch buffer, reused for every request
//!     type Later = std::future::Ready<Option<Bytes>>; // never deferred
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
//!     .serve_borrowed(FrameCodec::new(LengthPrefixed::u32_be()), Upper);
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
pub mod borrowed;
mod codec;
pub mod config;
mod connection;
mod context;
mod error;
mod handler;
pub mod listener;
pub mod metrics;
mod outbound;
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

pub use borrowed::{Answer, BorrowedHandler, Responder, ViewDecoder};
pub use codec::{ConnectionCodec, WithEncoder};
pub use config::ServerConfig;
pub use context::Ctx;
pub use error::{CodecError, Failure, FailureOrigin, InputBudgetExceeded, RequestTimeout};
pub use handler::{
    BoxError, ConnectionClosed, DuplexHandler, Handler, Inbox, IntoReply, Outbox, Reply,
};
pub use listener::{Accepted, Acceptor, Addr, Both, StreamAcceptor};
pub use metrics::{CloseReason, Metrics, MetricsSnapshot};
pub use outbound::{Outbound, ResponseEncoder, Vectored};
pub use server::Server;
pub use shutdown::{shutdown_signal, ServerHandle, ShutdownReport};
#[cfg(unix)]
pub use unix_socket::UnixSocket;

/// The README's example, compiled with the doc tests so it cannot rot.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
