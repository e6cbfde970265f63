//! A request body on its way from the client to a colour: read from the client's
//! connection after the head, written to the colour as it arrives.

use bytes::{Buf, BytesMut};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use super::request::BodyFraming;
use crate::frontdoor::chunked::{self, Step};
use crate::frontdoor::read;
use crate::frontdoor::upstream::{BodyError, RequestBody};

/// A client that sends no byte of its body for this long is given up on (nginx's
/// `client_body_timeout` is 60 s), so that it cannot hold a colour "in flight" for ever.
const BODY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// The body of the request being forwarded, read from the client's connection.
pub struct ClientBody<'a> {
    stream: &'a mut TcpStream,
    buf: &'a mut BytesMut,
    framing: BodyFraming,
    expect_continue: bool,
    scratch: &'a mut Vec<u8>,
    done: bool,
}

impl<'a> ClientBody<'a> {
    /// The body framed as `framing`, whose first bytes may already be in `buf`. With
    /// `expect_continue`, the client is told to go on (`100 Continue`) when the body is
    /// first needed, unless it has started sending already.
    pub fn new(
        stream: &'a mut TcpStream,
        buf: &'a mut BytesMut,
        framing: BodyFraming,
        expect_continue: bool,
        scratch: &'a mut Vec<u8>,
    ) -> Self {
        Self {
            stream,
            buf,
            framing,
            expect_continue,
            scratch,
            done: framing == BodyFraming::None,
        }
    }

    /// Whether the body was read to its end (so the next request can follow).
    pub fn is_done(&self) -> bool {
        self.done
    }

    async fn more(&mut self) -> Result<(), BodyError> {
        match tokio::time::timeout(BODY_TIMEOUT, read::fill(&*self.stream, self.buf)).await {
            Err(_) => Err(BodyError::Client(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "the client sent nothing of its request body for 60 s",
            ))),
            Ok(Ok(0)) => Err(BodyError::Client(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "the client closed the connection before the end of its request body",
            ))),
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(BodyError::Client(e)),
        }
    }
}

impl RequestBody for ClientBody<'_> {
    async fn write_to(&mut self, colour: &mut TcpStream) -> Result<(), BodyError> {
        if self.expect_continue && self.buf.is_empty() {
            self.stream
                .write_all(b"HTTP/1.1 100 Continue\r\n\r\n")
                .await
                .map_err(BodyError::Client)?;
        }
        self.expect_continue = false;
        match self.framing {
            BodyFraming::None => {}
            BodyFraming::Length(mut left) => {
                while left > 0 {
                    if self.buf.is_empty() {
                        self.more().await?;
                    }
                    let take = usize::try_from(left)
                        .unwrap_or(usize::MAX)
                        .min(self.buf.len());
                    colour
                        .write_all(&self.buf[..take])
                        .await
                        .map_err(BodyError::Colour)?;
                    self.buf.advance(take);
                    left -= take as u64;
                }
            }
            BodyFraming::Chunked => {
                let mut decoder = chunked::Decoder::default();
                loop {
                    match decoder.step(self.buf) {
                        Ok(Step::Data(data)) => {
                            let whole = chunked::frame(&data, self.scratch);
                            let mut wrote = colour.write_all(self.scratch).await;
                            if !whole && wrote.is_ok() {
                                wrote = colour.write_all(&data).await;
                            }
                            if !whole && wrote.is_ok() {
                                wrote = colour.write_all(b"\r\n").await;
                            }
                            wrote.map_err(BodyError::Colour)?;
                        }
                        Ok(Step::NeedMore) => self.more().await?,
                        Ok(Step::End) => break,
                        Err(e) => return Err(BodyError::Malformed(e)),
                    }
                }
                colour
                    .write_all(b"0\r\n\r\n")
                    .await
                    .map_err(BodyError::Colour)?;
            }
        }
        self.done = true;
        Ok(())
    }
}
