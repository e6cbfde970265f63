//! `/ws`: a WebSocket endpoint, as the print equipment and browser dashboards of the real
//! application keep open. It echoes text and binary messages and answers the text
//! `version` with the instance's version and colour, so that a client can tell which
//! release its connection reached (and a release can be watched from a tunnel).

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use futures_util::{SinkExt, StreamExt};
use hyper_util::rt::TokioIo;
use serde_json::json;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::Role;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

use crate::routes::App;

/// Switches a WebSocket handshake to the protocol; anything else gets `426`.
pub async fn websocket(State(app): State<Arc<App>>, mut req: Request) -> Response {
    let asks_websocket = req
        .headers()
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
    let key = req.headers().get(header::SEC_WEBSOCKET_KEY).cloned();
    let (true, Some(key)) = (asks_websocket, key) else {
        return (
            StatusCode::UPGRADE_REQUIRED,
            [(header::UPGRADE, HeaderValue::from_static("websocket"))],
            Json(json!({"error": "/ws speaks WebSocket: send an upgrade handshake"})),
        )
            .into_response();
    };
    let upgrade = hyper::upgrade::on(&mut req);
    let hello = json!({"version": app.config.version, "color": app.config.color}).to_string();
    tokio::spawn(async move {
        let Ok(upgraded) = upgrade.await else {
            return;
        };
        let mut ws =
            WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Server, None).await;
        while let Some(Ok(msg)) = ws.next().await {
            let reply = match msg {
                Message::Text(t) if t.as_str() == "version" => Message::text(hello.clone()),
                Message::Text(_) | Message::Binary(_) => msg,
                // Pings are answered by the library; a close ends the loop.
                _ => continue,
            };
            if ws.send(reply).await.is_err() {
                return;
            }
        }
    });
    let mut switch = Response::new(Body::empty());
    *switch.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let headers = switch.headers_mut();
    headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
    if let Ok(accept) = HeaderValue::from_str(&derive_accept_key(key.as_bytes())) {
        headers.insert(header::SEC_WEBSOCKET_ACCEPT, accept);
    }
    switch
}
