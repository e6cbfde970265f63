//! `bluegreen-local serve`.

use std::net::{SocketAddr, ToSocketAddrs};
use std::os::fd::AsFd;
use std::os::unix::fs::DirBuilderExt;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use bluegreen_local::daemon::Daemon;
use bluegreen_local::handover::{self, ControlSocket, Sockets};
use bluegreen_local::process::supervisor::hold_restarts;
use bluegreen_local::server::AdminLimits;
use bluegreen_local::state::instance::{InstanceError, InstanceLock};
use bluegreen_local::state::token;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};
use tracing_subscriber::filter::LevelFilter;

/// Limits of the admin API's connections (defaults in [`AdminLimits`]).
#[derive(Debug, Clone, Copy, clap::Args)]
pub struct AdminArgs {
    /// Admin API connections open at once; more are answered 503 and closed.
    #[arg(long, env = "BLUEGREEN_ADMIN_MAX_CONNECTIONS", default_value_t = AdminLimits::default().max_connections, value_parser = clap::builder::TypedValueParser::map(clap::value_parser!(u32).range(1..), |n| n as usize))]
    admin_max_connections: usize,
    /// Seconds an admin connection may stay open without sending a request.
    #[arg(long, env = "BLUEGREEN_ADMIN_IDLE_TIMEOUT", value_name = "SECONDS", default_value_t = AdminLimits::default().idle_timeout.as_secs_f64(), value_parser = seconds)]
    admin_idle_timeout: f64,
    /// Seconds an admin client may take to send a request head once started.
    #[arg(long, env = "BLUEGREEN_ADMIN_HEADER_TIMEOUT", value_name = "SECONDS", default_value_t = AdminLimits::default().header_timeout.as_secs_f64(), value_parser = seconds)]
    admin_header_timeout: f64,
    /// Seconds a request body or an answer on the admin API may make no progress.
    #[arg(long, env = "BLUEGREEN_ADMIN_STALL_TIMEOUT", value_name = "SECONDS", default_value_t = AdminLimits::default().stall_timeout.as_secs_f64(), value_parser = seconds)]
    admin_stall_timeout: f64,
}

impl AdminArgs {
    /// The limits these flags set.
    pub fn limits(self) -> AdminLimits {
        AdminLimits {
            max_connections: self.admin_max_connections,
            idle_timeout: Duration::from_secs_f64(self.admin_idle_timeout),
            header_timeout: Duration::from_secs_f64(self.admin_header_timeout),
            stall_timeout: Duration::from_secs_f64(self.admin_stall_timeout),
        }
    }
}

/// A positive number of seconds, at most a day.
fn seconds(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(s) if s > 0.0 && s <= 86_400.0 => Ok(s),
        _ => Err(format!(
            "{text:?} is not a number of seconds above 0 and at most 86400, e.g. 10 or 0.5"
        )),
    }
}

fn init_tracing() {
    let level = std::env::var("BLUEGREEN_LOCAL_LOG")
        .ok()
        .and_then(|v| v.parse::<LevelFilter>().ok())
        .unwrap_or(LevelFilter::INFO);
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_max_level(level)
        .try_init();
}

/// Why the daemon stops serving.
enum Ending {
    /// SIGTERM or SIGINT: exit, leaving the colours to the next daemon.
    Signal,
    /// `bluegreen-local stop` stopped everything.
    Stopped,
    /// A `serve --takeover` asks for the sockets.
    Handover(handover::Request),
}

/// Runs the daemon until SIGTERM or SIGINT (colours keep running), `bluegreen-local stop`
/// (everything stops), or a successor's `serve --takeover`.
pub async fn run(
    state_dir: PathBuf,
    listen: &str,
    takeover: bool,
    limits: AdminLimits,
) -> anyhow::Result<()> {
    init_tracing();
    // Front doors, colours' pipes and admin clients share one descriptor budget.
    match bluegreen_local::server::raise_descriptor_limit() {
        Ok((before, after)) if before < after => {
            tracing::info!("raised the open-file limit from {before} to {after}")
        }
        Ok(_) => {}
        Err(e) => tracing::warn!("cannot raise the open-file limit: {e}"),
    }
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&state_dir)
        .with_context(|| format!("creating state directory {}", state_dir.display()))?;
    let state_dir = state_dir
        .canonicalize()
        .with_context(|| format!("resolving state directory {}", state_dir.display()))?;
    let (instance, inherited, ready) = match InstanceLock::acquire(&state_dir) {
        Ok(lock) => (lock, None, None),
        Err(InstanceError::Busy { pid, .. }) if takeover => {
            tracing::info!("taking over from the running daemon (pid {pid})");
            let (sockets, ready) = handover::request(&state_dir)
                .await
                .context("taking over the running daemon's sockets")?;
            let Sockets {
                lock,
                admin,
                front_doors,
            } = sockets;
            let lock = InstanceLock::inherit(&state_dir, lock)?;
            (lock, Some((admin, front_doors)), Some(ready))
        }
        Err(e) => return Err(e.into()),
    };
    let (inherited_admin, inherited_front_doors) = inherited.unwrap_or_default();
    let token = token::load_or_create(&state_dir)?;
    // Bind the admin port before touching any colour, so a second daemon fails cleanly.
    let admin = admin_listener(listen, inherited_admin)?;
    let addr = admin.local_addr().context("reading the admin address")?;
    if let Some(warning) = bluegreen_local::server::plain_http_warning(addr) {
        tracing::warn!("{warning}");
    }
    let daemon = Daemon::open_with(&state_dir, token, inherited_front_doors).await?;
    let control = match ControlSocket::bind(&state_dir) {
        Ok(c) => Some(c),
        Err(e) => {
            tracing::warn!(
                "cannot listen on {} ({e}): `serve --takeover` cannot upgrade this daemon",
                handover::socket_path(&state_dir).display()
            );
            None
        }
    };
    tracing::info!(
        "bluegreen-local {} serving the admin API on http://{addr} (state {}, token in {})",
        env!("CARGO_PKG_VERSION"),
        state_dir.display(),
        token::token_path(&state_dir).display()
    );

    let (endings, mut ending_rx) = mpsc::channel::<Ending>(4);
    tokio::spawn(signals(endings.clone()));
    {
        let (daemon, endings) = (daemon.clone(), endings.clone());
        tokio::spawn(async move {
            daemon.exit_requested().await;
            let _ = endings.send(Ending::Stopped).await;
        });
    }
    if let Some(control) = control {
        tokio::spawn(async move {
            loop {
                let request = control.next_request().await;
                if endings.send(Ending::Handover(request)).await.is_err() {
                    return;
                }
            }
        });
    }

    let mut ready = ready;
    loop {
        let listener = admin
            .try_clone()
            .and_then(TcpListener::from_std)
            .context("serving the admin socket")?;
        let (stop_admin, admin_stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(bluegreen_local::server::serve(
            daemon.clone(),
            listener,
            limits,
            async move {
                let _ = admin_stopped.await;
            },
        ));
        if let Some(ready) = ready.take() {
            // Serving now: the old daemon may stop accepting.
            match tokio::task::spawn_blocking(move || ready.confirm()).await {
                Ok(Ok(())) => tracing::info!(
                    "took over; the previous daemon finishes its requests in hand and exits"
                ),
                Ok(Err(e)) => tracing::warn!("telling the previous daemon to exit: {e}"),
                Err(e) => tracing::warn!("telling the previous daemon to exit: {e}"),
            }
        }
        let ending = ending_rx.recv().await.unwrap_or(Ending::Signal);
        let _ = stop_admin.send(());
        match server.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::error!("admin API: {e}"),
            Err(e) => tracing::error!("admin API task: {e}"),
        }
        match ending {
            Ending::Signal => {
                tracing::info!("stopping; colour processes keep running for the next `bluegreen-local serve` to adopt (`bluegreen-local stop` stops them)");
                daemon.release(false).await;
                break;
            }
            Ending::Stopped => break,
            Ending::Handover(request) => {
                let successor = request.pid;
                tracing::info!("handing the sockets over to pid {successor}");
                if hand_over(&daemon, &instance, &admin, addr, request).await {
                    tracing::info!("pid {successor} serves; finishing the requests in hand");
                    daemon.release(true).await;
                    break;
                }
            }
        }
    }
    tracing::info!("stopped");
    Ok(())
}

/// Passes the sockets to a successor; false (and this daemon carries on) if it did not
/// take over.
async fn hand_over(
    daemon: &Daemon,
    instance: &InstanceLock,
    admin: &std::net::TcpListener,
    addr: SocketAddr,
    request: handover::Request,
) -> bool {
    let successor = request.pid;
    // From here the successor restarts crashed colours and writes the state.
    hold_restarts(true);
    if let Err(e) = daemon.persist().await {
        tracing::error!("saving state for pid {successor}: {e}; not handing over");
        hold_restarts(false);
        return false;
    }
    daemon.set_handed_over(true);
    let fds = (
        instance.as_fd().try_clone_to_owned(),
        admin.as_fd().try_clone_to_owned(),
    );
    let result = match fds {
        (Ok(lock), Ok(admin_fd)) => {
            request
                .hand_over(lock, Some((addr, admin_fd)), daemon.listening_sockets())
                .await
        }
        (Err(e), _) | (_, Err(e)) => Err(handover::HandoverError::Io {
            path: handover::socket_path(daemon.state_dir()),
            source: e,
        }),
    };
    match result {
        Ok(()) => true,
        Err(e) => {
            tracing::warn!("pid {successor} did not take over ({e}); carrying on");
            daemon.set_handed_over(false);
            hold_restarts(false);
            false
        }
    }
}

/// The admin listener: the one handed over if it listens on `listen`, else a new one.
fn admin_listener(
    listen: &str,
    inherited: Option<(SocketAddr, std::net::TcpListener)>,
) -> anyhow::Result<std::net::TcpListener> {
    let wanted: Vec<SocketAddr> = listen
        .to_socket_addrs()
        .with_context(|| format!("--listen {listen} is not an address (e.g. 127.0.0.1:7480)"))?
        .collect();
    if let Some((addr, listener)) = inherited {
        if wanted.contains(&addr) {
            listener
                .set_nonblocking(true)
                .context("using the admin socket handed over")?;
            return Ok(listener);
        }
        tracing::warn!("the previous daemon's admin API listened on {addr}; this one listens on {listen} as asked");
    }
    let listener = std::net::TcpListener::bind(&wanted[..]).with_context(|| {
        format!("cannot listen on {listen}: another bluegreen-local may be running there; stop it (`bluegreen-local stop`), upgrade it (`serve --takeover`), or pass another --listen")
    })?;
    listener
        .set_nonblocking(true)
        .context("configuring the admin socket")?;
    Ok(listener)
}

/// Reports SIGTERM and SIGINT as endings, for as long as the daemon runs.
async fn signals(endings: mpsc::Sender<Ending>) {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        tracing::error!(
            "cannot install signal handlers; stop the daemon with `bluegreen-local stop`"
        );
        return;
    };
    loop {
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
        if endings.send(Ending::Signal).await.is_err() {
            return;
        }
    }
}
