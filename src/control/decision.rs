//! The control plane's decision, pure: given the time, when the platform came
//! up, its caps, the budget and the load balancer's activity, keep it, warn,
//! or take it down and say why. No AWS here, so every rule is unit-tested.

use std::time::Duration;

use serde::Serialize;

use crate::aws::cloudwatch::{Minute, PERIOD_SECONDS};
use crate::output::human_duration;

/// UDP bytes in a minute below which nobody is sending media: a participant
/// sends tens of kilobytes a second, a stray STUN probe or port scan a few
/// hundred bytes. Flows count at any value above zero.
pub const MEDIA_BYTES_PER_MINUTE: f64 = 10_000.0;

/// How long before a hard cap (max_uptime, `up --for`, budget) the log warns.
pub const WARN_BEFORE: Duration = Duration::from_secs(10 * 60);

/// Whether anybody was connected during this minute.
pub fn is_active(m: &Minute) -> bool {
    m.tls_flows > 0.0 || m.udp_flows > 0.0 || m.udp_bytes >= MEDIA_BYTES_PER_MINUTE
}

/// End of the last minute with anybody connected (epoch seconds); None when
/// no minute had anyone. Minutes absent from `minutes` had no traffic.
pub fn last_active(minutes: &[Minute]) -> Option<i64> {
    minutes
        .iter()
        .filter(|m| is_active(m))
        .map(|m| m.start + PERIOD_SECONDS)
        .max()
}

#[derive(Clone, Debug, Serialize)]
pub struct Caps {
    pub idle_timeout: Duration,
    pub idle_grace: Duration,
    pub max_uptime: Option<Duration>,
    /// The one-off cap of `up --for`, epoch seconds.
    pub until: Option<i64>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Budget {
    pub monthly_usd: f64,
    /// This month's cost of the platform's earlier runs.
    pub spent_before_usd: f64,
    /// What the running platform costs per hour.
    pub usd_per_hour: f64,
}

impl Budget {
    /// This month's cost including the current run up to `now`.
    pub fn spent_at(&self, up_since: i64, now: i64) -> f64 {
        self.spent_before_usd + self.usd_per_hour * (now - up_since).max(0) as f64 / 3600.0
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct Input {
    pub now: i64,
    pub up_since: i64,
    /// From [`last_active`].
    pub last_active: Option<i64>,
    pub caps: Caps,
    pub budget: Option<Budget>,
}

/// Why the platform goes (or will go) down.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Reason {
    /// Nobody connected for `idle_timeout`.
    Idle {
        idle_seconds: u64,
    },
    MaxUptime {
        limit_seconds: u64,
    },
    /// `up --for`.
    OneOffCap {
        until: i64,
    },
    MonthlyBudget {
        budget_usd: f64,
    },
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Reason::Idle { idle_seconds } => write!(
                f,
                "idle: nobody connected for {}",
                human_duration(Duration::from_secs(*idle_seconds))
            ),
            Reason::MaxUptime { limit_seconds } => write!(
                f,
                "max_uptime {} reached",
                human_duration(Duration::from_secs(*limit_seconds))
            ),
            Reason::OneOffCap { .. } => f.write_str("the `up --for` cap was reached"),
            Reason::MonthlyBudget { budget_usd } => {
                write!(f, "monthly_budget_usd ${budget_usd:.2} reached")
            }
        }
    }
}

/// When the platform goes down if nothing changes, and why.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Deadline {
    pub at: i64,
    pub reason: Reason,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "action", rename_all = "kebab-case")]
pub enum Decision {
    Keep {
        next_down: Deadline,
    },
    /// A hard cap is near; people in the meeting should be told.
    Warn {
        next_down: Deadline,
    },
    Down {
        reason: Reason,
    },
}

/// How long nobody has been connected at `now` (the idle clock): since the
/// last active minute, or since `up` if nobody ever was.
pub fn idle_for(input: &Input) -> Duration {
    let since = input
        .last_active
        .unwrap_or(input.up_since)
        .max(input.up_since);
    Duration::from_secs((input.now - since).max(0) as u64)
}

/// Every deadline that applies, earliest first.
pub fn deadlines(input: &Input) -> Vec<Deadline> {
    let c = &input.caps;
    let idle_since = input
        .last_active
        .unwrap_or(input.up_since)
        .max(input.up_since);
    // Never idle-down within the grace period: people are still joining.
    let idle_at = (idle_since + c.idle_timeout.as_secs() as i64)
        .max(input.up_since + c.idle_grace.as_secs() as i64);
    let mut all = vec![Deadline {
        at: idle_at,
        reason: Reason::Idle {
            idle_seconds: (idle_at - idle_since).max(0) as u64,
        },
    }];
    if let Some(limit) = c.max_uptime {
        all.push(Deadline {
            at: input.up_since + limit.as_secs() as i64,
            reason: Reason::MaxUptime {
                limit_seconds: limit.as_secs(),
            },
        });
    }
    if let Some(until) = c.until {
        all.push(Deadline {
            at: until,
            reason: Reason::OneOffCap { until },
        });
    }
    if let Some(b) = &input.budget {
        let left = b.monthly_usd - b.spent_before_usd;
        let at = if b.usd_per_hour > 0.0 {
            input.up_since + (left.max(0.0) / b.usd_per_hour * 3600.0).floor() as i64
        } else {
            i64::MAX
        };
        all.push(Deadline {
            at,
            reason: Reason::MonthlyBudget {
                budget_usd: b.monthly_usd,
            },
        });
    }
    all.sort_by_key(|d| d.at);
    all
}

/// Keep, warn, or down with the reason. A hard cap wins over activity; the
/// idle rule only ever fires after the grace period.
pub fn decide(input: &Input) -> Decision {
    let all = deadlines(input);
    if let Some(due) = all.iter().find(|d| d.at <= input.now) {
        let reason = match &due.reason {
            // The idle time actually observed, for the log.
            Reason::Idle { .. } => Reason::Idle {
                idle_seconds: idle_for(input).as_secs(),
            },
            other => other.clone(),
        };
        return Decision::Down { reason };
    }
    let next_down = all
        .into_iter()
        .next()
        .expect("the idle deadline is always there");
    let hard = !matches!(next_down.reason, Reason::Idle { .. });
    if hard && next_down.at - input.now <= WARN_BEFORE.as_secs() as i64 {
        Decision::Warn { next_down }
    } else {
        Decision::Keep { next_down }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const UP: i64 = 1_700_000_000;
    const MIN: i64 = 60;

    fn caps() -> Caps {
        Caps {
            idle_timeout: Duration::from_secs(15 * 60),
            idle_grace: Duration::from_secs(10 * 60),
            max_uptime: None,
            until: None,
        }
    }

    fn input(now: i64, last_active: Option<i64>) -> Input {
        Input {
            now,
            up_since: UP,
            last_active,
            caps: caps(),
            budget: None,
        }
    }

    fn minute(start: i64, tls: f64, udp: f64, bytes: f64) -> Minute {
        Minute {
            start,
            tls_flows: tls,
            udp_flows: udp,
            udp_bytes: bytes,
        }
    }

    #[test]
    fn activity_is_any_flow_or_real_media() {
        assert!(is_active(&minute(0, 1.0, 0.0, 0.0)));
        assert!(is_active(&minute(0, 0.0, 2.0, 0.0)));
        assert!(is_active(&minute(0, 0.0, 0.0, 50_000.0)));
        assert!(!is_active(&minute(0, 0.0, 0.0, 300.0)), "a stray probe");
        assert!(!is_active(&minute(0, 0.0, 0.0, 0.0)));
        let minutes = [
            minute(UP, 3.0, 3.0, 1e6),
            minute(UP + 5 * MIN, 1.0, 0.0, 0.0),
            minute(UP + 9 * MIN, 0.0, 0.0, 100.0),
        ];
        assert_eq!(last_active(&minutes), Some(UP + 6 * MIN));
        assert_eq!(last_active(&[]), None, "no data means nobody");
    }

    #[test]
    fn an_active_meeting_is_kept() {
        let now = UP + 3 * 3600;
        let d = decide(&input(now, Some(now - MIN)));
        match d {
            Decision::Keep { next_down } => {
                assert_eq!(next_down.at, now - MIN + 15 * MIN);
                assert!(matches!(next_down.reason, Reason::Idle { .. }));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn idle_for_the_timeout_goes_down() {
        let left = UP + 40 * MIN;
        assert!(matches!(
            decide(&input(left + 14 * MIN, Some(left))),
            Decision::Keep { .. }
        ));
        assert_eq!(
            decide(&input(left + 15 * MIN, Some(left))),
            Decision::Down {
                reason: Reason::Idle {
                    idle_seconds: 15 * 60
                }
            }
        );
    }

    #[test]
    fn nobody_ever_came_goes_down_after_the_timeout_from_up() {
        assert!(matches!(
            decide(&input(UP + 14 * MIN, None)),
            Decision::Keep { .. }
        ));
        assert!(matches!(
            decide(&input(UP + 15 * MIN, None)),
            Decision::Down {
                reason: Reason::Idle { .. }
            }
        ));
    }

    #[test]
    fn never_idle_down_within_the_grace_period() {
        let mut i = input(UP + 5 * MIN, None);
        i.caps.idle_timeout = Duration::from_secs(60);
        i.caps.idle_grace = Duration::from_secs(20 * 60);
        assert!(
            matches!(decide(&i), Decision::Keep { next_down } if next_down.at == UP + 20 * MIN)
        );
        i.now = UP + 20 * MIN;
        assert!(matches!(
            decide(&i),
            Decision::Down {
                reason: Reason::Idle { .. }
            }
        ));
    }

    #[test]
    fn max_uptime_wins_over_people_and_warns_first() {
        let mut i = input(UP + 7 * 3600 + 52 * MIN, None);
        i.caps.max_uptime = Some(Duration::from_secs(8 * 3600));
        i.last_active = Some(i.now);
        match decide(&i) {
            Decision::Warn { next_down } => {
                assert_eq!(next_down.at, UP + 8 * 3600);
                assert!(matches!(next_down.reason, Reason::MaxUptime { .. }));
            }
            other => panic!("{other:?}"),
        }
        i.now = UP + 8 * 3600;
        i.last_active = Some(i.now);
        assert_eq!(
            decide(&i),
            Decision::Down {
                reason: Reason::MaxUptime {
                    limit_seconds: 8 * 3600
                }
            }
        );
    }

    #[test]
    fn the_one_off_cap_holds() {
        let mut i = input(UP + 2 * 3600, Some(UP + 2 * 3600));
        i.caps.until = Some(UP + 2 * 3600);
        assert_eq!(
            decide(&i),
            Decision::Down {
                reason: Reason::OneOffCap {
                    until: UP + 2 * 3600
                }
            }
        );
    }

    #[test]
    fn the_budget_sets_a_deadline_and_holds() {
        let mut i = input(UP + 30 * MIN, Some(UP + 30 * MIN));
        // $9 spent of $10 at $0.50/hour: two hours left from up.
        i.budget = Some(Budget {
            monthly_usd: 10.0,
            spent_before_usd: 9.0,
            usd_per_hour: 0.5,
        });
        match decide(&i) {
            Decision::Keep { next_down } => {
                assert!(next_down.at > i.now);
            }
            other => panic!("{other:?}"),
        }
        i.now = UP + 2 * 3600;
        i.last_active = Some(i.now);
        assert!(matches!(
            decide(&i),
            Decision::Down {
                reason: Reason::MonthlyBudget { .. }
            }
        ));
        let b = i.budget.as_ref().unwrap();
        assert!((b.spent_at(UP, i.now) - 10.0).abs() < 1e-9);
        // Already spent: down at once, whoever is connected.
        i.now = UP + MIN;
        i.budget = Some(Budget {
            monthly_usd: 10.0,
            spent_before_usd: 10.5,
            usd_per_hour: 0.5,
        });
        assert!(matches!(
            decide(&i),
            Decision::Down {
                reason: Reason::MonthlyBudget { .. }
            }
        ));
    }

    #[test]
    fn the_earliest_cap_is_the_one_shown() {
        let mut i = input(UP + MIN, Some(UP + MIN));
        i.caps.max_uptime = Some(Duration::from_secs(3 * 3600));
        i.caps.until = Some(UP + 3600);
        let all = deadlines(&i);
        assert_eq!(all[0].at, UP + 16 * MIN, "idle first: {all:?}");
        assert!(matches!(all[1].reason, Reason::OneOffCap { .. }));
        assert!(matches!(all[2].reason, Reason::MaxUptime { .. }));
        assert_eq!(idle_for(&i), Duration::ZERO);
    }
}
