//! `bench-plan`: `terraform plan` of 500 resources of the test provider against 500
//! `terraform_data` (built into Terraform), same shape of configuration, measured side by
//! side in interleaved rounds: first on an empty state (500 planned creations), then after
//! an apply (500 refreshes). While the test provider's plans run, its peak resident set
//! (`VmHWM`) is sampled from /proc.
//!
//! Two test-provider resources are measured: `bgtest_data`, which has exactly
//! `terraform_data`'s schema (so the difference is the plugin protocol path: process
//! start-up, gRPC, TLS, msgpack), and `bgtest_thing`, the rich test schema (nested blocks,
//! sets, a map, timeouts), whose extra cost is mostly Terraform's own per-schema work.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;
use bluegreen_acceptance::harness::ProviderBinary;
use bluegreen_bench::cpu::waited_children_cpu_seconds;
use bluegreen_bench::machine;
use bluegreen_bench::process::command;
use bluegreen_bench::rss::{Peaks, Sampler};
use bluegreen_bench::stats::summarize;
use bluegreen_bench::table::{ms, ratio, Table};
use bluegreen_bench::tools::{binary_label, system_tool, workspace_bin};
use clap::Parser;

#[derive(Parser)]
#[command(
    about = "terraform plan: 500 bgtest_data / bgtest_thing vs 500 terraform_data, and the provider's peak RSS"
)]
struct Args {
    /// Terraform CLI (1.11.x has terraform_data built in).
    #[arg(long, default_value = "terraform")]
    terraform: String,
    /// Resources per configuration.
    #[arg(long, default_value_t = 500)]
    resources: usize,
    /// Measured rounds per phase (each round plans both configurations).
    #[arg(long, default_value_t = 7)]
    rounds: usize,
    /// Test provider binaries to measure, each with both resources as their own
    /// configurations, interleaved (default: terraform-provider-bgtest next to this
    /// benchmark). Repeat to compare builds, or to put the Go reference provider
    /// (`bench/go-reference-provider/build.sh`, `bgtest_data` only) beside ours.
    #[arg(long)]
    bgtest: Vec<PathBuf>,
    /// Test-provider resources to measure: `data` (terraform_data's schema) and/or
    /// `thing` (the rich test schema).
    #[arg(long, value_delimiter = ',', default_value = "data,thing")]
    resource: Vec<String>,
    /// Longest a single terraform command may take, seconds.
    #[arg(long, default_value_t = 600)]
    timeout: u64,
}

/// One configuration: a work directory, its CLI config, and the executable name of
/// its provider (none for `terraform_data`).
struct Config {
    label: String,
    dir: PathBuf,
    cli_config: PathBuf,
    provider_exe: Option<String>,
}

/// The test provider's configuration with `n` of one resource: `bgtest_data` gets
/// `input`, as `terraform_data` does; `bgtest_thing` gets `name`.
fn bgtest_config(n: usize, store: &Path, provider: &ProviderBinary, resource: &str) -> String {
    let attribute = if resource == "bgtest_data" {
        "input"
    } else {
        "name"
    };
    format!(
        "{}\nprovider \"bgtest\" {{\n  store_dir = \"{}\"\n}}\n\nresource \"{resource}\" \"r\" {{\n  count = {n}\n  {attribute} = \"thing-${{count.index}}\"\n}}\n",
        provider.required_providers_block(),
        store.display()
    )
}

fn data_config(n: usize) -> String {
    format!("resource \"terraform_data\" \"r\" {{\n  count = {n}\n  input = \"thing-${{count.index}}\"\n}}\n")
}

/// A terraform command in `dir`, with no TF_LOG (logging is not what is measured)
/// and the filesystem mirror as the only source of agog providers.
fn terraform(tf: &Path, dir: &Path, cli_config: &Path, args: &[&str]) -> Command {
    let mut cmd = command(tf);
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("TF_") {
            cmd.env_remove(&key);
        }
    }
    cmd.current_dir(dir)
        .args(args)
        .env("TF_CLI_CONFIG_FILE", cli_config)
        .env("TF_IN_AUTOMATION", "1")
        .env("TF_INPUT", "0")
        .env("CHECKPOINT_DISABLE", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

/// Runs to completion within `timeout`; returns the wall time.
fn run(cmd: Command, what: &str, timeout: Duration) -> anyhow::Result<Duration> {
    run_sampled(cmd, what, timeout, None).map(|(t, _)| t)
}

/// [`run`], sampling the children of the command whose executable starts with
/// `sample` (provider plugins) for memory and CPU.
fn run_sampled(
    mut cmd: Command,
    what: &str,
    timeout: Duration,
    sample: Option<&str>,
) -> anyhow::Result<(Duration, Peaks)> {
    let started = Instant::now();
    let child = cmd.spawn().with_context(|| format!("starting {what}"))?;
    let pid = child.id();
    let sampler = sample.map(|prefix| Sampler::start(prefix, pid, Duration::from_millis(5)));
    // The watchdog kills a hung terraform; the normal path never waits for it.
    let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
    let watchdog = std::thread::spawn(move || {
        if done_rx.recv_timeout(timeout).is_err() {
            bluegreen_bench::process::signal(pid, libc::SIGKILL);
        }
    });
    let out = child
        .wait_with_output()
        .with_context(|| format!("waiting for {what}"))?;
    let elapsed = started.elapsed();
    let peaks = sampler.map(Sampler::finish).unwrap_or_default();
    let _ = done_tx.send(());
    let _ = watchdog.join();
    if !out.status.success() {
        anyhow::bail!(
            "{what} failed ({}) after {elapsed:?}:\n{}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok((elapsed, peaks))
}

struct Phase {
    name: &'static str,
    /// Wall ms per configuration, in round order.
    times: Vec<Vec<f64>>,
    /// Peak RSS of the provider per plan, KiB, and the provider processes seen.
    rss_kib: Vec<Vec<u64>>,
    provider_processes: Vec<Vec<usize>>,
    /// CPU seconds of terraform and the providers it ran, per plan.
    cpu_total: Vec<Vec<f64>>,
    /// CPU seconds of the providers alone, per plan.
    cpu_provider: Vec<Vec<f64>>,
}

fn write_cli_config(path: &Path, mirror: &Path, provider: &ProviderBinary) -> anyhow::Result<()> {
    let pattern = format!("{}/{}/*", provider.hostname, provider.namespace);
    std::fs::write(
        path,
        format!(
            "provider_installation {{\n  filesystem_mirror {{\n    path    = \"{}\"\n    include = [\"{pattern}\"]\n  }}\n  direct {{\n    exclude = [\"{pattern}\"]\n  }}\n}}\n",
            mirror.display()
        ),
    )
    .with_context(|| format!("writing {}", path.display()))
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let tf = if args.terraform.contains('/') {
        PathBuf::from(&args.terraform)
    } else {
        system_tool(
            &args.terraform,
            "install Terraform 1.11 (https://developer.hashicorp.com/terraform/install)",
        )?
    };
    let version = Command::new(&tf)
        .arg("version")
        .env("CHECKPOINT_DISABLE", "1")
        .output()
        .with_context(|| format!("running {} version", tf.display()))?;
    let version = String::from_utf8_lossy(&version.stdout)
        .lines()
        .next()
        .unwrap_or("")
        .to_owned();
    let binaries = if args.bgtest.is_empty() {
        vec![workspace_bin("terraform-provider-bgtest")?]
    } else {
        args.bgtest.clone()
    };
    let mut resources = Vec::new();
    for r in &args.resource {
        match r.as_str() {
            "data" => resources.push("bgtest_data"),
            "thing" => resources.push("bgtest_thing"),
            other => anyhow::bail!("--resource {other:?}: expected data or thing"),
        }
    }
    let timeout = Duration::from_secs(args.timeout);

    machine::print_header(
        "bench-plan: terraform plan, bgtest_data / bgtest_thing vs terraform_data",
    );
    println!("terraform: {} ({version})", tf.display());
    println!(
        "{} resources per configuration (count), {} measured rounds per phase after one warm-up, order rotating",
        args.resources, args.rounds
    );

    let work = tempfile::Builder::new()
        .prefix("bluegreen-bench-plan-")
        .tempdir()
        .context("creating a work directory")?;
    let mut configs = Vec::new();
    let plugins = binaries
        .iter()
        .flat_map(|b| resources.iter().map(move |r| (*r, b)));
    for (k, (resource, binary)) in plugins.enumerate() {
        let provider = ProviderBinary::new("bgtest", env!("CARGO_PKG_VERSION"), binary);
        let dir = work.path().join(format!("{resource}-{k}"));
        let mirror = dir.join("mirror");
        provider
            .install_into_mirror(&mirror)
            .with_context(|| format!("installing {} into the mirror", binary.display()))?;
        let cli_config = dir.join("terraformrc");
        write_cli_config(&cli_config, &mirror, &provider)?;
        let store = dir.join("store");
        std::fs::create_dir_all(&store)?;
        std::fs::write(
            dir.join("main.tf"),
            bgtest_config(args.resources, &store, &provider, resource),
        )?;
        let name = binary_label(binary);
        println!("configuration {k}: {resource} from {}", binary.display());
        configs.push(Config {
            label: format!("{resource} ({name})"),
            dir,
            cli_config,
            provider_exe: Some(provider.plugin_name()),
        });
    }
    {
        let dir = work.path().join("data");
        std::fs::create_dir_all(&dir)?;
        std::fs::write(dir.join("main.tf"), data_config(args.resources))?;
        let cli_config = dir.join("terraformrc");
        std::fs::write(&cli_config, "")?;
        configs.push(Config {
            label: "terraform_data (built in)".into(),
            dir,
            cli_config,
            provider_exe: None,
        });
    }
    let data = configs.len() - 1;
    for c in &configs {
        run(
            terraform(&tf, &c.dir, &c.cli_config, &["init", "-no-color"]),
            &format!("terraform init ({})", c.label),
            timeout,
        )?;
    }

    let plan_args = ["plan", "-no-color", "-input=false"];
    let n = configs.len();
    let mut phases = Vec::new();
    let mut apply_ms = vec![0.0; n];
    for phase_name in [
        "fresh state: plan of creations",
        "after apply: plan with refreshes",
    ] {
        if !phases.is_empty() {
            for (i, c) in configs.iter().enumerate() {
                let t = run(
                    terraform(
                        &tf,
                        &c.dir,
                        &c.cli_config,
                        &["apply", "-no-color", "-input=false", "-auto-approve"],
                    ),
                    &format!("terraform apply ({})", c.label),
                    timeout,
                )?;
                apply_ms[i] = t.as_secs_f64() * 1000.0;
            }
        }
        let mut phase = Phase {
            name: phase_name,
            times: vec![Vec::new(); n],
            rss_kib: vec![Vec::new(); n],
            provider_processes: vec![Vec::new(); n],
            cpu_total: vec![Vec::new(); n],
            cpu_provider: vec![Vec::new(); n],
        };
        for round in 0..=args.rounds {
            for k in 0..n {
                let i = (k + round) % n;
                let c = &configs[i];
                // Every configuration carries the sampler, so its small cost favours none.
                let cpu_before = waited_children_cpu_seconds();
                let (t, peaks) = run_sampled(
                    terraform(&tf, &c.dir, &c.cli_config, &plan_args),
                    &format!("terraform plan ({})", c.label),
                    timeout,
                    Some(c.provider_exe.as_deref().unwrap_or("terraform-provider-")),
                )?;
                if round == 0 {
                    continue; // warm-up
                }
                phase.times[i].push(t.as_secs_f64() * 1000.0);
                phase.rss_kib[i].push(peaks.max_kib());
                phase.provider_processes[i].push(peaks.processes());
                phase.cpu_total[i].push(waited_children_cpu_seconds() - cpu_before);
                phase.cpu_provider[i].push(peaks.cpu_seconds());
            }
            if round > 0 {
                let times: Vec<String> = configs
                    .iter()
                    .zip(&phase.times)
                    .map(|(c, t)| format!("{} {:.0} ms", c.label, t.last().copied().unwrap_or(0.0)))
                    .collect();
                println!(
                    "  {phase_name}, round {round}: {}; load {}",
                    times.join(", "),
                    machine::load()
                );
            }
        }
        phases.push(phase);
    }

    let mut table = Table::new([
        "phase",
        "configuration",
        "median ms (min–max)",
        "ratio of medians to terraform_data",
        "per-round ratio median (min–max)",
        "target ≤ 1.5",
    ]);
    let mut rss_table = Table::new([
        "phase",
        "configuration",
        "provider processes per plan",
        "peak VmHWM median MiB",
        "peak VmHWM max MiB",
        "target ≤ 25 MB",
    ]);
    let mut cpu_table = Table::new([
        "phase",
        "configuration",
        "CPU s, terraform + provider (median)",
        "of which provider",
        "of which terraform",
    ]);
    // 25 MB = 25e6 bytes.
    let limit_mib = 25e6 / 1_048_576.0;
    for p in &phases {
        let base = summarize(&p.times[data]);
        for (i, c) in configs.iter().enumerate() {
            let total = summarize(&p.cpu_total[i]).median;
            let prov = summarize(&p.cpu_provider[i]).median;
            cpu_table.row([
                p.name.to_owned(),
                c.label.clone(),
                format!("{total:.2}"),
                format!("{:.2}", prov.max(0.0)),
                format!("{:.2}", total - prov.max(0.0)),
            ]);
            let a = summarize(&p.times[i]);
            if i == data {
                table.row([
                    p.name.to_owned(),
                    c.label.clone(),
                    format!("{} ({}–{})", ms(a.median), ms(a.min), ms(a.max)),
                    "1.00".into(),
                    "—".into(),
                    "—".into(),
                ]);
                continue;
            }
            let per_round: Vec<f64> = p.times[i]
                .iter()
                .zip(&p.times[data])
                .map(|(a, b)| a / b)
                .collect();
            let r = summarize(&per_round);
            let overall = a.median / base.median;
            table.row([
                p.name.to_owned(),
                c.label.clone(),
                format!("{} ({}–{})", ms(a.median), ms(a.min), ms(a.max)),
                ratio(overall),
                format!("{} ({}–{})", ratio(r.median), ratio(r.min), ratio(r.max)),
                if overall <= 1.5 {
                    "met".into()
                } else {
                    "NOT met".into()
                },
            ]);
            let rss: Vec<f64> = p.rss_kib[i].iter().map(|k| *k as f64 / 1024.0).collect();
            let rs = summarize(&rss);
            let mut procs = p.provider_processes[i].clone();
            procs.sort_unstable();
            procs.dedup();
            let procs: Vec<String> = procs.iter().map(ToString::to_string).collect();
            rss_table.row([
                p.name.to_owned(),
                c.label.clone(),
                procs.join(", "),
                format!("{:.1}", rs.median),
                format!("{:.1}", rs.max),
                if rs.max > 0.0 && rs.max <= limit_mib {
                    "met".into()
                } else {
                    "NOT met".into()
                },
            ]);
        }
    }
    println!("\nterraform plan wall time ({} resources):", args.resources);
    println!("{}", table.render());
    println!("CPU time per plan (getrusage of the waited-for terraform; provider from /proc):");
    println!("{}", cpu_table.render());
    println!("provider peak RSS during the plans (VmHWM of the provider processes terraform started, sampled every 5 ms):");
    println!("{}", rss_table.render());
    let applies: Vec<String> = configs
        .iter()
        .zip(&apply_ms)
        .map(|(c, t)| format!("{} {t:.0} ms", c.label))
        .collect();
    println!(
        "(untimed setup) terraform apply of {} resources: {}",
        args.resources,
        applies.join(", ")
    );
    machine::print_footer();
    Ok(())
}
