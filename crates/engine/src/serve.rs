use std::future::Future;
use std::time::Duration;

use std::convert::Infallible;

use bytes::Bytes;
use http::{Request, Response};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tower_service::Service;

use crate::Engine;

/// How long a graceful shutdown waits for open HTTP requests to finish.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

/// Serves `engine` on `listener` until `shutdown` completes, then stops
/// accepting, closes every session with "server shutting down" and waits
/// (up to 5 s) for open HTTP connections to finish.
///
/// Each connection's peer address is put in the request extensions, where the
/// engine reads it for [`ConnectInfo::remote_addr`](crate::ConnectInfo::remote_addr).
pub async fn serve(
    listener: TcpListener,
    engine: Engine,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let closer = engine.clone();
    serve_with(listener, engine, shutdown, move || closer.shutdown()).await
}

/// Serves any tower service over HTTP/1.1 with upgrades (an engine wrapped in
/// layers, a router holding one) until `shutdown` completes; then stops
/// accepting, calls `on_shutdown` (close your engines there) and waits up to
/// 5 s for open connections to finish.
pub async fn serve_with<S, B>(
    listener: TcpListener,
    service: S,
    shutdown: impl Future<Output = ()>,
    on_shutdown: impl FnOnce(),
) -> std::io::Result<()>
where
    S: Service<Request<Incoming>, Response = Response<B>, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    // Every connection task holds a receiver; the sender learns when all are gone.
    let (stop, stopped) = watch::channel(false);
    tokio::pin!(shutdown);
    loop {
        let (stream, addr) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // Out of file descriptors and the like: wait, don't spin or die.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let service = service.clone();
        let service = service_fn(move |mut req: Request<Incoming>| {
            req.extensions_mut().insert(addr);
            let mut service = service.clone();
            async move {
                std::future::poll_fn(|cx| service.poll_ready(cx)).await?;
                service.call(req).await
            }
        });
        let mut stopped = stopped.clone();
        tokio::spawn(async move {
            let conn = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .with_upgrades();
            tokio::pin!(conn);
            let result = tokio::select! {
                result = conn.as_mut() => result,
                _ = async { stopped.wait_for(|stop| *stop).await.map(|_| ()) } => {
                    conn.as_mut().graceful_shutdown();
                    conn.await
                }
            };
            if let Err(e) = result {
                tracing::trace!(error = %e, "http connection ended with an error");
            }
        });
    }
    drop(listener);
    drop(stopped);
    on_shutdown();
    let _ = stop.send(true);
    let _ = tokio::time::timeout(DRAIN_TIMEOUT, stop.closed()).await;
    Ok(())
}
