//! A Terraform working directory for one test on one CLI: the provider in a
//! filesystem mirror, a CLI config that installs from it, the configuration,
//! and every command run with a trace log that a failure prints.

use std::cell::{Cell, RefCell};
use std::ffi::OsString;
use std::fmt::Write as _;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::provider::{target_dir, ProviderBinary};
use super::state::State;
use super::terraform::Terraform;

/// How long one Terraform command may take before the harness kills it.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(240);

/// How long a command's stdout and stderr may stay open after it exited.
pub const PIPE_GRACE: Duration = Duration::from_secs(5);

/// Appended to a command's stderr when its stdout or stderr stayed open after
/// it exited: a process it started (a daemon, say) inherited them, so any
/// pipeline reading Terraform's output (`terraform apply | tee`) would hang.
pub const PIPES_HELD_NOTE: &str =
    "[harness] terraform's stdout/stderr stayed open after it exited: a process it started still holds them";

/// Lines of the trace log a failure report prints.
pub const LOG_TAIL_LINES: usize = 300;

/// go-plugin's complaints that mean the plugin broke the protocol or hung on exit.
pub const PROTOCOL_ERRORS: &[&str] = &[
    "plugin failed to exit gracefully",
    "Unrecognized remote plugin message",
];

/// The placeholder in configuration text replaced by the work directory.
pub const WORKDIR_PLACEHOLDER: &str = "{{workdir}}";

/// What one command did.
#[derive(Debug, Clone)]
pub struct Output {
    /// Arguments after `terraform`.
    pub args: Vec<String>,
    /// Exit code; `None` when killed by a signal.
    pub code: Option<i32>,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
    /// The part of the trace log this command wrote.
    pub log: String,
    /// Wall time.
    pub elapsed: Duration,
}

impl Output {
    /// Exit code 0.
    pub fn success(&self) -> bool {
        self.code == Some(0)
    }

    /// stdout then stderr, with Terraform's diagnostic box drawing (`│ `,
    /// `╷`, `╵`) removed so that text can be matched line by line.
    pub fn plain(&self) -> String {
        let mut out = String::new();
        for line in self.stdout.lines().chain(self.stderr.lines()) {
            let line = line.trim_start_matches(['│', '╷', '╵']);
            let line = line.strip_prefix(' ').unwrap_or(line);
            out.push_str(line);
            out.push('\n');
        }
        out
    }

    /// Lines of this command's trace log written by the plugin called
    /// `plugin_name` (see [`ProviderBinary::plugin_name`]).
    pub fn provider_log_lines(&self, plugin_name: &str) -> Vec<&str> {
        provider_log_lines(&self.log, plugin_name)
    }
}

/// Lines of a trace log written by the plugin called `plugin_name`: go-plugin
/// logs them as `provider.<plugin_name>_v<version>`.
pub fn provider_log_lines<'a>(log: &'a str, plugin_name: &str) -> Vec<&'a str> {
    let needle = format!("provider.{plugin_name}");
    log.lines().filter(|l| l.contains(&needle)).collect()
}

/// A command started but not yet waited for.
pub struct Running {
    args: Vec<String>,
    child: Child,
    stdout: Option<Drain>,
    stderr: Option<Drain>,
    started: Instant,
    log_offset: u64,
}

impl Running {
    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends a signal (e.g. `libc::SIGINT`) to the command's process group,
    /// as a terminal does on Ctrl-C: Terraform 1.0 runs itself as a child of
    /// a panicwrap parent that does not forward signals, and providers get
    /// the signal too.
    pub fn signal_group(&self, signal: i32) -> std::io::Result<()> {
        let pid = libc::pid_t::try_from(self.child.id()).map_err(std::io::Error::other)?;
        // SAFETY: kill(2) on the process group we created for our child
        // (its pid is the group id, and it is not yet reaped).
        if unsafe { libc::kill(-pid, signal) } == 0 {
            Ok(())
        } else {
            Err(std::io::Error::last_os_error())
        }
    }

    /// The exit status, if it has exited.
    pub fn try_wait(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    fn finish(mut self, ws: &Workspace, timeout: Duration) -> Output {
        let deadline = Instant::now() + timeout;
        let mut killed = false;
        let status = loop {
            match self.child.try_wait() {
                Ok(Some(status)) => break Some(status),
                Ok(None) if Instant::now() >= deadline => {
                    // The whole group: Terraform 1.0's panicwrap child and the providers too.
                    let _ = self.signal_group(libc::SIGKILL);
                    let _ = self.child.kill();
                    killed = true;
                    break self.child.wait().ok();
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(10)),
                Err(_) => break None,
            }
        };
        let elapsed = self.started.elapsed();
        // A descendant that inherited the pipes keeps them open: never wait
        // for it, or the test hangs instead of failing.
        let grace = Instant::now() + PIPE_GRACE;
        let (stdout, out_held) = self
            .stdout
            .take()
            .map_or((String::new(), false), |d| d.collect(grace));
        let (mut stderr, err_held) = self
            .stderr
            .take()
            .map_or((String::new(), false), |d| d.collect(grace));
        if out_held || err_held {
            let _ = write!(stderr, "\n{PIPES_HELD_NOTE}");
        }
        if killed {
            let _ = write!(
                stderr,
                "\n[harness] killed after {}s: the command did not finish",
                timeout.as_secs()
            );
        }
        Output {
            args: self.args,
            code: status.and_then(|s| s.code()),
            stdout,
            stderr,
            log: ws.read_log_from(self.log_offset),
            elapsed,
        }
    }
}

/// A pipe read to its end by a thread, into a buffer readable at any time.
struct Drain {
    bytes: Arc<Mutex<Vec<u8>>>,
    thread: JoinHandle<()>,
}

impl Drain {
    /// What was read; true when the pipe was still open at `deadline`.
    fn collect(self, deadline: Instant) -> (String, bool) {
        while !self.thread.is_finished() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        let held = !self.thread.is_finished();
        let bytes = self.bytes.lock().unwrap_or_else(|e| e.into_inner());
        (String::from_utf8_lossy(&bytes).into_owned(), held)
    }
}

fn drain(mut pipe: impl Read + Send + 'static) -> Drain {
    let bytes = Arc::new(Mutex::new(Vec::new()));
    let sink = bytes.clone();
    let thread = std::thread::spawn(move || {
        let mut chunk = [0u8; 8192];
        loop {
            match pipe.read(&mut chunk) {
                Ok(0) => break,
                Ok(n) => sink
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => break,
            }
        }
    });
    Drain { bytes, thread }
}

/// One Terraform working directory.
pub struct Workspace {
    test: String,
    dir: PathBuf,
    tf: Terraform,
    provider: ProviderBinary,
    cli_config: PathBuf,
    log_path: PathBuf,
    log_offset: Cell<u64>,
    extra_env: RefCell<Vec<(OsString, OsString)>>,
    /// Fail any command whose trace log shows [`PROTOCOL_ERRORS`].
    pub strict_plugin_logs: bool,
}

impl Workspace {
    /// `target/acc-work/<test>-tf<version>-<pid>`, fresh, with the provider
    /// mirrored and the CLI config written.
    pub fn new(test: &str, tf: &Terraform, provider: &ProviderBinary) -> Workspace {
        let dir = target_dir().join("acc-work").join(format!(
            "{test}-tf{}-{}",
            tf.version_string(),
            std::process::id()
        ));
        Self::create(test, dir, tf, provider)
    }

    /// A fresh sibling directory `<dir>-<suffix>` for the same test and CLI.
    pub fn sibling(&self, suffix: &str) -> Workspace {
        let mut name = self.dir.file_name().unwrap_or_default().to_os_string();
        name.push(format!("-{suffix}"));
        Self::create(
            &self.test,
            self.dir.with_file_name(name),
            &self.tf,
            &self.provider,
        )
    }

    fn create(test: &str, dir: PathBuf, tf: &Terraform, provider: &ProviderBinary) -> Workspace {
        let setup = || -> std::io::Result<PathBuf> {
            if dir.exists() {
                std::fs::remove_dir_all(&dir)?;
            }
            std::fs::create_dir_all(&dir)?;
            let mirror = dir.join("mirror");
            provider.install_into_mirror(&mirror)?;
            let pattern = format!("{}/{}/*", provider.hostname, provider.namespace);
            let cli_config = dir.join("terraformrc");
            std::fs::write(
                &cli_config,
                format!(
                    "provider_installation {{\n  filesystem_mirror {{\n    path    = \"{}\"\n    include = [\"{pattern}\"]\n  }}\n  direct {{\n    exclude = [\"{pattern}\"]\n  }}\n}}\n",
                    mirror.display()
                ),
            )?;
            Ok(cli_config)
        };
        let cli_config =
            setup().unwrap_or_else(|e| panic!("{test}: cannot set up {}: {e}", dir.display()));
        Workspace {
            test: test.to_string(),
            log_path: dir.join("terraform.log"),
            dir,
            tf: tf.clone(),
            provider: provider.clone(),
            cli_config,
            log_offset: Cell::new(0),
            extra_env: RefCell::new(Vec::new()),
            strict_plugin_logs: true,
        }
    }

    /// The working directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The CLI in use.
    pub fn terraform(&self) -> &Terraform {
        &self.tf
    }

    /// The provider under test.
    pub fn provider(&self) -> &ProviderBinary {
        &self.provider
    }

    /// The trace log file.
    pub fn log_path(&self) -> &Path {
        &self.log_path
    }

    /// `terraform.tfstate` in the working directory.
    pub fn state_file(&self) -> PathBuf {
        self.dir.join("terraform.tfstate")
    }

    /// Writes `main.tf`, with [`WORKDIR_PLACEHOLDER`] replaced by this directory.
    pub fn write_config(&self, text: &str) {
        let text = text.replace(WORKDIR_PLACEHOLDER, &self.dir.display().to_string());
        let path = self.dir.join("main.tf");
        std::fs::write(&path, text)
            .unwrap_or_else(|e| self.fail(None, &format!("cannot write {}: {e}", path.display())));
    }

    /// The current `main.tf`.
    pub fn config(&self) -> String {
        std::fs::read_to_string(self.dir.join("main.tf")).unwrap_or_default()
    }

    /// A `terraform <args>` command with the harness's environment, for
    /// callers that need the process itself.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(&self.tf.path);
        cmd.args(with_no_color(args))
            .current_dir(&self.dir)
            .stdin(Stdio::null());
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("TF_") {
                cmd.env_remove(key);
            }
        }
        cmd.env("TF_CLI_CONFIG_FILE", &self.cli_config)
            .env("TF_LOG", "trace")
            .env("TF_LOG_PROVIDER", "trace")
            .env("TF_LOG_PATH", &self.log_path)
            .env("TF_IN_AUTOMATION", "1")
            .env("TF_INPUT", "0")
            .env("CHECKPOINT_DISABLE", "1");
        for (key, value) in self.extra_env.borrow().iter() {
            cmd.env(key, value);
        }
        cmd
    }

    /// Sets an environment variable for every later command of this
    /// workspace (e.g. where the provider finds a helper binary), without
    /// touching the test process's own environment.
    pub fn set_env(&self, key: impl Into<OsString>, value: impl Into<OsString>) {
        let (key, value) = (key.into(), value.into());
        let mut env = self.extra_env.borrow_mut();
        env.retain(|(k, _)| *k != key);
        env.push((key, value));
    }

    /// Starts `terraform <args>` without waiting.
    pub fn spawn(&self, args: &[&str]) -> Running {
        let log_offset = self.log_len();
        let mut cmd = self.command(args);
        // Its own process group, so that signals and timeouts reach every
        // process of the command (see `Running::signal_group`).
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = cmd.spawn().unwrap_or_else(|e| {
            self.fail(
                None,
                &format!("cannot start {}: {e}", self.tf.path.display()),
            )
        });
        let stdout = child.stdout.take().map(drain);
        let stderr = child.stderr.take().map(drain);
        Running {
            args: with_no_color(args),
            child,
            stdout,
            stderr,
            started: Instant::now(),
            log_offset,
        }
    }

    /// Waits for a started command (killing it `timeout` from now) and checks its log.
    pub fn wait(&self, running: Running, timeout: Duration) -> Output {
        let out = running.finish(self, timeout);
        self.log_offset.set(self.log_len());
        if self.strict_plugin_logs {
            if let Some(bad) = PROTOCOL_ERRORS.iter().find(|e| out.log.contains(*e)) {
                self.fail(Some(&out), &format!("the trace log shows {bad:?}"));
            }
        }
        out
    }

    /// Runs `terraform <args>` to completion; any exit code is returned.
    pub fn run(&self, args: &[&str]) -> Output {
        let running = self.spawn(args);
        self.wait(running, COMMAND_TIMEOUT)
    }

    /// Runs `terraform <args>`; a non-zero exit fails the test.
    pub fn run_ok(&self, args: &[&str]) -> Output {
        let out = self.run(args);
        if !out.success() {
            self.fail(
                Some(&out),
                &format!("`terraform {}` failed", out.args.join(" ")),
            );
        }
        out
    }

    /// `terraform init`.
    pub fn init(&self) -> Output {
        self.run_ok(&["init"])
    }

    /// `terraform apply -auto-approve`.
    pub fn apply(&self) -> Output {
        self.run_ok(&["apply", "-auto-approve"])
    }

    /// `terraform plan -detailed-exitcode`: 0 no changes, 1 error, 2 changes.
    pub fn plan(&self) -> Output {
        self.run(&["plan", "-detailed-exitcode"])
    }

    /// Fails unless a plan shows no changes.
    pub fn assert_plan_empty(&self, context: &str) -> Output {
        let out = self.plan();
        if out.code != Some(0) {
            let why = if out.code == Some(2) {
                "the plan is not empty"
            } else {
                "the plan failed"
            };
            self.fail(
                Some(&out),
                &format!("{context}: {why} (exit code {:?})", out.code),
            );
        }
        out
    }

    /// Refreshes state the way this CLI prefers: `apply -refresh-only` from
    /// 1.1 on, `terraform refresh` before.
    pub fn refresh(&self) -> Output {
        if self.tf.prefers_refresh_only() {
            self.run_ok(&["apply", "-refresh-only", "-auto-approve"])
        } else {
            self.run_ok(&["refresh"])
        }
    }

    /// `terraform destroy -auto-approve`.
    pub fn destroy(&self) -> Output {
        self.run_ok(&["destroy", "-auto-approve"])
    }

    /// The state, from `terraform show -json`.
    pub fn show(&self) -> State {
        let out = self.run_ok(&["show", "-json"]);
        State::parse(&out.stdout).unwrap_or_else(|e| {
            self.fail(
                Some(&out),
                &format!("`terraform show -json` printed no state JSON: {e}"),
            )
        })
    }

    /// The whole trace log so far.
    pub fn trace_log(&self) -> String {
        self.read_log_from(0)
    }

    fn log_len(&self) -> u64 {
        std::fs::metadata(&self.log_path)
            .map(|m| m.len())
            .unwrap_or(0)
    }

    fn read_log_from(&self, offset: u64) -> String {
        let Ok(mut file) = std::fs::File::open(&self.log_path) else {
            return String::new();
        };
        let mut bytes = Vec::new();
        if file.seek(SeekFrom::Start(offset)).is_ok() {
            let _ = file.read_to_end(&mut bytes);
        }
        String::from_utf8_lossy(&bytes).into_owned()
    }

    /// Prints everything needed to diagnose a failure (the command, its
    /// output, the tail of its trace log) and panics with `message`.
    pub fn fail(&self, out: Option<&Output>, message: &str) -> ! {
        let mut report = format!(
            "\n===== acceptance failure: {} on Terraform {} =====\n{message}\nwork dir (kept): {}\n",
            self.test,
            self.tf.version_string(),
            self.dir.display()
        );
        let log = match out {
            Some(out) => {
                let _ = write!(
                    report,
                    "command: {} {} (exit {:?}, {:.1}s)\n----- stdout -----\n{}\n----- stderr -----\n{}\n",
                    self.tf.path.display(),
                    out.args.join(" "),
                    out.code,
                    out.elapsed.as_secs_f64(),
                    out.stdout.trim_end(),
                    out.stderr.trim_end()
                );
                out.log.clone()
            }
            None => self.trace_log(),
        };
        let lines: Vec<&str> = log.lines().collect();
        let tail = &lines[lines.len().saturating_sub(LOG_TAIL_LINES)..];
        let _ = write!(
            report,
            "----- last {} lines of the trace log ({}) -----\n{}\n===== end of failure report =====",
            tail.len(),
            self.log_path.display(),
            tail.join("\n")
        );
        eprintln!("{report}");
        panic!(
            "{} on Terraform {}: {message} (work dir kept at {})",
            self.test,
            self.tf.version_string(),
            self.dir.display()
        );
    }
}

impl Drop for Workspace {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "acceptance: {}: work dir kept at {}",
                self.test,
                self.dir.display()
            );
        } else if let Err(e) = std::fs::remove_dir_all(&self.dir) {
            eprintln!(
                "acceptance: {}: cannot remove {}: {e}",
                self.test,
                self.dir.display()
            );
        }
    }
}

/// Subcommands that print in color unless told not to.
const COLORFUL: &[&str] = &[
    "init", "plan", "apply", "destroy", "refresh", "import", "show", "validate", "output",
];

fn with_no_color(args: &[&str]) -> Vec<String> {
    let mut out: Vec<String> = args.iter().map(|s| (*s).to_string()).collect();
    if args.first().is_some_and(|cmd| COLORFUL.contains(cmd)) && !args.contains(&"-no-color") {
        out.insert(1, "-no-color".into());
    }
    out
}
