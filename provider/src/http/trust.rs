//! Which certificates HTTPS gates trust: the web PKI roots (Mozilla's, as
//! webpki-roots ships them) plus an optional PEM bundle the platform's
//! configuration names, for revision addresses behind a private CA.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use rustls::{CertificateError, ClientConfig, RootCertStore};

/// Why a CA bundle cannot be used; every variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum TrustError {
    /// The file cannot be read.
    #[error("cannot read the CA certificate file {}: {source}", .path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not PEM or holds no certificate.
    #[error("the CA certificate file {} is not a PEM bundle of certificates ({reason}); it must hold one or more -----BEGIN CERTIFICATE----- blocks", .path.display())]
    NotPem {
        /// The file.
        path: PathBuf,
        /// What was wrong.
        reason: String,
    },
    /// A certificate in the file is not one rustls can anchor trust in.
    #[error("the CA certificate file {} holds a certificate that is not a usable CA: {reason}", .path.display())]
    BadCertificate {
        /// The file.
        path: PathBuf,
        /// What rustls said.
        reason: String,
    },
    /// rustls refused the configuration.
    #[error("TLS configuration: {0}")]
    Tls(String),
}

/// The roots HTTPS gates verify colour addresses against.
#[derive(Clone)]
pub struct Trust {
    /// The client configuration shared by every HTTPS probe.
    pub config: Arc<ClientConfig>,
    /// The extra CA bundle, named in diagnostics.
    pub ca_file: Option<PathBuf>,
}

impl std::fmt::Debug for Trust {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Trust")
            .field("ca_file", &self.ca_file)
            .finish_non_exhaustive()
    }
}

impl Trust {
    /// The web PKI roots, plus every certificate in `ca_file` when given.
    pub fn load(ca_file: Option<&Path>) -> Result<Self, TrustError> {
        let mut roots = RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        if let Some(path) = ca_file {
            for cert in read_pem(path)? {
                roots.add(cert).map_err(|e| TrustError::BadCertificate {
                    path: path.to_path_buf(),
                    reason: e.to_string(),
                })?;
            }
        }
        // The provider named explicitly: the process may link more than one.
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let mut config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| TrustError::Tls(e.to_string()))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Self {
            config: Arc::new(config),
            ca_file: ca_file.map(Path::to_path_buf),
        })
    }

    /// Words for a failed TLS handshake with `host`: an untrusted
    /// certificate says which setting adds its CA.
    pub fn describe(&self, host: &str, error: &rustls::Error) -> String {
        match error {
            rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer) => {
                match &self.ca_file {
                    None => format!(
                        "the certificate of {host} is not trusted (its issuer is not a public root CA); set ca_certificate_file to a PEM file holding its CA"
                    ),
                    Some(path) => format!(
                        "the certificate of {host} is not trusted (its issuer is neither a public root CA nor in {}); set ca_certificate_file to a PEM file holding its CA",
                        path.display()
                    ),
                }
            }
            rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            ) => format!("the certificate of {host} is not valid for the name {host}"),
            rustls::Error::InvalidCertificate(e) => {
                format!("the certificate of {host} is not accepted: {e}")
            }
            e => format!("TLS handshake with {host} failed: {e}"),
        }
    }
}

fn read_pem(path: &Path) -> Result<Vec<CertificateDer<'static>>, TrustError> {
    let bytes = std::fs::read(path).map_err(|source| TrustError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let certs = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TrustError::NotPem {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
    if certs.is_empty() {
        return Err(TrustError::NotPem {
            path: path.to_path_buf(),
            reason: "no certificate found".into(),
        });
    }
    Ok(certs)
}
