//! The commands of interactive `ferrio connect`, read from one line.

use std::time::Duration;

use ferrio_client::Payload;

use super::json;

/// The help text of the interactive mode.
pub(super) const HELP: &str = "\
commands:
  emit EVENT [ARGS_JSON]   send an event; ARGS_JSON is a JSON array of arguments,
                           binary as {\"_binary\":\"<base64>\"}: emit chat [\"hi\", 1]
  ack EVENT [ARGS_JSON]    send an event asking for an acknowledgement; prints it
  ns [NSP]                 switch to namespace NSP (joined on the same connection),
                           or show the current one
  sleep SECS               wait (for scripts piped into the interactive mode)
  help                     this text
  quit                     leave (also Ctrl-D, Ctrl-C)
EVENT may be a JSON string for names with spaces: emit \"my event\" []
Up and down arrows walk through the history.";

/// One line typed.
#[derive(Debug, PartialEq)]
pub(super) enum Command {
    /// An empty line.
    Nothing,
    /// `emit EVENT ARGS_JSON`
    Emit { event: String, args: Vec<Payload> },
    /// `ack EVENT ARGS_JSON`
    Ack { event: String, args: Vec<Payload> },
    /// `ns [NSP]`
    Namespace(Option<String>),
    /// `sleep SECS`
    Sleep(Duration),
    /// `help`
    Help,
    /// `quit`
    Quit,
}

/// Reads one line; the error says what is wrong, for people.
pub(super) fn parse(line: &str) -> Result<Command, String> {
    let line = line.trim();
    let (word, rest) = line
        .split_once(char::is_whitespace)
        .map_or((line, ""), |(w, r)| (w, r.trim()));
    match word {
        "" => Ok(Command::Nothing),
        "emit" => {
            let (event, args) = event_and_args(rest)?;
            Ok(Command::Emit { event, args })
        }
        "ack" => {
            let (event, args) = event_and_args(rest)?;
            Ok(Command::Ack { event, args })
        }
        "ns" | "namespace" => match rest {
            "" => Ok(Command::Namespace(None)),
            nsp if nsp.contains(char::is_whitespace) => {
                Err(format!("a namespace has no spaces: {nsp:?}"))
            }
            nsp => Ok(Command::Namespace(Some(super::normalize_nsp(nsp)))),
        },
        "sleep" => super::parse_secs(rest).map(Command::Sleep),
        "help" | "?" => Ok(Command::Help),
        "quit" | "exit" => Ok(Command::Quit),
        other => Err(format!("unknown command {other:?}: type `help`")),
    }
}

/// `EVENT [ARGS_JSON]`: the name is a word or a JSON string; no arguments
/// is `[]`.
fn event_and_args(text: &str) -> Result<(String, Vec<Payload>), String> {
    if text.is_empty() {
        return Err("which event? e.g. `emit chat [\"hello\"]`".into());
    }
    let (event, rest) = if text.starts_with('"') {
        let mut names = serde_json::Deserializer::from_str(text).into_iter::<String>();
        let event = names
            .next()
            .ok_or("an empty name")?
            .map_err(|e| format!("invalid event name: {e}"))?;
        (event, &text[names.byte_offset()..])
    } else {
        let (event, rest) = text.split_once(char::is_whitespace).unwrap_or((text, ""));
        (event.to_owned(), rest)
    };
    let rest = rest.trim();
    let args = if rest.is_empty() {
        Vec::new()
    } else {
        json::parse_args(rest)?
    };
    Ok((event, args))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn reads_commands() {
        assert_eq!(parse("  "), Ok(Command::Nothing));
        assert_eq!(
            parse(r#"emit chat ["hi", 1]"#),
            Ok(Command::Emit {
                event: "chat".into(),
                args: vec![Payload::Json(json!("hi")), Payload::Json(json!(1))]
            })
        );
        assert_eq!(
            parse(r#"ack "my event"   [{"a":1}]"#),
            Ok(Command::Ack {
                event: "my event".into(),
                args: vec![Payload::Json(json!({"a": 1}))]
            })
        );
        assert_eq!(
            parse("emit ping"),
            Ok(Command::Emit {
                event: "ping".into(),
                args: vec![]
            })
        );
        assert_eq!(
            parse("ns admin"),
            Ok(Command::Namespace(Some("/admin".into())))
        );
        assert_eq!(parse("ns"), Ok(Command::Namespace(None)));
        assert_eq!(
            parse("sleep 0.25"),
            Ok(Command::Sleep(Duration::from_millis(250)))
        );
        assert_eq!(parse("help"), Ok(Command::Help));
        assert_eq!(parse("quit"), Ok(Command::Quit));
    }

    #[test]
    fn explains_mistakes() {
        assert!(parse("emit").unwrap_err().contains("which event"));
        assert!(
            parse("emit chat hello")
                .unwrap_err()
                .contains("invalid JSON")
        );
        assert!(
            parse(r#"emit chat "hello""#)
                .unwrap_err()
                .contains("JSON array")
        );
        assert!(parse("frobnicate").unwrap_err().contains("help"));
        assert!(parse("sleep soon").is_err());
    }
}
