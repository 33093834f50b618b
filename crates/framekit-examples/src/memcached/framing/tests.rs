//! The memcached framing's cases: lines, blocks, refused lines, skipped blocks, limits.

use framekit::framing::{Decision, Framing};
use framekit::FrameError;

use super::{Block, MemcacheFraming, DEFAULT_MAX_LINE};

/// Every decision on `wire` fed whole, until more bytes are needed.
fn decisions(framing: &mut MemcacheFraming, mut wire: &[u8]) -> Vec<Decision> {
    let mut out = Vec::new();
    while !wire.is_empty() {
        let d = framing.decide(wire).unwrap();
        match d {
            Decision::Frame { len, .. } | Decision::Discard { len, .. } => wire = &wire[len..],
            Decision::Incomplete { .. } => {
                out.push(d);
                break;
            }
        }
        out.push(d);
    }
    out
}

#[test]
fn a_line_ends_at_lf_with_or_without_cr() {
    let mut f = MemcacheFraming::new();
    assert_eq!(
        decisions(&mut f, b"get a\r\nget b\n\r\n"),
        [
            Decision::frame(7, 0..5),
            Decision::frame(6, 0..5),
            // CRLF alone is the line "\r", as memcached reads it.
            Decision::frame(2, 0..1),
        ]
    );
}

#[test]
fn a_storage_line_is_followed_by_its_block_whatever_it_holds() {
    let mut f = MemcacheFraming::new();
    let wire = b"set k 0 0 4\r\n\r\nab\r\nappend k 0 0 0 noreply\r\n\r\n";
    assert_eq!(
        decisions(&mut f, wire),
        [Decision::frame(19, 0..17), Decision::frame(26, 0..24)]
    );
    assert_eq!(f.last().block, Block::Data { len: 0 });
}

#[test]
fn a_block_is_waited_for_by_its_exact_length() {
    let mut f = MemcacheFraming::new();
    assert_eq!(
        f.decide(b"cas k 1 2 10 7\r\nabc").unwrap(),
        Decision::incomplete(9)
    );
    assert_eq!(
        f.decide(b"cas k 1 2 10 7\r\nabcdefghij\r\n").unwrap(),
        Decision::frame(28, 0..26)
    );
}

#[test]
fn a_refused_storage_line_has_no_block() {
    // memcached answers these lines and reads what follows as the next command.
    for line in [
        &b"set k 0 0\r\n"[..],
        b"set k 0 0 -1\r\n",
        b"set k x 0 1\r\n",
        b"cas k 0 0 1\r\n",
        b"ms k\r\n",
        b"ms k -5 T0\r\n",
    ] {
        let mut f = MemcacheFraming::new();
        let d = f.decide(line).unwrap();
        assert_eq!(
            d,
            Decision::frame(line.len(), 0..line.len() - 2),
            "{line:?}"
        );
        assert_eq!(f.last().block, Block::None);
    }
    let long_key = format!("set {} 0 0 1\r\nx\r\n", "k".repeat(251));
    let mut f = MemcacheFraming::new();
    assert_eq!(f.decide(long_key.as_bytes()).unwrap().clone(), {
        let line = long_key.len() - 3;
        Decision::frame(line, 0..line - 2)
    });
}

#[test]
fn a_block_over_the_item_limit_is_dropped_as_it_arrives() {
    let mut f = MemcacheFraming::new().item_max(1024);
    let line = b"set k 0 0 2000\r\n";
    assert_eq!(f.decide(line).unwrap(), Decision::frame(16, 0..14));
    assert_eq!(f.last().block, Block::Skipped { len: 2000 });
    // The block comes in pieces; each is dropped, never asked for whole.
    let piece = [b'x'; 700];
    for want in [700, 700, 602] {
        assert_eq!(
            f.decide(&piece).unwrap(),
            Decision::Discard {
                len: want,
                skipped_frame: None
            }
        );
    }
    assert_eq!(f.decide(b"get k\r\n").unwrap(), Decision::frame(7, 0..5));
}

#[test]
fn the_item_limit_counts_key_flags_and_header_as_memcached_does() {
    let fits = |line: &str| {
        // A block that fits is waited for; one that does not is skipped at once.
        let mut f = MemcacheFraming::new().item_max(1024);
        matches!(
            f.decide(line.as_bytes()).unwrap(),
            Decision::Incomplete { .. }
        )
    };
    assert!(fits("set k 0 0 964\r\n"));
    assert!(!fits("set k 0 0 965\r\n"));
    assert!(!fits("set k 1 0 964\r\n"));
    assert!(fits("ms k 960 F1\r\n"));
    assert!(!fits("ms k 961 F1\r\n"));
}

#[test]
fn a_line_over_the_limit_fails_unless_it_is_a_get() {
    let mut f = MemcacheFraming::new();
    let long = vec![b'a'; DEFAULT_MAX_LINE + 1];
    let err = f.decide(&long).unwrap_err();
    assert!(matches!(
        err,
        FrameError::TooLong {
            max: DEFAULT_MAX_LINE,
            exact: false,
            ..
        }
    ));
    assert_eq!(err.reason(), Some("command line too long"));
    let mut f = MemcacheFraming::new();
    let mut get = b"  get ".to_vec();
    get.resize(DEFAULT_MAX_LINE + 10, b'k');
    assert_eq!(f.decide(&get).unwrap(), Decision::incomplete(1));
    get.extend_from_slice(b"\r\n");
    assert_eq!(
        f.decide(&get).unwrap(),
        Decision::frame(get.len(), 0..get.len() - 2)
    );
}

#[test]
fn encoding_refuses_what_would_not_decode_back() {
    let mut f = MemcacheFraming::new();
    let mut dst = bytes::BytesMut::new();
    assert!(f.encode(b"get a", &mut dst).is_ok());
    assert!(f.encode(b"set k 0 0 2\r\nab", &mut dst).is_ok());
    assert_eq!(&dst[..], b"get a\r\nset k 0 0 2\r\nab\r\n");
    for bad in [
        &b""[..],
        b"set k 0 0 2",
        b"set k 0 0 2\r\nabc",
        b"a\r",
        b"get\nx",
    ] {
        assert!(f.encode(bad, &mut dst).is_err(), "{bad:?}");
    }
}

#[test]
fn a_storage_line_is_read_once_and_handed_on_as_read() {
    use super::super::line::{StorageLine, Words};
    use super::super::request::RequestDecoder;
    // Each line, and whether it is a valid classic storage line.
    let lines: [(&[u8], bool); 6] = [
        (b"set  key 5 -1 2 noreply", true),
        (b"cas k 0 0 2 77", true),
        (b"append k 4294967295 100 2", true),
        (b"ms k 2 T0", false),
        (b"set k 0 0 x", false),
        (b"get k", false),
    ];
    for (line, valid) in lines {
        let mut decoder = RequestDecoder::new(MemcacheFraming::new());
        let mut wire = bytes::BytesMut::from(line);
        wire.extend_from_slice(b"\r\nhi\r\n");
        let (req, _) = decoder.next_request(&mut wire, false).unwrap().unwrap();
        let read_again = StorageLine::parse(&Words::split(line)).ok().flatten();
        assert_eq!(req.storage, read_again, "{}", String::from_utf8_lossy(line));
        assert_eq!(req.storage.is_some(), valid);
    }
}
