//! Microsoft's Python SDK (azure-identity, azure-mgmt-appcontainers,
//! azure-mgmt-cdn, azure-mgmt-monitor) as the independent judge: it runs
//! sdk/test_sdk_judge.py against an emulator started here. The virtualenv comes
//! from `make azure-sdk-venv` (part of `make tools`); without it this test fails
//! and says so, rather than skipping.

mod common;

use std::path::PathBuf;
use std::time::Duration;

fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("workspace root")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn microsofts_python_sdk_accepts_the_emulator() {
    let root = workspace_root();
    let venv = std::env::var_os("AZURE_SDK_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join(".tools/azure-sdk-venv"));
    let python = venv.join("bin/python");
    assert!(
        python.exists() && venv.join(".installed").exists(),
        "Microsoft's Python SDK is not installed in {}: run `make azure-sdk-venv` (or `make tools`) first",
        venv.display()
    );

    let emu = common::start().await;
    let info_file = emu
        .info
        .ca_file
        .parent()
        .expect("state dir")
        .join("emulator.json");
    let mut child = tokio::process::Command::new(&python)
        .args([
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "sdk/test_sdk_judge.py",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("AZURE_EMULATOR_INFO", &info_file)
        .env("REQUESTS_CA_BUNDLE", &emu.info.ca_file)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env(
            "AZ_STANDIN",
            env!("CARGO_BIN_EXE_bluegreen-azure-emulator-az"),
        )
        .env("BLUEGREEN_AZURE_EMULATOR_ADMIN_URL", &emu.info.admin_url)
        // Keep a developer's Azure settings out of the judge's credentials.
        .env_remove("AZURE_CLIENT_ID")
        .env_remove("AZURE_TENANT_ID")
        .env_remove("AZURE_CLIENT_SECRET")
        .env_remove("AZURE_AUTHORITY_HOST")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start pytest");
    let stdout = child.stdout.take();
    let stderr = child.stderr.take();
    let read = |pipe: Option<tokio::process::ChildStdout>| async move {
        let mut out = String::new();
        if let Some(mut p) = pipe {
            use tokio::io::AsyncReadExt;
            let _ = p.read_to_string(&mut out).await;
        }
        out
    };
    let out_task = tokio::spawn(read(stdout));
    let err_task = tokio::spawn(async move {
        let mut out = String::new();
        if let Some(mut p) = stderr {
            use tokio::io::AsyncReadExt;
            let _ = p.read_to_string(&mut out).await;
        }
        out
    });
    // Generous bound for a loaded 2-core machine; it takes about 6 s idle.
    let status = tokio::time::timeout(Duration::from_secs(180), child.wait())
        .await
        .expect("pytest finished within 180 s")
        .expect("pytest ran");
    let out = out_task.await.unwrap_or_default();
    let err = err_task.await.unwrap_or_default();
    println!("{out}\n{err}");
    assert!(status.success(), "the SDK judge failed:\n{out}\n{err}");
    assert!(out.contains(" passed"), "pytest ran no test:\n{out}");
}
