//! `ferrio`: the command-line face of ferrio.
//!
//! ```text
//! ferrio serve [--host 127.0.0.1] [--port 3000] [--cors-origin ORIGIN] [--client-dir DIR]
//! ```
//!
//! `serve` runs the real-time chat demo: a page at `/` that talks to the
//! Socket.IO server at `/socket.io/` through the official browser client.
//! Each subcommand lives in a module of its own; `main` only parses the
//! command line, sets up logging (`RUST_LOG`, default `info`, on stderr) and
//! runs the subcommand on a multi-threaded runtime.

mod serve;
mod shutdown;

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// ferrio: Socket.IO for Rust. `ferrio serve` runs the real-time chat demo.
#[derive(Debug, Parser)]
#[command(name = "ferrio", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the real-time chat demo (a page at `/`, Socket.IO at `/socket.io/`).
    Serve(serve::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();

    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Serve(args) => serve::run(args).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
