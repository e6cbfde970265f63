//! The page at `/` and its event stream, over HTTP: read-only without the token, the
//! token nowhere in what it serves, cross-site writes refused, a switch streamed at once
//! (issue 16 items 2 and 3). Headless Chromium watches them during real releases in
//! `tests/acceptance/tests/environment/page_release.rs`.

mod common;

use std::time::{Duration, Instant};

use bluegreen_local::api::Color;
use common::Daemon;
use http_body_util::{BodyExt, Empty, Full};
use hyper::body::Bytes;

async fn request(
    d: &Daemon,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, hyper::HeaderMap, String) {
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build(hyper_util::client::legacy::connect::HttpConnector::new());
    let mut b = hyper::Request::builder()
        .method(method)
        .uri(format!("{}{path}", d.endpoint()));
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    let req = b
        .body(Full::new(Bytes::from(body.to_owned())))
        .expect("request");
    let resp = tokio::time::timeout(Duration::from_secs(10), client.request(req))
        .await
        .expect("answered within 10 s")
        .expect("response");
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let bytes = resp.into_body().collect().await.expect("body").to_bytes();
    (
        status,
        headers,
        String::from_utf8_lossy(&bytes).into_owned(),
    )
}

fn token(d: &Daemon) -> String {
    std::fs::read_to_string(d.state_dir().join("token"))
        .expect("token")
        .trim()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_is_read_only_without_the_token_and_never_holds_it() {
    let d = Daemon::start().await;
    let port = d.define("web", &[]).await;
    d.deploy("web", Color::Blue, "1.0.0").await;
    d.deploy("web", Color::Green, "2.0.0").await;
    d.route("web", Color::Blue).await;
    let http = common::http();
    for _ in 0..20 {
        let s = common::get(&http, &format!("http://127.0.0.1:{port}/api/version"), &[]).await;
        assert_eq!(s.status, 200, "{s:?}");
    }
    let (status, headers, page) = request(&d, "GET", "/", &[], "").await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("data-env=\"web\" data-live=\"blue\" data-live-version=\"1.0.0\""));
    assert!(
        page.contains(
            "<span class=\"label\">idle</span> <b>green</b> <span class=\"version\">2.0.0</span>"
        ),
        "{page}"
    );
    assert!(
        page.contains("<button class=\"switch\" disabled data-env=\"web\" data-to=\"green\""),
        "one switch button for the idle colour, disabled until a token is entered: {page}"
    );
    assert!(page.contains("href=\"/page.css\"") && page.contains("src=\"/page.js\""));
    assert!(page.contains("requests/s over the last 15 min"), "{page}");
    // Each colour's p95 over 15 minutes beside its requests: blue served, green did not.
    let row = |color: &str| {
        let start = page
            .find(&format!("<tr data-color=\"{color}\">"))
            .unwrap_or_else(|| panic!("no {color} row in {page}"));
        let end = start + page[start..].find("</tr>").expect("row end");
        page[start..end].to_owned()
    };
    let blue = row("blue");
    let peak = blue
        .split("<title>p95 latency over the last 15 min, peak ")
        .nth(1)
        .and_then(|t| t.split(" ms</title>").next())
        .and_then(|ms| ms.parse::<f64>().ok())
        .unwrap_or_else(|| panic!("no p95 peak in {blue}"));
    assert!(peak > 0.0 && peak < 1000.0, "{peak} ms for a local echo");
    let latency = blue
        .split("<svg class=\"chart latency\"")
        .nth(1)
        .unwrap_or_else(|| panic!("no p95 chart in {blue}"));
    assert!(
        latency.contains("<circle") || latency.contains("<polyline"),
        "the window (or two) with requests is drawn: {latency}"
    );
    assert!(
        row("green").contains("<title>p95 latency over the last 15 min: no requests</title>"),
        "{}",
        row("green")
    );
    let csp = headers
        .get("content-security-policy")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    let t = token(&d);
    assert!(!page.contains(&t), "the token is not in the page");
    let (status, headers, js) = request(&d, "GET", "/page.js", &[], "").await;
    assert_eq!(status, 200);
    assert!(headers["content-type"]
        .to_str()
        .unwrap_or("")
        .starts_with("text/javascript"));
    assert!(js.contains("sessionStorage") && js.contains("\"Authorization\": \"Bearer \""));
    assert!(
        !js.contains("localStorage") && !js.contains("?token"),
        "{js}"
    );
    let (status, _, body) = request(&d, "GET", "/", &[("host", "rebound.example:7480")], "").await;
    assert_eq!(
        status, 403,
        "a DNS name rebound to the daemon cannot read the page"
    );
    assert!(
        body.contains("host_not_allowed") && body.contains("by address"),
        "{body}"
    );
    let (status, _, css) = request(&d, "GET", "/page.css", &[], "").await;
    assert_eq!(status, 200);
    assert!(css.contains(".rate.crit"));
    // The read-only page opens no write: the routing API still wants the token.
    let (status, _, _) = request(
        &d,
        "PUT",
        "/v1/environments/web/routing",
        &[],
        r#"{"primary":"green"}"#,
    )
    .await;
    assert_eq!(status, 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cross_site_writes_are_refused_even_with_the_token() {
    let d = Daemon::start().await;
    d.define("web", &[]).await;
    d.deploy("web", Color::Blue, "1.0.0").await;
    d.deploy("web", Color::Green, "2.0.0").await;
    d.route("web", Color::Blue).await;
    let bearer = format!("Bearer {}", token(&d));
    let host = d.endpoint().trim_start_matches("http://").to_owned();
    let own = d.endpoint();
    let switch = r#"{"primary":"green","actor":"page:test"}"#;
    let path = "/v1/environments/web/routing";
    let (status, _, body) = request(
        &d,
        "PUT",
        path,
        &[
            ("authorization", &bearer),
            ("origin", "http://evil.example"),
        ],
        switch,
    )
    .await;
    assert_eq!(status, 403, "{body}");
    assert!(
        body.contains("cross_site") && body.contains("evil.example"),
        "{body}"
    );
    let (status, _, body) = request(
        &d,
        "POST",
        "/v1/environments/web/colors/green/stop",
        &[("authorization", &bearer), ("sec-fetch-site", "cross-site")],
        "",
    )
    .await;
    assert_eq!(status, 403, "{body}");
    let (status, _, _) = request(
        &d,
        "PUT",
        path,
        &[("origin", "http://evil.example")],
        switch,
    )
    .await;
    assert_eq!(status, 401, "no token: 401 whatever the origin");
    assert_eq!(
        d.client().routing("web").await.expect("routing").primary,
        Some(Color::Blue),
        "nothing refused changed the routing"
    );
    let (status, _, body) = request(
        &d,
        "PUT",
        path,
        &[
            ("authorization", &bearer),
            ("origin", &own),
            ("host", &host),
        ],
        switch,
    )
    .await;
    assert_eq!(status, 200, "the page's own origin may switch: {body}");
    let audit = d.client().audit(Some("web"), None).await.expect("audit");
    let last = audit.last().expect("an entry");
    assert_eq!(last.actor, "page:test", "{last:?}");
}

/// Reads event-stream bytes until `needle` appears or `within` passes.
async fn read_until(
    body: &mut hyper::body::Incoming,
    seen: &mut String,
    needle: &str,
    within: Duration,
) -> bool {
    let deadline = tokio::time::Instant::now() + within;
    while !seen.contains(needle) {
        match tokio::time::timeout_at(deadline, body.frame()).await {
            Ok(Some(Ok(frame))) => {
                if let Ok(data) = frame.into_data() {
                    seen.push_str(&String::from_utf8_lossy(&data));
                }
            }
            _ => return false,
        }
    }
    true
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_event_stream_carries_a_switch_within_a_second_and_is_bounded() {
    let d = Daemon::start().await;
    d.define("web", &[]).await;
    d.deploy("web", Color::Blue, "1.0.0").await;
    d.deploy("web", Color::Green, "2.0.0").await;
    d.route("web", Color::Blue).await;
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build(hyper_util::client::legacy::connect::HttpConnector::new());
    let open = || {
        let req = hyper::Request::get(format!("{}/events", d.endpoint()))
            .body(Empty::<Bytes>::new())
            .expect("request");
        client.request(req)
    };
    let resp = open().await.expect("stream");
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "text/event-stream");
    let mut body = resp.into_body();
    let mut seen = String::new();
    assert!(
        read_until(
            &mut body,
            &mut seen,
            "data-live=\"blue\"",
            Duration::from_secs(5)
        )
        .await,
        "a first frame at once: {seen}"
    );
    assert!(seen.contains("event: live"), "{seen}");
    let switched = Instant::now();
    d.route("web", Color::Green).await;
    seen.clear();
    assert!(
        read_until(
            &mut body,
            &mut seen,
            "data-live=\"green\"",
            Duration::from_secs(1)
        )
        .await,
        "the switch within 1 s: {seen}"
    );
    println!("switch streamed after {:?}", switched.elapsed());
    // The bound: 63 more streams are served, the 65th is refused.
    let mut held = Vec::new();
    for _ in 1..bluegreen_local::page::MAX_STREAMS {
        let resp = open().await.expect("stream");
        assert_eq!(resp.status(), 200);
        held.push(resp);
    }
    let over = open().await.expect("answer");
    assert_eq!(over.status(), 503);
    drop(held);
    drop(body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_open_page_outlives_the_admin_idle_timeout() {
    let d = Daemon::start_configured(|c| {
        c.env("BLUEGREEN_ADMIN_IDLE_TIMEOUT", "1");
    })
    .await;
    d.define("web", &[]).await;
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build(hyper_util::client::legacy::connect::HttpConnector::new());
    let req = hyper::Request::get(format!("{}/events", d.endpoint()))
        .body(Empty::<Bytes>::new())
        .expect("request");
    let mut body = client.request(req).await.expect("stream").into_body();
    let mut seen = String::new();
    assert!(
        read_until(
            &mut body,
            &mut seen,
            "data-env=\"web\"",
            Duration::from_secs(5)
        )
        .await
    );
    // Three idle timeouts later the same stream still brings frames.
    tokio::time::sleep(Duration::from_secs(3)).await;
    seen.clear();
    assert!(
        read_until(
            &mut body,
            &mut seen,
            "data-env=\"web\"",
            Duration::from_secs(2)
        )
        .await,
        "the stream was cut: {seen:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_open_page_does_not_hold_the_daemon_s_exit() {
    let mut d = Daemon::start().await;
    d.define("web", &[]).await;
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build(hyper_util::client::legacy::connect::HttpConnector::new());
    let req = hyper::Request::get(format!("{}/events", d.endpoint()))
        .body(Empty::<Bytes>::new())
        .expect("request");
    let mut body = client.request(req).await.expect("stream").into_body();
    let mut seen = String::new();
    assert!(
        read_until(
            &mut body,
            &mut seen,
            "data-env=\"web\"",
            Duration::from_secs(5)
        )
        .await
    );
    let start = Instant::now();
    tokio::task::block_in_place(|| d.terminate());
    let took = start.elapsed();
    assert!(
        took < Duration::from_secs(5),
        "SIGTERM took {took:?} with a page open:\n{}",
        d.log()
    );
}
