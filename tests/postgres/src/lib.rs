//! PostgreSQL for tests: the server CI names, or a throwaway one. Used by the
//! provider's migration tests (which talk to it with sqlx) and by the acceptance
//! harness (with `psql`); each creates its databases its own way, named by
//! [`TestPostgres::new_database_name`].
//!
//! With `BLUEGREEN_TEST_DATABASE_URL` set (an admin URL such as
//! `postgres://postgres@127.0.0.1:5432/postgres`), tests use that server.
//! Otherwise the first use in a test process runs `initdb` into a temporary
//! directory and starts PostgreSQL on a free loopback port (as the `postgres`
//! user when run as root: PostgreSQL refuses to run as root). A watchdog
//! stops it and removes the directory when the test process exits.
//!
//! Missing binaries are a test failure with the fix, never a silent skip.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

/// Where tests find their server.
pub const URL_ENV: &str = "BLUEGREEN_TEST_DATABASE_URL";
/// Overrides where the PostgreSQL server binaries are.
pub const BIN_ENV: &str = "BLUEGREEN_PG_BIN";

/// What to install or set when PostgreSQL cannot be found.
pub const INSTALL_HINT: &str = "PostgreSQL (initdb, pg_ctl, postgres and psql) is needed for these tests. \
     Install it (Debian: `apt-get install -y postgresql`), point BLUEGREEN_PG_BIN at the server binaries' folder, \
     or set BLUEGREEN_TEST_DATABASE_URL to an admin URL of a running server (postgres://user@host:port/postgres).";

/// The server of this test process.
#[derive(Debug)]
pub struct TestPostgres {
    admin_url: String,
}

static SERVER: OnceLock<Result<TestPostgres, String>> = OnceLock::new();
static NEXT_DB: AtomicUsize = AtomicUsize::new(0);

/// The server, started on first use. Panics with the fix when it cannot be.
pub fn server() -> &'static TestPostgres {
    match SERVER.get_or_init(|| match std::env::var(URL_ENV) {
        Ok(url) if !url.is_empty() => Ok(TestPostgres { admin_url: url }),
        _ => start(),
    }) {
        Ok(s) => s,
        Err(e) => panic!("{e}"),
    }
}

impl TestPostgres {
    /// The admin URL.
    pub fn admin_url(&self) -> &str {
        &self.admin_url
    }

    /// A name for a new database of one test, unique on the server (process id and
    /// a counter), from `label` made safe as an identifier.
    pub fn new_database_name(&self, label: &str) -> String {
        let n = NEXT_DB.fetch_add(1, Ordering::SeqCst);
        let label: String = label
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '_'
                }
            })
            .collect();
        format!("bg_{label}_{}_{n}", std::process::id())
    }

    /// The URL of database `name` on this server.
    pub fn database_url(&self, name: &str) -> String {
        with_database(&self.admin_url, name)
    }
}

/// A PostgreSQL client binary such as `psql`: the one beside the server binaries when
/// they have it (Debian keeps them off `PATH`), else the bare name, for `PATH`.
pub fn client_binary(name: &str) -> PathBuf {
    find_bin_dir()
        .ok()
        .map(|d| d.join(name))
        .filter(|p| p.is_file())
        .unwrap_or_else(|| PathBuf::from(name))
}

/// `url` with its database replaced by `name`.
pub fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let base = match base[scheme_end..].find('/') {
        Some(i) => &base[..scheme_end + i],
        None => base,
    };
    match query {
        Some(q) => format!("{base}/{name}?{q}"),
        None => format!("{base}/{name}"),
    }
}

fn find_bin_dir() -> Result<PathBuf, String> {
    let has_initdb = |d: &Path| d.join("initdb").is_file() && d.join("pg_ctl").is_file();
    if let Ok(dir) = std::env::var(BIN_ENV) {
        let dir = PathBuf::from(dir);
        if !has_initdb(&dir) {
            return Err(format!(
                "{BIN_ENV}={} has no initdb and pg_ctl. {INSTALL_HINT}",
                dir.display()
            ));
        }
        return Ok(dir);
    }
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output() {
        let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if has_initdb(&dir) {
            return Ok(dir);
        }
    }
    // Debian keeps the server binaries off PATH, one folder per major version.
    let mut candidates: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|rd| {
            rd.flatten()
                .map(|e| e.path().join("bin"))
                .filter(|d| has_initdb(d))
                .collect()
        })
        .unwrap_or_default();
    candidates.sort_by_key(|p| {
        p.parent()
            .and_then(|v| v.file_name())
            .and_then(|v| v.to_str())
            .and_then(|v| v.parse::<u32>().ok())
            .unwrap_or(0)
    });
    if let Some(dir) = candidates.pop() {
        return Ok(dir);
    }
    for dir in std::env::var("PATH").unwrap_or_default().split(':') {
        let d = PathBuf::from(dir);
        if has_initdb(&d) {
            return Ok(d);
        }
    }
    Err(INSTALL_HINT.to_string())
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// uid and gid of `user`.
fn ids(user: &str) -> Option<(u32, u32)> {
    let id = |flag: &str| -> Option<u32> {
        let out = Command::new("id").arg(flag).arg(user).output().ok()?;
        if !out.status.success() {
            return None;
        }
        String::from_utf8_lossy(&out.stdout).trim().parse().ok()
    };
    Some((id("-u")?, id("-g")?))
}

/// A command for a PostgreSQL binary, as `run_as` when given.
fn pg_command(bin: &Path, run_as: Option<&str>) -> Command {
    match run_as {
        Some(user) => {
            let mut c = Command::new("runuser");
            c.arg("-u").arg(user).arg("--").arg(bin);
            c
        }
        None => Command::new(bin),
    }
}

fn free_port() -> Result<u16, String> {
    let listener =
        TcpListener::bind("127.0.0.1:0").map_err(|e| format!("finding a free port: {e}"))?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(|e| e.to_string())
}

fn start() -> Result<TestPostgres, String> {
    let bin = find_bin_dir()?;
    let run_as = if is_root() {
        let user = "postgres";
        if ids(user).is_none() {
            return Err(format!(
                "these tests run as root, and PostgreSQL refuses to run as root: create a `postgres` user \
                 (the Debian package does), or run the tests as another user. {INSTALL_HINT}"
            ));
        }
        Some(user)
    } else {
        None
    };
    let dir = std::env::temp_dir().join(format!(
        "bluegreen-test-pg-{}-{}",
        std::process::id(),
        free_port()?
    ));
    std::fs::create_dir_all(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    if let Some((uid, gid)) = run_as.and_then(ids) {
        std::os::unix::fs::chown(&dir, Some(uid), Some(gid))
            .map_err(|e| format!("chown {}: {e}", dir.display()))?;
    }
    let data = dir.join("data");
    let out = pg_command(&bin.join("initdb"), run_as)
        .arg("-D")
        .arg(&data)
        .args(["-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"])
        .output()
        .map_err(|e| format!("running initdb: {e}. {INSTALL_HINT}"))?;
    if !out.status.success() {
        return Err(format!(
            "initdb failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let mut last_error = String::new();
    for _ in 0..3 {
        let port = free_port()?;
        let opts = format!(
            "-c listen_addresses=127.0.0.1 -p {port} -k {} -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200",
            dir.display()
        );
        let out = pg_command(&bin.join("pg_ctl"), run_as)
            .arg("-D")
            .arg(&data)
            .arg("-l")
            .arg(dir.join("server.log"))
            .args(["-o", &opts, "-w", "-t", "60", "start"])
            .stdout(Stdio::null())
            .output()
            .map_err(|e| format!("running pg_ctl: {e}"))?;
        if out.status.success() {
            watchdog(&bin, run_as, &data, &dir);
            return Ok(TestPostgres {
                admin_url: format!("postgres://postgres@127.0.0.1:{port}/postgres"),
            });
        }
        last_error = std::fs::read_to_string(dir.join("server.log")).unwrap_or_default();
    }
    let _ = std::fs::remove_dir_all(&dir);
    Err(format!(
        "the test PostgreSQL server did not start: {last_error}"
    ))
}

/// Stops the server and removes its directory once this test process is gone.
fn watchdog(bin: &Path, run_as: Option<&str>, data: &Path, dir: &Path) {
    let pg_ctl = bin.join("pg_ctl");
    let stop = match run_as {
        Some(user) => format!(
            "runuser -u {user} -- '{}' -D '{}' -m immediate stop",
            pg_ctl.display(),
            data.display()
        ),
        None => format!(
            "'{}' -D '{}' -m immediate stop",
            pg_ctl.display(),
            data.display()
        ),
    };
    let script = format!(
        "while kill -0 {pid} 2>/dev/null; do sleep 0.5; done; {stop} >/dev/null 2>&1; rm -rf '{dir}'",
        pid = std::process::id(),
        dir = dir.display()
    );
    let _ = Command::new("sh")
        .arg("-c")
        .arg(script)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
}
