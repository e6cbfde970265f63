//! HTTPS probes: verified against the web PKI roots plus a CA file.

use std::time::Duration;

use super::test_server::TlsServer;
use super::trust::{Trust, TrustError};
use super::Http;

const HEALTHY: &str = r#"{"status":"healthy","version":"1.3.0"}"#;

#[tokio::test]
async fn https_answers_are_read_when_the_ca_file_trusts_the_certificate() {
    let server = TlsServer::start(HEALTHY).await;
    let dir = tempfile::tempdir().unwrap();
    let http = Http::with_ca_file(&server.write_ca(dir.path())).unwrap();
    for host in [
        server.url.clone(),
        server.url.replace("127.0.0.1", "localhost"),
    ] {
        let reply = http
            .request(
                "GET",
                &format!("{host}/api/health"),
                Duration::from_secs(10),
            )
            .await
            .unwrap();
        assert_eq!(
            (reply.status, reply.body.as_str()),
            (200, HEALTHY),
            "{host}"
        );
    }
}

#[tokio::test]
async fn an_untrusted_certificate_says_to_set_ca_certificate_file() {
    let server = TlsServer::start(HEALTHY).await;
    let err = Http::new()
        .request(
            "GET",
            &format!("{}/api/health", server.url),
            Duration::from_secs(10),
        )
        .await
        .unwrap_err();
    assert!(
        err.starts_with("the certificate of 127.0.0.1 is not trusted")
            && err.ends_with("set ca_certificate_file to a PEM file holding its CA"),
        "{err}"
    );
}

#[tokio::test]
async fn a_ca_file_of_another_ca_is_named_in_the_error() {
    let server = TlsServer::start(HEALTHY).await;
    let other = TlsServer::start(HEALTHY).await;
    let dir = tempfile::tempdir().unwrap();
    let ca = other.write_ca(dir.path());
    let err = Http::with_ca_file(&ca)
        .unwrap()
        .request("GET", &server.url, Duration::from_secs(10))
        .await
        .unwrap_err();
    assert!(err.contains("not trusted"), "{err}");
    assert!(err.contains(&ca.display().to_string()), "{err}");
}

#[test]
fn a_missing_ca_file_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nowhere.pem");
    let err = Trust::load(Some(&path)).unwrap_err();
    assert!(matches!(err, TrustError::Read { .. }), "{err}");
    assert!(
        err.to_string().starts_with(&format!(
            "cannot read the CA certificate file {}",
            path.display()
        )),
        "{err}"
    );
}

#[test]
fn a_ca_file_that_is_not_pem_is_named() {
    let dir = tempfile::tempdir().unwrap();
    for (name, content) in [
        ("empty.pem", "".to_string()),
        ("key.pem", "just some text\n".to_string()),
        (
            "broken.pem",
            "-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n".to_string(),
        ),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, content).unwrap();
        let err = Trust::load(Some(&path)).unwrap_err();
        assert!(matches!(err, TrustError::NotPem { .. }), "{name}: {err}");
        assert!(
            err.to_string().contains(&path.display().to_string())
                && err
                    .to_string()
                    .contains("is not a PEM bundle of certificates"),
            "{name}: {err}"
        );
    }
}
