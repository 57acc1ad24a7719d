//! `ferrio connect URL`: a Socket.IO client in the terminal, on ferrio-client.
//!
//! ```text
//!  interactive:  keyboard ─▶ line editor (rustyline, own thread) ─▶ commands ─┐
//!                screen ◀── printer thread ◀── events, acks, lifecycle ◀──────┤
//!                                                                            ▼
//!                                                 Manager (one connection) ─▶ server
//!                                                 └ one Socket per namespace
//!  scripted:     --emit … ─▶ Socket ─▶ server;  events and acks ─▶ stdout, one line each
//! ```
//!
//! Interactive by default; scripted as soon as `--emit` or `--wait` is given.
//! Exit status: 0, or 1 when the connection is refused or fails, or 2 for a
//! bad argument.

mod command;
mod escape;
mod interactive;
mod json;
mod script;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use ferrio_client::{Certificate, Manager, ManagerConfig, Parser, TransportKind};
use http::{HeaderMap, HeaderName, HeaderValue, Uri};
use serde_json::Value;

/// The options of `ferrio connect`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The server: `http://`, `https://`, `ws://` or `wss://` host and port;
    /// a path names the namespace (`http://localhost:3000/admin`).
    url: String,
    /// The namespace to join, instead of the URL's path (default `/`).
    #[arg(long, value_name = "NSP")]
    namespace: Option<String>,
    /// The auth payload sent when joining: a JSON object.
    #[arg(long, value_name = "JSON", value_parser = json::parse_object)]
    auth: Option<Value>,
    /// Use one transport only (default: long-polling, upgraded to WebSocket).
    #[arg(long, value_enum)]
    transport: Option<Transport>,
    /// The packet format; the server must use the same one.
    #[arg(long, value_enum, default_value = "default")]
    parser: ParserArg,
    /// Scripted: send EVENT with ARGS_JSON (a JSON array of arguments;
    /// binary as `{"_binary":"<base64>"}`). Repeat it to send several, in order.
    #[arg(long, num_args = 2, value_names = ["EVENT", "ARGS_JSON"])]
    emit: Vec<String>,
    /// Scripted: send each --emit asking for an acknowledgement, printed as
    /// `ack ARGS_JSON`.
    #[arg(long, requires = "emit")]
    ack: bool,
    /// Scripted: seconds to wait for events after sending, then exit [default: 1].
    #[arg(long, value_name = "SECS", value_parser = parse_secs)]
    wait: Option<Duration>,
    /// The Engine.IO path on the server.
    #[arg(long, default_value = "/socket.io")]
    path: String,
    /// A PEM file of certificates to trust for https/wss besides the
    /// platform's (a private CA, or the server's self-signed certificate).
    #[arg(long = "ca-cert", value_name = "FILE")]
    ca_certs: Vec<PathBuf>,
    /// A header added to every request: `--header "authorization: Bearer x"`.
    #[arg(long = "header", value_name = "NAME: VALUE", value_parser = parse_header)]
    headers: Vec<(HeaderName, HeaderValue)>,
}

/// `--transport`.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum Transport {
    /// WebSocket only.
    Websocket,
    /// HTTP long-polling only.
    Polling,
}

/// `--parser`.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum ParserArg {
    /// socket.io-parser: text packets, binary as attachments.
    Default,
    /// socket.io-msgpack-parser: one MessagePack message per packet.
    Msgpack,
}

/// Runs `ferrio connect`, interactive or scripted.
pub(crate) async fn run(args: Args) -> ExitCode {
    if args.emit.is_empty() && args.wait.is_none() {
        interactive::run(args).await
    } else {
        script::run(args).await
    }
}

/// The exit status of a bad argument (as clap's).
fn usage_error(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::from(2)
}

/// The manager of the connection, from the options.
fn manager(args: &Args, reconnection: bool) -> Result<Manager, String> {
    let mut config = ManagerConfig::default()
        .path(&args.path)
        .reconnection(reconnection)
        .parser(match args.parser {
            ParserArg::Default => Parser::Default,
            ParserArg::Msgpack => Parser::MsgPack,
        });
    if let Some(transport) = args.transport {
        config = config.transports([match transport {
            Transport::Websocket => TransportKind::WebSocket,
            Transport::Polling => TransportKind::Polling,
        }]);
    }
    let mut certs = Vec::new();
    for file in &args.ca_certs {
        let pem = std::fs::read(file).map_err(|e| format!("{}: {e}", file.display()))?;
        certs.extend(
            Certificate::from_pem_bundle(&pem).map_err(|e| format!("{}: {e}", file.display()))?,
        );
    }
    config = config.tls_root_certificates(certs);
    let mut headers = HeaderMap::new();
    for (name, value) in &args.headers {
        headers.append(name.clone(), value.clone());
    }
    config = config.extra_headers(headers);
    Manager::new(&args.url, config).map_err(|e| e.to_string())
}

/// The namespace to join first: `--namespace`, else the URL's path.
fn namespace(args: &Args) -> String {
    let nsp = match &args.namespace {
        Some(nsp) => nsp.clone(),
        None => args
            .url
            .parse::<Uri>()
            .map(|uri| uri.path().to_owned())
            .unwrap_or_default(),
    };
    normalize_nsp(&nsp)
}

/// `admin` is `/admin`; nothing is `/`.
fn normalize_nsp(nsp: &str) -> String {
    if nsp.starts_with('/') {
        nsp.to_owned()
    } else {
        format!("/{nsp}")
    }
}

/// Closes the connection and gives it a moment to say goodbye (the
/// DISCONNECT packets and the close go out before the process ends).
async fn close(manager: &Manager) {
    manager.close();
    let deadline = tokio::time::Instant::now() + Duration::from_millis(500);
    while manager.is_open() && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn parse_secs(text: &str) -> Result<Duration, String> {
    let secs: f64 = text
        .parse()
        .map_err(|_| format!("expected a number of seconds, got {text:?}"))?;
    Duration::try_from_secs_f64(secs).map_err(|_| format!("not a usable duration: {text}"))
}

fn parse_header(text: &str) -> Result<(HeaderName, HeaderValue), String> {
    let (name, value) = text
        .split_once(':')
        .ok_or_else(|| format!("expected NAME: VALUE, got {text:?}"))?;
    let name = HeaderName::try_from(name.trim()).map_err(|e| format!("{name:?}: {e}"))?;
    let value = HeaderValue::try_from(value.trim()).map_err(|e| format!("{value:?}: {e}"))?;
    Ok((name, value))
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        args: Args,
    }

    fn parse(argv: &[&str]) -> Result<Args, clap::Error> {
        Cli::try_parse_from(std::iter::once("connect").chain(argv.iter().copied())).map(|c| c.args)
    }

    #[test]
    fn reads_the_command_line() {
        let args = parse(&[
            "http://h:1/admin",
            "--emit",
            "a",
            "[1]",
            "--emit",
            "b",
            "[]",
            "--ack",
            "--wait",
            "0.5",
            "--header",
            "x-test: yes",
        ])
        .unwrap();
        assert_eq!(args.emit, ["a", "[1]", "b", "[]"]);
        assert!(args.ack);
        assert_eq!(args.wait, Some(Duration::from_millis(500)));
        assert_eq!(namespace(&args), "/admin");
        assert_eq!(args.headers[0].1, "yes");

        let args = parse(&["ws://h:1", "--namespace", "chat"]).unwrap();
        assert_eq!(namespace(&args), "/chat");
        assert_eq!(namespace(&parse(&["http://h:1"]).unwrap()), "/");

        assert!(
            parse(&["http://h:1", "--ack"]).is_err(),
            "--ack needs --emit"
        );
        assert!(parse(&["http://h:1", "--auth", "[1]"]).is_err());
        assert!(parse(&["http://h:1", "--wait", "-1"]).is_err());
        assert!(parse(&["http://h:1", "--emit", "only-one"]).is_err());
    }
}
