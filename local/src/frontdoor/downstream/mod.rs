//! The front door's HTTP/1.1 leg to clients: parsing request heads, forwarding them to a
//! colour, passing request bodies on, and writing answers.
//!
//! Purpose-built rather than hyper's server, for the same reason as the upstream leg:
//! a reverse proxy only needs to find a few headers (framing, connection, tenant) and
//! can forward everything else byte for byte from its read buffer. hyper's server built
//! a header map of every request and serialised the answer's map again: about 8,000 of
//! the front door's 21,000 instructions per request (callgrind, BENCHMARKS.md §3b).
//!
//! What it covers (tests: here and `local/tests/client_protocol.rs`): keep-alive and
//! pipelining, HTTP/1.0 clients, `Connection: close`, request bodies by length or
//! chunked, `Expect: 100-continue`, absolute-form targets, heads too large (431),
//! malformed requests (400), other transfer codings (501), CONNECT (405), HEAD answers,
//! and answers re-chunked when the colour's length is unknown.

pub mod answer;
pub mod body;
pub mod forward;
pub mod request;

use crate::api::COLOR_HEADER;
