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

/// Whether `Host` names the daemon by address (`127.0.0.1:7480`, `[::1]:7480`) or as
/// `localhost`. A DNS name could be an attacker's, rebound to 127.0.0.1 so that a page
/// of theirs reads this one's answers as same-origin: the page and its stream, which
/// need no token, answer only to addresses and `localhost`.
pub fn host_is_address(headers: &HeaderMap) -> bool {
    let Some(host) = headers.get(header::HOST).and_then(|v| v.to_str().ok()) else {
        // HTTP/1.0 without Host: no browser.
        return true;
    };
    let name = match host.strip_prefix('[') {
        Some(v6) => {
            return v6
                .split(']')
                .next()
                .is_some_and(|a| a.parse::<std::net::Ipv6Addr>().is_ok())
        }
        None => host.rsplit_once(':').map_or(host, |(name, _)| name),
    };
    name.parse::<std::net::Ipv4Addr>().is_ok()
        || name.eq_ignore_ascii_case("localhost")
        || name.to_ascii_lowercase().ends_with(".localhost")
}

/// Refuses the tokenless page when reached by a DNS name (see [`host_is_address`]).
pub async fn page_by_address(req: Request, next: Next) -> Response {
    if !host_is_address(req.headers()) {
        return ApiError::new(
            StatusCode::FORBIDDEN,
            "host_not_allowed",
            "the page answers only when reached by address (http://127.0.0.1:PORT/) or as localhost, so a DNS name rebound to this daemon cannot read it: open it by address (an SSH tunnel keeps it), or have a proxy send `Host: 127.0.0.1:PORT`",
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

    #[test]
    fn the_page_answers_addresses_and_localhost_only() {
        for ok in [
            "127.0.0.1:7480",
            "[::1]:7480",
            "localhost:7480",
            "LOCALHOST",
            "app.localhost:1",
            "10.0.0.5",
        ] {
            let h = headers(&[("host", ok)]);
            assert!(host_is_address(&h), "{ok}");
        }
        for refused in [
            "evil.example:7480",
            "evil.example",
            "127.0.0.1.nip.io:7480",
            "[evil]:1",
        ] {
            let h = headers(&[("host", refused)]);
            assert!(!host_is_address(&h), "{refused}");
        }
        assert!(host_is_address(&HeaderMap::new()));
    }
}
