//! Decoding a `Transfer-Encoding: chunked` body (RFC 9112 §7.1) from a connection's read
//! buffer without copying the data out of it: answers from a colour and requests from a
//! client alike. The front door re-chunks what it forwards ([`size_line`]).

use bytes::{Buf, Bytes, BytesMut};

/// The longest chunk-size line (size, extensions) or trailer line we accept.
const MAX_LINE: usize = 4096;
/// The most trailer bytes we skip before calling the answer malformed.
const MAX_TRAILERS: usize = 64 * 1024;

/// What one decoding step produced.
#[derive(Debug, PartialEq, Eq)]
pub enum Step {
    /// Body bytes, in order.
    Data(Bytes),
    /// The buffer holds no complete next element: read more.
    NeedMore,
    /// The last chunk and the trailers have been consumed.
    End,
}

/// A chunked body that does not follow the grammar.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("malformed chunked body: {0}")]
pub struct ChunkedError(&'static str);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Expecting `chunk-size [; ext] CRLF`.
    Size,
    /// Inside a chunk's data, this many bytes left.
    Data(u64),
    /// Expecting the CRLF after a chunk's data.
    DataEnd,
    /// After the last chunk: trailer lines until an empty one; bytes skipped so far.
    Trailers(usize),
    Done,
}

/// Incremental decoder; the caller appends to the buffer and calls [`Decoder::step`].
#[derive(Debug, Clone)]
pub struct Decoder {
    state: State,
}

impl Default for Decoder {
    fn default() -> Self {
        Self { state: State::Size }
    }
}

impl Decoder {
    /// Consumes from `buf` as far as it can and says what came out.
    pub fn step(&mut self, buf: &mut BytesMut) -> Result<Step, ChunkedError> {
        loop {
            match self.state {
                State::Size => {
                    let Some(line_len) = line_end(buf)? else {
                        return Ok(Step::NeedMore);
                    };
                    let size = parse_size(&buf[..line_len])?;
                    buf.advance(line_len + 2);
                    self.state = if size == 0 {
                        State::Trailers(0)
                    } else {
                        State::Data(size)
                    };
                }
                State::Data(left) => {
                    if buf.is_empty() {
                        return Ok(Step::NeedMore);
                    }
                    let take = usize::try_from(left).unwrap_or(usize::MAX).min(buf.len());
                    let data = buf.split_to(take).freeze();
                    let left = left - take as u64;
                    self.state = if left == 0 {
                        State::DataEnd
                    } else {
                        State::Data(left)
                    };
                    return Ok(Step::Data(data));
                }
                State::DataEnd => {
                    if buf.len() < 2 {
                        return Ok(Step::NeedMore);
                    }
                    if &buf[..2] != b"\r\n" {
                        return Err(ChunkedError("chunk data not followed by CRLF"));
                    }
                    buf.advance(2);
                    self.state = State::Size;
                }
                State::Trailers(skipped) => {
                    let Some(line_len) = line_end(buf)? else {
                        return Ok(Step::NeedMore);
                    };
                    buf.advance(line_len + 2);
                    if line_len == 0 {
                        self.state = State::Done;
                        return Ok(Step::End);
                    }
                    // Trailers are dropped, as nginx does by default: the receiver did not
                    // necessarily ask for them, and none of ours depend on them.
                    let skipped = skipped + line_len + 2;
                    if skipped > MAX_TRAILERS {
                        return Err(ChunkedError("trailer section too large"));
                    }
                    self.state = State::Trailers(skipped);
                }
                State::Done => return Ok(Step::End),
            }
        }
    }
}

/// Chunks up to this size go out together with their framing, in one write; larger
/// ones in three, rather than copied.
const COALESCE: usize = 16 * 1024;

/// Frames `data` as one chunk in `scratch` (cleared first): its size line, then, for a
/// small chunk, the data and the closing CRLF too, so it goes out in one write. Returns
/// false for a large chunk, whose data and CRLF the caller writes after `scratch`
/// rather than copying them.
pub fn frame(data: &[u8], scratch: &mut Vec<u8>) -> bool {
    size_line(data.len(), scratch);
    if data.len() > COALESCE {
        return false;
    }
    scratch.extend_from_slice(data);
    scratch.extend_from_slice(b"\r\n");
    true
}

/// The `SIZE CRLF` line that starts a chunk of `len` bytes, in `out` (cleared first).
pub fn size_line(len: usize, out: &mut Vec<u8>) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.clear();
    let digits = (usize::BITS - len.leading_zeros()).div_ceil(4).max(1);
    for i in (0..digits).rev() {
        out.push(HEX[(len >> (i * 4)) & 0xf]);
    }
    out.extend_from_slice(b"\r\n");
}

/// Length of the line at the start of `buf` (without CRLF), if it is complete. A CR or
/// LF anywhere but in the final CRLF is refused: a recipient that took a bare LF inside
/// a chunk extension for the end of the line would read the body differently from one
/// that did not, which is how requests are smuggled between proxies and servers.
fn line_end(buf: &[u8]) -> Result<Option<usize>, ChunkedError> {
    let window = &buf[..buf.len().min(MAX_LINE + 2)];
    match window.iter().position(|&b| b == b'\r' || b == b'\n') {
        Some(at) if window[at] == b'\n' => Err(ChunkedError("bare LF in a chunk line")),
        Some(at) => match window.get(at + 1) {
            Some(b'\n') => Ok(Some(at)),
            Some(_) => Err(ChunkedError("bare CR in a chunk line")),
            None if buf.len() > MAX_LINE => Err(ChunkedError("line too long")),
            None => Ok(None),
        },
        None if buf.len() > MAX_LINE => Err(ChunkedError("line too long")),
        None => Ok(None),
    }
}

/// `1*HEXDIG [ BWS ; extensions ]`: extensions are ignored.
fn parse_size(line: &[u8]) -> Result<u64, ChunkedError> {
    let digits_end = line
        .iter()
        .position(|b| !b.is_ascii_hexdigit())
        .unwrap_or(line.len());
    if digits_end == 0 {
        return Err(ChunkedError("chunk size is not hexadecimal"));
    }
    let rest = &line[digits_end..];
    let rest_ok = rest.is_empty()
        || rest
            .iter()
            .position(|b| *b != b' ' && *b != b'\t')
            .is_some_and(|i| rest[i] == b';');
    if !rest_ok {
        return Err(ChunkedError("junk after the chunk size"));
    }
    // Extensions are ignored, but no control character may hide in them.
    if rest.iter().any(|&b| (b < b' ' && b != b'\t') || b == 0x7f) {
        return Err(ChunkedError("control character in a chunk extension"));
    }
    if digits_end > 16 {
        return Err(ChunkedError("chunk size too large"));
    }
    let mut size: u64 = 0;
    for &b in &line[..digits_end] {
        let digit = (b as char).to_digit(16).unwrap_or(0);
        size = size * 16 + u64::from(digit);
    }
    Ok(size)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `input` in pieces of `piece` bytes and collects the body.
    fn decode_in_pieces(input: &[u8], piece: usize) -> Result<(Vec<u8>, BytesMut), ChunkedError> {
        let mut dec = Decoder::default();
        let mut buf = BytesMut::new();
        let mut body = Vec::new();
        let mut fed = 0;
        loop {
            match dec.step(&mut buf)? {
                Step::Data(d) => body.extend_from_slice(&d),
                Step::End => return Ok((body, buf)),
                Step::NeedMore => {
                    assert!(fed < input.len(), "decoder wants more than the input has");
                    let end = (fed + piece).min(input.len());
                    buf.extend_from_slice(&input[fed..end]);
                    fed = end;
                }
            }
        }
    }

    const BODY: &[u8] = b"5\r\nhello\r\n7;name=\"v\"\r\n, world\r\n0\r\nx-sum: 1\r\n\r\nNEXT";

    #[test]
    fn decodes_chunks_with_extensions_and_drops_trailers_at_any_split() {
        for piece in [1, 2, 3, 7, 64] {
            let (body, rest) = decode_in_pieces(BODY, piece).expect("valid");
            assert_eq!(body, b"hello, world", "piece size {piece}");
            // Bytes after the body belong to the next answer and must stay unread.
            assert!(b"NEXT".starts_with(&rest), "piece size {piece}: {rest:?}");
        }
    }

    #[test]
    fn size_lines_are_lower_case_hex_without_padding() {
        let mut out = Vec::new();
        for (len, want) in [
            (0, "0"),
            (5, "5"),
            (255, "ff"),
            (4096, "1000"),
            (0x1_0000_0001, "100000001"),
        ] {
            size_line(len, &mut out);
            assert_eq!(out, format!("{want}\r\n").as_bytes(), "{len}");
        }
    }

    #[test]
    fn small_chunks_are_framed_whole_and_large_ones_only_get_their_size_line() {
        let mut scratch = b"stale".to_vec();
        assert!(frame(b"hello", &mut scratch));
        assert_eq!(scratch, b"5\r\nhello\r\n");
        let large = vec![b'x'; COALESCE + 1];
        assert!(!frame(&large, &mut scratch));
        assert_eq!(scratch, format!("{:x}\r\n", COALESCE + 1).as_bytes());
    }

    #[test]
    fn rejects_what_is_not_chunked() {
        for bad in [
            &b"zz\r\n"[..],
            b"5\r\nhelloXX",
            b"5 junk\r\nhello\r\n",
            b"11111111111111111\r\n",
            b"5;a\nb\r\nhello\r\n0\r\n\r\n",
            b"5;a\n\r\nhello\r\n0\r\n\r\n",
            b"5\nhello\r\n0\r\n\r\n",
            b"5;a\rb\r\nhello\r\n0\r\n\r\n",
            b"5;a\x00b\r\nhello\r\n0\r\n\r\n",
            b"5\r\nhello\r\n0\r\nx: a\nb\r\n\r\n",
        ] {
            assert!(decode_in_pieces(bad, 64).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_size_line_longer_than_the_limit_is_an_error_not_a_wait() {
        let mut line = vec![b'1'];
        line.extend(std::iter::repeat_n(b' ', MAX_LINE + 10));
        let mut dec = Decoder::default();
        let mut buf = BytesMut::from(&line[..]);
        assert!(dec.step(&mut buf).is_err());
    }
}
