//! The examples' handlers ([`Handler`]s): each request is read where it lies in the
//! connection's read buffer and answered straight into its output, with nothing built, counted
//! or cloned per request. [`servers`](crate::servers) serves them.

use std::future::Ready;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use framekit::framing::length_prefixed::LengthPrefixed;
use framekit::FrameCodec;
use framekit_server::{Answer, Ctx, Handler, Responder};

use crate::commands::{Outcome, Session, SharedSession, State};
use crate::kv_protocol::{apply_view, KvResponse, KvView, ServerPayload};
use crate::resp::{BulkRef, RespView, RespViewCodec, Value};
use crate::servers::{lock, respond, with_slices};
use crate::store::Store;

/// `kv_server`'s codec: u32 BE length-prefixed requests (read where they lie), responses out.
pub type KvCodec = FrameCodec<LengthPrefixed, ServerPayload>;

/// `kv_server`: each request parsed where it lies ([`KvView`]) and applied to the shared store.
#[derive(Debug, Clone)]
pub struct Kv {
    /// The store every connection shares.
    pub store: Arc<Mutex<Store>>,
}

impl Handler<KvCodec, KvResponse> for Kv {
    type State = ();
    /// Never deferred: the store answers at once.
    type Later = Ready<Option<KvResponse>>;

    fn open(&self, _ctx: &Ctx) {}

    fn call(
        &self,
        payload: &[u8],
        _: &mut (),
        _ctx: &Ctx,
        out: &mut Responder<'_, KvCodec, KvResponse>,
    ) -> Answer<Self::Later> {
        let resp = apply_view(
            &mut lock(&self.store),
            KvView::parse(payload),
            Instant::now(),
        );
        out.send(resp);
        Answer::Done
    }
}

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
