//! # The framekit guide
//!
//! A guide to learn framekit from, one chapter per module, each built from a markdown file in
//! `guide/` so that `cargo test -p framekit-guide --doc` compiles (and, where it can, runs)
//! every snippet. The READMEs help you decide; the crates' module docs are the reference.
//!
//! 1. [Getting started](getting_started): a line server in twenty lines, then its laws.
//! 2. [Choosing a framing](choosing_a_framing): a decision table and a worked example of each.
//! 3. [Writing your own `Framing`](writing_a_framing): the `Decision` contract.
//! 4. [The law kit](laws): the framing laws and the connection laws, fuzzing.
//! 5. [Serving](serving): the handler model, limits, timeouts, backpressure, shutdown.
//! 6. [Connecting](connecting): the client crate and the connection machine's client role.
//! 7. [Deploying](deploying): TLS, PROXY behind HAProxy, metrics, threads, restarts, systemd.
//! 8. [Performance](performance): what it costs and how to measure it.
//! 9. [The example servers](examples): six protocols that real clients talk to.

#[doc = include_str!("../guide/01-getting-started.md")]
pub mod getting_started {}

#[doc = include_str!("../guide/02-choosing-a-framing.md")]
pub mod choosing_a_framing {}

#[doc = include_str!("../guide/03-writing-a-framing.md")]
pub mod writing_a_framing {}

#[doc = include_str!("../guide/04-laws.md")]
pub mod laws {}

#[doc = include_str!("../guide/05-serving.md")]
pub mod serving {}

#[doc = include_str!("../guide/06-connecting.md")]
pub mod connecting {}

#[doc = include_str!("../guide/07-deploying.md")]
pub mod deploying {}

#[doc = include_str!("../guide/08-performance.md")]
pub mod performance {}

#[doc = include_str!("../guide/09-examples.md")]
pub mod examples {}
