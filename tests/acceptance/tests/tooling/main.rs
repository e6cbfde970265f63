//! The commands a developer runs around the code: `make` and CI's scripts do
//! what the README says, and leave nothing behind.

mod ci_postgres;
mod dependencies;
mod make;

use std::process::{Command, Output};

pub use bluegreen_acceptance::harness::terraform::repo_root;

/// Runs `program args` in the repository root; panics when it cannot start.
pub fn run_in_repo(program: &str, args: &[&str]) -> Output {
    Command::new(program)
        .args(args)
        .current_dir(repo_root())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"))
}

/// stdout then stderr, for failure messages.
pub fn both(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}
