//! Noticing that Terraform is gone. Terraform ends a provider with
//! `plugin.GRPCController/Shutdown`; when Terraform itself is killed (`kill -9`, OOM)
//! nobody calls it, and a provider that waited would hold its environment's lock and
//! live on. Two signs tell: the parent process changed (the kernel re-parents an
//! orphan), or every connection Terraform opened is closed.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

/// How often the parent process is checked.
const PARENT_POLL: Duration = Duration::from_millis(250);

/// How long in-flight operations get to wind down (stop a release where it is safe,
/// release locks) once Terraform is gone, before the process exits anyway.
pub const WIND_DOWN: Duration = Duration::from_secs(10);

/// Counts open connections; each [`ConnectionGuard`] is one.
#[derive(Debug, Clone)]
pub struct Connections {
    open: Arc<watch::Sender<usize>>,
}

impl Default for Connections {
    fn default() -> Self {
        Self {
            open: Arc::new(watch::Sender::new(0)),
        }
    }
}

impl Connections {
    /// Counts one more connection until the guard drops.
    pub fn open(&self) -> ConnectionGuard {
        self.open.send_modify(|n| *n += 1);
        ConnectionGuard {
            open: Arc::clone(&self.open),
        }
    }

    /// Resolves once a connection was made and all are closed again.
    async fn all_closed(&self) {
        let mut rx = self.open.subscribe();
        if rx.wait_for(|n| *n > 0).await.is_ok() {
            let _ = rx.wait_for(|n| *n == 0).await;
        }
    }
}

/// One open connection (see [`Connections::open`]).
#[derive(Debug)]
pub struct ConnectionGuard {
    open: Arc<watch::Sender<usize>>,
}

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        self.open.send_modify(|n| *n = n.saturating_sub(1));
    }
}

/// Counts operations that must finish even when their caller is gone; each
/// [`InFlightGuard`] is one.
#[derive(Debug, Clone)]
pub struct InFlight {
    running: Arc<watch::Sender<usize>>,
}

impl Default for InFlight {
    fn default() -> Self {
        Self {
            running: Arc::new(watch::Sender::new(0)),
        }
    }
}

impl InFlight {
    /// Counts one more operation until the guard drops.
    pub fn enter(&self) -> InFlightGuard {
        self.running.send_modify(|n| *n += 1);
        InFlightGuard {
            running: Arc::clone(&self.running),
        }
    }

    /// Resolves when no operation runs.
    pub async fn idle(&self) {
        let _ = self.running.subscribe().wait_for(|n| *n == 0).await;
    }
}

/// One running operation (see [`InFlight::enter`]).
#[derive(Debug)]
pub struct InFlightGuard {
    running: Arc<watch::Sender<usize>>,
}

impl Drop for InFlightGuard {
    fn drop(&mut self) {
        self.running.send_modify(|n| *n = n.saturating_sub(1));
    }
}

/// Resolves with the reason once Terraform is gone.
async fn terraform_gone(parent: u32, connections: &Connections) -> String {
    let parent_changed = async {
        loop {
            tokio::time::sleep(PARENT_POLL).await;
            let now = std::os::unix::process::parent_id();
            if now != parent {
                return format!("the parent process {parent} (Terraform) exited");
            }
        }
    };
    tokio::select! {
        why = parent_changed => why,
        () = connections.all_closed() => "Terraform closed its connection without a Shutdown call".to_string(),
    }
}

/// Watches for Terraform going away without a Shutdown call; then stops in-flight
/// operations (as Terraform's StopProvider does on Ctrl-C), gives them [`WIND_DOWN`]
/// to finish, and asks the server to exit through `shutdown`.
pub async fn exit_when_terraform_is_gone(
    parent: u32,
    connections: Connections,
    stop_operations: watch::Sender<bool>,
    in_flight: InFlight,
    shutdown: watch::Sender<bool>,
) {
    let mut shutting_down = shutdown.subscribe();
    let why = tokio::select! {
        why = terraform_gone(parent, &connections) => why,
        // A Shutdown call is the normal end: nothing to do.
        _ = shutting_down.wait_for(|s| *s) => return,
    };
    tracing::warn!("Terraform is gone ({why}): stopping in-flight operations and exiting");
    stop_operations.send_replace(true);
    if tokio::time::timeout(WIND_DOWN, in_flight.idle())
        .await
        .is_err()
    {
        tracing::warn!(
            "in-flight operations did not finish within {WIND_DOWN:?} of Terraform going away; exiting anyway"
        );
    }
    shutdown.send_replace(true);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn closing_every_connection_is_noticed_and_in_flight_work_is_awaited() {
        let connections = Connections::default();
        let in_flight = InFlight::default();
        let (stop_tx, mut stop_rx) = watch::channel(false);
        let (shutdown_tx, mut shutdown_rx) = watch::channel(false);
        let first = connections.open();
        let second = connections.open();
        let work = in_flight.enter();
        let watcher = tokio::spawn(exit_when_terraform_is_gone(
            std::os::unix::process::parent_id(),
            connections.clone(),
            stop_tx,
            in_flight.clone(),
            shutdown_tx,
        ));
        drop(first);
        tokio::task::yield_now().await;
        assert!(!*stop_rx.borrow(), "one connection is still open");
        drop(second);
        stop_rx
            .wait_for(|s| *s)
            .await
            .expect("operations are stopped");
        assert!(
            !*shutdown_rx.borrow(),
            "the server waits for in-flight work"
        );
        drop(work);
        shutdown_rx.wait_for(|s| *s).await.expect("then exits");
        watcher.await.expect("watcher ends");
    }

    #[tokio::test]
    async fn a_shutdown_call_ends_the_watch_quietly() {
        let connections = Connections::default();
        let (stop_tx, stop_rx) = watch::channel(false);
        let (shutdown_tx, _keep) = watch::channel(false);
        let conn = connections.open();
        let watcher = tokio::spawn(exit_when_terraform_is_gone(
            std::os::unix::process::parent_id(),
            connections.clone(),
            stop_tx,
            InFlight::default(),
            shutdown_tx.clone(),
        ));
        shutdown_tx.send_replace(true);
        watcher.await.expect("watcher ends");
        drop(conn);
        assert!(!*stop_rx.borrow(), "a normal shutdown stops nothing");
    }
}
