//! `terraform-provider-bluegreen migrations check DIR [--format json]`: the
//! plan-time classifier for pull-request pipelines, without a database.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Subcommand, ValueEnum};
use serde::Serialize;

use crate::migrate::{Class, Finding, Migration, MigrationSet, Version};

/// `migrations …`
#[derive(Debug, Args)]
pub struct MigrationsArgs {
    #[command(subcommand)]
    command: MigrationsCommand,
}

#[derive(Debug, Subcommand)]
enum MigrationsCommand {
    /// Classify every migration in DIR as expand, contract or unknown, with
    /// squawk's lock-safety warnings. Exits 1 when a contract or unknown
    /// migration is found, 2 when the folder itself is invalid, 0 otherwise.
    Check {
        /// Folder of Flyway-named migrations (V<version>__<description>.sql, R__<description>.sql).
        dir: PathBuf,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
        /// Check only versioned migrations above this version (e.g. the one
        /// production runs), plus the repeatable ones.
        #[arg(long, value_name = "VERSION")]
        after: Option<String>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    /// For people.
    Human,
    /// A JSON array, one object per migration.
    Json,
}

/// One migration in the JSON report.
#[derive(Debug, Serialize)]
pub struct Report {
    /// Path of the file.
    pub file: String,
    /// Version (null for repeatables).
    pub version: Option<String>,
    /// Description from the file name.
    pub description: String,
    /// `expand`, `contract` or `unknown`.
    pub class: Class,
    /// The `-- bluegreen:requires` version.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requires: Option<String>,
    /// Why it is contract or unknown.
    pub reasons: Vec<Finding>,
    /// Lock-safety warnings.
    pub warnings: Vec<Finding>,
}

/// Builds the report for the migrations of `dir` above `after`.
pub fn report(dir: &Path, set: &MigrationSet, after: Option<&Version>) -> Vec<Report> {
    set.all()
        .filter(|m| match (m.version(), after) {
            (Some(v), Some(a)) => v > a,
            _ => true,
        })
        .map(|m: &Migration| Report {
            file: dir.join(&m.script).display().to_string(),
            version: m.version().map(ToString::to_string),
            description: m.description.clone(),
            class: m.analysis.class,
            requires: m.requires.clone(),
            reasons: m.analysis.reasons.clone(),
            warnings: m.analysis.warnings.clone(),
        })
        .collect()
}

/// Runs the subcommand; returns the exit code.
pub fn run(args: MigrationsArgs) -> ExitCode {
    match args.command {
        MigrationsCommand::Check { dir, format, after } => check(&dir, format, after.as_deref()),
    }
}

fn check(dir: &Path, format: Format, after: Option<&str>) -> ExitCode {
    let after = match after.map(Version::parse).transpose() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("error: --after: {e}");
            return ExitCode::from(2);
        }
    };
    let set = match MigrationSet::load(dir) {
        Ok(set) => set,
        Err(errors) => {
            for e in errors.0 {
                eprintln!("error: {e}");
            }
            return ExitCode::from(2);
        }
    };
    let reports = report(dir, &set, after.as_ref());
    let text = match format {
        Format::Json => match serde_json::to_string_pretty(&reports) {
            Ok(json) => json,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
        },
        Format::Human => human(&reports, &set.skipped),
    };
    let printed = super::print_out(&text);
    if printed != ExitCode::SUCCESS {
        return printed;
    }
    if reports.iter().any(|r| r.class.is_breaking()) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

fn human(reports: &[Report], skipped: &[String]) -> String {
    let mut out = Vec::new();
    let count = |c: Class| reports.iter().filter(|r| r.class == c).count();
    for r in reports {
        let requires = r
            .requires
            .as_ref()
            .map(|v| format!("  (requires {v})"))
            .unwrap_or_default();
        out.push(format!("{}  {}{requires}", r.file, r.class));
        for f in &r.reasons {
            out.push(format!(
                "  {}:{}: {}: {}",
                r.file, f.line, f.rule, f.message
            ));
        }
        for w in &r.warnings {
            out.push(format!(
                "  warning: {}:{}: {}: {}",
                r.file, w.line, w.rule, w.message
            ));
        }
    }
    for s in skipped {
        out.push(format!(
            "{s}  skipped (undo migrations are never applied by this provider)"
        ));
    }
    if !out.is_empty() {
        out.push(String::new());
    }
    out.push(format!(
        "{} migration{}: {} expand, {} contract, {} unknown",
        reports.len(),
        if reports.len() == 1 { "" } else { "s" },
        count(Class::Expand),
        count(Class::Contract),
        count(Class::Unknown)
    ));
    out.join("\n")
}
