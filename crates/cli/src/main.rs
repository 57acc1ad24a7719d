//! `ferrio`: the command-line face of ferrio.
//!
//! ```text
//! ferrio serve [--host 127.0.0.1] [--port 3000] [--cors-origin ORIGIN] [--client-dir DIR]
//!              [--redis redis://HOST:PORT [--adapter classic|sharded|streams] [--redis-key KEY]]
//! ferrio bench connect|idle|echo|broadcast|rooms [--url http://127.0.0.1:3000] [-c N] [-r RATE] …
//! ferrio connect URL [--namespace NSP] [--auth JSON] [--transport websocket|polling] [--parser default|msgpack]
//!                    [--emit EVENT ARGS_JSON]... [--ack] [--wait SECS]
//! ```
//!
//! `serve` runs the real-time chat demo: a page at `/` that talks to the
//! Socket.IO server at `/socket.io/` through the official browser client.
//! `bench` is a load generator for any Socket.IO server; it runs on one
//! thread of its own (see `bench/mod.rs`). `connect` is a Socket.IO client
//! for the terminal, interactive or scripted (see `connect/mod.rs`).
//! Each subcommand lives in a module of its own; `main` only parses the
//! command line, sets up logging (`RUST_LOG`, default `info`, on stderr) and
//! runs the subcommand on a multi-threaded runtime.

#![warn(unreachable_pub, missing_debug_implementations)]

mod bench;
mod connect;
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
    /// Load-test any Socket.IO v5 server: connect, idle, echo, broadcast, rooms
    /// (over WebSocket or long-polling, JSON or msgpack, binary, deflate).
    Bench(bench::Args),
    /// Connect to a Socket.IO server: an interactive prompt, or scripted with
    /// --emit/--wait (`ferrio connect --help`).
    Connect(connect::Args),
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

    // The load generator runs on a single-threaded runtime of its own.
    let command = match cli.command {
        Command::Bench(args) => {
            return match bench::run(args) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::FAILURE
                }
            };
        }
        command => command,
    };

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
        match command {
            Command::Serve(args) => serve::run(args).await.map(|()| ExitCode::SUCCESS),
            Command::Connect(args) => Ok(connect::run(args).await),
            Command::Bench(_) => unreachable!("run above"),
        }
    });
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
