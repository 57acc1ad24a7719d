use std::future::Future;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::watch;

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
        let engine = engine.clone();
        let service = service_fn(move |mut req| {
            req.extensions_mut().insert(addr);
            let engine = engine.clone();
            async move { Ok::<_, std::convert::Infallible>(engine.handle(req).await) }
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
    engine.shutdown();
    let _ = stop.send(true);
    let _ = tokio::time::timeout(DRAIN_TIMEOUT, stop.closed()).await;
    Ok(())
}
