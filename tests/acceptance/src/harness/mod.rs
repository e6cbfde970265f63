//! An acceptance harness driving the real Terraform CLI, modelled on
//! terraform-plugin-testing, for any provider of this workspace.
//!
//! A [`TestCase`] of [`Step`]s runs on every CLI of [`Terraform::all`], each
//! in its own [`Workspace`] with the provider installed from a filesystem
//! mirror and `TF_LOG=trace` captured; a failure prints the command, its
//! output and the tail of the trace log, and keeps the work directory.
//! [`plugin`] starts a provider binary the way Terraform does, for tests of
//! the plugin protocol itself (mTLS, Shutdown, malformed input).
//! [`local_platform`] gives a test its own `bluegreen-local` daemon;
//! [`azure_emulator`] gives a test its own seeded Azure emulator.
//! [`fixture`] adds a front-door port and the provider configuration pointed
//! at that daemon, and [`environment`] writes the `bluegreen_environment`
//! block the suites run on it.
//! [`http`] asks a loopback server what a user would get, and [`load`]
//! keeps `bluegreen-load` running through a front door meanwhile;
//! [`front_door`] reads one answer of it.
//! [`output`] matches what a Terraform command printed, however it wrapped.
//! [`websocket`] holds a WebSocket to the demo app's `/ws` through a front door.
//! [`browser`] drives headless Chromium through chromedriver, to read a page's DOM.

pub mod alert_receiver;
pub mod azure_emulator;
pub mod browser;
pub mod case;
pub mod environment;
pub mod fixture;
pub mod front_door;
pub mod http;
pub mod load;
pub mod local_platform;
pub mod output;
pub mod plugin;
pub mod postgres;
pub mod provider;
pub mod state;
pub mod terraform;
pub mod websocket;
pub mod workspace;

pub use case::{on_every_cli, Expect, ImportId, ImportVerify, Step, TestCase};
pub use environment::EnvConfig;
pub use fixture::LocalFixture;
pub use front_door::Answer;
pub use load::{Load, LoadBounds, LoadSummary};
pub use local_platform::{AdminApi, LocalDaemon};
pub use output::{expect_match, first_error, unwrapped};
pub use provider::ProviderBinary;
pub use state::{ResourceState, State};
pub use terraform::Terraform;
pub use websocket::AppSocket;
pub use workspace::{Output, Running, Workspace};

/// Prints a progress line to the real stderr, past the test harness's output
/// capture, so `cargo test` shows which CLIs ran and how long things took.
pub fn announce(line: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}
