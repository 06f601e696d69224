//! The lifecycle lock: an SSM parameter created with overwrite=false, so two
//! runs cannot both create it. It holds the owner and an expiry; a lock whose
//! owner died is taken over once it has expired.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sdk_ssm::types::ParameterType;
use serde::{Deserialize, Serialize};

use crate::aws::{ssm, Aws};
use crate::error::{Error, Result};
use crate::names::Names;

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct LockRecord {
    pub owner: String,
    pub command: String,
    pub expires_epoch: u64,
}

impl LockRecord {
    pub fn expires_in(&self) -> Option<Duration> {
        self.expires_epoch
            .checked_sub(now_epoch())
            .filter(|s| *s > 0)
            .map(Duration::from_secs)
    }
}

/// A held lock; release it with [`Lock::release`].
#[must_use = "a lock must be released"]
pub struct Lock {
    parameter: String,
    record: LockRecord,
}

fn now_epoch() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn host_name() -> String {
    std::fs::read_to_string("/etc/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "unknown-host".into())
}

/// `<host>:pid<pid>:`, the start of every owner id this process writes.
fn process_prefix() -> String {
    format!("{}:pid{}:", host_name(), std::process::id())
}

fn owner_id() -> String {
    format!("{}{:08x}", process_prefix(), rand::random::<u32>())
}

/// A lock taken by a process of this host that no longer exists (a run that
/// was killed) need not wait for its expiry: nobody can be using it.
fn owner_died_here(owner: &str) -> bool {
    let mut parts = owner.split(':');
    let (Some(host), Some(pid)) = (
        parts.next(),
        parts.next().and_then(|p| p.strip_prefix("pid")),
    ) else {
        return false;
    };
    host == host_name()
        && pid
            .parse::<u32>()
            .is_ok_and(|pid| !std::path::Path::new(&format!("/proc/{pid}")).exists())
}

/// Deletes the lock if this very process holds it: a run whose future was
/// cancelled (`test-platform` interrupted during `up`) never reached
/// [`Lock::release`]. Returns whether a lock was released.
pub async fn release_if_held_by_this_process(aws: &Aws, names: &Names) -> Result<bool> {
    let parameter = names.lock_parameter();
    match ssm::get(aws, &parameter).await? {
        Some(value) if parse(&value).owner.starts_with(&process_prefix()) => {
            ssm::delete(aws, &parameter).await
        }
        _ => Ok(false),
    }
}

pub async fn current(aws: &Aws, names: &Names) -> Result<Option<LockRecord>> {
    Ok(ssm::get(aws, &names.lock_parameter())
        .await?
        .map(|value| parse(&value)))
}

/// An unreadable record counts as expired: nobody could prove ownership of it.
fn parse(value: &str) -> LockRecord {
    serde_json::from_str(value).unwrap_or(LockRecord {
        owner: format!("unreadable lock value {value:?}"),
        command: "?".into(),
        expires_epoch: 0,
    })
}

pub async fn acquire(aws: &Aws, names: &Names, command: &str, ttl: Duration) -> Result<Lock> {
    let parameter = names.lock_parameter();
    let record = LockRecord {
        owner: owner_id(),
        command: command.into(),
        expires_epoch: now_epoch() + ttl.as_secs(),
    };
    let value = serde_json::to_string(&record).expect("lock record serialises");
    // Two rounds: the second follows the takeover of an expired lock.
    for _ in 0..2 {
        if ssm::create(aws, names, &parameter, &value, ParameterType::String).await? {
            return Ok(Lock { parameter, record });
        }
        let Some(held) = ssm::get(aws, &parameter).await? else {
            continue;
        };
        let holder = parse(&held);
        match holder.expires_in() {
            Some(expires_in) if !owner_died_here(&holder.owner) => {
                return Err(Error::LockHeld {
                    owner: format!("{} running `{}`", holder.owner, holder.command),
                    expires_in,
                })
            }
            _ => {
                tracing::warn!(
                    "taking over the lock of {} ({}): expired, or its process on this host is gone",
                    holder.owner,
                    holder.command
                );
                // Re-read right before deleting so a lock just retaken by someone else survives.
                if ssm::get(aws, &parameter)
                    .await?
                    .is_some_and(|value| value == held)
                {
                    ssm::delete(aws, &parameter).await?;
                }
            }
        }
    }
    let holder = current(aws, names).await?;
    Err(Error::LockHeld {
        owner: holder
            .map(|h| h.owner)
            .unwrap_or_else(|| "a concurrent run".into()),
        expires_in: ttl,
    })
}

impl Lock {
    pub fn owner(&self) -> &str {
        &self.record.owner
    }

    /// Deletes the lock if it is still ours.
    pub async fn release(self, aws: &Aws) -> Result<()> {
        if let Some(p) = ssm::get(aws, &self.parameter).await? {
            if parse(&p).owner == self.record.owner {
                ssm::delete(aws, &self.parameter).await?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_dead_process_of_this_host_gives_up_its_lock_early() {
        let me = format!("{}:pid{}:0", host_name(), std::process::id());
        assert!(!owner_died_here(&me), "a live process keeps its lock");
        assert!(owner_died_here(&format!(
            "{}:pid{}:0",
            host_name(),
            u32::MAX - 1
        )));
        assert!(
            !owner_died_here("some-other-host:pid1:0"),
            "another host's run may be alive"
        );
        assert!(!owner_died_here("unreadable"));
    }
}
