//! How much of the daemon one admin client may hold: open connections, and how long a
//! connection may sit idle, send its head, or stall its body or answer. Without these, a
//! client with no token could open enough idle connections to use up the descriptors the
//! front doors need (issue 12, item 7).

use std::time::Duration;

/// Limits of the admin API's connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AdminLimits {
    /// Open connections at most; more are answered `503` and closed at once.
    pub max_connections: usize,
    /// How long a connection may stay open without sending a byte of a request (a new
    /// connection, or a kept-alive one between requests).
    pub idle_timeout: Duration,
    /// How long a client may take to send a complete request head once it has started.
    pub header_timeout: Duration,
    /// How long a request body or an answer may go without progress.
    pub stall_timeout: Duration,
}

impl Default for AdminLimits {
    fn default() -> Self {
        Self {
            // The provider and the CLI use a handful; a dashboard a few more.
            max_connections: 512,
            // Above the provider's pool idle time, so that the client, not the server,
            // usually ends an idle connection.
            idle_timeout: Duration::from_secs(60),
            // nginx's client_header_timeout is 60 s; an admin client on loopback needs
            // far less.
            header_timeout: Duration::from_secs(10),
            stall_timeout: Duration::from_secs(30),
        }
    }
}

/// Raises this process's soft limit on open descriptors to its hard limit, as servers
/// that hold many sockets do (nginx `worker_rlimit_nofile`, Go since 1.19): the default
/// soft limit of 1024 is a few hundred clients. Returns the soft limit before and after.
pub fn raise_descriptor_limit() -> std::io::Result<(u64, u64)> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the struct we own.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    let before = limit.rlim_cur;
    if limit.rlim_cur < limit.rlim_max {
        let raised = libc::rlimit {
            rlim_cur: limit.rlim_max,
            rlim_max: limit.rlim_max,
        };
        // SAFETY: setrlimit reads the struct we own.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    #[allow(clippy::unnecessary_cast)] // rlim_t is not u64 everywhere.
    Ok((before as u64, limit.rlim_max as u64))
}
