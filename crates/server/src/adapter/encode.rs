//! A broadcast encoded once for all its targets, or refused whole: shared by
//! the adapter's delivery and the recovery log, which stores what it sent.

use std::sync::Arc;

use ferrio_proto::socketio::{Packet, Parser, Payload};

use super::AdapterError;
use crate::Socket;
use crate::outbound::Encoded;

/// Encodes a broadcast once with the server's parser, refusing it if it can
/// never fit the targets' outbox (every socket of a server has the same limit).
pub(super) fn encode_for(
    packet: Packet<Payload>,
    targets: &[Arc<Socket>],
    parser: Parser,
) -> Result<Encoded, AdapterError> {
    let encoded = Encoded::new(packet, parser);
    let limit = targets.first().map_or(usize::MAX, |s| s.outbox_limit());
    if encoded.len() > limit {
        return Err(AdapterError::TooLarge {
            size: encoded.len(),
            limit,
        });
    }
    Ok(encoded)
}
