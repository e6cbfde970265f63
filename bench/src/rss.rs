//! Peak resident memory and CPU time of processes found by binary name while something
//! runs: a sampler thread walks /proc, remembers matching pids, and keeps the largest
//! `VmHWM` (the kernel's own high-water mark of the resident set) and the last CPU time
//! each reported.

use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

/// Peak RSS per matching process, in KiB.
#[derive(Debug, Clone, Default)]
pub struct Peaks {
    /// pid → largest VmHWM seen.
    pub by_pid: BTreeMap<u32, u64>,
    /// pid → CPU seconds at the last sample (a few ms short of the total at exit).
    pub cpu_by_pid: BTreeMap<u32, f64>,
}

impl Peaks {
    /// Largest over all processes, KiB.
    pub fn max_kib(&self) -> u64 {
        self.by_pid.values().copied().max().unwrap_or(0)
    }

    /// CPU seconds of all matching processes.
    pub fn cpu_seconds(&self) -> f64 {
        self.cpu_by_pid.values().sum()
    }

    /// Number of matching processes seen.
    pub fn processes(&self) -> usize {
        self.by_pid.len()
    }
}

/// A running sampler; [`Sampler::finish`] stops it and returns what it saw.
pub struct Sampler {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<Peaks>,
}

impl Sampler {
    /// Samples every `interval` for children of `parent` whose executable's file name
    /// starts with `name_prefix` (e.g. `terraform-provider-bgtest`, matching the
    /// mirror's `terraform-provider-bgtest_v0.1.0`). Other processes of the same name
    /// (someone else's tests on a shared machine) are ignored.
    pub fn start(name_prefix: &str, parent: u32, interval: Duration) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let prefix = name_prefix.to_owned();
        let thread = std::thread::spawn(move || {
            let mut peaks = Peaks::default();
            // Pids already looked at and found not to match: /proc is re-read for new
            // pids only, so the sampler stays cheap next to what it measures.
            let mut other: HashSet<u32> = HashSet::new();
            loop {
                let stopping = flag.load(Ordering::Relaxed);
                sample(&prefix, parent, &mut peaks, &mut other);
                if stopping {
                    return peaks;
                }
                std::thread::sleep(interval);
            }
        });
        Self { stop, thread }
    }

    /// Stops sampling (after one last sample).
    pub fn finish(self) -> Peaks {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().unwrap_or_default()
    }
}

fn sample(prefix: &str, parent: u32, peaks: &mut Peaks, other: &mut HashSet<u32>) {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return;
    };
    for entry in dir.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        if other.contains(&pid) {
            continue;
        }
        if !peaks.by_pid.contains_key(&pid) {
            let exe = std::fs::read_link(format!("/proc/{pid}/exe")).ok();
            let matches = exe
                .as_ref()
                .and_then(|p| p.file_name())
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(prefix))
                && parent_of(pid) == Some(parent);
            if !matches {
                // A child Terraform just forked still shows terraform's executable
                // until it execs the provider: never settle on those.
                let forking = exe
                    .as_ref()
                    .and_then(|p| p.file_name())
                    .is_some_and(|n| n == "terraform");
                if exe.is_some() && !forking {
                    other.insert(pid);
                }
                continue;
            }
        }
        if let Some(kib) = vm_hwm_kib(pid) {
            let peak = peaks.by_pid.entry(pid).or_default();
            *peak = (*peak).max(kib);
        }
        if let Some(cpu) = crate::cpu::cpu_seconds(pid) {
            peaks.cpu_by_pid.insert(pid, cpu);
        }
    }
}

/// The parent process id of `pid`.
fn parent_of(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Field 4, after the parenthesised command name.
    stat[stat.rfind(')')? + 2..]
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// `VmHWM` of `pid`, KiB.
pub fn vm_hwm_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}
