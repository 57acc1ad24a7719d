//! The channels of one namespace (memo §2.1).

/// Channel names of the classic adapter for one namespace.
#[derive(Debug, Clone)]
pub(crate) struct Channels {
    /// `{key}#{nsp}#`: broadcasts to 0 or 2+ rooms; the prefix of room channels.
    pub broadcast: String,
    /// `{key}#{nsp}#*`, PSUBSCRIBEd.
    pub pattern: String,
    /// `{key}-request#{nsp}#`: requests; NUMSUB of it is the server count.
    pub request: String,
    /// `{key}-response#{nsp}#`: responses (default).
    pub response: String,
    /// `{key}-response#{nsp}#{uid}#`: responses addressed to this node.
    pub own_response: String,
    /// `{key}-response#{nsp}#`, the prefix of other nodes' own response channels.
    response_prefix: String,
}

impl Channels {
    /// The channels of namespace `nsp` (with its leading `/`) under `key`,
    /// for the node `uid`.
    pub(crate) fn new(key: &str, nsp: &str, uid: &str) -> Self {
        let broadcast = format!("{key}#{nsp}#");
        let response = format!("{key}-response#{nsp}#");
        Self {
            pattern: format!("{broadcast}*"),
            own_response: format!("{response}{uid}#"),
            request: format!("{key}-request#{nsp}#"),
            response_prefix: response.clone(),
            broadcast,
            response,
        }
    }

    /// Where a broadcast to `rooms` goes: the room's channel for exactly one
    /// room, the namespace's otherwise.
    pub(crate) fn for_broadcast(&self, rooms: &[String]) -> String {
        match rooms {
            [room] => format!("{}{room}#", self.broadcast),
            _ => self.broadcast.clone(),
        }
    }

    /// The response channel of node `uid`.
    pub(crate) fn response_of(&self, uid: &str) -> String {
        format!("{}{uid}#", self.response_prefix)
    }

    /// The room a broadcast channel names: `""` for the namespace channel,
    /// `None` when the channel is not one of this namespace's.
    pub(crate) fn room_of<'c>(&self, channel: &'c str) -> Option<&'c str> {
        let rest = channel.strip_prefix(self.broadcast.as_str())?;
        if rest.is_empty() {
            return Some("");
        }
        rest.strip_suffix('#')
    }
}

/// A random id of `len` characters from `A–Z a–z 0–9 - _`, as Node's `uid2`.
pub(crate) fn uid2(len: usize) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    (0..len)
        .map(|_| char::from(ALPHABET[usize::from(rand::random::<u8>() % 64)]))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channel_names_are_nodes() {
        let c = Channels::new("socket.io", "/", "atTHVG");
        assert_eq!(c.pattern, "socket.io#/#*");
        assert_eq!(c.request, "socket.io-request#/#");
        assert_eq!(c.response, "socket.io-response#/#");
        assert_eq!(c.own_response, "socket.io-response#/#atTHVG#");
        assert_eq!(c.for_broadcast(&[]), "socket.io#/#");
        assert_eq!(c.for_broadcast(&["r1".into()]), "socket.io#/#r1#");
        assert_eq!(c.for_broadcast(&["r1".into(), "r2".into()]), "socket.io#/#");
        assert_eq!(c.room_of("socket.io#/#"), Some(""));
        assert_eq!(c.room_of("socket.io#/#a#b#"), Some("a#b"));
        assert_eq!(c.room_of("socket.io#/admin#"), None);
    }

    #[test]
    fn uids_use_the_uid2_alphabet() {
        let uid = uid2(6);
        assert_eq!(uid.len(), 6);
        assert!(
            uid.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
    }
}
