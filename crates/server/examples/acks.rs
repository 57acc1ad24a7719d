//! Acknowledgements: an event that gets an answer, in both directions and
//! from many clients at once.
//!
//! ```text
//! cargo run -p ferrio --example acks          # then connect to http://127.0.0.1:3000
//! ```
//!
//! - client → server: the client asks, the server answers.
//!   `await socket.emitWithAck("add", 1, 2)` gives `3`;
//!   `await socket.emitWithAck("slow", 500)` gives `"done after 500 ms"`.
//! - server → client: right after connecting, the server asks every client
//!   `"ask"` ("what is your name?") and waits 5 s for
//!   `socket.on("ask", (question, callback) => callback("Ada"))`.
//! - broadcast: `await socket.emitWithAck("poll", "Tabs or spaces?")` asks
//!   every connected client `"vote"` (`socket.on("vote", (q, cb) => cb("tabs"))`),
//!   waits up to 3 s and answers with the tally:
//!   `{expected, answered, timed_out, votes: {tabs: 2, …}}`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use ferrio::{AckError, Args, Socket, SocketIo};
use serde_json::{Value, json};

/// Argument `index` of an acknowledgement as JSON (`null` if missing or binary).
fn json_arg(args: &Args, index: usize) -> Value {
    args.to_value(index).unwrap_or(Value::Null)
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();

    let io = SocketIo::new();
    // A `SocketIo` is cheap to clone: every clone is the same server. The
    // handlers below keep one to broadcast with `io.broadcast()`.
    let server = io.clone();
    io.on_connection(move |socket: Arc<Socket>| {
        let io = server.clone();
        async move {
            // ---- client → server ----

            // `event.reply` answers the client's callback (it does nothing if
            // the client did not ask for one). Arguments read typed with serde.
            socket.on("add", |_socket, event| async move {
                match event.args_as::<(f64, f64)>() {
                    Ok((a, b)) => {
                        let _ = event.reply(&(a + b));
                    }
                    Err(e) => {
                        let _ = event.reply(&json!({ "error": e.to_string() }));
                    }
                }
            });

            // The answer can come later: the handler may `.await` first, or
            // hand the `AckSender` (`event.ack()`) to another task. Only the
            // first `send` goes out.
            socket.on("slow", |_socket, event| async move {
                let ms = event.arg::<u64>(0).unwrap_or(1000).min(10_000);
                let Some(ack) = event.ack().cloned() else {
                    return; // No callback, nothing to answer.
                };
                tokio::time::sleep(Duration::from_millis(ms)).await;
                let _ = ack.send(&format!("done after {ms} ms"));
            });

            // ---- broadcast with acknowledgements ----

            let io_poll = io.clone();
            socket.on("poll", move |_socket, event| {
                let io = io_poll.clone();
                async move {
                    let question = event.arg::<String>(0).unwrap_or_else(|_| "?".into());
                    // Asks every client of the main namespace (the asker too)
                    // and gathers the answers until all came or 3 s passed.
                    let result = io
                        .broadcast()
                        .timeout(Duration::from_secs(3))
                        .emit_with_ack("vote", &question)
                        .await;
                    let answers = match result {
                        Ok(answers) => answers,
                        Err(e) => {
                            let _ = event.reply(&json!({ "error": e.to_string() }));
                            return;
                        }
                    };
                    // Each response is the list of arguments one client
                    // answered with; `expected` is how many were asked.
                    let mut votes = BTreeMap::<String, u32>::new();
                    for args in &answers.responses {
                        let vote = match json_arg(args, 0) {
                            Value::String(s) => s,
                            other => other.to_string(),
                        };
                        *votes.entry(vote).or_default() += 1;
                    }
                    println!(
                        "poll {question:?}: {} of {} answered: {votes:?}",
                        answers.responses.len(),
                        answers.expected
                    );
                    let _ = event.reply(&json!({
                        "question": question,
                        "expected": answers.expected,
                        "answered": answers.responses.len(),
                        "timed_out": answers.timed_out(),
                        "votes": votes,
                    }));
                }
            });

            // ---- server → client ----

            // Every listener is registered: now the connection handler may
            // wait. `timeout` bounds the wait; without it, `emit_with_ack`
            // waits `SocketIoConfig::ack_timeout` (5 s by default).
            let asked = socket
                .timeout(Duration::from_secs(5))
                .emit_with_ack("ask", &"What is your name?")
                .await;
            match asked {
                Ok(args) => {
                    let name = json_arg(&args, 0);
                    let name = name.as_str().unwrap_or("stranger");
                    println!("{} says its name is {name}", socket.id());
                    let _ = socket.emit("greeting", &format!("Hello, {name}!"));
                }
                Err(AckError::Timeout) => println!("{} did not answer within 5 s", socket.id()),
                Err(e) => println!("{}: {e}", socket.id()),
            }
        }
    });

    let port: u16 = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(3000);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    println!(
        "acks server on http://{}/socket.io/",
        listener.local_addr()?
    );
    io.serve(listener, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await
}
