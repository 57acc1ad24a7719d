//! HTTP long-polling: a GET loop receives, one POST at a time sends.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use bytes::Bytes;
use ferrio_proto::engine::Handshake;
use http::{Method, Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming as Body;
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use tokio::sync::mpsc;

use super::packet::{InPacket, decode_body};
use super::{CloseReason, EngineConfig, Source, TransportEvent};
use crate::{Error, TransportKind};

/// The HTTP/1.1 client of a polling session: over TCP, or over TLS.
#[derive(Debug)]
enum HttpClient {
    Plain(Client<HttpConnector, Full<Bytes>>),
    Tls(Client<HttpsConnector<HttpConnector>, Full<Bytes>>),
}

impl HttpClient {
    fn new(config: &EngineConfig) -> Result<Self, Error> {
        let builder = Client::builder(TokioExecutor::new());
        Ok(match config.tls()? {
            None => Self::Plain(builder.build_http()),
            Some(tls) => {
                let connector = HttpsConnectorBuilder::new()
                    .with_tls_config(rustls::ClientConfig::clone(&tls))
                    .https_only()
                    .enable_http1()
                    .build();
                Self::Tls(builder.build(connector))
            }
        })
    }

    async fn request(
        &self,
        request: Request<Full<Bytes>>,
    ) -> Result<Response<Body>, hyper_util::client::legacy::Error> {
        match self {
            Self::Plain(client) => client.request(request).await,
            Self::Tls(client) => client.request(request).await,
        }
    }
}

/// A polling session: the HTTP client (which pools one connection for the
/// pending GET and one for the POST) and the session id.
#[derive(Debug)]
pub(crate) struct Polling {
    http: HttpClient,
    config: Arc<EngineConfig>,
    sid: String,
}

impl Polling {
    /// Performs the handshake: a GET without `sid` whose first packet is the
    /// open packet. Returns the session, the handshake and any packets that
    /// came after the open packet in the same response.
    pub(crate) async fn open(
        config: Arc<EngineConfig>,
    ) -> Result<(Arc<Self>, Handshake, Vec<InPacket>), Error> {
        let http = HttpClient::new(&config)?;
        let body = request(&http, &config, Method::GET, None, None).await?;
        let mut packets = decode_body(&body)
            .map_err(|e| Error::handshake(format!("invalid handshake payload: {e}")))?
            .into_iter();
        let handshake = match packets.next() {
            Some(InPacket::Open(json)) => Handshake::decode(&json)
                .map_err(|e| Error::handshake(format!("invalid handshake: {e}")))?,
            other => {
                return Err(Error::handshake(format!(
                    "expected an open packet, got {other:?}"
                )));
            }
        };
        let polling = Arc::new(Self {
            http,
            config,
            sid: handshake.sid.clone(),
        });
        Ok((polling, handshake, packets.collect()))
    }

    /// One poll: the packets the server had queued (or a noop).
    pub(crate) async fn get(&self) -> Result<Bytes, Error> {
        request(&self.http, &self.config, Method::GET, Some(&self.sid), None).await
    }

    /// Sends one payload.
    pub(crate) async fn post(&self, body: Vec<u8>) -> Result<(), Error> {
        request(
            &self.http,
            &self.config,
            Method::POST,
            Some(&self.sid),
            Some(body),
        )
        .await
        .map(drop)
    }
}

async fn request(
    http: &HttpClient,
    config: &EngineConfig,
    method: Method,
    sid: Option<&str>,
    body: Option<Vec<u8>>,
) -> Result<Bytes, Error> {
    let url = config.url(TransportKind::Polling, sid);
    let mut builder = Request::builder().method(method).uri(&url);
    if let Some(headers) = builder.headers_mut() {
        headers.extend(config.headers.clone());
        if body.is_some() {
            headers.insert(
                header::CONTENT_TYPE,
                header::HeaderValue::from_static("text/plain;charset=UTF-8"),
            );
        }
    }
    let request = builder
        .body(Full::new(Bytes::from(body.unwrap_or_default())))
        .map_err(|e| Error::config(format!("invalid request to {url}: {e}")))?;
    tracing::trace!(%url, "polling request");
    let response = http.request(request).await.map_err(|e| {
        Error::transport(format!(
            "polling request failed: {}",
            crate::error::with_sources(&e)
        ))
    })?;
    let status = response.status();
    let body = Limited::new(response.into_body(), config.max_message_size)
        .collect()
        .await
        .map_err(|e| Error::transport(format!("polling response failed: {e}")))?
        .to_bytes();
    if status != StatusCode::OK {
        return Err(Error::transport(format!(
            "polling request answered {status}: {}",
            String::from_utf8_lossy(&body)
        )));
    }
    Ok(body)
}

/// The GET loop: each response's packets go to the driver, until an error,
/// or until `pause` is set, when the loop reports
/// [`TransportEvent::PollPaused`] after its last response and stops.
pub(crate) async fn poll_loop(
    polling: Arc<Polling>,
    events: mpsc::Sender<TransportEvent>,
    pause: Arc<AtomicBool>,
) {
    loop {
        if pause.load(Ordering::Acquire) {
            let _ = events.send(TransportEvent::PollPaused).await;
            return;
        }
        let event = match polling.get().await {
            Ok(body) => match decode_body(&body) {
                Ok(packets) => TransportEvent::Packets(Source::Polling, packets),
                Err(e) => {
                    tracing::debug!(error = %e, "invalid polling payload");
                    TransportEvent::Closed(Source::Polling, CloseReason::ParseError)
                }
            },
            Err(e) => {
                tracing::debug!(error = %e, "poll failed");
                TransportEvent::Closed(Source::Polling, CloseReason::TransportError)
            }
        };
        let last = matches!(event, TransportEvent::Closed(..));
        if events.send(event).await.is_err() || last {
            return;
        }
    }
}
