//! The control plane: nobody has to remember `down`.
//!
//! A Lambda function (`src/bin/meetctl-control.rs`), invoked every few
//! minutes by an EventBridge Scheduler schedule that `up` enables and `down`
//! disables, runs [`tick`]: it reads the NLB's CloudWatch metrics, decides
//! with [`decision::decide`], and when the platform is idle, past a cap or
//! over budget runs the same `down` as the CLI (lock and sweep included).
//! `status` shows the same outlook; `history` lists what happened.

pub mod decision;
pub mod record;

use serde::Serialize;

use crate::aws::{cloudwatch, scheduler};
use crate::commands::down::{self, DownOptions};
use crate::error::{Error, Result};
use crate::state::{self, Observed};
use crate::Context;
use decision::{Budget, Caps, Decision, Input};
use record::Session;

/// What the control plane sees and would do now.
#[derive(Clone, Debug, Serialize)]
pub struct Outlook {
    pub session: Option<Session>,
    pub input: Input,
    pub decision: Decision,
    /// The idle clock.
    pub idle_seconds: u64,
    /// Minutes with data in the window read (the rest had no traffic).
    pub minutes_with_data: usize,
    /// The schedule's state; None when the control plane is not deployed.
    pub schedule_enabled: Option<bool>,
}

/// Reads what the decision needs; None when nothing is up (no session and
/// nothing billable).
pub async fn outlook(ctx: &Context, observed: &Observed, now: i64) -> Result<Option<Outlook>> {
    let (aws, names) = (&ctx.aws, &ctx.names);
    let schedule = names.control_schedule();
    let (session, history, schedule_enabled) = tokio::try_join!(
        record::read_session(aws, names),
        record::read_history(aws, names),
        scheduler::enabled(aws, &schedule),
    )?;
    if observed.is_idle() && session.is_none() {
        return Ok(None);
    }
    let up_since = session
        .as_ref()
        .map(|s| s.up_since)
        .or_else(|| observed.uptime().map(|d| now - d.as_secs() as i64))
        .unwrap_or(now);
    let dimension = observed
        .load_balancer
        .as_ref()
        .and_then(|lb| cloudwatch::load_balancer_dimension(&lb.arn));
    let minutes = match &dimension {
        Some(d) => cloudwatch::nlb_activity(aws, d, up_since, now).await?,
        None => Vec::new(),
    };
    let c = &ctx.config.control;
    let budget = match c.monthly_budget_usd {
        Some(monthly_usd) => match state::hourly_rate(ctx, observed).await? {
            Some(Err(unknown)) => {
                // `up` refuses a budget it cannot keep; this platform was
                // started before the budget was set or its prices removed.
                tracing::warn!("monthly_budget_usd is not enforced: {unknown}");
                None
            }
            rate => Some(Budget {
                monthly_usd,
                spent_before_usd: history.month_usd_at(now),
                usd_per_hour: rate.and_then(|r| r.ok()).unwrap_or(0.0),
            }),
        },
        None => None,
    };
    let input = Input {
        now,
        up_since,
        last_active: decision::last_active(&minutes),
        caps: Caps {
            idle_timeout: c.idle_timeout,
            idle_grace: c.idle_grace,
            max_uptime: c.max_uptime,
            until: session.as_ref().and_then(|s| s.until),
        },
        budget,
    };
    Ok(Some(Outlook {
        session,
        decision: decision::decide(&input),
        idle_seconds: decision::idle_for(&input).as_secs(),
        minutes_with_data: minutes.len(),
        input,
        schedule_enabled,
    }))
}

/// What one tick did, returned by the Lambda function and logged.
#[derive(Clone, Debug, Serialize)]
pub struct TickReport {
    /// `nothing-up`, `keep`, `warn`, `down`, or `busy` (another run holds the lock).
    pub action: &'static str,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outlook: Option<Outlook>,
}

/// One run of the control plane. Logs its decision and why (the Lambda's
/// stdout and stderr go to its CloudWatch Logs group).
pub async fn tick(ctx: &Context) -> Result<TickReport> {
    let observed = state::observe(ctx).await?;
    let now = record::now_epoch();
    let Some(outlook) = outlook(ctx, &observed, now).await? else {
        // Nothing to watch: make sure nothing invokes us until the next `up`.
        scheduler::set_enabled(&ctx.aws, &ctx.names.control_schedule(), false).await?;
        let message = "nothing is up; the schedule stays disabled until the next `up`".to_string();
        tracing::info!("{message}");
        return Ok(TickReport {
            action: "nothing-up",
            message,
            outlook: None,
        });
    };
    let idle = crate::output::human_duration(std::time::Duration::from_secs(outlook.idle_seconds));
    let (action, message) = match &outlook.decision {
        Decision::Keep { next_down } => (
            "keep",
            format!(
                "keep: idle for {idle}; goes down at {} ({}) unless someone connects",
                utc(next_down.at),
                next_down.reason
            ),
        ),
        Decision::Warn { next_down } => (
            "warn",
            format!(
                "warning: the platform goes down at {} even with people in it: {}",
                utc(next_down.at),
                next_down.reason
            ),
        ),
        Decision::Down { reason } => {
            tracing::warn!("automatic down: {reason}");
            let opts = DownOptions {
                dry_run: false,
                by: record::CONTROL_PLANE_TRIGGER.into(),
                reason: Some(reason.to_string()),
            };
            match down::run(ctx, &opts).await {
                Ok(()) => ("down", format!("automatic down done: {reason}")),
                Err(e @ Error::LockHeld { .. }) => (
                    "busy",
                    format!("wanted down ({reason}) but {e}; the next tick retries"),
                ),
                Err(e) => {
                    tracing::error!(
                        "automatic down ({reason}) failed: {e}; the next tick resumes it"
                    );
                    return Err(e);
                }
            }
        }
    };
    match action {
        "warn" => tracing::warn!("{message}"),
        _ => tracing::info!("{message}"),
    }
    Ok(TickReport {
        action,
        message,
        outlook: Some(outlook),
    })
}

/// An epoch second as `YYYY-MM-DD HH:MM UTC`.
pub fn utc(epoch: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp(epoch)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02} UTC",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute()
    )
}

/// `up`, before anything billable exists: refuse when this month's cost
/// plus the least this run will cost would pass the budget. The least a run
/// costs is its `--for` cap, else the grace period and the idle timeout (a
/// platform nobody joins still runs that long).
pub fn check_budget(
    ctx: &Context,
    history: &record::History,
    usd_per_hour: f64,
    for_seconds: Option<u64>,
    now: i64,
) -> Result<()> {
    let c = &ctx.config.control;
    let Some(budget) = c.monthly_budget_usd else {
        return Ok(());
    };
    let least_seconds = for_seconds.unwrap_or((c.idle_grace.max(c.idle_timeout)).as_secs());
    let spent = history.month_usd_at(now);
    let planned = usd_per_hour * least_seconds as f64 / 3600.0;
    if spent + planned > budget {
        return Err(Error::preflight(
            "monthly_budget_usd",
            format!(
                "this month the platform ran {:.1} h for ${spent:.2}; this run would cost at least ${planned:.2} (${usd_per_hour:.4}/h for {}), passing the budget of ${budget:.2}",
                history.month_hours_at(now),
                crate::output::human_duration(std::time::Duration::from_secs(least_seconds))
            ),
            "raise monthly_budget_usd (meetctl.toml, MEETCTL_MONTHLY_BUDGET_USD or --set), run a shorter meeting with `up --for`, or wait for next month; nothing was created",
        ));
    }
    Ok(())
}

/// `up`, under the lock and before anything billable: start (or keep) the
/// session and enable the schedule, so even an `up` that fails half-way is
/// taken down by the control plane.
pub async fn before_up(ctx: &Context, for_seconds: Option<u64>) -> Result<Session> {
    let session =
        record::begin_session(&ctx.aws, &ctx.names, record::now_epoch(), for_seconds).await?;
    let schedule = ctx.names.control_schedule();
    let step = ctx.out.step("control-plane");
    match scheduler::set_enabled(&ctx.aws, &schedule, true).await? {
        scheduler::Change::Absent => step.skipped(&format!(
            "not deployed (no schedule {schedule}): nothing takes the platform down by itself; run `meetctl down`"
        )),
        _ => step.done(&format!(
            "schedule {schedule} enabled: down after {} idle{}",
            crate::output::human_duration(ctx.config.control.idle_timeout),
            session
                .until
                .map(|u| format!(", or at {}", utc(u)))
                .unwrap_or_default()
        )),
    }
    Ok(session)
}

/// `up` succeeded: an entry in the history.
pub async fn after_up(ctx: &Context, session: &Session) -> Result<()> {
    record::record(
        &ctx.aws,
        &ctx.names,
        record::Event {
            at: session.up_since,
            event: "up".into(),
            by: session.by.clone(),
            reason: session.until.map(|u| format!("--for until {}", utc(u))),
            hours: None,
            usd: None,
        },
    )
    .await
    .map(|_| ())
}

/// `down` succeeded: end the session, disable the schedule, and record who
/// took it down, why, for how long and at what cost.
pub async fn after_down(
    ctx: &Context,
    observed: &Observed,
    usd_per_hour: Option<f64>,
    opts: &DownOptions,
) -> Result<()> {
    let (aws, names) = (&ctx.aws, &ctx.names);
    let now = record::now_epoch();
    let session = record::read_session(aws, names).await?;
    if !observed.is_idle() {
        let hours = session
            .as_ref()
            .map(|s| (now - s.up_since).max(0) as f64 / 3600.0)
            .or_else(|| observed.uptime().map(|d| d.as_secs_f64() / 3600.0));
        record::record(
            aws,
            names,
            record::Event {
                at: now,
                event: "down".into(),
                by: opts.by.clone(),
                reason: opts.reason.clone(),
                hours,
                usd: hours.zip(usd_per_hour).map(|(h, r)| h * r),
            },
        )
        .await?;
    }
    if session.is_some() {
        record::end_session(aws, names).await?;
    }
    scheduler::set_enabled(aws, &names.control_schedule(), false).await?;
    Ok(())
}
