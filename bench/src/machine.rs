//! What the benchmark ran on: CPUs and load, printed with every result because the
//! build machine is shared and a busy neighbour changes the figures.

/// CPU count and model.
#[derive(Debug, Clone)]
pub struct Machine {
    /// Online CPUs.
    pub nproc: usize,
    /// `model name` from /proc/cpuinfo.
    pub cpu_model: String,
    /// Kernel release.
    pub kernel: String,
}

impl Machine {
    /// Reads /proc.
    pub fn detect() -> Self {
        let nproc = std::thread::available_parallelism().map_or(1, usize::from);
        let cpu_model = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with("model name"))
                    .and_then(|l| l.split_once(':'))
                    .map(|(_, v)| v.trim().to_owned())
            })
            .unwrap_or_else(|| "unknown CPU".into());
        let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .map(|s| s.trim().to_owned())
            .unwrap_or_else(|_| "unknown".into());
        Self {
            nproc,
            cpu_model,
            kernel,
        }
    }
}

impl std::fmt::Display for Machine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} CPU(s), {}, Linux {}",
            self.nproc, self.cpu_model, self.kernel
        )
    }
}

/// The 1/5/15-minute load averages, as `uptime` prints them.
pub fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|| "unknown".into())
}

/// Prints the machine header every benchmark starts with.
pub fn print_header(title: &str) {
    println!("== {title}");
    println!("machine: {}", Machine::detect());
    println!("load average at start: {}", load());
}

/// Prints the closing load line.
pub fn print_footer() {
    println!("load average at end: {}", load());
}
