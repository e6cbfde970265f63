//! go-plugin's handshake: the environment Terraform sets, and the one line the
//! plugin prints on stdout to say where it listens.

use std::io::Write;

use base64::Engine;

/// The magic cookie Terraform sets so a plugin knows it was launched by Terraform.
pub const MAGIC_COOKIE_KEY: &str = "TF_PLUGIN_MAGIC_COOKIE";
/// Its expected value (shared by every Terraform provider).
pub const MAGIC_COOKIE_VALUE: &str =
    "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2";
/// go-plugin's core protocol version.
pub const CORE_PROTOCOL_VERSION: u32 = 1;
/// The Terraform plugin protocol version this crate speaks.
pub const APP_PROTOCOL_VERSION: u32 = 6;

/// Why the process cannot act as a plugin.
#[derive(Debug, thiserror::Error)]
pub enum HandshakeError {
    /// Started by a person rather than by Terraform.
    #[error("this binary is a Terraform plugin; it is started by Terraform, not run directly")]
    NotLaunchedByTerraform,
    /// Terraform offered only protocol versions we do not speak.
    #[error("Terraform offered plugin protocol versions {offered:?}; this provider speaks only 6 (Terraform 1.0 or later)")]
    IncompatibleProtocol {
        /// What Terraform offered.
        offered: String,
    },
}

/// Checks the environment Terraform sets before it starts a plugin.
pub fn check_environment() -> Result<(), HandshakeError> {
    if std::env::var(MAGIC_COOKIE_KEY).ok().as_deref() != Some(MAGIC_COOKIE_VALUE) {
        return Err(HandshakeError::NotLaunchedByTerraform);
    }
    // Older go-plugin clients do not set the list; they then expect our one version.
    if let Ok(offered) = std::env::var("PLUGIN_PROTOCOL_VERSIONS") {
        let speaks_six = offered
            .split(',')
            .any(|v| v.trim() == APP_PROTOCOL_VERSION.to_string());
        if !speaks_six {
            return Err(HandshakeError::IncompatibleProtocol { offered });
        }
    }
    Ok(())
}

/// The listening address, as the handshake names it.
#[derive(Debug, Clone)]
pub enum ListenAddr {
    /// A unix socket path.
    Unix(std::path::PathBuf),
    /// A TCP address.
    Tcp(std::net::SocketAddr),
}

impl ListenAddr {
    /// `unix` or `tcp`.
    pub fn network(&self) -> &'static str {
        match self {
            ListenAddr::Unix(_) => "unix",
            ListenAddr::Tcp(_) => "tcp",
        }
    }
    /// The address string.
    pub fn address(&self) -> String {
        match self {
            ListenAddr::Unix(p) => p.display().to_string(),
            ListenAddr::Tcp(a) => a.to_string(),
        }
    }
}

/// `1|6|unix|/path|grpc|<cert>`: the certificate is the DER of our server
/// certificate in standard base64 without padding, or empty without TLS.
pub fn handshake_line(addr: &ListenAddr, server_cert_der: Option<&[u8]>) -> String {
    let cert = server_cert_der
        .map(|der| base64::engine::general_purpose::STANDARD_NO_PAD.encode(der))
        .unwrap_or_default();
    format!(
        "{CORE_PROTOCOL_VERSION}|{APP_PROTOCOL_VERSION}|{}|{}|grpc|{cert}",
        addr.network(),
        addr.address()
    )
}

/// Prints the handshake line: the only thing this process ever writes to stdout.
pub fn announce(line: &str) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{line}")?;
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_has_go_plugin_shape() {
        let addr = ListenAddr::Unix("/tmp/plugin1/p.sock".into());
        let line = handshake_line(&addr, Some(&[0xde, 0xad, 0xbe, 0xef, 0x01]));
        assert_eq!(line, "1|6|unix|/tmp/plugin1/p.sock|grpc|3q2+7wE");
        let tcp = ListenAddr::Tcp("127.0.0.1:1234".parse().unwrap());
        assert_eq!(handshake_line(&tcp, None), "1|6|tcp|127.0.0.1:1234|grpc|");
    }
}
