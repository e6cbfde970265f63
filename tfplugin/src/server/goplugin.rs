//! go-plugin's own services: controller (Shutdown), stdio and broker.

use std::pin::Pin;

use futures_util::Stream;
use tokio::sync::watch;
use tonic::{Request, Response, Status, Streaming};

use crate::proto::plugin as pb;

/// `plugin.GRPCController`: Terraform's request that the plugin exit.
pub struct Controller {
    shutdown: watch::Sender<bool>,
}

impl Controller {
    /// A controller that signals `shutdown` when asked.
    pub fn new(shutdown: watch::Sender<bool>) -> Self {
        Self { shutdown }
    }
}

#[tonic::async_trait]
impl pb::grpc_controller_server::GrpcController for Controller {
    async fn shutdown(&self, _request: Request<pb::Empty>) -> Result<Response<pb::Empty>, Status> {
        tracing::debug!("shutdown requested by Terraform");
        self.shutdown.send_replace(true);
        Ok(Response::new(pb::Empty {}))
    }
}

type BoxStream<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send + 'static>>;

/// A stream that stays open and silent until the server shuts down.
fn silent_until<T: Send + 'static>(shutdown: watch::Receiver<bool>) -> BoxStream<T> {
    Box::pin(futures_util::stream::unfold(
        shutdown,
        |mut rx| async move {
            let _ = rx.wait_for(|s| *s).await;
            None::<(Result<T, Status>, watch::Receiver<bool>)>
        },
    ))
}

/// `plugin.GRPCStdio`: our logs go straight to stderr, which go-plugin reads
/// itself, so the stream only keeps the subscription open.
pub struct Stdio {
    shutdown: watch::Receiver<bool>,
}

impl Stdio {
    /// A stdio service that ends its stream at shutdown.
    pub fn new(shutdown: watch::Receiver<bool>) -> Self {
        Self { shutdown }
    }
}

#[tonic::async_trait]
impl pb::grpc_stdio_server::GrpcStdio for Stdio {
    type StreamStdioStream = BoxStream<pb::StdioData>;
    async fn stream_stdio(
        &self,
        _request: Request<()>,
    ) -> Result<Response<Self::StreamStdioStream>, Status> {
        Ok(Response::new(silent_until(self.shutdown.clone())))
    }
}

/// `plugin.GRPCBroker`: this provider brokers no extra connections.
pub struct Broker {
    shutdown: watch::Receiver<bool>,
}

impl Broker {
    /// A broker that ends its stream at shutdown.
    pub fn new(shutdown: watch::Receiver<bool>) -> Self {
        Self { shutdown }
    }
}

#[tonic::async_trait]
impl pb::grpc_broker_server::GrpcBroker for Broker {
    type StartStreamStream = BoxStream<pb::ConnInfo>;
    async fn start_stream(
        &self,
        _request: Request<Streaming<pb::ConnInfo>>,
    ) -> Result<Response<Self::StartStreamStream>, Status> {
        Ok(Response::new(silent_until(self.shutdown.clone())))
    }
}
