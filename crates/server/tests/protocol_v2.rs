//! The Socket.IO v2 packets of a v3 client (`allow_eio3`), byte for byte as
//! socket.io 4.8 sends them: the main namespace joined without a CONNECT
//! (`40` alone), a namespace's query as its auth, bare CONNECT replies,
//! CONNECT_ERROR as `err.data || err.message` (and an object for an unknown
//! namespace), and binary attachments with their v3 type byte.

mod support;

use serde_json::json;
use support::{TestServer, WsClient};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use ferrio::{ConnectError, SocketIo, SocketIoConfig};

async fn v3_client(server: &TestServer) -> WsClient {
    let url = format!("ws://{}/socket.io/?EIO=3&transport=websocket", server.addr);
    WsClient::open(server.addr, url.into_client_request().unwrap()).await
}

fn io() -> SocketIo {
    let io = SocketIo::with_config(SocketIoConfig::default().allow_eio3(true));
    io.on_connection(|socket| async move {
        let _ = socket.emit("id", socket.id().as_str());
    });
    io.of("/custom").on_connection(|socket| async move {
        let _ = socket.emit("auth", &socket.handshake().auth());
        let _ = socket.emit("bin", &bytes::Bytes::from_static(&[1, 2, 3]));
    });
    io.of("/private")
        .use_middleware(|_| async { Err(ConnectError::new("unauthorized")) });
    io.of("/data").use_middleware(|_| async {
        Err(ConnectError::new("unauthorized").with_data(json!({"reason": "bad token"})))
    });
    io
}

#[tokio::test(flavor = "multi_thread")]
async fn a_v2_client_is_in_the_main_namespace_at_once_with_a_bare_reply() {
    let server = TestServer::start(io()).await;
    let mut client = v3_client(&server).await;
    assert_eq!(client.recv_text().await, "40");
    // Its socket in `/` has the Engine.IO session's id, as in Node.
    let id = format!(r#"42["id","{}"]"#, client.eio_sid);
    assert_eq!(client.recv_text().await, id);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_v2_connect_carries_its_auth_in_the_query() {
    let server = TestServer::start(io()).await;
    let mut client = v3_client(&server).await;
    assert_eq!(client.recv_text().await, "40");
    client.recv_text().await;
    client.send("40/custom?token=a%20b&n=1,").await;
    assert_eq!(client.recv_text().await, "40/custom,");
    assert_eq!(
        client.recv_text().await,
        r#"42/custom,["auth",{"token":"a b","n":"1"}]"#
    );
    // Attachments as in v5, each a binary frame with the v3 type byte.
    assert_eq!(
        client.recv_text().await,
        r#"451-/custom,["bin",{"_placeholder":true,"num":0}]"#
    );
    assert_eq!(client.recv_binary().await, [4, 1, 2, 3]);
}

#[tokio::test(flavor = "multi_thread")]
async fn v2_connect_errors_are_the_data_or_the_message() {
    let server = TestServer::start(io()).await;
    let mut client = v3_client(&server).await;
    assert_eq!(client.recv_text().await, "40");
    client.recv_text().await;
    client.send("40/private,").await;
    assert_eq!(client.recv_text().await, r#"44/private,"unauthorized""#);
    client.send("40/data,").await;
    assert_eq!(
        client.recv_text().await,
        r#"44/data,{"reason":"bad token"}"#
    );
    client.send("40/nope,").await;
    assert_eq!(
        client.recv_text().await,
        r#"44/nope,{"message":"Invalid namespace"}"#
    );
}
