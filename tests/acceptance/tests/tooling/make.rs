//! `make` as the README uses it, checked with `make -n` (which prints the
//! commands without running them): nothing here builds or installs.

use crate::{both, run_in_repo};

#[test]
fn bare_make_builds_and_installs_nothing() {
    let out = run_in_repo("make", &["-n", "--no-print-directory"]);
    let text = both(&out);
    assert!(out.status.success(), "`make -n` failed:\n{text}");
    assert!(
        text.contains("build --workspace --bins"),
        "a bare `make` should build the workspace's binaries; it would run:\n{text}"
    );
    for unwanted in ["install", "quickstart", "--release"] {
        assert!(
            !text.contains(unwanted),
            "a bare `make` should only build, but it would run {unwanted:?}:\n{text}"
        );
    }
}

#[test]
fn make_install_puts_the_demo_app_where_the_readme_runs_it() {
    let bin_dir = "/nonexistent/bluegreen-bin";
    let out = run_in_repo(
        "make",
        &[
            "-n",
            "--no-print-directory",
            "install",
            &format!("BIN_DIR={bin_dir}"),
            "PLUGIN_DIR=/nonexistent/bluegreen-plugins",
        ],
    );
    let text = both(&out);
    assert!(out.status.success(), "`make -n install` failed:\n{text}");
    assert!(
        text.contains("-p agog-demo-app"),
        "`make install` does not build agog-demo-app:\n{text}"
    );
    assert!(
        text.contains(&format!("{bin_dir}/agog-demo-app")),
        "`make install` does not install agog-demo-app into BIN_DIR:\n{text}"
    );
}
