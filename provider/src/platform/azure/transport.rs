//! The HTTP transport under azure_core and azure_identity: hyper over rustls
//! with aws-lc-rs, trusting the public roots plus `ca_certificate_file`, so no
//! OpenSSL or native-tls enters the build and a private cloud's (or the
//! emulator's) CA is trusted without touching the machine's store.
//!
//! One connection per request: ARM is called a few times a minute, and a
//! fresh TLS handshake keeps the transport free of pool state.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use azure_core::error::{Error as CoreError, ErrorKind};
use azure_core::http::headers::{HeaderName, HeaderValue, Headers};
use azure_core::http::{AsyncRawResponse, Body, HttpClient, Request, StatusCode};
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::rt::TokioIo;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};

/// Largest response body read (ARM documents and token answers are small).
const MAX_BODY: usize = 16 * 1024 * 1024;

/// Why the transport could not be built.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    /// The CA file could not be read.
    #[error("azure.ca_certificate_file: cannot read {path}: {source}. Point it at a PEM bundle.")]
    ReadCa {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The CA file holds no usable certificate.
    #[error(
        "azure.ca_certificate_file: {path} holds no PEM certificate rustls accepts ({reason})."
    )]
    BadCa {
        /// The file.
        path: String,
        /// What was wrong.
        reason: String,
    },
    /// rustls refused the configuration.
    #[error("TLS setup failed: {0}")]
    Tls(String),
}

/// HTTP(S) transport for Resource Manager and Microsoft Entra.
#[derive(Clone)]
pub struct Transport {
    tls: Arc<rustls::ClientConfig>,
    timeout: Duration,
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
        let mut roots = rustls::RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        if let Some(path) = ca_file {
            let shown = path.display().to_string();
            let pem = std::fs::read(path).map_err(|source| TransportError::ReadCa {
                path: shown.clone(),
                source,
            })?;
            let mut added = 0;
            for cert in CertificateDer::pem_slice_iter(&pem) {
                let cert = cert.map_err(|e| TransportError::BadCa {
                    path: shown.clone(),
                    reason: e.to_string(),
                })?;
                roots.add(cert).map_err(|e| TransportError::BadCa {
                    path: shown.clone(),
                    reason: e.to_string(),
                })?;
                added += 1;
            }
            if added == 0 {
                return Err(TransportError::BadCa {
                    path: shown,
                    reason: "no CERTIFICATE block".into(),
                });
            }
        }
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| TransportError::Tls(e.to_string()))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(Transport {
            tls: Arc::new(config),
            timeout,
        })
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
        // IPv6 literals come bracketed in URLs; connect and SNI want them bare.
        let bare = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        let authority = match url.port() {
            Some(p) => format!("{host}:{p}"),
            None => host.clone(),
        };

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
            .header(hyper::header::HOST, &authority);
        for (name, value) in request.headers().iter() {
            builder = builder.header(name.as_str(), value.as_str());
        }
        let hyper_request = builder
            .body(Full::new(body))
            .map_err(|e| io_error(format!("invalid request: {e}")))?;
        tracing::trace!(method = request.method().as_str(), host = %host, path = %url.path(), "azure http request");

        let tcp = tokio::net::TcpStream::connect((bare.as_str(), port))
            .await
            .map_err(|e| io_error(format!("connect to {authority}: {e}")))?;
        let _ = tcp.set_nodelay(true);
        let response = if https {
            let name = ServerName::try_from(bare.clone())
                .map_err(|e| io_error(format!("invalid TLS server name {bare:?}: {e}")))?;
            let tls = tokio_rustls::TlsConnector::from(self.tls.clone())
                .connect(name, tcp)
                .await
                .map_err(|e| io_error(format!("TLS with {authority}: {e}")))?;
            exchange(TokioIo::new(tls), hyper_request, &authority).await?
        } else {
            exchange(TokioIo::new(tcp), hyper_request, &authority).await?
        };
        Ok(response)
    }
}

async fn exchange<T>(
    io: T,
    request: hyper::Request<Full<Bytes>>,
    authority: &str,
) -> Result<AsyncRawResponse, CoreError>
where
    T: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let (mut sender, conn) = hyper::client::conn::http1::handshake(io)
        .await
        .map_err(|e| io_error(format!("HTTP with {authority}: {e}")))?;
    let driver = tokio::spawn(conn);
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| io_error(format!("request to {authority}: {e}")));
    let response = match response {
        Ok(r) => r,
        Err(e) => {
            driver.abort();
            return Err(e);
        }
    };
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
        .map_err(|e| io_error(format!("reading the answer of {authority}: {e}")))?
        .to_bytes();
    driver.abort();
    Ok(AsyncRawResponse::from_bytes(status, headers, body))
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
        assert!(err.to_string().contains("no CERTIFICATE block"), "{err}");
    }

    #[test]
    fn public_roots_alone_are_enough_to_build() {
        assert!(Transport::new(None, Duration::from_secs(1)).is_ok());
    }
}
