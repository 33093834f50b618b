//! The work meter behind the `linear_work` law: strategies report the bytes they examine, the
//! nom adapter reports the bytes it hands a parser or a boundary, and the law kit reads the sum.
//!
//! Counting is on only with the `testing` feature (and in framekit's own tests); without it
//! [`examined`] compiles to nothing, so the hot path pays nothing. The counter is per thread:
//! the law kit drives a codec synchronously, resets the count, runs, and reads it back.

#[cfg(any(test, feature = "testing"))]
thread_local! {
    static EXAMINED: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// Records that `bytes` bytes were examined (scanned, compared, or handed to a parser) while
/// deciding where a frame ends.
///
/// A [`Framing`](super::Framing) that remembers its progress calls this at every scan with the
/// length of the slice it scans, and says so through
/// [`reports_work`](super::Framing::reports_work); [`FrameCodec`](crate::FrameCodec) then
/// trusts the report instead of charging the whole buffer for every call.
///
/// ```
/// framekit::framing::work::examined(3); // a no-op unless the `testing` feature is on
/// ```
#[inline(always)]
pub fn examined(bytes: usize) {
    #[cfg(any(test, feature = "testing"))]
    EXAMINED.with(|c| c.set(c.get().wrapping_add(bytes as u64)));
    #[cfg(not(any(test, feature = "testing")))]
    let _ = bytes;
}

/// Bytes examined on this thread so far (always 0 without the `testing` feature).
///
/// ```
/// use framekit::framing::work;
/// let before = work::total();
/// work::examined(5);
/// assert!(work::total() == before + 5 || work::total() == 0);
/// ```
#[inline]
pub fn total() -> u64 {
    #[cfg(any(test, feature = "testing"))]
    return EXAMINED.with(|c| c.get());
    #[cfg(not(any(test, feature = "testing")))]
    0
}

#[cfg(test)]
mod tests {
    #[test]
    fn reports_add_up_per_thread() {
        let before = super::total();
        super::examined(7);
        super::examined(3);
        assert_eq!(super::total() - before, 10);
        let other = std::thread::spawn(super::total).join().unwrap();
        assert_eq!(other, 0, "another thread has its own count");
    }
}
