//! The client in the tower ecosystem: [`Client`] and [`ClientConnection`] are
//! `tower::Service`s, and a connection is `tower::load::Load` (the requests it carries), so
//! `balance::p2c`, `timeout`, `retry`, `limit` and discovery compose with them.
//!
//! A connection's `poll_ready` reserves a place in its bounded channel (backpressure reaches the
//! balancer); the pool's is always ready, since `call` waits for a connection itself.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio_util::sync::PollSender;

use crate::call::{Call, Message, Outcome};
use crate::connection::{Carried, ClientConnection};
use crate::error::Error;
use crate::pool::Client;

/// The future of a call through the tower interface.
pub type CallFuture<Ans> = Pin<Box<dyn Future<Output = Result<Ans, Error>> + Send>>;

impl<Req: Send + 'static, Ans: Send + 'static> tower::Service<Req> for Client<Req, Ans> {
    type Response = Ans;
    type Error = Error;
    type Future = CallFuture<Ans>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Req) -> CallFuture<Ans> {
        let client = self.clone();
        Box::pin(async move { client.call(request).await })
    }
}

/// A connection as a tower service, with its place in the channel reserved by `poll_ready`.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use std::time::Duration;
/// use bytes::Bytes;
/// use framekit::connection::Pipelined;
/// use framekit::{FrameCodec, framing::delimited::Delimited};
/// use framekit_client::connection::{ClientConnection, Options};
/// use framekit_client::tower::ConnectionService;
/// use framekit_client::{Connector, Endpoint, Reconnect};
/// use framekit_server::{Ctx, Server};
/// use tower::{Service, ServiceExt};
///
/// let server = Server::bind("127.0.0.1:0").await?.serve(
///     FrameCodec::new(Delimited::newline()),
///     |req: Bytes, _ctx: Ctx| async move { Some(req) },
/// );
/// let connector = Connector::new(Endpoint::tcp(server.local_addr().as_tcp().unwrap()));
/// let transport = connector.connect_with(&Reconnect::Never).await?;
/// let conn = ClientConnection::spawn(
///     transport, FrameCodec::new(Delimited::newline()), Pipelined, Options::default(), &connector);
/// let mut service = ConnectionService::new(conn.clone());
/// let answer = service.ready().await?.call(Bytes::from("hi")).await?;
/// assert_eq!(answer, "hi");
/// conn.close().await;
/// server.shutdown(Duration::from_secs(1)).await;
/// # Ok(()) }
/// ```
pub struct ConnectionService<Req, Ans> {
    connection: ClientConnection<Req, Ans>,
    sender: PollSender<Message<Req, Ans>>,
}

impl<Req: Send + 'static, Ans: Send + 'static> ConnectionService<Req, Ans> {
    /// The service of `connection`.
    pub fn new(connection: ClientConnection<Req, Ans>) -> Self {
        let sender = PollSender::new(connection.sender().clone());
        ConnectionService { connection, sender }
    }

    /// The connection.
    pub fn connection(&self) -> &ClientConnection<Req, Ans> {
        &self.connection
    }
}

impl<Req: Send + 'static, Ans: Send + 'static> Clone for ConnectionService<Req, Ans> {
    fn clone(&self) -> Self {
        ConnectionService::new(self.connection.clone())
    }
}

impl<Req: Send + 'static, Ans: Send + 'static> tower::Service<Req> for ConnectionService<Req, Ans> {
    type Response = Ans;
    type Error = Error;
    type Future = CallFuture<Ans>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        match self.sender.poll_reserve(cx) {
            Poll::Ready(Ok(())) => Poll::Ready(Ok(())),
            Poll::Ready(Err(_)) => Poll::Ready(Err(Error::Closed)),
            Poll::Pending => Poll::Pending,
        }
    }

    fn call(&mut self, request: Req) -> CallFuture<Ans> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let carried = Carried::new(self.connection.shared());
        let not_taken = self.connection.not_taken();
        let sent = self
            .sender
            .send_item(Message::Call(Call {
                request,
                reply,
                deadline: None,
            }))
            .is_ok();
        Box::pin(async move {
            let _carried = carried;
            if !sent {
                return Err(not_taken);
            }
            match answer.await {
                Ok(Outcome::Answer(answer)) => Ok(answer),
                Ok(Outcome::Failed(error)) => Err(error),
                Ok(Outcome::NotTaken(_)) | Err(_) => Err(not_taken),
            }
        })
    }
}

impl<Req, Ans> tower::load::Load for ConnectionService<Req, Ans> {
    type Metric = usize;

    fn load(&self) -> usize {
        self.connection.load()
    }
}
