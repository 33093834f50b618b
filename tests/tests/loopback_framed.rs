//! Every framing strategy and payload codec over a real loopback `TcpStream`, through
//! `tokio_util::codec::Framed`: an echo server and a client exchange frames, including frames
//! split across many small writes.

use std::fmt::Debug;
use std::time::Duration;

use bytes::Bytes;
use framekit::framing::delimited::Delimited;
use framekit::framing::fixed::FixedSize;
use framekit::framing::length_prefixed::{Endian, LengthPrefixed};
use framekit::framing::nom::{NomCodec, StreamParser};
use framekit::payload::{Json, Utf8};
use framekit::{FrameCodec, FrameError};
use futures::{SinkExt, StreamExt};
use nom::bytes::streaming::{tag, take_until};
use nom::{IResult, Parser};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio_util::codec::{Decoder, Encoder, Framed};

const LIMIT: Duration = Duration::from_secs(20);

/// Starts an echo server speaking `codec`, connects a client speaking `codec`, sends `messages`
/// and checks they come back, in order.
async fn echo_over_tcp<C, T>(codec: impl Fn() -> C + Send + 'static, messages: Vec<T>)
where
    C: Decoder<Item = T, Error = FrameError> + Encoder<T, Error = FrameError> + Send + 'static,
    T: Clone + PartialEq + Debug + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server_codec = codec();
    let server = tokio::spawn(async move {
        let (socket, _) = listener.accept().await.unwrap();
        let mut framed = Framed::new(socket, server_codec);
        while let Some(frame) = framed.next().await {
            framed.send(frame.unwrap()).await.unwrap();
        }
    });
    let client = TcpStream::connect(addr).await.unwrap();
    client.set_nodelay(true).unwrap();
    let mut framed = Framed::new(client, codec());
    for m in &messages {
        framed.feed(m.clone()).await.unwrap();
    }
    framed.flush().await.unwrap();
    for m in &messages {
        let back = framed.next().await.expect("echo").unwrap();
        assert_eq!(&back, m);
    }
    drop(framed);
    server.await.unwrap();
}

fn payloads() -> Vec<Bytes> {
    let mut v: Vec<Bytes> = ["", "a", "hello", "a somewhat longer frame of text"]
        .iter()
        .map(|s| Bytes::from_static(s.as_bytes()))
        .collect();
    v.push(Bytes::from(vec![b'x'; 10_000]));
    v
}

#[tokio::test]
async fn delimited_strategies_over_tcp() {
    tokio::time::timeout(LIMIT, async {
        echo_over_tcp(|| FrameCodec::new(Delimited::newline()), payloads()).await;
        echo_over_tcp(|| FrameCodec::new(Delimited::crlf()), payloads()).await;
        echo_over_tcp(|| FrameCodec::new(Delimited::byte(0)), payloads()).await;
        echo_over_tcp(
            || FrameCodec::new(Delimited::sequence(b"\r\n\r\n")),
            payloads(),
        )
        .await;
        echo_over_tcp(
            || FrameCodec::new(Delimited::any_of([&b"\n"[..], b"\r\n", b";"])),
            payloads(),
        )
        .await;
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn length_prefixed_layouts_over_tcp() {
    tokio::time::timeout(LIMIT, async {
        echo_over_tcp(|| FrameCodec::new(LengthPrefixed::u16_be()), payloads()).await;
        echo_over_tcp(|| FrameCodec::new(LengthPrefixed::u32_le()), payloads()).await;
        echo_over_tcp(|| FrameCodec::new(LengthPrefixed::u64_be()), payloads()).await;
        echo_over_tcp(|| FrameCodec::new(LengthPrefixed::varint()), payloads()).await;
        let layout = || {
            LengthPrefixed::builder()
                .header_offset(2)
                .encode_prefix(b"v1")
                .length_field(3, Endian::Little)
                .length_includes_header(true)
                .build()
                .unwrap()
        };
        echo_over_tcp(move || FrameCodec::new(layout()), payloads()).await;
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn fixed_size_records_over_tcp() {
    let records: Vec<Bytes> = (0u8..50).map(|i| Bytes::from(vec![i; 16])).collect();
    tokio::time::timeout(
        LIMIT,
        echo_over_tcp(|| FrameCodec::new(FixedSize::new(16)), records),
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn payload_codecs_over_tcp() {
    #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
    struct Order {
        id: u64,
        item: String,
    }
    tokio::time::timeout(LIMIT, async {
        let texts = vec!["héllo".into(), "wörld".into(), String::new()];
        echo_over_tcp(
            || FrameCodec::with_payload(Delimited::newline(), Utf8),
            texts
                .into_iter()
                .map(framekit::payload::Text::from)
                .collect(),
        )
        .await;
        let orders = (0..20)
            .map(|id| Order {
                id,
                item: format!("item {id}"),
            })
            .collect();
        echo_over_tcp(
            || FrameCodec::with_payload(LengthPrefixed::u32_be(), Json::<Order>::new()),
            orders,
        )
        .await;
    })
    .await
    .unwrap();
}

/// `+word\r\n`, parsed by nom into zero-copy `Bytes`; encoded by a matching `Encoder`.
#[derive(Default)]
struct SimpleString(Option<NomCodec<WordParser>>);

struct WordParser;

impl StreamParser for WordParser {
    type Item = Bytes;
    fn parse<'a>(&mut self, input: &'a [u8], buf: &Bytes) -> IResult<&'a [u8], Bytes> {
        let (rest, _) = tag(&b"+"[..]).parse(input)?;
        let (rest, word) = take_until(&b"\r\n"[..]).parse(rest)?;
        let (rest, _) = tag(&b"\r\n"[..]).parse(rest)?;
        Ok((rest, buf.slice_ref(word)))
    }
}

impl Decoder for SimpleString {
    type Item = Bytes;
    type Error = FrameError;
    fn decode(&mut self, src: &mut bytes::BytesMut) -> Result<Option<Bytes>, FrameError> {
        self.0
            .get_or_insert_with(|| NomCodec::new(WordParser))
            .decode(src)
    }
}

impl Encoder<Bytes> for SimpleString {
    type Error = FrameError;
    fn encode(&mut self, item: Bytes, dst: &mut bytes::BytesMut) -> Result<(), FrameError> {
        dst.extend_from_slice(b"+");
        dst.extend_from_slice(&item);
        dst.extend_from_slice(b"\r\n");
        Ok(())
    }
}

#[tokio::test]
async fn nom_parser_over_tcp() {
    let words = ["OK", "PONG", "", "QUEUED"]
        .iter()
        .map(|w| Bytes::from_static(w.as_bytes()))
        .collect();
    tokio::time::timeout(LIMIT, echo_over_tcp(SimpleString::default, words))
        .await
        .unwrap();
}

#[tokio::test]
async fn a_frame_dribbled_one_byte_at_a_time_arrives_whole() {
    tokio::time::timeout(LIMIT, async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let writer = tokio::spawn(async move {
            let mut s = TcpStream::connect(addr).await.unwrap();
            s.set_nodelay(true).unwrap();
            for b in b"\x00\x00\x00\x05hello\x00\x00\x00\x02hi" {
                s.write_all(&[*b]).await.unwrap();
                s.flush().await.unwrap();
                tokio::task::yield_now().await;
            }
        });
        let (socket, _) = listener.accept().await.unwrap();
        let mut framed = Framed::new(socket, FrameCodec::new(LengthPrefixed::u32_be()));
        assert_eq!(framed.next().await.unwrap().unwrap(), "hello");
        assert_eq!(framed.next().await.unwrap().unwrap(), "hi");
        assert!(framed.next().await.is_none(), "clean end of stream");
        writer.await.unwrap();
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn a_hostile_length_is_refused_on_the_header_and_costs_no_memory() {
    tokio::time::timeout(LIMIT, async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let _peer = tokio::spawn(async move {
            let mut s = TcpStream::connect(addr).await.unwrap();
            // 4 GiB declared, then the peer goes quiet with the connection open.
            s.write_all(b"\xff\xff\xff\xffabc").await.unwrap();
            tokio::time::sleep(LIMIT).await;
        });
        let (socket, _) = listener.accept().await.unwrap();
        let mut framed = Framed::new(socket, FrameCodec::new(LengthPrefixed::u32_be()));
        let err = framed.next().await.unwrap().unwrap_err();
        assert!(
            matches!(
                err,
                FrameError::TooLong {
                    len: 0xffff_ffff,
                    max: 0x80_0000,
                    offset: 0,
                    exact: true,
                    reason: None
                }
            ),
            "{err:?}"
        );
        assert!(framed.read_buffer().capacity() < 64 * 1024);
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn switching_framing_after_a_handshake_loses_no_byte() {
    tokio::time::timeout(LIMIT, async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let _peer = tokio::spawn(async move {
            let mut s = TcpStream::connect(addr).await.unwrap();
            // Handshake and first binary frames in one segment.
            s.write_all(b"UPGRADE binary\r\n\x03one\x03two")
                .await
                .unwrap();
            s.write_all(b"\x05three").await.unwrap();
        });
        let (socket, _) = listener.accept().await.unwrap();
        let mut lines = Framed::new(socket, FrameCodec::with_payload(Delimited::newline(), Utf8));
        assert_eq!(lines.next().await.unwrap().unwrap(), "UPGRADE binary");
        let mut frames = lines.map_codec(|_| FrameCodec::new(LengthPrefixed::u8()));
        for want in ["one", "two", "three"] {
            assert_eq!(frames.next().await.unwrap().unwrap(), want);
        }
        assert!(frames.next().await.is_none());
    })
    .await
    .unwrap();
}
