//! The Azure emulator (`bluegreen-azure-emulator`) for one test: its own
//! process with a fresh state directory, seeded with what azurerm would have
//! created (a Container App whose revisions run the demo application, a Front
//! Door profile, route and origin groups), stopped by its pid when dropped.
//! Its admin API gives the request journal, settings, faults and the
//! loopback addresses of the edge.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value as Json;

use super::http;
use super::local_platform::{signal_pid, workspace_binary};
use super::provider::target_dir;

/// How long the emulator may take to print its start-up line.
pub const START_TIMEOUT: Duration = Duration::from_secs(30);

/// How long it may take to stop its revisions and exit after SIGINT.
pub const STOP_GRACE: Duration = Duration::from_secs(10);

/// Emulated time runs this many times faster than real time in the suites:
/// a 1 s ARM write takes 50 ms, the edge's 5 s and 15 s propagation delays
/// 0.25 s and 0.75 s, a minute of metrics ingestion 3 s.
pub const CLOCK_SCALE: f64 = 20.0;

/// One running emulator.
#[derive(Debug)]
pub struct AzureEmulator {
    name: String,
    child: Option<Child>,
    state_dir: PathBuf,
    /// The start-up JSON: `base_url`, `admin_url`, `ca_file`, credentials, `seeded` ids.
    pub info: Json,
}

impl AzureEmulator {
    /// Starts a seeded emulator running the demo application as its
    /// revisions, with its state in `target/acc-work/<name>-azure-<pid>`.
    pub fn start(name: &str) -> AzureEmulator {
        Self::start_with(name, &[], CLOCK_SCALE)
    }

    /// [`AzureEmulator::start`] with extra environment variables for the
    /// emulator and so for its revisions, e.g. the demo application's
    /// `AGOG_FAULTY_VERSION` and `AGOG_ERROR_RATE` for a bad build, and
    /// another clock scale: 1 where the provider's own clock must agree with
    /// the emulator's (Azure Monitor's timespans are wall-clock times).
    pub fn start_with(name: &str, env: &[(&str, &str)], clock_scale: f64) -> AzureEmulator {
        let state_dir = target_dir()
            .join("acc-work")
            .join(format!("{name}-azure-{}", std::process::id()));
        if state_dir.exists() {
            let _ = std::fs::remove_dir_all(&state_dir);
        }
        std::fs::create_dir_all(&state_dir)
            .unwrap_or_else(|e| panic!("{name}: cannot create {}: {e}", state_dir.display()));
        let stdout_path = state_dir.join("stdout.json");
        let file = |p: &Path| {
            std::fs::File::create(p)
                .unwrap_or_else(|e| panic!("{name}: cannot create {}: {e}", p.display()))
        };
        let app = workspace_binary("agog-demo-app");
        let mut cmd = Command::new(workspace_binary("bluegreen-azure-emulator"));
        cmd.arg("--state-dir")
            .arg(&state_dir)
            .arg("--seed")
            .arg("--clock-scale")
            .arg(clock_scale.to_string())
            .arg("--app-command")
            .arg(format!(
                "{} --port {{port}} --version {{version}} --color {{color}}",
                app.display()
            ))
            .env("RUST_LOG", "info")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(file(&stdout_path))
            .stderr(file(&state_dir.join("emulator.log")));
        // SAFETY: prctl is async-signal-safe and touches no memory of the parent.
        unsafe {
            // If the test process dies, the emulator stops (and stops its revisions).
            cmd.pre_exec(|| {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGINT) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("{name}: cannot start the Azure emulator: {e}"));
        let started = Instant::now();
        let info = loop {
            let text = std::fs::read_to_string(&stdout_path).unwrap_or_default();
            if let Some(line) = text.lines().next().filter(|_| text.contains('\n')) {
                break serde_json::from_str::<Json>(line).unwrap_or_else(|e| {
                    panic!("{name}: the emulator's start-up line is not JSON ({e}): {line}")
                });
            }
            if let Ok(Some(status)) = child.try_wait() {
                panic!(
                    "{name}: the Azure emulator exited at start ({status}):\n{}",
                    std::fs::read_to_string(state_dir.join("emulator.log")).unwrap_or_default()
                );
            }
            assert!(
                started.elapsed() < START_TIMEOUT,
                "{name}: the Azure emulator printed nothing within {START_TIMEOUT:?}"
            );
            std::thread::sleep(Duration::from_millis(50));
        };
        AzureEmulator {
            name: name.to_string(),
            child: Some(child),
            state_dir,
            info,
        }
    }

    /// A string of the start-up JSON, e.g. `base_url`.
    pub fn field(&self, key: &str) -> String {
        self.info[key]
            .as_str()
            .unwrap_or_else(|| panic!("{}: no {key} in {}", self.name, self.info))
            .to_string()
    }

    /// A seeded id, e.g. `container_app_id`.
    pub fn seeded(&self, key: &str) -> String {
        self.info["seeded"][key]
            .as_str()
            .unwrap_or_else(|| panic!("{}: no seeded {key} in {}", self.name, self.info))
            .to_string()
    }

    /// The plain-HTTP admin API's base URL.
    pub fn admin_url(&self) -> String {
        self.field("admin_url")
    }

    /// Its state directory.
    pub fn state_dir(&self) -> &Path {
        &self.state_dir
    }

    /// `method path` on the admin API with a JSON body; the JSON answer (null when empty).
    pub fn admin(&self, method: &str, path: &str, body: Option<&Json>) -> Json {
        let url = format!("{}{path}", self.admin_url());
        let body = body.map(Json::to_string);
        let reply = http::request(
            method,
            &url,
            &[("Content-Type", "application/json")],
            body.as_deref(),
            Duration::from_secs(10),
        )
        .unwrap_or_else(|e| panic!("{}: {method} {path}: {e}", self.name));
        assert!(
            (200..300).contains(&reply.status),
            "{}: {method} {path}: HTTP {}: {}",
            self.name,
            reply.status,
            reply.body
        );
        if reply.body.trim().is_empty() {
            Json::Null
        } else {
            reply
                .json()
                .unwrap_or_else(|e| panic!("{}: {method} {path}: {e}", self.name))
        }
    }

    /// Every ARM request seen since the last [`AzureEmulator::clear_journal`].
    pub fn journal(&self) -> Vec<Json> {
        let j = self.admin("GET", "/admin/journal", None);
        j.as_array()
            .cloned()
            .or_else(|| j["entries"].as_array().cloned())
            .unwrap_or_default()
    }

    /// Forgets the journal.
    pub fn clear_journal(&self) {
        self.admin("DELETE", "/admin/journal", None);
    }

    /// The journal's writes (PUT, PATCH, DELETE, POST other than tokens) as
    /// `METHOD path`, in order.
    pub fn writes(&self) -> Vec<String> {
        writes_of(&self.journal())
    }

    /// A stored ARM document, as `GET /admin/resources` holds it (ids compared without regard to case).
    pub fn resource(&self, id: &str) -> Json {
        let all = self.admin("GET", "/admin/resources", None);
        let docs: Vec<Json> = all
            .as_array()
            .cloned()
            .or_else(|| all["resources"].as_array().cloned())
            .or_else(|| all.as_object().map(|m| m.values().cloned().collect()))
            .unwrap_or_default();
        docs.into_iter()
            .find(|d| d["id"].as_str().is_some_and(|i| i.eq_ignore_ascii_case(id)))
            .unwrap_or_else(|| panic!("{}: no resource {id} in {all}", self.name))
    }

    /// Changes settings (`PATCH /admin/settings`).
    pub fn settings(&self, patch: &Json) {
        self.admin("PATCH", "/admin/settings", Some(patch));
    }

    /// Adds a fault script (`POST /admin/faults`).
    pub fn fault(&self, script: &Json) {
        self.admin("POST", "/admin/faults", Some(script));
    }

    /// The loopback URLs of the Front Door edge locations.
    pub fn edge_urls(&self) -> Vec<String> {
        let a = self.admin("GET", "/admin/addresses", None);
        a["edge"]
            .as_array()
            .map(|e| {
                e.iter()
                    .filter_map(|l| l["url"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The file mapping Azure host names to loopback addresses, for the
    /// provider's gates and edge probes (`BLUEGREEN_AZURE_HOST_MAP`).
    pub fn hosts_file(&self) -> Option<String> {
        self.info["hosts_file"].as_str().map(str::to_string)
    }

    /// The provider's `azure` block with every argument written: custom
    /// cloud endpoints at the emulator, its CA and its client secret.
    pub fn provider_block(&self) -> String {
        format!(
            "provider \"bluegreen\" {{\n  azure {{\n    subscription_id           = \"{}\"\n    tenant_id                 = \"{}\"\n    client_id                 = \"{}\"\n    client_secret             = \"{}\"\n    environment               = \"custom\"\n    resource_manager_endpoint = \"{}\"\n    authority_host            = \"{}\"\n    ca_certificate_file       = \"{}\"\n  }}\n}}\n",
            self.field("subscription_id"),
            self.field("tenant_id"),
            self.field("client_id"),
            self.field("client_secret"),
            self.field("base_url"),
            self.field("base_url"),
            self.field("ca_file"),
        )
    }

    /// The `ARM_*` variables azurerm reads, for an empty `azure {}` block.
    pub fn arm_variables(&self) -> Vec<(&'static str, String)> {
        vec![
            ("ARM_SUBSCRIPTION_ID", self.field("subscription_id")),
            ("ARM_TENANT_ID", self.field("tenant_id")),
            ("ARM_CLIENT_ID", self.field("client_id")),
            ("ARM_CLIENT_SECRET", self.field("client_secret")),
            ("ARM_ENVIRONMENT", "custom".to_string()),
            ("ARM_RESOURCE_MANAGER_ENDPOINT", self.field("base_url")),
            ("ARM_AUTHORITY_HOST", self.field("base_url")),
        ]
    }

    /// The environment's `azure` block for the seeded resources, with `extra`
    /// lines inside it; the image is the demo application's tagged by version.
    pub fn environment_block(&self, canary: bool) -> String {
        let mut out = format!(
            "\n  azure {{\n    container_app_id      = \"{}\"\n    image                 = \"agog/orders:{{version}}\"\n    front_door_route_id   = \"{}\"\n    blue_origin_group_id  = \"{}\"\n    green_origin_group_id = \"{}\"\n",
            self.seeded("container_app_id"),
            self.seeded("front_door_route_id"),
            self.seeded("blue_origin_group_id"),
            self.seeded("green_origin_group_id"),
        );
        if canary {
            out.push_str(&format!(
                "    split_origin_group_id = \"{}\"\n    rule_set_id           = \"{}\"\n",
                self.seeded("split_origin_group_id"),
                self.seeded("rule_set_id"),
            ));
        }
        out.push_str("  }\n");
        out
    }

    /// Stops it: SIGINT (it stops its revisions), SIGKILL after [`STOP_GRACE`].
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            signal_pid(child.id(), libc::SIGINT);
            let deadline = Instant::now() + STOP_GRACE;
            while child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A journal entry's `time` (emulated, RFC 3339 with milliseconds, UTC) in
/// emulated ms since the Unix epoch; divide differences by the clock scale
/// for real time.
pub fn journal_ms(entry: &Json) -> u64 {
    let s = entry["time"]
        .as_str()
        .unwrap_or_else(|| panic!("a journal entry without time: {entry}"));
    let n = |range: std::ops::Range<usize>| -> i64 {
        s.get(range)
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("not an RFC 3339 time: {s:?}"))
    };
    let (y, m, d) = (n(0..4), n(5..7), n(8..10));
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * ((m + 9) % 12) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + n(11..13) * 3600 + n(14..16) * 60 + n(17..19);
    let millis = if s.as_bytes().get(19) == Some(&b'.') {
        n(20..23)
    } else {
        0
    };
    u64::try_from(secs * 1000 + millis).unwrap_or(0)
}

/// Whether a journal entry is a token request (AAD, managed identity).
pub fn is_token_request(entry: &Json) -> bool {
    entry["path"].as_str().is_some_and(|p| {
        p.contains("/oauth2/") || p.contains("/msi/token") || p.contains("/metadata/identity/")
    })
}

/// The writes of a journal as `METHOD path` (token requests left out).
pub fn writes_of(journal: &[Json]) -> Vec<String> {
    journal
        .iter()
        .filter_map(|e| {
            let method = e["method"].as_str()?;
            let path = e["path"].as_str()?;
            let write = matches!(method, "PUT" | "PATCH" | "DELETE")
                || (method == "POST" && !path.contains("/oauth2/"));
            write.then(|| format!("{method} {path}"))
        })
        .collect()
}

impl Drop for AzureEmulator {
    fn drop(&mut self) {
        self.stop();
        if std::thread::panicking() {
            eprintln!(
                "acceptance: {}: Azure emulator state dir kept at {} (emulator.log, revisions/)",
                self.name,
                self.state_dir.display()
            );
        } else {
            let _ = std::fs::remove_dir_all(&self.state_dir);
        }
    }
}
