//! meetctl: on-demand, scale-to-zero Jitsi Meet on AWS.
//!
//! The library holds everything; `main.rs` only parses arguments and maps
//! errors to exit codes. Modules: `config` (layered settings), `aws` (one
//! module per AWS concern), `lock`, `preflight`, `state` (what exists now),
//! `wait` (the poll helper), `output` (progress), `cost`, and one file per
//! command under `commands`.

pub mod aws;
pub mod check;
pub mod cli;
pub mod commands;
pub mod config;
pub mod control;
pub mod cost;
pub mod error;
pub mod front_door;
pub mod lifecycle;
pub mod lock;
pub mod names;
pub mod output;
pub mod policy;
pub mod preflight;
pub mod secret_input;
pub mod state;
pub mod terraform;
pub mod wait;

use std::sync::{Arc, Mutex};
use std::time::Duration;

pub use error::{Error, Result};

/// Everything a command needs: configuration, clients, names, output, and a
/// record of what this run created (reported if it fails half-way).
pub struct Context {
    pub config: config::Config,
    pub aws: aws::Aws,
    pub names: names::Names,
    pub out: Arc<output::Reporter>,
    created: Mutex<Vec<String>>,
}

impl Context {
    pub fn new(config: config::Config, aws: aws::Aws, out: Arc<output::Reporter>) -> Self {
        let names = names::Names::new(&config.project);
        Context {
            config,
            aws,
            names,
            out,
            created: Mutex::new(Vec::new()),
        }
    }

    pub fn wait_spec(&self, what: impl Into<String>, timeout: Duration) -> wait::WaitSpec {
        wait::WaitSpec::new(what, timeout, self.config.poll_interval)
    }

    pub fn note_created(&self, what: impl Into<String>) {
        self.created.lock().expect("created list").push(what.into());
    }

    pub fn created(&self) -> Vec<String> {
        self.created.lock().expect("created list").clone()
    }
}
