//! A colour's response body, read straight from its connection by the task that
//! serves the client: no connection task, no channel between the two legs.
//! When the body is complete the connection is free for the next request.

use std::io;
use std::task::{ready, Context, Poll};

use bytes::Bytes;

use super::response::Framing;
use super::Conn;
use crate::frontdoor::chunked::{self, Step};

#[derive(Debug)]
enum Reading {
    /// All of it was in the buffer with the head (the usual small answer); the
    /// connection has already gone back to the pool.
    Whole(Option<Bytes>),
    /// `Content-Length` bytes still to come.
    Length(u64),
    Chunked(chunked::Decoder),
    UntilClose,
    /// No body: the connection carries another protocol now, and is taken whole for a
    /// tunnel ([`UpstreamBody::take_switched`]); never back to the pool.
    Switched,
    Done,
}

/// The body of one response from a colour.
#[derive(Debug)]
pub struct UpstreamBody {
    conn: Option<Conn>,
    reading: Reading,
    keep_alive: bool,
}

impl UpstreamBody {
    /// A body read from `conn` per `framing`. If it is already complete in the
    /// connection's buffer, the connection is handed back (through `release`) at once.
    pub(super) fn new(
        mut conn: Conn,
        framing: Framing,
        keep_alive: bool,
        release: impl FnOnce(Conn),
    ) -> Self {
        let reading = match framing {
            Framing::Empty => Reading::Whole(None),
            Framing::Length(n) if (conn.buf.len() as u64) >= n => {
                Reading::Whole(Some(conn.buf.split_to(n as usize).freeze()))
            }
            Framing::Length(n) => Reading::Length(n),
            Framing::Chunked => Reading::Chunked(chunked::Decoder::default()),
            Framing::UntilClose => Reading::UntilClose,
            Framing::Switched => {
                return Self {
                    conn: Some(conn),
                    reading: Reading::Switched,
                    keep_alive: false,
                }
            }
        };
        if let Reading::Whole(_) = reading {
            // Bytes beyond the body mean the colour and we disagree on framing.
            if keep_alive && conn.buf.is_empty() {
                release(conn);
            }
            return Self {
                conn: None,
                reading,
                keep_alive: false,
            };
        }
        Self {
            conn: Some(conn),
            reading,
            keep_alive,
        }
    }

    /// The connection, if the body was read to its end and the connection can carry
    /// another request. Taking it leaves the body finished.
    pub fn take_reusable(&mut self) -> Option<Conn> {
        if !self.keep_alive || !matches!(self.reading, Reading::Done) {
            return None;
        }
        self.conn.take().filter(|c| c.buf.is_empty())
    }

    /// The connection of a `101` answer, with what the colour already sent in the new
    /// protocol in its buffer: the colour's end of a tunnel.
    pub fn take_switched(&mut self) -> Option<super::Tunnelled> {
        if !matches!(self.reading, Reading::Switched) {
            return None;
        }
        self.reading = Reading::Done;
        self.conn.take().map(|c| super::Tunnelled {
            stream: c.stream,
            early: c.buf,
        })
    }

    fn finish(&mut self) {
        self.reading = Reading::Done;
        if !self.keep_alive {
            self.conn = None;
        }
    }
}

fn broken(what: &'static str) -> io::Error {
    io::Error::new(io::ErrorKind::UnexpectedEof, what)
}

impl UpstreamBody {
    /// The next piece of the body; `None` at its end.
    pub async fn data(&mut self) -> Option<io::Result<Bytes>> {
        std::future::poll_fn(|cx| self.poll_data(cx)).await
    }

    /// The whole body, if it came with the head (then the connection is back in the
    /// pool already); the caller can send it with the head in one write.
    pub fn take_whole(&mut self) -> Option<Bytes> {
        match &mut self.reading {
            Reading::Whole(data) => {
                let data = data.take();
                self.reading = Reading::Done;
                data
            }
            _ => None,
        }
    }

    /// Polls for the next piece of the body.
    pub fn poll_data(&mut self, cx: &mut Context<'_>) -> Poll<Option<io::Result<Bytes>>> {
        let this = self;
        loop {
            match &mut this.reading {
                Reading::Whole(data) => {
                    let data = data.take();
                    if data.is_none() {
                        this.reading = Reading::Done;
                    }
                    return Poll::Ready(data.map(Ok));
                }
                Reading::Done | Reading::Switched => return Poll::Ready(None),
                Reading::Length(left) => {
                    let Some(conn) = this.conn.as_mut() else {
                        return Poll::Ready(None);
                    };
                    if !conn.buf.is_empty() {
                        let take = usize::try_from(*left)
                            .unwrap_or(usize::MAX)
                            .min(conn.buf.len());
                        let data = conn.buf.split_to(take).freeze();
                        *left -= take as u64;
                        if *left == 0 {
                            this.finish();
                        }
                        return Poll::Ready(Some(Ok(data)));
                    }
                    if ready!(conn.poll_fill(cx))? == 0 {
                        this.conn = None;
                        return Poll::Ready(Some(Err(broken(
                            "the colour closed the connection before the end of the body",
                        ))));
                    }
                }
                Reading::Chunked(decoder) => {
                    let Some(conn) = this.conn.as_mut() else {
                        return Poll::Ready(None);
                    };
                    match decoder.step(&mut conn.buf) {
                        Ok(Step::Data(data)) => return Poll::Ready(Some(Ok(data))),
                        Ok(Step::End) => {
                            this.finish();
                            return Poll::Ready(None);
                        }
                        Ok(Step::NeedMore) => {
                            if ready!(conn.poll_fill(cx))? == 0 {
                                this.conn = None;
                                return Poll::Ready(Some(Err(broken(
                                    "the colour closed the connection inside a chunked body",
                                ))));
                            }
                        }
                        Err(e) => {
                            this.conn = None;
                            return Poll::Ready(Some(Err(io::Error::new(
                                io::ErrorKind::InvalidData,
                                e,
                            ))));
                        }
                    }
                }
                Reading::UntilClose => {
                    let Some(conn) = this.conn.as_mut() else {
                        return Poll::Ready(None);
                    };
                    if !conn.buf.is_empty() {
                        let data = conn.buf.split().freeze();
                        return Poll::Ready(Some(Ok(data)));
                    }
                    if ready!(conn.poll_fill(cx))? == 0 {
                        this.finish();
                        return Poll::Ready(None);
                    }
                }
            }
        }
    }
}
