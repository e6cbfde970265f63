//! The HTTP transport under azure_core and azure_identity: hyper over rustls
//! with aws-lc-rs, trusting the public roots plus `ca_certificate_file`, so no
//! OpenSSL or native-tls enters the build and a private cloud's (or the
//! emulator's) CA is trusted without touching the machine's store.
//!
//! Connections are kept for reuse a short while: a TLS handshake costs more
//! than an ARM read: on loopback against the emulator, a GET took 46 ms with
//! a handshake each and 0.8 ms on a kept connection (debug build).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use azure_core::error::{Error as CoreError, ErrorKind};
use azure_core::http::headers::{HeaderName, HeaderValue, Headers};
use azure_core::http::{AsyncRawResponse, Body, HttpClient, Request, StatusCode};
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;

use crate::http::trust::{Trust, TrustError};

/// Largest response body read (ARM documents and token answers are small).
const MAX_BODY: usize = 16 * 1024 * 1024;
/// How long an idle connection is reused (servers close theirs after a while).
const IDLE_FOR: Duration = Duration::from_secs(30);
/// Idle connections kept per host.
const MAX_IDLE_PER_HOST: usize = 4;

/// Why the transport could not be built.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    /// The CA file cannot be read or holds no usable certificate; the message
    /// names the file.
    #[error("azure.ca_certificate_file: {0}")]
    Ca(#[source] TrustError),
}

/// HTTP(S) transport for Resource Manager and Microsoft Entra.
#[derive(Clone)]
pub struct Transport {
    tls: Arc<rustls::ClientConfig>,
    /// `azure.ca_certificate_file`, named when a server's certificate is refused.
    ca_file: Option<PathBuf>,
    timeout: Duration,
    /// Idle HTTP/1.1 connections by `scheme://host:port`, newest last.
    idle: Arc<Mutex<IdlePool>>,
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transport")
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl Transport {
    /// Public roots plus the certificates in `ca_file`; each request is bounded by `timeout`.
    pub fn new(ca_file: Option<&Path>, timeout: Duration) -> Result<Transport, TransportError> {
        let trust = Trust::load(ca_file).map_err(TransportError::Ca)?;
        Ok(Transport::from_trust(&trust, timeout))
    }

    /// A transport verifying servers against `trust`, already loaded (the
    /// gates' HTTP client holds the same one): the CA file is read once.
    pub fn from_trust(trust: &Trust, timeout: Duration) -> Transport {
        Transport {
            tls: Arc::clone(&trust.config),
            ca_file: trust.ca_file.clone(),
            timeout,
            idle: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    async fn send(&self, request: &Request) -> Result<AsyncRawResponse, CoreError> {
        let url = request.url();
        let host = url
            .host_str()
            .ok_or_else(|| io_error(format!("{url} has no host")))?
            .to_string();
        let https = match url.scheme() {
            "https" => true,
            "http" => false,
            other => return Err(io_error(format!("unsupported URL scheme {other:?}"))),
        };
        let port = url
            .port_or_known_default()
            .ok_or_else(|| io_error(format!("{url} has no port")))?;
        let authority = match url.port() {
            Some(p) => format!("{host}:{p}"),
            None => host.clone(),
        };
        let key = format!("{}://{host}:{port}", url.scheme());
        tracing::trace!(method = request.method().as_str(), host = %host, path = %url.path(), "azure http request");

        // An idle connection first; one that fails before answering (the
        // server closed it meanwhile) is dropped and the next tried. ARM's
        // methods are idempotent, and so is a token request.
        while let Some(mut sender) = self.take_idle(&key) {
            if sender.ready().await.is_err() {
                continue;
            }
            match exchange(&mut sender, hyper_request(request, &authority)?, &authority).await {
                Ok(response) => {
                    self.keep_idle(key, sender);
                    return Ok(response);
                }
                Err(Failure::BeforeAnswer(_)) => continue,
                Err(Failure::AfterAnswer(e)) => return Err(e),
            }
        }
        let mut sender = self.connect(&host, port, https, &authority).await?;
        match exchange(&mut sender, hyper_request(request, &authority)?, &authority).await {
            Ok(response) => {
                self.keep_idle(key, sender);
                Ok(response)
            }
            Err(Failure::BeforeAnswer(e) | Failure::AfterAnswer(e)) => Err(e),
        }
    }

    async fn connect(
        &self,
        host: &str,
        port: u16,
        https: bool,
        authority: &str,
    ) -> Result<Sender, CoreError> {
        // IPv6 literals come bracketed in URLs; connect and SNI want them bare.
        let bare = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        let tcp = tokio::net::TcpStream::connect((bare.as_str(), port))
            .await
            .map_err(|e| io_error(format!("connect to {authority}: {e}")))?;
        let _ = tcp.set_nodelay(true);
        if https {
            let name = ServerName::try_from(bare.clone())
                .map_err(|e| io_error(format!("invalid TLS server name {bare:?}: {e}")))?;
            let tls = tokio_rustls::TlsConnector::from(self.tls.clone())
                .connect(name, tcp)
                .await
                .map_err(
                    |e| match e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
                        Some(rustls::Error::InvalidCertificate(refused)) => {
                            untrusted(authority, refused, self.ca_file.as_deref())
                        }
                        _ => io_error(format!("TLS with {authority}: {e}")),
                    },
                )?;
            handshake(TokioIo::new(tls), authority).await
        } else {
            handshake(TokioIo::new(tcp), authority).await
        }
    }

    fn take_idle(&self, key: &str) -> Option<Sender> {
        let mut idle = self.idle.lock().ok()?;
        let list = idle.get_mut(key)?;
        while let Some((sender, since)) = list.pop() {
            if since.elapsed() < IDLE_FOR && !sender.is_closed() {
                return Some(sender);
            }
        }
        None
    }

    fn keep_idle(&self, key: String, sender: Sender) {
        if sender.is_closed() {
            return;
        }
        if let Ok(mut idle) = self.idle.lock() {
            let list = idle.entry(key).or_default();
            if list.len() < MAX_IDLE_PER_HOST {
                list.push((sender, Instant::now()));
            }
        }
    }
}

type Sender = hyper::client::conn::http1::SendRequest<Full<Bytes>>;
type IdlePool = HashMap<String, Vec<(Sender, Instant)>>;

/// How an exchange failed: before any answer (safe to try another
/// connection) or while reading one.
enum Failure {
    BeforeAnswer(CoreError),
    AfterAnswer(CoreError),
}

fn hyper_request(
    request: &Request,
    authority: &str,
) -> Result<hyper::Request<Full<Bytes>>, CoreError> {
    let body = match request.body() {
        Body::Bytes(b) => b.clone(),
        Body::SeekableStream(_) => {
            return Err(io_error("streamed request bodies are not supported".into()))
        }
    };
    let method = hyper::Method::from_bytes(request.method().as_str().as_bytes())
        .map_err(|_| io_error(format!("invalid method {}", request.method().as_str())))?;
    let mut builder = hyper::Request::builder()
        .method(method)
        .uri(request.path_and_query())
        .header(hyper::header::HOST, authority);
    for (name, value) in request.headers().iter() {
        builder = builder.header(name.as_str(), value.as_str());
    }
    builder
        .body(Full::new(body))
        .map_err(|e| io_error(format!("invalid request: {e}")))
}

async fn handshake<T>(io: T, authority: &str) -> Result<Sender, CoreError>
where
    T: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let (sender, conn) = hyper::client::conn::http1::handshake(io)
        .await
        .map_err(|e| io_error(format!("HTTP with {authority}: {e}")))?;
    // The connection lives while a sender for it does (in use or idle).
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(sender)
}

async fn exchange(
    sender: &mut Sender,
    request: hyper::Request<Full<Bytes>>,
    authority: &str,
) -> Result<AsyncRawResponse, Failure> {
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| Failure::BeforeAnswer(io_error(format!("request to {authority}: {e}"))))?;
    let status = StatusCode::from(response.status().as_u16());
    let mut headers = Headers::new();
    for (name, value) in response.headers() {
        // hyper's names are already lower case, which azure_core requires.
        if let Ok(v) = value.to_str() {
            headers.insert(
                HeaderName::from(name.as_str().to_ascii_lowercase()),
                HeaderValue::from(v.to_string()),
            );
        }
    }
    let body = Limited::new(response.into_body(), MAX_BODY)
        .collect()
        .await
        .map_err(|e| {
            Failure::AfterAnswer(io_error(format!("reading the answer of {authority}: {e}")))
        })?
        .to_bytes();
    Ok(AsyncRawResponse::from_bytes(status, headers, body))
}

/// A server certificate the trust store refuses: not a network fault, so
/// neither azure_core's retry policy nor ours repeats it (its kind is not
/// `Io`), and the message says which attribute adds the missing CA.
fn untrusted(
    authority: &str,
    refused: &rustls::CertificateError,
    ca_file: Option<&Path>,
) -> CoreError {
    let why = match refused {
        rustls::CertificateError::UnknownIssuer => match ca_file {
            Some(path) => format!(
                "its issuer is neither a public root CA nor in azure.ca_certificate_file ({})",
                path.display()
            ),
            None => "its issuer is not a public root CA".to_string(),
        },
        other => other.to_string(),
    };
    CoreError::with_message(
        ErrorKind::Other,
        format!(
            "the certificate of {authority} is not trusted: {why}; set azure.ca_certificate_file to a PEM file holding the CA of your cloud's endpoints"
        ),
    )
}

/// Whether a transport failure may pass if the request is sent again (a
/// refused certificate will not).
pub fn is_transient(error: &CoreError) -> bool {
    matches!(error.kind(), ErrorKind::Io | ErrorKind::Connection)
}

fn io_error(message: String) -> CoreError {
    CoreError::with_message(ErrorKind::Io, message)
}

#[async_trait::async_trait]
impl HttpClient for Transport {
    async fn execute_request(&self, request: &Request) -> azure_core::Result<AsyncRawResponse> {
        match tokio::time::timeout(self.timeout, self.send(request)).await {
            Ok(result) => result,
            Err(_) => Err(io_error(format!(
                "no answer from {} within {} s",
                request.url().host_str().unwrap_or("?"),
                self.timeout.as_secs()
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_or_empty_ca_file_names_the_attribute() {
        let missing = Transport::new(
            Some(Path::new("/nonexistent/ca.pem")),
            Duration::from_secs(1),
        )
        .expect_err("missing file");
        assert!(
            missing.to_string().starts_with("azure.ca_certificate_file"),
            "{missing}"
        );

        let dir = tempfile::tempdir().expect("temp dir");
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").expect("write");
        let err = Transport::new(Some(&empty), Duration::from_secs(1)).expect_err("empty bundle");
        let shown = err.to_string();
        assert!(shown.starts_with("azure.ca_certificate_file"), "{shown}");
        assert!(shown.contains(&empty.display().to_string()), "{shown}");
        assert!(shown.contains("not a PEM bundle"), "{shown}");
    }

    #[test]
    fn a_refused_certificate_names_the_attribute_and_is_not_transient() {
        let with_file = untrusted(
            "127.0.0.1:8443",
            &rustls::CertificateError::UnknownIssuer,
            Some(Path::new("/etc/corp/ca.pem")),
        );
        let shown = with_file.to_string();
        for needle in [
            "127.0.0.1:8443",
            "/etc/corp/ca.pem",
            "azure.ca_certificate_file",
        ] {
            assert!(shown.contains(needle), "{needle} missing from {shown}");
        }
        assert!(!is_transient(&with_file));
        let without = untrusted("arm.example", &rustls::CertificateError::Expired, None);
        assert!(
            without
                .to_string()
                .contains("set azure.ca_certificate_file"),
            "{without}"
        );
        assert!(is_transient(&io_error("connection reset".into())));
    }

    /// A plain-HTTP server answering `200 {n}` to each request on a
    /// connection; with `one_per_connection` it closes the connection after
    /// each answer without saying so (as an idle timeout does). Counts accepts.
    async fn server(one_per_connection: bool) -> (String, Arc<std::sync::atomic::AtomicUsize>) {
        use std::sync::atomic::{AtomicUsize, Ordering};
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}/", listener.local_addr().expect("addr"));
        let accepted = Arc::new(AtomicUsize::new(0));
        let counter = accepted.clone();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let n = counter.fetch_add(1, Ordering::SeqCst) + 1;
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 4096];
                    loop {
                        while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                            match socket.read(&mut chunk).await {
                                Ok(0) | Err(_) => return,
                                Ok(k) => buf.extend_from_slice(&chunk[..k]),
                            }
                        }
                        buf.clear();
                        let body = n.to_string();
                        let reply = format!(
                            "HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n{body}",
                            body.len()
                        );
                        if socket.write_all(reply.as_bytes()).await.is_err() || one_per_connection {
                            // Give the client time to pool the connection before it closes.
                            tokio::time::sleep(Duration::from_millis(50)).await;
                            return;
                        }
                    }
                });
            }
        });
        (url, accepted)
    }

    async fn get(transport: &Transport, url: &str) -> String {
        let request = Request::new(
            azure_core::http::Url::parse(url).expect("url"),
            azure_core::http::Method::Get,
        );
        let response = transport.execute_request(&request).await.expect("answer");
        let body = response.into_body().collect().await.expect("body");
        String::from_utf8_lossy(&body).into_owned()
    }

    #[tokio::test]
    async fn connections_are_reused_and_a_closed_one_is_replaced() {
        use std::sync::atomic::Ordering;
        let transport = Transport::new(None, Duration::from_secs(5)).expect("transport");
        let (url, accepted) = server(false).await;
        for _ in 0..3 {
            assert_eq!(
                get(&transport, &url).await,
                "1",
                "answered on the first connection"
            );
        }
        assert_eq!(accepted.load(Ordering::SeqCst), 1);

        let (url, accepted) = server(true).await;
        assert_eq!(get(&transport, &url).await, "1");
        tokio::time::sleep(Duration::from_millis(200)).await;
        // The pooled connection is gone: the request goes out on a new one.
        assert_eq!(get(&transport, &url).await, "2");
        assert_eq!(accepted.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn public_roots_alone_are_enough_to_build() {
        assert!(Transport::new(None, Duration::from_secs(1)).is_ok());
    }
}
