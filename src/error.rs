//! Library errors. Each variant carries enough context (resource, id, what
//! was awaited) for a user to act on it without re-running with `-v`.

use std::time::Duration;

/// Process exit codes, part of the CLI contract (documented in `--help`).
pub mod exit {
    pub const OK: u8 = 0;
    pub const FAILED: u8 = 1;
    pub const BAD_INPUT: u8 = 2;
    pub const DEGRADED: u8 = 3;
    pub const LOCKED: u8 = 4;
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad configuration: names the key and how to fix it.
    #[error("invalid configuration: `{key}`: {problem}\n  fix: {fix}")]
    Config {
        key: String,
        problem: String,
        fix: String,
    },

    /// A bad command-line argument (not a configuration key): names it and the fix.
    #[error("invalid argument: `{what}`: {problem}\n  fix: {fix}")]
    Input {
        what: String,
        problem: String,
        fix: String,
    },

    /// The account or base infrastructure is not ready for `up`; nothing was created.
    #[error("preflight failed: {what}: {problem}\n  fix: {fix}")]
    Preflight {
        what: String,
        problem: String,
        fix: String,
    },

    #[error("AWS {operation} failed for {resource}: {message}")]
    Aws {
        operation: &'static str,
        resource: String,
        message: String,
    },

    #[error(
        "timed out after {} waiting for {what}; last seen: {last_seen}\n  fix: {fix}",
        crate::output::human_duration(*waited)
    )]
    WaitTimeout {
        what: String,
        waited: Duration,
        last_seen: String,
        fix: String,
    },

    #[error("another meetctl run holds the lifecycle lock ({owner}, expires in {}s)\n  fix: wait for it to finish; if that run died, the lock is taken over once it expires (at once when it ran on this host)", expires_in.as_secs())]
    LockHeld { owner: String, expires_in: Duration },

    #[error("{what} is not in the expected state: {problem}\n  fix: {fix}")]
    Unexpected {
        what: String,
        problem: String,
        fix: String,
    },

    #[error("dry run: refused to call mutating operation {service}.{operation}")]
    DryRunViolation { service: String, operation: String },
}

impl Error {
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Config { .. } | Error::Input { .. } | Error::Preflight { .. } => exit::BAD_INPUT,
            Error::LockHeld { .. } => exit::LOCKED,
            _ => exit::FAILED,
        }
    }

    pub fn config(
        key: impl Into<String>,
        problem: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Error::Config {
            key: key.into(),
            problem: problem.into(),
            fix: fix.into(),
        }
    }

    pub fn input(
        what: impl Into<String>,
        problem: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Error::Input {
            what: what.into(),
            problem: problem.into(),
            fix: fix.into(),
        }
    }

    pub fn preflight(
        what: impl Into<String>,
        problem: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Error::Preflight {
            what: what.into(),
            problem: problem.into(),
            fix: fix.into(),
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
