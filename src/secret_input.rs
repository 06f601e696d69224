//! Secrets a person types: a password for `meetctl users add`, the wake-up
//! page's passcode. Never a flag (it would show in the process list and the
//! shell history): asked twice without echo on a terminal, or the first line
//! of stdin when that is a pipe.

use std::io::{BufRead, IsTerminal};

use crate::error::{Error, Result};

/// Where a secret comes from.
pub enum SecretSource {
    /// Asked twice on the terminal, without echo.
    Terminal,
    /// The first line of a stream (stdin when it is not a terminal).
    Reader(Box<dyn BufRead + Send>),
}

impl SecretSource {
    /// The terminal when stdin is one, else stdin's first line.
    pub fn stdin() -> Self {
        if std::io::stdin().is_terminal() {
            SecretSource::Terminal
        } else {
            SecretSource::Reader(Box::new(std::io::BufReader::new(std::io::stdin())))
        }
    }
}

/// How to ask for one secret, and how errors name it.
pub struct Ask<'a> {
    /// The key errors name, e.g. "password".
    pub key: &'a str,
    /// The first prompt, e.g. "Password for the new account: ".
    pub prompt: &'a str,
    /// The command to run again when the two entries differ.
    pub command: &'a str,
}

/// Reads a non-empty secret: twice on a terminal (the entries must match),
/// else the first line of the stream without its line ending.
pub fn read(source: SecretSource, ask: &Ask) -> Result<String> {
    let key = ask.key;
    let secret = match source {
        SecretSource::Terminal => {
            let term = console::Term::stderr();
            let prompt = |text: &str| {
                term.write_str(text)
                    .and_then(|()| term.read_secure_line())
                    .map_err(|e| {
                        Error::input(
                            key,
                            format!("cannot read it from the terminal: {e}"),
                            format!("run in a terminal, or pipe the {key} on stdin"),
                        )
                    })
            };
            let first = prompt(ask.prompt)?;
            if first != prompt(&format!("The same {key} again: "))? {
                return Err(Error::input(
                    key,
                    "the two entries differ",
                    format!("run `{}` again and type the same {key} twice", ask.command),
                ));
            }
            first
        }
        SecretSource::Reader(mut reader) => {
            let mut line = String::new();
            reader.read_line(&mut line).map_err(|e| {
                Error::input(
                    key,
                    format!("cannot read stdin: {e}"),
                    format!("pipe the {key} as the first line of stdin"),
                )
            })?;
            line.truncate(line.trim_end_matches(['\n', '\r']).len());
            line
        }
    };
    if secret.is_empty() {
        return Err(Error::input(
            key,
            "is empty",
            format!("type it at the prompt, or pipe it as the first line of stdin (there is no {key} flag: it would show in the process list and shell history)"),
        ));
    }
    Ok(secret)
}
