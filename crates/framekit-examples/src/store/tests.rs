//! Unit tests of `store.rs`, in a file of their own as `resp/view`'s are.

use super::*;

fn b(s: &str) -> &[u8] {
    s.as_bytes()
}

/// Each store draws its own key: no two share one, and none is the all-zero key a
/// derived `Default` would give.
#[test]
fn every_store_hashes_with_a_key_of_its_own() {
    let keys: Vec<(u64, u64)> = (0..8).map(|_| Store::new().hasher.keys()).collect();
    for (i, k) in keys.iter().enumerate() {
        assert_ne!(*k, (0, 0));
        assert!(!keys[..i].contains(k), "two stores drew one key");
    }
    let store = Store::new();
    assert_ne!(hash_of(&store.hasher, b"a"), hash_of(&store.hasher, b"b"));
    let (k0, k1) = store.hasher.keys();
    let mut incremental = SipHasher13::new_with_keys(k0, k1);
    std::hash::Hasher::write(&mut incremental, b"key:000000000042");
    assert_eq!(
        hash_of(&store.hasher, b"key:000000000042"),
        std::hash::Hasher::finish(&incremental),
        "the one-pass hash is SipHash-1-3's"
    );
}

#[test]
fn set_conditions_follow_nx_and_xx() {
    let mut s = Store::new();
    let now = Instant::now();
    assert!(!s.set(b("k"), b("1"), Expiry::Never, Condition::IfPresent, now));
    assert!(s.set(b("k"), b("1"), Expiry::Never, Condition::IfAbsent, now));
    assert!(!s.set(b("k"), b("2"), Expiry::Never, Condition::IfAbsent, now));
    assert!(s.set(b("k"), b("3"), Expiry::Never, Condition::IfPresent, now));
    assert_eq!(s.get(b"k", now), Some(&b"3"[..]));
}

#[test]
fn expired_keys_are_gone_and_purged() {
    let mut s = Store::new();
    let now = Instant::now();
    let later = now + Duration::from_secs(5);
    s.set(b("a"), b("1"), Expiry::At(later), Condition::Always, now);
    s.set(b("b"), b("2"), Expiry::Never, Condition::Always, now);
    assert!(s.contains(b"a", now));
    assert_eq!(s.ttl(b"b", now), Ttl::Persistent);
    assert_eq!(s.ttl(b"zz", now), Ttl::Missing);
    assert_eq!(s.purge_expired(now, 10), 0);
    assert_eq!(s.purge_expired(later, 10), 1);
    assert_eq!(s.len(), 1);
    assert!(!s.contains(b"a", later));
}

#[test]
fn plain_set_clears_a_deadline_and_keepttl_keeps_it() {
    let mut s = Store::new();
    let now = Instant::now();
    let later = now + Duration::from_secs(5);
    s.set(b("k"), b("1"), Expiry::At(later), Condition::Always, now);
    s.set(b("k"), b("2"), Expiry::Keep, Condition::Always, now);
    assert_eq!(s.ttl(b"k", now), Ttl::Remaining(Duration::from_secs(5)));
    s.set(b("k"), b("3"), Expiry::Never, Condition::Always, now);
    assert_eq!(s.ttl(b"k", now), Ttl::Persistent);
    assert_eq!(
        s.purge_expired(later, 10),
        0,
        "the old deadline left the index"
    );
    assert!(s.contains(b"k", later));
}

#[test]
fn expire_persist_and_remove() {
    let mut s = Store::new();
    let now = Instant::now();
    assert!(!s.expire_at(b"k", now, now));
    s.set(b("k"), b("v"), Expiry::Never, Condition::Always, now);
    assert!(s.expire_at(b"k", now + Duration::from_secs(1), now));
    assert!(s.persist(b"k", now));
    assert!(!s.persist(b"k", now));
    assert!(s.expire_at(b"k", now, now), "a past deadline deletes");
    assert!(!s.contains(b"k", now));
    s.set(b("k"), b("v"), Expiry::Never, Condition::Always, now);
    assert!(s.remove(b"k", now));
    assert!(!s.remove(b"k", now));
}

#[test]
fn increments_parse_check_and_keep_the_deadline() {
    let mut s = Store::new();
    let now = Instant::now();
    assert_eq!(s.incr_by(b"n", 1, now), Ok(1));
    assert_eq!(s.incr_by(b"n", -5, now), Ok(-4));
    assert_eq!(s.get(b"n", now), Some(&b"-4"[..]));
    s.set(b("x"), b("abc"), Expiry::Never, Condition::Always, now);
    assert_eq!(s.incr_by(b"x", 1, now), Err(IncrError::NotAnInteger));
    s.set(b("x"), b("007"), Expiry::Never, Condition::Always, now);
    assert_eq!(s.incr_by(b"x", 1, now), Err(IncrError::NotAnInteger));
    s.set(
        b("m"),
        i64::MAX.to_string().as_bytes(),
        Expiry::Never,
        Condition::Always,
        now,
    );
    assert_eq!(s.incr_by(b"m", 1, now), Err(IncrError::Overflow));
    let later = now + Duration::from_secs(3);
    s.set(b("t"), b("1"), Expiry::At(later), Condition::Always, now);
    assert_eq!(s.incr_by(b"t", 1, now), Ok(2));
    assert_eq!(s.ttl(b"t", now), Ttl::Remaining(Duration::from_secs(3)));
}

#[test]
fn keys_match_globs() {
    let mut s = Store::new();
    let now = Instant::now();
    for k in ["user:1", "user:2", "order:1"] {
        s.set(b(k), b("v"), Expiry::Never, Condition::Always, now);
    }
    let mut users = s.keys(b"user:*", now);
    users.sort();
    assert_eq!(users, [b("user:1"), b("user:2")]);
    assert_eq!(s.keys(b"*", now).len(), 3);
    s.clear();
    assert!(s.is_empty());
}
