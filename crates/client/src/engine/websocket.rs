//! The WebSocket transport: one Engine.IO packet per frame.

use ferrio_proto::engine::Handshake;
use ferrio_proto::websocket::deflate::client_offer;
use futures_util::stream::SplitStream;
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use super::deflate::Inflating;
use super::packet::{InPacket, decode_frame};
use super::{CloseReason, EngineConfig, OutPacket, Source, TransportEvent};
use crate::{Error, TransportKind};

/// A client WebSocket connection: tungstenite over the stream that inflates
/// what the server compressed (permessage-deflate), over TCP or TLS.
pub(crate) type WsStream = WebSocketStream<Inflating<MaybeTlsStream<TcpStream>>>;

/// Opens a WebSocket to the Engine.IO endpoint, for session `sid` or for a
/// new one.
pub(crate) async fn connect(config: &EngineConfig, sid: Option<&str>) -> Result<WsStream, Error> {
    let url = config.url(TransportKind::WebSocket, sid);
    let mut request = url
        .as_str()
        .into_client_request()
        .map_err(|e| Error::config(format!("invalid WebSocket URL {url}: {e}")))?;
    request.headers_mut().extend(config.headers.clone());
    if let Some(offer) = &config.per_message_deflate
        && let Ok(value) = http::HeaderValue::from_str(&client_offer(offer))
    {
        request
            .headers_mut()
            .insert(http::header::SEC_WEBSOCKET_EXTENSIONS, value);
    }
    let ws_config = WebSocketConfig::default()
        .max_message_size(Some(config.max_message_size))
        .max_frame_size(Some(config.max_message_size));
    tracing::trace!(%url, "websocket connect");
    let error = |e: &dyn std::error::Error| {
        Error::transport(format!(
            "websocket error: {}",
            crate::error::with_sources(e)
        ))
    };
    let stream = open_stream(config, request.uri())
        .await
        .map_err(|e| error(&e))?;
    let stream = Inflating::new(
        stream,
        config.per_message_deflate.clone(),
        config.max_message_size,
    );
    let (ws, _response) =
        tokio_tungstenite::client_async_with_config(request, stream, Some(ws_config))
            .await
            .map_err(|e| error(&e))?;
    Ok(ws)
}

/// The TCP connection to `uri`'s host, with TLS for `wss`, as
/// tokio-tungstenite's `connect_async` makes it: the stream the inflating
/// layer goes on, under tungstenite.
async fn open_stream(
    config: &EngineConfig,
    uri: &http::Uri,
) -> Result<MaybeTlsStream<TcpStream>, tungstenite::Error> {
    let host = uri.host().unwrap_or_default();
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let secure = config.secure;
    let port = uri.port_u16().unwrap_or(if secure { 443 } else { 80 });
    let tcp = TcpStream::connect((host, port)).await?;
    let tls = config
        .tls()
        .map_err(|e| tungstenite::Error::Io(std::io::Error::other(e.to_string())))?;
    let Some(tls) = tls else {
        return Ok(MaybeTlsStream::Plain(tcp));
    };
    let name = rustls_pki_types::ServerName::try_from(host.to_owned())
        .map_err(|e| tungstenite::Error::Io(std::io::Error::other(e)))?;
    let tls = tokio_rustls::TlsConnector::from(tls)
        .connect(name, tcp)
        .await?;
    Ok(MaybeTlsStream::Rustls(tls))
}

/// Opens a new session over WebSocket alone: the first frame is the open packet.
pub(crate) async fn open(config: &EngineConfig) -> Result<(WsStream, Handshake), Error> {
    let mut ws = connect(config, None).await?;
    let handshake = loop {
        match ws.next().await {
            Some(Ok(Message::Text(text))) => match decode_frame(text.as_str()) {
                Ok(InPacket::Open(json)) => {
                    break Handshake::decode(&json)
                        .map_err(|e| Error::handshake(format!("invalid handshake: {e}")))?;
                }
                other => {
                    return Err(Error::handshake(format!(
                        "expected an open packet, got {other:?}"
                    )));
                }
            },
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
            Some(Ok(other)) => {
                return Err(Error::handshake(format!(
                    "expected an open packet, got {other:?}"
                )));
            }
            Some(Err(e)) => return Err(Error::transport(format!("websocket error: {e}"))),
            None => return Err(Error::transport("websocket closed during the handshake")),
        }
    };
    Ok((ws, handshake))
}

/// Probes an upgrade of session `sid`: opens a WebSocket, sends `2probe` and
/// waits for `3probe`.
pub(crate) async fn probe(config: &EngineConfig, sid: &str) -> Result<WsStream, Error> {
    let mut ws = connect(config, Some(sid)).await?;
    ws.send(Message::text("2probe"))
        .await
        .map_err(|e| Error::transport(format!("probe failed: {e}")))?;
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(text))) if text.as_str() == "3probe" => return Ok(ws),
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
            Some(Ok(other)) => {
                return Err(Error::transport(format!("probe answered {other:?}")));
            }
            Some(Err(e)) => return Err(Error::transport(format!("probe failed: {e}"))),
            None => return Err(Error::transport("probe closed by the server")),
        }
    }
}

/// The WebSocket message carrying a frame.
pub(crate) fn to_message(frame: OutPacket) -> Message {
    match frame {
        OutPacket::Text(text) => Message::text(text),
        OutPacket::Binary(bytes) => Message::binary(bytes),
    }
}

/// The reader: every frame becomes a packet for the driver, then the end of
/// the connection a [`TransportEvent::Closed`].
pub(crate) async fn read_loop(
    mut stream: SplitStream<WsStream>,
    events: mpsc::Sender<TransportEvent>,
) {
    let reason = loop {
        let packet = match stream.next().await {
            Some(Ok(Message::Text(text))) => match decode_frame(text.as_str()) {
                Ok(packet) => packet,
                Err(e) => {
                    tracing::debug!(error = %e, "invalid websocket frame");
                    break CloseReason::ParseError;
                }
            },
            Some(Ok(Message::Binary(bytes))) => InPacket::Binary(bytes),
            Some(Ok(Message::Close(_))) | None => break CloseReason::TransportClose,
            Some(Ok(_)) => continue,
            Some(Err(e)) => break close_reason(&e),
        };
        let event = TransportEvent::Packets(Source::WebSocket, vec![packet]);
        if events.send(event).await.is_err() {
            return;
        }
    };
    let _ = events
        .send(TransportEvent::Closed(Source::WebSocket, reason))
        .await;
}

/// How a read error ends the session: a connection that simply went away is a
/// "transport close", as with the reference client; anything else an error.
fn close_reason(error: &tungstenite::Error) -> CloseReason {
    use tungstenite::Error as E;
    use tungstenite::error::ProtocolError as P;
    match error {
        E::ConnectionClosed
        | E::AlreadyClosed
        | E::Io(_)
        | E::Protocol(P::ResetWithoutClosingHandshake) => CloseReason::TransportClose,
        _ => CloseReason::TransportError,
    }
}
