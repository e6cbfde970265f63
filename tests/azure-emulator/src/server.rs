//! Accept loops: TLS for the Azure endpoints, plain HTTP for the admin API.

use std::sync::Arc;

use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;
use tower_service::Service;

/// Serves `router` over TLS until `stop` turns true. Each connection's handshake
/// runs in its own task, so a stalled client cannot block others.
pub async fn serve_tls(
    listener: TcpListener,
    config: Arc<rustls::ServerConfig>,
    router: Router,
    mut stop: watch::Receiver<bool>,
) {
    let acceptor = TlsAcceptor::from(config);
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = stop.changed() => return,
        };
        let Ok((tcp, _peer)) = accepted else { continue };
        let acceptor = acceptor.clone();
        let router = router.clone();
        let mut stop = stop.clone();
        tokio::spawn(async move {
            let Ok(tls) = acceptor.accept(tcp).await else {
                return;
            };
            let service = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
                let mut router = router.clone();
                async move { router.call(req).await }
            });
            let connection = http1::Builder::new()
                .keep_alive(true)
                .serve_connection(TokioIo::new(tls), service);
            tokio::select! {
                _ = connection => {}
                _ = stop.changed() => {}
            }
        });
    }
}

/// Serves `router` over plain HTTP until `stop` turns true.
pub async fn serve_plain(listener: TcpListener, router: Router, mut stop: watch::Receiver<bool>) {
    let _ = axum::serve(listener, router)
        .with_graceful_shutdown(async move {
            let _ = stop.changed().await;
        })
        .await;
}
