//! A command to send ([`Command`], built with [`cmd`]), encoded as a RESP multibulk request,
//! which every Redis command accepts and which carries any bytes.

use bytes::{BufMut, Bytes, BytesMut};

/// A command and its arguments.
///
/// ```
/// use bytes::BytesMut;
/// use framekit_examples::resp_client::cmd;
///
/// let mut wire = BytesMut::new();
/// cmd("SET").arg("k").arg(&b"\r\n"[..]).encode(&mut wire);
/// assert_eq!(&wire[..], b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2\r\n\r\n\r\n");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    args: Vec<Bytes>,
}

/// A command named `name` (a literal: it is not copied), to which [`Command::arg`] adds
/// arguments.
pub fn cmd(name: &'static str) -> Command {
    // Room for the name, a key, a value and one option: most commands never grow it.
    let mut args = Vec::with_capacity(4);
    args.push(Bytes::from_static(name.as_bytes()));
    Command { args }
}

impl Command {
    /// A command of these arguments, the name first, as a server parsed them (a proxy
    /// forwards them so).
    ///
    /// ```
    /// use bytes::Bytes;
    /// use framekit_examples::resp_client::{cmd, Command};
    /// assert_eq!(Command::from_args(vec![Bytes::from("GET"), Bytes::from("k")]), cmd("GET").arg("k"));
    /// ```
    pub fn from_args(args: Vec<Bytes>) -> Command {
        Command { args }
    }

    /// Adds an argument (any bytes).
    pub fn arg(mut self, arg: impl Into<ArgBytes>) -> Self {
        self.args.push(arg.into().0);
        self
    }

    /// The name and arguments.
    pub fn args(&self) -> &[Bytes] {
        &self.args
    }

    /// Appends the multibulk request to `dst`.
    pub fn encode(&self, dst: &mut BytesMut) {
        let size: usize = self.args.iter().map(|a| a.len() + 16).sum();
        dst.reserve(size + 16);
        header(dst, b'*', self.args.len());
        for arg in &self.args {
            header(dst, b'$', arg.len());
            dst.put_slice(arg);
            dst.put_slice(b"\r\n");
        }
    }
}

fn header(dst: &mut BytesMut, kind: u8, n: usize) {
    dst.put_u8(kind);
    dst.put_slice(itoa::Buffer::new().format(n).as_bytes());
    dst.put_slice(b"\r\n");
}

/// An argument's bytes: from text, byte slices, `Bytes`, or integers as their decimal text.
#[derive(Debug, Clone)]
pub struct ArgBytes(Bytes);

impl From<&str> for ArgBytes {
    fn from(s: &str) -> Self {
        ArgBytes(Bytes::copy_from_slice(s.as_bytes()))
    }
}

impl From<String> for ArgBytes {
    fn from(s: String) -> Self {
        ArgBytes(Bytes::from(s))
    }
}

impl From<&[u8]> for ArgBytes {
    fn from(b: &[u8]) -> Self {
        ArgBytes(Bytes::copy_from_slice(b))
    }
}

impl From<Bytes> for ArgBytes {
    fn from(b: Bytes) -> Self {
        ArgBytes(b)
    }
}

impl From<i64> for ArgBytes {
    fn from(n: i64) -> Self {
        ArgBytes(Bytes::copy_from_slice(
            itoa::Buffer::new().format(n).as_bytes(),
        ))
    }
}
