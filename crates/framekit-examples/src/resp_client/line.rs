//! Where a RESP line ends: the first CRLF, found by looking for the CR with `memchr` (a bare CR
//! is passed over), which the scanner and the reply builder share. A `memmem` search built a
//! searcher for the two bytes at every call, a third of the decode's instructions.

/// The offset of the first `\r\n` in `bytes`, if any. Each byte is looked at once.
pub(crate) fn find_crlf(bytes: &[u8]) -> Option<usize> {
    let mut from = 0;
    loop {
        let cr = from + memchr::memchr(b'\r', bytes.get(from..)?)?;
        if bytes.get(cr + 1) == Some(&b'\n') {
            return Some(cr);
        }
        from = cr + 1;
    }
}

#[cfg(test)]
mod tests {
    use super::find_crlf;

    #[test]
    fn the_first_crlf_is_found_past_bare_carriage_returns() {
        assert_eq!(find_crlf(b"+OK\r\n"), Some(3));
        assert_eq!(find_crlf(b"\r\n"), Some(0));
        assert_eq!(find_crlf(b"a\rb\r\r\n"), Some(4));
        assert_eq!(find_crlf(b"a\rb\r"), None);
        assert_eq!(find_crlf(b"\n\r"), None);
        assert_eq!(find_crlf(b""), None);
    }
}
