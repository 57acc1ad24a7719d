use serde::{Deserialize, Serialize};

/// The data of the open packet (`0`), the first packet a server sends.
///
/// It serialises with exactly the five fields of the reference server, in its order:
/// `{"sid":…,"upgrades":[…],"pingInterval":…,"pingTimeout":…,"maxPayload":…}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Handshake {
    /// The session id, sent back by the client as `sid` on every later request.
    pub sid: String,
    /// Transports the client may upgrade to from the one it used for the handshake.
    pub upgrades: Vec<String>,
    /// Milliseconds between two server pings.
    pub ping_interval: u64,
    /// Milliseconds the server waits for a pong before it closes the session.
    pub ping_timeout: u64,
    /// The largest payload, in bytes, the server accepts in one request or frame.
    pub max_payload: u64,
}

impl Handshake {
    /// Appends the complete open packet (`0` followed by the JSON) to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.push(b'0');
        // Serialising a struct of strings and integers into a Vec cannot fail.
        serde_json::to_writer(&mut *out, self).expect("handshake serialises");
    }

    /// Parses the JSON data of an open packet (without the leading `0`).
    pub fn decode(json: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(json)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_like_the_reference_server() {
        let h = Handshake {
            sid: "lv_VI97HAXpY6yYWAAAC".into(),
            upgrades: vec!["websocket".into()],
            ping_interval: 25000,
            ping_timeout: 20000,
            max_payload: 1_000_000,
        };
        let mut out = Vec::new();
        h.encode(&mut out);
        assert_eq!(
            std::str::from_utf8(&out).unwrap(),
            r#"0{"sid":"lv_VI97HAXpY6yYWAAAC","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}"#
        );
        assert_eq!(
            Handshake::decode(std::str::from_utf8(&out[1..]).unwrap()).unwrap(),
            h
        );
    }
}
