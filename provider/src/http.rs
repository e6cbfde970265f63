//! A small HTTP client for gates and smoke tests: one request, bounded time,
//! status and body back, every failure as words a release engineer reads.
//! `https://` addresses (a cloud platform's revision labels) are verified
//! with rustls against [`trust::Trust`].

#[cfg(test)]
pub mod test_server;
#[cfg(test)]
mod tests;
pub mod trust;
pub mod websocket;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls::pki_types::ServerName;

use trust::{Trust, TrustError};

/// Largest response body a probe reads (health documents are small).
const MAX_BODY: usize = 1024 * 1024;

/// A pooled HTTP/1.1 client for `http://`, one connection per request for
/// `https://` (gates probe every few seconds: no pool is worth its state).
#[derive(Clone)]
pub struct Http {
    client: Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>,
    /// Built on first HTTPS use when not given: plain-http runs never load roots.
    trust: Arc<tokio::sync::OnceCell<Trust>>,
}

/// What a probe got back.
#[derive(Debug, Clone)]
pub struct Reply {
    /// HTTP status.
    pub status: u16,
    /// Body as text (lossy UTF-8).
    pub body: String,
    /// Response headers.
    pub headers: hyper::HeaderMap,
}

impl Default for Http {
    fn default() -> Self {
        Self::new()
    }
}

impl Http {
    /// A client trusting the web PKI roots for `https://`.
    pub fn new() -> Self {
        Self::with(tokio::sync::OnceCell::new())
    }

    /// A client trusting the web PKI roots and every CA in `ca_file`; fails
    /// naming the file when it is missing or not PEM.
    pub fn with_ca_file(ca_file: &std::path::Path) -> Result<Self, TrustError> {
        let trust = Trust::load(Some(ca_file))?;
        Ok(Self::with(tokio::sync::OnceCell::new_with(Some(trust))))
    }

    fn with(trust: tokio::sync::OnceCell<Trust>) -> Self {
        let mut connector = hyper_util::client::legacy::connect::HttpConnector::new();
        connector.set_nodelay(true);
        connector.set_connect_timeout(Some(Duration::from_secs(5)));
        Self {
            client: Client::builder(TokioExecutor::new())
                .pool_idle_timeout(Duration::from_secs(30))
                .build(connector),
            trust: Arc::new(trust),
        }
    }

    /// Sends one request; `Err` carries a one-line reason (refused, timed out…).
    pub async fn request(
        &self,
        method: &str,
        url: &str,
        timeout: Duration,
    ) -> Result<Reply, String> {
        self.request_with_headers(method, url, &[], timeout).await
    }

    /// [`Http::request`] with extra request headers (a tenant header, an
    /// edge's `Host`).
    pub async fn request_with_headers(
        &self,
        method: &str,
        url: &str,
        headers: &[(&str, &str)],
        timeout: Duration,
    ) -> Result<Reply, String> {
        self.send(method, url, headers, Bytes::new(), timeout).await
    }

    /// POSTs `body` as `application/json` (an alert to a webhook).
    pub async fn post_json(
        &self,
        url: &str,
        body: Vec<u8>,
        timeout: Duration,
    ) -> Result<Reply, String> {
        let headers = [("content-type", "application/json")];
        self.send("POST", url, &headers, Bytes::from(body), timeout)
            .await
    }

    async fn send(
        &self,
        method: &str,
        url: &str,
        headers: &[(&str, &str)],
        body: Bytes,
        timeout: Duration,
    ) -> Result<Reply, String> {
        let method = hyper::Method::from_bytes(method.as_bytes())
            .map_err(|_| format!("invalid HTTP method {method:?}"))?;
        let uri: hyper::Uri = url
            .parse()
            .map_err(|e| format!("invalid request to {url}: {e}"))?;
        let tls = uri.scheme() == Some(&hyper::http::uri::Scheme::HTTPS);
        let mut builder = hyper::Request::builder().method(method).uri(uri).header(
            "user-agent",
            concat!("terraform-provider-bluegreen/", env!("CARGO_PKG_VERSION")),
        );
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        let req = builder
            .body(Full::new(body))
            .map_err(|e| format!("invalid request to {url}: {e}"))?;
        let call = async {
            let resp = if tls {
                self.send_tls(req, timeout).await?
            } else {
                self.client.request(req).await.map_err(|e| describe(&e))?
            };
            let status = resp.status().as_u16();
            let headers = resp.headers().clone();
            let body = Limited::new(resp.into_body(), MAX_BODY)
                .collect()
                .await
                .map_err(|e| format!("reading the response body: {e}"))?
                .to_bytes();
            Ok(Reply {
                status,
                body: String::from_utf8_lossy(&body).into_owned(),
                headers,
            })
        };
        match tokio::time::timeout(timeout, call).await {
            Ok(r) => r,
            Err(_) => Err(format!(
                "no response within {}",
                tfplugin::timeouts::format_duration(timeout)
            )),
        }
    }

    /// One request over a fresh TLS connection, verified against the trust.
    async fn send_tls(
        &self,
        mut req: hyper::Request<Full<Bytes>>,
        timeout: Duration,
    ) -> Result<hyper::Response<Incoming>, String> {
        let uri = req.uri().clone();
        let (stream, host) = self.connect_tls(&uri).await?;
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| format!("HTTP over TLS with {host}: {e}"))?;
        tokio::spawn(async move {
            // Ends with the response body or the peer, and at the latest with
            // the request's own deadline, so a colour that never answers
            // leaves no task behind. Its error shows in the request's.
            let _ = tokio::time::timeout(timeout, connection).await;
        });
        // A connection to the origin takes the path, with the authority as Host.
        if let Some(authority) = uri.authority() {
            if let Ok(value) = hyper::header::HeaderValue::from_str(authority.as_str()) {
                req.headers_mut().insert(hyper::header::HOST, value);
            }
        }
        let path = uri
            .path_and_query()
            .map_or("/", |p| p.as_str())
            .parse()
            .map_err(|e| format!("invalid request path in {uri}: {e}"))?;
        *req.uri_mut() = path;
        sender.send_request(req).await.map_err(|e| {
            let mut text = e.to_string();
            let mut source = std::error::Error::source(&e);
            while let Some(s) = source {
                text = format!("{text}: {s}");
                source = s.source();
            }
            text
        })
    }

    /// A fresh TLS connection to `uri`'s host and port (443 by default),
    /// verified against the trust; also returns the host name it verified.
    async fn connect_tls(
        &self,
        uri: &hyper::Uri,
    ) -> Result<
        (
            tokio_rustls::client::TlsStream<tokio::net::TcpStream>,
            String,
        ),
        String,
    > {
        let trust = self
            .trust
            .get_or_try_init(|| async { Trust::load(None) })
            .await
            .map_err(|e| e.to_string())?;
        let host = uri
            .host()
            .ok_or_else(|| format!("{uri} has no host"))?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        let port = uri.port_u16().unwrap_or(443);
        let name = ServerName::try_from(host.clone())
            .map_err(|_| format!("{host:?} is not a valid TLS server name"))?;
        let tcp = tokio::net::TcpStream::connect((host.as_str(), port))
            .await
            .map_err(|e| connect_error(&e))?;
        let _ = tcp.set_nodelay(true);
        let stream = tokio_rustls::TlsConnector::from(Arc::clone(&trust.config))
            .connect(name, tcp)
            .await
            .map_err(
                |e| match e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
                    Some(tls) => trust.describe(&host, tls),
                    None => format!("TLS handshake with {host} failed: {e}"),
                },
            )?;
        Ok((stream, host))
    }
}

fn connect_error(e: &std::io::Error) -> String {
    if e.kind() == std::io::ErrorKind::ConnectionRefused {
        "connection refused (is the process listening?)".into()
    } else {
        format!("connecting: {e}")
    }
}

fn describe(e: &hyper_util::client::legacy::Error) -> String {
    use std::error::Error;
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text = format!("{text}: {s}");
        source = s.source();
    }
    if text.contains("Connection refused") {
        "connection refused (is the process listening?)".into()
    } else {
        text
    }
}
