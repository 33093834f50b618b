use std::time::Duration;

use super::*;

#[test]
fn equal_jitter_stays_between_half_and_whole() {
    let backoff = Backoff::default()
        .first(Duration::from_millis(100))
        .jitter(Jitter::Equal);
    for random in [0, 1, 7, u64::MAX / 3, u64::MAX] {
        let pause = backoff.pause(0, random);
        assert!(pause >= Duration::from_millis(50), "{pause:?}");
        assert!(pause <= Duration::from_millis(100), "{pause:?}");
    }
}

#[test]
fn full_jitter_stays_below_the_pause() {
    let backoff = Backoff::default()
        .first(Duration::from_millis(100))
        .jitter(Jitter::Full);
    for random in [0, 1, 7, u64::MAX / 3, u64::MAX] {
        assert!(backoff.pause(0, random) <= Duration::from_millis(100));
    }
}

#[test]
fn pauses_grow_to_the_cap_and_stop_at_the_retry_limit() {
    let backoff = Backoff::default()
        .first(Duration::from_millis(10))
        .max(Duration::from_millis(100))
        .jitter(Jitter::None)
        .retries(6);
    let pauses: Vec<_> = backoff.pauses().map(|p| p.as_millis()).collect();
    assert_eq!(pauses, [10, 20, 40, 80, 100, 100]);
}

#[test]
fn random_pauses_differ_between_runs() {
    // Two runs with 8 full-jitter pauses of up to 2 s agree everywhere with odds of about 2^-200.
    let backoff = Backoff::default()
        .first(Duration::from_secs(2))
        .jitter(Jitter::Full);
    let a: Vec<_> = backoff.pauses().collect();
    let b: Vec<_> = backoff.pauses().collect();
    assert_ne!(a, b);
}

#[test]
fn huge_settings_saturate() {
    let backoff = Backoff::default()
        .first(Duration::MAX)
        .max(Duration::MAX)
        .factor(u32::MAX)
        .jitter(Jitter::Equal);
    let pause = backoff.pause(u32::MAX, u64::MAX);
    assert!(pause >= Duration::from_nanos(u64::MAX / 2));
}

#[test]
fn never_has_no_pauses() {
    assert_eq!(Reconnect::Never.pauses().count(), 0);
}
