//! One connection's command state (its [`Session`]: selected database, name, client library),
//! the [`ClientList`] that `CLIENT LIST` reads, and the [`SessionCodec`] that carries a
//! connection's session with each of its requests.
//!
//! A session belongs to its connection's codec, so it lives exactly as long as the connection;
//! the client list holds only weak references and forgets a session when it is dropped.
//!
//! Memory: a session is one allocation of 120 bytes (the `Arc`, the lock and 96 bytes of
//! fields), which every connection carries while idle. What only a client that ran `CLIENT
//! SETNAME` or `CLIENT SETINFO` needs is behind one `Option<Box<..>>`, and the addresses
//! `CLIENT LIST` shows are formatted from the connection's [`Ctx`] when asked, not stored as
//! strings.

use std::fmt::Write as _;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Instant;

use bytes::{Bytes, BytesMut};
use framekit::FrameError;
use framekit_server::Ctx;
use tokio_util::codec::{Decoder, Encoder};

use crate::resp::{Request, RequestParser, RespCodec, Value};

/// What one connection has told the server about itself.
#[derive(Debug, Clone)]
pub struct Session {
    /// The client id (`CLIENT ID`, `HELLO`), the server's connection id.
    pub id: u64,
    /// The selected database (`SELECT`).
    pub db: usize,
    /// What `CLIENT SETNAME` and `CLIENT SETINFO` said; `None` until one of them says
    /// something.
    names: Option<Box<Names>>,
    /// The connection, from its first command ([`register`](Session::register)): `CLIENT
    /// LIST`'s `addr=`, and its `laddr=` behind a PROXY preamble.
    conn: Option<Ctx>,
    /// The address the server listens on (`laddr=` without a PROXY preamble), shared by
    /// every session of the server.
    laddr: Option<Arc<str>>,
    /// When the connection sent its first command.
    pub created: Instant,
    /// When it last sent one.
    pub last_active: Instant,
    /// Redis's full name of the last command (`cmd=`), `NULL` before any.
    pub last_command: &'static str,
}

/// The names a client gave itself.
#[derive(Debug, Clone, Default)]
struct Names {
    /// `CLIENT SETNAME`'s name.
    name: Option<Bytes>,
    /// `CLIENT SETINFO LIB-NAME`.
    lib_name: Option<Bytes>,
    /// `CLIENT SETINFO LIB-VER`.
    lib_ver: Option<Bytes>,
}

impl Session {
    /// A fresh session for client `id`, started at `now`.
    ///
    /// ```
    /// use std::time::Instant;
    /// use bytes::Bytes;
    /// use framekit_examples::commands::Session;
    ///
    /// let mut session = Session::new(7, Instant::now());
    /// assert_eq!(session.name(), None);
    /// session.set_name(Some(Bytes::from("worker")));
    /// assert_eq!(session.name(), Some(&Bytes::from("worker")));
    /// ```
    pub fn new(id: u64, now: Instant) -> Self {
        Session {
            id,
            db: 0,
            names: None,
            conn: None,
            laddr: None,
            created: now,
            last_active: now,
            last_command: "NULL",
        }
    }

    /// Notes a command at `now`.
    pub fn touch(&mut self, now: Instant) {
        self.last_active = now;
    }

    /// Whether the session belongs to a connection yet ([`register`](Session::register)).
    pub fn is_registered(&self) -> bool {
        self.conn.is_some()
    }

    /// Ties the session to its connection at its first command, at `now`: the client id
    /// becomes the connection's, and `CLIENT LIST` shows its addresses (`laddr` is the
    /// server's listening address, unless a PROXY header named another).
    pub fn register(&mut self, ctx: &Ctx, laddr: &Arc<str>, now: Instant) {
        self.id = ctx.id();
        self.conn = Some(ctx.clone());
        self.laddr = Some(laddr.clone());
        self.created = now;
    }

    /// `CLIENT SETNAME`'s name.
    pub fn name(&self) -> Option<&Bytes> {
        self.names.as_ref()?.name.as_ref()
    }

    /// `CLIENT SETINFO LIB-NAME`'s value.
    pub fn lib_name(&self) -> Option<&Bytes> {
        self.names.as_ref()?.lib_name.as_ref()
    }

    /// `CLIENT SETINFO LIB-VER`'s value.
    pub fn lib_ver(&self) -> Option<&Bytes> {
        self.names.as_ref()?.lib_ver.as_ref()
    }

    /// Sets (or with `None` clears) the client's name.
    pub fn set_name(&mut self, name: Option<Bytes>) {
        self.set(name, |names| &mut names.name);
    }

    /// Sets (or clears) the client library's name.
    pub fn set_lib_name(&mut self, value: Option<Bytes>) {
        self.set(value, |names| &mut names.lib_name);
    }

    /// Sets (or clears) the client library's version.
    pub fn set_lib_ver(&mut self, value: Option<Bytes>) {
        self.set(value, |names| &mut names.lib_ver);
    }

    /// Sets one name; a session that never had one makes no box to clear one.
    fn set(&mut self, value: Option<Bytes>, field: impl FnOnce(&mut Names) -> &mut Option<Bytes>) {
        match (&mut self.names, value) {
            (None, None) => {}
            (Some(names), value) => *field(names) = value,
            (names @ None, value) => *field(names.get_or_insert_with(Box::default)) = value,
        }
    }

    /// The `CLIENT INFO` / `CLIENT LIST` line, `\n`-terminated, in Redis's field order; the
    /// fields framekit does not track (file descriptor, buffer sizes) are left out.
    pub fn info_line(&self, now: Instant) -> Vec<u8> {
        let secs = |since: Instant| now.saturating_duration_since(since).as_secs();
        let mut text = format!("id={} addr=", self.id);
        if let Some(conn) = &self.conn {
            let _ = write!(text, "{}", conn.peer());
        }
        text.push_str(" laddr=");
        match self.conn.as_ref().and_then(Ctx::destination) {
            Some(destination) => {
                let _ = write!(text, "{destination}");
            }
            None => text.push_str(self.laddr.as_deref().unwrap_or_default()),
        }
        text.push_str(" name=");
        let mut line = text.into_bytes();
        line.extend_from_slice(self.name().map_or(&[][..], |n| n));
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
        line.extend_from_slice(self.lib_name().map_or(&[][..], |n| n));
        line.extend_from_slice(b" lib-ver=");
        line.extend_from_slice(self.lib_ver().map_or(&[][..], |n| n));
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
    use framekit::framing::proxy::ProxyHeader;
    use framekit_server::Addr;
    use tokio_util::sync::CancellationToken;

    use super::*;

    #[test]
    fn info_lines_follow_redis_field_order() {
        let now = Instant::now();
        let mut s = Session::new(0, now);
        let peer = Addr::Tcp("127.0.0.1:5000".parse().unwrap());
        let ctx = Ctx::new(7, peer, CancellationToken::new());
        s.register(&ctx, &Arc::from("127.0.0.1:6380"), now);
        s.set_name(Some(Bytes::from("worker")));
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
    fn behind_a_proxy_header_the_info_line_shows_both_ends_the_client_used() {
        let now = Instant::now();
        let balancer = Addr::Tcp("127.0.0.1:40000".parse().unwrap());
        let ctx = Ctx::new(3, balancer, CancellationToken::new()).with_proxy_header(
            ProxyHeader::v2_proxy(
                "192.0.2.1:5000".parse().unwrap(),
                "10.0.0.1:6379".parse().unwrap(),
            ),
        );
        let mut s = Session::new(0, now);
        s.register(&ctx, &Arc::from("127.0.0.1:6380"), now);
        let line = String::from_utf8(s.info_line(now)).unwrap();
        assert!(
            line.starts_with("id=3 addr=192.0.2.1:5000 laddr=10.0.0.1:6379 name= "),
            "{line}"
        );
    }

    #[test]
    fn names_take_room_only_once_a_client_gives_one() {
        let mut s = Session::new(1, Instant::now());
        s.set_name(None);
        s.set_lib_ver(None);
        assert!(s.names.is_none(), "clearing made a box");
        s.set_lib_name(Some(Bytes::from("redis-py")));
        assert_eq!(s.lib_name(), Some(&Bytes::from("redis-py")));
        assert_eq!((s.name(), s.lib_ver()), (None, None));
        s.set_lib_name(None);
        assert_eq!(s.lib_name(), None);
    }

    /// Every idle connection of resp_server carries one session: 96 bytes of fields when this
    /// was stated (it was 216, with three names and two address strings inline).
    #[test]
    fn a_session_stays_small() {
        let size = std::mem::size_of::<Session>();
        assert!(size <= 96, "a session grew to {size} bytes");
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
