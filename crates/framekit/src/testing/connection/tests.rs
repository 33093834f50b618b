//! The connection laws over the built-in framings, and the kit catching a machine that breaks
//! them.

use crate::framing::delimited::Delimited;
use crate::framing::length_prefixed::LengthPrefixed;
use crate::FrameCodec;

use super::ConnectionLaws;

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
