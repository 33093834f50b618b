//! The driver's moves both roles share: picking the next enabled event, handing the machine a
//! piece of input, letting a write take some of the owed bytes, moving the clock to the next
//! deadline; and the checks made on every run whatever the role.

use std::time::{Duration, Instant};

use crate::connection::{Connection, Role};

/// A connection law a run broke, with what was seen.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("law {law} broken: {detail}")]
pub struct ConnectionViolation {
    /// The law's name, as in the [module table](super).
    pub law: &'static str,
    /// What was seen.
    pub detail: String,
}

pub(super) fn broken(law: &'static str, detail: impl Into<String>) -> ConnectionViolation {
    ConnectionViolation {
        law,
        detail: detail.into(),
    }
}

/// The most steps a run takes: far more than any plan needs, so hitting it is a busy loop.
pub(super) const MAX_STEPS: usize = 20_000;

/// Counts a step and picks the enabled event the plan's choice names; `None` when nothing is
/// enabled (quiescence).
pub(super) fn pick(
    enabled: &[u8],
    choices: &[u16],
    steps: &mut usize,
) -> Result<Option<(u8, usize)>, ConnectionViolation> {
    if enabled.is_empty() {
        return Ok(None);
    }
    *steps += 1;
    if *steps > MAX_STEPS {
        return Err(broken(
            "no_busy_loop",
            format!("no quiescence in {MAX_STEPS} steps"),
        ));
    }
    let choice = usize::from(choices[*steps % choices.len()]);
    Ok(Some((enabled[choice % enabled.len()], choice)))
}

/// Hands the machine the next piece of `from` (from `*at`, at most `chunk` bytes and what the
/// input budget has room for), as a driver's read would.
pub(super) fn deliver<C, R: Role>(
    conn: &mut Connection<C, R>,
    from: &[u8],
    at: &mut usize,
    chunk: usize,
    now: Instant,
) -> Result<(), ConnectionViolation> {
    let room = conn
        .settings()
        .input_budget_bytes()
        .saturating_sub(conn.buffered());
    let n = chunk.min(from.len() - *at).min(room).max(1);
    let buf = conn
        .read_buf()
        .ok_or_else(|| broken("bounded", "no buffer offered to read into"))?;
    buf.extend_from_slice(&from[*at..*at + n]);
    *at += n;
    conn.handle_read(n, now);
    Ok(())
}

/// A write that takes some of the owed bytes (`choice` picks how many), handed to `sink`.
pub(super) fn write_some<C, R: Role, E>(
    conn: &mut Connection<C, R>,
    choice: usize,
    now: Instant,
    sink: impl FnOnce(&[u8]) -> Result<(), E>,
) -> Result<(), E> {
    let owed = conn.poll_transmit().unwrap_or_default();
    let n = choice % owed.len().max(1) + 1;
    let n = n.min(owed.len());
    sink(&owed[..n])?;
    conn.handle_written(n, now);
    Ok(())
}

/// Moves the clock to the next deadline and fires it, checking first that it does not fire
/// early.
pub(super) fn fire<C, R: Role>(
    conn: &mut Connection<C, R>,
    now: &mut Instant,
) -> Result<(), ConnectionViolation> {
    let Some(deadline) = conn.poll_timeout() else {
        return Ok(());
    };
    exact_timers(conn, deadline, *now)?;
    *now = (*now).max(deadline);
    conn.handle_timeout(*now);
    Ok(())
}

/// `linear_work`: events asked stay linear in the requests and the steps.
pub(super) fn linear(calls: u64, requests: usize, steps: usize) -> Result<(), ConnectionViolation> {
    if calls > 4 * (requests as u64 + steps as u64) + 16 {
        return Err(broken(
            "linear_work",
            format!("{calls} event calls for {steps} steps"),
        ));
    }
    Ok(())
}

/// `timers_exact`: just before its deadline, a timeout changes nothing (checked when the
/// clock has not passed the deadline already).
fn exact_timers<C, R: Role>(
    conn: &mut Connection<C, R>,
    deadline: Instant,
    now: Instant,
) -> Result<(), ConnectionViolation> {
    let Some(early) = deadline.checked_sub(Duration::from_nanos(1)) else {
        return Ok(());
    };
    if early < now {
        return Ok(());
    }
    let before = (conn.state(), conn.in_flight(), conn.owed());
    conn.handle_timeout(early);
    if before != (conn.state(), conn.in_flight(), conn.owed()) {
        return Err(broken("timers_exact", "a timer fired before its deadline"));
    }
    Ok(())
}
