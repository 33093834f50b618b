//! A client of one backend ([`Client`]): a pool of connections made on demand through a
//! [`Connector`] under a [`Reconnect`] policy, requests spread over them in turn, a connection
//! that ended replaced by the next request that needs it, and requests a closing connection
//! never took sent again on another. [`Builder`] sets it up.

use std::fmt;
use std::sync::atomic::{
    AtomicBool, AtomicUsize, Ordering::AcqRel, Ordering::Acquire, Ordering::Relaxed,
};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use framekit::connection::{Delivery, Match};

use crate::backoff::Reconnect;
use crate::call::{NotQueued, Outcome};
use crate::codec::ClientCodec;
use crate::connect::Connector;
use crate::connection::{ClientConnection, Options, Queued};
use crate::endpoint::Endpoint;
use crate::error::{Cause, Error};
use crate::transport::Transport;

/// Default connections per backend.
///
/// ```
/// assert_eq!(framekit_client::DEFAULT_POOL_SIZE, 2);
/// ```
pub const DEFAULT_POOL_SIZE: usize = 2;

type Open<Req, Ans> =
    Arc<dyn Fn(Transport, &Connector) -> ClientConnection<Req, Ans> + Send + Sync>;

/// Sets up a [`Client`].
///
/// ```
/// use std::time::{Duration, Instant};
/// use framekit_client::{Builder, Endpoint, Reconnect};
///
/// let builder = Builder::new(Endpoint::tcp("127.0.0.1:6379"))
///     .pool_size(4)
///     .connect_timeout(Duration::from_millis(500))
///     .reconnect(Reconnect::Never);
/// assert_eq!(builder.connections(), 4);
/// ```
#[derive(Debug, Clone)]
pub struct Builder {
    connector: Connector,
    reconnect: Reconnect,
    pool_size: usize,
}

impl Builder {
    /// A client of `endpoint`, with the default pool size, connect timeout and reconnect
    /// policy.
    pub fn new(endpoint: Endpoint) -> Builder {
        Builder {
            connector: Connector::new(endpoint),
            reconnect: Reconnect::default(),
            pool_size: DEFAULT_POOL_SIZE,
        }
    }

    /// Connections to keep (at least 1); requests go to them in turn.
    pub fn pool_size(mut self, connections: usize) -> Builder {
        self.pool_size = connections.max(1);
        self
    }

    /// How long one connect may take, TLS handshake included.
    pub fn connect_timeout(mut self, timeout: Duration) -> Builder {
        self.connector = self.connector.timeout(timeout);
        self
    }

    /// How connects are tried again after a failure.
    pub fn reconnect(mut self, reconnect: Reconnect) -> Builder {
        self.reconnect = reconnect;
        self
    }

    /// Connections the pool keeps.
    pub fn connections(&self) -> usize {
        self.pool_size
    }

    /// The client: each connection runs a codec from `codec`, matches answers with a matcher
    /// from `matcher` ([`Pipelined`](framekit::connection::Pipelined), or a tag reader with
    /// [`Options::tagged`]), and is set up by `options`. Nothing connects until the first
    /// request.
    pub fn build<Req, C, M>(
        self,
        codec: impl Fn() -> C + Send + Sync + 'static,
        matcher: impl Fn() -> M + Send + Sync + 'static,
        options: Options<Req>,
    ) -> Client<Req, C::Answer>
    where
        Req: Send + 'static,
        C: ClientCodec<Req>,
        <C as tokio_util::codec::Encoder<Req>>::Error: std::error::Error + Send + Sync + 'static,
        M: Match<C> + Send + 'static,
    {
        let open: Open<Req, C::Answer> = Arc::new(move |transport, connector| {
            ClientConnection::spawn(transport, codec(), matcher(), options.clone(), connector)
        });
        let slots = (0..self.pool_size).map(|_| Slot::default()).collect();
        Client {
            pool: Arc::new(Pool {
                connector: self.connector,
                reconnect: self.reconnect,
                slots,
                next: AtomicUsize::new(0),
                open,
                closed: AtomicBool::new(false),
            }),
        }
    }
}

struct Pool<Req, Ans> {
    connector: Connector,
    reconnect: Reconnect,
    slots: Vec<Slot<Req, Ans>>,
    next: AtomicUsize,
    open: Open<Req, Ans>,
    closed: AtomicBool,
}

/// One place in the pool. Every call reads `current` under a lock held for a clone of an `Arc`
/// and never across an await (a tokio mutex per call cost ~190 instructions, a quarter of
/// them in the guard's release); only a call that finds no usable connection waits, on
/// `connecting`, so one connect per slot runs at a time.
///
/// A call keeps its place: `connecting` is a fair (FIFO) lock, a call in its line queues its
/// request before it lets go of the lock, and while `line` counts a waiting call a newcomer
/// joins the line rather than sending on the usable connection at once. Without that, a call
/// that waited for the connect was overtaken by one that came later and found the connection
/// made (resp_proxy ran a client's `INCR` after its later ones).
struct Slot<Req, Ans> {
    current: Mutex<Option<Arc<ClientConnection<Req, Ans>>>>,
    connecting: tokio::sync::Mutex<()>,
    /// Calls in the line of `connecting` whose request is not queued yet.
    line: AtomicUsize,
}

impl<Req, Ans> Default for Slot<Req, Ans> {
    fn default() -> Self {
        Slot {
            current: Mutex::new(None),
            connecting: tokio::sync::Mutex::new(()),
            line: AtomicUsize::new(0),
        }
    }
}

impl<Req, Ans> Slot<Req, Ans> {
    /// The slot's connection, if it still takes requests.
    fn usable(&self) -> Option<Arc<ClientConnection<Req, Ans>>> {
        let current = self.current.lock().unwrap_or_else(PoisonError::into_inner);
        current
            .as_ref()
            .filter(|c| c.is_accepting())
            .map(Arc::clone)
    }

    fn replace(
        &self,
        connection: Option<Arc<ClientConnection<Req, Ans>>>,
    ) -> Option<Arc<ClientConnection<Req, Ans>>> {
        let mut current = self.current.lock().unwrap_or_else(PoisonError::into_inner);
        std::mem::replace(&mut *current, connection)
    }
}

/// A client of one backend: a pool of connections. Clones share the pool.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use std::time::{Duration, Instant};
/// use bytes::Bytes;
/// use framekit::connection::Pipelined;
/// use framekit::{FrameCodec, framing::delimited::Delimited};
/// use framekit_client::connection::Options;
/// use framekit_client::{Builder, Endpoint};
/// use framekit_server::{Ctx, Server};
///
/// let server = Server::bind("127.0.0.1:0").await?.serve(
///     FrameCodec::new(Delimited::newline()),
///     |req: Bytes, _ctx: Ctx| async move { Some(req) },
/// );
/// let client = Builder::new(Endpoint::tcp(server.local_addr().as_tcp().unwrap()))
///     .build(|| FrameCodec::new(Delimited::newline()), || Pipelined, Options::default());
/// assert_eq!(client.call(Bytes::from("ping")).await?, "ping");
/// client.close().await;
/// server.shutdown(Duration::from_secs(1)).await;
/// # Ok(()) }
/// ```
pub struct Client<Req, Ans> {
    pool: Arc<Pool<Req, Ans>>,
}

impl<Req, Ans> Clone for Client<Req, Ans> {
    fn clone(&self) -> Self {
        Client {
            pool: Arc::clone(&self.pool),
        }
    }
}

impl<Req, Ans> fmt::Debug for Client<Req, Ans> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("endpoint", self.pool.connector.name())
            .field("pool_size", &self.pool.slots.len())
            .finish()
    }
}

impl<Req: Send + 'static, Ans: Send + 'static> Client<Req, Ans> {
    /// Sends `request` on one of the pool's connections and waits for its answer or its
    /// typed failure. A request a closing connection never took is sent on another.
    ///
    /// Calls that go to one connection are sent in the order of their first polls, also
    /// when the first ones wait for its connect (with a pool of one, a caller's requests
    /// reach the server in its order); a request sent again after its connection closed
    /// keeps no place.
    pub async fn call(&self, request: Req) -> Result<Ans, Error> {
        self.call_until(request, None).await
    }

    /// [`call`](Self::call) with a deadline of its own, `timeout` from now (connecting and
    /// waiting for room included); see [`ClientConnection::call_within`].
    pub async fn call_within(&self, request: Req, timeout: Duration) -> Result<Ans, Error> {
        let deadline = Instant::now().checked_add(timeout).map(|at| (at, timeout));
        self.call_until(request, deadline).await
    }

    async fn call_until(
        &self,
        request: Req,
        deadline: Option<(Instant, Duration)>,
    ) -> Result<Ans, Error> {
        let mut request = request;
        // Each pass either answers or finds a connection closing; one pass per slot, and one
        // more, bounds the retries of a request that was never sent.
        for _ in 0..=self.pool.slots.len() {
            let queued = match deadline {
                Some((at, after)) => {
                    tokio::time::timeout_at(at.into(), self.queue(request, deadline))
                        .await
                        .unwrap_or_else(|_| Err(NotQueued::Failed(self.timed_out(after))))
                }
                None => self.queue(request, deadline).await,
            };
            match queued {
                Ok(queued) => match queued.outcome().await {
                    Outcome::Answer(answer) => return Ok(answer),
                    Outcome::Failed(error) => return Err(error),
                    Outcome::NotTaken(back) => request = back,
                },
                Err(NotQueued::NotTaken(back)) => request = back,
                Err(NotQueued::Failed(error)) => return Err(error),
            }
        }
        Err(Error::Failed {
            endpoint: Arc::clone(self.pool.connector.name()),
            delivery: Delivery::NotSent,
            cause: Cause::Ended("no_connection_took_it"),
        })
    }

    /// Queues `request` on the next connection in turn, in the order of the calls' first
    /// polls (see [`Slot`]): on the usable connection at once when no call waits in the
    /// slot's line, else in the line, connecting if the slot has no usable connection.
    async fn queue(
        &self,
        request: Req,
        deadline: Option<(Instant, Duration)>,
    ) -> Result<Queued<Req, Ans>, NotQueued<Req>> {
        let slot = self.turn().map_err(NotQueued::Failed)?;
        if slot.line.load(Acquire) == 0 {
            if let Some(connection) = slot.usable() {
                return connection.queue(request, deadline).await;
            }
        }
        let _place = InLine::join(&slot.line);
        let _connecting = slot.connecting.lock().await;
        let connection = match slot.usable() {
            Some(connection) => connection,
            None => self.connect(slot).await.map_err(NotQueued::Failed)?,
        };
        connection.queue(request, deadline).await
    }

    /// A deadline passed before any connection took the request.
    fn timed_out(&self, after: Duration) -> Error {
        let error = Error::Timeout {
            endpoint: Arc::clone(self.pool.connector.name()),
            after,
            delivery: Delivery::NotSent,
        };
        self.pool.connector.metrics().failed(&error);
        error
    }

    /// The next connection in turn, connecting (under the reconnect policy) if its slot is
    /// empty or its connection has ended.
    pub async fn connection(&self) -> Result<ClientConnection<Req, Ans>, Error> {
        Ok((*self.shared_connection().await?).clone())
    }

    /// [`connection`](Self::connection) as the pool holds it.
    async fn shared_connection(&self) -> Result<Arc<ClientConnection<Req, Ans>>, Error> {
        let slot = self.turn()?;
        if let Some(connection) = slot.usable() {
            return Ok(connection);
        }
        let _connecting = slot.connecting.lock().await;
        // Another call may have connected while this one waited.
        if let Some(connection) = slot.usable() {
            return Ok(connection);
        }
        self.connect(slot).await
    }

    /// The slot whose turn it is, unless the client is closed.
    fn turn(&self) -> Result<&Slot<Req, Ans>, Error> {
        if self.pool.closed.load(Relaxed) {
            return Err(Error::Closed);
        }
        let turn = self.pool.next.fetch_add(1, Relaxed) % self.pool.slots.len();
        Ok(&self.pool.slots[turn])
    }

    /// Connects `slot` under the reconnect policy; the caller holds its `connecting` lock.
    async fn connect(
        &self,
        slot: &Slot<Req, Ans>,
    ) -> Result<Arc<ClientConnection<Req, Ans>>, Error> {
        let transport = self.pool.connector.connect_with(&self.pool.reconnect).await;
        let transport = match transport {
            Ok(transport) => transport,
            Err(error) => {
                let error = Error::Connect(error);
                self.pool.connector.metrics().failed(&error);
                return Err(error);
            }
        };
        if self.pool.closed.load(Relaxed) {
            return Err(Error::Closed);
        }
        let connection = Arc::new((self.pool.open)(transport, &self.pool.connector));
        slot.replace(Some(Arc::clone(&connection)));
        Ok(connection)
    }

    /// Graceful close: no new requests; those in flight get their answers; returns when every
    /// connection is closed.
    pub async fn close(&self) {
        self.pool.closed.store(true, Relaxed);
        for slot in &self.pool.slots {
            // Waits for a connect under way, which sees `closed` and keeps nothing.
            let _connecting = slot.connecting.lock().await;
            if let Some(connection) = slot.replace(None) {
                connection.close().await;
            }
        }
    }
}

/// A call's place in a slot's line, counted until it is dropped (its request queued, or the
/// call failed or was abandoned).
struct InLine<'a>(&'a AtomicUsize);

impl<'a> InLine<'a> {
    fn join(line: &'a AtomicUsize) -> Self {
        line.fetch_add(1, AcqRel);
        InLine(line)
    }
}

impl Drop for InLine<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, AcqRel);
    }
}

#[cfg(test)]
mod tests;
