//! A WebSocket probe for the health gate's `websocket_check`: one handshake
//! against a colour's own address (`ws://`, or `wss://` verified like the
//! HTTPS gate), optionally one message sent, and the first message back.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::WebSocketStream;

use super::{connect_error, Http};

/// Largest message (and frame) a probe accepts: a greeting, not a stream.
const MAX_MESSAGE: usize = 1024 * 1024;

/// What a probe saw when the handshake succeeded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebSocketReply {
    /// The first text or binary message (lossy UTF-8), when one was awaited.
    pub first_message: Option<String>,
}

/// The WebSocket URL for `path` on a colour address given as `http(s)://host:port`.
pub fn websocket_url(address: &str, path: &str) -> String {
    let base = address.trim_end_matches('/');
    let base = if let Some(rest) = base.strip_prefix("https://") {
        format!("wss://{rest}")
    } else if let Some(rest) = base.strip_prefix("http://") {
        format!("ws://{rest}")
    } else {
        base.to_string()
    };
    format!("{base}{path}")
}

impl Http {
    /// Opens a WebSocket to `url` (`ws://` or `wss://`), sends `send` when
    /// given, and when `await_message` reads the first data message; all
    /// within `timeout`. `Err` says what was received instead: the status of
    /// a refused handshake, a close, or the time waited.
    pub async fn websocket(
        &self,
        url: &str,
        send: Option<&str>,
        await_message: bool,
        timeout: Duration,
    ) -> Result<WebSocketReply, String> {
        let request = url
            .into_client_request()
            .map_err(|e| format!("invalid WebSocket URL {url}: {e}"))?;
        let uri = request.uri().clone();
        let tls = match uri.scheme_str() {
            Some("wss") => true,
            Some("ws") => false,
            _ => return Err(format!("{url} is not a ws:// or wss:// URL")),
        };
        let within = tfplugin::timeouts::format_duration(timeout);
        let probe = async {
            if tls {
                let (stream, _) = self.connect_tls(&uri).await?;
                converse(request, stream, send, await_message, &within).await
            } else {
                let host = uri.host().unwrap_or_default().trim_matches(['[', ']']);
                let port = uri.port_u16().unwrap_or(80);
                let tcp = tokio::net::TcpStream::connect((host, port))
                    .await
                    .map_err(|e| connect_error(&e))?;
                let _ = tcp.set_nodelay(true);
                converse(request, tcp, send, await_message, &within).await
            }
        };
        match tokio::time::timeout(timeout, probe).await {
            Ok(result) => result,
            Err(_) => Err(format!("no answer within {within}")),
        }
    }
}

/// The handshake and the exchange on an open stream; the caller bounds the time.
async fn converse<S>(
    request: tungstenite::handshake::client::Request,
    stream: S,
    send: Option<&str>,
    await_message: bool,
    within: &str,
) -> Result<WebSocketReply, String>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let config = tungstenite::protocol::WebSocketConfig::default()
        .max_message_size(Some(MAX_MESSAGE))
        .max_frame_size(Some(MAX_MESSAGE));
    let (mut ws, _response) =
        tokio_tungstenite::client_async_with_config(request, stream, Some(config))
            .await
            .map_err(|e| handshake_error(&e))?;
    if let Some(text) = send {
        ws.send(Message::text(text))
            .await
            .map_err(|e| format!("sending {text:?} after the handshake: {e}"))?;
    }
    let first_message = if await_message {
        Some(first_message(&mut ws, within).await?)
    } else {
        None
    };
    // A polite close, not waited for long: the verdict is already known.
    let _ = tokio::time::timeout(Duration::from_millis(500), ws.close(None)).await;
    Ok(WebSocketReply { first_message })
}

async fn first_message<S>(ws: &mut WebSocketStream<S>, within: &str) -> Result<String, String>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    while let Some(message) = ws.next().await {
        match message.map_err(|e| format!("reading the first message: {e}"))? {
            Message::Text(text) => return Ok(text.as_str().to_string()),
            Message::Binary(bytes) => return Ok(String::from_utf8_lossy(&bytes).into_owned()),
            Message::Close(frame) => {
                return Err(match frame {
                    Some(f) => format!(
                        "the server closed the WebSocket before sending a message (code {}, {:?})",
                        u16::from(f.code),
                        f.reason.as_str()
                    ),
                    None => "the server closed the WebSocket before sending a message".into(),
                })
            }
            // Pings are answered by the library; neither is an answer.
            Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => {}
        }
    }
    Err(format!(
        "the connection ended before a message arrived (waited up to {within})"
    ))
}

/// Words for a failed handshake: a refused upgrade gives its status and the
/// start of its body, as the HTTP gate's diagnostics do.
fn handshake_error(e: &tungstenite::Error) -> String {
    match e {
        tungstenite::Error::Http(response) => {
            let status = response.status();
            let body = response
                .body()
                .as_deref()
                .map(|b| {
                    String::from_utf8_lossy(b)
                        .chars()
                        .take(200)
                        .collect::<String>()
                })
                .filter(|b| !b.trim().is_empty());
            match body {
                Some(body) => format!(
                    "answered HTTP {}, expected 101 Switching Protocols: {}",
                    status.as_u16(),
                    body.trim()
                ),
                None => format!(
                    "answered HTTP {}, expected 101 Switching Protocols",
                    status.as_u16()
                ),
            }
        }
        tungstenite::Error::Io(io) if io.kind() == std::io::ErrorKind::ConnectionRefused => {
            "connection refused (is the process listening?)".into()
        }
        other => format!("WebSocket handshake failed: {other}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colour_addresses_become_websocket_urls() {
        assert_eq!(
            websocket_url("http://127.0.0.1:4001", "/ws"),
            "ws://127.0.0.1:4001/ws"
        );
        assert_eq!(
            websocket_url("https://app--green.example.io/", "/live"),
            "wss://app--green.example.io/live"
        );
    }
}
