//! Serving a provider to Terraform: handshake, AutoMTLS, gRPC, shutdown.

pub mod goplugin;
pub mod handshake;
pub mod lifeline;
pub mod listener;
pub mod routes;
pub mod service;
pub mod tls;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tonic::transport::Server;

use crate::proto::{plugin, tfplugin6};
use crate::provider::Provider;
use handshake::{HandshakeError, ListenAddr};
use listener::Listener;
use routes::Routes;

/// Terraform messages (schemas, plans, states) can exceed tonic's 4 MiB default.
pub const MAX_MESSAGE_BYTES: usize = 256 * 1024 * 1024;

/// How to serve.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// The provider's registry address, e.g. `registry.terraform.io/agog/bluegreen`;
    /// printed in debug mode for `TF_REATTACH_PROVIDERS`.
    pub address: String,
    /// Debug mode: no handshake checks, no TLS, print the reattach value and
    /// keep serving until interrupted.
    pub debug: bool,
    /// Listen on TCP instead of a unix socket.
    pub tcp: bool,
}

/// Why serving stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The environment is not Terraform's.
    #[error(transparent)]
    Handshake(#[from] HandshakeError),
    /// TLS setup failed.
    #[error(transparent)]
    Tls(#[from] tls::TlsError),
    /// Binding or writing failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// The gRPC server failed.
    #[error("gRPC server: {0}")]
    Transport(#[from] tonic::transport::Error),
}

/// Serves `provider` until Terraform shuts it down.
pub async fn serve(provider: Arc<dyn Provider>, opts: ServeOptions) -> Result<(), ServeError> {
    // Terraform started us: when this changes, Terraform is gone.
    let terraform_pid = std::os::unix::process::parent_id();
    if !opts.debug {
        handshake::check_environment()?;
    }
    let tcp = opts.tcp || std::env::var("TF_PLUGIN_TRANSPORT").is_ok_and(|v| v == "tcp");
    let (listener, addr, socket_file) = if tcp {
        let (l, a) = Listener::bind_tcp().await?;
        (l, a, None)
    } else {
        let (l, a, f) = Listener::bind_unix()?;
        (l, a, Some(f))
    };

    let client_cert = if opts.debug {
        None
    } else {
        std::env::var("PLUGIN_CLIENT_CERT").ok()
    };
    let (tls_config, cert_der) = match client_cert {
        Some(pem) => {
            let identity = tls::generate_identity()?;
            let config = tls::server_config(&identity, tls::parse_client_cert(&pem)?)?;
            (Some(Arc::new(config)), Some(identity.cert_der.to_vec()))
        }
        None => {
            if !opts.debug {
                tracing::warn!(
                    "PLUGIN_CLIENT_CERT is not set: serving without TLS, as go-plugin does"
                );
            }
            (None, None)
        }
    };

    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    spawn_signal_handler(opts.debug, shutdown_tx.clone());

    let provider_service = service::ProviderService::new(provider);
    let connections = lifeline::Connections::default();
    if !opts.debug {
        // In debug mode a person runs the provider and Terraform attaches and detaches
        // at will: only a signal ends it.
        tokio::spawn(lifeline::exit_when_terraform_is_gone(
            terraform_pid,
            connections.clone(),
            provider_service.stopper(),
            provider_service.in_flight(),
            shutdown_tx.clone(),
        ));
    }
    let (health_reporter, health_service) = tonic_health::server::health_reporter();
    health_reporter
        .set_service_status("plugin", tonic_health::ServingStatus::Serving)
        .await;

    let routes = Routes::default()
        .with(
            tfplugin6::provider_server::ProviderServer::new(provider_service)
                .max_decoding_message_size(MAX_MESSAGE_BYTES)
                .max_encoding_message_size(MAX_MESSAGE_BYTES),
        )
        .with(plugin::grpc_controller_server::GrpcControllerServer::new(
            goplugin::Controller::new(shutdown_tx.clone()),
        ))
        .with(plugin::grpc_stdio_server::GrpcStdioServer::new(
            goplugin::Stdio::new(shutdown_rx.clone()),
        ))
        .with(plugin::grpc_broker_server::GrpcBrokerServer::new(
            goplugin::Broker::new(shutdown_rx.clone()),
        ))
        .with(health_service);

    let incoming = listener.incoming(tls_config, connections);
    if opts.debug {
        print_reattach(&opts.address, &addr)?;
    } else {
        handshake::announce(&handshake::handshake_line(&addr, cert_der.as_deref()))?;
    }

    let mut on_shutdown = shutdown_rx.clone();
    let graceful = Server::builder()
        .tcp_nodelay(true)
        .serve_with_incoming_shutdown(routes, incoming, async move {
            let _ = on_shutdown.wait_for(|s| *s).await;
        });
    tokio::pin!(graceful);
    let mut deadline_rx = shutdown_rx.clone();
    tokio::select! {
        result = &mut graceful => result?,
        () = async {
            let _ = deadline_rx.wait_for(|s| *s).await;
            // Let the Shutdown reply reach Terraform, then go: Terraform's own
            // connection would otherwise hold a graceful shutdown open.
            tokio::time::sleep(Duration::from_millis(20)).await;
        } => {}
    }
    drop(socket_file);
    tracing::debug!("plugin server stopped");
    Ok(())
}

/// Terraform sends SIGINT to the whole process group on Ctrl-C and then asks
/// providers to stop over gRPC; like go-plugin, the plugin ignores the signal
/// so an apply in progress can wind down and report. In debug mode, a person
/// runs the provider and Ctrl-C means quit.
fn spawn_signal_handler(debug: bool, shutdown: watch::Sender<bool>) {
    tokio::spawn(async move {
        let Ok(mut sigint) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())
        else {
            return;
        };
        let Ok(mut sigterm) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        else {
            return;
        };
        loop {
            tokio::select! {
                _ = sigint.recv() => {
                    if debug {
                        shutdown.send_replace(true);
                        return;
                    }
                    tracing::debug!("interrupt received: ignored, Terraform will call StopProvider");
                }
                _ = sigterm.recv() => {
                    shutdown.send_replace(true);
                    return;
                }
            }
        }
    });
}

fn print_reattach(address: &str, addr: &ListenAddr) -> std::io::Result<()> {
    let value = serde_json::json!({
        address: {
            "Protocol": "grpc",
            "ProtocolVersion": handshake::APP_PROTOCOL_VERSION,
            "Pid": std::process::id(),
            "Test": true,
            "Addr": { "Network": addr.network(), "String": addr.address() },
        }
    });
    // Debug mode is run by a person in a terminal: stdout is theirs, not Terraform's.
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "Provider started. To attach Terraform CLI, set the TF_REATTACH_PROVIDERS environment variable with the following:\n\n\tTF_REATTACH_PROVIDERS='{value}'\n"
    )?;
    out.flush()
}
