//! The start itself: `up` with its steps recorded for the page.
//!
//! [`claim`] makes one POST the starter: it creates the claim parameter with
//! overwrite=false, so of two concurrent clicks exactly one starts `up`; the
//! other sees the progress. [`run`] then runs the very `up` of the CLI
//! (preflight, budget, lifecycle lock, ...) with a reporter that records
//! every step, and releases the claim when it ends.

use std::time::Duration;

use super::progress::{self, Progress, Recorder, WakeState};
use super::Parameters;
use crate::aws::ssm;
use crate::commands::up::{self, UpOptions};
use crate::error::{Error, Result};
use crate::{output, Context};

/// Takes the claim and records "starting"; false when another start holds
/// it (a claim older than the lock's TTL is a dead start's and is taken over).
pub async fn claim(ctx: &Context, room: &str) -> Result<bool> {
    let name = Parameters::claim(&ctx.config.project);
    let now = crate::control::record::now_epoch();
    let value = now.to_string();
    let kind = aws_sdk_ssm::types::ParameterType::String;
    if !ssm::create(&ctx.aws, &ctx.names, &name, &value, kind.clone()).await? {
        let since = ssm::get(&ctx.aws, &name)
            .await?
            .and_then(|v| v.parse::<i64>().ok())
            .unwrap_or(now);
        if now - since <= ctx.config.lock_ttl.as_secs() as i64 {
            return Ok(false);
        }
        ssm::delete(&ctx.aws, &name).await?;
        if !ssm::create(&ctx.aws, &ctx.names, &name, &value, kind).await? {
            return Ok(false);
        }
    }
    let previous = progress::read(ctx).await?;
    progress::write(ctx, &Progress::starting(room, now, previous.as_ref())).await?;
    Ok(true)
}

async fn release(ctx: &Context) {
    if let Err(e) = ssm::delete(&ctx.aws, &Parameters::claim(&ctx.config.project)).await {
        tracing::warn!("front door: could not release the claim ({e}); it expires after lock_ttl");
    }
}

/// Records a failed start and releases the claim.
pub async fn fail(ctx: &Context, error: &str) -> Result<()> {
    let now = crate::control::record::now_epoch();
    let mut p = progress::read(ctx)
        .await?
        .unwrap_or_else(|| Progress::starting("/", now, None));
    p.state = WakeState::Failed;
    p.error = Some(error.to_string());
    p.updated_at = now;
    progress::write(ctx, &p).await?;
    release(ctx).await;
    Ok(())
}

/// Runs `up` for a claimed start, recording its steps (the function's
/// "wake" invocation in AWS; a task of the local server on loopback).
pub async fn run(base: &Context, room: &str) -> Result<()> {
    let now = crate::control::record::now_epoch();
    let previous = progress::read(base).await?;
    let start = match previous {
        Some(p) if p.state == WakeState::Starting => p,
        other => Progress::starting(room, now, other.as_ref()),
    };
    let started_at = start.started_at;
    let recorder = Recorder::new(start);
    let ctx = Context::new(
        base.config.clone(),
        base.aws.clone(),
        output::Reporter::observed(recorder.observer()),
    );
    let (done_tx, done_rx) = tokio::sync::oneshot::channel::<()>();
    let flush = recorder.flush_until(&ctx, Duration::from_millis(250), async {
        let _ = done_rx.await;
    });
    let work = async {
        let options = UpOptions {
            dry_run: false,
            for_seconds: None,
        };
        let outcome = Box::pin(up::run(&ctx, &options)).await;
        let _ = done_tx.send(());
        outcome
    };
    let (outcome, ()) = tokio::join!(work, flush);
    let finished = crate::control::record::now_epoch();
    recorder.update(|p| match &outcome {
        Ok(()) => {
            p.state = WakeState::Ready;
            p.last_ready_seconds = Some((finished - started_at).max(1) as u64);
        }
        Err(e) => {
            p.state = WakeState::Failed;
            p.error = Some(reason(e));
        }
    });
    progress::write(&ctx, &recorder.snapshot()).await?;
    release(&ctx).await;
    outcome
}

/// The first line of an error, and its fix when it names one: what the
/// page shows (a budget refusal says which budget and why).
fn reason(e: &Error) -> String {
    let text = e.to_string();
    let mut lines = text.lines().map(str::trim);
    let first = lines.next().unwrap_or_default().to_string();
    match lines.find(|l| l.starts_with("fix:")) {
        Some(fix) => format!("{first} ({fix})"),
        None => first,
    }
}
