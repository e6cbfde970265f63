//! Starting a provider binary the way Terraform does (magic cookie, protocol
//! versions, client certificate), reading its handshake line, and calling it
//! over gRPC with or without Terraform's client certificate.

use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{aws_lc_rs, WebPkiSupportedAlgorithms};
use rustls::{ClientConfig, DigitallySignedStruct, SignatureScheme};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName, UnixTime};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::process::{Child, Command};
use tonic::transport::{Channel, Endpoint, Uri};

use tfplugin::proto::plugin::grpc_controller_client::GrpcControllerClient;
use tfplugin::proto::plugin::Empty;
use tfplugin::server::tls::auto_mtls_certificate;

/// The cookie every Terraform plugin expects.
pub const MAGIC_COOKIE: &str = "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2";

/// How long a plugin may take to print its handshake line.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Failures talking to a plugin.
#[derive(Debug, thiserror::Error)]
pub enum PluginError {
    /// Starting or reading the process failed.
    #[error("plugin process: {0}")]
    Io(#[from] std::io::Error),
    /// The handshake line is not go-plugin's.
    #[error("bad handshake line {line:?}: {why}")]
    Handshake {
        /// The line.
        line: String,
        /// What is wrong.
        why: String,
    },
    /// Something did not happen in time.
    #[error("timed out: {0}")]
    Timeout(String),
    /// TLS configuration failed.
    #[error("TLS: {0}")]
    Tls(#[from] rustls::Error),
    /// Generating a certificate failed.
    #[error("generating a certificate: {0}")]
    Cert(#[from] rcgen::Error),
    /// Connecting failed.
    #[error("connecting: {0}")]
    Transport(#[from] tonic::transport::Error),
    /// A call failed.
    #[error("gRPC: {0}")]
    Status(#[from] tonic::Status),
}

/// A client certificate and key, made the way Terraform makes its own:
/// self-signed ECDSA P-521 / SHA-512 CA certificate for `localhost`.
pub struct ClientIdentity {
    /// The certificate in PEM, for `PLUGIN_CLIENT_CERT`.
    pub cert_pem: String,
    cert_der: CertificateDer<'static>,
    key_der: PrivatePkcs8KeyDer<'static>,
}

impl ClientIdentity {
    /// A fresh identity.
    pub fn generate() -> Result<Self, PluginError> {
        let (cert, key) = auto_mtls_certificate(
            &rcgen::PKCS_ECDSA_P521_SHA512,
            "HashiCorp",
            Duration::from_secs(3600),
        )?;
        Ok(Self {
            cert_pem: cert.pem(),
            cert_der: cert.der().clone(),
            key_der: PrivatePkcs8KeyDer::from(key.serialize_der()),
        })
    }
}

/// The plugin's handshake line, `1|6|unix|/path|grpc|<cert>`.
#[derive(Debug, Clone)]
pub struct Handshake {
    /// The whole line.
    pub line: String,
    /// go-plugin core protocol version (1).
    pub core_version: u32,
    /// Terraform plugin protocol version (6).
    pub protocol_version: u32,
    /// `unix` or `tcp`.
    pub network: String,
    /// Socket path or host:port.
    pub address: String,
    /// The server certificate (absent without TLS).
    pub server_cert: Option<CertificateDer<'static>>,
}

impl Handshake {
    /// Parses a handshake line.
    pub fn parse(line: &str) -> Result<Self, PluginError> {
        let bad = |why: &str| PluginError::Handshake {
            line: line.to_string(),
            why: why.to_string(),
        };
        let parts: Vec<&str> = line.trim_end().split('|').collect();
        if parts.len() != 6 {
            return Err(bad("expected 6 fields separated by '|'"));
        }
        if parts[4] != "grpc" {
            return Err(bad("protocol is not grpc"));
        }
        let server_cert = if parts[5].is_empty() {
            None
        } else {
            // go-plugin: standard alphabet, no padding.
            let der = base64::engine::general_purpose::STANDARD_NO_PAD
                .decode(parts[5])
                .map_err(|e| bad(&format!("certificate is not unpadded standard base64: {e}")))?;
            Some(CertificateDer::from(der))
        };
        Ok(Self {
            line: line.trim_end().to_string(),
            core_version: parts[0]
                .parse()
                .map_err(|_| bad("core version is not a number"))?,
            protocol_version: parts[1]
                .parse()
                .map_err(|_| bad("protocol version is not a number"))?,
            network: parts[2].to_string(),
            address: parts[3].to_string(),
            server_cert,
        })
    }
}

/// A running plugin process.
pub struct PluginProcess {
    child: Child,
    /// What it announced.
    pub handshake: Handshake,
    /// From spawn to the handshake line.
    pub time_to_handshake: Duration,
    stderr: Arc<Mutex<String>>,
    stdout_rest: Arc<Mutex<String>>,
}

impl PluginProcess {
    /// Starts `binary` as Terraform would, passing `client_cert_pem` as
    /// `PLUGIN_CLIENT_CERT` (none: the plugin serves without TLS), and waits
    /// for its handshake line.
    pub async fn start(binary: &Path, client_cert_pem: Option<&str>) -> Result<Self, PluginError> {
        let mut cmd = Command::new(binary);
        for (key, _) in std::env::vars_os() {
            let k = key.to_string_lossy();
            if k.starts_with("TF_") || k.starts_with("PLUGIN_") {
                cmd.env_remove(&key);
            }
        }
        cmd.env("TF_PLUGIN_MAGIC_COOKIE", MAGIC_COOKIE)
            .env("PLUGIN_PROTOCOL_VERSIONS", "6")
            .env("TF_LOG", "debug")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(pem) = client_cert_pem {
            cmd.env("PLUGIN_CLIENT_CERT", pem);
        }
        let started = Instant::now();
        let mut child = cmd.spawn()?;
        let stderr = Arc::new(Mutex::new(String::new()));
        if let Some(pipe) = child.stderr.take() {
            let sink = stderr.clone();
            tokio::spawn(async move {
                let mut lines = BufReader::new(pipe).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    let mut s = sink.lock().unwrap_or_else(|e| e.into_inner());
                    s.push_str(&line);
                    s.push('\n');
                }
            });
        }
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| std::io::Error::other("no stdout pipe"))?;
        let mut reader = BufReader::new(stdout);
        let mut line = String::new();
        let read = tokio::time::timeout(HANDSHAKE_TIMEOUT, reader.read_line(&mut line)).await;
        let time_to_handshake = started.elapsed();
        match read {
            Err(_) => {
                let _ = child.start_kill();
                let err = stderr.lock().unwrap_or_else(|e| e.into_inner()).clone();
                return Err(PluginError::Timeout(format!(
                    "{} printed no handshake line in {HANDSHAKE_TIMEOUT:?}; stderr:\n{err}",
                    binary.display()
                )));
            }
            Ok(Err(e)) => return Err(e.into()),
            Ok(Ok(0)) => {
                let status = child.wait().await?;
                let err = stderr.lock().unwrap_or_else(|e| e.into_inner()).clone();
                return Err(PluginError::Handshake {
                    line: String::new(),
                    why: format!("the plugin exited ({status}) without one; stderr:\n{err}"),
                });
            }
            Ok(Ok(_)) => {}
        }
        let handshake = Handshake::parse(&line)?;
        // Anything after the handshake on stdout breaks go-plugin; keep it to assert on.
        let stdout_rest = Arc::new(Mutex::new(String::new()));
        let sink = stdout_rest.clone();
        tokio::spawn(async move {
            let mut rest = String::new();
            let _ = reader.read_to_string(&mut rest).await;
            sink.lock()
                .unwrap_or_else(|e| e.into_inner())
                .push_str(&rest);
        });
        Ok(Self {
            child,
            handshake,
            time_to_handshake,
            stderr,
            stdout_rest,
        })
    }

    /// The process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// The exit status, if it has exited.
    pub fn try_wait(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// Waits up to `limit` for the process to exit.
    pub async fn wait_exit(&mut self, limit: Duration) -> Option<ExitStatus> {
        tokio::time::timeout(limit, self.child.wait())
            .await
            .ok()
            .and_then(Result::ok)
    }

    /// Everything it wrote to stderr so far.
    pub fn stderr(&self) -> String {
        self.stderr
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Whatever it wrote to stdout after the handshake line (should be nothing).
    pub fn stdout_after_handshake(&self) -> String {
        self.stdout_rest
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// A gRPC channel to the plugin. With TLS (the plugin announced a
    /// certificate), the announced certificate is the only one trusted, for
    /// server name `localhost`, and `client` is presented if given.
    pub async fn connect(&self, client: Option<&ClientIdentity>) -> Result<Channel, PluginError> {
        if self.handshake.network != "unix" {
            return Err(PluginError::Handshake {
                line: self.handshake.line.clone(),
                why: "this harness connects to unix sockets only".into(),
            });
        }
        let path = PathBuf::from(&self.handshake.address);
        let endpoint =
            Endpoint::from_static("http://localhost").connect_timeout(Duration::from_secs(5));
        let Some(server_cert) = &self.handshake.server_cert else {
            let connector = tower::service_fn(move |_: Uri| {
                let path = path.clone();
                async move {
                    let stream = tokio::net::UnixStream::connect(path).await?;
                    Ok::<_, std::io::Error>(hyper_util::rt::TokioIo::new(stream))
                }
            });
            return Ok(endpoint.connect_with_connector(connector).await?);
        };
        let tls =
            tokio_rustls::TlsConnector::from(Arc::new(client_config(server_cert.clone(), client)?));
        let connector = tower::service_fn(move |_: Uri| {
            let (path, tls) = (path.clone(), tls.clone());
            async move {
                let stream = tokio::net::UnixStream::connect(path).await?;
                let name = ServerName::try_from("localhost").map_err(std::io::Error::other)?;
                let stream = tls.connect(name, stream).await?;
                Ok::<_, std::io::Error>(hyper_util::rt::TokioIo::new(stream))
            }
        });
        Ok(endpoint.connect_with_connector(connector).await?)
    }

    /// Calls `plugin.GRPCController/Shutdown` and measures how long after the
    /// reply the process exits (failing if not within `limit`).
    pub async fn shutdown(
        &mut self,
        channel: Channel,
        limit: Duration,
    ) -> Result<Duration, PluginError> {
        GrpcControllerClient::new(channel)
            .shutdown(Empty {})
            .await?;
        let replied = Instant::now();
        match self.wait_exit(limit).await {
            Some(_) => Ok(replied.elapsed()),
            None => Err(PluginError::Timeout(format!(
                "the plugin did not exit within {limit:?} of Shutdown"
            ))),
        }
    }
}

impl Drop for PluginProcess {
    fn drop(&mut self) {
        if self.try_wait().is_some() {
            return;
        }
        // SIGTERM first, so the plugin removes its socket; SIGKILL if it lingers.
        if let Some(pid) = self.child.id().and_then(|p| libc::pid_t::try_from(p).ok()) {
            // SAFETY: kill(2) on our own, not yet reaped, child.
            unsafe { libc::kill(pid, libc::SIGTERM) };
            let deadline = Instant::now() + Duration::from_secs(1);
            while Instant::now() < deadline {
                if self.try_wait().is_some() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(5));
            }
        }
        let _ = self.child.start_kill();
    }
}

/// A TLS client configuration trusting exactly `server_cert`, as go-plugin's
/// client does, presenting `client` when given.
pub fn client_config(
    server_cert: CertificateDer<'static>,
    client: Option<&ClientIdentity>,
) -> Result<ClientConfig, PluginError> {
    let provider = Arc::new(aws_lc_rs::default_provider());
    let verifier = Arc::new(PinnedServerCert {
        expected: server_cert,
        algorithms: provider.signature_verification_algorithms,
    });
    let builder = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .dangerous()
        .with_custom_certificate_verifier(verifier);
    let mut config = match client {
        Some(id) => builder.with_client_auth_cert(
            vec![id.cert_der.clone()],
            PrivateKeyDer::Pkcs8(id.key_der.clone_key()),
        )?,
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = vec![b"h2".to_vec()];
    Ok(config)
}

/// The plugin's certificate is self-signed and marked as a CA, which WebPKI
/// path building refuses as an end entity (Go accepts it); so the check is a
/// pin on the announced certificate, plus the name and signature checks.
#[derive(Debug)]
struct PinnedServerCert {
    expected: CertificateDer<'static>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for PinnedServerCert {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if end_entity.as_ref() != self.expected.as_ref() {
            return Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::UnknownIssuer,
            ));
        }
        let parsed = rustls::server::ParsedCertificate::try_from(end_entity)?;
        rustls::client::verify_server_name(&parsed, server_name)?;
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_handshake_lines() {
        let h = Handshake::parse("1|6|unix|/tmp/x/plugin.sock|grpc|3q2+7wE\n").unwrap();
        assert_eq!((h.core_version, h.protocol_version), (1, 6));
        assert_eq!(h.address, "/tmp/x/plugin.sock");
        assert_eq!(
            h.server_cert.unwrap().as_ref(),
            &[0xde, 0xad, 0xbe, 0xef, 0x01]
        );
        assert!(Handshake::parse("1|6|unix|/x|grpc|")
            .unwrap()
            .server_cert
            .is_none());
        assert!(Handshake::parse("1|6|unix|/x|netrpc|").is_err());
        assert!(Handshake::parse("hello").is_err());
    }
}
