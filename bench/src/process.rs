//! Child processes that cannot outlive the benchmark: each is stopped when its guard
//! drops (also while unwinding from a panic), and receives SIGTERM from the kernel if
//! the benchmark itself dies (`PR_SET_PDEATHSIG`).

use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, ExitStatus};
use std::time::{Duration, Instant};

use anyhow::Context;

/// A `Command` whose process gets SIGTERM when the benchmark dies.
///
/// The death signal follows the spawning *thread*: spawn from the main thread (the
/// `main` future of a Tokio runtime runs there), not from a spawned task.
pub fn command(program: impl AsRef<std::ffi::OsStr>) -> Command {
    let mut cmd = Command::new(program);
    // SAFETY: prctl is async-signal-safe and touches no memory of the parent.
    unsafe {
        cmd.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    cmd
}

/// A running child, stopped (SIGTERM, then SIGKILL after `grace`) when dropped.
#[derive(Debug)]
pub struct ProcessGuard {
    child: Child,
    name: String,
    grace: Duration,
}

impl ProcessGuard {
    /// Spawns `cmd`; `name` is used in messages.
    pub fn spawn(name: &str, cmd: &mut Command, grace: Duration) -> anyhow::Result<Self> {
        let child = cmd
            .spawn()
            .with_context(|| format!("starting {name} ({:?})", cmd.get_program()))?;
        Ok(Self {
            child,
            name: name.to_owned(),
            grace,
        })
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Its name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The exit status, if it has exited.
    pub fn try_wait(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// Fails if the process has exited.
    pub fn ensure_running(&mut self) -> anyhow::Result<()> {
        match self.try_wait() {
            Some(status) => anyhow::bail!("{} exited unexpectedly ({status})", self.name),
            None => Ok(()),
        }
    }

    /// Stops it: SIGTERM, up to `grace` to exit, then SIGKILL. Idempotent.
    pub fn stop(&mut self) -> Option<ExitStatus> {
        if let Some(status) = self.try_wait() {
            return Some(status);
        }
        signal(self.child.id(), libc::SIGTERM);
        let deadline = Instant::now() + self.grace;
        while Instant::now() < deadline {
            if let Some(status) = self.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        eprintln!(
            "{} (pid {}) ignored SIGTERM for {:?}: killing it",
            self.name,
            self.child.id(),
            self.grace
        );
        let _ = self.child.kill();
        self.child.wait().ok()
    }
}

impl Drop for ProcessGuard {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Sends `sig` to `pid` (a negative pid addresses a process group).
pub fn signal(pid: u32, sig: libc::c_int) {
    if let Ok(pid) = libc::pid_t::try_from(pid) {
        // SAFETY: kill(2) has no memory effects; a stale pid only yields ESRCH.
        unsafe { libc::kill(pid, sig) };
    }
}

/// A loopback port nothing listens on right now.
pub fn free_port() -> anyhow::Result<u16> {
    let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).context("finding a free loopback port")?;
    Ok(l.local_addr().context("reading the bound port")?.port())
}

/// Waits until `127.0.0.1:port` accepts TCP connections, while `alive` says the
/// server still runs.
pub fn wait_port(
    port: u16,
    timeout: Duration,
    mut alive: impl FnMut() -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let deadline = Instant::now() + timeout;
    loop {
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return Ok(());
        }
        alive()?;
        if Instant::now() >= deadline {
            anyhow::bail!("nothing accepted connections on {addr} within {timeout:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
