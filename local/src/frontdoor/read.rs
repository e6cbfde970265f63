//! Reading a socket into a connection's buffer, shared by both legs of the front door.

use std::io;
use std::task::{ready, Context, Poll};

use bytes::BytesMut;
use tokio::io::Interest;
use tokio::net::TcpStream;

/// Read buffer per connection; a typical API request or answer fits with its head.
pub(crate) const READ_BUFFER: usize = 8 * 1024;

/// Reads what `stream` has into `buf`, growing it when little room is left; `Ok(0)` at
/// end of stream. Reads into the buffer's spare capacity directly (no zeroing, no copy).
///
/// A read that did not fill the room it had emptied the socket, so the socket is marked
/// not readable at once, as nginx does: otherwise the next wait would begin with a read
/// that can only fail with `EAGAIN`, one wasted system call per request on each leg. Data
/// arriving later raises a new (edge-triggered) readiness event, so nothing is missed.
pub(crate) fn poll_fill(
    stream: &TcpStream,
    buf: &mut BytesMut,
    cx: &mut Context<'_>,
) -> Poll<io::Result<usize>> {
    if buf.capacity() - buf.len() < READ_BUFFER / 4 {
        buf.reserve(READ_BUFFER);
    }
    loop {
        ready!(stream.poll_read_ready(cx))?;
        let room = buf.capacity() - buf.len();
        let mut short = None;
        let read = stream.try_io(Interest::READABLE, || match stream.try_read_buf(buf) {
            Ok(n) if n > 0 && n < room => {
                short = Some(n);
                // Reported as "would block" only so that tokio clears the readiness.
                Err(io::ErrorKind::WouldBlock.into())
            }
            other => other,
        });
        if let Some(n) = short {
            return Poll::Ready(Ok(n));
        }
        match read {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
            done => return Poll::Ready(done),
        }
    }
}

/// Resolves when the peer has closed the connection (or it failed), reading whatever it
/// sends meanwhile into `buf` (a pipelined request) up to `limit` bytes, beyond which it
/// stops watching. Costs nothing while the peer is quiet: readiness is event-driven.
pub(crate) async fn closed(stream: &TcpStream, buf: &mut BytesMut, limit: usize) {
    while buf.len() < limit {
        match fill(stream, buf).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
    }
    std::future::pending::<()>().await
}

/// [`poll_fill`] as a future.
pub(crate) async fn fill(stream: &TcpStream, buf: &mut BytesMut) -> io::Result<usize> {
    std::future::poll_fn(|cx| poll_fill(stream, buf, cx)).await
}
