//! Flags that are durations: [`parse_duration`] (`250ms`, `10s`, `2m`) and [`parse_timeout`]
//! (the same, or `none`). A room of their own because both the launch flags and the deployment
//! flags read them, and `launch` builds on `deploy`: kept in either, they made an import cycle.

use std::time::Duration;

use framekit_server::config::Timeout;

/// Parses a timeout flag: `none`, or a duration as [`parse_duration`] reads it, where a zero
/// duration also means none (a timeout of zero would close every connection at once, which
/// no flag means).
///
/// ```
/// use std::time::Duration;
/// use framekit_examples::durations::parse_timeout;
/// use framekit_server::config::Timeout;
/// assert_eq!(parse_timeout("none"), Ok(Timeout::Never));
/// assert_eq!(parse_timeout("0"), Ok(Timeout::Never));
/// assert_eq!(parse_timeout("0ms"), Ok(Timeout::Never));
/// assert_eq!(parse_timeout("250ms"), Ok(Timeout::After(Duration::from_millis(250))));
/// assert!(parse_timeout("soon").is_err());
/// ```
pub fn parse_timeout(text: &str) -> Result<Timeout, String> {
    if text.trim().eq_ignore_ascii_case("none") {
        return Ok(Timeout::Never);
    }
    let after = parse_duration(text)?;
    Ok(if after.is_zero() {
        Timeout::Never
    } else {
        Timeout::After(after)
    })
}

/// Parses `250ms`, `10s`, `2m`, or a bare number of seconds.
///
/// ```
/// use std::time::Duration;
/// use framekit_examples::durations::parse_duration;
/// assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
/// assert_eq!(parse_duration("10"), Ok(Duration::from_secs(10)));
/// assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
/// assert!(parse_duration("soon").is_err());
/// ```
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (number, unit_ms) = if let Some(n) = text.strip_suffix("ms") {
        (n, 1)
    } else if let Some(n) = text.strip_suffix('s') {
        (n, 1000)
    } else if let Some(n) = text.strip_suffix('m') {
        (n, 60_000)
    } else {
        (text, 1000)
    };
    let n: u64 = number
        .trim()
        .parse()
        .map_err(|_| format!("`{text}` is not a duration like 500ms, 10s or 2m"))?;
    n.checked_mul(unit_ms)
        .map(Duration::from_millis)
        .ok_or_else(|| format!("`{text}` is too long"))
}
