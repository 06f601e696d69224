//! What the front door (wake on visit, infra/ front_door_enabled) costs per
//! month. Nothing while nobody visits: an API Gateway HTTP API and a Lambda
//! function bill per request, an SSM standard parameter is free. Each start
//! is a page view, a POST, a progress page and the page's polls while `up`
//! runs, plus the one long invocation that runs `up`.

use serde::Serialize;

use super::prices::{Key, Prices};

#[derive(Clone, Debug, Serialize)]
pub struct Assumptions {
    /// Requests per start: the asleep page, the POST, the progress page and
    /// a poll every 1.5 s for the start's duration.
    pub requests_per_start: f64,
    /// Visits that do not start anything (people, link previews, crawlers).
    pub stray_requests_month: f64,
    /// The front-door function's memory (infra/modules/front-door).
    pub memory_gb: f64,
    /// One request: a few SSM reads.
    pub seconds_per_request: f64,
    /// The invocation that runs `up`.
    pub seconds_per_start: f64,
}

impl Default for Assumptions {
    fn default() -> Self {
        Assumptions {
            requests_per_start: 3.0 + 300.0 / 1.5,
            stray_requests_month: 1000.0,
            memory_gb: 0.25,
            seconds_per_request: 0.3,
            seconds_per_start: 300.0,
        }
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct Month {
    pub starts: f64,
    pub requests: f64,
    pub gb_seconds: f64,
    /// At list prices, as if no free tier applied.
    pub list_usd: f64,
    /// After Lambda's free tier (API Gateway's lasts 12 months only, so it
    /// is not counted).
    pub after_free_tier_usd: f64,
}

pub fn month(prices: &Prices, a: &Assumptions, starts: f64, stray: bool) -> Month {
    let requests = starts * a.requests_per_start + if stray { a.stray_requests_month } else { 0.0 };
    let invocations = requests + starts;
    let gb_seconds =
        (requests * a.seconds_per_request + starts * a.seconds_per_start) * a.memory_gb;
    let api = requests * prices.usd(Key::ApiGatewayHttpRequest);
    let over = |used: f64, free: Key| (used - prices.quantity(free)).max(0.0);
    let list_usd = api
        + invocations * prices.usd(Key::LambdaRequest)
        + gb_seconds * prices.usd(Key::LambdaX86GbSecond);
    let after_free_tier_usd = api
        + over(invocations, Key::LambdaFreeRequestsMonth) * prices.usd(Key::LambdaRequest)
        + over(gb_seconds, Key::LambdaFreeGbSecondsMonth) * prices.usd(Key::LambdaX86GbSecond);
    Month {
        starts,
        requests,
        gb_seconds,
        list_usd,
        after_free_tier_usd,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_without_visits_and_cents_with_them() {
        let prices = Prices::for_region("us-east-1").unwrap();
        let a = Assumptions::default();
        let idle = month(&prices, &a, 0.0, false);
        assert_eq!((idle.requests, idle.list_usd), (0.0, 0.0));
        let busy = month(&prices, &a, 30.0, true);
        assert!(busy.list_usd > 0.0 && busy.list_usd < 0.1, "{busy:?}");
        assert!(busy.after_free_tier_usd <= busy.list_usd);
    }
}
