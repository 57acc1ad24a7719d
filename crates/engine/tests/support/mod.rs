//! Helpers for the engine's end-to-end tests: a server on a loopback port, a
//! recording handler, and bare HTTP and WebSocket clients.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use ferrio_engine::{CloseReason, Connection, Engine, EngineConfig, Handler, Message, Session};
use http::{Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio_tungstenite::WebSocketStream;

/// What the recording handler saw.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Open(String),
    Message(String, Message),
    Upgrade(String),
    Close(String, CloseReason),
}

/// Echoes every message, closes the session on the text `close-me`, and
/// reports every event to the test.
pub struct Recorder(mpsc::UnboundedSender<Event>);

impl Handler for Recorder {
    fn on_open(&self, session: &Arc<Session>) -> Arc<dyn Connection> {
        let _ = self.0.send(Event::Open(session.id().to_string()));
        Arc::new(Recorded {
            session: session.clone(),
            events: self.0.clone(),
        })
    }
}

/// One session, as the recording handler sees it.
struct Recorded {
    session: Arc<Session>,
    events: mpsc::UnboundedSender<Event>,
}

impl Connection for Recorded {
    fn on_message(self: Arc<Self>, message: Message) {
        let session = &self.session;
        let _ = self
            .events
            .send(Event::Message(session.id().to_string(), message.clone()));
        if matches!(&message, Message::Text(t) if t.as_str() == "close-me") {
            session.close();
        } else {
            session.send(message.into()).expect("echo queued");
        }
    }
    fn on_close(&self, reason: CloseReason) {
        let sid = self.session.id().to_string();
        let _ = self.events.send(Event::Close(sid, reason));
    }
    fn on_upgrade(&self) {
        let _ = self
            .events
            .send(Event::Upgrade(self.session.id().to_string()));
    }
}

pub struct Server {
    pub addr: SocketAddr,
    pub engine: Engine,
    pub events: mpsc::UnboundedReceiver<Event>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl Server {
    pub async fn start(config: EngineConfig) -> Self {
        Self::start_with(config, ferrio_engine::ServeConfig::default()).await
    }

    /// A server on the standalone listener with these listener settings.
    pub async fn start_with(config: EngineConfig, serve: ferrio_engine::ServeConfig) -> Self {
        let (tx, events) = mpsc::unbounded_channel();
        let engine = Engine::new(config, Recorder(tx));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let served = engine.clone();
        let task = tokio::spawn(async move {
            let stop = async {
                let _ = stopped.await;
            };
            let closer = served.clone();
            ferrio_engine::serve_with_config(listener, served, serve, stop, move || {
                closer.shutdown()
            })
            .await
            .unwrap();
        });
        Self {
            addr,
            engine,
            events,
            stop: Some(stop),
            task,
        }
    }

    /// Stops the server gracefully and waits until it has.
    pub async fn shutdown(mut self) {
        let _ = self.stop.take().unwrap().send(());
        self.task.await.unwrap();
    }

    /// The next event, failing the test after 5 s.
    pub async fn next_event(&mut self) -> Event {
        tokio::time::timeout(Duration::from_secs(5), self.events.recv())
            .await
            .expect("an event within 5 s")
            .expect("server alive")
    }

    /// Skips events until a close, and returns its reason.
    pub async fn next_close(&mut self) -> CloseReason {
        loop {
            if let Event::Close(_, reason) = self.next_event().await {
                return reason;
            }
        }
    }

    pub fn url(&self, query: &str) -> String {
        format!("/engine.io/?EIO=4&{query}")
    }

    /// A plain HTTP request on a new connection.
    pub async fn request(
        &self,
        method: &str,
        path_and_query: &str,
        body: impl Into<Bytes>,
    ) -> Reply {
        self.request_with(method, path_and_query, body, &[]).await
    }

    pub async fn request_with(
        &self,
        method: &str,
        path_and_query: &str,
        body: impl Into<Bytes>,
        headers: &[(&str, &str)],
    ) -> Reply {
        let stream = TcpStream::connect(self.addr).await.unwrap();
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .unwrap();
        tokio::spawn(conn);
        let mut req = Request::builder()
            .method(method)
            .uri(path_and_query)
            .header("host", self.addr.to_string());
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let req = req.body(Full::new(body.into())).unwrap();
        let res = tokio::time::timeout(Duration::from_secs(10), sender.send_request(req))
            .await
            .expect("a response within 10 s")
            .unwrap();
        let status = res.status();
        let headers = res.headers().clone();
        let body = res.into_body().collect().await.unwrap().to_bytes();
        Reply {
            status,
            headers,
            body,
        }
    }

    /// Opens a long-polling session and returns its sid.
    pub async fn polling_handshake(&self) -> String {
        let reply = self
            .request("GET", &self.url("transport=polling"), "")
            .await;
        assert_eq!(reply.status, StatusCode::OK);
        let text = reply.text();
        let json: serde_json::Value = serde_json::from_str(&text[1..]).unwrap();
        json["sid"].as_str().unwrap().to_owned()
    }

    /// Opens a WebSocket to the engine with this query.
    pub async fn websocket(&self, query: &str) -> WebSocketStream<TcpStream> {
        self.try_websocket(query).await.expect("websocket accepted")
    }

    /// Opens a WebSocket to the engine with exactly this query (no `EIO=4`).
    pub async fn websocket_with(&self, query: &str) -> WebSocketStream<TcpStream> {
        let stream = TcpStream::connect(self.addr).await.unwrap();
        let url = format!("ws://{}/engine.io/?{query}", self.addr);
        let (ws, _) = tokio_tungstenite::client_async(url, stream)
            .await
            .expect("websocket accepted");
        ws
    }

    pub async fn try_websocket(
        &self,
        query: &str,
    ) -> Result<WebSocketStream<TcpStream>, tokio_tungstenite::tungstenite::Error> {
        let stream = TcpStream::connect(self.addr).await.unwrap();
        let url = format!("ws://{}{}", self.addr, self.url(query));
        tokio_tungstenite::client_async(url, stream)
            .await
            .map(|(ws, _)| ws)
    }
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: http::HeaderMap,
    pub body: Bytes,
}

impl Reply {
    pub fn text(&self) -> String {
        String::from_utf8(self.body.to_vec()).unwrap()
    }
}

/// Reads WebSocket messages until the next text or binary one.
pub async fn ws_next(
    ws: &mut WebSocketStream<TcpStream>,
) -> Option<tokio_tungstenite::tungstenite::Message> {
    use futures_util::StreamExt;
    use tokio_tungstenite::tungstenite::Message as M;
    loop {
        let next = tokio::time::timeout(Duration::from_secs(5), ws.next())
            .await
            .expect("a websocket message within 5 s");
        match next {
            Some(Ok(M::Ping(_) | M::Pong(_))) => continue,
            Some(Ok(m)) => return Some(m),
            _ => return None,
        }
    }
}

/// Reads the next WebSocket text message, skipping server pings (`2`).
pub async fn ws_next_text(ws: &mut WebSocketStream<TcpStream>) -> String {
    loop {
        match ws_next(ws).await.expect("websocket open") {
            tokio_tungstenite::tungstenite::Message::Text(t) if t.as_str() == "2" => continue,
            tokio_tungstenite::tungstenite::Message::Text(t) => return t.to_string(),
            other => panic!("expected text, got {other:?}"),
        }
    }
}
