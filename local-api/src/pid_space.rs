//! The pid space a process id belongs to, sent with a lock request.

/// This process's pid space: the kernel's boot id and the pid namespace, e.g.
/// `6c3f…/pid:[4026531836]`. Two processes see each other's pids only when these
/// are equal (a host name is not enough: containers may share it); `None` off Linux.
pub fn pid_space() -> Option<String> {
    let boot = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").ok()?;
    let ns = std::fs::read_link("/proc/self/ns/pid").ok()?;
    Some(format!("{}/{}", boot.trim(), ns.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pid_space_is_stable_within_a_process() {
        let ours = pid_space().expect("Linux has /proc");
        assert!(ours.contains("/pid:["), "{ours}");
        assert_eq!(pid_space().as_deref(), Some(ours.as_str()));
    }
}
