//! The handshake stage: [`TlsStage`] runs one connection's TLS handshake under
//! `Timer::Handshake`, counts and logs a failure, and says what the handshake agreed on
//! ([`TlsInfo`], for handlers through [`Ctx::tls`]).

use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio_rustls::server;

use super::{rustls, TlsConfig, HANDSHAKE_FAILURES};
use crate::context::{Ctx, TlsInfo};
use crate::metrics::CloseReason;
use crate::timers::{self, Timer};
use framekit::connection::Timeout;

/// The handshake stage of one server: its acceptor and timeout.
#[derive(Clone)]
pub(crate) struct TlsStage {
    acceptor: tokio_rustls::TlsAcceptor,
    timeout: Timeout,
}

impl TlsStage {
    pub(crate) fn new(config: TlsConfig) -> Self {
        TlsStage {
            acceptor: tokio_rustls::TlsAcceptor::from(config.rustls),
            timeout: config.handshake_timeout,
        }
    }

    /// Runs the handshake under [`Timer::Handshake`] (the stage's timeout); a failure is counted and logged here, and the
    /// connection then closes with the reason returned.
    pub(crate) async fn handshake<Io>(
        &self,
        io: Io,
        ctx: &Ctx,
    ) -> Result<(server::TlsStream<Io>, TlsInfo), CloseReason>
    where
        Io: AsyncRead + AsyncWrite + Unpin,
    {
        // Bounded by the connection's `Timer::Handshake`, like every other timeout of it.
        // Boxed: rustls' handshake state is large and lives only for this stage, so the future
        // every connection carries for its whole life does not carry its size.
        let accept = Box::pin(timers::within(
            Timer::Handshake,
            self.timeout,
            self.acceptor.accept(io),
        ));
        let outcome = tokio::select! {
            biased;
            () = ctx.shutdown() => return Err(CloseReason::Shutdown),
            outcome = accept => outcome,
        };
        let (reason, error) = match outcome {
            Ok(Ok(stream)) => {
                let info = info_of(stream.get_ref().1);
                tracing::debug!(
                    alpn = info.alpn_protocol().map(String::from_utf8_lossy).as_deref(),
                    sni = info.server_name(),
                    "TLS handshake done"
                );
                return Ok((stream, info));
            }
            Ok(Err(e)) => ("error", e.to_string()),
            Err(_handshake_timer) => ("timeout", format!("not done within {:?}", self.timeout)),
        };
        metrics::counter!(HANDSHAKE_FAILURES, "reason" => reason).increment(1);
        tracing::debug!(peer = %ctx.peer(), %error, "TLS handshake failed");
        Err(CloseReason::TlsHandshake)
    }

    /// The handshake of a peer rejected at the connection limit, so that it can read the
    /// reject reply; bounded by `within`.
    pub(crate) async fn handshake_rejected<Io>(
        &self,
        io: Io,
        within: Duration,
    ) -> Option<server::TlsStream<Io>>
    where
        Io: AsyncRead + AsyncWrite + Unpin,
    {
        match tokio::time::timeout(within, self.acceptor.accept(io)).await {
            Ok(Ok(stream)) => Some(stream),
            _ => {
                metrics::counter!(HANDSHAKE_FAILURES, "reason" => "rejected").increment(1);
                None
            }
        }
    }
}

/// What a finished handshake agreed on.
fn info_of(conn: &rustls::ServerConnection) -> TlsInfo {
    TlsInfo::new(
        conn.alpn_protocol().map(Box::from),
        conn.server_name().map(Box::from),
    )
}

#[cfg(test)]
mod tests {
    use tokio::time::Instant;

    use super::*;
    use crate::tls::TlsConfigError;

    fn self_signed() -> (String, String) {
        let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
        (cert.cert.pem(), cert.signing_key.serialize_pem())
    }

    #[test]
    fn a_key_that_does_not_match_the_certificate_is_refused() {
        let (cert, _) = self_signed();
        let (_, other_key) = self_signed();
        let err = TlsConfig::from_pem(cert.as_bytes(), other_key.as_bytes()).unwrap_err();
        assert!(matches!(err, TlsConfigError::Rustls(_)), "{err}");
    }

    #[test]
    fn an_empty_certificate_file_is_named_in_the_error() {
        let (_, key) = self_signed();
        let err = TlsConfig::from_pem(b"", key.as_bytes()).unwrap_err();
        assert_eq!(err.to_string(), "no certificate in (memory)");
    }

    #[test]
    fn a_missing_key_file_is_named_in_the_error() {
        let (cert, _) = self_signed();
        let dir = std::env::temp_dir().join(format!("framekit-tls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let cert_path = dir.join("cert.pem");
        std::fs::write(&cert_path, cert).unwrap();
        let err = TlsConfig::from_pem_files(&cert_path, dir.join("missing.pem")).unwrap_err();
        let text = err.to_string();
        assert!(
            text.starts_with("cannot read the private key from ") && text.contains("missing.pem"),
            "{text}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    fn stage(timeout: Duration) -> TlsStage {
        let (cert, key) = self_signed();
        let tls = TlsConfig::from_pem(cert.as_bytes(), key.as_bytes())
            .unwrap()
            .handshake_timeout(timeout);
        TlsStage::new(tls)
    }

    fn ctx() -> Ctx {
        Ctx::new(7, crate::Addr::other("pipe"), Default::default())
    }

    #[tokio::test(start_paused = true)]
    async fn a_silent_peer_fails_at_the_handshake_timeout() {
        let (_client, server_side) = tokio::io::duplex(4096);
        let started = Instant::now();
        let outcome = stage(Duration::from_secs(3))
            .handshake(server_side, &ctx())
            .await;
        assert_eq!(outcome.err(), Some(CloseReason::TlsHandshake));
        assert_eq!(started.elapsed(), Duration::from_secs(3));
    }

    #[tokio::test(start_paused = true)]
    async fn shutdown_ends_a_handshake_at_once() {
        let (_client, server_side) = tokio::io::duplex(4096);
        let shutdown = tokio_util::sync::CancellationToken::new();
        let ctx = Ctx::new(7, crate::Addr::other("pipe"), shutdown.clone());
        shutdown.cancel();
        let started = Instant::now();
        let outcome = stage(Duration::from_secs(3))
            .handshake(server_side, &ctx)
            .await;
        assert_eq!(outcome.err(), Some(CloseReason::Shutdown));
        assert_eq!(started.elapsed(), Duration::ZERO);
    }

    #[tokio::test]
    async fn a_peer_that_does_not_speak_tls_fails_the_handshake() {
        use tokio::io::AsyncWriteExt;
        let (mut client, server_side) = tokio::io::duplex(4096);
        client.write_all(b"PING\r\n").await.unwrap();
        let outcome = stage(Duration::from_secs(10))
            .handshake(server_side, &ctx())
            .await;
        assert_eq!(outcome.err(), Some(CloseReason::TlsHandshake));
    }
}
