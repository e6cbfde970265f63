//! A loopback listener whose every accepted connection goes to a test's handler, with
//! its index in accept order: the raw upstreams of the protocol tests are built on it.

use std::future::Future;
use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::net::{TcpListener, TcpStream};

/// A listener on a free loopback port, serving until the test's runtime ends.
pub struct Listening {
    /// Its port.
    pub port: u16,
    accepted: Arc<AtomicUsize>,
}

impl Listening {
    /// Connections accepted so far.
    pub fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }
}

/// Binds a free loopback port and runs `handler(index, stream)` as a task for each
/// connection accepted (index 0 for the first).
pub async fn listen<F, Fut>(handler: F) -> Listening
where
    F: Fn(usize, TcpStream) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .await
        .expect("bind the upstream");
    let port = listener.local_addr().expect("upstream address").port();
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let index = count.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(handler(index, stream));
        }
    });
    Listening { port, accepted }
}
