//! The examples' handlers ([`Handler`]s): each request is read where it lies in the
//! connection's read buffer and answered straight into its output, with nothing built, counted
//! or cloned per request. [`servers`](crate::servers) serves them.

use std::future::Ready;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use framekit_server::{Answer, Ctx, Handler, Responder};

use crate::commands::{Outcome, Session, SharedSession, State};
use crate::resp::{BulkRef, RespView, RespViewCodec, Value};
use crate::servers::{respond, with_slices};

/// `resp_server`: each request's arguments read where they lie ([`RespView::Args`]) and run
/// against the shared state; the connection's session is its handler state, lent to every
/// request (no clone per request).
#[derive(Debug)]
pub struct Resp {
    /// What every connection shares (databases, configuration, client list).
    pub state: Arc<Mutex<State>>,
    /// The listening address, for `CLIENT INFO`'s `laddr` (shared by every session).
    pub laddr: Arc<str>,
}

impl Handler<RespViewCodec, Value> for Resp {
    type State = SharedSession;
    /// Never deferred: every command answers at once.
    type Later = Ready<Option<Value>>;

    fn open(&self, _ctx: &Ctx) -> SharedSession {
        Arc::new(Mutex::new(Session::new(0, Instant::now())))
    }

    fn call(
        &self,
        request: RespView<'_>,
        session: &mut SharedSession,
        ctx: &Ctx,
        out: &mut Responder<'_, RespViewCodec, Value>,
    ) -> Answer<Self::Later> {
        let answer = |outcome: Outcome<'_>| match outcome {
            Outcome::Reply(v) => {
                out.send(v);
                Answer::Done
            }
            Outcome::Bulk(value) => {
                out.send(BulkRef(value));
                Answer::Done
            }
            Outcome::ReplyAndClose(v) => {
                out.send(v);
                Answer::Close
            }
            Outcome::Nothing => Answer::Done,
        };
        // Matched by reference: the view (160 bytes of argument slices) is read where the
        // engine put it, not moved again.
        match &request {
            RespView::Args(args) => respond(
                &self.state,
                session,
                ctx,
                &self.laddr,
                args.as_slice(),
                answer,
            ),
            RespView::Parsed(Ok(args)) => with_slices(args, |args| {
                respond(&self.state, session, ctx, &self.laddr, args, answer)
            }),
            RespView::Parsed(Err(e)) => {
                tracing::debug!(error = %e, "protocol error, closing");
                out.send(e.to_reply());
                Answer::Close
            }
        }
    }
}
