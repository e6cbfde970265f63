//! The admin API speaks plain HTTP: on an address other hosts can reach, its bearer
//! token crosses the network in clear, so `serve` says so.

use std::net::SocketAddr;

/// The warning for an admin address reachable from other hosts; `None` on loopback.
pub fn plain_http_warning(addr: SocketAddr) -> Option<String> {
    if addr.ip().is_loopback() {
        return None;
    }
    Some(format!(
        "the admin API listens on {addr}, reachable from other hosts, over plain HTTP: its bearer token and every definition (commands, env values) travel unencrypted. Listen on 127.0.0.1 and reach it through an SSH tunnel or a TLS-terminating proxy"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warns_for_every_non_loopback_address() {
        for loopback in ["127.0.0.1:7480", "127.0.0.2:7480", "[::1]:7480"] {
            let addr: SocketAddr = loopback.parse().expect("address");
            assert_eq!(plain_http_warning(addr), None, "{loopback}");
        }
        for exposed in ["0.0.0.0:7480", "192.168.1.10:7480", "[::]:7480"] {
            let addr: SocketAddr = exposed.parse().expect("address");
            let warning = plain_http_warning(addr).unwrap_or_default();
            assert!(
                warning.contains("plain HTTP") && warning.contains("token"),
                "{exposed}: {warning:?}"
            );
        }
    }
}
