//! Checks on what an admin request asks for, before anything is touched.

use std::net::SocketAddr;

use super::super::environment::header_name;
use super::super::DaemonError;
use crate::api::{EnvironmentSpec, RoutingUpdate};

/// Longest accepted drain timeout.
const MAX_DRAIN_MS: u64 = 60 * 60 * 1000;
/// Longest accepted colour answer timeout: a request waiting longer is a hang.
const MAX_UPSTREAM_TIMEOUT_MS: u64 = 60 * 60 * 1000;

/// Checks an environment name: it becomes part of file paths and URLs.
pub(super) fn validate_name(name: &str) -> Result<(), DaemonError> {
    let ok = !name.is_empty()
        && name.len() <= 63
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(DaemonError::Invalid(format!(
            "invalid environment name {name:?}: use 1-63 letters, digits, '-' or '_', starting with a letter or digit"
        )))
    }
}

/// Checks an environment definition: a program to run, a front door address, a
/// tenant header HTTP accepts, a bounded drain.
pub(super) fn validate_spec(spec: &EnvironmentSpec) -> Result<(), DaemonError> {
    if spec.command.first().is_none_or(|p| p.trim().is_empty()) {
        return Err(DaemonError::Invalid(
            "`command` must name a program, e.g. [\"agog-demo-app\", \"--port\", \"{port}\", \"--version\", \"{version}\"]".into(),
        ));
    }
    if spec.listen.parse::<SocketAddr>().is_err() {
        return Err(DaemonError::Invalid(format!(
            "`listen` must be IP:PORT, e.g. 127.0.0.1:8080 (got {:?})",
            spec.listen
        )));
    }
    if header_name(&spec.tenant_header).is_none() {
        return Err(DaemonError::Invalid(format!(
            "`tenant_header` {:?} is not a valid HTTP header name",
            spec.tenant_header
        )));
    }
    if spec.drain_timeout_ms > MAX_DRAIN_MS {
        return Err(DaemonError::Invalid(format!(
            "`drain_timeout_ms` must be at most {MAX_DRAIN_MS} (one hour)"
        )));
    }
    if let Some(path) = &spec.health_path {
        if !path.starts_with('/')
            || path.len() > 1024
            || path.parse::<hyper::http::uri::PathAndQuery>().is_err()
        {
            return Err(DaemonError::Invalid(format!(
                "`health_path` must be a URL path starting with \"/\", e.g. \"/api/health\" (got {path:?})"
            )));
        }
    }
    if spec.upstream_timeout_ms == 0 || spec.upstream_timeout_ms > MAX_UPSTREAM_TIMEOUT_MS {
        return Err(DaemonError::Invalid(format!(
            "`upstream_timeout_ms` must be between 1 and {MAX_UPSTREAM_TIMEOUT_MS} (one hour), e.g. 60000"
        )));
    }
    Ok(())
}

/// Checks a version label: it is shown in statuses, logs and the audit.
pub(super) fn validate_version(version: &str) -> Result<(), DaemonError> {
    if version.trim().is_empty() || version.len() > 128 || version.chars().any(char::is_control) {
        return Err(DaemonError::Invalid(format!(
            "invalid version {version:?}: expected a non-empty printable string of at most 128 characters"
        )));
    }
    Ok(())
}

/// Checks a routing update on its own: the canary's weight, colours and tenants, and
/// the tenant header. What it needs of the environment is checked under its lock.
pub(super) fn validate_routing(update: &RoutingUpdate) -> Result<(), DaemonError> {
    if let Some(c) = &update.canary {
        if c.weight > 100 {
            return Err(DaemonError::Invalid(format!(
                "canary weight must be 0-100 (got {})",
                c.weight
            )));
        }
        if update.primary.is_none() {
            return Err(DaemonError::Invalid(
                "a canary needs a primary colour for the rest of the traffic".into(),
            ));
        }
        if update.primary == Some(c.color) {
            return Err(DaemonError::Invalid(format!(
                "the canary colour must differ from the primary ({})",
                c.color
            )));
        }
        if c.tenants.iter().any(|t| t.trim().is_empty()) {
            return Err(DaemonError::Invalid(
                "canary tenants must not be empty strings".into(),
            ));
        }
    }
    if let Some(h) = &update.tenant_header {
        if header_name(h).is_none() {
            return Err(DaemonError::Invalid(format!(
                "tenant_header {h:?} is not a valid HTTP header name"
            )));
        }
    }
    Ok(())
}
