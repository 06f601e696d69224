//! `meetctl front-door`: the wake-on-visit page's passcode, and a loopback
//! server around the front door's handler (a demo and the browser test's
//! way in; in AWS, API Gateway and the Lambda function serve it).

use std::sync::Arc;

use clap::Subcommand;

use crate::error::{Error, Result};
use crate::front_door::{self, local, passcode};
use crate::secret_input::{self, Ask, SecretSource};
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
    secret_input::read(
        SecretSource::stdin(),
        &Ask {
            key: "passcode",
            prompt: "Passcode for the wake-up page: ",
            command: "meetctl front-door passcode set",
        },
    )
}
