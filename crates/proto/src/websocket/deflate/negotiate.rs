//! The permessage-deflate handshake (RFC 7692 §5, §7.1): what a client offers
//! in `Sec-WebSocket-Extensions`, what a server answers, and what both then use.

use super::config::DeflateConfig;

/// The name of the extension in `Sec-WebSocket-Extensions`.
pub const EXTENSION: &str = "permessage-deflate";

/// What one WebSocket's two ends agreed on, as the handshake left it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeflateParams {
    /// The server starts every message it compresses afresh.
    pub server_no_context_takeover: bool,
    /// The client starts every message it compresses afresh.
    pub client_no_context_takeover: bool,
    /// The window the server compresses with, in bits (9–15).
    pub server_max_window_bits: u8,
    /// The largest window the client may compress with, in bits (8–15).
    pub client_max_window_bits: u8,
}

/// One offer of the extension, as a client sent it.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Offer {
    server_no_context_takeover: bool,
    client_no_context_takeover: bool,
    /// `server_max_window_bits=N`.
    server_max_window_bits: Option<u8>,
    /// `client_max_window_bits`, with its value if it had one (`Some(None)`:
    /// the client can be told a window).
    client_max_window_bits: Option<Option<u8>>,
}

/// Server side: the first permessage-deflate offer in `header` (the
/// `Sec-WebSocket-Extensions` values, joined with commas) that `config` can
/// accept, and the answer to send back; `None` declines them all, and the
/// WebSocket runs uncompressed.
///
/// As Node's `ws`, every valid offer is accepted: the server compresses with
/// the smaller of its own and the offered `server_max_window_bits`, honours
/// the no-context-takeover flags asked for, and adds its own. Declined, as RFC
/// 7692 requires: offers with an unknown, repeated or invalid parameter, and
/// those asking for a server window of 8 bits, which zlib cannot make (the
/// next offer is tried).
pub fn accept_offer(config: &DeflateConfig, header: &str) -> Option<(DeflateParams, String)> {
    let extensions = parse(header)?;
    extensions
        .iter()
        .filter(|(name, _)| name.eq_ignore_ascii_case(EXTENSION))
        .filter_map(|(_, params)| offer(params))
        .find_map(|offer| accept(config, offer))
}

fn accept(config: &DeflateConfig, offer: Offer) -> Option<(DeflateParams, String)> {
    let server_bits = match offer.server_max_window_bits {
        Some(asked) => asked.min(config.server_max_window_bits),
        None => config.server_max_window_bits,
    };
    if server_bits < 9 {
        return None;
    }
    let client_bits = match offer.client_max_window_bits {
        Some(Some(offered)) => Some(config.client_max_window_bits.unwrap_or(15).min(offered)),
        Some(None) => config.client_max_window_bits,
        None => None,
    };
    let params = DeflateParams {
        server_no_context_takeover: offer.server_no_context_takeover
            || config.server_no_context_takeover,
        client_no_context_takeover: offer.client_no_context_takeover
            || config.client_no_context_takeover,
        server_max_window_bits: server_bits,
        client_max_window_bits: client_bits.unwrap_or(15),
    };
    let mut answer = String::from(EXTENSION);
    if params.server_no_context_takeover {
        answer.push_str("; server_no_context_takeover");
    }
    if params.client_no_context_takeover {
        answer.push_str("; client_no_context_takeover");
    }
    // Only when offered: a client that did not offer the parameter would fail
    // the handshake on it (RFC 7692 §7.1.2.1).
    if offer.server_max_window_bits.is_some() {
        answer.push_str(&format!("; server_max_window_bits={server_bits}"));
    }
    if let Some(bits) = client_bits {
        answer.push_str(&format!("; client_max_window_bits={bits}"));
    }
    Some((params, answer))
}

/// Client side: the offer to send, from `config`.
pub fn client_offer(config: &DeflateConfig) -> String {
    let mut offer = String::from(EXTENSION);
    if config.server_no_context_takeover {
        offer.push_str("; server_no_context_takeover");
    }
    if config.client_no_context_takeover {
        offer.push_str("; client_no_context_takeover");
    }
    if config.server_max_window_bits < 15 {
        offer.push_str(&format!(
            "; server_max_window_bits={}",
            config.server_max_window_bits
        ));
    }
    // The server may choose the window the client compresses with.
    offer.push_str("; client_max_window_bits");
    offer
}

/// Why a server's answer to the client's offer cannot be used: the client
/// must fail the connection (RFC 7692 §5).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid permessage-deflate answer from the server: {0}")]
pub struct AnswerError(pub String);

/// Client side: what the server's `Sec-WebSocket-Extensions` answer agrees
/// to, for the offer made from `config`; `Ok(None)` when the server declined.
/// A server window of 8 bits is taken as 9 (zlib's smallest inflate window
/// reads it).
pub fn client_accept(
    config: &DeflateConfig,
    header: Option<&str>,
) -> Result<Option<DeflateParams>, AnswerError> {
    let Some(header) = header else {
        return Ok(None);
    };
    let bad = || AnswerError(header.to_owned());
    let extensions = parse(header).ok_or_else(bad)?;
    let mut answers = extensions.iter();
    let Some((name, params)) = answers.next() else {
        return Ok(None);
    };
    if !name.eq_ignore_ascii_case(EXTENSION) || answers.next().is_some() {
        return Err(bad());
    }
    let answer = offer(params).ok_or_else(bad)?;
    if answer.server_max_window_bits.unwrap_or(15) > config.server_max_window_bits
        || (config.server_no_context_takeover && !answer.server_no_context_takeover)
    {
        return Err(bad());
    }
    let client_bits = match answer.client_max_window_bits {
        Some(Some(bits)) => bits,
        Some(None) => return Err(bad()),
        None => 15,
    };
    Ok(Some(DeflateParams {
        server_no_context_takeover: answer.server_no_context_takeover,
        client_no_context_takeover: answer.client_no_context_takeover
            || config.client_no_context_takeover,
        server_max_window_bits: answer.server_max_window_bits.unwrap_or(15),
        client_max_window_bits: client_bits.max(9),
    }))
}

/// The parameters of one offer (or answer), checked: `None` if one is
/// unknown, repeated or has a value it may not have.
fn offer(params: &[(String, Option<String>)]) -> Option<Offer> {
    let mut offer = Offer::default();
    let mut seen = [false; 4];
    for (name, value) in params {
        let index = match name.to_ascii_lowercase().as_str() {
            "server_no_context_takeover" => {
                value.is_none().then_some(())?;
                offer.server_no_context_takeover = true;
                0
            }
            "client_no_context_takeover" => {
                value.is_none().then_some(())?;
                offer.client_no_context_takeover = true;
                1
            }
            "server_max_window_bits" => {
                offer.server_max_window_bits = Some(window_bits(value.as_deref()?)?);
                2
            }
            "client_max_window_bits" => {
                offer.client_max_window_bits = Some(match value {
                    Some(value) => Some(window_bits(value)?),
                    None => None,
                });
                3
            }
            _ => return None,
        };
        if std::mem::replace(&mut seen[index], true) {
            return None;
        }
    }
    Some(offer)
}

/// A window size: 8 to 15, digits without a leading zero.
fn window_bits(value: &str) -> Option<u8> {
    if value.starts_with('0') || value.len() > 2 || !value.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    value.parse().ok().filter(|bits| (8..=15).contains(bits))
}

/// An extension with its parameters, values unquoted.
type Extension = (String, Vec<(String, Option<String>)>);

/// Parses an extension list (RFC 6455 §9.1): tokens, `;`-separated
/// parameters, `=` with a token or a quoted string. `None` if it is not one.
fn parse(header: &str) -> Option<Vec<Extension>> {
    let mut extensions: Vec<Extension> = Vec::new();
    let mut chars = header.chars().peekable();
    loop {
        skip_space(&mut chars);
        if chars.peek().is_none() {
            break;
        }
        if chars.peek() == Some(&',') {
            // Empty list elements are allowed (`#rule`).
            chars.next();
            continue;
        }
        let name = token(&mut chars)?;
        let mut params = Vec::new();
        loop {
            skip_space(&mut chars);
            match chars.next() {
                None | Some(',') => break,
                Some(';') => {}
                Some(_) => return None,
            }
            skip_space(&mut chars);
            let param = token(&mut chars)?;
            skip_space(&mut chars);
            let value = if chars.peek() == Some(&'=') {
                chars.next();
                skip_space(&mut chars);
                Some(if chars.peek() == Some(&'"') {
                    quoted(&mut chars)?
                } else {
                    token(&mut chars)?
                })
            } else {
                None
            };
            params.push((param, value));
        }
        extensions.push((name, params));
    }
    Some(extensions)
}

type Chars<'a> = std::iter::Peekable<std::str::Chars<'a>>;

fn skip_space(chars: &mut Chars<'_>) {
    while chars.next_if(|c| *c == ' ' || *c == '\t').is_some() {}
}

/// An RFC 7230 token: one or more of its characters.
fn token(chars: &mut Chars<'_>) -> Option<String> {
    let mut out = String::new();
    while let Some(c) =
        chars.next_if(|c| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(*c))
    {
        out.push(c);
    }
    (!out.is_empty()).then_some(out)
}

/// A quoted string, unescaped.
fn quoted(chars: &mut Chars<'_>) -> Option<String> {
    chars.next();
    let mut out = String::new();
    loop {
        match chars.next()? {
            '"' => return Some(out),
            '\\' => out.push(chars.next()?),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept_default(header: &str) -> Option<(DeflateParams, String)> {
        accept_offer(&DeflateConfig::default(), header)
    }

    #[test]
    fn accepts_a_plain_offer_as_ws_does() {
        let (params, answer) = accept_default("permessage-deflate").unwrap();
        assert_eq!(answer, "permessage-deflate");
        assert_eq!(
            params,
            DeflateParams {
                server_no_context_takeover: false,
                client_no_context_takeover: false,
                server_max_window_bits: 15,
                client_max_window_bits: 15,
            }
        );
        // What Node's `ws` and Chromium offer.
        let (_, answer) = accept_default("permessage-deflate; client_max_window_bits").unwrap();
        assert_eq!(answer, "permessage-deflate");
    }

    #[test]
    fn honours_every_parameter_offered() {
        let (params, answer) = accept_default(
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover; \
             server_max_window_bits=10; client_max_window_bits=9",
        )
        .unwrap();
        assert_eq!(
            answer,
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover; \
             server_max_window_bits=10; client_max_window_bits=9"
        );
        assert!(params.server_no_context_takeover && params.client_no_context_takeover);
        assert_eq!(params.server_max_window_bits, 10);
        assert_eq!(params.client_max_window_bits, 9);
        // Quoted values, any case, extra spaces.
        let (params, _) =
            accept_default("Permessage-Deflate ;SERVER_MAX_WINDOW_BITS = \"12\"").unwrap();
        assert_eq!(params.server_max_window_bits, 12);
    }

    #[test]
    fn the_server_adds_its_own_settings() {
        let config = DeflateConfig::default()
            .server_no_context_takeover(true)
            .client_no_context_takeover(true)
            .server_max_window_bits(11)
            .client_max_window_bits(Some(10));
        let (params, answer) =
            accept_offer(&config, "permessage-deflate; client_max_window_bits").unwrap();
        assert_eq!(
            answer,
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover; \
             client_max_window_bits=10"
        );
        assert_eq!(params.server_max_window_bits, 11, "used, not announced");
        // A client that cannot be told its window is still accepted.
        let (params, answer) = accept_offer(&config, "permessage-deflate").unwrap();
        assert!(!answer.contains("client_max_window_bits"));
        assert_eq!(params.client_max_window_bits, 15);
    }

    #[test]
    fn declines_invalid_offers_and_tries_the_next() {
        for bad in [
            "permessage-deflate; foo",
            "permessage-deflate; server_no_context_takeover=1",
            "permessage-deflate; server_max_window_bits",
            "permessage-deflate; server_max_window_bits=16",
            "permessage-deflate; server_max_window_bits=7",
            "permessage-deflate; server_max_window_bits=010",
            "permessage-deflate; client_max_window_bits=abc",
            "permessage-deflate; client_no_context_takeover; client_no_context_takeover",
            // zlib cannot compress with a 256-byte window.
            "permessage-deflate; server_max_window_bits=8",
            "x-webkit-deflate-frame",
            "permessage-deflate; \"quoted\"",
            "permessage-deflate; a=\"unterminated",
            "",
        ] {
            assert_eq!(accept_default(bad), None, "{bad}");
        }
        let (params, _) = accept_default(
            "permessage-deflate; server_max_window_bits=8, permessage-deflate; server_max_window_bits=9",
        )
        .unwrap();
        assert_eq!(params.server_max_window_bits, 9);
        let (_, answer) = accept_default("foo; a=\"x,y\", permessage-deflate").unwrap();
        assert_eq!(answer, "permessage-deflate");
    }

    #[test]
    fn a_client_reads_the_answer_to_its_offer() {
        let config = DeflateConfig::default();
        assert_eq!(
            client_offer(&config),
            "permessage-deflate; client_max_window_bits"
        );
        assert_eq!(client_accept(&config, None), Ok(None));
        let params = client_accept(&config, Some("permessage-deflate"))
            .unwrap()
            .unwrap();
        assert_eq!(params.client_max_window_bits, 15);
        let params = client_accept(
            &config,
            Some("permessage-deflate; client_max_window_bits=8; server_no_context_takeover"),
        )
        .unwrap()
        .unwrap();
        assert_eq!(params.client_max_window_bits, 9);
        assert!(params.server_no_context_takeover);
        for bad in [
            "permessage-deflate; client_max_window_bits",
            "permessage-deflate; foo",
            "x-other",
            "permessage-deflate, permessage-deflate",
        ] {
            assert!(client_accept(&config, Some(bad)).is_err(), "{bad}");
        }
        let strict = DeflateConfig::default()
            .server_no_context_takeover(true)
            .server_max_window_bits(10);
        assert!(client_accept(&strict, Some("permessage-deflate")).is_err());
        assert!(
            client_accept(
                &strict,
                Some("permessage-deflate; server_no_context_takeover; server_max_window_bits=11")
            )
            .is_err()
        );
    }
}
