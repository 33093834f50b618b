//! resp_proxy's logic: a Redis proxy in the manner of twemproxy, a framekit server and
//! framekit clients composed. Each request is planned without I/O ([`plan`]: answered here,
//! forwarded to its key's backend on a ketama [`Ring`], split over backends and joined, or
//! refused with Redis's own words), then sent through one pooled [`framekit_client`]
//! connection per backend ([`Proxy`]), pipelined; the server keeps each client's answers in
//! its order.
//!
//! Answered here: `PING`, `ECHO`, `QUIT`, `COMMAND` (an empty table), `SELECT 0`, `HELLO 3`
//! (`NOPROTO`: RESP2 only). Refused, naming the command and why ([`table`]): pub/sub,
//! transactions, blocking commands, connection state (`CLIENT`, `AUTH`, `RESET`), what spans
//! every backend (`KEYS`, `SCAN`, `FLUSHALL`, `DBSIZE`, `INFO`, `RANDOMKEY`), a backend's
//! administration (`CONFIG`, `DEBUG`, `SAVE`, `SCRIPT` ...), `MOVE`, `SWAPDB`, `MIGRATE`, and
//! every command the table does not know. As twemproxy's, a split `MSET` or `DEL` is not atomic
//! across backends: a backend that fails fails the whole command's answer, while the other
//! backends' parts may have been applied.
//!
//! - `ring`: the consistent hash; `health`: a backend whose connect failed is left out for a
//!   pause; `table`: what is done with each command; `plan`: a request's plan and the join of
//!   split answers; here: the backends ([`Proxy`]) and the answer to one request
//!   ([`Proxy::handle`]), which `examples/resp_proxy.rs` serves over `RespCodec` (RESP
//!   requests in, RESP bytes out).

mod health;
mod plan;
mod ring;
pub mod table;

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use framekit::connection::{Owned, Pipelined, Settings};
use framekit_client::{Backoff, Builder, Client, Endpoint, Options, Reconnect};
use framekit_server::Reply;

pub use health::Health;
pub use plan::{plan, Part, Plan, Split, CROSSSLOT};
pub use ring::{fnv1a_64, hashed_part, KeyHash, Ring, POINTS_PER_BACKEND};

use crate::resp::{ProtocolError, Request, Value};
use crate::resp_client::{Command, RawReplyCodec};

/// Default deadline of one request to a backend, waiting for room and connecting included.
pub const DEFAULT_BACKEND_TIMEOUT: Duration = Duration::from_secs(2);
/// Default requests in flight on one backend connection (callers past it wait).
pub const DEFAULT_BACKEND_IN_FLIGHT: usize = 1024;
/// Default connect retries after a backend's connection failed, with backoff, before the
/// backend is left out for [`DEFAULT_BACKEND_RETRY_PAUSE`].
pub const DEFAULT_BACKEND_RETRIES: u32 = 1;
/// Default pause after a failed connect during which a backend's requests fail at once.
pub const DEFAULT_BACKEND_RETRY_PAUSE: Duration = Duration::from_millis(500);

/// How the proxy reaches its backends.
///
/// ```
/// use std::time::{Duration, Instant};
/// use framekit_examples::proxy::Backends;
///
/// let backends = Backends::new(vec!["127.0.0.1:7001".into(), "127.0.0.1:7002".into()])
///     .hash_tag(Some(*b"{}"))
///     .timeout(Duration::from_millis(500));
/// assert_eq!(backends.addresses().len(), 2);
/// ```
#[derive(Debug, Clone)]
pub struct Backends {
    addresses: Vec<String>,
    hash: KeyHash,
    tag: Option<[u8; 2]>,
    timeout: Duration,
    in_flight: usize,
    retries: u32,
    retry_pause: Duration,
}

impl Backends {
    /// The backends at `addresses` (`host:port`), in ring order: each address is also its
    /// name on the ring, so a key's backend depends on the addresses, not their order.
    pub fn new(addresses: Vec<String>) -> Backends {
        Backends {
            addresses,
            hash: KeyHash::default(),
            tag: None,
            timeout: DEFAULT_BACKEND_TIMEOUT,
            in_flight: DEFAULT_BACKEND_IN_FLIGHT,
            retries: DEFAULT_BACKEND_RETRIES,
            retry_pause: DEFAULT_BACKEND_RETRY_PAUSE,
        }
    }

    /// Hash only the part of a key between these two bytes (`{}`), as twemproxy's `hash_tag`.
    pub fn hash_tag(mut self, tag: Option<[u8; 2]>) -> Backends {
        self.tag = tag;
        self
    }

    /// How keys are hashed onto the ring ([`KeyHash::Md5`] by default).
    pub fn key_hash(mut self, hash: KeyHash) -> Backends {
        self.hash = hash;
        self
    }

    /// A request's deadline at a backend, waiting and connecting included.
    pub fn timeout(mut self, timeout: Duration) -> Backends {
        self.timeout = timeout;
        self
    }

    /// Requests in flight on one backend connection, at most (at least 1).
    pub fn in_flight(mut self, requests: usize) -> Backends {
        self.in_flight = requests.max(1);
        self
    }

    /// Connect retries, with exponential backoff and jitter, after a failure.
    pub fn retries(mut self, retries: u32) -> Backends {
        self.retries = retries;
        self
    }

    /// How long a backend whose connect failed is left out (its requests fail at once).
    pub fn retry_pause(mut self, pause: Duration) -> Backends {
        self.retry_pause = pause;
        self
    }

    /// The backends' addresses.
    pub fn addresses(&self) -> &[String] {
        &self.addresses
    }
}

/// The proxy: the ring and a client per backend. Clones share the clients.
#[derive(Debug, Clone)]
pub struct Proxy {
    ring: Arc<Ring>,
    backends: Arc<[Backend]>,
    timeout: Duration,
}

/// One backend: its client and its health.
#[derive(Debug)]
struct Backend {
    address: String,
    client: Client<Command, Bytes>,
    health: Health,
}

impl Proxy {
    /// A proxy of `backends`; nothing connects until a request needs a backend. The backend
    /// clients report to the `metrics` recorder installed when this is called.
    ///
    /// Each backend gets one connection: the requests of one client to one backend must reach
    /// it in the client's order (a `SET` then a `GET` of the same key), and the connection
    /// machine keeps the order of one connection, not of two.
    pub fn new(backends: &Backends) -> Proxy {
        let reconnect = Reconnect::Backoff(
            Backoff::default()
                .first(Duration::from_millis(10))
                .max(Duration::from_millis(200))
                .retries(backends.retries),
        );
        let settings = Settings::default().max_in_flight(backends.in_flight);
        let clients = backends
            .addresses
            .iter()
            .map(|address| Backend {
                address: address.clone(),
                health: Health::new(backends.retry_pause),
                client: Builder::new(Endpoint::tcp(address))
                    .pool_size(1)
                    .connect_timeout(backends.timeout)
                    .reconnect(reconnect)
                    .build(
                        || Owned(RawReplyCodec::default()),
                        || Pipelined,
                        Options::default().settings(settings),
                    ),
            })
            .collect();
        Proxy {
            ring: Arc::new(Ring::new(&backends.addresses, backends.hash, backends.tag)),
            backends: clients,
            timeout: backends.timeout,
        }
    }

    /// The answer to one request, as the server's handler returns it.
    ///
    /// The future sends its request(s) on its first poll, which the server makes as soon as
    /// it has the request, in the connection's request order, and the backend's client sends
    /// calls in the order of their first polls (a call waiting for the connect keeps its
    /// place): that is what puts a client's requests on a backend connection in its order.
    /// It runs outside tokio's cooperative
    /// budget ([`tokio::task::unconstrained`]) so that a request cannot be told to yield
    /// before it is queued while a later one is queued first.
    pub fn handle(&self, request: Request) -> impl std::future::Future<Output = Reply<Bytes>> {
        let planned = match request {
            Ok(args) => Ok(plan(args, &self.ring)),
            Err(error) => Err(error),
        };
        let proxy = self.clone();
        tokio::task::unconstrained(async move {
            match planned {
                Err(error) => protocol_error(&error),
                Ok(Plan::Answer(answer)) if answer.is_empty() => Reply::None,
                Ok(Plan::Answer(answer)) => Reply::One(answer),
                Ok(Plan::Close(answer)) => Reply::Close(Some(answer)),
                Ok(Plan::Forward { backend, request }) => {
                    Reply::One(proxy.forward(backend, request).await)
                }
                Ok(Plan::Split(mut split)) => {
                    let sent = split
                        .requests()
                        .into_iter()
                        .map(|(backend, request)| proxy.forward_raw(backend, request));
                    let answers = futures::future::join_all(sent).await;
                    Reply::One(split.join(answers))
                }
            }
        })
    }

    async fn forward(&self, backend: usize, request: Command) -> Bytes {
        self.forward_raw(backend, request)
            .await
            .unwrap_or_else(|error| error)
    }

    /// The backend's reply, or an error reply saying why there is none.
    async fn forward_raw(&self, backend: usize, request: Command) -> Result<Bytes, Bytes> {
        let Some(backend) = self.backends.get(backend) else {
            return Err(error_reply("ERR resp_proxy has no backends".to_owned()));
        };
        if let Some(left) = backend.health.down_for(Instant::now()) {
            return Err(error_reply(format!(
                "ERR resp_proxy: backend {} is down (tried again in {} ms)",
                backend.address,
                left.as_millis()
            )));
        }
        backend
            .client
            .call_within(request, self.timeout)
            .await
            .map_err(|error| {
                if matches!(error, framekit_client::Error::Connect(_)) {
                    backend.health.connect_failed(Instant::now());
                }
                error_reply(format!("ERR resp_proxy: {error}"))
            })
    }

    /// Closes the backend connections once their answers in flight have arrived.
    pub async fn close(&self) {
        for backend in self.backends.iter() {
            backend.client.close().await;
        }
    }
}

fn error_reply(text: String) -> Bytes {
    Value::error(text).to_bytes()
}

fn protocol_error(error: &ProtocolError) -> Reply<Bytes> {
    tracing::debug!(%error, "protocol error, closing");
    Reply::Close(Some(error.to_reply().to_bytes()))
}
