//! The gRPC services the plugin serves, dispatched by the service name in the
//! request path (`/tfplugin6.Provider/PlanResourceChange`).
//!
//! tonic's own router would do the same through axum; this small table keeps
//! axum (and its HTTP stack) out of the provider's dependencies.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;
use std::task::{Context, Poll};

use tonic::body::Body;
use tonic::codegen::http::{Request, Response};
use tonic::codegen::{BoxFuture, Service};
use tonic::server::NamedService;
use tonic::Status;

/// One service behind a shared handle: each request gets its own clone, as
/// tonic's generated servers expect.
type Handler = Arc<dyn Fn(Request<Body>) -> BoxFuture<Response<Body>, Infallible> + Send + Sync>;

/// gRPC services by name; a tower service the HTTP/2 server calls per request.
#[derive(Clone, Default)]
pub struct Routes {
    by_name: HashMap<&'static str, Handler>,
}

impl Routes {
    /// Adds `service`, reached at `/{S::NAME}/{method}`.
    pub fn with<S>(mut self, service: S) -> Self
    where
        S: Service<Request<Body>, Response = Response<Body>, Error = Infallible>
            + NamedService
            + Clone
            + Send
            + Sync
            + 'static,
        S::Future: Send + 'static,
    {
        let handler: Handler = Arc::new(move |request| {
            let mut service = service.clone();
            Box::pin(async move {
                std::future::poll_fn(|cx| service.poll_ready(cx)).await?;
                service.call(request).await
            })
        });
        self.by_name.insert(S::NAME, handler);
        self
    }

    fn handler(&self, path: &str) -> Option<&Handler> {
        let (name, method) = path.strip_prefix('/')?.split_once('/')?;
        if method.is_empty() {
            return None;
        }
        self.by_name.get(name)
    }
}

impl Service<Request<Body>> for Routes {
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = BoxFuture<Response<Body>, Infallible>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        // Each call readies its own clone of the service it reaches.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        match self.handler(request.uri().path()) {
            Some(handler) => handler(request),
            None => {
                let status = Status::unimplemented(format!(
                    "this plugin serves no gRPC method at {}",
                    request.uri().path()
                ));
                Box::pin(std::future::ready(Ok(status.into_http())))
            }
        }
    }
}

impl std::fmt::Debug for Routes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut names: Vec<&str> = self.by_name.keys().copied().collect();
        names.sort_unstable();
        f.debug_struct("Routes").field("services", &names).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A service that answers with its own name in a header.
    #[derive(Clone)]
    struct Named<const N: usize>;

    impl NamedService for Named<0> {
        const NAME: &'static str = "test.Echo";
    }
    impl NamedService for Named<1> {
        const NAME: &'static str = "test.EchoMore";
    }

    impl<const N: usize> Service<Request<Body>> for Named<N>
    where
        Named<N>: NamedService,
    {
        type Response = Response<Body>;
        type Error = Infallible;
        type Future = BoxFuture<Response<Body>, Infallible>;

        fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
            Poll::Ready(Ok(()))
        }

        fn call(&mut self, request: Request<Body>) -> Self::Future {
            let answer = Response::builder()
                .header("served-by", <Self as NamedService>::NAME)
                .header("method", request.uri().path())
                .body(Body::empty());
            Box::pin(async move { Ok(answer.unwrap_or_default()) })
        }
    }

    async fn call(routes: &Routes, path: &str) -> Response<Body> {
        let request = Request::builder()
            .uri(path)
            .body(Body::empty())
            .expect("a valid test request");
        let mut routes = routes.clone();
        match routes.call(request).await {
            Ok(response) => response,
            Err(never) => match never {},
        }
    }

    fn header<'a>(response: &'a Response<Body>, name: &str) -> Option<&'a str> {
        response.headers().get(name).and_then(|v| v.to_str().ok())
    }

    fn routes() -> Routes {
        Routes::default().with(Named::<0>).with(Named::<1>)
    }

    #[tokio::test]
    async fn a_request_reaches_the_service_its_path_names() {
        let routes = routes();
        let echo = call(&routes, "/test.Echo/Say").await;
        assert_eq!(header(&echo, "served-by"), Some("test.Echo"));
        assert_eq!(header(&echo, "method"), Some("/test.Echo/Say"));
        let more = call(&routes, "/test.EchoMore/Say").await;
        assert_eq!(header(&more, "served-by"), Some("test.EchoMore"));
    }

    #[tokio::test]
    async fn an_unknown_service_or_path_is_unimplemented_not_a_prefix_match() {
        let routes = routes();
        for path in [
            "/test.Ech/Say",
            "/test.EchoMost/Say",
            "/other.Service/Say",
            "/test.Echo",
            "/test.Echo/",
            "/",
        ] {
            let response = call(&routes, path).await;
            assert_eq!(header(&response, "served-by"), None, "{path} was served");
            let status = Status::from_header_map(response.headers());
            assert_eq!(
                status.as_ref().map(Status::code),
                Some(tonic::Code::Unimplemented),
                "{path}: {:?}",
                response.headers()
            );
            assert!(
                status.is_some_and(|s| s.message().contains(path)),
                "{path}: the message should name the path"
            );
        }
    }
}
