//! One client connection as its callers see it ([`ClientConnection`]): a handle to the driver's
//! task, cheap to clone, that sends requests and awaits their answers, with the number of
//! requests it carries for a balancer ([`load`](ClientConnection::load)), and a graceful close.
//! [`Options`] say how a connection is set up: the machine's settings and, for multiplexed
//! protocols, how a request carries its tag.

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use framekit::connection::{Connection, Delivery, Match, Settings};
use tokio::sync::{mpsc, oneshot, watch};

use crate::call::{Call, Message, NotQueued, Outcome};
use crate::codec::ClientCodec;
use crate::driver::Driver;
use crate::error::{Cause, Error};
use crate::shared::Shared;
pub use crate::shared::Tagger;
use crate::transport::Transport;

/// How client connections are set up.
///
/// ```
/// use framekit::connection::Settings;
/// use framekit_client::connection::Options;
///
/// let options = Options::<Vec<u8>>::default().settings(Settings::default().max_in_flight(16));
/// assert_eq!(options.machine_settings().in_flight_limit(), 16);
/// ```
pub struct Options<Req> {
    settings: Settings,
    tagger: Option<Tagger<Req>>,
}

impl<Req> Clone for Options<Req> {
    fn clone(&self) -> Self {
        Options {
            settings: self.settings,
            tagger: self.tagger.clone(),
        }
    }
}

impl<Req> Default for Options<Req> {
    fn default() -> Self {
        Options {
            settings: Settings::default(),
            tagger: None,
        }
    }
}

impl<Req> fmt::Debug for Options<Req> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Options")
            .field("settings", &self.settings)
            .field("multiplexed", &self.tagger.is_some())
            .finish()
    }
}

impl<Req> Options<Req> {
    /// The connection machine's limits and timeouts: requests in flight per connection
    /// (callers beyond it wait), the water marks, the default request deadline
    /// ([`Settings::exchange`]), idle and write timeouts.
    pub fn settings(mut self, settings: Settings) -> Self {
        self.settings = settings;
        self
    }

    /// Multiplexed: each request gets a tag through `tagger`, and answers are matched by the
    /// tag the connection's [`Match`] reads (pipelined, in request order, when unset).
    pub fn tagged(mut self, tagger: impl Fn(&mut Req, u64) + Send + Sync + 'static) -> Self {
        self.tagger = Some(Arc::new(tagger));
        self
    }

    /// The machine settings in force.
    pub fn machine_settings(&self) -> &Settings {
        &self.settings
    }
}

/// A client connection: send requests, await answers. Clones share the connection.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use std::time::Duration;
/// use bytes::Bytes;
/// use framekit::connection::Pipelined;
/// use framekit::{FrameCodec, framing::delimited::Delimited};
/// use framekit_client::connection::{ClientConnection, Options};
/// use framekit_client::{Connector, Endpoint, Reconnect};
/// use framekit_server::{Ctx, Server};
///
/// let server = Server::bind("127.0.0.1:0").await?.serve(
///     FrameCodec::new(Delimited::newline()),
///     |req: Bytes, _ctx: Ctx| async move { Some(Bytes::from([&b"re:"[..], &req].concat())) },
/// );
/// let connector = Connector::new(Endpoint::tcp(server.local_addr().as_tcp().unwrap()));
/// let transport = connector.connect_with(&Reconnect::Never).await?;
/// let conn = ClientConnection::spawn(
///     transport,
///     FrameCodec::new(Delimited::newline()),
///     Pipelined,
///     Options::default(),
///     &connector,
/// );
/// let (a, b) = tokio::join!(conn.call(Bytes::from("a")), conn.call(Bytes::from("b")));
/// assert_eq!((a?, b?), (Bytes::from("re:a"), Bytes::from("re:b")));
/// conn.close().await;
/// server.shutdown(Duration::from_secs(1)).await;
/// # Ok(()) }
/// ```
pub struct ClientConnection<Req, Ans> {
    calls: mpsc::Sender<Message<Req, Ans>>,
    shared: Arc<Shared>,
    done: watch::Receiver<bool>,
}

impl<Req, Ans> Clone for ClientConnection<Req, Ans> {
    fn clone(&self) -> Self {
        ClientConnection {
            calls: self.calls.clone(),
            shared: Arc::clone(&self.shared),
            done: self.done.clone(),
        }
    }
}

impl<Req, Ans> fmt::Debug for ClientConnection<Req, Ans> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientConnection")
            .field("endpoint", &self.shared.endpoint)
            .field("carried", &self.load())
            .field("accepting", &self.is_accepting())
            .finish()
    }
}

impl<Req: Send + 'static, Ans: Send + 'static> ClientConnection<Req, Ans> {
    /// Starts the driver of a connection over `transport` on the current runtime: `codec`
    /// frames it, `matcher` matches answers ([`Pipelined`](framekit::connection::Pipelined)
    /// or a tag reader with [`Options::tagged`]); errors and metrics name `connector`'s
    /// endpoint.
    pub fn spawn<C, M>(
        transport: Transport,
        codec: C,
        matcher: M,
        options: Options<Req>,
        connector: &crate::Connector,
    ) -> Self
    where
        C: ClientCodec<Req, Answer = Ans>,
        <C as tokio_util::codec::Encoder<Req>>::Error: std::error::Error + Send + Sync + 'static,
        M: Match<C> + Send + 'static,
    {
        let settings = options.settings;
        let conn = Connection::client(codec, matcher, settings, Instant::now());
        // Callers beyond the machine's bound wait for a place in this channel: as many
        // waiting as may be in flight, and no more.
        let (calls, receiver) = mpsc::channel(settings.in_flight_limit());
        let shared = Arc::new(Shared {
            endpoint: Arc::clone(connector.name()),
            metrics: connector.metrics().clone(),
            accepting: AtomicBool::new(true),
            carried: AtomicUsize::new(0),
        });
        let (done_tx, done) = watch::channel(false);
        let driver = Driver::new(
            conn,
            transport,
            receiver,
            options.tagger,
            Arc::clone(&shared),
            done_tx,
        );
        tokio::spawn(driver.run());
        ClientConnection {
            calls,
            shared,
            done,
        }
    }

    /// Sends `request` and waits for its answer, or its typed failure. Waits first while the
    /// connection carries its bound of requests. The deadline is the settings'
    /// ([`Settings::exchange`]).
    pub async fn call(&self, request: Req) -> Result<Ans, Error> {
        self.finish(self.send(request, None).await)
    }

    /// [`call`](Self::call) with a deadline of its own, `timeout` from now, waiting for room
    /// included. On expiry the caller gets [`Error::Timeout`] saying whether the request was
    /// written; a late answer is consumed and dropped by the connection.
    pub async fn call_within(&self, request: Req, timeout: Duration) -> Result<Ans, Error> {
        let deadline = Instant::now().checked_add(timeout).map(|at| (at, timeout));
        self.finish(self.send(request, deadline).await)
    }

    fn finish(&self, outcome: Outcome<Req, Ans>) -> Result<Ans, Error> {
        match outcome {
            Outcome::Answer(answer) => Ok(answer),
            Outcome::Failed(error) => Err(error),
            Outcome::NotTaken(_) => Err(self.not_taken()),
        }
    }

    /// Sends `request` with its own deadline, if any (the instant, and the timeout it came
    /// from); a request the connection never took comes back in the outcome.
    pub(crate) async fn send(
        &self,
        request: Req,
        deadline: Option<(Instant, Duration)>,
    ) -> Outcome<Req, Ans> {
        match self.queue(request, deadline).await {
            Ok(queued) => queued.outcome().await,
            Err(NotQueued::NotTaken(request)) => Outcome::NotTaken(request),
            Err(NotQueued::Failed(error)) => Outcome::Failed(error),
        }
    }

    /// Puts `request` in the connection's queue, waiting for room (against its deadline, if
    /// any), and returns the handle its outcome comes back on. Callers take their places in
    /// the queue in the order they first wait for room (the channel's semaphore is fair), so
    /// the driver sends them in that order. A request not queued comes back, or the error.
    pub(crate) async fn queue(
        &self,
        request: Req,
        deadline: Option<(Instant, Duration)>,
    ) -> Result<Queued<Req, Ans>, NotQueued<Req>> {
        let (reply, answer) = oneshot::channel();
        let carried = Carried::new(&self.shared);
        let call = Call {
            request,
            reply,
            deadline,
        };
        let sent = match deadline {
            // Waiting for room counts against the deadline; past it, nothing was sent.
            Some((at, timeout)) => {
                match tokio::time::timeout_at(at.into(), self.calls.send(Message::Call(call))).await
                {
                    Ok(sent) => sent,
                    Err(_) => {
                        let error = Error::Timeout {
                            endpoint: Arc::clone(&self.shared.endpoint),
                            after: timeout,
                            delivery: Delivery::NotSent,
                        };
                        self.shared.metrics.failed(&error);
                        return Err(NotQueued::Failed(error));
                    }
                }
            }
            None => self.calls.send(Message::Call(call)).await,
        };
        match sent {
            Ok(()) => Ok(Queued { answer, carried }),
            Err(mpsc::error::SendError(Message::Call(call))) => {
                Err(NotQueued::NotTaken(call.request))
            }
            Err(mpsc::error::SendError(Message::Close)) => Err(NotQueued::Failed(Error::Closed)),
        }
    }

    pub(crate) fn not_taken(&self) -> Error {
        Error::Failed {
            endpoint: Arc::clone(&self.shared.endpoint),
            delivery: Delivery::NotSent,
            cause: Cause::Ended("closed"),
        }
    }
}

impl<Req, Ans> ClientConnection<Req, Ans> {
    /// Requests sent through this connection's handles and not yet answered.
    pub fn load(&self) -> usize {
        self.shared.carried.load(Relaxed)
    }

    /// Whether the connection still takes requests (it is not closing or closed).
    pub fn is_accepting(&self) -> bool {
        self.shared.accepting.load(Relaxed) && !self.calls.is_closed()
    }

    /// Graceful close: no new requests; those in flight get their answers; then the
    /// transport is closed. Returns when the connection is closed.
    pub async fn close(&self) {
        self.shared.accepting.store(false, Relaxed);
        let _ = self.calls.send(Message::Close).await;
        self.closed().await;
    }

    /// Returns when the connection is closed (its driver has ended).
    pub async fn closed(&self) {
        let mut done = self.done.clone();
        let _ = done.wait_for(|done| *done).await;
    }

    pub(crate) fn sender(&self) -> &mpsc::Sender<Message<Req, Ans>> {
        &self.calls
    }

    pub(crate) fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }
}

/// A request in a connection's queue: its outcome comes back through this, and it counts in
/// the connection's load until then.
pub(crate) struct Queued<Req, Ans> {
    answer: oneshot::Receiver<Outcome<Req, Ans>>,
    carried: Carried,
}

impl<Req, Ans> Queued<Req, Ans> {
    /// The request's answer or its typed failure.
    pub(crate) async fn outcome(self) -> Outcome<Req, Ans> {
        self.answer.await.unwrap_or_else(|_| {
            // The driver ended without answering: it answers every call it holds, so this is
            // a driver that panicked.
            Outcome::Failed(Error::Failed {
                endpoint: Arc::clone(&self.carried.0.endpoint),
                delivery: Delivery::MaybeApplied,
                cause: Cause::Ended("driver_gone"),
            })
        })
    }
}

/// One request in a connection's load, until dropped (answered, failed or abandoned).
pub(crate) struct Carried(Arc<Shared>);

impl Carried {
    pub(crate) fn new(shared: &Arc<Shared>) -> Self {
        shared.carried.fetch_add(1, Relaxed);
        Carried(Arc::clone(shared))
    }
}

impl Drop for Carried {
    fn drop(&mut self) {
        self.0.carried.fetch_sub(1, Relaxed);
    }
}
