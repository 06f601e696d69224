//! The lifecycle lock: an SSM parameter created with overwrite=false, so two
//! runs cannot both create it. It holds the owner and an expiry; a lock whose
//! owner died is taken over once it has expired, or at once when the owner
//! was a process of this host that no longer exists.
//!
//! The owner id is `<host>:pid<pid>:<random>`. Host and process checks use
//! POSIX calls (gethostname, kill(pid, 0)) so they work on Linux and macOS
//! alike; there is no /proc or /etc/hostname on macOS.

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
    /// The run that holds this lock ran on this host and has died (killed,
    /// crashed, interrupted): it will never release the lock or finish.
    pub fn owner_is_dead(&self) -> bool {
        owner_died_here(&self.owner)
    }

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

/// Written when the host name cannot be read; such an owner is never judged
/// dead, since another host could have written the same placeholder.
const UNKNOWN_HOST: &str = "unknown-host";

/// This host's name, from gethostname(2) (POSIX; Linux and macOS).
#[cfg(unix)]
pub fn host_id() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the pointer and length describe `buf`, which outlives the call;
    // gethostname writes at most `buf.len()` bytes into it.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    let name = String::from_utf8_lossy(&buf[..end])
        .trim()
        .replace(':', "-");
    if rc == 0 && !name.is_empty() {
        name
    } else {
        UNKNOWN_HOST.into()
    }
}

#[cfg(not(unix))]
pub fn host_id() -> String {
    std::env::var("COMPUTERNAME").unwrap_or_else(|_| UNKNOWN_HOST.into())
}

/// Whether a process with this id no longer exists. kill(pid, 0) sends no
/// signal, only checks: ESRCH means no such process; success or EPERM (it
/// exists but belongs to another user) means it lives. POSIX kill(2).
#[cfg(unix)]
fn process_is_gone(pid: u32) -> bool {
    // 0 and negative ids address process groups, not one process.
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    if pid <= 0 {
        return false;
    }
    // SAFETY: signal 0 performs only the existence and permission check.
    let rc = unsafe { libc::kill(pid, 0) };
    rc != 0 && std::io::Error::last_os_error().raw_os_error() == Some(libc::ESRCH)
}

#[cfg(not(unix))]
fn process_is_gone(_pid: u32) -> bool {
    false
}

/// `<host>:pid<pid>:`, the start of every owner id this process writes.
fn process_prefix() -> String {
    format!("{}:pid{}:", host_id(), std::process::id())
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
    host != UNKNOWN_HOST && host == host_id() && pid.parse::<u32>().is_ok_and(process_is_gone)
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

    /// The id of a process that has exited and been reaped.
    fn dead_pid() -> u32 {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        pid
    }

    #[test]
    fn only_a_dead_process_of_this_host_gives_up_its_lock_early() {
        let host = host_id();
        assert_ne!(host, UNKNOWN_HOST, "gethostname answered");
        let me = format!("{host}:pid{}:0", std::process::id());
        assert!(!owner_died_here(&me), "a live process keeps its lock");
        let dead = format!("{host}:pid{}:0", dead_pid());
        assert!(owner_died_here(&dead), "{dead}");
        let record = LockRecord {
            owner: dead,
            command: "up".into(),
            expires_epoch: now_epoch() + 3600,
        };
        assert!(record.owner_is_dead());
        assert!(
            !owner_died_here(&format!("some-other-host:pid{}:0", dead_pid())),
            "another host's run may be alive"
        );
        assert!(!owner_died_here(&format!(
            "{UNKNOWN_HOST}:pid{}:0",
            dead_pid()
        )));
        for not_one_process in ["pid0", "pid4294967295", "pidx"] {
            assert!(!owner_died_here(&format!("{host}:{not_one_process}:0")));
        }
        assert!(!owner_died_here("unreadable"));
    }

    #[test]
    fn the_host_id_is_the_system_host_name_not_a_file() {
        // `hostname` prints gethostname(2) on Linux and macOS alike.
        let out = std::process::Command::new("hostname")
            .output()
            .expect("run hostname");
        assert!(out.status.success());
        let expected = String::from_utf8_lossy(&out.stdout)
            .trim()
            .replace(':', "-");
        assert_eq!(host_id(), expected);
    }
}
