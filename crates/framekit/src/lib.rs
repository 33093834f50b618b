//! # framekit: where a message ends, as a tested abstraction
//!
//! Network code spends its life on boundaries. framekit makes the boundary decision a small,
//! pure function ([`Framing`](framing::Framing)) that is unit-tested, property-tested and fuzzed
//! without sockets, and wraps it in a thin `tokio_util` codec ([`FrameCodec`]) so it drops into
//! `Framed`, `FramedRead`, `FramedWrite` and `framekit-server`.
//!
//! | strategy | module | default max |
//! |---|---|---|
//! | newline, byte, byte sequence, several delimiters; strict CRLF | [`framing::delimited`] | 64 KiB |
//! | length field: 1/2/3/4/8 bytes BE/LE, LEB128 varint; offset, adjustment | [`framing::length_prefixed`] | 8 MiB |
//! | fixed-size records | [`framing::fixed`] | the record size |
//! | any streaming `nom` parser | [`framing::nom`] | 64 KiB |
//! | PROXY protocol v1 line, v2 header with TLVs (a balancer's preamble) | [`framing::proxy`] | 107 B / 4 KiB |
//!
//! On top of any framing sits a payload codec ([`payload`]): raw [`Bytes`](bytes::Bytes),
//! validated UTF-8 [`Text`](payload::Text), JSON (feature `json`) or your own.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), framekit::FrameError> {
//! use futures::{SinkExt, StreamExt};
//! use framekit::{FrameCodec, framing::length_prefixed::LengthPrefixed, payload::Utf8};
//! use tokio_util::codec::Framed;
//!
//! let (a, b) = tokio::io::duplex(1024);
//! let codec = || FrameCodec::with_payload(LengthPrefixed::u32_be(), Utf8);
//! let (mut tx, mut rx) = (Framed::new(a, codec()), Framed::new(b, codec()));
//! tx.send("hello").await?;
//! assert_eq!(rx.next().await.unwrap()?, "hello");
//! # Ok(()) }
//! ```
//!
//! ## Memory and errors
//!
//! Every strategy has a bounded maximum frame length and fails *before* buffering past it; the
//! read buffer grows with the bytes that arrived, never with a length a peer declared. Every
//! failure is a [`FrameError`] that says what happened and at which byte of the stream.
//!
//! ## Switching protocol mid-stream
//!
//! Codecs keep no stream bytes of their own: what was read but not consumed stays in the read
//! buffer, so `Framed::map_codec` switches framing without losing a byte (after a handshake line,
//! say). [`NomCodec`](framing::nom::NomCodec) holds parsed items, not bytes: drain them first.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), framekit::FrameError> {
//! use futures::StreamExt;
//! use tokio::io::AsyncWriteExt;
//! use framekit::{FrameCodec, framing::{delimited::Delimited, length_prefixed::LengthPrefixed}};
//! use tokio_util::codec::Framed;
//!
//! let (mut peer, io) = tokio::io::duplex(1024);
//! // The handshake line and the first binary frame arrive in one write.
//! peer.write_all(b"HELLO v2\n\x00\x02hi").await?;
//! let mut lines = Framed::new(io, FrameCodec::new(Delimited::newline()));
//! assert_eq!(lines.next().await.unwrap()?, "HELLO v2");
//! let mut frames = lines.map_codec(|_| FrameCodec::new(LengthPrefixed::u16_be()));
//! assert_eq!(frames.next().await.unwrap()?, "hi");
//! # Ok(()) }
//! ```
#![warn(missing_docs)]

pub mod codec;
pub mod connection;
pub mod error;
pub mod framing;
pub mod payload;
#[cfg(any(test, feature = "testing"))]
pub mod testing;

pub use codec::{FrameCodec, InPlace};
pub use error::FrameError;

/// The crate README's example, compiled with the doc tests so it cannot rot.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
