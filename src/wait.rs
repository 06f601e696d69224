//! The one poll-until helper: deadline, backoff, progress, and a timeout
//! error that says what was awaited and what was last seen. A probe error is
//! returned as an error, never taken for success.

use std::future::Future;
use std::time::{Duration, Instant};

use crate::error::{Error, Result};

/// What one look at the world found.
pub enum Probe<T> {
    Ready(T),
    /// Not yet; the text says what was seen (shown as progress and in the timeout error).
    Pending(String),
}

#[derive(Clone, Debug)]
pub struct WaitSpec {
    pub what: String,
    pub timeout: Duration,
    pub first_interval: Duration,
    pub max_interval: Duration,
    /// What to tell the user when the wait times out.
    pub fix: String,
}

impl WaitSpec {
    pub fn new(what: impl Into<String>, timeout: Duration, first_interval: Duration) -> Self {
        WaitSpec {
            what: what.into(),
            timeout,
            first_interval,
            // Backoff stops growing at 2x the first interval: on real AWS (2s)
            // a wait ends at most 4s (under 2s on average, with the jitter)
            // after the state changed, a few percent of the two minutes `up`
            // waits, with fewer calls than polling every 2s. A higher cap
            // saves few calls more but lets each wait overshoot by up to it.
            max_interval: first_interval * 2,
            fix: "re-run the command to resume; it converges from where it stopped".into(),
        }
    }

    pub fn with_fix(mut self, fix: impl Into<String>) -> Self {
        self.fix = fix.into();
        self
    }
}

/// Polls `probe` until it is ready, an error occurs, or the deadline passes.
/// `progress` receives each new observation with the time waited so far.
pub async fn poll_until<T, F, Fut>(
    spec: &WaitSpec,
    mut progress: impl FnMut(&str, Duration),
    mut probe: F,
) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Probe<T>>>,
{
    let started = Instant::now();
    let deadline = started + spec.timeout;
    let mut interval = spec.first_interval;
    loop {
        let last_seen = match probe().await? {
            Probe::Ready(value) => return Ok(value),
            Probe::Pending(seen) => seen,
        };
        let now = Instant::now();
        if now >= deadline {
            return Err(Error::WaitTimeout {
                what: spec.what.clone(),
                waited: now - started,
                last_seen,
                fix: spec.fix.clone(),
            });
        }
        progress(&last_seen, now - started);
        tokio::time::sleep(jittered(interval).min(deadline - now)).await;
        interval = (interval.mul_f64(1.5)).min(spec.max_interval);
    }
}

/// Half the interval plus a random part of the other half ("equal jitter").
/// AWS's waits end at no fixed phase of a poll; without jitter, polls locked
/// to a steady wait's phase can land just before its end every time and
/// overshoot by a whole interval, and many clients poll in step.
fn jittered(interval: Duration) -> Duration {
    interval.mul_f64(0.5 + 0.5 * rand::random::<f64>())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    fn spec(timeout_ms: u64) -> WaitSpec {
        WaitSpec::new(
            "the thing",
            Duration::from_millis(timeout_ms),
            Duration::from_millis(5),
        )
    }

    #[tokio::test]
    async fn returns_once_ready_and_reports_progress() {
        let calls = AtomicU32::new(0);
        let mut seen = Vec::new();
        let value = poll_until(
            &spec(5_000),
            |s, _| seen.push(s.to_string()),
            || async {
                let n = calls.fetch_add(1, Ordering::SeqCst);
                Ok(if n < 2 {
                    Probe::Pending(format!("state {n}"))
                } else {
                    Probe::Ready(n)
                })
            },
        )
        .await
        .unwrap();
        assert_eq!(value, 2);
        assert_eq!(seen, vec!["state 0", "state 1"]);
    }

    #[tokio::test]
    async fn timeout_names_what_and_last_seen() {
        let err = poll_until(
            &spec(60),
            |_, _| {},
            || async { Ok(Probe::<()>::Pending("provisioning".into())) },
        )
        .await
        .unwrap_err();
        match err {
            Error::WaitTimeout {
                what,
                last_seen,
                waited,
                ..
            } => {
                assert_eq!(what, "the thing");
                assert_eq!(last_seen, "provisioning");
                assert!(waited >= Duration::from_millis(60));
            }
            other => panic!("expected a timeout, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn probe_error_is_never_success() {
        let err = poll_until(
            &spec(5_000),
            |_, _| {},
            || async {
                Err::<Probe<()>, _>(Error::Unexpected {
                    what: "x".into(),
                    problem: "broken".into(),
                    fix: "none".into(),
                })
            },
        )
        .await
        .unwrap_err();
        assert!(matches!(err, Error::Unexpected { .. }));
    }

    #[test]
    fn jitter_stays_within_half_and_all_of_the_interval() {
        let interval = Duration::from_millis(100);
        let samples: Vec<Duration> = (0..200).map(|_| jittered(interval)).collect();
        assert!(samples.iter().all(|d| *d >= interval / 2 && *d <= interval));
        // Not a constant: the point is to break the phase.
        assert!(samples.iter().any(|d| *d != samples[0]));
    }

    #[tokio::test]
    async fn backs_off_instead_of_polling_at_a_fixed_rate() {
        let calls = AtomicU32::new(0);
        let s = WaitSpec::new("x", Duration::from_millis(400), Duration::from_millis(10));
        let _ = poll_until(
            &s,
            |_, _| {},
            || async {
                calls.fetch_add(1, Ordering::SeqCst);
                Ok(Probe::<()>::Pending("no".into()))
            },
        )
        .await;
        // Fixed 10ms polling would make ~40 calls in 400ms; backoff capped
        // at 20ms, jittered to 50-100% of that, makes ~27.
        let n = calls.load(Ordering::SeqCst);
        assert!(n <= 34, "made {n} calls");
    }
}
