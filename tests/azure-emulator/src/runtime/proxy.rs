//! Forwarding one HTTP request to a revision's process on loopback.

use axum::body::Body;
use axum::http::{Request, Response, StatusCode, Uri};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

/// The HTTP client the label listeners and the edge share.
pub type HttpClient = Client<HttpConnector, Body>;

/// A pooled HTTP/1.1 client.
pub fn client() -> HttpClient {
    Client::builder(TokioExecutor::new()).build_http()
}

/// Sends `req` to `127.0.0.1:port`, keeping method, path, query, headers and
/// body; answers 502 when the process does not answer.
pub async fn forward(client: &HttpClient, port: u16, mut req: Request<Body>) -> Response<Body> {
    let path = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "/".to_string());
    let Ok(uri) = format!("http://127.0.0.1:{port}{path}").parse::<Uri>() else {
        return plain(StatusCode::BAD_REQUEST, "bad request path");
    };
    *req.uri_mut() = uri;
    req.headers_mut().remove("host");
    match client.request(req).await {
        Ok(response) => response.map(Body::new),
        Err(e) => plain(
            StatusCode::BAD_GATEWAY,
            &format!("the revision on port {port} did not answer: {e}"),
        ),
    }
}

/// A text answer.
pub fn plain(status: StatusCode, text: &str) -> Response<Body> {
    let mut r = Response::new(Body::from(format!("{text}\n")));
    *r.status_mut() = status;
    r
}
