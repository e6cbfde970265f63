//! The byte tunnel a connection becomes after a colour's `101 Switching Protocols`
//! (WebSocket, or any other upgrade the colour accepts): bytes go both ways untouched (no
//! frame is parsed, so ping/pong, large frames and close frames pass as they are) until
//! both sides have closed. An end of stream from one side is passed on as a shutdown of
//! the write side to the other (half-close), as nginx and Azure Front Door do.

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::Instant;

/// A tunnel through which nothing passed for this long is closed. Tunnels idle by design
/// (a dashboard waiting for events), so this is far longer than any request timeout;
/// an hour is nginx's advice for WebSocket `proxy_read_timeout` too.
pub(crate) const IDLE_LIMIT: Duration = Duration::from_secs(3600);

/// Buffer per direction: a tunnel mostly carries small messages, and thousands may be
/// open, so smaller than a request's; large frames just take more reads.
const BUFFER: usize = 4 * 1024;

/// How a tunnel ended.
#[derive(Debug)]
pub(crate) enum End {
    /// Both sides closed (each after the other's end of stream, or on their own).
    Closed {
        /// Bytes from the client to the colour.
        up: u64,
        /// Bytes from the colour to the client.
        down: u64,
    },
    /// Nothing passed for the idle limit.
    Idle,
    /// Closed by the front door: the colour was retired by a switch and its
    /// `drain_timeout` passed.
    Cut,
    /// A socket failed (reset by one side, usually).
    Failed(io::Error),
}

/// Relays bytes between `client` and `colour` until the tunnel ends, or `cut` resolves.
pub(crate) async fn relay(
    client: &mut TcpStream,
    colour: &mut TcpStream,
    idle: Duration,
    cut: impl std::future::Future<Output = ()>,
) -> End {
    let started = Instant::now();
    // Milliseconds since `started` of the last byte read from either side.
    let last_read = AtomicU64::new(0);
    let mut client = Watched {
        stream: client,
        last_read: &last_read,
        started,
    };
    let mut colour = Watched {
        stream: colour,
        last_read: &last_read,
        started,
    };
    let copy = tokio::io::copy_bidirectional_with_sizes(&mut client, &mut colour, BUFFER, BUFFER);
    tokio::pin!(copy);
    tokio::pin!(cut);
    loop {
        let seen = last_read.load(Ordering::Relaxed);
        let deadline = started + Duration::from_millis(seen) + idle;
        tokio::select! {
            copied = &mut copy => return match copied {
                Ok((up, down)) => End::Closed { up, down },
                Err(e) => End::Failed(e),
            },
            () = tokio::time::sleep_until(deadline) => {
                if last_read.load(Ordering::Relaxed) == seen {
                    return End::Idle;
                }
            }
            () = &mut cut => return End::Cut,
        }
    }
}

/// A socket that notes when it last delivered bytes; the timer is looked at only when
/// it fires, so the hot path costs one relaxed store per read.
struct Watched<'a> {
    stream: &'a mut TcpStream,
    last_read: &'a AtomicU64,
    started: Instant,
}

impl AsyncRead for Watched<'_> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut *self.stream).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            let ms = self.started.elapsed().as_millis().min(u128::from(u64::MAX)) as u64;
            self.last_read.store(ms, Ordering::Relaxed);
        }
        polled
    }
}

impl AsyncWrite for Watched<'_> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut *self.stream).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.stream).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    /// A connected pair of loopback sockets.
    async fn pair() -> (TcpStream, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (a, b) = tokio::join!(TcpStream::connect(addr), listener.accept());
        (a.expect("connect"), b.expect("accept").0)
    }

    #[tokio::test]
    async fn bytes_pass_both_ways_and_a_half_close_is_passed_on() {
        let (mut client, mut client_end) = pair().await;
        let (mut colour_end, mut colour) = pair().await;
        let tunnel = tokio::spawn(async move {
            relay(
                &mut client_end,
                &mut colour_end,
                Duration::from_secs(10),
                std::future::pending(),
            )
            .await
        });
        client.write_all(b"ping").await.expect("write");
        let mut got = [0u8; 4];
        colour.read_exact(&mut got).await.expect("read");
        assert_eq!(&got, b"ping");
        // The client is done sending; the colour still answers, then closes.
        client.shutdown().await.expect("shutdown");
        assert_eq!(colour.read(&mut got).await.expect("eof"), 0);
        colour.write_all(b"pong").await.expect("write");
        colour.shutdown().await.expect("shutdown");
        let mut rest = Vec::new();
        client.read_to_end(&mut rest).await.expect("read");
        assert_eq!(rest, b"pong");
        match tunnel.await.expect("tunnel task") {
            End::Closed { up, down } => assert_eq!((up, down), (4, 4)),
            other => panic!("ended {other:?}"),
        }
    }

    #[tokio::test]
    async fn a_tunnel_with_no_traffic_for_the_idle_limit_is_closed() {
        let (mut client, mut client_end) = pair().await;
        let (mut colour_end, _colour) = pair().await;
        let tunnel = tokio::spawn(async move {
            relay(
                &mut client_end,
                &mut colour_end,
                Duration::from_millis(300),
                std::future::pending(),
            )
            .await
        });
        // Traffic keeps it open past one idle limit.
        for _ in 0..3 {
            tokio::time::sleep(Duration::from_millis(150)).await;
            client.write_all(b"x").await.expect("write");
        }
        assert!(!tunnel.is_finished());
        let ended = tokio::time::timeout(Duration::from_secs(5), tunnel)
            .await
            .expect("closed within the bound")
            .expect("tunnel task");
        assert!(matches!(ended, End::Idle), "{ended:?}");
    }
}
