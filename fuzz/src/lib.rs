//! What the fuzz targets share: the configurations each strategy is fuzzed in (picked by the
//! input's first byte), how an input becomes chunked bytes or a list of messages, and the calls
//! into framekit's law kit, so every target checks exactly what the property tests check.
//!
//! Byte targets read `[config][n][n chunk sizes][bytes...]`; round-trip targets read the
//! config byte, then let `arbitrary` build a cut point, chunk sizes and the messages.

use arbitrary::{Arbitrary, Unstructured};
use bytes::{Bytes, BytesMut};
use framekit::framing::delimited::{Delimited, Overlong, Trailing};
use framekit::framing::fixed::FixedSize;
use framekit::framing::length_prefixed::{Endian, LengthPrefixed};
use framekit::framing::nom::NomCodec;
use framekit::framing::Framing;
use framekit::testing::tlv::{Msg, Tlv};
use framekit::testing::{CutStream, LawViolation, Laws, Limits};
use framekit::FrameCodec;
use proptest::strategy::Just;

pub mod proxy;

/// Small limits, so the fuzzer reaches them with short inputs.
const MAX: usize = 16;

/// Panics with the law's own message, which libFuzzer reports as the crash.
pub fn check(result: Result<(), LawViolation>) {
    if let Err(violation) = result {
        panic!("{violation}");
    }
}

/// Arbitrary bytes and the chunk sizes to feed them in.
#[derive(Debug)]
pub struct ByteInput<'a> {
    /// Picks the configuration.
    pub config: u8,
    /// Chunk sizes, repeated (see `framekit::testing::chunks`); a size of 0 is one byte.
    pub sizes: Vec<usize>,
    /// The stream.
    pub bytes: &'a [u8],
}

impl<'a> ByteInput<'a> {
    /// `[config][n][n chunk sizes][bytes...]`, with n taken modulo 8.
    pub fn parse(data: &'a [u8]) -> Self {
        let config = data.first().copied().unwrap_or(0);
        let n = data.get(1).map_or(0, |n| (n % 8) as usize);
        let sizes_end = (2 + n).min(data.len());
        let sizes = data.get(2..sizes_end).unwrap_or_default();
        ByteInput {
            config,
            sizes: sizes.iter().map(|&s| s as usize).collect(),
            bytes: data.get(sizes_end..).unwrap_or_default(),
        }
    }
}

/// Messages, a cut point for the EOF law and chunk sizes, built by `arbitrary`.
#[derive(Debug)]
pub struct MessageInput<M> {
    /// Picks the configuration.
    pub config: u8,
    /// How far into the last message the stream ends, for the EOF law.
    pub cut: usize,
    /// Chunk sizes, repeated.
    pub sizes: Vec<usize>,
    /// The messages.
    pub messages: Vec<M>,
}

impl<M> MessageInput<M> {
    /// Reads the input, or `None` when it is too short to mean anything.
    pub fn parse<'a>(data: &'a [u8]) -> Option<Self>
    where
        M: Arbitrary<'a>,
    {
        let (&config, rest) = data.split_first()?;
        let mut u = Unstructured::new(rest);
        let cut = u.arbitrary::<u16>().ok()? as usize;
        let sizes: Vec<u8> = u.arbitrary().ok()?;
        let messages = Vec::<M>::arbitrary_take_rest(u).ok()?;
        Some(MessageInput {
            config,
            cut,
            sizes: sizes.into_iter().take(8).map(usize::from).collect(),
            messages,
        })
    }

    /// The EOF-law input for the messages the encoder accepted.
    pub fn cut_stream(&self, accepted: Vec<M>) -> CutStream<M> {
        CutStream {
            messages: accepted,
            cut: self.cut,
            sizes: self.sizes.clone(),
        }
    }
}

/// Runs the round-trip and EOF laws on the messages the framing can encode.
pub fn check_messages<F, M>(
    laws: &Laws<FrameCodec<F>, M>,
    framing: impl Fn() -> F,
    input: &MessageInput<M>,
) where
    F: Framing + 'static,
    M: AsRef<[u8]> + Clone + std::fmt::Debug + 'static,
    Bytes: PartialEq<M>,
{
    check(laws.check_round_trip_encodable(&input.messages));
    let accepted: Vec<M> = input
        .messages
        .iter()
        .filter(|m| framing().encode(m.as_ref(), &mut BytesMut::new()).is_ok())
        .cloned()
        .collect();
    check(laws.check_eof(&input.cut_stream(accepted)));
}

// ---- Delimited ----------------------------------------------------------------------------

/// Delimiter kinds; the rest of the config byte picks the knobs (see [`delimited`]).
const DELIMITER_KINDS: u8 = 7;

fn overlong(choice: u8) -> Overlong {
    match choice % 3 {
        0 => Overlong::Error,
        1 => Overlong::Discard,
        _ => Overlong::DiscardFailFast,
    }
}

/// The trailing policy of a config byte (a tail over the maximum gets the over-long answer,
/// as the `eof` law expects).
fn trailing(config: u8) -> Trailing {
    match (config / (DELIMITER_KINDS * 3)) % 3 {
        0 => Trailing::Error,
        1 => Trailing::Deliver,
        _ => Trailing::DeliverWithoutCr,
    }
}

/// Every delimiter kind with every knob, with a small maximum. The config byte is read as
/// mixed-radix digits: the kind (7), the over-long policy (3), the trailing policy (3),
/// `keep_delimiter` (2), and for LF-or-CRLF whether it encodes with CRLF (2).
pub fn delimited(config: u8) -> Delimited {
    let kind = config % DELIMITER_KINDS;
    let d = match kind {
        0 => Delimited::newline(),
        1 => Delimited::newline().strip_cr(false),
        2 => Delimited::crlf(),
        3 => Delimited::byte(0),
        4 => Delimited::sequence(b"\r\n\r\n"),
        5 => Delimited::any_of([&b"\n"[..], b"\r\n"]),
        _ => Delimited::any_of([&b"ab"[..], b"bab", b"ba"]),
    };
    let knobs = config / DELIMITER_KINDS;
    let keep = (knobs / 9) % 2 == 1;
    let d = match (kind, (knobs / 18) % 2) {
        (5, 1) => d
            .encode_with(b"\r\n")
            .expect("CRLF is one of kind 5's delimiters"),
        _ => d,
    };
    d.on_overlong(overlong(knobs))
        .on_trailing(trailing(config))
        .keep_delimiter(keep)
        .max_frame_len(MAX)
}

/// The laws for `delimited(config)`.
pub fn delimited_laws(config: u8) -> Laws<FrameCodec<Delimited>, Vec<u8>> {
    let laws = Laws::frame_codec(move || FrameCodec::new(delimited(config)), Just(Vec::new()));
    match trailing(config) {
        Trailing::Error => laws,
        Trailing::Deliver | Trailing::DeliverWithoutCr => laws.partial_frame_delivered(),
    }
}

// ---- LengthPrefixed -----------------------------------------------------------------------

/// Length-prefix layouts; the rest of the config byte picks the knobs (see [`length_prefixed`]).
const LAYOUTS: u8 = 15;

/// The `keep_header` layout, whose payloads come back with their header.
const KEEP_HEADER: u8 = 14;

/// Every width and byte order, varint, and the header knobs, with a small maximum. The config
/// byte is read as mixed-radix digits: the layout (15), the over-long policy (3: error, skip
/// and report after, skip and report at once), and `strip(1)` (2, where the layout allows it).
pub fn length_prefixed(config: u8) -> LengthPrefixed {
    let fixed = |width, endian| LengthPrefixed::builder().length_field(width, endian);
    let layout = config % LAYOUTS;
    let knobs = config / LAYOUTS;
    let b = match layout {
        0 => fixed(1, Endian::Big),
        1 => fixed(2, Endian::Big),
        2 => fixed(2, Endian::Little),
        3 => fixed(3, Endian::Big),
        4 => fixed(3, Endian::Little),
        5 => fixed(4, Endian::Big),
        6 => fixed(4, Endian::Little),
        7 => fixed(8, Endian::Big),
        8 => fixed(8, Endian::Little),
        9 => LengthPrefixed::builder().varint(),
        10 => fixed(2, Endian::Big)
            .header_offset(2)
            .encode_prefix(b"TV")
            .length_includes_header(true),
        11 => fixed(1, Endian::Big).length_adjustment(-2),
        12 => fixed(1, Endian::Big).length_adjustment(3),
        13 => LengthPrefixed::builder()
            .header_offset(1)
            .varint()
            .length_includes_header(true),
        _ => fixed(2, Endian::Little)
            .header_offset(1)
            .encode_prefix(b"K")
            .keep_header(true),
    };
    // strip(1) needs a header byte to strip: not a bare varint, nor with keep_header.
    let b = match (knobs / 3) % 2 == 1 && layout != 9 && layout != KEEP_HEADER {
        true => b.strip(1),
        false => b,
    };
    b.on_overlong(overlong(knobs))
        .max_frame_len(MAX)
        .build()
        .expect("a valid layout")
}

/// The laws for `length_prefixed(config)`.
pub fn length_prefixed_laws(config: u8) -> Laws<FrameCodec<LengthPrefixed>, Vec<u8>> {
    let laws = Laws::frame_codec(
        move || FrameCodec::new(length_prefixed(config)),
        Just(Vec::new()),
    );
    if config % LAYOUTS == KEEP_HEADER {
        // keep_header: payloads carry their 3-byte header on top of the body's maximum.
        let lp = length_prefixed(config);
        return laws.limits(Limits::new(lp.frame_limit() + 3, lp.buffer_limit()));
    }
    laws
}

/// A configuration whose payloads are the messages sent, for the round-trip target: any
/// layout but `keep_header` and no `strip` (their payloads come back with header bytes; the
/// property tests cover them through a closure codec), with any over-long policy.
pub fn length_prefixed_round_trip_config(config: u8) -> u8 {
    let layout = config % KEEP_HEADER;
    let policy = (config / KEEP_HEADER) % 3;
    layout + LAYOUTS * policy
}

// ---- FixedSize ----------------------------------------------------------------------------

/// Records of 1 to 16 bytes.
pub fn fixed(config: u8) -> FixedSize {
    FixedSize::new(1 + (config % 16) as usize)
}

/// The laws for `fixed(config)`.
pub fn fixed_laws(config: u8) -> Laws<FrameCodec<FixedSize>, Vec<u8>> {
    Laws::frame_codec(move || FrameCodec::new(fixed(config)), Just(Vec::new()))
}

// ---- NomCodec -----------------------------------------------------------------------------

/// A TLV message as `arbitrary` builds it.
#[derive(Debug, Clone, Arbitrary)]
pub enum TlvMessage {
    /// A string.
    Str(Vec<u8>),
    /// A number.
    Int(u32),
}

impl From<TlvMessage> for Msg {
    fn from(m: TlvMessage) -> Msg {
        match m {
            TlvMessage::Str(s) => Msg::Str(s.into()),
            TlvMessage::Int(n) => Msg::Int(n),
        }
    }
}

/// The maximum frame length for the TLV codec: small, or large enough for any string.
pub fn nom_max(config: u8) -> usize {
    match config % 2 {
        0 => 2 * MAX,
        _ => 3 + u16::MAX as usize,
    }
}

/// The laws for the TLV protocol through `NomCodec` with `nom_max(config)`.
pub fn nom_laws(config: u8) -> Laws<NomCodec<Tlv>, Msg> {
    let max = nom_max(config);
    Laws::decoder(
        move || NomCodec::new(Tlv).max_frame_len(max),
        Just(Msg::Int(0)),
        move |_, msg: Msg, dst| msg.write(max, dst),
    )
    .limits(Limits::new(max, max))
    .frame_len(Msg::wire_len)
}
