//! Handler kinds: what makes one dispatcher per connection, for a codec, from the server's
//! handler (per request, per view, per connection).

use std::sync::Arc;

use crate::context::Ctx;

use super::dispatch::Dispatch;
use super::intake::Intake;
use super::Shared;

/// A kind of handler: makes the dispatcher of each connection, whose requests come through
/// codec `C`.
pub(crate) trait HandlerKind<C, R>: Send + Sync + 'static {
    /// What the dispatcher's [`Dispatch::push`] takes.
    type Input;
    /// The dispatcher it makes.
    type Dispatch: Dispatch<Self::Input, Resp = R> + Intake<C, R> + 'static;
    /// The dispatcher of the connection `ctx`.
    fn start(&self, ctx: &Ctx, shared: &Arc<Shared<R>>) -> Self::Dispatch;
}
