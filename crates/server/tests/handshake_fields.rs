//! The handshake fields Node has (`address`, `xdomain`, `secure`, `issued`)
//! and `socket.request`'s reach, under axum: a tower layer before Socket.IO
//! hands an identity to the socket through the request's extensions, and
//! the address comes from axum's `ConnectInfo<SocketAddr>`.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::extract::Request;
use axum::middleware::{self, Next};
use axum::response::Response;
use ferrio::SocketIo;
use futures_util::{SinkExt, StreamExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

/// What an auth layer found out about the client.
#[derive(Debug, Clone, PartialEq)]
struct Identity(String);

/// A tower layer (axum middleware) that authenticates the request and hands
/// the identity on in its extensions.
async fn authenticate(mut req: Request, next: Next) -> Response {
    let user = req
        .headers()
        .get("x-user")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("anonymous")
        .to_owned();
    req.extensions_mut().insert(Identity(user));
    next.run(req).await
}

type Seen = (Option<Identity>, Option<IpAddr>, bool, bool, u64);

async fn start() -> (SocketAddr, SocketIo, mpsc::UnboundedReceiver<Seen>) {
    let io = SocketIo::new();
    let (tx, rx) = mpsc::unbounded_channel();
    io.on_connection(move |socket| {
        let h = socket.handshake();
        let seen = (
            h.extensions().get::<Identity>().cloned(),
            h.address(),
            h.xdomain(),
            h.secure(),
            h.issued(),
        );
        let _ = tx.send(seen);
        async {}
    });
    let app = Router::new()
        .layer(io.layer())
        .layer(middleware::from_fn(authenticate));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let service = app.into_make_service_with_connect_info::<SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, service).await.unwrap() });
    (addr, io, rx)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tower_layer_hands_an_identity_and_axum_the_address() {
    let (addr, _io, mut seen) = start().await;
    let url = format!("ws://{addr}/socket.io/?EIO=4&transport=websocket");
    let mut request = url.into_client_request().unwrap();
    request
        .headers_mut()
        .insert("x-user", "alice".parse().unwrap());
    request
        .headers_mut()
        .insert("origin", "https://app.example".parse().unwrap());
    let stream = TcpStream::connect(addr).await.unwrap();
    let (mut ws, _) = tokio_tungstenite::client_async(request, stream)
        .await
        .unwrap();
    let _open = ws.next().await;
    ws.send(Message::text("40")).await.unwrap();
    let (identity, address, xdomain, secure, issued) =
        tokio::time::timeout(Duration::from_secs(5), seen.recv())
            .await
            .unwrap()
            .unwrap();
    assert_eq!(identity, Some(Identity("alice".into())));
    // Node's address: the IP, no port.
    assert_eq!(address, Some(IpAddr::V4(Ipv4Addr::LOCALHOST)));
    assert!(xdomain, "an Origin header: cross-domain");
    assert!(!secure, "plain TCP");
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    assert!(issued <= now && now - issued < 10_000, "{issued} vs {now}");
}
