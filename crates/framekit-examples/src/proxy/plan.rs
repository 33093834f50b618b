//! From one request's arguments to what the proxy does with it ([`Plan`], made by [`plan`]):
//! an answer of its own, the request forwarded to its key's backend, or the request split into
//! one part per backend ([`Split`]) whose answers [`Split::join`] puts back in the client's
//! order. Sans-IO: no socket and no clock, so every rule is tested with bytes.

use bytes::{BufMut, Bytes, BytesMut};

use super::ring::Ring;
use super::table::{kind_of, Join, Keys, Kind, Local};
use crate::resp::{parse_i64, Value};
use crate::resp_client::Command;

/// Redis cluster's error for keys that do not share a slot, which the proxy answers for keys
/// that do not share a backend.
pub const CROSSSLOT: &str = "CROSSSLOT Keys in request don't hash to the same slot";

/// What the proxy does with one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    /// This answer (RESP bytes), from the proxy itself.
    Answer(Bytes),
    /// This answer, then the connection closes (`QUIT`).
    Close(Bytes),
    /// The request as it came, to one backend; its answer is the client's.
    Forward {
        /// The backend's index on the ring.
        backend: usize,
        /// The request.
        request: Command,
    },
    /// One part per backend, answers joined.
    Split(Split),
}

/// A command split over backends: one part per backend its keys live on, in the order each
/// backend first appears among the keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Split {
    join: Join,
    keys: usize,
    parts: Vec<Part>,
}

/// One backend's share of a split command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    /// The backend's index on the ring.
    pub backend: usize,
    /// The command with this backend's keys (and values), in the client's order.
    pub request: Command,
    /// Where each of this part's keys stands among the client's keys.
    positions: Vec<usize>,
}

/// What [`plan`] makes of `args` (the command name first) on `ring`.
///
/// ```
/// use bytes::Bytes;
/// use framekit_examples::proxy::{plan, KeyHash, Plan, Ring};
///
/// let ring = Ring::new(&["a:1", "b:2"], KeyHash::Md5, None);
/// let args = |words: &[&str]| words.iter().map(|w| Bytes::from(w.to_string())).collect();
/// assert!(matches!(plan(args(&["GET", "k"]), &ring), Plan::Forward { .. }));
/// assert_eq!(plan(args(&["PING"]), &ring), Plan::Answer(Bytes::from("+PONG\r\n")));
/// let Plan::Answer(refused) = plan(args(&["MULTI"]), &ring) else { panic!() };
/// assert!(refused.starts_with(b"-ERR 'MULTI' is not supported"));
/// ```
pub fn plan(args: Vec<Bytes>, ring: &Ring) -> Plan {
    let Some(name) = args.first() else {
        return Plan::Answer(Bytes::new());
    };
    let Some(kind) = kind_of(name) else {
        return error(format!(
            "ERR unknown command '{}' for resp_proxy, which forwards only commands whose keys it knows",
            shown(name)
        ));
    };
    match kind {
        Kind::Local(local) => answer_locally(local, &args),
        Kind::Refused(why) => refused(name, why),
        Kind::Single if args.len() >= 2 => Plan::Forward {
            backend: ring.backend_of(&args[1]),
            request: Command::from_args(args),
        },
        Kind::Split(join) if args.len() >= 2 => split(args, ring, join, 1),
        Kind::SplitPairs if args.len() >= 3 && args.len() % 2 == 1 => {
            split(args, ring, Join::AllOk, 2)
        }
        Kind::Together(keys) => together(args, ring, keys),
        Kind::Single | Kind::Split(_) | Kind::SplitPairs => arity(name),
    }
}

/// A command name as an error shows it: at most 64 bytes, lossy UTF-8.
fn shown(name: &[u8]) -> String {
    String::from_utf8_lossy(&name[..name.len().min(64)]).into_owned()
}

fn error(text: String) -> Plan {
    Plan::Answer(encoded(&Value::error(text)))
}

fn encoded(value: &Value) -> Bytes {
    let mut wire = BytesMut::new();
    value.encode(&mut wire);
    wire.freeze()
}

/// Redis's own arity error, with the name lowercased as Redis shows it.
fn arity(name: &[u8]) -> Plan {
    error(format!(
        "ERR wrong number of arguments for '{}' command",
        shown(name).to_ascii_lowercase()
    ))
}

fn refused(name: &[u8], why: &str) -> Plan {
    error(format!(
        "ERR '{}' is not supported by resp_proxy: {why}",
        shown(name).to_ascii_uppercase()
    ))
}

fn answer_locally(local: Local, args: &[Bytes]) -> Plan {
    let name = &args[0];
    match (local, args.len()) {
        (Local::Ping, 1) => Plan::Answer(Bytes::from_static(b"+PONG\r\n")),
        (Local::Ping | Local::Echo, 2) => Plan::Answer(encoded(&Value::Bulk(args[1].clone()))),
        (Local::Quit, _) => Plan::Close(Bytes::from_static(b"+OK\r\n")),
        (Local::Command, _) => Plan::Answer(Bytes::from_static(b"*0\r\n")),
        (Local::Select, 2) if &args[1][..] == b"0" => Plan::Answer(Bytes::from_static(b"+OK\r\n")),
        (Local::Select, 2) => refused(name, "a backend has one database (only SELECT 0 is)"),
        (Local::Hello, n) if n >= 2 && &args[1][..] != b"2" => Plan::Answer(Bytes::from_static(
            b"-NOPROTO sorry, this protocol version is not supported\r\n",
        )),
        (Local::Hello, _) => refused(name, "resp_proxy speaks RESP2 without a handshake"),
        (Local::Ping | Local::Echo | Local::Select, _) => arity(name),
    }
}

/// Splits the keys (each followed by `stride - 1` values) from argument 1 by backend; a
/// command whose keys all share a backend is forwarded whole.
fn split(args: Vec<Bytes>, ring: &Ring, join: Join, stride: usize) -> Plan {
    let keys = (args.len() - 1) / stride;
    let backend_of = |i: usize| ring.backend_of(&args[1 + i * stride]);
    let first = backend_of(0);
    if (1..keys).all(|i| backend_of(i) == first) {
        return Plan::Forward {
            backend: first,
            request: Command::from_args(args),
        };
    }
    // Index of each backend's part, made when the backend first appears.
    let mut part_of: Vec<Option<usize>> = vec![None; ring.backends().max(1)];
    let mut parts: Vec<(usize, Vec<Bytes>, Vec<usize>)> = Vec::new();
    for key in 0..keys {
        let backend = backend_of(key);
        let slot = backend.min(part_of.len() - 1);
        let index = *part_of[slot].get_or_insert_with(|| {
            parts.push((backend, vec![args[0].clone()], Vec::new()));
            parts.len() - 1
        });
        let (_, part_args, positions) = &mut parts[index];
        part_args.extend_from_slice(&args[1 + key * stride..1 + (key + 1) * stride]);
        positions.push(key);
    }
    Plan::Split(Split {
        join,
        keys,
        parts: parts
            .into_iter()
            .map(|(backend, args, positions)| Part {
                backend,
                request: Command::from_args(args),
                positions,
            })
            .collect(),
    })
}

/// Forwards a command whose keys share a backend to it; `CROSSSLOT` when they do not.
fn together(args: Vec<Bytes>, ring: &Ring, keys: Keys) -> Plan {
    if args.len() < 2 {
        return arity(&args[0]);
    }
    let positions: Vec<usize> = match keys {
        Keys::From(from) => (from..args.len()).collect(),
        Keys::Upto(upto) => (1..=upto.min(args.len() - 1)).collect(),
        Keys::Pairs if args.len() % 2 == 1 => (1..args.len()).step_by(2).collect(),
        Keys::Pairs => return arity(&args[0]),
        Keys::Sort => std::iter::once(1)
            .chain(
                (2..args.len() - 1)
                    .filter(|&at| args[at].eq_ignore_ascii_case(b"STORE"))
                    .map(|at| at + 1),
            )
            .collect(),
        Keys::Counted { count, dest } => {
            let declared = args
                .get(count)
                .and_then(|n| parse_i64(n))
                .and_then(|n| usize::try_from(n).ok());
            match declared {
                Some(n) if n > 0 && count + n < args.len() => {
                    let mut at: Vec<usize> = if dest { vec![1] } else { Vec::new() };
                    at.extend(count + 1..=count + n);
                    at
                }
                Some(0) if !dest => {
                    return refused(&args[0], "without keys it has no backend to go to");
                }
                // A count Redis refuses: the first argument's backend answers Redis's error.
                _ => vec![1],
            }
        }
    };
    let Some(&first) = positions.first() else {
        return arity(&args[0]);
    };
    let backend = ring.backend_of(&args[first]);
    if positions
        .iter()
        .any(|&at| ring.backend_of(&args[at]) != backend)
    {
        return error(CROSSSLOT.to_owned());
    }
    Plan::Forward {
        backend,
        request: Command::from_args(args),
    }
}

impl Split {
    /// The parts, one per backend.
    pub fn parts(&self) -> &[Part] {
        &self.parts
    }

    /// Takes the parts' requests out, for sending (their positions stay for the join).
    pub fn requests(&mut self) -> Vec<(usize, Command)> {
        self.parts
            .iter_mut()
            .map(|part| {
                let request = std::mem::replace(&mut part.request, Command::from_args(Vec::new()));
                (part.backend, request)
            })
            .collect()
    }

    /// The client's answer from the parts' `answers` (in the parts' order): each a backend's
    /// whole reply as RESP bytes, or an error reply the proxy made for a part that got none.
    /// Any error answers the whole command (the first, in part order), as a single server's
    /// would; a reply of the wrong shape answers an error that says so.
    ///
    /// ```
    /// use bytes::Bytes;
    /// use framekit_examples::proxy::{plan, KeyHash, Plan, Ring};
    ///
    /// let ring = Ring::new(&["a:1", "b:2"], KeyHash::Md5, None);
    /// let mut del = vec![Bytes::from("DEL")];
    /// del.extend((0..12).map(|i| Bytes::from(format!("{i}:key"))));
    /// let Plan::Split(split) = plan(del, &ring) else { panic!("12 keys on 2 backends") };
    /// assert_eq!(split.parts().len(), 2);
    /// // Each backend deleted 3 of its keys.
    /// let answers = split.parts().iter().map(|_| Ok(Bytes::from(":3\r\n"))).collect();
    /// assert_eq!(split.join(answers), Bytes::from(":6\r\n"));
    /// ```
    pub fn join(&self, answers: Vec<Result<Bytes, Bytes>>) -> Bytes {
        let mut replies = Vec::with_capacity(answers.len());
        for answer in answers {
            match answer {
                Err(error) => return error,
                Ok(reply) if reply.first() == Some(&b'-') => return reply,
                Ok(reply) => replies.push(reply),
            }
        }
        let joined = match self.join {
            Join::Values => self.values(&replies),
            Join::Sum => replies
                .iter()
                .try_fold(0i64, |sum, reply| {
                    integer(reply).map(|n| sum.saturating_add(n))
                })
                .map(|n| encoded(&Value::Integer(n))),
            Join::AllOk => replies
                .iter()
                .all(|r| &r[..] == b"+OK\r\n")
                .then(|| Bytes::from_static(b"+OK\r\n")),
        };
        joined.unwrap_or_else(|| {
            encoded(&Value::error(
                "ERR resp_proxy: a backend answered a split command with a reply of the wrong shape",
            ))
        })
    }

    /// `MGET`'s arrays, element by element, back in the client's key order.
    fn values(&self, replies: &[Bytes]) -> Option<Bytes> {
        let mut slots: Vec<Option<Bytes>> = vec![None; self.keys];
        for (part, reply) in self.parts.iter().zip(replies) {
            let elements = array_elements(reply)?;
            if elements.len() != part.positions.len() {
                return None;
            }
            for (element, &position) in elements.into_iter().zip(&part.positions) {
                *slots.get_mut(position)? = Some(element);
            }
        }
        let mut wire =
            BytesMut::with_capacity(16 + slots.iter().flatten().map(Bytes::len).sum::<usize>());
        wire.put_u8(b'*');
        wire.put_slice(itoa::Buffer::new().format(self.keys).as_bytes());
        wire.put_slice(b"\r\n");
        for element in slots {
            wire.put_slice(&element?);
        }
        Some(wire.freeze())
    }
}

/// `:n\r\n` as n.
fn integer(reply: &[u8]) -> Option<i64> {
    let text = reply.strip_prefix(b":")?.strip_suffix(b"\r\n")?;
    parse_i64(text)
}

/// The elements of an array reply, each as its own RESP bytes.
fn array_elements(reply: &Bytes) -> Option<Vec<Bytes>> {
    let header_end = memchr::memmem::find(reply, b"\r\n")?;
    let count = parse_i64(reply.get(1..header_end)?)?;
    if reply.first() != Some(&b'*') {
        return None;
    }
    let mut at = header_end + 2;
    let mut elements = Vec::with_capacity(usize::try_from(count).ok()?.min(1024));
    for _ in 0..count {
        let rest = reply.slice(at..);
        let (_, used) = crate::resp_client::build(&rest)?;
        elements.push(rest.slice(..used));
        at += used;
    }
    (at == reply.len()).then_some(elements)
}

#[cfg(test)]
mod tests;
