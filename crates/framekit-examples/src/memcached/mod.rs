//! memcached's text protocol: the request [`MemcacheFraming`] (a line, then a data block whose
//! presence and length the line decides), the line's reading ([`mod@line`], [`number`]), a
//! connection's request decoder ([`RequestDecoder`]), the item [`Store`] (memory limit, LRU,
//! CAS, expiry) and the commands run against it ([`execute`]), classic and meta, with the
//! connection counts `stats` reports ([`Connections`]). All of it is sans-IO but the connection
//! codec ([`codec`]); `memcached_server` holds the handler and `serve`.

mod answer;
mod clock;
pub mod codec;
pub mod commands;
mod connections;
mod framing;
pub mod line;
mod meta;
pub mod number;
pub mod request;
mod store;

pub use answer::Env;
pub use clock::Clock;
pub use commands::{execute, Flow, VERSION};
pub use connections::{Connections, Open};
pub use framing::{
    Block, Layout, MemcacheFraming, DEFAULT_ITEM_MAX, DEFAULT_MAX_GET_LINE, DEFAULT_MAX_LINE,
    ITEM_MAX_CEILING,
};
pub use request::{Request, RequestDecoder};
pub use store::{DeltaError, Item, Mode, Store, StoreStats, Stored, DEFAULT_MEMORY_LIMIT};
