//! Where the caps and the past live, free: two SSM standard parameters
//! (free, up to 4 KB each: https://aws.amazon.com/systems-manager/pricing/,
//! https://docs.aws.amazon.com/systems-manager/latest/userguide/parameter-store-advanced-parameters.html).
//!
//! - the session (`/<project>/meetctl/session`): when `up` started and its
//!   one-off cap; written by `up`, deleted by `down`;
//! - the history (`/<project>/meetctl/history`): the last ups and downs with
//!   who or what triggered them and what they cost, and this month's running
//!   hours and cost (kept as a sum, so the budget does not depend on how many
//!   events still fit).

use std::time::{SystemTime, UNIX_EPOCH};

use aws_sdk_ssm::types::ParameterType;
use serde::{Deserialize, Serialize};

use crate::aws::{ssm, Aws};
use crate::error::{Error, Result};
use crate::names::Names;

/// SSM standard parameters hold at most 4 KB.
pub const STANDARD_PARAMETER_BYTES: usize = 4096;

pub fn now_epoch() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Who runs a command: a person at the CLI, or the control plane.
pub fn cli_trigger() -> String {
    let user = std::env::var("USER").unwrap_or_else(|_| "someone".into());
    let host = std::fs::read_to_string("/etc/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "unknown-host".into());
    format!("cli:{user}@{host}")
}

pub const CONTROL_PLANE_TRIGGER: &str = "control-plane";

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Session {
    /// Epoch seconds when `up` began.
    pub up_since: i64,
    /// The `up --for` cap, epoch seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<i64>,
    pub by: String,
}

pub async fn read_session(aws: &Aws, names: &Names) -> Result<Option<Session>> {
    let name = names.session_parameter();
    Ok(ssm::get(aws, &name)
        .await?
        .and_then(|text| serde_json::from_str(&text).ok()))
}

/// Starts a session, or keeps the running one's start (a re-run of `up`
/// converges, it does not restart the clock); a new `--for` replaces the cap.
pub async fn begin_session(
    aws: &Aws,
    names: &Names,
    now: i64,
    for_seconds: Option<u64>,
) -> Result<Session> {
    let until = for_seconds.map(|s| now + s as i64);
    let session = match read_session(aws, names).await? {
        Some(mut running) => {
            if until.is_some() {
                running.until = until;
            }
            running
        }
        None => Session {
            up_since: now,
            until,
            by: cli_trigger(),
        },
    };
    write(aws, names, &names.session_parameter(), &session).await?;
    Ok(session)
}

pub async fn end_session(aws: &Aws, names: &Names) -> Result<()> {
    ssm::delete(aws, &names.session_parameter())
        .await
        .map(|_| ())
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Event {
    pub at: i64,
    /// `up` or `down`.
    pub event: String,
    pub by: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// For a `down`: how long the platform had been up and what that cost.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hours: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usd: Option<f64>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct History {
    /// `YYYY-MM` (UTC) the sums below are for.
    pub month: String,
    pub month_hours: f64,
    pub month_usd: f64,
    /// Oldest first; the oldest are dropped to stay within 4 KB.
    pub events: Vec<Event>,
}

/// `YYYY-MM` of an epoch second, UTC.
pub fn month_of(epoch: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp(epoch)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    format!("{:04}-{:02}", t.year(), u8::from(t.month()))
}

impl History {
    /// This month's cost of earlier runs, as of `now`.
    pub fn month_usd_at(&self, now: i64) -> f64 {
        if self.month == month_of(now) {
            self.month_usd
        } else {
            0.0
        }
    }

    pub fn month_hours_at(&self, now: i64) -> f64 {
        if self.month == month_of(now) {
            self.month_hours
        } else {
            0.0
        }
    }

    /// Adds an event; a `down` adds its hours and cost to the month it ends in.
    pub fn push(&mut self, event: Event) {
        let month = month_of(event.at);
        if self.month != month {
            self.month = month;
            self.month_hours = 0.0;
            self.month_usd = 0.0;
        }
        self.month_hours += event.hours.unwrap_or(0.0);
        self.month_usd += event.usd.unwrap_or(0.0);
        self.events.push(event);
        while self.encoded().len() > STANDARD_PARAMETER_BYTES && self.events.len() > 1 {
            self.events.remove(0);
        }
    }

    fn encoded(&self) -> String {
        serde_json::to_string(self).expect("history serialises")
    }
}

pub async fn read_history(aws: &Aws, names: &Names) -> Result<History> {
    Ok(ssm::get(aws, &names.history_parameter())
        .await?
        .and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or_default())
}

pub async fn record(aws: &Aws, names: &Names, event: Event) -> Result<History> {
    let mut history = read_history(aws, names).await?;
    history.push(event);
    write(aws, names, &names.history_parameter(), &history).await?;
    Ok(history)
}

/// Creates the parameter tagged like everything meetctl makes, or overwrites it.
async fn write<T: Serialize>(aws: &Aws, names: &Names, name: &str, value: &T) -> Result<()> {
    let text = serde_json::to_string(value).expect("record serialises");
    if text.len() > STANDARD_PARAMETER_BYTES {
        return Err(Error::Unexpected {
            what: name.to_string(),
            problem: format!("{} bytes do not fit a standard parameter", text.len()),
            fix: "delete the parameter; it is rebuilt on the next up or down".into(),
        });
    }
    if !ssm::create(aws, names, name, &text, ParameterType::String).await? {
        ssm::overwrite(aws, name, &text).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn down(at: i64, hours: f64, usd: f64) -> Event {
        Event {
            at,
            event: "down".into(),
            by: CONTROL_PLANE_TRIGGER.into(),
            reason: Some("idle: nobody connected for 15m00s".into()),
            hours: Some(hours),
            usd: Some(usd),
        }
    }

    #[test]
    fn months_sum_and_roll_over() {
        // 2026-12-06 and 2027-01-02 UTC.
        let dec = 1_796_515_200;
        let jan = 1_798_848_000;
        assert_eq!(month_of(dec), "2026-12");
        assert_eq!(month_of(jan), "2027-01");
        let mut h = History::default();
        h.push(down(dec, 2.0, 0.25));
        h.push(down(dec + 3600, 1.0, 0.125));
        assert_eq!(h.month_hours_at(dec), 3.0);
        assert!((h.month_usd_at(dec) - 0.375).abs() < 1e-9);
        assert_eq!(h.month_usd_at(jan), 0.0, "a new month starts at zero");
        h.push(down(jan, 1.0, 0.1));
        assert_eq!((h.month.as_str(), h.month_hours), ("2027-01", 1.0));
        assert_eq!(h.events.len(), 3);
    }

    #[test]
    fn history_stays_within_a_standard_parameter() {
        let mut h = History::default();
        for i in 0..500 {
            h.push(down(1_796_515_200 + i, 1.0, 0.1));
        }
        assert!(h.encoded().len() <= STANDARD_PARAMETER_BYTES);
        assert!(h.events.len() > 10, "{}", h.events.len());
        assert_eq!(h.events.last().unwrap().at, 1_796_515_200 + 499);
        // The month's sum counts every run, also those whose event was dropped.
        assert!((h.month_hours - 500.0).abs() < 1e-9);
    }
}
