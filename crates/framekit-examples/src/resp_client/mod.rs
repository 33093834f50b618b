//! A Redis client on framekit-client: commands out as RESP multibulk requests, replies in,
//! pipelined over a pool of connections (every call in flight at once shares the connections,
//! answers matched in order by the connection machine), reconnecting after a server restart.
//!
//! - `command`: [`Command`], built with [`cmd`].
//! - `reply`: [`Reply`]; `scan`: the [`ReplyCodec`] that finds a reply's end in one pass;
//!   `line`: where a line ends.
//! - here: [`RespClient`], the typed calls, and [`RespError`] (the server's error replies
//!   apart from the client's failures).
//!
//! ```no_run
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), framekit_examples::resp_client::RespError> {
//! use framekit_examples::resp_client::RespClient;
//!
//! let redis = RespClient::new("127.0.0.1:6379");
//! redis.set("greeting", "hello").await?;
//! assert_eq!(redis.get("greeting").await?.as_deref(), Some(&b"hello"[..]));
//! # Ok(()) }
//! ```

mod command;
mod line;
mod reply;
mod scan;

use bytes::Bytes;
use framekit::connection::{Owned, Pipelined, Settings};
use framekit_client::{Builder, Client, Endpoint, Options};

pub use command::{cmd, ArgBytes, Command};
pub(crate) use reply::build;
pub use reply::Reply;
pub use scan::{
    RawReplyCodec, ReplyCodec, ReplyError, DEFAULT_MAX_BULK, DEFAULT_MAX_ELEMENTS, MAX_DEPTH,
    MAX_LINE,
};

/// Why a call failed: the server answered with an error, answered something the call did not
/// expect, or the client could not get an answer.
#[derive(Debug, thiserror::Error)]
pub enum RespError {
    /// The server's error reply (`ERR ...`, `WRONGTYPE ...`).
    #[error("server error: {}", String::from_utf8_lossy(.0))]
    Server(Bytes),
    /// A reply of a type the call does not expect.
    #[error("unexpected reply to {command}: {reply:?}")]
    Unexpected {
        /// The command's name.
        command: &'static str,
        /// What came.
        reply: Reply,
    },
    /// No answer: see [`framekit_client::Error::may_have_been_applied`].
    #[error(transparent)]
    Client(#[from] framekit_client::Error),
}

/// A Redis client of one server. Clones share its connections.
#[derive(Debug, Clone)]
pub struct RespClient {
    client: Client<Command, Reply>,
}

impl RespClient {
    /// A client of the server at `addr` (`host:port`) with the default pool; nothing connects
    /// until the first call.
    pub fn new(addr: &str) -> RespClient {
        RespClient::with(Builder::new(Endpoint::tcp(addr)), Settings::default())
    }

    /// A client set up by `builder` (endpoint, pool, reconnects) and the connection machine's
    /// `settings` (requests in flight per connection, deadlines).
    pub fn with(builder: Builder, settings: Settings) -> RespClient {
        let client = builder.build(
            || Owned(ReplyCodec::default()),
            || Pipelined,
            Options::default().settings(settings),
        );
        RespClient { client }
    }

    /// Sends any command and returns its reply as it came (an error reply is `Ok`).
    pub async fn call(&self, command: Command) -> Result<Reply, framekit_client::Error> {
        self.client.call(command).await
    }

    /// `GET key`: the value, or `None` when the key is missing.
    pub async fn get(&self, key: impl Into<ArgBytes>) -> Result<Option<Bytes>, RespError> {
        match self.checked("GET", cmd("GET").arg(key)).await? {
            Reply::Bulk(value) => Ok(Some(value)),
            Reply::Null => Ok(None),
            reply => Err(RespError::Unexpected {
                command: "GET",
                reply,
            }),
        }
    }

    /// `SET key value`.
    pub async fn set(
        &self,
        key: impl Into<ArgBytes>,
        value: impl Into<ArgBytes>,
    ) -> Result<(), RespError> {
        match self.checked("SET", cmd("SET").arg(key).arg(value)).await? {
            Reply::Simple(ok) if &ok[..] == b"OK" => Ok(()),
            reply => Err(RespError::Unexpected {
                command: "SET",
                reply,
            }),
        }
    }

    /// `DEL key`: whether it existed.
    pub async fn del(&self, key: impl Into<ArgBytes>) -> Result<bool, RespError> {
        Ok(self.integer("DEL", cmd("DEL").arg(key)).await? > 0)
    }

    /// `INCR key`: the new value.
    pub async fn incr(&self, key: impl Into<ArgBytes>) -> Result<i64, RespError> {
        self.integer("INCR", cmd("INCR").arg(key)).await
    }

    /// Closes every connection once the answers in flight have arrived.
    pub async fn close(&self) {
        self.client.close().await;
    }

    async fn integer(&self, name: &'static str, command: Command) -> Result<i64, RespError> {
        match self.checked(name, command).await? {
            Reply::Integer(n) => Ok(n),
            reply => Err(RespError::Unexpected {
                command: name,
                reply,
            }),
        }
    }

    /// The reply, with an error reply as [`RespError::Server`].
    async fn checked(&self, _name: &'static str, command: Command) -> Result<Reply, RespError> {
        match self.call(command).await? {
            Reply::Error(text) => Err(RespError::Server(text)),
            reply => Ok(reply),
        }
    }
}

#[cfg(test)]
mod tests;
