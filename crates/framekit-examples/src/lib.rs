//! framekit-examples: the protocol logic behind the example servers, kept sans-IO so each piece
//! is unit-tested without a socket. Each binary's file in `examples/` shows its server whole
//! (framing, handler, hooks, `serve`, its own flags); what every binary does around that (the
//! shared flags, the runtime, the allocator, shutdown) is [`launch`] and [`deploy`], with the
//! duration flags they share in [`durations`].
//!
//! | example | framing | module |
//! |---|---|---|
//! | `ack_server` | newline | (none: the whole server is in its file) |
//! | `chat_server` | newline, duplex | [`chat`] |
//! | `kv_server`, `kv_client` | u32 BE length prefix | [`kv_protocol`], [`store`] |
//! | `records_server` | fixed 16-byte records | [`records`] |
//! | `resp_server` | RESP2 parsed with nom | [`resp`], [`commands`], [`store`], [`glob`] |
//! | `resp_client` | RESP2 replies, pipelined on framekit-client | [`resp_client`] |
//! | `memcached_server` | memcached text: a line, then a block by length | [`memcached`] |
//! | `resp_proxy` | RESP2 in, RESP2 to backends on framekit-client, ketama-routed | [`proxy`] |
#![warn(missing_docs)]

pub mod chat;
pub mod commands;
pub mod deploy;
pub mod durations;
pub mod glob;
pub mod kv_protocol;
pub mod launch;
pub mod lines;
pub mod memcached;
pub mod metrics_http;
pub mod proxy;
pub mod records;
pub mod resp;
pub mod resp_client;
pub mod store;
