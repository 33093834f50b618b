//! The proxy: a listener on 127.0.0.1, one task per proxied connection (a pair of sockets),
//! the plan read when a connection is accepted, and counters of how pairs ended. Dropping the
//! [`FaultProxy`] stops it and drops every pair.

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};

use crate::plan::Plan;
use crate::pump::{pump, Ended};

/// Pairs open at once; a connection beyond it is closed as soon as it is accepted, so a test
/// that leaks connections fails instead of exhausting the machine.
const MAX_PAIRS: usize = 1024;

/// How a proxied connection ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PairEnd {
    /// Both directions reached EOF (possibly one by a planned half-close).
    Closed,
    /// The plan reset both sockets.
    Reset,
    /// A read or write failed on either side; both sockets were reset.
    Failed,
    /// The target refused the connection (or the proxy was full); the client's socket was reset.
    Refused,
}

impl PairEnd {
    fn slot(self) -> usize {
        self as usize
    }
}

#[derive(Default)]
struct Counters {
    accepted: AtomicU64,
    ended: [AtomicU64; 4],
}

/// A fault-injecting TCP proxy in front of one target.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// use framekit_testproxy::{FaultProxy, Faults, PairEnd, Plan};
/// use tokio::io::{AsyncReadExt, AsyncWriteExt};
///
/// let backend = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
/// let target = backend.local_addr()?;
/// tokio::spawn(async move {
///     let (mut s, _) = backend.accept().await?;
///     s.write_all(b"0123456789").await?;
///     s.read(&mut [0u8; 1]).await
/// });
/// // The client gets four bytes of the answer, then a reset.
/// let proxy = FaultProxy::start(target, Plan::default().downstream(Faults::default().reset_after(4))).await?;
/// let mut client = tokio::net::TcpStream::connect(proxy.local_addr()).await?;
/// let mut got = Vec::new();
/// let end = client.read_to_end(&mut got).await;
/// assert_eq!(got, b"0123");
/// assert_eq!(end.unwrap_err().kind(), std::io::ErrorKind::ConnectionReset);
/// # Ok(()) }
/// ```
pub struct FaultProxy {
    addr: SocketAddr,
    plan: Arc<Mutex<Plan>>,
    counters: Arc<Counters>,
    task: JoinHandle<()>,
}

impl FaultProxy {
    /// Listens on a free port of 127.0.0.1 and forwards to `target` under `plan`.
    pub async fn start(target: SocketAddr, plan: Plan) -> io::Result<FaultProxy> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let plan = Arc::new(Mutex::new(plan));
        let counters = Arc::new(Counters::default());
        let task = tokio::spawn(accept_loop(
            listener,
            target,
            Arc::clone(&plan),
            Arc::clone(&counters),
        ));
        Ok(FaultProxy {
            addr,
            plan,
            counters,
            task,
        })
    }

    /// Where clients connect.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The plan for connections accepted from now on (open ones keep theirs).
    pub fn set_plan(&self, plan: Plan) {
        *self.plan.lock().unwrap_or_else(|e| e.into_inner()) = plan;
    }

    /// Connections accepted so far.
    pub fn accepted(&self) -> u64 {
        self.counters.accepted.load(Relaxed)
    }

    /// Connections that ended so far in `end`.
    pub fn ended(&self, end: PairEnd) -> u64 {
        self.counters.ended[end.slot()].load(Relaxed)
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn accept_loop(
    listener: TcpListener,
    target: SocketAddr,
    plan: Arc<Mutex<Plan>>,
    counters: Arc<Counters>,
) {
    // Owned here, so aborting this task drops (and aborts) every pair.
    let mut pairs = JoinSet::new();
    loop {
        let client = match listener.accept().await {
            Ok((client, _)) => client,
            // Out of descriptors or a connection reset before accept: wait, try again.
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        counters.accepted.fetch_add(1, Relaxed);
        while pairs.try_join_next().is_some() {}
        if pairs.len() >= MAX_PAIRS {
            reset(&client);
            counters.ended[PairEnd::Refused.slot()].fetch_add(1, Relaxed);
            continue;
        }
        let plan = *plan.lock().unwrap_or_else(|e| e.into_inner());
        let counters = Arc::clone(&counters);
        pairs.spawn(async move {
            let end = pair(client, target, plan).await;
            counters.ended[end.slot()].fetch_add(1, Relaxed);
        });
    }
}

/// Forwards one connection until both directions end or a fault ends it.
async fn pair(mut client: TcpStream, target: SocketAddr, plan: Plan) -> PairEnd {
    let mut upstream = match TcpStream::connect(target).await {
        Ok(s) => s,
        Err(_) => {
            reset(&client);
            return PairEnd::Refused;
        }
    };
    // Sliced bytes must leave as single segments, not be coalesced by Nagle.
    let _ = client.set_nodelay(true);
    let _ = upstream.set_nodelay(true);
    let end = {
        let (client_read, client_write) = client.split();
        let (target_read, target_write) = upstream.split();
        let up = pump(client_read, target_write, plan.upstream_faults());
        let down = pump(target_read, client_write, plan.downstream_faults());
        tokio::pin!(up, down);
        let (mut up_open, mut down_open) = (true, true);
        loop {
            let ended = tokio::select! {
                e = &mut up, if up_open => { up_open = false; e }
                e = &mut down, if down_open => { down_open = false; e }
            };
            match ended {
                Ended::Reset => break PairEnd::Reset,
                Ended::Failed => break PairEnd::Failed,
                Ended::Eof | Ended::HalfClosed if !up_open && !down_open => break PairEnd::Closed,
                Ended::Eof | Ended::HalfClosed => {}
            }
        }
    };
    if end != PairEnd::Closed {
        reset(&client);
        reset(&upstream);
    }
    end
}

/// Makes the coming close of `stream` a reset: SO_LINGER with a zero timeout.
fn reset(stream: &TcpStream) {
    let _ = socket2::SockRef::from(stream).set_linger(Some(Duration::ZERO));
}
