//! Revisions as local processes: the app command with `{port}`, `{version}`
//! and `{color}` filled in, a free loopback port each, and health polling.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use tokio::process::{Child, Command};

use super::proxy::HttpClient;

/// A free loopback port (bound and released; the process binds it right after).
pub fn free_port() -> std::io::Result<u16> {
    let listener = std::net::TcpListener::bind(("127.0.0.1", 0))?;
    Ok(listener.local_addr()?.port())
}

/// The image tag, which the demo app reports as its version (`repo/app:1.2.3` → `1.2.3`).
pub fn version_of(image: &str) -> String {
    let last = image.rsplit('/').next().unwrap_or(image);
    match last.split_once(':') {
        Some((_, tag)) if !tag.is_empty() => tag.to_string(),
        _ => "latest".to_string(),
    }
}

/// Starts `command` (first word the program) with placeholders replaced; its
/// output goes to `log`.
pub fn spawn(
    command: &[String],
    port: u16,
    version: &str,
    color: &str,
    log: &Path,
) -> std::io::Result<Child> {
    let fill = |s: &String| {
        s.replace("{port}", &port.to_string())
            .replace("{version}", version)
            .replace("{color}", color)
    };
    let words: Vec<String> = command.iter().map(fill).collect();
    let Some((program, args)) = words.split_first() else {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "the app command is empty",
        ));
    };
    let out = std::fs::File::create(log)?;
    let err = out.try_clone()?;
    Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::from(out))
        .stderr(Stdio::from(err))
        .kill_on_drop(true)
        .spawn()
}

/// `Some(true)` for a 200 from the health path, `Some(false)` for another
/// answer, `None` when nothing answers yet.
pub async fn probe(client: &HttpClient, port: u16, path: &str) -> Option<bool> {
    let req = Request::get(format!("http://127.0.0.1:{port}{path}"))
        .body(Body::empty())
        .ok()?;
    match tokio::time::timeout(Duration::from_millis(500), client.request(req)).await {
        Ok(Ok(response)) => Some(response.status() == StatusCode::OK),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::version_of;

    #[test]
    fn versions_come_from_image_tags() {
        assert_eq!(version_of("agog/orders:1.2.3"), "1.2.3");
        assert_eq!(version_of("registry:5000/agog/orders:v2"), "v2");
        assert_eq!(version_of("agog/orders"), "latest");
    }
}
