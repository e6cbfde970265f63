//! A loopback receiver of release alerts (the provider's `notification`
//! blocks): records each POST's body and answers a status, or hangs. Its URL
//! ends in a secret path that must never show in Terraform's output.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value as Json;

/// How a receiver answers.
#[derive(Clone, Copy)]
pub enum Reply {
    /// Answers this status.
    Status(u16),
    /// Reads the request and holds the connection without a word (10 s at most).
    Hang,
}

/// One request a receiver got.
#[derive(Clone)]
pub struct Received {
    /// When it arrived.
    pub at: Instant,
    /// When it arrived, in ms since the Unix epoch: to compare with the
    /// times in Terraform's log.
    pub wall_ms: u64,
    /// Its `content-type`, lower case.
    pub content_type: String,
    /// Its body as JSON (`Null` when it is not JSON).
    pub body: Json,
}

/// A loopback HTTP receiver on 127.0.0.1; its URL ends in a secret path
/// that must never show in Terraform's output.
pub struct Receiver {
    /// `http://127.0.0.1:PORT/hook/SECRET-<pid>`.
    pub url: String,
    got: Arc<Mutex<Vec<Received>>>,
}

impl Receiver {
    /// A receiver answering each request as `reply` says.
    pub fn start(reply: Reply) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a receiver");
        let url = format!(
            "http://{}/hook/SECRET-{}",
            listener.local_addr().expect("address"),
            std::process::id()
        );
        let got = Arc::new(Mutex::new(Vec::new()));
        let seen = got.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let seen = seen.clone();
                std::thread::spawn(move || serve(stream, reply, &seen));
            }
        });
        Receiver { url, got }
    }

    /// The requests received since the last call.
    pub fn take(&self) -> Vec<Received> {
        std::mem::take(&mut *self.got.lock().unwrap())
    }
}

fn serve(mut stream: TcpStream, reply: Reply, seen: &Mutex<Vec<Received>>) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let (head, body) = loop {
        let Ok(n) = stream.read(&mut chunk) else {
            return;
        };
        if n == 0 {
            return;
        }
        buf.extend_from_slice(&chunk[..n]);
        let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
            continue;
        };
        let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
        let length: usize = header(&head, "content-length").parse().unwrap_or(0);
        if buf.len() >= end + 4 + length {
            break (head, buf[end + 4..end + 4 + length].to_vec());
        }
    };
    seen.lock().unwrap().push(Received {
        at: Instant::now(),
        wall_ms: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64),
        content_type: header(&head, "content-type"),
        body: serde_json::from_slice(&body).unwrap_or(Json::Null),
    });
    match reply {
        Reply::Status(status) => {
            let text =
                format!("HTTP/1.1 {status} X\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok");
            let _ = stream.write_all(text.as_bytes());
        }
        Reply::Hang => std::thread::sleep(Duration::from_secs(10)),
    }
}

fn header(head: &str, name: &str) -> String {
    head.lines()
        .find_map(|l| {
            l.strip_prefix(&format!("{name}:"))
                .map(|v| v.trim().to_string())
        })
        .unwrap_or_default()
}

/// `provider_block` (a `provider "bluegreen" { … }` block) with `blocks`
/// (`notification { … }` blocks) added inside it.
pub fn with_blocks(provider_block: &str, blocks: &str) -> String {
    let head = provider_block
        .trim_end()
        .strip_suffix('}')
        .expect("a provider block ends with }");
    format!("{head}{blocks}}}\n")
}
