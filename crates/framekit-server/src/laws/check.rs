//! Checking one case: a run of the server against the laws, and against the reference run
//! of the same requests, with messages that name the plan.

use super::run::Run;
use super::{Law, Plan, Violation};
use crate::metrics::CloseReason;

/// The request streams and plan of one case, for the checks and their messages.
pub(super) struct Case<'a> {
    pub(super) requests: &'a [Vec<u8>],
    pub(super) plan: &'a Plan,
}

impl Case<'_> {
    /// Liveness of the input side: the server took every byte the peer sent (`context` says
    /// which run, for the message).
    pub(super) fn check_reading(&self, got: &Run, context: &str) -> Result<(), Violation> {
        if got.send_stalled {
            return Err(self.violation(
                Law::Liveness,
                format!(
                    "{context}, the server stopped reading after {} bytes of input and never \
                     took the rest",
                    got.sent
                ),
            ));
        }
        Ok(())
    }

    /// The laws of a run whose peer closed its side after the input, against the reference.
    pub(super) fn check_closing(
        &self,
        got: &Run,
        reference: &Run,
        which: &str,
    ) -> Result<(), Violation> {
        self.check_reading(got, &format!("in {which}"))?;
        if !got.ended {
            return Err(self.violation(
                Law::CloseAfterWritten,
                format!(
                    "in {which}, the connection never ended after the peer closed its side \
                     ({} bytes of output by then: {})",
                    got.output.len(),
                    escaped(&got.output)
                ),
            ));
        }
        self.check_reason(got, reference, which)?;
        if got.output == reference.output {
            return Ok(());
        }
        let law = if reference.output.starts_with(&got.output) {
            "closed before everything owed was written"
        } else if got.output.starts_with(&reference.output) {
            "wrote after the reference's last byte"
        } else {
            return Err(self.violation(
                Law::ExactlyOnceInOrder,
                format!(
                    "in {which}, the output differs from the reference's: {}",
                    difference(&reference.output, &got.output)
                ),
            ));
        };
        Err(self.violation(
            Law::CloseAfterWritten,
            format!(
                "in {which}, the connection {law}: {}",
                difference(&reference.output, &got.output)
            ),
        ))
    }

    /// The laws of a run whose peer left its side open after the input.
    pub(super) fn check_open(&self, got: &Run, reference: &Run) -> Result<(), Violation> {
        let which = "the peer leaving its side open";
        self.check_reading(got, &format!("with {which}"))?;
        let quiet = got.quiet.as_deref().unwrap_or_default();
        if quiet != reference.output {
            let (law, what) = if reference.output.starts_with(quiet) {
                (
                    Law::Liveness,
                    "the server went quiet with answers due and not written",
                )
            } else {
                (
                    Law::ExactlyOnceInOrder,
                    "the output differs from the reference's",
                )
            };
            return Err(self.violation(
                law,
                format!(
                    "with all {} bytes of input delivered and {which}, {what}: {}",
                    got.sent,
                    difference(&reference.output, quiet)
                ),
            ));
        }
        let server_closed = reference.reason != Some(CloseReason::PeerClosed);
        if server_closed && !got.closed_when_quiet {
            return Err(self.violation(
                Law::Liveness,
                format!(
                    "with {which}, the server went quiet without closing, though the reference \
                     connection was closed by the server ({})",
                    named(reference.reason)
                ),
            ));
        }
        if !got.ended {
            return Err(self.violation(
                Law::CloseAfterWritten,
                format!("with {which}, the connection never ended after the peer closed it too"),
            ));
        }
        if got.output != reference.output {
            return Err(self.violation(
                Law::CloseAfterWritten,
                format!(
                    "with {which}, the server wrote after going quiet, when the peer closed: {}",
                    difference(&reference.output, &got.output)
                ),
            ));
        }
        self.check_reason(got, reference, which)
    }

    pub(super) fn check_reason(
        &self,
        got: &Run,
        reference: &Run,
        which: &str,
    ) -> Result<(), Violation> {
        let problem = match got.reason {
            None => "the server counted no close",
            Some(CloseReason::Panicked) => "the connection task panicked",
            Some(CloseReason::Aborted) => "the connection was aborted",
            Some(_) if got.reason != reference.reason => "the reason differs from the reference's",
            Some(_) => return Ok(()),
        };
        Err(self.violation(
            Law::StatedReason,
            format!(
                "in {which}, {problem}: closed by {}, the reference by {}",
                named(got.reason),
                named(reference.reason)
            ),
        ))
    }

    fn violation(&self, law: Law, what: String) -> Violation {
        let lengths: Vec<usize> = self.requests.iter().map(Vec::len).collect();
        Violation::new(
            law,
            format!(
                "{what}\n  input: {} ({} requests of {lengths:?} bytes)\n  plan: {:?}",
                escaped(&self.requests.concat()),
                self.requests.len(),
                self.plan
            ),
        )
    }
}

fn named(reason: Option<CloseReason>) -> String {
    reason.map_or_else(|| "(none)".to_string(), |r| format!("`{r}`"))
}

/// Where `got` departs from `expected`, with a few bytes of each from there.
fn difference(expected: &[u8], got: &[u8]) -> String {
    let at = expected.iter().zip(got).take_while(|(a, b)| a == b).count();
    let from = at.saturating_sub(16);
    format!(
        "{} bytes expected, {} received; first difference at byte {at}: expected ...{}, got ...{}",
        expected.len(),
        got.len(),
        escaped(&expected[from..expected.len().min(at + 48)]),
        escaped(&got[from..got.len().min(at + 48)]),
    )
}

/// `bytes` as a byte-string literal, a run of more than 8 equal bytes written once with its
/// count (`v{5000}`, a large value stays one line), cut after the first 512 characters.
fn escaped(bytes: &[u8]) -> String {
    const SHOWN: usize = 512;
    let mut text = String::new();
    let mut at = 0;
    while at < bytes.len() && text.len() < SHOWN {
        let run = bytes[at..].iter().take_while(|&&b| b == bytes[at]).count();
        let one = [bytes[at]].escape_ascii().to_string();
        if run > 8 {
            text.push_str(&format!("{one}{{{run}}}"));
            at += run;
        } else {
            text.push_str(&one);
            at += 1;
        }
    }
    let more = match at < bytes.len() {
        true => format!(" ... ({} bytes in all)", bytes.len()),
        false => String::new(),
    };
    format!("b\"{text}\"{more}")
}
