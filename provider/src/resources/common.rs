//! Helpers that more than one resource uses: who holds a lock, and how a failed
//! release reads.

use tfplugin::diag::Diagnostic;
use tfplugin::AttributePath;

use crate::platform::{EnvironmentRef, EnvironmentState, Platform, PlatformError};
use crate::rollout::ReleaseError;

/// "terraform (pid 123) on host in /work/dir": who holds the lock, for the
/// "locked by …" message a second pipeline sees.
pub fn lock_owner() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "localhost".into());
    let dir = std::env::current_dir()
        .map(|d| d.display().to_string())
        .unwrap_or_default();
    // The provider is Terraform's child: the parent pid is the terraform process.
    let terraform_pid = std::os::unix::process::parent_id();
    format!("terraform (pid {terraform_pid}) on {host} in {dir}")
}

/// The handle of environment `name` recovered from the platform, for the
/// calls made with no target block at hand (read, import, destroy, a split, a
/// data source); `bluegreen_environment`'s apply builds it from its
/// configuration with [`EnvironmentRef::for_target`] instead.
pub async fn locate(platform: &dyn Platform, name: &str) -> Result<EnvironmentRef, Diagnostic> {
    platform.locate(name).await.map_err(|e| {
        Diagnostic::error(
            format!("Cannot find environment {name:?} on the platform"),
            e.to_string(),
        )
    })
}

/// The state of environment `name`, its handle recovered from the platform
/// (see [`locate`]); `None` when it does not exist.
pub async fn status_by_name(
    platform: &dyn Platform,
    name: &str,
) -> Result<Option<EnvironmentState>, PlatformError> {
    let environment = platform.locate(name).await?;
    platform.status(&environment).await
}

/// The front door cannot bind: titled as such (not as a failed release), with the fix.
pub fn listen_diagnostic(address: &str, reason: &str) -> Diagnostic {
    Diagnostic::error(
        format!("Front door could not listen on {address}"),
        format!(
            "{reason}. Another process holds this address (`ss -ltnp` shows which), or it is not an address of this machine. Stop that process or set local.listen to a free address, then run terraform apply again; nothing was released."
        ),
    )
    .at(AttributePath::attr("local").then_attr("listen"))
}

/// A failed release, titled after what failed, with what to do next.
pub fn release_diagnostic(version: &str, err: &ReleaseError) -> Diagnostic {
    if let ReleaseError::Platform(PlatformError::Listen { address, reason }) = err {
        return listen_diagnostic(address, reason);
    }
    let summary = match err {
        ReleaseError::GateFailed { check, .. } => {
            format!("Release of {version} refused: {check} failed")
        }
        ReleaseError::RolledBack { .. } => format!("Release of {version} rolled back"),
        ReleaseError::CanaryRolledBack { .. } => format!("Canary {version} rolled back"),
        ReleaseError::NotPropagated { .. } => {
            format!("Release of {version} switched back: the switch did not propagate")
        }
        ReleaseError::RollbackNotPropagated { .. } => {
            format!("Release of {version} rolled back: the rollback is still propagating")
        }
        ReleaseError::RouteNotPropagated { .. } => {
            format!("Routing for {version} accepted but still propagating")
        }
        ReleaseError::Breached { .. } => {
            format!("Release of {version} breached its post-switch thresholds")
        }
        ReleaseError::Stopped(_) => format!("Release of {version} interrupted"),
        ReleaseError::Platform(PlatformError::Locked(held)) => {
            format!("Environment {:?} is locked", held.environment)
        }
        ReleaseError::Platform(_) => format!("Release of {version} failed"),
    };
    let mut detail = err.to_string();
    match err {
        ReleaseError::GateFailed { .. }
        | ReleaseError::RolledBack { .. }
        | ReleaseError::CanaryRolledBack { .. } => {
            detail.push_str(" Fix the release and apply again: the next plan proposes it again.")
        }
        ReleaseError::Platform(PlatformError::Locked(held)) => {
            detail.push_str(
                ". Another run is changing this environment: wait for it to finish, then run terraform plan again.",
            );
            if let Some(command) = &held.unlock_command {
                detail.push_str(&format!(
                    " If that run is dead (killed, or its machine is gone), break the lock with `{command}`; breaking the lock of a run that is still going is unsafe: two releases would interleave."
                ));
            }
        }
        _ => {}
    }
    Diagnostic::error(summary, detail).at(AttributePath::attr("version"))
}
