//! `bench-azure`: releases on Azure with the real `terraform` CLI and the
//! provider's build against the Azure emulator, beside the same release steps
//! written with Microsoft's Python SDK (`bench/azure-sdk-release.py`), on the
//! same emulator in the same run. From the emulator's request journal: ARM
//! requests per release by kind, and reads per minute while waiting, against
//! ARM's 12,000 reads an hour; from the provider's debug log: its own time per
//! release beyond its deliberate waits (BENCHMARKS.md, issue 14, defines it).
//!
//! Each run has its own seeded emulator, whose revisions run the demo app:
//! - phase A, waits at their minimum (`lro_ms` 0, both edge locations
//!   propagating at once, clock scale 1): create 1.0.0, a no-change apply
//!   (Terraform's own overhead), update to 1.1.0, instant rollback to 1.0.0,
//!   then the SDK script releasing 1.2.0;
//! - phase B, Azure-sized waits on a fast clock (`--scale`, `--azure-lro-ms`,
//!   `--azure-propagation-ms`): the provider releasing 1.3.0, the SDK 1.4.0.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;
use bluegreen_acceptance::harness::azure_emulator::AzureEmulator;
use bluegreen_bench::arm_journal::{self, Counts, ReadRate, ARM_READS_PER_MINUTE};
use bluegreen_bench::machine;
use bluegreen_bench::process::command;
use bluegreen_bench::stats::summarize;
use bluegreen_bench::table::Table;
use bluegreen_bench::tools::{system_tool, workspace_bin};
use clap::Parser;
use serde_json::{json, Value as Json};

#[derive(Parser)]
#[command(
    about = "Azure releases (terraform + provider vs Microsoft's Python SDK) against the emulator: ARM requests, reads per minute, own time"
)]
struct Args {
    /// Runs, each on a fresh emulator.
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Terraform CLI.
    #[arg(long, default_value = "terraform")]
    terraform: String,
    /// Phase B: emulated time runs this many times faster than real time.
    #[arg(long, default_value_t = 60.0)]
    scale: f64,
    /// Phase B: emulated duration of an ARM write, ms (Container Apps: about a minute).
    #[arg(long, default_value_t = 60_000)]
    azure_lro_ms: u64,
    /// Phase B: emulated propagation delay of each edge location, ms (Front Door: minutes).
    #[arg(long, value_delimiter = ',', default_values_t = [300_000u64, 600_000])]
    azure_propagation_ms: Vec<u64>,
    /// Longest a single command may take, seconds.
    #[arg(long, default_value_t = 600)]
    timeout_s: u64,
    /// Writes each release's journal there as `run<N>-<release>.json`, to see what was sent.
    #[arg(long)]
    journal_dir: Option<PathBuf>,
}

/// The repository root (this crate is `bench/`).
fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

/// What one `terraform apply` or SDK release did.
#[derive(Debug, Clone)]
struct Release {
    /// Wall time of the command (terraform, or the steps of the SDK script).
    wall: Duration,
    /// Time the provider (or the script) spent in deliberate waits.
    paused: Duration,
    /// CPU seconds of the command and its children (terraform and the provider).
    cpu_s: f64,
    /// The emulator's journal of it.
    journal: Vec<Json>,
}

impl Release {
    fn counts(&self) -> Counts {
        Counts::of(&self.journal)
    }
}

/// CPU seconds (user + system) of the children this process has waited for.
fn children_cpu_s() -> f64 {
    // SAFETY: getrusage writes only into the struct it is given.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: as above; RUSAGE_CHILDREN is always valid.
    unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage) };
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    secs(usage.ru_utime) + secs(usage.ru_stime)
}

/// Runs `cmd` to completion within `timeout`: its stdout, wall time and CPU.
fn run(mut cmd: Command, what: &str, timeout: Duration) -> anyhow::Result<(String, Duration, f64)> {
    let cpu_before = children_cpu_s();
    let started = Instant::now();
    let child = cmd.spawn().with_context(|| format!("starting {what}"))?;
    let pid = child.id();
    // The watchdog kills a hung command; the normal path never waits for it.
    let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
    let watchdog = std::thread::spawn(move || {
        if done_rx.recv_timeout(timeout).is_err() {
            bluegreen_bench::process::signal(pid, libc::SIGKILL);
        }
    });
    let out = child
        .wait_with_output()
        .with_context(|| format!("waiting for {what}"))?;
    let wall = started.elapsed();
    let cpu = children_cpu_s() - cpu_before;
    let _ = done_tx.send(());
    let _ = watchdog.join();
    if !out.status.success() {
        anyhow::bail!(
            "{what} failed ({}) after {wall:?}:\n{}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok((String::from_utf8_lossy(&out.stdout).into_owned(), wall, cpu))
}

/// The sum of the provider's logged waits (`paused … waited_ms=N`, provider/src/waits.rs)
/// in a Terraform log file.
fn paused_in_log(log: &Path) -> anyhow::Result<(Duration, usize)> {
    let text =
        std::fs::read_to_string(log).with_context(|| format!("reading {}", log.display()))?;
    let mut total = 0u64;
    let mut waits = 0;
    for line in text.lines().filter(|l| l.contains("paused")) {
        if let Some(ms) = line
            .split_whitespace()
            .find_map(|field| field.strip_prefix("waited_ms="))
            .and_then(|v| v.trim_matches('"').parse::<u64>().ok())
        {
            total += ms;
            waits += 1;
        }
    }
    Ok((Duration::from_millis(total), waits))
}

/// One run's working directory, emulator and tools.
struct Bench<'a> {
    args: &'a Args,
    tf: PathBuf,
    python: PathBuf,
    script: PathBuf,
    dir: tempfile::TempDir,
    emulator: AzureEmulator,
    applies: usize,
}

impl Bench<'_> {
    fn config(&self) -> String {
        let e = &self.emulator;
        format!(
            r#"terraform {{
  required_providers {{
    bluegreen = {{ source = "agog/bluegreen" }}
  }}
}}

variable "release" {{ type = string }}

{provider}
resource "bluegreen_environment" "api" {{
  name    = "orders"
  version = var.release
{azure}
  health_check {{
    path              = "/api/health"
    interval          = "1s"
    timeout           = "2s"
    healthy_threshold = 2
    deadline          = "120s"
  }}

  post_switch {{
    window       = "1s"
    min_requests = 20
  }}
}}
"#,
            provider = e.provider_block(),
            azure = e.environment_block(false),
        )
    }

    /// Writes the configuration and the CLI configuration with dev_overrides
    /// pointing at the provider's build.
    fn prepare(&self, provider: &Path) -> anyhow::Result<()> {
        std::fs::write(self.dir.path().join("main.tf"), self.config())?;
        let bin = provider.parent().context("the provider has no directory")?;
        std::fs::write(
            self.dir.path().join("terraformrc"),
            format!(
                "provider_installation {{\n  dev_overrides {{ \"agog/bluegreen\" = \"{}\" }}\n  direct {{}}\n}}\n",
                bin.display()
            ),
        )?;
        std::fs::write(
            self.dir.path().join("emulator.json"),
            self.emulator.info.to_string(),
        )?;
        Ok(())
    }

    fn terraform(&self, args: &[&str], log: &Path) -> Command {
        let mut cmd = command(&self.tf);
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("TF_") {
                cmd.env_remove(&key);
            }
        }
        cmd.current_dir(self.dir.path())
            .args(args)
            .env("TF_CLI_CONFIG_FILE", self.dir.path().join("terraformrc"))
            .env("TF_IN_AUTOMATION", "1")
            .env("TF_INPUT", "0")
            .env("CHECKPOINT_DISABLE", "1")
            // The provider's lines only (Terraform's core stays quiet): its waits.
            .env("TF_LOG_PROVIDER", "debug")
            .env("TF_LOG_PATH", log)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(hosts) = self.emulator.hosts_file() {
            cmd.env("BLUEGREEN_AZURE_HOST_MAP", hosts);
        }
        cmd
    }

    /// `terraform apply` of `version`, measured.
    fn apply(&mut self, version: &str, extra: &[&str]) -> anyhow::Result<Release> {
        self.applies += 1;
        let log = self.dir.path().join(format!("apply-{}.log", self.applies));
        self.emulator.clear_journal();
        let var = format!("release={version}");
        let mut args = vec!["apply", "-auto-approve", "-no-color", "-var", &var];
        args.extend_from_slice(extra);
        let cmd = self.terraform(&args, &log);
        let (_, wall, cpu_s) = run(
            cmd,
            &format!("terraform apply {version}"),
            Duration::from_secs(self.args.timeout_s),
        )?;
        let journal = self.emulator.journal();
        let (paused, waits) = paused_in_log(&log)?;
        if waits == 0 && !arm_journal::writes(&journal).is_empty() {
            anyhow::bail!(
                "{} has no `paused` line of the provider: is the provider built from this tree (provider/src/waits.rs)?",
                log.display()
            );
        }
        Ok(Release {
            wall,
            paused,
            cpu_s,
            journal,
        })
    }

    /// The SDK script releasing `version`, measured.
    fn sdk(&self, version: &str) -> anyhow::Result<Release> {
        self.emulator.clear_journal();
        let mut cmd = command(&self.python);
        cmd.arg(&self.script)
            .arg(self.dir.path().join("emulator.json"))
            .arg(version)
            .env("REQUESTS_CA_BUNDLE", self.emulator.field("ca_file"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let (out, _, cpu_s) = run(
            cmd,
            &format!("azure-sdk-release.py {version}"),
            Duration::from_secs(self.args.timeout_s),
        )?;
        let journal = self.emulator.journal();
        let line = out.lines().last().unwrap_or_default();
        let report: Json = serde_json::from_str(line)
            .with_context(|| format!("the SDK script printed {out:?}, not a JSON line"))?;
        let secs = |k: &str| Duration::from_secs_f64(report[k].as_f64().unwrap_or(0.0));
        Ok(Release {
            wall: secs("steps_s"),
            paused: secs("slept_s"),
            cpu_s,
            journal,
        })
    }
}

/// Figures of one run.
struct RunResult {
    create: Release,
    noop: Release,
    update: Release,
    rollback: Release,
    sdk: Release,
    azure_update: Release,
    azure_sdk: Release,
}

fn one_run(args: &Args, run_no: usize, provider: &Path) -> anyhow::Result<RunResult> {
    let emulator = AzureEmulator::start_with(&format!("bench-azure-{run_no}"), &[], 1.0);
    let root = repo_root();
    let tf = if args.terraform.contains('/') {
        PathBuf::from(&args.terraform)
    } else {
        system_tool(
            &args.terraform,
            "install Terraform 1.11 (https://developer.hashicorp.com/terraform/install)",
        )?
    };
    let python = root.join(".tools/azure-sdk-venv/bin/python");
    anyhow::ensure!(
        python.is_file(),
        "{} is missing: `make azure-sdk-venv` installs Microsoft's Python SDK there",
        python.display()
    );
    let mut b = Bench {
        args,
        tf,
        python,
        script: root.join("bench/azure-sdk-release.py"),
        dir: tempfile::tempdir()?,
        emulator,
        applies: 0,
    };
    b.prepare(provider)?;

    // Phase A: every wait at its minimum, real time.
    b.emulator
        .settings(&json!({"lro_ms": 0, "edge_propagation_ms": [0, 0]}));
    let create = b.apply("1.0.0", &[])?;
    let noop = b.apply("1.0.0", &[])?;
    anyhow::ensure!(
        arm_journal::writes(&noop.journal).is_empty(),
        "the no-change apply wrote: {:?}",
        arm_journal::writes(&noop.journal)
    );
    let update = b.apply("1.1.0", &[])?;
    let rollback = b.apply("1.0.0", &[])?;
    let sdk = b.sdk("1.2.0")?;
    // Terraform learns what the script released (not measured).
    b.apply("1.2.0", &["-refresh-only"])?;

    // Phase B: Azure-sized waits on a fast clock.
    b.emulator
        .admin("POST", "/admin/clock", Some(&json!({"scale": args.scale})));
    b.emulator.settings(&json!({
        "lro_ms": args.azure_lro_ms,
        "edge_propagation_ms": args.azure_propagation_ms,
    }));
    let azure_update = b.apply("1.3.0", &[])?;
    let azure_sdk = b.sdk("1.4.0")?;
    if let Some(dir) = &args.journal_dir {
        std::fs::create_dir_all(dir)?;
        for (name, r) in [
            ("create", &create),
            ("noop", &noop),
            ("update", &update),
            ("rollback", &rollback),
            ("sdk", &sdk),
            ("azure-update", &azure_update),
            ("azure-sdk", &azure_sdk),
        ] {
            std::fs::write(
                dir.join(format!("run{run_no}-{name}.json")),
                serde_json::to_string_pretty(&r.journal)?,
            )?;
        }
    }
    Ok(RunResult {
        create,
        noop,
        update,
        rollback,
        sdk,
        azure_update,
        azure_sdk,
    })
}

/// `median (min–max)` of a sample, with `decimals`.
fn spread(samples: &[f64], decimals: usize) -> String {
    let s = summarize(samples);
    if (s.max - s.min).abs() < f64::EPSILON {
        format!("{:.*}", decimals, s.median)
    } else {
        format!(
            "{:.*} ({:.*}–{:.*})",
            decimals, s.median, decimals, s.min, decimals, s.max
        )
    }
}

fn median(samples: &[f64]) -> f64 {
    summarize(samples).median
}

/// Reads while waiting: from the release's first write (the deploy, or the
/// switch of a rollback) to its last request.
fn waiting(r: &Release) -> ReadRate {
    arm_journal::reads_after(&r.journal, |e| {
        arm_journal::kind(e) == arm_journal::Kind::Write
            && !e["path"]
                .as_str()
                .unwrap_or_default()
                .to_ascii_lowercase()
                .contains("/providers/microsoft.resources/tags")
    })
    .unwrap_or(ReadRate {
        reads: 0,
        emulated_s: 0.0,
    })
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let provider = workspace_bin("terraform-provider-bluegreen")?;
    workspace_bin("bluegreen-azure-emulator")?;
    workspace_bin("agog-demo-app")?;
    machine::print_header("bench-azure: Azure releases, terraform + provider vs Microsoft's Python SDK, against the emulator");
    println!("provider: {}", provider.display());
    println!(
        "phase A: lro_ms 0, edge propagation [0, 0] ms, clock scale 1; phase B: lro_ms {}, edge propagation {:?} ms emulated, clock scale {}",
        args.azure_lro_ms, args.azure_propagation_ms, args.scale
    );
    let mut results = Vec::new();
    for run_no in 1..=args.runs {
        let r = one_run(&args, run_no, &provider)?;
        println!(
            "run {run_no}: update {:.2}s (paused {:.2}s), no-change {:.2}s, SDK {:.2}s (slept {:.2}s); load {}",
            r.update.wall.as_secs_f64(),
            r.update.paused.as_secs_f64(),
            r.noop.wall.as_secs_f64(),
            r.sdk.wall.as_secs_f64(),
            r.sdk.paused.as_secs_f64(),
            machine::load()
        );
        println!(
            "  writes: create {:?}\n          update {:?}\n          rollback {:?}\n          SDK {:?}",
            arm_journal::writes(&r.create.journal),
            arm_journal::writes(&r.update.journal),
            arm_journal::writes(&r.rollback.journal),
            arm_journal::writes(&r.sdk.journal)
        );
        results.push(r);
    }

    type Pick = fn(&RunResult) -> &Release;
    let releases: [(&str, Pick); 5] = [
        ("provider: create", |r| &r.create),
        ("provider: no-change apply", |r| &r.noop),
        ("provider: update", |r| &r.update),
        ("provider: rollback", |r| &r.rollback),
        ("SDK script: release", |r| &r.sdk),
    ];
    let col = |pick: Pick, f: fn(&Counts) -> usize| -> Vec<f64> {
        results
            .iter()
            .map(|r| f(&pick(r).counts()) as f64)
            .collect()
    };

    println!("\nARM requests per release, phase A (waits at their minimum); median (min–max) over {} runs:\n", results.len());
    let mut t = Table::new([
        "release",
        "tokens",
        "resource reads",
        "operation polls",
        "metrics reads",
        "writes",
        "ARM requests",
    ]);
    for (name, pick) in releases {
        t.row([
            name.to_string(),
            spread(&col(pick, |c| c.tokens), 0),
            spread(&col(pick, |c| c.resource_reads), 0),
            spread(&col(pick, |c| c.operation_polls), 0),
            spread(&col(pick, |c| c.metrics), 0),
            spread(&col(pick, |c| c.writes), 0),
            spread(&col(pick, Counts::arm), 0),
        ]);
    }
    print!("{}", t.render());

    println!("\nTime per release, phase A, seconds; own = apply − no-change apply − waits:\n");
    let mut t = Table::new([
        "release",
        "wall",
        "waits",
        "wall − waits",
        "own (− no-change apply)",
        "CPU (terraform + provider)",
    ]);
    let noop: Vec<f64> = results.iter().map(|r| r.noop.wall.as_secs_f64()).collect();
    let own = |pick: Pick| -> Vec<f64> {
        results
            .iter()
            .map(|r| {
                let x = pick(r);
                x.wall.as_secs_f64() - x.paused.as_secs_f64() - r.noop.wall.as_secs_f64()
            })
            .collect()
    };
    for (name, pick) in releases {
        let wall: Vec<f64> = results.iter().map(|r| pick(r).wall.as_secs_f64()).collect();
        let paused: Vec<f64> = results
            .iter()
            .map(|r| pick(r).paused.as_secs_f64())
            .collect();
        let active: Vec<f64> = wall.iter().zip(&paused).map(|(w, p)| w - p).collect();
        let cpu: Vec<f64> = results.iter().map(|r| pick(r).cpu_s).collect();
        let own_cell = if name.starts_with("provider") && !name.contains("no-change") {
            spread(&own(pick), 2)
        } else {
            "—".into()
        };
        t.row([
            name.to_string(),
            spread(&wall, 2),
            spread(&paused, 2),
            spread(&active, 2),
            own_cell,
            spread(&cpu, 2),
        ]);
    }
    print!("{}", t.render());
    println!("(no-change apply: {} s)", spread(&noop, 2));

    println!(
        "\nPhase B (Azure-sized waits, clock ×{}): update by the provider vs the SDK script:\n",
        args.scale
    );
    let mut t = Table::new([
        "release",
        "ARM requests",
        "reads",
        "writes",
        "wall s",
        "reads while waiting",
        "reads/min (wall)",
        "reads/min (emulated)",
        "margin to 200/min",
    ]);
    let phase_b: [(&str, Pick); 2] = [
        ("provider: update", |r| &r.azure_update),
        ("SDK script: release", |r| &r.azure_sdk),
    ];
    for (name, pick) in phase_b {
        let counts = |f: fn(&Counts) -> usize| -> Vec<f64> {
            results
                .iter()
                .map(|r| f(&pick(r).counts()) as f64)
                .collect()
        };
        let rates: Vec<ReadRate> = results.iter().map(|r| waiting(pick(r))).collect();
        let wall_rate: Vec<f64> = rates
            .iter()
            .map(|r| r.per_wall_minute(args.scale))
            .collect();
        let emu_rate: Vec<f64> = rates.iter().map(ReadRate::per_emulated_minute).collect();
        let margin: Vec<f64> = wall_rate
            .iter()
            .map(|r| ARM_READS_PER_MINUTE / r.max(1e-9))
            .collect();
        t.row([
            name.to_string(),
            spread(&counts(Counts::arm), 0),
            spread(&counts(Counts::reads), 0),
            spread(&counts(|c| c.writes), 0),
            spread(
                &results
                    .iter()
                    .map(|r| pick(r).wall.as_secs_f64())
                    .collect::<Vec<_>>(),
                1,
            ),
            spread(&rates.iter().map(|r| r.reads as f64).collect::<Vec<_>>(), 0),
            spread(&wall_rate, 1),
            spread(&emu_rate, 2),
            format!("{}×", spread(&margin, 1)),
        ]);
    }
    print!("{}", t.render());

    println!("\nRatios provider / SDK script (medians of per-run ratios):\n");
    let mut t = Table::new(["figure", "provider", "SDK script", "ratio"]);
    let ratio_row = |t: &mut Table, what: &str, p: Vec<f64>, s: Vec<f64>| {
        let ratios: Vec<f64> = p.iter().zip(&s).map(|(a, b)| a / b.max(1e-9)).collect();
        t.row([
            what.to_string(),
            spread(&p, 2),
            spread(&s, 2),
            spread(&ratios, 2),
        ]);
    };
    let arm = |pick: Pick| -> Vec<f64> {
        results
            .iter()
            .map(|r| pick(r).counts().arm() as f64)
            .collect()
    };
    let reads = |pick: Pick| -> Vec<f64> {
        results
            .iter()
            .map(|r| pick(r).counts().reads() as f64)
            .collect()
    };
    let active = |pick: Pick| -> Vec<f64> {
        results
            .iter()
            .map(|r| pick(r).wall.as_secs_f64() - pick(r).paused.as_secs_f64())
            .collect()
    };
    ratio_row(
        &mut t,
        "ARM requests, phase A (update vs release)",
        arm(|r| &r.update),
        arm(|r| &r.sdk),
    );
    ratio_row(
        &mut t,
        "ARM reads, phase A",
        reads(|r| &r.update),
        reads(|r| &r.sdk),
    );
    ratio_row(
        &mut t,
        "ARM requests, phase B",
        arm(|r| &r.azure_update),
        arm(|r| &r.azure_sdk),
    );
    ratio_row(
        &mut t,
        "time beyond waits, s, phase A (provider: own; SDK: steps − sleeps)",
        own(|r| &r.update),
        active(|r| &r.sdk),
    );
    ratio_row(
        &mut t,
        "wall s, phase B (provider: terraform apply; SDK: steps)",
        results
            .iter()
            .map(|r| r.azure_update.wall.as_secs_f64())
            .collect(),
        results
            .iter()
            .map(|r| r.azure_sdk.wall.as_secs_f64())
            .collect(),
    );
    print!("{}", t.render());

    let own_update = median(&own(|r| &r.update));
    let worst_rate = results
        .iter()
        .map(|r| waiting(&r.azure_update).per_wall_minute(args.scale))
        .fold(0.0, f64::max);
    println!(
        "\ngoals: reads while waiting < {ARM_READS_PER_MINUTE:.0}/min: {} (worst {worst_rate:.1}/min); own time per update ≤ 1 s: {} (median {own_update:.2} s)",
        if worst_rate < ARM_READS_PER_MINUTE { "met" } else { "NOT met" },
        if own_update <= 1.0 { "met" } else { "NOT met" },
    );
    machine::print_footer();
    Ok(())
}
