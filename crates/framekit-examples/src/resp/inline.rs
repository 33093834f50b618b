//! Inline requests split into arguments as Redis's `sdssplitargs` does: words separated by
//! blanks, `"double quotes"` with `\n \r \t \b \a \xHH` and `\c` escapes, `'single quotes'`
//! with only `\'`; an unbalanced quote, or a closing quote not followed by a blank, is a
//! protocol error.
//!
//! The line is read as a C string, as Redis does: a NUL byte ends it. Unquoted words are
//! slices of the read buffer (zero-copy); a word with quotes is built unescaped. One pass over
//! the line, so the work is linear in its length.

use bytes::Bytes;

/// Blank as C's `isspace`: skipped between words and allowed after a closing quote.
fn is_blank(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | b'\x0b' | b'\x0c')
}

/// What ends an unquoted word (`sdssplitargs` stops on these, not on `\v` or `\f`).
fn ends_word(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Where the word being read is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Quote {
    /// Outside quotes: blanks end the word.
    Unquoted,
    /// Inside `"..."`: escapes are interpreted.
    Double,
    /// Inside `'...'`: only `\'` is an escape.
    Single,
}

/// The arguments of one inline line (its line ending already removed); `None` for unbalanced
/// quotes. `line` must be a slice of `buf`, so unquoted words can share it.
///
/// ```
/// use bytes::Bytes;
/// use framekit_examples::resp::split_inline;
///
/// let buf = Bytes::from_static(br#"SET k "a b\x21" 'it\'s'"#);
/// let args = split_inline(&buf, &buf).unwrap();
/// assert_eq!(args, ["SET", "k", "a b!", "it's"]);
/// let open = Bytes::from_static(b"ECHO \"open");
/// assert_eq!(split_inline(&open, &open), None);
/// ```
pub fn split_inline(line: &[u8], buf: &Bytes) -> Option<Vec<Bytes>> {
    let line = match line.iter().position(|&b| b == 0) {
        Some(nul) => &line[..nul],
        None => line,
    };
    let mut args = Vec::new();
    let mut i = 0;
    loop {
        while line.get(i).copied().is_some_and(is_blank) {
            i += 1;
        }
        if i == line.len() {
            return Some(args);
        }
        let start = i;
        // Set at the first quote: from there on the word differs from its bytes on the wire.
        let mut unescaped: Option<Vec<u8>> = None;
        let mut quote = Quote::Unquoted;
        loop {
            let here = line.get(i).copied();
            match (quote, here) {
                (Quote::Unquoted, None) => break,
                (Quote::Unquoted, Some(b)) if ends_word(b) => break,
                (Quote::Unquoted, Some(q @ (b'"' | b'\''))) => {
                    unescaped.get_or_insert_with(|| line[start..i].to_vec());
                    quote = if q == b'"' {
                        Quote::Double
                    } else {
                        Quote::Single
                    };
                    i += 1;
                }
                (Quote::Unquoted, Some(b)) => {
                    if let Some(word) = unescaped.as_mut() {
                        word.push(b);
                    }
                    i += 1;
                }
                // Unterminated quotes.
                (_, None) => return None,
                (Quote::Double, Some(b'\\')) if i + 1 < line.len() => {
                    let word = unescaped.as_mut()?;
                    let hex = line
                        .get(i + 2)
                        .and_then(|&h| hex_value(h))
                        .zip(line.get(i + 3).and_then(|&l| hex_value(l)));
                    match (line[i + 1], hex) {
                        (b'x', Some((hi, lo))) => {
                            word.push(hi * 16 + lo);
                            i += 4;
                        }
                        (c, _) => {
                            word.push(match c {
                                b'n' => b'\n',
                                b'r' => b'\r',
                                b't' => b'\t',
                                b'b' => b'\x08',
                                b'a' => b'\x07',
                                other => other,
                            });
                            i += 2;
                        }
                    }
                }
                (Quote::Single, Some(b'\\')) if line.get(i + 1) == Some(&b'\'') => {
                    unescaped.as_mut()?.push(b'\'');
                    i += 2;
                }
                (Quote::Double, Some(b'"')) | (Quote::Single, Some(b'\'')) => {
                    // A closing quote must be followed by a blank or the end of the line.
                    if line.get(i + 1).is_some_and(|&b| !is_blank(b)) {
                        return None;
                    }
                    i += 1;
                    break;
                }
                (_, Some(b)) => {
                    unescaped.as_mut()?.push(b);
                    i += 1;
                }
            }
        }
        args.push(match unescaped {
            Some(word) => Bytes::from(word),
            None => buf.slice_ref(&line[start..i]),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(line: &'static [u8]) -> Option<Vec<Bytes>> {
        let buf = Bytes::from_static(line);
        split_inline(&buf, &buf)
    }

    fn words(line: &'static [u8]) -> Vec<Vec<u8>> {
        split(line)
            .expect("balanced")
            .into_iter()
            .map(|b| b.to_vec())
            .collect()
    }

    #[test]
    fn blanks_separate_words() {
        assert_eq!(words(b"SET  k\tv"), [&b"SET"[..], b"k", b"v"]);
        assert_eq!(words(b"ECHO a\rb"), [&b"ECHO"[..], b"a", b"b"]);
        assert_eq!(words(b"  \x0b\x0c "), Vec::<Vec<u8>>::new());
        // \v and \f are skipped before a word but do not end one.
        assert_eq!(words(b"\x0ba\x0bb"), [&b"a\x0bb"[..]]);
    }

    #[test]
    fn quotes_group_and_unescape() {
        assert_eq!(words(br#"SET k "a b""#), [&b"SET"[..], b"k", b"a b"]);
        assert_eq!(words(br#"ECHO """#), [&b"ECHO"[..], b""]);
        assert_eq!(
            words(br#""\x41\x4a\xZZ\n\r\t\b\a\q\"""#),
            [&b"AJxZZ\n\r\t\x08\x07q\""[..]]
        );
        assert_eq!(words(br#"'a\'b\n'"#), [&b"a'b\\n"[..]]);
        // A quote inside a word opens quoting from there.
        assert_eq!(words(br#"ab"c d" e"#), [&b"abc d"[..], b"e"]);
    }

    #[test]
    fn unbalanced_quotes_are_refused() {
        for bad in [
            &br#"ECHO "x"#[..],
            br#"ECHO 'x"#,
            br#"ECHO "x"y"#,
            br#"ECHO 'x'y"#,
            br#"ECHO "x\"#,
        ] {
            assert_eq!(split(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn a_nul_byte_ends_the_line() {
        assert_eq!(words(b"ECHO a\0 b c"), [&b"ECHO"[..], b"a"]);
    }

    #[test]
    fn unquoted_words_share_the_buffer() {
        let buf = Bytes::from_static(b"GET key");
        let args = split_inline(&buf, &buf).unwrap();
        assert_eq!(args[1].as_ptr(), buf[4..].as_ptr());
    }
}
