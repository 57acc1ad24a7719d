use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use std::convert::Infallible;

use bytes::Bytes;
use http::header::{self, HeaderValue};
use http::{Request, Response, StatusCode};
use http_body::Body as _;
use http_body_util::{Either, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tower_service::Service;

use crate::Engine;
#[cfg(feature = "tls")]
use crate::TlsConfig;
use crate::conn::Counted;

/// How long a graceful shutdown waits for open HTTP requests to finish.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

/// Options of the standalone listener ([`serve_with_config`]): limits on what
/// a peer can make it hold before a request reaches the engine, and TLS.
///
/// ```
/// use std::time::Duration;
/// use ferrio_engine::ServeConfig;
///
/// let config = ServeConfig::default()
///     .max_connections(20_000)
///     .header_read_timeout(Duration::from_secs(10));
/// assert_eq!(config.max_header_bytes, 16 * 1024);
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ServeConfig {
    /// TCP connections served at once, WebSocket connections included (at
    /// least 1). When reached, the listener stops accepting until one closes:
    /// new connections wait in the kernel's backlog. Default 100 000.
    pub max_connections: usize,
    /// Largest request head (request line and headers), in bytes; a larger one
    /// is answered `431 Request Header Fields Too Large` and its connection
    /// closed. At least 8 KiB. Default 16 KiB, Node's default.
    pub max_header_bytes: usize,
    /// Time a client has to send a complete request head, from its first byte
    /// or, on a kept-alive connection, from the end of the previous response;
    /// a connection that trickles its headers (slowloris) or sits idle is
    /// closed then. With TLS, the TLS handshake must also finish within it.
    /// Default 30 s.
    pub header_read_timeout: Duration,
    /// Time a request that carries a body has, once its head is in, to send
    /// the whole body and be answered; when it runs out the request is
    /// answered `408 Request Timeout` and its connection closed (a polling
    /// POST that trickles its body, slowloris-style, ends so). Requests
    /// without a body are not limited by it: a parked polling GET is ended by
    /// the heartbeat, a WebSocket by its own timers. Default 60 s: a body is
    /// at most `max_payload` (1 MB by default), which a 150 kbit/s link sends
    /// in under a minute. Node's `requestTimeout` is 300 s, but it also counts
    /// the head, which [`header_read_timeout`](Self::header_read_timeout)
    /// limits here, and Node's bodies are not capped by the listener.
    pub request_timeout: Duration,
    /// Time a write to the connection may wait without any progress (the
    /// peer's receive window stays shut): the connection is then closed. It
    /// frees the connection of a client that stops reading a polling response,
    /// and of any other response or WebSocket write it stopped reading, over
    /// TLS too. Progress restarts the clock, so a slow but reading client is
    /// never cut. Default 30 s.
    pub write_timeout: Duration,
    /// Serve `https://` and `wss://` with this certificate. Default `None`
    /// (plain TCP).
    #[cfg(feature = "tls")]
    pub tls: Option<TlsConfig>,
}

impl Default for ServeConfig {
    fn default() -> Self {
        Self {
            max_connections: 100_000,
            max_header_bytes: 16 * 1024,
            header_read_timeout: Duration::from_secs(30),
            request_timeout: Duration::from_secs(60),
            write_timeout: Duration::from_secs(30),
            #[cfg(feature = "tls")]
            tls: None,
        }
    }
}

impl ServeConfig {
    /// Sets [`max_connections`](Self::max_connections) (default 100 000).
    pub fn max_connections(mut self, max: usize) -> Self {
        self.max_connections = max;
        self
    }
    /// Sets [`max_header_bytes`](Self::max_header_bytes) (default 16 KiB).
    pub fn max_header_bytes(mut self, bytes: usize) -> Self {
        self.max_header_bytes = bytes;
        self
    }
    /// Sets [`header_read_timeout`](Self::header_read_timeout) (default 30 s).
    pub fn header_read_timeout(mut self, timeout: Duration) -> Self {
        self.header_read_timeout = timeout;
        self
    }
    /// Sets [`request_timeout`](Self::request_timeout) (default 60 s).
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }
    /// Sets [`write_timeout`](Self::write_timeout) (default 30 s).
    pub fn write_timeout(mut self, timeout: Duration) -> Self {
        self.write_timeout = timeout;
        self
    }
    /// Sets [`tls`](Self::tls).
    #[cfg(feature = "tls")]
    pub fn tls(mut self, tls: TlsConfig) -> Self {
        self.tls = Some(tls);
        self
    }
}

/// Serves `engine` on `listener` until `shutdown` completes, then stops
/// accepting, closes every session with "server shutting down" and waits
/// (up to 5 s) for open HTTP connections to finish.
///
/// Each connection's peer address is put in the request extensions, where the
/// engine reads it for [`ConnectInfo::remote_addr`](crate::ConnectInfo::remote_addr).
/// The listener's limits are [`ServeConfig`]'s defaults.
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
/// 5 s for open connections to finish. The listener's limits are
/// [`ServeConfig`]'s defaults.
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
    serve_with_config(
        listener,
        service,
        ServeConfig::default(),
        shutdown,
        on_shutdown,
    )
    .await
}

/// [`serve_with`] with listener options: connection and header limits, TLS.
pub async fn serve_with_config<S, B>(
    listener: TcpListener,
    service: S,
    config: ServeConfig,
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
    let http = Arc::new(http_builder(&config));
    let connections = Arc::new(Semaphore::new(
        config.max_connections.clamp(1, Semaphore::MAX_PERMITS),
    ));
    // Every connection task holds a receiver; the sender learns when all are gone.
    let (stop, stopped) = watch::channel(false);
    tokio::pin!(shutdown);
    while let Some((stream, addr)) = accept(
        &listener,
        &connections,
        config.write_timeout,
        shutdown.as_mut(),
    )
    .await
    {
        #[cfg(feature = "tls")]
        let secure = config.tls.is_some();
        #[cfg(not(feature = "tls"))]
        let secure = false;
        let service = with_request_timeout(service.clone(), addr, secure, config.request_timeout);
        spawn_connection(&http, &config, stream, addr, service, stopped.clone());
    }
    drop(listener);
    drop(stopped);
    on_shutdown();
    let _ = stop.send(true);
    let _ = tokio::time::timeout(DRAIN_TIMEOUT, stop.closed()).await;
    Ok(())
}

/// HTTP/1.1 with the listener's header limits and timeouts.
fn http_builder(config: &ServeConfig) -> http1::Builder {
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(config.header_read_timeout)
        // hyper panics below 8 KiB: keep the documented minimum.
        .max_header_size(config.max_header_bytes.max(8192))
        // hyper's default read buffer cap (~400 KiB), raised if the head may be larger.
        .max_buf_size(config.max_header_bytes.max(8192 + 4096 * 100));
    http
}

/// The next connection, once one of the `connections` places is free;
/// `None` when `shutdown` completes first.
async fn accept(
    listener: &TcpListener,
    connections: &Arc<Semaphore>,
    write_timeout: Duration,
    mut shutdown: Pin<&mut impl Future<Output = ()>>,
) -> Option<(Counted<TcpStream>, SocketAddr)> {
    loop {
        let permit = tokio::select! {
            permit = connections.clone().acquire_owned() => permit.expect("never closed"),
            () = shutdown.as_mut() => return None,
        };
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
            () = shutdown.as_mut() => return None,
        };
        let _ = stream.set_nodelay(true);
        return Some((Counted::new(stream, permit, write_timeout), addr));
    }
}

/// `service` for one connection from `addr`: each request carries the peer's
/// address in its extensions (and the [`Secure`](crate::Secure) mark when
/// the connection is TLS), and one whose body takes longer than
/// `request_timeout` is answered 408.
fn with_request_timeout<S, B>(
    service: S,
    addr: SocketAddr,
    secure: bool,
    request_timeout: Duration,
) -> impl hyper::service::Service<
    Request<Incoming>,
    Response = Response<Either<B, Full<Bytes>>>,
    Error = Infallible,
    Future: Send + 'static,
> + Send
+ 'static
where
    S: Service<Request<Incoming>, Response = Response<B>, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    service_fn(move |mut req: Request<Incoming>| {
        req.extensions_mut().insert(addr);
        if secure {
            req.extensions_mut().insert(crate::Secure);
        }
        let mut service = service.clone();
        async move {
            std::future::poll_fn(|cx| service.poll_ready(cx)).await?;
            if req.body().is_end_stream() {
                return service.call(req).await.map(|r| r.map(Either::Left));
            }
            match tokio::time::timeout(request_timeout, service.call(req)).await {
                Ok(response) => response.map(|r| r.map(Either::Left)),
                Err(_) => {
                    tracing::trace!(%addr, "request timed out");
                    Ok(request_timed_out())
                }
            }
        }
    })
}

/// Serves one accepted connection in a task of its own, after a TLS handshake
/// when the listener has TLS. (Two spawns, not one task with a branch: a plain
/// connection's task then does not carry the TLS stream's state.)
fn spawn_connection<S, B>(
    http: &Arc<http1::Builder>,
    config: &ServeConfig,
    stream: Counted<TcpStream>,
    addr: SocketAddr,
    service: S,
    stopped: watch::Receiver<bool>,
) where
    S: hyper::service::Service<Request<Incoming>, Response = Response<B>, Error = Infallible>
        + Send
        + 'static,
    S::Future: Send + 'static,
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let http = http.clone();
    #[cfg(feature = "tls")]
    if let Some(tls) = &config.tls {
        let acceptor = tls.acceptor().clone();
        let timeout = config.header_read_timeout;
        tokio::spawn(async move {
            let stream = match tokio::time::timeout(timeout, acceptor.accept(stream)).await {
                Ok(Ok(stream)) => stream,
                Ok(Err(e)) => {
                    tracing::trace!(error = %e, %addr, "tls handshake failed");
                    return;
                }
                Err(_) => {
                    tracing::trace!(%addr, "tls handshake timed out");
                    return;
                }
            };
            serve_connection(&http, stream, service, stopped).await;
        });
        return;
    }
    #[cfg(not(feature = "tls"))]
    let _ = (config, addr);
    tokio::spawn(async move { serve_connection(&http, stream, service, stopped).await });
}

/// The answer to a request whose body did not arrive within
/// [`ServeConfig::request_timeout`]; the connection closes after it.
fn request_timed_out<B>() -> Response<Either<B, Full<Bytes>>> {
    let mut response = Response::new(Either::Right(Full::new(Bytes::new())));
    *response.status_mut() = StatusCode::REQUEST_TIMEOUT;
    response
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

/// Serves one connection until it ends, or ends it gracefully once `stopped`
/// turns true.
async fn serve_connection<I, S, B>(
    http: &http1::Builder,
    io: I,
    service: S,
    mut stopped: watch::Receiver<bool>,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    S: hyper::service::Service<Request<Incoming>, Response = Response<B>, Error = Infallible>,
    S::Future: Send + 'static,
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let conn = http
        .serve_connection(TokioIo::new(io), service)
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
}
