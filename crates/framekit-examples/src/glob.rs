//! Glob patterns as Redis matches them (`stringmatchlen`), for `KEYS` and `CONFIG GET`: `*` any
//! run, `?` any byte, `[abc]`, `[^a]`, `[a-z]` classes, `\x` a literal `x`, with Redis's corner
//! cases kept: `[]` and `[^]` end a class at once, an unclosed class takes the rest of the
//! pattern, range ends compare as signed bytes, and a pattern matches an empty string only when
//! it is empty itself.
//!
//! Iterative, with one backtrack point (the last `*`): every other element consumes exactly one
//! byte, so the last star is the only one worth moving, and no pattern can exhaust the stack.

/// Whether `text` matches `pattern`, as Redis's `stringmatchlen(pattern, text, nocase = 0)`.
///
/// ```
/// use framekit_examples::glob::glob_match;
/// assert!(glob_match(b"user:*", b"user:42"));
/// assert!(glob_match(b"h?llo", b"hello"));
/// assert!(glob_match(b"h[^e]llo", b"hallo"));
/// assert!(!glob_match(b"h[a-b]llo", b"hello"));
/// assert!(glob_match(b"[^]a]", b"xa]"), "[^] is an empty negated class: any byte");
/// ```
pub fn glob_match(pattern: &[u8], text: &[u8]) -> bool {
    if text.is_empty() {
        // Redis's loop never starts; only an empty pattern is left with nothing to match.
        return pattern.is_empty();
    }
    let (mut p, mut t) = (0, 0);
    // The pattern position just after the last star run, and where its text match started.
    let mut star: Option<(usize, usize)> = None;
    loop {
        if t < text.len() {
            if pattern.get(p) == Some(&b'*') {
                while pattern.get(p) == Some(&b'*') {
                    p += 1;
                }
                if p == pattern.len() {
                    return true;
                }
                star = Some((p, t));
                continue;
            }
            if let Some(next) = match_one(pattern, p, text[t]) {
                p = next;
                t += 1;
                continue;
            }
        } else {
            while pattern.get(p) == Some(&b'*') {
                p += 1;
            }
            if p == pattern.len() {
                return true;
            }
        }
        // Let the last star take one more byte and try the rest again.
        match star {
            Some((after_star, from)) if from < text.len() => {
                star = Some((after_star, from + 1));
                p = after_star;
                t = from + 1;
            }
            _ => return false,
        }
    }
}

/// Matches one non-star element at `pattern[p..]` against `byte`: the position after it on a
/// match.
fn match_one(pattern: &[u8], p: usize, byte: u8) -> Option<usize> {
    match *pattern.get(p)? {
        b'?' => Some(p + 1),
        b'[' => match_class(pattern, p, byte),
        b'\\' if p + 1 < pattern.len() => (pattern[p + 1] == byte).then_some(p + 2),
        c => (c == byte).then_some(p + 1),
    }
}

/// The class opening at `pattern[open] == b'['`, walked exactly as Redis walks it.
fn match_class(pattern: &[u8], open: usize, byte: u8) -> Option<usize> {
    let mut q = open + 1;
    let negate = pattern.get(q) == Some(&b'^');
    if negate {
        q += 1;
    }
    let mut matched = false;
    loop {
        let rest = pattern.len() - q;
        if rest >= 2 && pattern[q] == b'\\' {
            q += 1;
            matched |= pattern[q] == byte;
        } else if rest >= 1 && pattern[q] == b']' {
            break;
        } else if rest == 0 {
            // Unclosed: the class ends with the pattern.
            q -= 1;
            break;
        } else if rest >= 3 && pattern[q + 1] == b'-' {
            // C compares `char`s, which are signed here.
            let (a, b) = (pattern[q] as i8, pattern[q + 2] as i8);
            let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
            matched |= (lo..=hi).contains(&(byte as i8));
            q += 2;
        } else {
            matched |= pattern[q] == byte;
        }
        q += 1;
    }
    (matched != negate).then_some(q + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stars_questions_and_escapes() {
        assert!(glob_match(b"*", b"abc"));
        assert!(glob_match(b"a*b*c", b"aXXbYYc"));
        assert!(!glob_match(b"a*b*c", b"aXXbYY"));
        assert!(glob_match(b"*a", b"aaa"));
        assert!(glob_match(b"**", b"x"));
        assert!(glob_match(b"a**", b"a"));
        assert!(glob_match(b"\\*", b"*"));
        assert!(!glob_match(b"\\*", b"a"));
        assert!(
            glob_match(b"a\\", b"a\\"),
            "a trailing backslash is literal"
        );
        assert!(!glob_match(b"?", b"ab"));
        assert!(glob_match(b"*?*?", b"ab"));
        assert!(!glob_match(b"*?*?", b"a"));
    }

    #[test]
    fn empty_text_matches_only_the_empty_pattern() {
        assert!(glob_match(b"", b""));
        assert!(!glob_match(b"*", b""));
        assert!(!glob_match(b"**", b""));
        assert!(!glob_match(b"", b"a"));
    }

    #[test]
    fn classes_follow_redis_corner_cases() {
        assert!(glob_match(b"[abc]", b"b"));
        assert!(!glob_match(b"[abc]", b"d"));
        assert!(glob_match(b"[^a]", b"b"));
        assert!(!glob_match(b"[^a]", b"a"));
        // `[]` is an empty class: nothing matches; `[^]` matches anything.
        assert!(!glob_match(b"[]a]", b"a"));
        assert!(!glob_match(b"[]a]", b"]"));
        assert!(glob_match(b"[^]a]", b"xa]"));
        assert!(!glob_match(b"[^]a]", b"x"));
        // Unclosed classes take the rest of the pattern.
        assert!(!glob_match(b"[", b"["));
        assert!(glob_match(b"[^", b"q"));
        assert!(glob_match(b"[a-", b"a"));
        assert!(glob_match(b"[a-", b"-"));
        assert!(!glob_match(b"[a-", b"b"));
        // `[a-]` is the range `]`..`a` (ends swapped), unclosed.
        assert!(glob_match(b"[a-]", b"_"));
        assert!(glob_match(b"[a-]", b"a"));
        assert!(!glob_match(b"[a-]", b"b"));
        assert!(glob_match(b"[z-a]", b"m"), "reversed ranges are swapped");
        assert!(glob_match(b"[\\]]", b"]"));
        // Signed ends: 0xff is -1, so [a-\xff] is -1..=97.
        assert!(glob_match(b"[a-\xff]", b"A"));
        assert!(!glob_match(b"[a-\xff]", b"\x80"));
    }
}
