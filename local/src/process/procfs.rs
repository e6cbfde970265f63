//! Process inspection and signals through `/proc` and `kill(2)`.

use std::path::Path;

// Defined in the API crate because a lock request carries it.
pub use bluegreen_local_api::pid_space::pid_space;

/// Whether `pid` is alive (not a zombie) and runs exactly `argv`.
///
/// Used to adopt processes after a daemon crash: the pid alone could have been reused.
pub fn runs_command(pid: u32, argv: &[String]) -> bool {
    if !is_alive(pid) {
        return false;
    }
    match std::fs::read(format!("/proc/{pid}/cmdline")) {
        Ok(raw) => {
            let found: Vec<&[u8]> = raw
                .strip_suffix(b"\0")
                .unwrap_or(&raw)
                .split(|b| *b == 0)
                .collect();
            found.len() == argv.len() && found.iter().zip(argv).all(|(a, b)| *a == b.as_bytes())
        }
        Err(_) => false,
    }
}

/// When `pid` started, in clock ticks after boot (field 22 of `/proc/PID/stat`): with the
/// pid it names one process for good, since a recycled pid starts later.
pub fn start_time(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces and parentheses: count after its end.
    let (_, rest) = stat.rsplit_once(") ")?;
    rest.split_ascii_whitespace().nth(19)?.parse().ok()
}

/// Whether `pid` is alive and is the process that started at `start_time` (when known)
/// running exactly `argv`: the test before adopting a colour recorded by another daemon.
pub fn is_same_process(pid: u32, start: Option<u64>, argv: &[String]) -> bool {
    runs_command(pid, argv) && start.is_none_or(|t| start_time(pid) == Some(t))
}

/// Whether `pid` exists and is not a zombie.
pub fn is_alive(pid: u32) -> bool {
    let Ok(pid_t) = libc::pid_t::try_from(pid) else {
        return false;
    };
    // SAFETY: signal 0 performs only the existence and permission check.
    if unsafe { libc::kill(pid_t, 0) } != 0 {
        return false;
    }
    // An exited child of a dead daemon lingers as a zombie until init reaps it.
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rsplit_once(") ")
            .and_then(|(_, rest)| rest.chars().next())
            .is_some_and(|state| state != 'Z' && state != 'X'),
        Err(_) => Path::new(&format!("/proc/{pid}")).exists(),
    }
}

/// Whether `pid` has certainly exited: no such process, or a zombie.
///
/// Unlike [`is_alive`], a process of another user (`EPERM`) counts as running: a lock
/// must never be taken from a holder that may still act.
pub fn is_gone(pid: u32) -> bool {
    let Ok(pid_t) = libc::pid_t::try_from(pid) else {
        return false;
    };
    // SAFETY: signal 0 performs only the existence and permission check.
    if unsafe { libc::kill(pid_t, 0) } != 0 {
        return std::io::Error::last_os_error().raw_os_error() == Some(libc::ESRCH);
    }
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        stat.rsplit_once(") ")
            .and_then(|(_, rest)| rest.chars().next())
            .is_some_and(|state| state == 'Z' || state == 'X')
    })
}

/// Sends `signal` to the process group led by `pid` (colours run in their own group,
/// so wrappers such as `sh -c` and their children are signalled too).
pub fn signal_group(pid: u32, signal: libc::c_int) {
    let Ok(pid_t) = libc::pid_t::try_from(pid) else {
        return;
    };
    // SAFETY: kill(2) with a negative pid targets a process group; no memory involved.
    let rc = unsafe { libc::kill(-pid_t, signal) };
    if rc != 0 {
        // The group may be gone already, or the leader was re-parented without a group:
        // fall back to the process itself.
        // SAFETY: as above, for a single pid.
        unsafe { libc::kill(pid_t, signal) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sees_own_process() {
        let me = std::process::id();
        assert!(is_alive(me));
        let argv: Vec<String> = std::env::args().collect();
        assert!(runs_command(me, &argv));
        assert!(!runs_command(me, &["something-else".to_owned()]));
        assert!(!is_alive(u32::MAX));
        let started = start_time(me).expect("own start time");
        assert!(is_same_process(me, Some(started), &argv));
        assert!(
            !is_same_process(me, Some(started + 1), &argv),
            "a pid that started at another time is another process"
        );
        assert!(is_same_process(me, None, &argv));
        assert!(!is_gone(me));
    }

    #[test]
    fn an_exited_child_is_gone_and_the_pid_space_is_stable() {
        let mut child = std::process::Command::new("true")
            .spawn()
            .expect("spawn true");
        let pid = child.id();
        child.wait().expect("wait");
        assert!(is_gone(pid), "pid {pid} exited and was reaped");
        let space = pid_space().expect("Linux has /proc");
        assert!(space.contains("pid:["), "{space}");
        assert_eq!(pid_space(), Some(space));
    }
}
