//! The connection counts memcached's `stats` reports (`curr_connections`,
//! `total_connections`): a connection is counted when it opens, and counted open until its
//! [`Open`] guard (the handler's per-connection state) is dropped.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Connections open now and accepted since start, shared by every connection.
///
/// ```
/// use std::sync::Arc;
/// use framekit_examples::memcached::Connections;
/// let connections = Arc::new(Connections::default());
/// let first = connections.open();
/// let second = connections.open();
/// drop(first);
/// assert_eq!((connections.current(), connections.total()), (1, 2));
/// drop(second);
/// assert_eq!((connections.current(), connections.total()), (0, 2));
/// ```
#[derive(Debug, Default)]
pub struct Connections {
    open: AtomicU64,
    total: AtomicU64,
}

impl Connections {
    /// Counts a connection accepted and open; it stays open in the counts until the guard is
    /// dropped.
    pub fn open(self: &Arc<Self>) -> Open {
        self.open.fetch_add(1, Ordering::Relaxed);
        self.total.fetch_add(1, Ordering::Relaxed);
        Open(Arc::clone(self))
    }

    /// Connections open now.
    pub fn current(&self) -> u64 {
        self.open.load(Ordering::Relaxed)
    }

    /// Connections accepted since start.
    pub fn total(&self) -> u64 {
        self.total.load(Ordering::Relaxed)
    }
}

/// One open connection in the counts, until it is dropped.
#[derive(Debug)]
pub struct Open(Arc<Connections>);

impl Drop for Open {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::Relaxed);
    }
}
