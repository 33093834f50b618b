//! The memcached store's cases: modes, CAS, expiry, flush, LRU eviction, incr/decr quirks.

use super::super::Clock;
use super::{DeltaError, Mode, Store, Stored};

fn store() -> Store {
    Store::new(1 << 20, 1 << 20)
}

#[test]
fn modes_write_only_when_their_condition_holds() {
    let mut s = store();
    assert_eq!(
        s.store(Mode::Replace, b"k", b"a", 0, 0, 0, 10),
        Stored::NotStored
    );
    assert!(matches!(
        s.store(Mode::Add, b"k", b"a", 5, 0, 0, 10),
        Stored::Stored(_)
    ));
    assert_eq!(
        s.store(Mode::Add, b"k", b"b", 0, 0, 0, 10),
        Stored::NotStored
    );
    assert!(matches!(
        s.store(Mode::Append, b"k", b"z", 9, 0, 0, 10),
        Stored::Stored(_)
    ));
    assert!(matches!(
        s.store(Mode::Prepend, b"k", b"<", 9, 0, 0, 10),
        Stored::Stored(_)
    ));
    let item = s.get(b"k", 10).unwrap();
    // Append and prepend keep the present flags.
    assert_eq!((&item.value[..], item.flags), (&b"<az"[..], 5));
}

#[test]
fn cas_matches_only_the_present_id() {
    let mut s = store();
    assert_eq!(
        s.store(Mode::Cas, b"k", b"a", 0, 0, 1, 10),
        Stored::NotFound
    );
    let Stored::Stored(id) = s.set(b"k", b"a", 0, 0, 10) else {
        panic!()
    };
    assert_eq!(
        s.store(Mode::Cas, b"k", b"b", 0, 0, id + 1, 10),
        Stored::Exists
    );
    assert_eq!(s.store(Mode::Cas, b"k", b"b", 0, 0, 0, 10), Stored::Exists);
    assert!(matches!(s.store(Mode::Cas, b"k", b"b", 0, 0, id, 10), Stored::Stored(n) if n > id));
}

#[test]
fn expiry_follows_memcached_clock_rules() {
    let clock = Clock::started_at(1_700_000_000);
    let now = clock.now(1_700_000_000);
    let mut s = store();
    s.set(b"rel", b"v", 0, clock.expiry(2, now), now);
    s.set(b"abs", b"v", 0, clock.expiry(1_700_000_001, now), now);
    s.set(b"neg", b"v", 0, clock.expiry(-1, now), now);
    assert!(s.get(b"neg", now).is_none());
    assert!(s.get(b"rel", now + 1).is_some());
    assert!(s.get(b"abs", now).is_some());
    assert!(s.get(b"abs", now + 1).is_none());
    assert!(s.get(b"rel", now + 2).is_none());
}

#[test]
fn flush_all_removes_present_items_now_or_at_its_delay() {
    let mut s = store();
    s.set(b"a", b"v", 0, 0, 100);
    s.flush(0, 100);
    assert!(s.get(b"a", 100).is_none());
    s.set(b"b", b"v", 0, 0, 100);
    assert!(s.get(b"b", 100).is_some());
    s.flush(110, 100);
    assert!(s.get(b"b", 105).is_some());
    assert!(s.get(b"b", 110).is_none());
}

#[test]
fn the_least_recently_used_item_is_evicted_first() {
    // Room for two items of a 1-byte key and 100-byte value (59 + 1 + 100 = 160 bytes each).
    let mut s = Store::new(330, 1 << 20);
    let v = [b'x'; 100];
    s.set(b"a", &v, 0, 0, 10);
    s.set(b"b", &v, 0, 0, 10);
    assert!(s.get(b"a", 10).is_some());
    s.set(b"c", &v, 0, 0, 10);
    assert!(s.get(b"b", 10).is_none(), "b was the least recently used");
    assert!(s.get(b"a", 10).is_some() && s.get(b"c", 10).is_some());
    assert_eq!((s.stats.evictions, s.bytes()), (1, 320));
    assert_eq!(s.set(b"d", &[0; 400], 0, 0, 10), Stored::NoMemory);
}

#[test]
fn incr_and_decr_follow_memcached_in_place_rule() {
    let mut s = store();
    s.set(b"n", b"100", 0, 0, 10);
    assert_eq!(s.add_delta(b"n", false, 1, 0, 10).map(|r| r.0), Ok(99));
    // Shorter results are written in place, padded with spaces.
    assert_eq!(s.get(b"n", 10).unwrap().value, b"99 ");
    assert_eq!(s.add_delta(b"n", false, 500, 0, 10).map(|r| r.0), Ok(0));
    s.set(b"m", b"18446744073709551615", 0, 0, 10);
    assert_eq!(s.add_delta(b"m", true, 2, 0, 10).map(|r| r.0), Ok(1));
    s.set(b"w", b"9", 0, 0, 10);
    assert_eq!(s.add_delta(b"w", true, 1, 0, 10).map(|r| r.0), Ok(10));
    assert_eq!(s.get(b"w", 10).unwrap().value, b"10");
    s.set(b"t", b"x1", 0, 0, 10);
    assert_eq!(
        s.add_delta(b"t", true, 1, 0, 10),
        Err(DeltaError::NonNumeric)
    );
    assert_eq!(
        s.add_delta(b"none", true, 1, 0, 10),
        Err(DeltaError::NotFound)
    );
}

#[test]
fn a_read_moves_an_item_at_most_once_per_update_interval() {
    let mut s = store();
    for key in [b"a", b"b", b"c"] {
        s.set(key, b"v", 0, 0, 10);
    }
    // Within the interval a read only marks the item active.
    assert!(s.get(b"a", 69).is_some());
    assert_eq!(s.table.order(), [b"a", b"b", b"c"]);
    assert_eq!(s.get(b"a", 69).unwrap().time, 10);
    // From 60 s after its last move on, a read moves it and renews its time.
    assert!(s.get(b"a", 70).is_some());
    assert_eq!(s.table.order(), [b"b", b"c", b"a"]);
    assert_eq!(s.get(b"a", 70).unwrap().time, 70);
    assert!(s.get(b"b", 100).is_some());
    assert_eq!(s.table.order(), [b"c", b"a", b"b"]);
}

#[test]
fn an_active_item_gets_a_bounded_number_of_second_chances() {
    // Room for seven 160-byte items (1-byte key, 100-byte value).
    let mut s = Store::new(7 * 160, 1 << 20);
    let v = [b'x'; 100];
    let keys: [&[u8]; 7] = [b"a", b"b", b"c", b"d", b"e", b"f", b"g"];
    for key in keys {
        s.set(key, &v, 0, 0, 10);
    }
    // Read within the interval: not moved, but active.
    assert!(s.get(b"a", 10).is_some());
    s.set(b"h", &v, 0, 0, 10);
    assert!(
        s.peek(b"b", 10).is_none(),
        "b, not the active a, was evicted"
    );
    assert_eq!(s.table.order(), [b"c", b"d", b"e", b"f", b"g", b"a", b"h"]);
    // Every item active: five move to the back, the sixth is evicted all the same.
    for key in [b"c", b"d", b"e", b"f", b"g", b"a", b"h"] {
        assert!(s.get(key, 10).is_some());
    }
    s.set(b"i", &v, 0, 0, 10);
    assert_eq!(s.stats.evictions, 2);
    assert!(
        s.peek(b"a", 10).is_none(),
        "a came to the front after five second chances"
    );
    assert_eq!(s.table.order(), [b"h", b"c", b"d", b"e", b"f", b"g", b"i"]);
    assert_eq!((s.len(), s.bytes()), (7, 7 * 160));
}

#[test]
fn an_overwrite_that_cannot_fit_removes_the_old_item() {
    let mut s = Store::new(330, 1 << 20);
    s.set(b"a", &[b'x'; 100], 0, 0, 10);
    s.set(b"b", &[b'x'; 100], 0, 0, 10);
    assert_eq!(s.set(b"a", &[0; 400], 0, 0, 10), Stored::NoMemory);
    assert!(s.peek(b"a", 10).is_none());
    assert_eq!((s.len(), s.bytes()), (1, 160));
    // A bigger overwrite that fits once others are evicted keeps the key.
    assert!(matches!(
        s.set(b"b", &[b'y'; 200], 0, 0, 10),
        Stored::Stored(_)
    ));
    assert_eq!(s.get(b"b", 10).unwrap().value, [b'y'; 200]);
    assert_eq!((s.len(), s.bytes(), s.stats.evictions), (1, 260, 0));
}

#[test]
fn slots_are_reused_and_the_order_stays_linked() {
    let mut s = store();
    for key in [b"a", b"b", b"c", b"d"] {
        s.set(key, b"v", 0, 0, 10);
    }
    assert!(s.delete(b"b", 10) && s.remove(b"d") && !s.remove(b"d"));
    assert_eq!(s.table.order(), [b"a", b"c"]);
    s.set(b"e", b"v", 0, 0, 10);
    s.set(b"a", b"w", 0, 0, 10);
    assert_eq!(s.table.order(), [b"c", b"e", b"a"]);
    assert_eq!(s.len(), 3);
    assert!(s.delete(b"a", 10) && s.delete(b"c", 10) && s.delete(b"e", 10));
    assert!(s.is_empty() && s.table.order().is_empty() && s.bytes() == 0);
}
