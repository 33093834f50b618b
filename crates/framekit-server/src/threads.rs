//! Thread-per-core: one server on N threads, each a single-threaded tokio runtime with its own
//! listener and its own accept loop, sharing only the connection limit and the shutdown.
//!
//! This room owns opening the listener again for each extra thread ([`Spread`]), starting the
//! threads, and the one [`ServerHandle`] that stops them all and sums their reports.
//!
//! A connection lives on the thread that accepted it: its reads, writes, timers and handler
//! calls never wake another thread. Each thread counts in its own [`Metrics`] (summed when
//! read) and numbers its connections in its own stride, so the request path touches nothing
//! shared; the handler and its state are shared only as far as the handler itself shares
//! them (an `Arc<Mutex<_>>` store stays one store). What is shared is per connection: the
//! permit of the connection limit, taken right after `accept` on a thread-per-core server
//! (see `accept::Order`), so a thread whose listener is quiet holds no permit another needs.
//!
//! Why a listener per thread and not one acceptor handing connections over: a handed-over
//! socket must be moved from the acceptor's reactor to the worker's, which costs a wake-up of
//! another thread per connection and ties the server to socket types that can be moved. A
//! listener per thread needs neither. With `SO_REUSEPORT` set on the listener, each thread
//! binds its own socket and the kernel spreads connections over them by their addresses;
//! without it (for example a socket inherited through `LISTEN_FDS`), the threads poll
//! duplicates of the one listening socket and whichever is free first accepts.
//!
//! ```
//! # fn main() -> std::io::Result<()> {
//! use std::time::Duration;
//! use bytes::Bytes;
//! use framekit::{FrameCodec, framing::delimited::Delimited};
//! use framekit_server::tcp::{TcpAcceptor, TcpOptions};
//! use framekit_server::{Ctx, Server};
//!
//! // Thread 1 is this single-threaded runtime; `threads(2)` starts one more.
//! let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
//! runtime.block_on(async {
//!     let listener = TcpAcceptor::bind("127.0.0.1:0", &TcpOptions::default().reuse_port(true))?;
//!     let server = Server::new(listener)
//!         .threads(2)?
//!         .serve(FrameCodec::new(Delimited::newline()), |req: Bytes, _ctx: Ctx| async move { Some(req) });
//!     // One shutdown stops both threads and sums their reports.
//!     let report = server.shutdown(Duration::from_secs(1)).await;
//!     assert_eq!(report.aborted, 0);
//!     Ok(())
//! })
//! # }
//! ```

use std::io;
use std::sync::Arc;
use std::time::Duration;

use socket2::SockRef;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use crate::accept::{accept_loop, Limits, Loop, Order, Serve};
use crate::config::ServerConfig;
use crate::listener::{Acceptor, Addr};
use crate::metrics::Metrics;
use crate::shutdown::{ServerHandle, ShutdownReport};
use crate::tcp::{TcpAcceptor, TcpOptions};

/// Opens an acceptor, on the thread (and in the runtime) that will serve it.
pub(crate) type OpenAcceptor<A> = Box<dyn FnOnce() -> io::Result<A> + Send>;

/// One extra thread's listener, opened on that thread, and its accept loop.
pub(crate) type MoreThread<A, S> = (OpenAcceptor<A>, Loop<<A as Acceptor>::Io, S>);

/// A listener that can be opened again for another thread of the same server (see
/// [`Server::threads`](crate::Server::threads)).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// use framekit_server::threads::Spread;
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
/// let _open_on_another_thread = listener.another()?;
/// # Ok(()) }
/// ```
pub trait Spread: Acceptor + Sized {
    /// Opens one more listener on the same address, or a duplicate of this one, to be
    /// registered with another thread's runtime when that thread calls it.
    fn another(&self) -> io::Result<Box<dyn FnOnce() -> io::Result<Self> + Send>>;
}

impl Spread for TcpListener {
    fn another(&self) -> io::Result<OpenAcceptor<Self>> {
        let std = another_tcp(self, &TcpOptions::default().reuse_port(true))?;
        Ok(Box::new(move || TcpListener::from_std(std)))
    }
}

impl Spread for TcpAcceptor {
    fn another(&self) -> io::Result<OpenAcceptor<Self>> {
        let options = self.options().clone();
        let std = another_tcp(self.listener(), &options)?;
        Ok(Box::new(move || TcpAcceptor::from_std(std, &options)))
    }
}

/// With `SO_REUSEPORT` on `listener`, a new socket bound to its address (its own accept queue,
/// the kernel spreads connections); otherwise a duplicate of it (one shared queue).
fn another_tcp(listener: &TcpListener, options: &TcpOptions) -> io::Result<std::net::TcpListener> {
    let socket = SockRef::from(listener);
    #[cfg(unix)]
    if socket.reuse_port()? {
        return options.listen_std(listener.local_addr()?);
    }
    let _ = options;
    let copy = socket.try_clone()?;
    copy.set_nonblocking(true)?;
    Ok(copy.into())
}

/// Starts a thread-per-core server: `first` on this runtime with `acceptor`, and one thread
/// per entry of `more`, each opening its acceptor in its own runtime.
pub(crate) fn start<A: Acceptor, S: Serve<A::Io>>(
    acceptor: A,
    first: Loop<A::Io, S>,
    more: Vec<MoreThread<A, S>>,
    config: ServerConfig,
    limits: Limits,
) -> ServerHandle {
    let mut local_addrs = acceptor.local_addrs();
    if local_addrs.is_empty() {
        local_addrs.push(Addr::other("unknown"));
    }
    let mut per_thread = vec![first.metrics.clone()];
    per_thread.extend(more.iter().map(|(_, l)| l.metrics.clone()));
    let metrics = Arc::new(Metrics::of_threads(per_thread));

    let mut stops = Vec::with_capacity(more.len() + 1);
    let mut reports = Vec::with_capacity(more.len() + 1);
    let (stop, stopped) = oneshot::channel();
    stops.push(stop);
    let first = tokio::spawn(accept_loop(
        acceptor,
        first,
        config.clone(),
        limits.clone(),
        Order::AcceptFirst,
        stopped,
    ));
    for (i, (open, this)) in more.into_iter().enumerate() {
        let (stop, stopped) = oneshot::channel();
        let (report, reported) = oneshot::channel();
        stops.push(stop);
        reports.push(reported);
        let (config, limits) = (config.clone(), limits.clone());
        let spawned = std::thread::Builder::new()
            .name(format!("framekit-{}", i + 2))
            .spawn(move || {
                let done = serve_thread(open, this, config, limits, stopped);
                let _ = report.send(done);
            });
        if let Err(e) = spawned {
            // Its report channel is dropped with the closure: it counts as nothing served.
            tracing::error!(error = %e, "could not start a server thread");
        }
    }
    let (stop, stopped) = oneshot::channel::<Duration>();
    let task = tokio::spawn(async move {
        match stopped.await {
            Ok(deadline) => {
                for stop in stops {
                    let _ = stop.send(deadline);
                }
            }
            // The handle was dropped: every loop runs on, detached, as one server would.
            Err(_) => drop(stops),
        }
        let mut total = first.await.unwrap_or_default();
        for reported in reports {
            let report = reported.await.unwrap_or_default();
            total.closed += report.closed;
            total.aborted += report.aborted;
        }
        total
    });
    ServerHandle {
        local_addrs,
        metrics,
        stop: Some(stop),
        task,
    }
}

/// One extra thread: its own single-threaded runtime, its acceptor, its accept loop.
fn serve_thread<A: Acceptor, S: Serve<A::Io>>(
    open: OpenAcceptor<A>,
    this: Loop<A::Io, S>,
    config: ServerConfig,
    limits: Limits,
    stop: oneshot::Receiver<Duration>,
) -> ShutdownReport {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            tracing::error!(error = %e, "could not build a server thread's runtime");
            return ShutdownReport::default();
        }
    };
    runtime.block_on(async move {
        match open() {
            Ok(acceptor) => {
                accept_loop(acceptor, this, config, limits, Order::AcceptFirst, stop).await
            }
            Err(e) => {
                tracing::error!(error = %e, "could not open a server thread's listener");
                ShutdownReport::default()
            }
        }
    })
}
