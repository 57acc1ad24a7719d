//! Interactive `ferrio connect`: a prompt that sends events, and every event
//! received printed above it with the time (UTC) and the namespace.
//!
//! ```text
//! 14:03:07.412 / connected (id 7kS0r7U3pHX4AAAB)
//! /> ack echo-ack ["hello", {"_binary":"AQI="}]
//! 14:03:09.020 / ack echo-ack ["hello",{"_binary":"AQI="}]
//! /> ns /admin
//! 14:03:12.301 /admin connected (id Xy3zXwVY-DAHgKeFAAAD)
//! /admin> emit echo [1]
//! 14:03:14.776 /admin echo [1]
//! ```
//!
//! The line editor is rustyline, on a thread of its own (it blocks on the
//! keyboard). Lines are printed by one printer thread through rustyline's
//! external printer, which redraws the prompt and what is being typed below
//! them. When stdin or stdout is not a terminal, rustyline reads plain lines
//! and the printer writes to stdout: commands can be piped in.

use std::collections::HashMap;
use std::fmt::Display;
use std::io::Write;
use std::process::ExitCode;
use std::sync::mpsc as std_mpsc;
use std::time::{SystemTime, UNIX_EPOCH};

use ferrio_client::{Manager, Socket};
use rustyline::error::ReadlineError;
use rustyline::{DefaultEditor, ExternalPrinter};
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};

use super::command::{self, Command};
use super::{Args, json};

/// Runs the interactive mode until `quit`, Ctrl-D or Ctrl-C.
pub(super) async fn run(args: Args) -> ExitCode {
    let manager = match super::manager(&args, true) {
        Ok(manager) => manager,
        Err(e) => return super::usage_error(e),
    };
    let mut editor = match DefaultEditor::new() {
        Ok(editor) => editor,
        Err(e) => {
            eprintln!("error: cannot open the terminal: {e}");
            return ExitCode::FAILURE;
        }
    };
    let console = Console::start(&mut editor);
    watch_manager(&manager, &console);
    let mut session = Session {
        manager,
        auth: args.auth.clone(),
        console: console.clone(),
        sockets: HashMap::new(),
    };
    let mut current = session.join(&super::namespace(&args));
    console.line(format!(
        "connecting to {}; type `help` for the commands",
        args.url
    ));
    console.flush().await;
    let (mut input, prompts) = start_editor(editor, prompt(&current));

    while let Some(Input::Line(line)) = input.recv().await {
        match command::parse(&line) {
            Ok(Command::Nothing) => {}
            Ok(Command::Emit { event, args }) => {
                if let Err(e) = current.emit_args(&event, args) {
                    console.line(format!("error: {e}"));
                }
            }
            Ok(Command::Ack { event, args }) => {
                let answer = current.emit_args_with_ack(&event, args);
                let console = console.clone();
                let nsp = current.namespace().to_owned();
                tokio::spawn(async move {
                    match answer.await {
                        Ok(answer) => console.event(
                            &nsp,
                            format_args!("ack {event} {}", json::args_line(&answer)),
                        ),
                        Err(e) => console.event(&nsp, format_args!("no ack for {event}: {e}")),
                    }
                });
            }
            Ok(Command::Namespace(Some(nsp))) => current = session.join(&nsp),
            Ok(Command::Namespace(None)) => console.line(session.describe(&current)),
            Ok(Command::Sleep(duration)) => tokio::time::sleep(duration).await,
            Ok(Command::Help) => console.line(command::HELP.to_owned()),
            Ok(Command::Quit) => break,
            Err(e) => console.line(format!("error: {e}")),
        }
        // What the command printed comes before the next prompt.
        console.flush().await;
        if prompts.send(Some(prompt(&current))).is_err() {
            break;
        }
    }
    super::close(&session.manager).await;
    console.flush().await;
    ExitCode::SUCCESS
}

fn prompt(socket: &Socket) -> String {
    format!("{}> ", socket.namespace())
}

/// The sockets joined on the one connection, by namespace.
struct Session {
    manager: Manager,
    auth: Option<Value>,
    console: Console,
    sockets: HashMap<String, Socket>,
}

impl Session {
    /// The socket of `nsp`, joining it (again) if needed.
    fn join(&mut self, nsp: &str) -> Socket {
        if let Some(socket) = self.sockets.get(nsp) {
            if !socket.active() {
                socket.connect();
            }
            return socket.clone();
        }
        let (c1, c2, c3, c4) = (
            self.console.clone(),
            self.console.clone(),
            self.console.clone(),
            self.console.clone(),
        );
        let mut builder = self
            .manager
            .socket(nsp)
            .on_any(move |socket, event| {
                let hint = if event.ack().is_some() {
                    " (the server asks for an acknowledgement)"
                } else {
                    ""
                };
                c1.event(
                    socket.namespace(),
                    format_args!("{} {}{hint}", event.name(), json::args_line(event.args())),
                );
            })
            .on_connect(move |socket| {
                let id = socket.id().unwrap_or_default();
                c2.event(socket.namespace(), format_args!("connected (id {id})"));
                async {}
            })
            .on_connect_error(move |socket, error| {
                c3.event(
                    socket.namespace(),
                    format_args!("connect_error {}", json::connect_error(&error)),
                );
                async {}
            })
            .on_disconnect(move |socket, reason| {
                c4.event(socket.namespace(), format_args!("disconnected ({reason})"));
                async {}
            });
        if let Some(auth) = &self.auth {
            builder = builder.auth(auth.clone());
        }
        let socket = builder.build();
        self.sockets.insert(nsp.to_owned(), socket.clone());
        socket
    }

    /// `ns` alone: where we are.
    fn describe(&self, current: &Socket) -> String {
        let mut joined: Vec<_> = self
            .sockets
            .values()
            .filter(|s| s.connected())
            .map(|s| s.namespace().to_owned())
            .collect();
        joined.sort();
        let state = if current.connected() {
            "connected"
        } else {
            "not connected"
        };
        format!(
            "namespace {} ({state}); connected namespaces: {}",
            current.namespace(),
            joined.join(", ")
        )
    }
}

/// Prints the connection's own happenings.
fn watch_manager(manager: &Manager, console: &Console) {
    let c = console.clone();
    manager
        .on_reconnect_attempt(move |n| c.line(format!("{} reconnecting (attempt {n})", clock())));
    let c = console.clone();
    manager.on_reconnect(move |n| c.line(format!("{} reconnected after {n} attempts", clock())));
    let c = console.clone();
    manager.on_reconnect_failed(move || c.line(format!("{} gave up reconnecting", clock())));
    let c = console.clone();
    manager.on_upgrade(move |kind| c.line(format!("{} upgraded to {}", clock(), kind.as_str())));
}

/// A line typed, or the end of input.
enum Input {
    Line(String),
    Quit,
}

/// Runs the line editor on its own thread. Each line goes to the returned
/// receiver; the thread then waits for the next prompt (`None`: stop).
fn start_editor(
    mut editor: DefaultEditor,
    first_prompt: String,
) -> (
    mpsc::UnboundedReceiver<Input>,
    std_mpsc::Sender<Option<String>>,
) {
    let (input_tx, input_rx) = mpsc::unbounded_channel();
    let (prompt_tx, prompt_rx) = std_mpsc::channel::<Option<String>>();
    std::thread::spawn(move || {
        let mut prompt = first_prompt;
        loop {
            match editor.readline(&prompt) {
                Ok(line) => {
                    if !line.trim().is_empty() {
                        let _ = editor.add_history_entry(line.as_str());
                    }
                    if input_tx.send(Input::Line(line)).is_err() {
                        return;
                    }
                    match prompt_rx.recv() {
                        Ok(Some(next)) => prompt = next,
                        _ => return,
                    }
                }
                Err(ReadlineError::Interrupted | ReadlineError::Eof) => {
                    let _ = input_tx.send(Input::Quit);
                    return;
                }
                Err(e) => {
                    eprintln!("error: reading the terminal: {e}");
                    let _ = input_tx.send(Input::Quit);
                    return;
                }
            }
        }
    });
    (input_rx, prompt_tx)
}

/// What the printer thread is asked to do.
enum Print {
    Line(String),
    /// Answer once every line sent before is out.
    Flush(oneshot::Sender<()>),
}

/// Prints lines from any thread, above the prompt when there is one.
#[derive(Clone)]
struct Console(std_mpsc::Sender<Print>);

impl Console {
    /// Starts the printer thread: through the editor's external printer on a
    /// terminal, else on stdout.
    fn start(editor: &mut DefaultEditor) -> Self {
        let (tx, rx) = std_mpsc::channel();
        let mut external = editor.create_external_printer().ok();
        std::thread::spawn(move || {
            for message in rx {
                match message {
                    Print::Line(line) => {
                        let printed = external
                            .as_mut()
                            .is_some_and(|p| p.print(format!("{line}\n")).is_ok());
                        if !printed {
                            let mut out = std::io::stdout().lock();
                            let _ = writeln!(out, "{line}").and_then(|()| out.flush());
                        }
                    }
                    Print::Flush(done) => {
                        let _ = done.send(());
                    }
                }
            }
        });
        Self(tx)
    }

    /// A line stamped with the time and the namespace, control characters
    /// escaped: the server chose most of it (names, ids, reasons, arguments).
    fn event(&self, nsp: &str, text: impl Display) {
        let line = format!("{} {nsp} {text}", clock());
        self.line(match super::escape::printable(&line) {
            std::borrow::Cow::Borrowed(_) => line,
            std::borrow::Cow::Owned(escaped) => escaped,
        });
    }

    fn line(&self, line: String) {
        let _ = self.0.send(Print::Line(line));
    }

    /// Waits until every line sent so far is printed.
    async fn flush(&self) {
        let (tx, rx) = oneshot::channel();
        if self.0.send(Print::Flush(tx)).is_ok() {
            let _ = rx.await;
        }
    }
}

/// The time of day, UTC: `14:03:07.412`.
fn clock() -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let secs = now.as_secs() % 86_400;
    format!(
        "{:02}:{:02}:{:02}.{:03}",
        secs / 3600,
        secs / 60 % 60,
        secs % 60,
        now.subsec_millis()
    )
}
