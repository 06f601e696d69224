//! What the control plane costs per month. Nothing while the platform is
//! down: `down` disables the schedule, so there is no invocation, no Lambda
//! request and no metric read; the function and its log group cost nothing
//! to exist. While up: one invocation per tick, and one longer run for each
//! automatic `down`.

use serde::Serialize;

use super::prices::{Key, Prices};

/// The model's assumptions; each figure is stated in `meetctl cost`.
#[derive(Clone, Debug, Serialize)]
pub struct Assumptions {
    /// infra/ control_plane_rate_minutes.
    pub rate_minutes: f64,
    /// The function's memory_size (128 MB).
    pub memory_gb: f64,
    /// A tick that keeps the platform: start, a dozen reads, a decision.
    pub seconds_per_tick: f64,
    /// A tick that runs `down`: waits for the load balancer and its address.
    pub seconds_per_down: f64,
    /// Meetings are assumed this long: one automatic `down` each.
    pub hours_per_meeting: f64,
    /// GetMetricStatistics calls per tick (three metrics).
    pub metric_requests_per_tick: f64,
    pub log_bytes_per_tick: f64,
}

impl Default for Assumptions {
    fn default() -> Self {
        Assumptions {
            rate_minutes: 5.0,
            memory_gb: 0.125,
            seconds_per_tick: 2.0,
            seconds_per_down: 180.0,
            hours_per_meeting: 2.0,
            metric_requests_per_tick: 3.0,
            log_bytes_per_tick: 2048.0,
        }
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct Month {
    pub hours_up: f64,
    pub invocations: f64,
    pub gb_seconds: f64,
    pub metric_requests: f64,
    /// At list prices, as if no free tier applied.
    pub list_usd: f64,
    /// After the monthly free tiers (Lambda, Scheduler, CloudWatch API),
    /// assuming nothing else in the account uses them.
    pub after_free_tier_usd: f64,
}

pub fn month(prices: &Prices, a: &Assumptions, hours_up: f64) -> Month {
    let ticks = hours_up * 60.0 / a.rate_minutes;
    let downs = (hours_up / a.hours_per_meeting).ceil();
    let invocations = ticks;
    let gb_seconds = (ticks * a.seconds_per_tick + downs * a.seconds_per_down) * a.memory_gb;
    let metric_requests = ticks * a.metric_requests_per_tick;
    let log_gb = ticks * a.log_bytes_per_tick / 1e9;
    let over = |used: f64, free: Key| (used - prices.quantity(free)).max(0.0);
    let logs = log_gb * prices.usd(Key::CloudwatchLogsIngestGb);
    let list_usd = invocations * prices.usd(Key::LambdaRequest)
        + gb_seconds * prices.usd(Key::LambdaX86GbSecond)
        + invocations * prices.usd(Key::SchedulerInvocation)
        + metric_requests * prices.usd(Key::CloudwatchApiRequest)
        + logs;
    let after_free_tier_usd = over(invocations, Key::LambdaFreeRequestsMonth)
        * prices.usd(Key::LambdaRequest)
        + over(gb_seconds, Key::LambdaFreeGbSecondsMonth) * prices.usd(Key::LambdaX86GbSecond)
        + over(invocations, Key::SchedulerFreeInvocationsMonth)
            * prices.usd(Key::SchedulerInvocation)
        + over(metric_requests, Key::CloudwatchFreeApiRequestsMonth)
            * prices.usd(Key::CloudwatchApiRequest)
        + logs;
    Month {
        hours_up,
        invocations,
        gb_seconds,
        metric_requests,
        list_usd,
        after_free_tier_usd,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_at_idle_and_cents_at_most_when_up() {
        let prices = Prices::for_region("us-east-1").unwrap();
        let a = Assumptions::default();
        let idle = month(&prices, &a, 0.0);
        assert_eq!(
            (idle.invocations, idle.list_usd, idle.after_free_tier_usd),
            (0.0, 0.0, 0.0)
        );
        let busy = month(&prices, &a, 200.0);
        assert_eq!(busy.invocations, 2400.0);
        assert!(busy.list_usd > 0.05 && busy.list_usd < 0.5, "{busy:?}");
        // Within every free tier, only the log ingestion remains.
        assert!(busy.after_free_tier_usd < 0.01, "{busy:?}");
        assert!(month(&prices, &a, 10.0).list_usd < busy.list_usd);
    }
}
