//! permessage-deflate (RFC 7692): the handshake's offers and answers, and the
//! compression of whole messages.
//!
//! A compressed message has RSV1 set on its first frame; its payload is raw
//! deflate data ended by a sync flush, without the flush's last four bytes.
//! The [`Reader`](super::Reader) inflates what a client compressed when given
//! an [`Inflater`] ([`Reader::inflate`](super::Reader::inflate)); a sender
//! compresses with a [`Deflater`].
//!
//! ```
//! use ferrio_proto::websocket::deflate::{DeflateConfig, Deflater, Inflater, accept_offer};
//!
//! let config = DeflateConfig::default();
//! let (params, answer) = accept_offer(&config, "permessage-deflate; client_max_window_bits").unwrap();
//! assert_eq!(answer, "permessage-deflate");
//!
//! let mut deflater = Deflater::new(config.level, params.server_max_window_bits, true);
//! let mut wire = Vec::new();
//! assert!(deflater.compress(&b"hello ".repeat(100), &mut wire));
//! assert!(wire.len() < 30);
//! let back = Inflater::new(true).inflate(&wire, 1 << 20).unwrap();
//! assert_eq!(back, b"hello ".repeat(100));
//! ```

mod codec;
mod config;
mod negotiate;

pub use codec::{Deflater, InflateError, Inflater};
pub use config::DeflateConfig;
pub use negotiate::{
    AnswerError, DeflateParams, EXTENSION, accept_offer, client_accept, client_offer,
};
