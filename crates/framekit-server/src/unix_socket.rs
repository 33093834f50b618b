//! A Unix domain socket listener that owns its socket file: a stale file (nothing listens on
//! it) is replaced at bind, a live one is refused, and the file is removed when the server
//! stops.

use std::io;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::task::{Context, Poll};

use tokio::net::{UnixListener, UnixStream};

use crate::listener::{Accepted, Acceptor, Addr};

/// A bound Unix socket and the file it answers at ([`Server::bind_unix`](crate::Server::bind_unix)).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// use framekit_server::{listener::Acceptor, UnixSocket};
///
/// let path = std::env::temp_dir().join(format!("framekit-doc-{}.sock", std::process::id()));
/// # let _ = std::fs::remove_file(&path);
/// let socket = UnixSocket::bind(&path)?;
/// assert!(path.exists());
/// assert!(UnixSocket::bind(&path).is_err(), "something listens there");
/// drop(socket);
/// assert!(!path.exists(), "the file goes with the listener");
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct UnixSocket {
    listener: UnixListener,
    path: PathBuf,
    /// The socket file's identity, so that only our own file is removed.
    inode: (u64, u64),
}

impl UnixSocket {
    /// Binds at `path`. A socket file already there is replaced when nothing listens on it
    /// (left by a crashed server); when something does, binding fails with `AddrInUse`. Any
    /// other kind of file is never touched. Must be called within a tokio runtime.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// use framekit_server::UnixSocket;
    ///
    /// let path = std::env::temp_dir().join(format!("framekit-stale-doc-{}.sock", std::process::id()));
    /// # let _ = std::fs::remove_file(&path);
    /// drop(std::os::unix::net::UnixListener::bind(&path)?); // a stale file, as a crash leaves it
    /// let _socket = UnixSocket::bind(&path)?; // replaced
    /// # Ok(()) }
    /// ```
    pub fn bind(path: impl AsRef<Path>) -> io::Result<Self> {
        let path = path.as_ref();
        if let Ok(meta) = std::fs::symlink_metadata(path) {
            if meta.file_type().is_socket() {
                match std::os::unix::net::UnixStream::connect(path) {
                    Ok(_) => {
                        return Err(io::Error::new(
                            io::ErrorKind::AddrInUse,
                            format!("{} is in use by a listening server", path.display()),
                        ))
                    }
                    Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {
                        tracing::info!(path = %path.display(), "replacing a stale socket file");
                        std::fs::remove_file(path)?;
                    }
                    Err(e) => return Err(e),
                }
            }
        }
        let listener = UnixListener::bind(path)?;
        let meta = std::fs::symlink_metadata(path)?;
        Ok(UnixSocket {
            listener,
            path: path.to_path_buf(),
            inode: (meta.dev(), meta.ino()),
        })
    }
}

impl Drop for UnixSocket {
    fn drop(&mut self) {
        let ours = std::fs::symlink_metadata(&self.path)
            .is_ok_and(|meta| (meta.dev(), meta.ino()) == self.inode);
        if ours {
            if let Err(e) = std::fs::remove_file(&self.path) {
                tracing::debug!(error = %e, path = %self.path.display(), "could not remove the socket file");
            }
        }
    }
}

impl Acceptor for UnixSocket {
    type Io = UnixStream;

    fn poll_accept(&mut self, cx: &mut Context<'_>) -> Poll<Option<Accepted<UnixStream>>> {
        Acceptor::poll_accept(&mut self.listener, cx)
    }

    fn local_addr(&self) -> io::Result<Addr> {
        Acceptor::local_addr(&self.listener)
    }
}
