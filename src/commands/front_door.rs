//! `meetctl front-door`: the wake-on-visit page's passcode, and a loopback
//! server around the front door's handler (a demo and the browser test's
//! way in; in AWS, API Gateway and the Lambda function serve it).

use std::io::{BufRead, IsTerminal};
use std::sync::Arc;

use clap::Subcommand;

use crate::error::{Error, Result};
use crate::front_door::{self, local, passcode};
use crate::{output, Context};

#[derive(Subcommand, Debug)]
pub enum FrontDoorCommand {
    /// The passcode a visitor must type to start the platform
    Passcode {
        #[command(subcommand)]
        command: PasscodeCommand,
    },
    /// Serve the front door's page on a loopback address against the configured AWS,
    /// starting `up` in this process (a stand-in for the Lambda function's async invoke)
    #[command(hide = true)]
    Serve {
        /// Address to listen on
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum PasscodeCommand {
    /// Set (or replace) it. Asked twice on the terminal (no echo), or read from the first
    /// line of stdin when stdin is not a terminal; there is no passcode flag. SSM keeps only
    /// a salted PBKDF2 hash (SecureString)
    Set,
    /// Remove it: anyone with the meeting link can start the platform (rate limits and
    /// the budget still apply)
    Clear,
}

pub async fn run(ctx: &Context, command: &FrontDoorCommand) -> Result<()> {
    match command {
        FrontDoorCommand::Passcode {
            command: PasscodeCommand::Set,
        } => {
            let code = read_passcode()?;
            passcode::set(ctx, &code).await?;
            println!(
                "meetctl front-door: passcode set (salted PBKDF2-HMAC-SHA256 hash in {})",
                front_door::Parameters::passcode(&ctx.config.project)
            );
        }
        FrontDoorCommand::Passcode {
            command: PasscodeCommand::Clear,
        } => {
            let removed = passcode::clear(ctx).await?;
            println!(
                "meetctl front-door: {}",
                if removed {
                    "passcode removed; anyone with the link can start the platform"
                } else {
                    "no passcode was set"
                }
            );
        }
        FrontDoorCommand::Serve { listen } => {
            let listener = tokio::net::TcpListener::bind(listen).await.map_err(|e| {
                Error::input(
                    "--listen",
                    format!("cannot listen on {listen}: {e}"),
                    "choose a free loopback address",
                )
            })?;
            let shared = Arc::new(Context::new(
                ctx.config.clone(),
                ctx.aws.clone(),
                output::Reporter::new(),
            ));
            println!("meetctl front-door: serving http://{listen}/ (Ctrl-C stops)");
            let starter = Arc::new(local::InProcess {
                ctx: Arc::clone(&shared),
            });
            local::serve(listener, shared, starter).await;
        }
    }
    Ok(())
}

fn read_passcode() -> Result<String> {
    let code = if std::io::stdin().is_terminal() {
        let term = console::Term::stderr();
        let ask = |prompt: &str| {
            term.write_str(prompt)
                .and_then(|()| term.read_secure_line())
                .map_err(|e| {
                    Error::input(
                        "passcode",
                        format!("cannot read it from the terminal: {e}"),
                        "run in a terminal, or pipe the passcode on stdin",
                    )
                })
        };
        let first = ask("Passcode for the wake-up page: ")?;
        if first != ask("The same passcode again: ")? {
            return Err(Error::input(
                "passcode",
                "the two entries differ",
                "run `meetctl front-door passcode set` again and type the same passcode twice",
            ));
        }
        first
    } else {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line).map_err(|e| {
            Error::input(
                "passcode",
                format!("cannot read stdin: {e}"),
                "pipe the passcode as the first line of stdin",
            )
        })?;
        line.truncate(line.trim_end_matches(['\n', '\r']).len());
        line
    };
    if code.is_empty() {
        return Err(Error::input(
            "passcode",
            "is empty",
            "type it at the prompt, or pipe it as the first line of stdin (there is no passcode flag: it would show in the process list and shell history)",
        ));
    }
    Ok(code)
}
