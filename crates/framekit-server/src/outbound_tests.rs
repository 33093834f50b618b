//! The outbound queue without sockets: vectored and plain writes over a trickling writer,
//! buffers released, and rewinds that take back a failed response, sealed buffers too.

use super::*;

fn contents(out: &Outbound) -> Vec<u8> {
    let mut all: Vec<u8> = out.chunks.iter().flat_map(|c| c.iter().copied()).collect();
    all.extend_from_slice(&out.tail);
    all
}

#[test]
fn a_rewind_takes_back_a_payload_queued_as_its_own_buffer() {
    let mut out = Outbound::new(4);
    out.buf_mut().extend_from_slice(b"+OK\r\n");
    let mark = out.mark();
    out.buf_mut().extend_from_slice(b"$5\r\n");
    out.push_bytes(Bytes::from_static(b"hello"));
    out.buf_mut().extend_from_slice(b"\r\n");
    assert_eq!(out.chunk_count(), 3);
    assert!(out.rewind(mark));
    assert_eq!(contents(&out), b"+OK\r\n");
    assert_eq!(out.len(), 5);
    // The queue goes on as before: a reply appended after the rewind follows the kept bytes.
    out.buf_mut().extend_from_slice(b"-ERR\r\n");
    assert_eq!(contents(&out), b"+OK\r\n-ERR\r\n");
    assert_eq!(out.len(), 11);
}

#[test]
fn a_rewind_after_several_sealed_payloads_keeps_what_was_queued_before() {
    let mut out = Outbound::new(4);
    out.push_bytes(Bytes::from_static(b"first"));
    let mark = out.mark();
    out.push_bytes(Bytes::from_static(b"second"));
    out.buf_mut().extend_from_slice(b"|");
    out.push_bytes(Bytes::from_static(b"third"));
    assert!(out.rewind(mark));
    assert_eq!(contents(&out), b"first");
    assert_eq!((out.len(), out.chunk_count()), (5, 1));

    let mut out = Outbound::new(4);
    let mark = out.mark();
    out.push_bytes(Bytes::from_static(b"payload"));
    assert!(out.rewind(mark));
    assert!(out.is_empty());
    assert_eq!(out.chunk_count(), 0);
}

/// Accepts at most `cap` bytes per write, records every write's slice count.
struct Trickle {
    cap: usize,
    wrote: Vec<u8>,
    vectored_calls: usize,
}

impl AsyncWrite for Trickle {
    fn poll_write(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let n = buf.len().min(self.cap);
        self.wrote.extend_from_slice(&buf[..n]);
        Poll::Ready(Ok(n))
    }
    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.vectored_calls += 1;
        let mut left = self.cap;
        let mut n = 0;
        for b in bufs {
            let take = b.len().min(left);
            self.wrote.extend_from_slice(&b[..take]);
            left -= take;
            n += take;
            if left == 0 {
                break;
            }
        }
        Poll::Ready(Ok(n))
    }
    fn is_write_vectored(&self) -> bool {
        true
    }
    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[test]
fn small_replies_written_in_pieces_from_the_encode_buffer_keep_their_order() {
    let mut out = Outbound::new(1024);
    let mut io = Trickle {
        cap: 5,
        wrote: Vec::new(),
        vectored_calls: 0,
    };
    let waker = futures::task::noop_waker();
    let mut cx = Context::from_waker(&waker);
    let mut expected = Vec::new();
    for i in 0..30u8 {
        // Replies keep arriving while earlier ones are half written.
        let reply = vec![b'a' + i % 26; 1 + usize::from(i % 4)];
        expected.extend_from_slice(&reply);
        out.buf_mut().extend_from_slice(&reply);
        match out.poll_write(&mut io, &mut cx) {
            Poll::Ready(Ok(n)) => assert!(n > 0 && n <= 5),
            other => panic!("unexpected {other:?}"),
        }
        assert_eq!(out.len(), expected.len() - io.wrote.len());
    }
    while !out.is_empty() {
        assert!(matches!(
            out.poll_write(&mut io, &mut cx),
            Poll::Ready(Ok(_))
        ));
    }
    assert_eq!(io.wrote, expected);
    assert_eq!(io.vectored_calls, 0, "one buffer needs no vectored write");
}

#[test]
fn partial_vectored_writes_keep_bytes_in_order() {
    let mut out = Outbound::new(8);
    let mut expected = Vec::new();
    for i in 0..20u8 {
        out.buf_mut().extend_from_slice(&[i, i]);
        let payload = Bytes::from(vec![i; 5 + i as usize]);
        expected.extend_from_slice(&[i, i]);
        expected.extend_from_slice(&payload);
        out.push_bytes(payload);
    }
    assert_eq!(out.len(), expected.len());
    let mut io = Trickle {
        cap: 7,
        wrote: Vec::new(),
        vectored_calls: 0,
    };
    let waker = futures::task::noop_waker();
    let mut cx = Context::from_waker(&waker);
    while !out.is_empty() {
        match out.poll_write(&mut io, &mut cx) {
            Poll::Ready(Ok(n)) => assert!(n > 0 && n <= 7),
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(io.wrote, expected);
    assert!(io.vectored_calls > 0);
}
