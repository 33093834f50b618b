//! Linear work measured by the machine, not by the strategies: each built-in strategy decodes a
//! frame dripped one byte per `decode` call, under callgrind, at three sizes; the instructions
//! it costs must grow linearly with the frame (twice the bytes, about twice the instructions).
//!
//! The law kit's `linear_work` law counts the bytes a strategy *reports* examining, so a
//! strategy that rescans but under-reports passes it (`Rescans` below does, and this test
//! catches it). Here nothing depends on the strategy's honesty: callgrind counts every
//! instruction of the decode loop (`--toggle-collect` on `drip_decode`, so the test harness
//! and the input's construction are left out).
//!
//! The measuring test re-runs this test binary under valgrind, naming the child test and its
//! size through the environment. It needs valgrind: it is `#[ignore]`d in the plain test run
//! and run by `.ci/linear-work-callgrind.sh`, which installs valgrind; a missing valgrind fails
//! it.

use std::path::Path;
use std::process::Command;

use bytes::BytesMut;
use framekit::framing::delimited::{Delimited, Overlong};
use framekit::framing::length_prefixed::LengthPrefixed;
use framekit::framing::{Decision, Framing};
use framekit::{FrameCodec, FrameError};
use tokio_util::codec::Decoder;

/// The child's environment: which strategy, and how many bytes its frame has.
const STRATEGY: &str = "FRAMEKIT_DRIP_STRATEGY";
const SIZE: &str = "FRAMEKIT_DRIP_SIZE";

/// The smallest frame measured; the others are twice and four times as long. The rescanning
/// strategy starts at a quarter of it: its quadratic cost at 16 KiB is 4.4 billion
/// instructions, minutes under callgrind.
const BASE: usize = 4096;

/// Newline lines that rescan the whole buffer on every call and report nothing of it while
/// claiming to report: the dishonest strategy the law kit's count cannot see.
struct Rescans;

impl Framing for Rescans {
    fn decide(&mut self, buf: &[u8]) -> Result<Decision, FrameError> {
        Ok(match buf.iter().position(|&b| b == b'\n') {
            Some(at) => Decision::frame(at + 1, 0..at),
            None => Decision::incomplete(1),
        })
    }
    fn frame_limit(&self) -> usize {
        1 << 20
    }
    fn reports_work(&self) -> bool {
        true
    }
}

/// One strategy under test: its name, its smallest size measured, how it decodes a dripped
/// wire, and one frame of about `n` bytes.
struct Case {
    name: &'static str,
    base: usize,
    run: fn(&[u8]) -> usize,
    wire: fn(usize) -> Vec<u8>,
}

fn line(n: usize, end: &[u8]) -> Vec<u8> {
    let mut wire = vec![b'x'; n];
    wire.extend_from_slice(end);
    wire
}

fn prefixed(framing: LengthPrefixed, n: usize) -> Vec<u8> {
    let mut wire = BytesMut::new();
    tokio_util::codec::Encoder::encode(
        &mut FrameCodec::new(framing),
        &vec![b'x'; n][..],
        &mut wire,
    )
    .expect("within the maximum");
    wire.to_vec()
}

const MAX: usize = 1 << 20;

fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "newline",
            base: BASE,
            run: |wire| drip_decode(Delimited::newline().max_frame_len(MAX), wire),
            wire: |n| line(n, b"\r\n"),
        },
        Case {
            name: "crlf",
            base: BASE,
            run: |wire| drip_decode(Delimited::crlf().max_frame_len(MAX), wire),
            wire: |n| line(n, b"\r\n"),
        },
        Case {
            name: "byte",
            base: BASE,
            run: |wire| drip_decode(Delimited::byte(0).max_frame_len(MAX), wire),
            wire: |n| line(n, b"\0"),
        },
        Case {
            name: "sequence",
            base: BASE,
            run: |wire| drip_decode(Delimited::sequence(b"\r\n\r\n").max_frame_len(MAX), wire),
            wire: |n| line(n, b"\r\n\r\n"),
        },
        Case {
            name: "any_of",
            base: BASE,
            run: |wire| {
                let d = Delimited::any_of([&b"\n"[..], b"\r\n", b"--"]).max_frame_len(MAX);
                drip_decode(d, wire)
            },
            wire: |n| line(n, b"\r\n"),
        },
        Case {
            name: "discarding",
            base: BASE,
            run: |wire| {
                let d = Delimited::newline()
                    .max_frame_len(16)
                    .on_overlong(Overlong::Discard);
                drip_decode(d, wire)
            },
            wire: |n| line(n, b"\nok\n"),
        },
        Case {
            name: "u32",
            base: BASE,
            run: |wire| drip_decode(LengthPrefixed::u32_be().max_frame_len(MAX), wire),
            wire: |n| prefixed(LengthPrefixed::u32_be().max_frame_len(MAX), n),
        },
        Case {
            name: "varint",
            base: BASE,
            run: |wire| drip_decode(LengthPrefixed::varint().max_frame_len(MAX), wire),
            wire: |n| prefixed(LengthPrefixed::varint().max_frame_len(MAX), n),
        },
        Case {
            name: "rescans",
            base: BASE / 4,
            run: |wire| drip_decode(Rescans, wire),
            wire: |n| line(n, b"\n"),
        },
    ]
}

/// Feeds `wire` one byte per `decode` call and counts the frames and skip reports that came
/// out. The function callgrind counts (`--toggle-collect=*drip_decode*`).
#[inline(never)]
fn drip_decode<F: Framing>(framing: F, wire: &[u8]) -> usize {
    let mut codec = FrameCodec::new(framing);
    let mut buf = BytesMut::with_capacity(wire.len());
    let mut results = 0;
    for byte in wire {
        buf.extend_from_slice(std::slice::from_ref(byte));
        loop {
            match codec.decode(&mut buf) {
                Ok(Some(_)) => results += 1,
                Ok(None) => break,
                Err(e) if e.is_recoverable() => results += 1,
                Err(e) => panic!("{e}"),
            }
        }
    }
    results
}

/// The child: decodes one dripped frame of the strategy and size its environment names (by
/// default the smallest size of every strategy), and checks what came out.
#[test]
fn a_dripped_frame_decodes_whole() {
    let size = std::env::var(SIZE).ok().map(|s| s.parse().expect("a size"));
    let only = std::env::var(STRATEGY).ok();
    for case in cases() {
        if only.as_deref().is_some_and(|name| name != case.name) {
            continue;
        }
        let size = size.unwrap_or(case.base);
        let expected = if case.name == "discarding" { 2 } else { 1 };
        let wire = (case.wire)(size);
        assert_eq!((case.run)(&wire), expected, "{} at {size} bytes", case.name);
    }
}

/// Instructions callgrind counted in `drip_decode` for `strategy` at `size` bytes.
fn instructions(valgrind: &Path, strategy: &str, size: usize) -> u64 {
    let out = std::env::temp_dir().join(format!(
        "framekit-drip-{}-{strategy}-{size}.out",
        std::process::id()
    ));
    let status = Command::new(valgrind)
        .arg("--tool=callgrind")
        .arg(format!("--callgrind-out-file={}", out.display()))
        .arg("--toggle-collect=*drip_decode*")
        .arg(std::env::current_exe().expect("the test binary"))
        .args([
            "--exact",
            "a_dripped_frame_decodes_whole",
            "--test-threads=1",
        ])
        .env(STRATEGY, strategy)
        .env(SIZE, size.to_string())
        .output()
        .expect("valgrind runs");
    assert!(
        status.status.success(),
        "valgrind on {strategy} at {size} bytes failed: {}",
        String::from_utf8_lossy(&status.stderr)
    );
    let profile = std::fs::read_to_string(&out).expect("callgrind wrote its profile");
    let _ = std::fs::remove_file(&out);
    profile
        .lines()
        .find_map(|l| l.strip_prefix("summary: "))
        .and_then(|n| n.trim().split(' ').next()?.parse().ok())
        .expect("a summary line in the callgrind profile")
}

fn valgrind() -> std::path::PathBuf {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("valgrind"))
            .find(|path| path.is_file())
    });
    found.expect("this test needs valgrind (.ci/linear-work-callgrind.sh installs it)")
}

/// Instructions per doubling: with a, b, c the counts at n, 2n and 4n bytes, linear work makes
/// (c - b) / (b - a) about 2, quadratic work about 4.
fn growth(valgrind: &Path, strategy: &str, base: usize) -> (f64, [u64; 3]) {
    let counts = [base, 2 * base, 4 * base].map(|n| instructions(valgrind, strategy, n));
    let [a, b, c] = counts;
    let ratio = c.saturating_sub(b) as f64 / b.saturating_sub(a).max(1) as f64;
    (ratio, counts)
}

#[test]
#[ignore = "needs valgrind: run by .ci/linear-work-callgrind.sh"]
fn dripped_work_grows_linearly_by_instruction_count() {
    let valgrind = valgrind();
    let mut report = Vec::new();
    for case in cases() {
        let (ratio, counts) = growth(&valgrind, case.name, case.base);
        let base = case.base;
        eprintln!(
            "{}: {counts:?} instructions at {base}, {} and {} bytes; growth {ratio:.2}",
            case.name,
            2 * base,
            4 * base
        );
        report.push((case.name, ratio));
    }
    for (name, ratio) in &report {
        match *name {
            // The dishonest strategy: the kit's count sees nothing, the instructions do.
            "rescans" => assert!(*ratio > 3.0, "rescans grew only {ratio:.2}x per doubling"),
            _ => assert!(
                *ratio < 2.6,
                "{name} grew {ratio:.2}x per doubling: not linear"
            ),
        }
    }
}

#[test]
fn the_law_kit_count_cannot_see_a_rescan_it_is_not_told_of() {
    // Why the instruction count exists: the law kit's `linear_work` passes `Rescans`.
    let laws = framekit::testing::Laws::decoder(
        || FrameCodec::new(Rescans),
        proptest::collection::vec(b'a'..=b'z', 0..64),
        |_, line: Vec<u8>, dst: &mut BytesMut| {
            dst.extend_from_slice(&line);
            dst.extend_from_slice(b"\n");
            Ok(())
        },
    );
    let dripped = line(4 * BASE, b"\n");
    assert!(laws.check_linear_work(&dripped, &[1]).is_ok());
}
