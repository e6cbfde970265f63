//! Debian's headless Chromium, driven through chromedriver's WebDriver HTTP API (plain
//! JSON over loopback HTTP with [`super::http`], no client crate), so a test can load
//! the daemon's page and read the DOM a person would see.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{json, Value as Json};

use super::http;
use super::local_platform::free_port;

/// Where Debian's `chromium` package puts the browser.
pub const CHROMIUM: &str = "/usr/bin/chromium";
/// Where Debian's `chromium-driver` package puts the driver.
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// Every WebDriver call answers within this, or the test fails (a page load included).
const CALL_TIMEOUT: Duration = Duration::from_secs(60);

/// A chromedriver process and one headless Chromium session; both end on drop.
pub struct Browser {
    driver: Child,
    base: String,
    session: String,
    _profile: tempfile::TempDir,
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Killing chromedriver alone leaves its Chromium running: ending the session
        // first makes chromedriver quit the browser. Errors are moot here.
        if !self.session.is_empty() {
            let url = format!("{}/session/{}", self.base, self.session);
            let _ = http::request("DELETE", &url, &[], None, Duration::from_secs(10));
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

fn call(method: &str, url: &str, body: Option<&Json>) -> Result<Json, String> {
    let text = body.map(Json::to_string);
    let reply = http::request(method, url, &[], text.as_deref(), CALL_TIMEOUT)?;
    reply.json()
}

impl Browser {
    /// Starts chromedriver on a free loopback port and opens a headless session with a
    /// fresh profile. Panics naming the packages to install when either binary is missing.
    pub fn start() -> Browser {
        for bin in [CHROMIUM, CHROMEDRIVER] {
            assert!(
                Path::new(bin).exists(),
                "{bin} is missing: apt-get install chromium chromium-driver"
            );
        }
        let port = free_port();
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawning chromedriver: apt-get install chromium chromium-driver");
        let mut browser = Browser {
            driver,
            base: format!("http://127.0.0.1:{port}"),
            session: String::new(),
            _profile: tempfile::tempdir().expect("a profile directory"),
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let status = http::get(&format!("{}/status", browser.base), Duration::from_secs(2))
                .and_then(|r| r.json());
            if matches!(&status, Ok(v) if v["value"]["ready"] == true) {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "chromedriver did not start within 20 s: {status:?}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        let args: Vec<String> = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            "--window-size=1400,1200",
        ]
        .iter()
        .map(|a| a.to_string())
        .chain([format!(
            "--user-data-dir={}",
            browser._profile.path().display()
        )])
        .collect();
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": CHROMIUM, "args": args}
        }}});
        let created = call(
            "POST",
            &format!("{}/session", browser.base),
            Some(&capabilities),
        )
        .unwrap_or_else(|e| panic!("creating a WebDriver session: {e}"));
        browser.session = created["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no WebDriver session: {created}"))
            .to_owned();
        browser
    }

    /// One WebDriver command of this session; panics on a WebDriver error.
    pub fn command(&self, method: &str, path: &str, body: Option<Json>) -> Json {
        let url = format!("{}/session/{}{path}", self.base, self.session);
        let answer =
            call(method, &url, body.as_ref()).unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        assert!(
            answer["value"].get("error").is_none(),
            "{method} {path}: {answer}"
        );
        answer["value"].clone()
    }

    /// Loads `url` and waits for its load event.
    pub fn open(&self, url: &str) {
        self.command("POST", "/url", Some(json!({ "url": url })));
    }

    /// The URL the browser shows.
    pub fn url(&self) -> String {
        self.command("GET", "/url", None)
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// Runs `script` (a function body; `return` gives the answer) in the page.
    pub fn js(&self, script: &str) -> Json {
        self.command(
            "POST",
            "/execute/sync",
            Some(json!({ "script": script, "args": [] })),
        )
    }

    /// Polls `script` (answering a boolean) every 20 ms until it answers true, at most
    /// `within`; answers how long it took. On time-out, panics with `what` and the text
    /// of the element `show` (a CSS selector) for the failure message.
    pub fn wait_for(&self, what: &str, script: &str, within: Duration, show: &str) -> Duration {
        let start = Instant::now();
        loop {
            if self.js(script) == Json::Bool(true) {
                return start.elapsed();
            }
            if start.elapsed() > within {
                let shown = self.js(&format!(
                    "const e = document.querySelector({show:?}); return e ? e.innerText : 'nothing matches {show}';"
                ));
                panic!(
                    "{what}: not within {within:?}; the page shows:\n{}",
                    shown.as_str().unwrap_or_default()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Saves a PNG screenshot of the window at `path` (directories created); answers its size.
    pub fn screenshot(&self, path: &Path) -> u64 {
        let png = self.command("GET", "/screenshot", None);
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(png.as_str().expect("a base64 PNG"))
            .expect("a base64 PNG");
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).expect("the screenshot's directory");
        }
        std::fs::write(path, &bytes).expect("writing the screenshot");
        bytes.len() as u64
    }
}

/// Where a test's screenshots go: `target/acceptance-artifacts/<test>/<name>`, kept after
/// the run for a person (or CI) to look at.
pub fn artifact_path(test: &str, name: &str) -> PathBuf {
    super::provider::target_dir()
        .join("acceptance-artifacts")
        .join(test)
        .join(name)
}
