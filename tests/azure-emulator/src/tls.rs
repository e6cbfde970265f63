//! The emulator's own certificate authority and the server certificate it signs,
//! so clients trust it through a CA file (`REQUESTS_CA_BUNDLE` for Python,
//! `ca_certificate_file` for the provider) instead of turning verification off.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use rustls::crypto::aws_lc_rs;
use rustls::ServerConfig;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// Failures creating the emulator's TLS material.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// rcgen could not make a key or certificate.
    #[error("generating the emulator's certificates: {0}")]
    Generate(#[from] rcgen::Error),
    /// rustls refused the configuration.
    #[error("TLS configuration: {0}")]
    Config(#[from] rustls::Error),
    /// The CA file could not be written.
    #[error("writing the CA certificate to {path}: {source}")]
    Write {
        /// The file that could not be written.
        path: String,
        /// The underlying error.
        source: std::io::Error,
    },
}

/// A CA certificate (PEM, for clients) and a server identity it signed.
pub struct TlsMaterial {
    /// The CA certificate in PEM, the file clients trust.
    pub ca_pem: String,
    server_chain: Vec<CertificateDer<'static>>,
    server_key: PrivateKeyDer<'static>,
}

impl TlsMaterial {
    /// A fresh CA and a server certificate for `localhost`, `127.0.0.1` and `::1`,
    /// valid for 30 days.
    pub fn generate() -> Result<Self, TlsError> {
        let now = SystemTime::now();
        let ca_key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
        let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "bluegreen Azure emulator CA");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        ca_params.not_before = (now - Duration::from_secs(3600)).into();
        ca_params.not_after = (now + Duration::from_secs(30 * 86_400)).into();
        let ca_cert = ca_params.self_signed(&ca_key)?;
        let issuer = Issuer::new(ca_params, ca_key);

        let server_key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
        let mut params = CertificateParams::new(vec![
            "localhost".to_string(),
            "127.0.0.1".to_string(),
            "::1".to_string(),
        ])?;
        params
            .distinguished_name
            .push(DnType::CommonName, "localhost");
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        params.use_authority_key_identifier_extension = true;
        params.not_before = (now - Duration::from_secs(3600)).into();
        params.not_after = (now + Duration::from_secs(30 * 86_400)).into();
        let server_cert = params.signed_by(&server_key, &issuer)?;

        Ok(TlsMaterial {
            ca_pem: ca_cert.pem(),
            server_chain: vec![server_cert.der().clone(), ca_cert.der().clone()],
            server_key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(server_key.serialize_der())),
        })
    }

    /// Writes the CA certificate to `path`.
    pub fn write_ca(&self, path: &Path) -> Result<(), TlsError> {
        std::fs::write(path, &self.ca_pem).map_err(|source| TlsError::Write {
            path: path.display().to_string(),
            source,
        })
    }

    /// The rustls server configuration (TLS 1.2+, HTTP/1.1).
    pub fn server_config(&self) -> Result<Arc<ServerConfig>, TlsError> {
        let provider = Arc::new(aws_lc_rs::default_provider());
        let mut config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(self.server_chain.clone(), self.server_key.clone_key())?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }
}
