//! The page in Debian's headless Chromium, driven through chromedriver's WebDriver HTTP
//! API (plain JSON over HTTP, no client crate): two colours of the demo app behind the
//! front door, a release reported as the engine reports it (validating → watching →
//! done), then a faulty one rolled back with its measured rate, a switch through the
//! API seen on the page within 1 s, and the emergency switch from the page with the
//! token entered in its form (issue 16 acceptance).

mod common;

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bluegreen_local::api::{Color, ReleaseEvent, ReleasePhase, WatchFigures};
use common::Daemon;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use serde_json::{json, Value};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// A chromedriver process and one headless Chromium session.
struct Browser {
    driver: Child,
    base: String,
    session: String,
    _profile: tempfile::TempDir,
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Killing chromedriver alone leaves its Chromium running: end the session first,
        // which makes chromedriver quit the browser (a blocking call: Drop cannot await).
        if !self.session.is_empty() {
            end_session(&self.base, &self.session);
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// `DELETE /session/{id}` over a plain socket, bounded to 10 s; errors are ignored (the
/// driver is killed next either way).
fn end_session(base: &str, session: &str) {
    use std::io::{Read, Write};
    let Some(addr) = base.strip_prefix("http://") else {
        return;
    };
    let Ok(mut stream) = std::net::TcpStream::connect(addr) else {
        return;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let _ = stream.set_write_timeout(Some(Duration::from_secs(10)));
    let request = format!(
        "DELETE /session/{session} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    if stream.write_all(request.as_bytes()).is_ok() {
        let mut answer = Vec::new();
        let _ = stream.read_to_end(&mut answer);
    }
}

async fn http_json(method: &str, url: &str, body: Option<Value>) -> Value {
    try_http_json(method, url, body)
        .await
        .unwrap_or_else(|e| panic!("{method} {url}: {e}"))
}

async fn try_http_json(method: &str, url: &str, body: Option<Value>) -> Result<Value, String> {
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build(hyper_util::client::legacy::connect::HttpConnector::new());
    let req = hyper::Request::builder()
        .method(method)
        .uri(url)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(
            body.map(|b| b.to_string()).unwrap_or_default(),
        )))
        .expect("request");
    let resp = tokio::time::timeout(Duration::from_secs(60), client.request(req))
        .await
        .map_err(|_| "no answer within 60 s".to_owned())?
        .map_err(|e| e.to_string())?;
    let bytes = resp
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .to_bytes();
    Ok(serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

impl Browser {
    async fn start() -> Browser {
        for bin in [CHROMIUM, CHROMEDRIVER] {
            assert!(
                std::path::Path::new(bin).exists(),
                "{bin} is missing: apt-get install chromium chromium-driver"
            );
        }
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawning chromedriver: apt-get install chromium chromium-driver");
        let base = format!("http://127.0.0.1:{port}");
        let profile = tempfile::tempdir().expect("profile dir");
        let mut browser = Browser {
            driver,
            base,
            session: String::new(),
            _profile: profile,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let ready = tokio::time::timeout(
                Duration::from_secs(2),
                try_http_json("GET", &format!("{}/status", browser.base), None),
            )
            .await;
            if matches!(&ready, Ok(Ok(v)) if v["value"]["ready"] == true) {
                break;
            }
            assert!(Instant::now() < deadline, "chromedriver did not start");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let args = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            "--window-size=1400,1000",
        ]
        .iter()
        .map(|a| a.to_string())
        .chain([format!(
            "--user-data-dir={}",
            browser._profile.path().display()
        )])
        .collect::<Vec<_>>();
        let created = http_json(
            "POST",
            &format!("{}/session", browser.base),
            Some(json!({"capabilities": {"alwaysMatch": {
                "browserName": "chrome",
                "goog:chromeOptions": {"binary": CHROMIUM, "args": args}
            }}})),
        )
        .await;
        browser.session = created["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no WebDriver session: {created}"))
            .to_owned();
        browser
    }

    async fn command(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}/session/{}{path}", self.base, self.session);
        let answer = http_json(method, &url, body).await;
        assert!(
            answer["value"].get("error").is_none(),
            "{method} {path}: {answer}"
        );
        answer["value"].clone()
    }

    async fn open(&self, url: &str) {
        self.command("POST", "/url", Some(json!({ "url": url })))
            .await;
    }

    async fn js(&self, script: &str) -> Value {
        self.command(
            "POST",
            "/execute/sync",
            Some(json!({ "script": script, "args": [] })),
        )
        .await
    }

    /// Polls `script` (returning a boolean) until true, at most `within`; answers how
    /// long it took.
    async fn wait_for(&self, what: &str, script: &str, within: Duration) -> Duration {
        let start = Instant::now();
        loop {
            if self.js(script).await == Value::Bool(true) {
                return start.elapsed();
            }
            if start.elapsed() > within {
                let card = self
                    .js("return document.getElementById('live').innerText")
                    .await;
                panic!("{what}: not within {within:?}; the page shows:\n{card}");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn screenshot(&self, name: &str) -> std::path::PathBuf {
        use base64_free::decode;
        let png = self.command("GET", "/screenshot", None).await;
        let bytes = decode(png.as_str().expect("base64 PNG"));
        let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("page-browser");
        std::fs::create_dir_all(&dir).expect("artifact dir");
        let path = dir.join(name);
        std::fs::write(&path, bytes).expect("screenshot");
        path
    }
}

/// Standard base64 decoding, enough for a screenshot (no crate for 20 lines).
mod base64_free {
    pub fn decode(s: &str) -> Vec<u8> {
        let value = |c: u8| match c {
            b'A'..=b'Z' => Some(c - b'A'),
            b'a'..=b'z' => Some(c - b'a' + 26),
            b'0'..=b'9' => Some(c - b'0' + 52),
            b'+' => Some(62),
            b'/' => Some(63),
            _ => None,
        };
        let (mut out, mut acc, mut bits) = (Vec::with_capacity(s.len() * 3 / 4), 0u32, 0);
        for v in s.bytes().filter_map(value) {
            acc = (acc << 6) | u32::from(v);
            bits += 6;
            if bits >= 8 {
                bits -= 8;
                out.push((acc >> bits) as u8);
            }
        }
        out
    }
}

fn event(id: &str, version: &str, phase: ReleasePhase, step: Option<&str>) -> ReleaseEvent {
    ReleaseEvent {
        release_id: id.into(),
        version: version.into(),
        phase,
        color: None,
        previous_color: None,
        previous_version: None,
        step: step.map(str::to_owned),
        figures: None,
        reason: None,
        actor: Some("terraform".into()),
    }
}

fn figures(requests: u64, errors: u64) -> WatchFigures {
    WatchFigures {
        elapsed_ms: 2_000,
        window_ms: 10_000,
        requests,
        errors,
        error_rate: errors as f64 / requests as f64,
        max_error_rate: 0.01,
        latency_ms: Some(3.5),
        latency_statistic: Some("p95".into()),
    }
}

fn phase_is(env: &str, phase: &str) -> String {
    format!("const r = document.querySelector('#env-{env} .release'); return !!r && r.dataset.phase === '{phase}';")
}

fn live_is(env: &str, color: &str) -> String {
    format!("const c = document.getElementById('env-{env}'); return !!c && c.dataset.live === '{color}';")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_release_and_a_rollback_on_the_live_page_in_chromium() {
    let browser = Browser::start().await;
    let d = Daemon::start().await;
    let front = d.define("shop", &[]).await;
    d.deploy("shop", Color::Blue, "1.0.0").await;
    d.route("shop", Color::Blue).await;
    let c = d.client();
    // A little real traffic, so the figures and the chart have something.
    let http = common::http();
    for _ in 0..20 {
        let seen = common::get(&http, &format!("http://127.0.0.1:{front}/"), &[]).await;
        assert_eq!(seen.status, 200);
    }

    browser.open(&format!("{}/", d.endpoint())).await;
    browser
        .wait_for(
            "the stream connects",
            "return document.getElementById('stream').textContent === 'live';",
            Duration::from_secs(5),
        )
        .await;
    let text = browser.js("return document.body.innerText").await;
    let text = text.as_str().unwrap_or("");
    assert!(text.contains("shop") && text.contains("1.0.0"), "{text}");
    assert!(text.contains("No release reported yet."), "{text}");

    // Release 2.0.0 on green, reported as the engine reports it.
    let id = "shop-2.0.0-1";
    let mut first = event(
        id,
        "2.0.0",
        ReleasePhase::Deploying,
        Some("deploying 2.0.0 to green"),
    );
    first.color = Some(Color::Green);
    first.previous_color = Some(Color::Blue);
    first.previous_version = Some("1.0.0".into());
    c.report_release("shop", &first).await.expect("report");
    d.deploy("shop", Color::Green, "2.0.0").await;
    for step in [
        "health gate passed on green",
        "smoke test \"home\" passed: 200",
    ] {
        let e = event(id, "2.0.0", ReleasePhase::Validating, Some(step));
        c.report_release("shop", &e).await.expect("report");
    }
    browser
        .wait_for(
            "validating",
            &phase_is("shop", "validating"),
            Duration::from_secs(2),
        )
        .await;
    let steps = browser
        .js("return document.querySelector('#env-shop .steps').innerText")
        .await;
    assert!(
        steps
            .as_str()
            .unwrap_or("")
            .contains("smoke test \"home\" passed"),
        "{steps}"
    );
    let e = event(
        id,
        "2.0.0",
        ReleasePhase::Switching,
        Some("front door switched to green"),
    );
    c.report_release("shop", &e).await.expect("report");
    let switched = Instant::now();
    d.route("shop", Color::Green).await;
    browser
        .wait_for(
            "the switch",
            &live_is("shop", "green"),
            Duration::from_secs(1),
        )
        .await;
    let seen_after = switched.elapsed();
    println!("switch through the API visible in the DOM after {seen_after:?}");
    assert!(seen_after < Duration::from_secs(1), "{seen_after:?}");
    let mut watching = event(id, "2.0.0", ReleasePhase::Watching, None);
    watching.figures = Some(figures(400, 1));
    c.report_release("shop", &watching).await.expect("report");
    browser
        .wait_for(
            "watching",
            &phase_is("shop", "watching"),
            Duration::from_secs(2),
        )
        .await;
    let figures_text = browser
        .js("return document.querySelector('#env-shop .figures').innerText")
        .await;
    assert!(
        figures_text
            .as_str()
            .unwrap_or("")
            .contains("0.25% errors (1 of 400)"),
        "{figures_text}"
    );
    let mut done = event(id, "2.0.0", ReleasePhase::Done, Some("2.0.0 live on green"));
    done.reason = Some("released 2.0.0 on green".into());
    c.report_release("shop", &done).await.expect("report");
    browser
        .wait_for("done", &phase_is("shop", "done"), Duration::from_secs(2))
        .await;

    // A faulty 2.1.0 on blue, rolled back by the watch.
    let id = "shop-2.1.0-1";
    let mut first = event(
        id,
        "2.1.0",
        ReleasePhase::Deploying,
        Some("deploying 2.1.0 to blue"),
    );
    first.color = Some(Color::Blue);
    first.previous_color = Some(Color::Green);
    first.previous_version = Some("2.0.0".into());
    c.report_release("shop", &first).await.expect("report");
    d.deploy("shop", Color::Blue, "2.1.0").await;
    for (phase, step) in [
        (ReleasePhase::Validating, "health gate passed on blue"),
        (ReleasePhase::Switching, "front door switched to blue"),
    ] {
        c.report_release("shop", &event(id, "2.1.0", phase, Some(step)))
            .await
            .expect("report");
    }
    d.route("shop", Color::Blue).await;
    let mut breach = event(id, "2.1.0", ReleasePhase::Watching, None);
    breach.figures = Some(figures(80, 20));
    c.report_release("shop", &breach).await.expect("report");
    d.route("shop", Color::Green).await;
    let mut end = event(
        id,
        "2.1.0",
        ReleasePhase::RolledBack,
        Some("rolled back to green: error rate 25.00% (20 of 80 requests answered 5xx)"),
    );
    end.reason = Some(
        "post-switch watch: error rate 25.00% (20 of 80 requests answered 5xx) is above max_error_rate 1.00%"
            .into(),
    );
    c.report_release("shop", &end).await.expect("report");
    browser
        .wait_for(
            "rolled back",
            &phase_is("shop", "rolled_back"),
            Duration::from_secs(2),
        )
        .await;
    browser
        .wait_for(
            "back on green",
            &live_is("shop", "green"),
            Duration::from_secs(1),
        )
        .await;
    let release = browser
        .js("return document.querySelector('#env-shop .release').innerText")
        .await;
    let release = release.as_str().unwrap_or("");
    assert!(
        release.contains("rolled_back")
            && release.contains("25.00% errors (20 of 80)")
            && release.contains("is above max_error_rate 1.00%"),
        "{release}"
    );
    assert_eq!(
        browser
            .js("return document.querySelector('#env-shop .figures .rate').className")
            .await,
        json!("rate crit")
    );
    let timeline = browser
        .js("return document.querySelector('#env-shop .timeline').textContent")
        .await;
    assert!(
        timeline.as_str().unwrap_or("").contains("2.0.0 done"),
        "{timeline}"
    );
    let shot = browser.screenshot("rolled-back.png").await;
    println!("screenshot: {}", shot.display());
    assert!(std::fs::metadata(&shot).expect("screenshot").len() > 10_000);

    // Read-only without the token; the emergency switch once it is entered.
    assert_eq!(
        browser
            .js("return document.querySelector('#env-shop button.switch').disabled")
            .await,
        json!(true)
    );
    let token = std::fs::read_to_string(d.state_dir().join("token")).expect("token");
    let token = token.trim();
    browser
        .js(&format!(
            "document.getElementById('token').value = '{token}';
             document.getElementById('operator').value = 'oncall';
             document.querySelector('#token-form button').click();
             window.confirm = (q) => {{ window.lastConfirm = q; return true; }};
             window.alert = (m) => {{ window.lastAlert = m; }};"
        ))
        .await;
    browser
        .wait_for(
            "the switch button armed",
            "const b = document.querySelector('#env-shop button.switch'); return !!b && !b.disabled;",
            Duration::from_secs(2),
        )
        .await;
    browser
        .js("document.querySelector('#env-shop button.switch').click()")
        .await;
    browser
        .wait_for(
            "the page's switch",
            &live_is("shop", "blue"),
            Duration::from_secs(2),
        )
        .await;
    assert_eq!(
        browser.js("return window.lastConfirm").await,
        json!("Switch shop: all traffic from green (2.0.0) to blue (2.1.0)?")
    );
    let last = c
        .audit(Some("shop"), None)
        .await
        .expect("audit")
        .pop()
        .expect("entry");
    assert_eq!(last.actor, "page:oncall", "{last:?}");
    assert_eq!(last.to_color, Some(Color::Blue), "{last:?}");
    let url = browser.command("GET", "/url", None).await;
    let html = browser
        .js("return document.documentElement.outerHTML")
        .await;
    assert!(
        !url.as_str().unwrap_or("").contains(token) && !html.as_str().unwrap_or("").contains(token),
        "the token is neither in the URL nor in the page"
    );
    assert!(!d.log().contains(token), "nor in the daemon's log");
}
