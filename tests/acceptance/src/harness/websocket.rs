//! A WebSocket to the demo application's `/ws` through a front door, as print equipment
//! or a browser dashboard holds one: `tungstenite`'s client, a library written by others,
//! so the front door's tunnels are judged by someone else's reading of RFC 6455.

use std::net::TcpStream;
use std::time::Duration;

use serde_json::Value as Json;
use tungstenite::client::IntoClientRequest;
use tungstenite::http::HeaderValue;
use tungstenite::stream::MaybeTlsStream;
use tungstenite::{Message, WebSocket};

/// One open WebSocket to `/ws`.
pub struct AppSocket {
    ws: WebSocket<MaybeTlsStream<TcpStream>>,
    /// The front door's `x-bluegreen-color` on the handshake's `101`.
    pub color: String,
}

impl AppSocket {
    /// Opens `ws://<base without http://>/ws`, with `headers` on the handshake.
    pub fn open(base: &str, headers: &[(&str, &str)]) -> Result<AppSocket, String> {
        let url = format!("ws://{}/ws", base.trim_start_matches("http://"));
        let mut req = url
            .as_str()
            .into_client_request()
            .map_err(|e| format!("{url}: {e}"))?;
        for (name, value) in headers {
            let value = HeaderValue::from_str(value).map_err(|e| format!("{name}: {e}"))?;
            req.headers_mut().insert(
                tungstenite::http::HeaderName::from_bytes(name.as_bytes())
                    .map_err(|e| format!("{name}: {e}"))?,
                value,
            );
        }
        let stream = TcpStream::connect(base.trim_start_matches("http://"))
            .map_err(|e| format!("connecting to {base}: {e}"))?;
        // Every step is bounded: a hang fails the test instead of stalling it.
        let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
        let _ = stream.set_write_timeout(Some(Duration::from_secs(5)));
        let (ws, answer) = tungstenite::client(req, MaybeTlsStream::Plain(stream))
            .map_err(|e| format!("WebSocket handshake with {url}: {e}"))?;
        let color = answer
            .headers()
            .get("x-bluegreen-color")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        Ok(AppSocket { ws, color })
    }

    /// Asks the application which release this connection reached: `(version, color)`.
    pub fn version(&mut self) -> Result<(String, String), String> {
        self.ws
            .send(Message::text("version"))
            .map_err(|e| format!("sending on the WebSocket: {e}"))?;
        loop {
            match self.ws.read() {
                Ok(Message::Text(t)) => {
                    let json: Json = serde_json::from_str(t.as_str())
                        .map_err(|e| format!("answer {t:?} is not JSON: {e}"))?;
                    let field = |k: &str| json[k].as_str().unwrap_or_default().to_owned();
                    return Ok((field("version"), field("color")));
                }
                Ok(Message::Close(_)) => return Err("the WebSocket was closed".into()),
                Ok(_) => continue,
                Err(e) => return Err(format!("reading the WebSocket: {e}")),
            }
        }
    }

    /// Closes the WebSocket the way a client does (close frame, then the socket).
    pub fn close(mut self) {
        let _ = self.ws.close(None);
        while self.ws.read().is_ok() {}
    }
}
