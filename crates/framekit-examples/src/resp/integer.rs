//! Decimal integers as Redis reads them (its `string2ll`): the one rule behind RESP's `*N` and
//! `$N` headers and every integer argument (`INCRBY`, `EXPIRE`, `SET EX`, `SELECT`, ...).
//!
//! Optional `-`, then digits with no leading zero; `0` alone is zero; nothing else (no `+`, no
//! spaces, no `-0`, no `007`), at most 20 characters, and within `i64`.

/// Parses `text` as Redis's `string2ll` does; `None` when Redis would answer `value is not an
/// integer or out of range` (or `invalid bulk length` in a header).
///
/// ```
/// use framekit_examples::resp::parse_i64;
/// assert_eq!(parse_i64(b"-42"), Some(-42));
/// assert_eq!(parse_i64(b"0"), Some(0));
/// assert_eq!(parse_i64(b"007"), None);
/// assert_eq!(parse_i64(b"-0"), None);
/// assert_eq!(parse_i64(b"+1"), None);
/// ```
pub fn parse_i64(text: &[u8]) -> Option<i64> {
    if text == b"0" {
        return Some(0);
    }
    let (negative, digits) = match text.split_first() {
        Some((b'-', digits)) => (true, digits),
        _ => (false, text),
    };
    // The first digit is 1-9 (so no leading zero and no `-0`); 19 digits hold any i64.
    match digits.first() {
        Some(b'1'..=b'9') if digits.len() <= 19 => {}
        _ => return None,
    }
    let mut n: i64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        let d = i64::from(d - b'0');
        // Accumulating on the negative side reaches i64::MIN without overflowing first.
        n = if negative {
            n.checked_mul(10)?.checked_sub(d)?
        } else {
            n.checked_mul(10)?.checked_add(d)?
        };
    }
    Some(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_parse_like_redis_string2ll() {
        assert_eq!(parse_i64(b"0"), Some(0));
        assert_eq!(parse_i64(b"7"), Some(7));
        assert_eq!(parse_i64(b"-42"), Some(-42));
        assert_eq!(parse_i64(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(parse_i64(b"-9223372036854775808"), Some(i64::MIN));
        for bad in [
            &b"9223372036854775808"[..],
            b"-9223372036854775809",
            b"99999999999999999999",
            b"",
            b"-",
            b"+1",
            b"1 ",
            b" 1",
            b"01",
            b"00",
            b"-0",
            b"-01",
            b"1e3",
            b"0x10",
        ] {
            assert_eq!(parse_i64(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn every_i64_round_trips_through_its_decimal_text() {
        for n in [
            i64::MIN,
            i64::MIN + 1,
            -1_000_000,
            -1,
            0,
            1,
            10,
            1 << 40,
            i64::MAX,
        ] {
            assert_eq!(parse_i64(n.to_string().as_bytes()), Some(n));
        }
    }
}
