//! The answer's head as the client gets it: the colour's head (already filtered into
//! the output buffer by the upstream leg) completed with the front door's own lines, and
//! the front door's own small JSON answers.

use std::cell::RefCell;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::frontdoor::head::{status_line, write_line};

/// What the answer says about the client's connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Persistence {
    /// HTTP/1.1 default: stays open, nothing to say.
    Open,
    /// An HTTP/1.0 client asked to keep the connection: say yes.
    OpenHttp10,
    /// The front door closes the connection after this answer.
    Close,
}

impl Persistence {
    /// For an answer to an HTTP/1.0 client or not, closing the connection or not.
    pub fn of(http10: bool, close: bool) -> Self {
        if close {
            Persistence::Close
        } else if http10 {
            Persistence::OpenHttp10
        } else {
            Persistence::Open
        }
    }

    /// The `Connection` line it takes, if any.
    fn write_line(self, out: &mut Vec<u8>) {
        match self {
            Persistence::Open => {}
            Persistence::OpenHttp10 => write_line(out, b"connection", b"keep-alive"),
            Persistence::Close => write_line(out, b"connection", b"close"),
        }
    }
}

/// Completes a response head started in `out` (status line and the colour's lines):
/// `x-bluegreen-color`, `date` unless the colour sent one, the body framing towards the
/// client, the connection's fate, and the empty line.
pub fn finish_head(
    out: &mut Vec<u8>,
    color: &[u8],
    add_date: bool,
    chunked: bool,
    persistence: Persistence,
) {
    write_line(out, super::COLOR_HEADER.as_bytes(), color);
    if add_date {
        date_line(out);
    }
    if chunked {
        write_line(out, b"transfer-encoding", b"chunked");
    }
    persistence.write_line(out);
    out.extend_from_slice(b"\r\n");
}

/// Completes the head of a colour's `101 Switching Protocols` started in `out` (status
/// line, the colour's lines and its `Upgrade`): `x-bluegreen-color` and
/// `Connection: upgrade`, which the tunnel after it needs.
pub fn finish_switch(out: &mut Vec<u8>, color: &[u8]) {
    write_line(out, super::COLOR_HEADER.as_bytes(), color);
    write_line(out, b"connection", b"upgrade");
    out.extend_from_slice(b"\r\n");
}

/// A whole answer of the front door's own, with a JSON body `{"error","message"}`.
pub fn local(
    out: &mut Vec<u8>,
    status: u16,
    color: Option<&[u8]>,
    error: &str,
    message: &str,
    persistence: Persistence,
) {
    let body = serde_json::json!({ "error": error, "message": message }).to_string();
    status_line(out, status, "");
    write_line(out, b"content-type", b"application/json");
    write_line(out, b"content-length", body.len().to_string().as_bytes());
    if let Some(color) = color {
        write_line(out, super::COLOR_HEADER.as_bytes(), color);
    }
    date_line(out);
    persistence.write_line(out);
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body.as_bytes());
}

thread_local! {
    /// The `Date` value of the current second, formatted once per second per thread.
    static DATE: RefCell<(u64, String)> = const { RefCell::new((u64::MAX, String::new())) };
}

/// Writes `date: <IMF-fixdate of now>`.
fn date_line(out: &mut Vec<u8>) {
    let now = SystemTime::now();
    let second = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    DATE.with(|cached| {
        let mut cached = cached.borrow_mut();
        if cached.0 != second {
            *cached = (second, httpdate::fmt_http_date(now));
        }
        write_line(out, b"date", cached.1.as_bytes());
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(out: &[u8]) -> String {
        String::from_utf8(out.to_vec()).expect("ascii")
    }

    #[test]
    fn heads_end_with_the_colour_framing_and_connection_lines() {
        let mut out = b"HTTP/1.1 200 OK\r\nx-a: 1\r\n".to_vec();
        finish_head(&mut out, b"blue", false, true, Persistence::Close);
        assert_eq!(
            text(&out),
            "HTTP/1.1 200 OK\r\nx-a: 1\r\nx-bluegreen-color: blue\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n"
        );
        let mut out = b"HTTP/1.1 200 OK\r\n".to_vec();
        finish_head(&mut out, b"green", true, false, Persistence::OpenHttp10);
        let head = text(&out);
        assert!(
            head.starts_with("HTTP/1.1 200 OK\r\nx-bluegreen-color: green\r\ndate: "),
            "{head}"
        );
        assert!(
            head.ends_with(" GMT\r\nconnection: keep-alive\r\n\r\n"),
            "{head}"
        );
    }

    #[test]
    fn local_answers_are_complete_json_messages() {
        let mut out = Vec::new();
        local(
            &mut out,
            503,
            None,
            "no_live_color",
            "no \"colour\"",
            Persistence::Open,
        );
        let answer = text(&out);
        let (head, body) = answer.split_once("\r\n\r\n").expect("head and body");
        assert!(
            head.starts_with("HTTP/1.1 503 Service Unavailable\r\n"),
            "{head}"
        );
        assert!(
            head.contains(&format!("content-length: {}\r\n", body.len())),
            "{head}"
        );
        let json: serde_json::Value = serde_json::from_str(body).expect("json");
        assert_eq!(json["error"], "no_live_color");
        assert_eq!(json["message"], "no \"colour\"");
    }
}
