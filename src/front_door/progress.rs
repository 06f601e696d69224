//! The progress of a start: which of `up`'s steps ran, how they ended, and
//! whether the platform is ready. The running `up` (another Lambda
//! invocation in AWS) writes it to SSM as its steps change; the status
//! endpoint reads it. The same step names as the CLI's progress lines.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::Parameters;
use crate::aws::ssm;
use crate::error::Result;
use crate::output::StepEvent;
use crate::Context;

/// Before the first start has been timed: an NLB provisions and registers
/// targets in a few minutes on AWS.
pub const DEFAULT_ESTIMATE_SECONDS: u64 = 300;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WakeState {
    Asleep,
    Starting,
    Ready,
    Failed,
}

impl WakeState {
    pub fn as_str(self) -> &'static str {
        match self {
            WakeState::Asleep => "asleep",
            WakeState::Starting => "starting",
            WakeState::Ready => "ready",
            WakeState::Failed => "failed",
        }
    }
}

/// One step as the CLI prints it: `started`, `ok`, `skipped` or `failed`,
/// and its last detail.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StepLine {
    pub step: String,
    pub state: String,
    #[serde(default)]
    pub detail: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Progress {
    pub state: WakeState,
    pub started_at: i64,
    pub updated_at: i64,
    pub room: String,
    pub steps: Vec<StepLine>,
    pub error: Option<String>,
    /// How long the last successful start took (the next page's estimate).
    pub last_ready_seconds: Option<u64>,
}

impl Progress {
    pub fn starting(room: &str, now: i64, previous: Option<&Progress>) -> Self {
        Progress {
            state: WakeState::Starting,
            started_at: now,
            updated_at: now,
            room: room.to_string(),
            steps: Vec::new(),
            error: None,
            last_ready_seconds: previous.and_then(|p| p.last_ready_seconds),
        }
    }

    /// Applies a step event; returns whether anything a reader sees changed.
    pub fn apply(&mut self, event: &StepEvent) -> bool {
        // The CLI's detail names the account, subnets and parameters; the
        // page is public, so it shows what the step does instead.
        let detail = describe(&event.step).to_string();
        let line = StepLine {
            step: event.step.clone(),
            state: match event.state {
                "progress" => "started".into(),
                s => s.into(),
            },
            detail,
        };
        // A step name can run again (lock, dns): the newest run is the one shown.
        match self
            .steps
            .iter_mut()
            .rev()
            .find(|s| s.step == line.step && s.state == "started")
        {
            Some(existing) if *existing == line => false,
            Some(existing) => {
                *existing = line;
                true
            }
            None => {
                self.steps.push(line);
                true
            }
        }
    }
}

/// What a step of `up` does, in words for the page.
pub fn describe(step: &str) -> &'static str {
    match step {
        "preflight" => "checking the account and the network",
        "secrets" => "creating the meeting server's passwords",
        "lock" => "making sure only one start runs",
        "control-plane" => "arming the automatic shutdown",
        "elastic-ip" => "reserving a public address",
        "load-balancer" => "creating the load balancer",
        "dns" => "pointing the meeting address at it",
        "task" => "starting the meeting server",
        "targets" => "waiting until it answers",
        _ => "",
    }
}

pub async fn read(ctx: &Context) -> Result<Option<Progress>> {
    let text = ssm::get(&ctx.aws, &Parameters::progress(&ctx.config.project)).await?;
    Ok(text.and_then(|t| serde_json::from_str(&t).ok()))
}

pub async fn write(ctx: &Context, progress: &Progress) -> Result<()> {
    let name = Parameters::progress(&ctx.config.project);
    let value = serde_json::to_string(progress).expect("serializable");
    super::put(ctx, &name, &value).await
}

/// A progress record fed by step events and written to SSM by a task at
/// most every `interval` (SSM's PutParameter allows a few writes a second).
pub struct Recorder {
    shared: Arc<Mutex<(Progress, bool)>>,
}

impl Recorder {
    pub fn new(progress: Progress) -> Self {
        Recorder {
            shared: Arc::new(Mutex::new((progress, false))),
        }
    }

    /// The observer to give `up`'s reporter.
    pub fn observer(&self) -> crate::output::StepObserver {
        let shared = Arc::clone(&self.shared);
        Arc::new(move |event: &StepEvent| {
            let mut guard = shared.lock().expect("progress lock");
            if guard.0.apply(event) {
                guard.0.updated_at = crate::control::record::now_epoch();
                guard.1 = true;
            }
        })
    }

    pub fn snapshot(&self) -> Progress {
        self.shared.lock().expect("progress lock").0.clone()
    }

    pub fn update(&self, f: impl FnOnce(&mut Progress)) {
        let mut guard = self.shared.lock().expect("progress lock");
        f(&mut guard.0);
        guard.0.updated_at = crate::control::record::now_epoch();
        guard.1 = true;
    }

    /// Writes changes until `done` resolves, then once more.
    pub async fn flush_until(
        &self,
        ctx: &Context,
        interval: Duration,
        done: impl std::future::Future<Output = ()>,
    ) {
        tokio::pin!(done);
        loop {
            let finished = tokio::select! {
                _ = &mut done => true,
                _ = tokio::time::sleep(interval) => false,
            };
            let dirty = {
                let mut guard = self.shared.lock().expect("progress lock");
                std::mem::replace(&mut guard.1, false).then(|| guard.0.clone())
            };
            if let Some(progress) = dirty {
                if let Err(e) = write(ctx, &progress).await {
                    tracing::warn!("front door: could not record the progress: {e}");
                }
            }
            if finished {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(step: &str, state: &'static str, detail: &str) -> StepEvent {
        StepEvent {
            step: step.into(),
            state,
            detail: detail.into(),
        }
    }

    #[test]
    fn steps_are_recorded_in_order_with_their_last_state() {
        let mut p = Progress::starting("/r", 0, None);
        assert!(p.apply(&event("preflight", "started", "")));
        assert!(p.apply(&event("preflight", "ok", "account 1")));
        assert!(p.apply(&event("load-balancer", "started", "")));
        // Progress details stay in the CLI's log: the public page shows none.
        assert!(!p.apply(&event("load-balancer", "progress", "provisioning")));
        assert!(p.apply(&event("load-balancer", "ok", "active")));
        assert_eq!(p.steps[0].detail, "checking the account and the network");
        let names: Vec<(&str, &str)> = p
            .steps
            .iter()
            .map(|s| (s.step.as_str(), s.state.as_str()))
            .collect();
        assert_eq!(names, [("preflight", "ok"), ("load-balancer", "ok")]);
    }
}
