//! `ferrio serve`: the real-time chat demo.
//!
//! ```text
//!  browser ── GET /            ──▶ pages: the chat page (HTML, CSS, JS embedded in the binary)
//!          ── GET /socket.io/socket.io.js ──▶ serve_client: the official client, from npm
//!          ── /socket.io/?EIO=4…          ──▶ Socket.IO: chat (nicknames, channels, history, …)
//! ```
//!
//! One tower service answers everything: `SocketIo::layer()` takes what is
//! under `/socket.io/` and passes the rest to [`pages::Pages`].

mod chat;
mod cluster;
mod pages;

use std::path::PathBuf;

use ferrio::engine::{Cors, DeflateConfig, Origins};
use ferrio::{RecoveryConfig, SocketIoConfig};
use tower_layer::Layer;

/// Where npm installs the official browser client, in this source tree.
const DEFAULT_CLIENT_DIR: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/web/node_modules/socket.io-client/dist"
);

/// The options of `ferrio serve`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Address to listen on (`0.0.0.0` for every interface).
    #[arg(long, env = "FERRIO_HOST", default_value = "127.0.0.1")]
    host: String,
    /// Port to listen on (0 picks a free one; the address is printed).
    #[arg(long, env = "FERRIO_PORT", default_value_t = 3000)]
    port: u16,
    /// Origin allowed to connect from another site (CORS), e.g.
    /// `http://localhost:5173`, or `*` for any. Repeat it, or separate with commas.
    #[arg(
        long = "cors-origin",
        env = "FERRIO_CORS_ORIGIN",
        value_delimiter = ','
    )]
    cors_origins: Vec<String>,
    /// The `dist/` folder of the npm package `socket.io-client`, served at
    /// `/socket.io/socket.io.js` (installed by `npm ci --prefix crates/cli/web`).
    #[arg(long, env = "FERRIO_CLIENT_DIR", default_value = DEFAULT_CLIENT_DIR)]
    client_dir: PathBuf,
    /// Compress WebSocket messages of 1 KiB or more (permessage-deflate, off
    /// by default as in Node): less bandwidth for about 400 KiB of memory and
    /// some CPU per compressing connection.
    #[arg(long, env = "FERRIO_PER_MESSAGE_DEFLATE")]
    per_message_deflate: bool,
    #[command(flatten)]
    cluster: cluster::ClusterArgs,
}

/// Runs the chat server until Ctrl-C or SIGTERM.
pub(crate) async fn run(args: Args) -> std::io::Result<()> {
    if !args.client_dir.join("socket.io.js").is_file() {
        tracing::warn!(
            dir = %args.client_dir.display(),
            "the browser client is missing: run `npm ci --prefix crates/cli/web` \
             (or pass --client-dir); the page cannot connect without it"
        );
    }
    // A page that loses its connection for up to 2 minutes comes back with
    // its id, channel and nickname, and the messages it missed.
    let mut config = SocketIoConfig::default()
        .serve_client(&args.client_dir)
        .connection_state_recovery(RecoveryConfig::default());
    if let Some(cors) = cors(&args.cors_origins) {
        config = config.with_engine(|engine| engine.cors(cors));
    }
    if args.per_message_deflate {
        config =
            config.with_engine(|engine| engine.per_message_deflate(Some(DeflateConfig::default())));
    }
    let io = args.cluster.server(config).await?;
    chat::Chat::attach(&io);

    let listener = tokio::net::TcpListener::bind((args.host.as_str(), args.port)).await?;
    let addr = listener.local_addr()?;
    // On stdout, for people and for scripts (the tests read it).
    println!("ferrio chat: open http://{addr}/ in a browser (Ctrl-C to stop)");
    tracing::info!(%addr, client_dir = %args.client_dir.display(), "listening");

    let service = io.layer().layer(pages::Pages);
    let closer = io.clone();
    ferrio::engine::serve_with(listener, service, crate::shutdown::signal(), move || {
        closer.engine().shutdown()
    })
    .await?;
    // The adapters close too (a cluster adapter unsubscribes).
    io.close().await;
    tracing::info!("stopped");
    Ok(())
}

/// The CORS policy for `--cors-origin`: none when no origin is given.
fn cors(origins: &[String]) -> Option<Cors> {
    let origins: Vec<String> = origins
        .iter()
        .map(|o| o.trim().trim_end_matches('/').to_owned())
        .filter(|o| !o.is_empty())
        .collect();
    if origins.is_empty() {
        None
    } else if origins.iter().any(|o| o == "*") {
        Some(Cors::default().origins(Origins::Any))
    } else {
        Some(Cors::default().origins(Origins::List(origins)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cors_origins() {
        assert!(cors(&[]).is_none());
        assert!(cors(&[" ".into()]).is_none());
        assert_eq!(cors(&["*".into()]).unwrap().origins, Origins::Any);
        assert_eq!(
            cors(&["http://a.test/".into(), "http://b.test".into()])
                .unwrap()
                .origins,
            Origins::List(vec!["http://a.test".into(), "http://b.test".into()])
        );
    }

    #[test]
    fn the_default_client_dir_is_in_the_web_folder() {
        assert!(DEFAULT_CLIENT_DIR.ends_with("crates/cli/web/node_modules/socket.io-client/dist"));
    }
}
