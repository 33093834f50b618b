//! The connection laws over the built-in framings, and the kit catching a machine that breaks
//! them.

use crate::framing::delimited::Delimited;
use crate::framing::length_prefixed::LengthPrefixed;
use crate::FrameCodec;

use super::{ClientModel, ConnectionLaws, PayloadModel};

#[test]
fn newline_connections_keep_every_connection_law() {
    ConnectionLaws::new(|| FrameCodec::new(Delimited::newline()))
        .cases(512)
        .check_server();
}

#[test]
fn length_prefixed_connections_keep_every_connection_law() {
    ConnectionLaws::new(|| FrameCodec::new(LengthPrefixed::u16_be()))
        .cases(256)
        .check_server();
}

/// A codec that writes every answer twice: the kit must see the duplicate.
struct Twice(FrameCodec<Delimited>);

impl crate::connection::Decode for Twice {
    type Found = crate::InPlace;
    type View<'b> = &'b [u8];
    type Error = crate::FrameError;

    fn decode(
        &mut self,
        buf: &mut bytes::BytesMut,
        eof: bool,
    ) -> Result<Option<crate::InPlace>, crate::FrameError> {
        self.0.decode(buf, eof)
    }

    fn view<'b>(&self, buf: &'b bytes::BytesMut, found: crate::InPlace) -> (&'b [u8], usize) {
        self.0.view(buf, found)
    }
}

impl tokio_util::codec::Encoder<bytes::Bytes> for Twice {
    type Error = crate::FrameError;

    fn encode(&mut self, item: bytes::Bytes, dst: &mut bytes::BytesMut) -> Result<(), Self::Error> {
        if !item.starts_with(b"r") {
            self.0.encode(item.clone(), dst)?;
        }
        self.0.encode(item, dst)
    }
}

#[test]
#[should_panic(expected = "exactly_once_in_order")]
fn the_kit_catches_an_answer_written_twice() {
    ConnectionLaws::new(|| Twice(FrameCodec::new(Delimited::newline())))
        .cases(64)
        .check_server();
}

#[test]
fn newline_clients_keep_every_connection_law() {
    ConnectionLaws::new(|| FrameCodec::new(Delimited::newline()))
        .cases(512)
        .check_client();
}

#[test]
fn length_prefixed_clients_keep_every_connection_law() {
    ConnectionLaws::new(|| FrameCodec::new(LengthPrefixed::u16_be()))
        .cases(256)
        .check_client();
}

/// A matcher that pairs each answer with its neighbour's request (tags 0 and 1 swapped, 2 and
/// 3, ...): the kit must see an exchange answered with another request's answer.
struct Swapped;

impl crate::connection::Match<FrameCodec<Delimited>> for Swapped {
    fn tag(&self, answer: &&[u8]) -> Option<u64> {
        let index: u64 = std::str::from_utf8(answer.get(1..)?).ok()?.parse().ok()?;
        Some(index ^ 1)
    }
}

/// The payload model with the swapped matcher.
struct SwappedTags(PayloadModel<FrameCodec<Delimited>>);

impl ClientModel<FrameCodec<Delimited>> for SwappedTags {
    type Request = bytes::Bytes;
    type Tags = Swapped;

    fn request(&mut self, index: u64) -> bytes::Bytes {
        self.0.request(index)
    }

    fn read_request(&mut self, wire: &mut bytes::BytesMut) -> Result<Option<u64>, String> {
        self.0.read_request(wire)
    }

    fn write_answer(&mut self, index: u64, dst: &mut bytes::BytesMut) {
        self.0.write_answer(index, dst)
    }

    fn is_answer(&self, answer: &&[u8], index: u64) -> bool {
        self.0.is_answer(answer, index)
    }

    fn describe(&self, answer: &&[u8]) -> String {
        self.0.describe(answer)
    }

    fn tags(&self) -> Option<Swapped> {
        Some(Swapped)
    }
}

#[test]
#[should_panic(expected = "exactly_once_in_order")]
fn the_kit_catches_a_matcher_that_pairs_the_wrong_request() {
    let make = || FrameCodec::new(Delimited::newline());
    ConnectionLaws::new(make)
        .cases(256)
        .check_client_model(|| SwappedTags(PayloadModel::new(make())));
}
