//! Resumable boundaries: the part of a protocol that finds where a frame ends without parsing
//! it, fed each byte once, so that [`NomCodec`](super::NomCodec) runs the nom parser once per
//! whole frame instead of once per read.

/// What a [`Boundary`] found in the bytes it was handed.
///
/// ```
/// use framekit::framing::nom::Scan;
/// assert_ne!(Scan::More, Scan::Ends(3));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scan {
    /// The frame goes on past these bytes.
    More,
    /// The frame (or what lets the parser decide it) ends after the first `n` bytes handed to
    /// this call. The boundary is ready for the next frame, which starts at byte `n`; the codec
    /// hands those bytes again.
    Ends(usize),
}

/// Finds frame ends incrementally, each byte seen once.
///
/// # The contract
///
/// [`scan`](Boundary::scan) is handed the bytes of the stream in order, each byte once: only
/// the bytes that arrived since the previous call (or, after [`Scan::Ends`], the ones after the
/// end). A boundary therefore cannot rescan: whatever it must remember (an element count, a
/// length still to skip, the digits of a header split across reads) it keeps in its own state.
/// It answers [`Scan::Ends`] at the first byte at which the *parser* can decide: the frame is
/// whole, or it is malformed and the parser will say so. Ending early is safe (the parser
/// answers `Incomplete`, and the codec falls back to [bounded guessing](crate::framing::nom#no-boundary-bounded-guessing)
/// for that frame); ending late delays the frame until more bytes come.
///
/// ```
/// use framekit::framing::nom::{Boundary, Scan};
///
/// /// A count byte, then that many bytes.
/// #[derive(Default)]
/// struct Counted { left: Option<usize> }
///
/// impl Boundary for Counted {
///     fn scan(&mut self, bytes: &[u8]) -> Scan {
///         let mut at = 0;
///         while at < bytes.len() {
///             match self.left {
///                 None => { self.left = Some(bytes[at] as usize); at += 1; }
///                 Some(0) => break,
///                 Some(n) => {
///                     let skip = n.min(bytes.len() - at);
///                     self.left = Some(n - skip);
///                     at += skip;
///                 }
///             }
///         }
///         match self.left {
///             Some(0) => { self.left = None; Scan::Ends(at) }
///             _ => Scan::More,
///         }
///     }
///     fn reset(&mut self) { self.left = None; }
/// }
///
/// let mut b = Counted::default();
/// assert_eq!(b.scan(b"\x03a"), Scan::More);
/// assert_eq!(b.scan(b"bc\x01z"), Scan::Ends(2)); // "\x03abc" ends 2 bytes into this call
/// assert_eq!(b.scan(b"\x01z"), Scan::Ends(2));
/// ```
pub trait Boundary {
    /// Whether [`scan`](Boundary::scan) means anything. [`NoBoundary`] says no, and the codec
    /// does not call it.
    const SCANS: bool = true;

    /// Scans the next bytes of the stream; see [`Scan`].
    fn scan(&mut self, bytes: &[u8]) -> Scan;

    /// Forgets the frame in progress: the next byte handed starts a frame.
    fn reset(&mut self);
}

/// No boundary: the parser alone decides, under the codec's bounded guessing.
///
/// ```
/// use framekit::framing::nom::{Boundary, NoBoundary};
/// assert!(!NoBoundary::SCANS);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NoBoundary;

impl Boundary for NoBoundary {
    const SCANS: bool = false;

    fn scan(&mut self, _bytes: &[u8]) -> Scan {
        Scan::More
    }

    fn reset(&mut self) {}
}
