//! Cross-site protection of the write API. A browser page elsewhere cannot send the
//! bearer header cross-site without a CORS preflight the daemon never grants, but a
//! request that a browser marks as coming from another site is refused anyway, token
//! or not: defence in depth for the page's emergency switch (issue 16).

use axum::extract::Request;
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::ApiError;

/// Why a state-changing request is cross-site, if it is: an `Origin` other than the
/// daemon's own address (the `Host` it was reached at), or `Sec-Fetch-Site:
/// cross-site`. Clients other than browsers (the provider, the CLI, curl) send
/// neither.
pub fn cross_site(method: &Method, headers: &HeaderMap) -> Option<String> {
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return None;
    }
    let value = |name| headers.get(name).and_then(|v| v.to_str().ok());
    if value("sec-fetch-site") == Some("cross-site") {
        return Some("Sec-Fetch-Site: cross-site".into());
    }
    let origin = value(header::ORIGIN.as_str())?;
    let host = value(header::HOST.as_str()).unwrap_or("");
    let own = ["http://", "https://"]
        .iter()
        .any(|scheme| origin.strip_prefix(scheme) == Some(host));
    (!own || host.is_empty()).then(|| format!("Origin {origin} is not this daemon ({host})"))
}

/// Refuses cross-site state-changing requests with 403.
pub async fn same_origin_writes(req: Request, next: Next) -> Response {
    if let Some(why) = cross_site(req.method(), req.headers()) {
        return ApiError::new(
            StatusCode::FORBIDDEN,
            "cross_site",
            format!("refused a cross-site {} request ({why}): change routing from the daemon's own page, the CLI or the provider", req.method()),
        )
        .into_response();
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn only_foreign_browser_writes_are_cross_site() {
        let own = headers(&[
            ("host", "127.0.0.1:7480"),
            ("origin", "http://127.0.0.1:7480"),
        ]);
        assert_eq!(cross_site(&Method::PUT, &own), None);
        let cli = headers(&[("host", "127.0.0.1:7480")]);
        assert_eq!(cross_site(&Method::POST, &cli), None);
        let evil = headers(&[
            ("host", "127.0.0.1:7480"),
            ("origin", "http://evil.example"),
        ]);
        assert!(cross_site(&Method::PUT, &evil).is_some_and(|w| w.contains("evil.example")));
        assert_eq!(
            cross_site(&Method::GET, &evil),
            None,
            "reads are not writes"
        );
        let other_port = headers(&[
            ("host", "127.0.0.1:7480"),
            ("origin", "http://127.0.0.1:8080"),
        ]);
        assert!(cross_site(&Method::DELETE, &other_port).is_some());
        let fetch = headers(&[("host", "127.0.0.1:7480"), ("sec-fetch-site", "cross-site")]);
        assert!(cross_site(&Method::POST, &fetch).is_some());
        let null = headers(&[("host", "127.0.0.1:7480"), ("origin", "null")]);
        assert!(cross_site(&Method::POST, &null).is_some());
    }
}
