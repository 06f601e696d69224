//! `meetctl iam-policy`: prints the least-privilege IAM policy for running
//! meetctl against the configured project (see [`crate::policy`]).

use crate::config::Config;
use crate::policy;

pub fn run(config: &Config) {
    let document = policy::document(&policy::Scope::from_config(config));
    println!(
        "{}",
        serde_json::to_string_pretty(&document).expect("a JSON value serialises")
    );
}
