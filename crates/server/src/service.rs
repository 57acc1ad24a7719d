//! Mounting in a tower stack (axum, hyper) beside other routes.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use ferrio_engine::Engine;
use http::{Request, Response};
use http_body_util::{Either, Full};
use tower_layer::Layer;
use tower_service::Service;

use crate::serve_client::ClientFiles;

/// A layer answering requests under the Socket.IO path; see [`SocketIo::layer`](crate::SocketIo::layer).
#[derive(Clone, Debug)]
pub struct SocketIoLayer {
    engine: Engine,
    client_files: Option<Arc<ClientFiles>>,
}

impl SocketIoLayer {
    pub(crate) fn new(engine: Engine, client_files: Option<Arc<ClientFiles>>) -> Self {
        Self {
            engine,
            client_files,
        }
    }
}

impl<S> Layer<S> for SocketIoLayer {
    type Service = SocketIoService<S>;

    fn layer(&self, inner: S) -> SocketIoService<S> {
        SocketIoService {
            engine: self.engine.clone(),
            client_files: self.client_files.clone(),
            inner,
        }
    }
}

/// The service of [`SocketIoLayer`]: Socket.IO requests to the engine, the
/// rest to `S`.
#[derive(Clone, Debug)]
pub struct SocketIoService<S> {
    engine: Engine,
    client_files: Option<Arc<ClientFiles>>,
    inner: S,
}

impl<S, B, ResBody> Service<Request<B>> for SocketIoService<S>
where
    S: Service<Request<B>, Response = Response<ResBody>, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send,
    B: http_body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    type Response = Response<Either<Full<Bytes>, ResBody>>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        if let Some(files) = &self.client_files {
            if let Some(name) = files.file_name(req.uri().path()) {
                let files = files.clone();
                return Box::pin(async move {
                    Ok(files.respond(name, req.headers()).await.map(Either::Left))
                });
            }
        }
        if self.engine.config().handles_path(req.uri().path()) {
            let engine = self.engine.clone();
            Box::pin(async move { Ok(engine.handle(req).await.map(Either::Left)) })
        } else {
            // Take the service that was made ready, leave a fresh clone behind.
            let clone = self.inner.clone();
            let mut inner = std::mem::replace(&mut self.inner, clone);
            Box::pin(async move { Ok(inner.call(req).await?.map(Either::Right)) })
        }
    }
}
