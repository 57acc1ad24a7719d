//! TEMPORARY until `SocketDetails::{to,from}_node_json` land on branch
//! adapter-trait: inherent methods of the same names will shadow these.

use ferrio::SocketDetails;
use serde_json::{Value, json};

pub(crate) trait NodeJson: Sized {
    fn to_node_json(&self) -> Value;
    fn from_node_json(json: Value) -> Result<Self, String>;
}

impl NodeJson for SocketDetails {
    fn to_node_json(&self) -> Value {
        let h = &self.handshake;
        let issued = h
            .time()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        let headers: serde_json::Map<String, Value> = h
            .headers()
            .iter()
            .map(|(k, v)| (k.as_str().to_owned(), json!(v.to_str().unwrap_or_default())))
            .collect();
        json!({
            "id": self.id.to_string(),
            "handshake": {
                "headers": headers, "time": "", "address": h.address().map(|a| a.ip().to_string()),
                "xdomain": false, "secure": false, "issued": issued, "url": h.url(),
                "query": h.query(), "auth": h.auth(),
            },
            "rooms": self.rooms.iter().map(|r| r.to_string()).collect::<Vec<_>>(),
            "data": self.data,
        })
    }

    fn from_node_json(_json: Value) -> Result<Self, String> {
        Err("remote handshakes not supported yet".into())
    }
}
