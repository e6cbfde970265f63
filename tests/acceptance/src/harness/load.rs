//! Load through a front door: `bluegreen-load` running in the background
//! while Terraform changes what answers, and the daemon's request metrics.

use std::collections::BTreeMap;
use std::io::Read;
use std::process::{Child, Command, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::Value as Json;

use super::local_platform::{now_ms, signal_pid, wait_for, workspace_binary, AdminApi};

/// What `bluegreen-load --json` reported.
#[derive(Debug, Clone)]
pub struct LoadSummary {
    /// The JSON document.
    pub json: Json,
}

impl LoadSummary {
    /// Requests sent.
    pub fn sent(&self) -> u64 {
        self.json["sent"].as_u64().unwrap_or(0)
    }
    /// Requests not answered with 2xx.
    pub fn failed(&self) -> u64 {
        self.json["failed"].as_u64().unwrap_or(0)
    }
    /// Successful answers by version.
    pub fn versions(&self) -> BTreeMap<String, u64> {
        counts(&self.json["versions"])
    }
    /// Failures by kind.
    pub fn failures(&self) -> BTreeMap<String, u64> {
        counts(&self.json["failures"])
    }
    /// Answers from an older version after the newest first answered.
    pub fn old_after_new(&self) -> u64 {
        self.json["old_after_new"].as_u64().unwrap_or(0)
    }
    /// The version of the last successful answer.
    pub fn last_version(&self) -> Option<&str> {
        self.json["last_version"].as_str()
    }
    /// Wall time.
    pub fn seconds(&self) -> f64 {
        self.json["seconds"].as_f64().unwrap_or(0.0)
    }
}

fn counts(v: &Json) -> BTreeMap<String, u64> {
    v.as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_u64().unwrap_or(0)))
                .collect()
        })
        .unwrap_or_default()
}

impl std::fmt::Display for LoadSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} sent, {} failed {:?}, by version {:?}, {} old-after-new, last answer from {}, {:.1}s",
            self.sent(),
            self.failed(),
            self.failures(),
            self.versions(),
            self.old_after_new(),
            self.last_version().unwrap_or("nobody"),
            self.seconds()
        )
    }
}

/// The bounds of one load run, whatever happens, so that a test that goes
/// wrong cannot load the machine for ever.
#[derive(Debug, Clone, Copy)]
pub struct LoadBounds {
    /// Most requests the run may send (`--max-requests`).
    pub max_requests: u64,
    /// Longest the run may take, in seconds (`--seconds`).
    pub max_seconds: u64,
    /// Fail [`Load::stop`] when the run had already ended by itself: it hit
    /// its bounds, so it did not span what the test meant it to span.
    pub must_outlast: bool,
}

/// `bluegreen-load` running in the background against a front door.
pub struct Load {
    bounds: LoadBounds,
    child: Option<Child>,
    stdout: Option<JoinHandle<String>>,
    stderr: Option<JoinHandle<String>>,
}

impl Load {
    /// Starts closed-loop load with `concurrency` connections on `url`,
    /// bounded by `bounds`; stop it with [`Load::stop`].
    pub fn start(url: &str, concurrency: usize, bounds: LoadBounds) -> Load {
        let mut child = Command::new(workspace_binary("bluegreen-load"))
            .arg(url)
            .args(["--concurrency", &concurrency.to_string()])
            .args(["--seconds", &bounds.max_seconds.to_string()])
            .args(["--max-requests", &bounds.max_requests.to_string()])
            .arg("--json")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start bluegreen-load: {e}"));
        let drain = |pipe: Option<Box<dyn Read + Send>>| {
            pipe.map(|mut pipe| {
                std::thread::spawn(move || {
                    let mut s = String::new();
                    let _ = pipe.read_to_string(&mut s);
                    s
                })
            })
        };
        let stdout = drain(
            child
                .stdout
                .take()
                .map(|p| Box::new(p) as Box<dyn Read + Send>),
        );
        let stderr = drain(
            child
                .stderr
                .take()
                .map(|p| Box::new(p) as Box<dyn Read + Send>),
        );
        Load {
            bounds,
            child: Some(child),
            stdout,
            stderr,
        }
    }

    /// Stops the load (SIGINT) and returns what it saw.
    pub fn stop(mut self) -> LoadSummary {
        let mut child = self.child.take().expect("the load runs");
        // A run that ended by itself hit its bounds and did not span what it should.
        let ended_early = child.try_wait().ok().flatten();
        signal_pid(child.id(), libc::SIGINT);
        let deadline = Instant::now() + Duration::from_secs(30);
        let status = loop {
            if let Ok(Some(status)) = child.try_wait() {
                break status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("bluegreen-load did not stop within 30s of SIGINT");
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let out = self
            .stdout
            .take()
            .and_then(|h| h.join().ok())
            .unwrap_or_default();
        let err = self
            .stderr
            .take()
            .and_then(|h| h.join().ok())
            .unwrap_or_default();
        let json: Json = serde_json::from_str(out.trim()).unwrap_or_else(|e| {
            panic!("bluegreen-load ({status}) printed no JSON summary ({e}):\n{out}\n{err}")
        });
        let summary = LoadSummary { json };
        let LoadBounds {
            max_requests,
            max_seconds,
            must_outlast,
        } = self.bounds;
        assert!(
            !must_outlast || ended_early.is_none(),
            "bluegreen-load ended ({status}) before it was stopped, at its bound of {max_requests} requests or {max_seconds}s: {summary}"
        );
        summary
    }
}

impl Drop for Load {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Waits until the front door of environment `name` has sent at least `n`
/// requests to `color` since `since_ms` (the daemon's metrics, read through
/// `api`), panicking after `limit`.
pub fn wait_for_requests(
    api: &AdminApi,
    name: &str,
    color: &str,
    since_ms: u64,
    n: u64,
    limit: Duration,
) -> u64 {
    wait_for(
        &format!("{n} requests through the front door to {color}"),
        limit,
        || {
            let got = api.requests_to(name, color, since_ms, now_ms() + 1000);
            if got >= n {
                Ok(got)
            } else {
                Err(format!("{got} so far"))
            }
        },
    )
}
