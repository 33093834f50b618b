//! One connection's command state (its [`Session`]: selected database, name, client library),
//! the [`ClientList`] that `CLIENT LIST` reads, and the [`SessionCodec`] that carries a
//! connection's session with each of its requests.
//!
//! A session belongs to its connection's codec, so it lives exactly as long as the connection;
//! the client list holds only weak references and forgets a session when it is dropped.

use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Instant;

use bytes::{Bytes, BytesMut};
use framekit::FrameError;
use tokio_util::codec::{Decoder, Encoder};

use crate::resp::{Request, RequestParser, RespCodec, Value};

/// What one connection has told the server about itself.
#[derive(Debug, Clone)]
pub struct Session {
    /// The client id (`CLIENT ID`, `HELLO`), the server's connection id.
    pub id: u64,
    /// The selected database (`SELECT`).
    pub db: usize,
    /// `CLIENT SETNAME`'s name.
    pub name: Option<Bytes>,
    /// `CLIENT SETINFO LIB-NAME`.
    pub lib_name: Option<Bytes>,
    /// `CLIENT SETINFO LIB-VER`.
    pub lib_ver: Option<Bytes>,
    /// The peer's address, as `CLIENT LIST` shows it (`addr=`).
    pub addr: String,
    /// The address the peer connected to (`laddr=`).
    pub laddr: String,
    /// When the connection sent its first command.
    pub created: Instant,
    /// When it last sent one.
    pub last_active: Instant,
    /// Redis's full name of the last command (`cmd=`), `NULL` before any.
    pub last_command: &'static str,
    /// Whether it is in the [`ClientList`] yet.
    pub registered: bool,
}

impl Session {
    /// A fresh session for client `id`, started at `now`.
    pub fn new(id: u64, now: Instant) -> Self {
        Session {
            id,
            db: 0,
            name: None,
            lib_name: None,
            lib_ver: None,
            addr: String::new(),
            laddr: String::new(),
            created: now,
            last_active: now,
            last_command: "NULL",
            registered: false,
        }
    }

    /// Notes a command at `now`.
    pub fn touch(&mut self, now: Instant) {
        self.last_active = now;
    }

    /// The `CLIENT INFO` / `CLIENT LIST` line, `\n`-terminated, in Redis's field order; the
    /// fields framekit does not track (file descriptor, buffer sizes) are left out.
    pub fn info_line(&self, now: Instant) -> Vec<u8> {
        let secs = |since: Instant| now.saturating_duration_since(since).as_secs();
        let mut line = format!(
            "id={} addr={} laddr={} name=",
            self.id, self.addr, self.laddr
        )
        .into_bytes();
        line.extend_from_slice(self.name.as_deref().unwrap_or_default());
        line.extend_from_slice(
            format!(
                " age={} idle={} flags=N db={} sub=0 psub=0 ssub=0 multi=-1 cmd={} user=default \
                 redir=-1 resp=2 lib-name=",
                secs(self.created),
                secs(self.last_active),
                self.db,
                self.last_command
            )
            .as_bytes(),
        );
        line.extend_from_slice(self.lib_name.as_deref().unwrap_or_default());
        line.extend_from_slice(b" lib-ver=");
        line.extend_from_slice(self.lib_ver.as_deref().unwrap_or_default());
        line.push(b'\n');
        line
    }
}

/// A session shared between its connection's codec and the handler.
pub type SharedSession = Arc<Mutex<Session>>;

/// Locks a session; a panic elsewhere cannot leave one in a state worth refusing to serve.
pub fn lock(session: &SharedSession) -> MutexGuard<'_, Session> {
    session.lock().unwrap_or_else(|p| p.into_inner())
}

/// The sessions of the open connections, as weak references.
#[derive(Debug, Default)]
pub struct ClientList {
    sessions: Vec<Weak<Mutex<Session>>>,
    /// Live sessions after the last sweep of dropped ones: the next sweep waits until the list
    /// has doubled, so sweeping costs O(1) per registration.
    live_after_sweep: usize,
}

impl ClientList {
    /// Adds a session.
    pub fn register(&mut self, session: &SharedSession) {
        if self.sessions.len() >= 2 * self.live_after_sweep.max(16) {
            self.sessions.retain(|s| s.strong_count() > 0);
            self.live_after_sweep = self.sessions.len();
        }
        self.sessions.push(Arc::downgrade(session));
    }

    /// The info lines of every open session but the caller's (which the caller holds locked),
    /// with their ids.
    pub fn others(&self, now: Instant) -> Vec<(u64, Vec<u8>)> {
        self.sessions
            .iter()
            .filter_map(Weak::upgrade)
            // The caller's own session is locked by the caller; every other one is only ever
            // locked by a handler holding the state lock, which the caller holds.
            .filter_map(|s| s.try_lock().ok().map(|s| (s.id, s.info_line(now))))
            .collect()
    }
}

/// [`RespCodec`] with the connection's [`Session`] attached to every request it decodes; a new
/// codec (one per connection) starts a new session.
#[derive(Debug)]
pub struct SessionCodec {
    inner: RespCodec,
    session: SharedSession,
}

impl SessionCodec {
    /// A codec with `parser`'s limits and a fresh session.
    pub fn new(parser: RequestParser) -> Self {
        SessionCodec {
            inner: RespCodec::new(parser),
            session: Arc::new(Mutex::new(Session::new(0, Instant::now()))),
        }
    }
}

impl Decoder for SessionCodec {
    type Item = (SharedSession, Request);
    type Error = FrameError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Self::Item>, FrameError> {
        Ok(self.inner.decode(src)?.map(|r| (self.session.clone(), r)))
    }

    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<Self::Item>, FrameError> {
        Ok(self
            .inner
            .decode_eof(src)?
            .map(|r| (self.session.clone(), r)))
    }
}

impl Encoder<Value> for SessionCodec {
    type Error = FrameError;

    fn encode(&mut self, value: Value, dst: &mut BytesMut) -> Result<(), FrameError> {
        self.inner.encode(value, dst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn info_lines_follow_redis_field_order() {
        let now = Instant::now();
        let mut s = Session::new(7, now);
        s.addr = "127.0.0.1:5000".into();
        s.laddr = "127.0.0.1:6380".into();
        s.name = Some(Bytes::from("worker"));
        s.db = 3;
        s.last_command = "client|info";
        assert_eq!(
            String::from_utf8(s.info_line(now)).unwrap(),
            "id=7 addr=127.0.0.1:5000 laddr=127.0.0.1:6380 name=worker age=0 idle=0 flags=N \
             db=3 sub=0 psub=0 ssub=0 multi=-1 cmd=client|info user=default redir=-1 resp=2 \
             lib-name= lib-ver=\n"
        );
    }

    #[test]
    fn the_client_list_forgets_dropped_sessions() {
        let now = Instant::now();
        let mut list = ClientList::default();
        let kept = Arc::new(Mutex::new(Session::new(1, now)));
        list.register(&kept);
        for id in 2..100 {
            list.register(&Arc::new(Mutex::new(Session::new(id, now))));
        }
        let others = list.others(now);
        assert_eq!(others.len(), 1);
        assert_eq!(others[0].0, 1);
        assert!(list.sessions.len() < 64, "swept as it grew");
        let _held = lock(&kept);
        assert!(
            list.others(now).is_empty(),
            "a locked session is the caller's"
        );
    }
}
