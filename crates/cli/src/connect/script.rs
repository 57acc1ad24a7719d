//! Scripted `ferrio connect`: join, send the `--emit`s in order, print what
//! comes back for `--wait` seconds, leave.
//!
//! Every line on stdout is one of:
//!
//! ```text
//! EVENT ARGS_JSON          an event received: ["hello",{"_binary":"AQI="}]
//! ack ARGS_JSON            the acknowledgement of an --emit (with --ack)
//! connect_error JSON       the connection was refused: {"message":…,"data":…}; exit 1
//! ```
//!
//! Anything else (disconnections, failed acks) goes to stderr.

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use ferrio_client::{AckError, AckResponse, ConnectError, DisconnectReason, Payload};
use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use tokio::sync::mpsc;

use super::{Args, json};

/// `--wait` when not given.
const DEFAULT_WAIT: Duration = Duration::from_secs(1);

/// How joining ended.
enum Joined {
    Yes,
    Refused(ConnectError),
}

/// Runs the scripted mode.
pub(super) async fn run(args: Args) -> ExitCode {
    let emits = match parse_emits(&args.emit) {
        Ok(emits) => emits,
        Err(e) => return super::usage_error(e),
    };
    // A script fails at once rather than retrying a connection.
    let manager = match super::manager(&args, false) {
        Ok(manager) => manager,
        Err(e) => return super::usage_error(e),
    };
    let (joined_tx, mut joined) = mpsc::unbounded_channel();
    let refused_tx = joined_tx.clone();
    let mut builder = manager
        .socket(&super::namespace(&args))
        .on_any(|_socket, event| {
            print_line(&format!(
                "{} {}",
                event.name(),
                json::args_line(event.args())
            ))
        })
        .on_connect(move |_socket| {
            let _ = joined_tx.send(Joined::Yes);
            async {}
        })
        .on_connect_error(move |_socket, error| {
            let _ = refused_tx.send(Joined::Refused(error));
            async {}
        })
        .on_disconnect(|_socket, reason| {
            // Leaving at the end is the script's own doing: not worth a line.
            if reason != DisconnectReason::IoClientDisconnect {
                eprintln!("disconnected: {reason}");
            }
            async {}
        });
    if let Some(auth) = &args.auth {
        builder = builder.auth(auth.clone());
    }
    let socket = builder.build();

    match joined.recv().await {
        Some(Joined::Yes) => {}
        Some(Joined::Refused(error)) => {
            print_line(&format!("connect_error {}", json::connect_error(&error)));
            super::close(&manager).await;
            return ExitCode::FAILURE;
        }
        None => return ExitCode::FAILURE,
    }

    // The acknowledgements awaited, printed in the order they come: one
    // set of futures, polled in the order they are woken.
    let acks = FuturesUnordered::new();
    for (event, payload) in emits {
        if args.ack {
            let answer = socket.emit_args_with_ack(&event, payload);
            acks.push(async move { (event, answer.await) });
        } else if let Err(e) = socket.emit_args(&event, payload) {
            super::close(&manager).await;
            return super::usage_error(format!("--emit {event}: {e}"));
        }
    }
    let _ = tokio::time::timeout(args.wait.unwrap_or(DEFAULT_WAIT), print_acks(acks)).await;
    super::close(&manager).await;
    ExitCode::SUCCESS
}

/// The `--emit EVENT ARGS_JSON` pairs, each with its arguments parsed.
fn parse_emits(emit: &[String]) -> Result<Vec<(String, Vec<Payload>)>, String> {
    emit.chunks(2)
        .map(|pair| {
            let [event, args_json] = pair else {
                return Err("--emit takes EVENT and ARGS_JSON".to_owned());
            };
            let payload =
                json::parse_args(args_json).map_err(|e| format!("--emit {event}: {e}"))?;
            Ok((event.clone(), payload))
        })
        .collect()
}

/// Prints each acknowledgement as it comes, then waits for ever (the caller
/// stops waiting after `--wait`).
async fn print_acks(
    mut acks: FuturesUnordered<impl Future<Output = (String, Result<AckResponse, AckError>)>>,
) {
    while let Some((event, answer)) = acks.next().await {
        match answer {
            Ok(answer) => print_line(&format!("ack {}", json::args_line(&answer))),
            Err(e) => eprintln!("no acknowledgement of {event}: {e}"),
        }
    }
    std::future::pending::<()>().await;
}

/// One line on stdout, flushed (the reader may be a script waiting for it).
fn print_line(line: &str) {
    let mut out = std::io::stdout().lock();
    // A closed stdout is the reader's choice: nothing to report.
    let line = super::escape::printable(line);
    let _ = writeln!(out, "{line}").and_then(|()| out.flush());
}
