//! Numbers on a memcached command line, read exactly as memcached 1.6 reads them (`safe_strtol`,
//! `safe_strtoul`, `safe_strtoull` over C's `strtol` family): leading white space and a sign are
//! accepted, the number must be followed by white space or the end of the token, and a value too
//! wide for the field is truncated as memcached's assignment truncates it. Matching these quirks
//! is what lets the differential test compare answers byte for byte.

/// C's `isspace` in the "C" locale.
fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// `strtoull`'s reading of `token`: (negative sign seen, magnitude), or `None` when no digit
/// was read, the magnitude overflows 64 bits (`ERANGE`) or the digits are followed by anything
/// but white space.
fn digits(token: &[u8]) -> Option<(bool, u64)> {
    let mut i = 0;
    while i < token.len() && is_space(token[i]) {
        i += 1;
    }
    let negative = match token.get(i) {
        Some(b'-') => {
            i += 1;
            true
        }
        Some(b'+') => {
            i += 1;
            false
        }
        _ => false,
    };
    let start = i;
    let mut value: u64 = 0;
    while let Some(d) = token.get(i).filter(|b| b.is_ascii_digit()) {
        value = value.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
        i += 1;
    }
    if i == start {
        return None;
    }
    match token.get(i) {
        None => Some((negative, value)),
        Some(&b) if is_space(b) => Some((negative, value)),
        Some(_) => None,
    }
}

/// `safe_strtoull`: an unsigned 64-bit number; a negative one is refused only when it wraps to
/// a value with the top bit set (so `-0` is 0, as in memcached).
///
/// ```
/// use framekit_examples::memcached::number::strtoull;
/// assert_eq!(strtoull(b"42"), Some(42));
/// assert_eq!(strtoull(b"-1"), None);
/// assert_eq!(strtoull(b"4x"), None);
/// ```
pub fn strtoull(token: &[u8]) -> Option<u64> {
    let (negative, magnitude) = digits(token)?;
    let value = if negative {
        magnitude.wrapping_neg()
    } else {
        magnitude
    };
    if negative && (value as i64) < 0 {
        return None;
    }
    Some(value)
}

/// `safe_strtoul` into a `uint32_t`: [`strtoull`] truncated to 32 bits, as memcached stores it.
///
/// ```
/// use framekit_examples::memcached::number::strtoul;
/// assert_eq!(strtoul(b"7"), Some(7));
/// assert_eq!(strtoul(b"4294967297"), Some(1));
/// ```
pub fn strtoul(token: &[u8]) -> Option<u32> {
    strtoull(token).map(|v| v as u32)
}

/// `safe_strtol` into an `int32_t`: a signed 64-bit number (refused on overflow, `ERANGE`)
/// truncated to 32 bits.
///
/// ```
/// use framekit_examples::memcached::number::strtol;
/// assert_eq!(strtol(b"-5"), Some(-5));
/// assert_eq!(strtol(b"4294967301"), Some(5));
/// assert_eq!(strtol(b""), None);
/// ```
pub fn strtol(token: &[u8]) -> Option<i32> {
    let (negative, magnitude) = digits(token)?;
    let value: i64 = if negative {
        if magnitude > 1 << 63 {
            return None;
        }
        (magnitude as i64).wrapping_neg()
    } else {
        i64::try_from(magnitude).ok()?
    };
    Some(value as i32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn white_space_and_signs_are_read_as_c_reads_them() {
        assert_eq!(strtol(b"\t12"), Some(12));
        assert_eq!(strtol(b"12\r"), Some(12));
        assert_eq!(strtol(b"+3"), Some(3));
        assert_eq!(strtol(b"-"), None);
        assert_eq!(strtol(b"9223372036854775808"), None);
        assert_eq!(strtol(b"-9223372036854775808"), Some(0));
        assert_eq!(strtoull(b"18446744073709551615"), Some(u64::MAX));
        assert_eq!(strtoull(b"18446744073709551616"), None);
        assert_eq!(strtoull(b"-0"), Some(0));
        assert_eq!(strtoul(b"-5"), None);
    }
}
