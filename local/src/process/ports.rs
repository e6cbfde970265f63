//! Loopback port allocation for colour processes.

use std::collections::HashSet;
use std::net::{Ipv4Addr, TcpListener};
use std::sync::Mutex;

/// Hands out free loopback ports, never the same one twice while it is held.
#[derive(Debug, Default)]
pub struct PortAllocator {
    held: Mutex<HashSet<u16>>,
}

impl PortAllocator {
    /// Marks `port` as used (e.g. by a process adopted after a restart).
    pub fn reserve(&self, port: u16) {
        self.held
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(port);
    }

    /// Returns `port` to the pool.
    pub fn release(&self, port: u16) {
        self.held
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&port);
    }

    /// A port the kernel reports free and that we have not handed out.
    pub fn allocate(&self) -> std::io::Result<u16> {
        for _ in 0..64 {
            // The kernel's ephemeral choice avoids ports in use; there is a small window
            // before the colour binds it, which a crash-restart would cover.
            let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?
                .local_addr()?
                .port();
            if self
                .held
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(port)
            {
                return Ok(port);
            }
        }
        Err(std::io::Error::other(
            "no free loopback port after 64 tries",
        ))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn never_hands_out_a_held_port() {
        let a = super::PortAllocator::default();
        let p1 = a.allocate().expect("port");
        let p2 = a.allocate().expect("port");
        assert_ne!(p1, p2);
    }
}
