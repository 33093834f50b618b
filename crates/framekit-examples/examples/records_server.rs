//! records_server: 16-byte records (u64 timestamp, f64 value, big endian) in; a query record
//! (timestamp 0xFFFFFFFFFFFFFFFF) gets a 32-byte summary: count, min, max, mean.
//!
//! ```text
//! cargo run --release -p framekit-examples --example records_server
//! # two records (t=1 v=2.0, t=2 v=4.0), then a query; prints the 32-byte summary in hex
//! printf '\0\0\0\0\0\0\0\001\100\0\0\0\0\0\0\0\0\0\0\0\0\0\0\002\100\020\0\0\0\0\0\0\377\377\377\377\377\377\377\377\0\0\0\0\0\0\0\0' \
//!   | nc -N 127.0.0.1 7004 | od -An -tx1
//! ```

use std::future::Ready;
use std::sync::{Arc, Mutex, PoisonError};

use clap::Parser;
use framekit::{framing::fixed::FixedSize, FrameCodec};
use framekit_examples::launch::{self, ServerArgs};
use framekit_examples::records::RECORD_LEN;
use framekit_examples::records::{Aggregate, Message, RecordPayload, RecordsCodec, Summary};
use framekit_server::listener::Acceptor;
use framekit_server::{Answer, Ctx, Handler, Responder, Server, ServerHandle};

/// The handler: records feed the aggregate every connection shares, a query gets its summary.
#[derive(Debug, Clone, Default)]
pub struct Records {
    aggregate: Arc<Mutex<Aggregate>>,
}

impl Handler<RecordsCodec, Summary> for Records {
    type State = ();
    /// Never deferred: the aggregate answers at once.
    type Later = Ready<Option<Summary>>;

    fn open(&self, _ctx: &Ctx) {}

    fn call(
        &self,
        msg: Message,
        _: &mut (),
        _ctx: &Ctx,
        out: &mut Responder<'_, RecordsCodec, Summary>,
    ) -> Answer<Self::Later> {
        // A panic elsewhere cannot leave the aggregate half-updated in a way that matters
        // more than staying up.
        let mut aggregate = self
            .aggregate
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        match msg {
            Message::Record(record) => {
                aggregate.add(record);
            }
            Message::Query => out.send(aggregate.summary()),
        }
        Answer::Done
    }
}

/// Serves fixed 16-byte records into one shared aggregate: framekit's [`FixedSize`] frames
/// them, [`RecordPayload`] reads each as a [`Message`], and [`RecordsCodec`] writes each
/// summary as its fixed 32 bytes.
pub fn serve<A: Acceptor>(server: Server<A, Summary>) -> ServerHandle {
    let records = FrameCodec::with_payload(FixedSize::new(RECORD_LEN), RecordPayload);
    server.serve(RecordsCodec::new(records), Records::default())
}

#[derive(Debug, Parser)]
#[command(about = "Aggregates fixed-size 16-byte records; queries get count/min/max/mean")]
struct Args {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:7004")]
    addr: String,
    #[command(flatten)]
    server: ServerArgs,
}

fn main() -> std::io::Result<()> {
    let args = Args::parse();
    launch::run(&args.addr, &args.server, serve)
}
