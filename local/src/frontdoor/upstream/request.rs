//! What the upstream leg is given to send: a request head already encoded for the colour
//! (by the client leg, `downstream/forward.rs`), and the body to stream after it.

use tokio::net::TcpStream;

/// A request ready for a colour.
#[derive(Debug, Clone, Copy)]
pub struct Outgoing<'a> {
    /// The request head, empty line included.
    pub head: &'a [u8],
    /// Whether it is a HEAD request (its answer has no body whatever it says).
    pub is_head: bool,
    /// Whether its method is idempotent. Only such a request without a body may be sent
    /// twice: retried on a fresh connection when a pooled one turns out closed.
    pub idempotent: bool,
    /// Whether it asks for a protocol upgrade: a `101` answer is then final, and its
    /// connection leaves the pool for good.
    pub upgrade: bool,
}

/// A request body the client is still sending: written to the colour after the head.
pub trait RequestBody {
    /// Streams the body to `colour`, in the framing the head announced.
    fn write_to(
        &mut self,
        colour: &mut TcpStream,
    ) -> impl std::future::Future<Output = Result<(), BodyError>>;
}

/// Why a request body could not be passed on.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    /// Reading from the client failed: it went away, or sent a broken body.
    #[error("reading the request body from the client: {0}")]
    Client(#[source] std::io::Error),
    /// The client's chunked body broke the grammar: it is answered with a 400.
    #[error("reading the request body from the client: {0}")]
    Malformed(#[source] crate::frontdoor::chunked::ChunkedError),
    /// Writing to the colour failed.
    #[error("writing the request body to the colour: {0}")]
    Colour(#[source] std::io::Error),
}
