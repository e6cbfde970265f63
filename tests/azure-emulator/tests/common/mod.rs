//! Test helpers: an emulator on free loopback ports and a small HTTPS client
//! that trusts only the emulator's CA file (so the TLS setup is tested too).

#![allow(dead_code)]

use std::sync::Arc;

use bluegreen_azure_emulator::{Emulator, EmulatorConfig, EmulatorInfo};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use serde_json::Value;

/// An emulator with its temp state directory.
pub struct TestEmulator {
    pub emulator: Emulator,
    pub info: EmulatorInfo,
    _dir: tempfile::TempDir,
}

/// Starts an emulator with short operations.
pub async fn start() -> TestEmulator {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = EmulatorConfig::loopback(dir.path());
    config.settings.lro_ms = 200;
    let emulator = Emulator::start(config).await.expect("emulator starts");
    let info = emulator.info().clone();
    TestEmulator {
        emulator,
        info,
        _dir: dir,
    }
}

/// A response: status, headers (lower-case names) and body as JSON (Null when empty).
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Value,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }
}

/// One HTTPS request to the emulator, trusting only its CA.
pub async fn https(
    info: &EmulatorInfo,
    method: &str,
    path_and_query: &str,
    token: Option<&str>,
    body: Option<(&str, Vec<u8>)>,
) -> Answer {
    let pem = std::fs::read(&info.ca_file).expect("CA file");
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_slice(&pem).expect("CA PEM"))
        .expect("CA accepted");
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("protocols")
        .with_root_certificates(roots)
        .with_no_client_auth();
    let host = info.base_url.trim_start_matches("https://").to_string();
    let tcp = tokio::net::TcpStream::connect(&host)
        .await
        .expect("connect");
    let tls = tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(ServerName::try_from("127.0.0.1").expect("name"), tcp)
        .await
        .expect("TLS handshake with the emulator's CA");
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
        .await
        .expect("http1");
    tokio::spawn(conn);
    let mut req = hyper::Request::builder()
        .method(method)
        .uri(path_and_query)
        .header("host", &host);
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    let bytes = match body {
        Some((ct, b)) => {
            req = req.header("content-type", ct);
            b
        }
        None => Vec::new(),
    };
    let response = sender
        .send_request(req.body(Full::new(Bytes::from(bytes))).expect("request"))
        .await
        .expect("response");
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap_or("").to_string()))
        .collect();
    let raw = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    let body = if raw.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&raw).unwrap_or(Value::String(String::from_utf8_lossy(&raw).into()))
    };
    Answer {
        status,
        headers,
        body,
    }
}

/// A JSON ARM call.
pub async fn arm(
    info: &EmulatorInfo,
    method: &str,
    url: &str,
    token: &str,
    body: Option<Value>,
) -> Answer {
    let body = body.map(|b| ("application/json", serde_json::to_vec(&b).expect("json")));
    https(info, method, url, Some(token), body).await
}

/// A client-credentials token.
pub async fn token(info: &EmulatorInfo) -> String {
    let form = format!(
        "grant_type=client_credentials&client_id={}&client_secret={}&scope={}",
        info.client_id,
        info.client_secret,
        urlencode(&info.arm_scope)
    );
    let answer = https(
        info,
        "POST",
        &format!("/{}/oauth2/v2.0/token", info.tenant_id),
        None,
        Some(("application/x-www-form-urlencoded", form.into_bytes())),
    )
    .await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    answer.body["access_token"]
        .as_str()
        .expect("token")
        .to_string()
}

pub fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A call to the plain-HTTP admin API.
pub async fn admin(
    info: &EmulatorInfo,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let host = info.admin_url.trim_start_matches("http://").to_string();
    let tcp = tokio::net::TcpStream::connect(&host)
        .await
        .expect("connect admin");
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp))
        .await
        .expect("http1");
    tokio::spawn(conn);
    let bytes = body
        .map(|b| serde_json::to_vec(&b).expect("json"))
        .unwrap_or_default();
    let req = hyper::Request::builder()
        .method(method)
        .uri(path)
        .header("host", &host)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(bytes)))
        .expect("request");
    let response = sender.send_request(req).await.expect("admin response");
    let status = response.status().as_u16();
    let raw = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    let body = serde_json::from_slice(&raw).unwrap_or(Value::Null);
    (status, body)
}

/// Polls an `Azure-AsyncOperation` URL until it leaves InProgress (bounded).
pub async fn wait_operation(info: &EmulatorInfo, url: &str, token: &str) -> Value {
    let path = url.trim_start_matches(&info.base_url).to_string();
    for _ in 0..100 {
        let answer = arm(info, "GET", &path, token, None).await;
        assert_eq!(answer.status, 200, "{:?}", answer.body);
        if answer.body["status"] != "InProgress" {
            return answer.body;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("operation {url} still InProgress after 10 s");
}

/// Starts an emulator whose revisions run `agog-demo-app` (built by
/// `make build` / `cargo build -p agog-demo-app`), with edge delays `edge_ms`.
pub async fn start_with_runtime(edge_ms: Vec<u64>) -> TestEmulator {
    let exe = std::env::current_exe().expect("test binary path");
    let app = exe
        .parent()
        .and_then(|deps| deps.parent())
        .map(|debug| debug.join("agog-demo-app"))
        .expect("target dir");
    assert!(
        app.exists(),
        "{} is missing: run `cargo build -p agog-demo-app` (or `make build`) first",
        app.display()
    );
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = EmulatorConfig::loopback(dir.path());
    config.settings.lro_ms = 200;
    config.settings.edge_propagation_ms = edge_ms;
    config.runtime = Some(bluegreen_azure_emulator::runtime::RuntimeConfig {
        command: [
            app.display().to_string(),
            "--port".into(),
            "{port}".into(),
            "--version".into(),
            "{version}".into(),
            "--color".into(),
            "{color}".into(),
        ]
        .to_vec(),
        health_path: "/api/health".into(),
        edge_locations: 2,
        log_dir: dir.path().join("revisions"),
    });
    let emulator = Emulator::start(config).await.expect("emulator starts");
    let info = emulator.info().clone();
    TestEmulator {
        emulator,
        info,
        _dir: dir,
    }
}

/// A plain HTTP GET of `url` with extra headers; `(status, JSON body or Null)`.
pub async fn get(url: &str, headers: &[(&str, &str)]) -> (u16, Value) {
    let host = url
        .trim_start_matches("http://")
        .split('/')
        .next()
        .unwrap_or("")
        .to_string();
    let path = url
        .trim_start_matches("http://")
        .find('/')
        .map(|i| url.trim_start_matches("http://")[i..].to_string())
        .unwrap_or_else(|| "/".to_string());
    let Ok(tcp) = tokio::net::TcpStream::connect(&host).await else {
        return (0, Value::Null);
    };
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp))
        .await
        .expect("http1");
    tokio::spawn(conn);
    let mut req = hyper::Request::builder()
        .method("GET")
        .uri(path)
        .header("host", &host);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let response = sender
        .send_request(req.body(Full::new(Bytes::new())).expect("request"))
        .await
        .expect("response");
    let status = response.status().as_u16();
    let raw = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    (status, serde_json::from_slice(&raw).unwrap_or(Value::Null))
}
