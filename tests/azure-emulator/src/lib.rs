//! An Azure emulator for the provider's tests: AAD tokens, ARM for Container
//! Apps, Front Door (Standard/Premium) and Azure Monitor metrics, served over TLS
//! from its own CA, with long-running operations, fault scripts and a request
//! journal behind a plain-HTTP admin API. Test equipment only; see README.md.

pub mod aad;
pub mod admin;
pub mod arm;
pub mod clock;
pub mod faults;
mod front;
pub mod ids;
pub mod metrics;
pub mod reply;
pub mod runtime;
pub mod seed;
mod server;
pub mod state;
pub mod tls;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};

use serde::Serialize;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::clock::Clock;
use crate::state::{Credentials, Settings, State};

/// Failures starting the emulator.
#[derive(Debug, thiserror::Error)]
pub enum EmulatorError {
    /// A listener could not be bound.
    #[error("binding {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The state directory could not be created.
    #[error("creating the state directory {path}: {source}")]
    StateDir {
        /// The directory.
        path: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// TLS material could not be made.
    #[error(transparent)]
    Tls(#[from] tls::TlsError),
    /// The process runner could not start.
    #[error("starting revisions and edge listeners: {source}")]
    Runtime {
        /// The underlying error.
        source: std::io::Error,
    },
    /// The OS gave no randomness for the credentials.
    #[error("the operating system's random source failed; cannot make credentials")]
    Random,
}

/// How to start the emulator.
#[derive(Debug, Clone)]
pub struct EmulatorConfig {
    /// Address of the TLS listener (AAD, managed identity and ARM).
    pub listen: SocketAddr,
    /// Address of the plain-HTTP admin listener.
    pub admin_listen: SocketAddr,
    /// Directory for `ca.pem` and `emulator.json`.
    pub state_dir: PathBuf,
    /// Speed of emulated time relative to real time.
    pub clock_scale: f64,
    /// Initial tunables.
    pub settings: Settings,
    /// Run revisions as processes behind label addresses and edge locations.
    pub runtime: Option<runtime::RuntimeConfig>,
}

impl EmulatorConfig {
    /// Loopback listeners on free ports, writing into `state_dir`.
    pub fn loopback(state_dir: impl Into<PathBuf>) -> Self {
        EmulatorConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            admin_listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            state_dir: state_dir.into(),
            clock_scale: 1.0,
            settings: Settings::default(),
            runtime: None,
        }
    }
}

/// What is shared between the listeners' handlers.
pub struct Shared {
    state: Mutex<State>,
    /// The emulated clock.
    pub clock: Clock,
    /// The accepted identity and the subscription.
    pub credentials: Credentials,
    /// `https://127.0.0.1:PORT`, the authority host and ARM endpoint.
    pub base_url: String,
}

impl Shared {
    /// Locks the state; a handler that panicked leaves consistent-enough data for
    /// test equipment, so a poisoned lock is used anyway.
    pub fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Where to reach a running emulator and how to authenticate (printed as one
/// JSON line by the binary).
#[derive(Debug, Clone, Serialize)]
pub struct EmulatorInfo {
    /// ARM endpoint and AAD authority host, `https://127.0.0.1:PORT`.
    pub base_url: String,
    /// Admin API, `http://127.0.0.1:PORT`.
    pub admin_url: String,
    /// PEM file of the emulator's CA.
    pub ca_file: PathBuf,
    /// AAD tenant id.
    pub tenant_id: String,
    /// Service principal id.
    pub client_id: String,
    /// Its client secret (a throwaway made at start).
    pub client_secret: String,
    /// The subscription ARM serves.
    pub subscription_id: String,
    /// Token audience / scope for ARM (`{base_url}/.default`).
    pub arm_scope: String,
    /// Managed identity, IMDS shape: set `AZURE_POD_IDENTITY_AUTHORITY_HOST` to this.
    pub imds_endpoint: String,
    /// Managed identity, App Service shape: `IDENTITY_ENDPOINT`.
    pub identity_endpoint: String,
    /// Managed identity, App Service shape: `IDENTITY_HEADER`.
    pub identity_header: String,
    /// Front Door edge locations (`http://127.0.0.1:PORT`), when revisions run.
    pub edge_urls: Vec<String>,
    /// When revisions run: the host map file (`STATE_DIR/hosts.json`, kept
    /// current) mapping label, app and endpoint host names to loopback URLs,
    /// for the provider's `BLUEGREEN_AZURE_HOST_MAP`.
    pub hosts_file: Option<PathBuf>,
}

/// A running emulator; dropping it stops the listeners.
pub struct Emulator {
    info: EmulatorInfo,
    shared: Arc<Shared>,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Emulator {
    /// Binds both listeners, makes a CA and credentials, writes `ca.pem` and
    /// `emulator.json` into the state directory and starts serving.
    pub async fn start(config: EmulatorConfig) -> Result<Emulator, EmulatorError> {
        std::fs::create_dir_all(&config.state_dir).map_err(|source| EmulatorError::StateDir {
            path: config.state_dir.display().to_string(),
            source,
        })?;
        let tls = tls::TlsMaterial::generate()?;
        let ca_file = config.state_dir.join("ca.pem");
        tls.write_ca(&ca_file)?;

        let listener = bind(config.listen).await?;
        let admin_listener = bind(config.admin_listen).await?;
        let addr = local_addr(&listener, config.listen)?;
        let admin_addr = local_addr(&admin_listener, config.admin_listen)?;
        let base_url = format!("https://{}", url_host(addr));
        let admin_url = format!("http://{}", url_host(admin_addr));

        let credentials = Credentials {
            tenant_id: ids::uuid(),
            client_id: ids::uuid(),
            client_secret: ids::secret_hex(20).ok_or(EmulatorError::Random)?,
            subscription_id: ids::uuid(),
            identity_header: ids::secret_hex(16).ok_or(EmulatorError::Random)?,
        };
        let info = EmulatorInfo {
            base_url: base_url.clone(),
            admin_url,
            ca_file,
            tenant_id: credentials.tenant_id.clone(),
            client_id: credentials.client_id.clone(),
            client_secret: credentials.client_secret.clone(),
            subscription_id: credentials.subscription_id.clone(),
            arm_scope: format!("{base_url}/.default"),
            imds_endpoint: base_url.clone(),
            identity_endpoint: format!("{base_url}/msi/token"),
            identity_header: credentials.identity_header.clone(),
            edge_urls: Vec::new(),
            hosts_file: None,
        };
        let info_file = config.state_dir.join("emulator.json");

        let state = State {
            settings: config.settings.clone(),
            ..State::default()
        };
        let shared = Arc::new(Shared {
            state: Mutex::new(state),
            clock: Clock::new(config.clock_scale),
            credentials,
            base_url,
        });
        let (stop, stopped) = watch::channel(false);
        let tls_config = tls.server_config()?;
        let mut info = info;
        let mut tasks = Vec::new();
        if let Some(runtime) = config.runtime.clone() {
            tasks.extend(
                runtime::start(
                    shared.clone(),
                    runtime,
                    config.state_dir.join(runtime::HOSTS_FILE),
                    stopped.clone(),
                )
                .await
                .map_err(|source| EmulatorError::Runtime { source })?,
            );
            info.edge_urls = shared
                .lock()
                .runtime
                .edge
                .iter()
                .map(|(_, port)| format!("http://127.0.0.1:{port}"))
                .collect();
            info.hosts_file = Some(config.state_dir.join(runtime::HOSTS_FILE));
        }
        let _ = std::fs::write(
            &info_file,
            serde_json::to_vec_pretty(&info).unwrap_or_default(),
        );
        tasks.extend([
            tokio::spawn(server::serve_tls(
                listener,
                tls_config,
                front::router(shared.clone()),
                stopped.clone(),
            )),
            tokio::spawn(server::serve_plain(
                admin_listener,
                admin::router(shared.clone(), info.clone()),
                stopped,
            )),
        ]);
        Ok(Emulator {
            info,
            shared,
            stop,
            tasks,
        })
    }

    /// Addresses and credentials.
    pub fn info(&self) -> &EmulatorInfo {
        &self.info
    }

    /// The shared state, for tests that inspect or seed directly.
    pub fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// Stops serving and waits for the listeners to close.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        for task in self.tasks.drain(..) {
            let _ = task.await;
        }
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        for task in &self.tasks {
            task.abort();
        }
    }
}

async fn bind(addr: SocketAddr) -> Result<tokio::net::TcpListener, EmulatorError> {
    tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| EmulatorError::Bind { addr, source })
}

fn local_addr(
    listener: &tokio::net::TcpListener,
    asked: SocketAddr,
) -> Result<SocketAddr, EmulatorError> {
    listener.local_addr().map_err(|source| EmulatorError::Bind {
        addr: asked,
        source,
    })
}

/// `host:port`, with brackets for IPv6.
fn url_host(addr: SocketAddr) -> String {
    match addr {
        SocketAddr::V4(a) => a.to_string(),
        SocketAddr::V6(a) => format!("[{}]:{}", a.ip(), a.port()),
    }
}
