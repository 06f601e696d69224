//! One file per command; helpers they share live here.

pub mod check;
pub mod config_import;
pub mod config_show;
pub mod cost;
pub mod down;
pub mod history;
pub mod iam_policy;
pub mod register_targets;
pub mod status;
pub mod test_platform;
pub mod up;
pub mod users;

use std::future::Future;

use crate::error::Result;
use crate::lock;
use crate::Context;

/// Runs `work` holding the lifecycle lock, releasing it whatever happens.
pub async fn with_lock<T>(
    ctx: &Context,
    command: &str,
    work: impl Future<Output = Result<T>>,
) -> Result<T> {
    let step = ctx.out.step("lock");
    let held = match lock::acquire(&ctx.aws, &ctx.names, command, ctx.config.lock_ttl).await {
        Ok(held) => held,
        Err(e) => {
            step.failed("not taken");
            return Err(e);
        }
    };
    step.done(&format!(
        "{} held by {}",
        ctx.names.lock_parameter(),
        held.owner()
    ));
    let result = work.await;
    if let Err(e) = held.release(&ctx.aws).await {
        ctx.out.line(&format!(
            "warning: could not release the lock ({e}); it expires by itself after lock_ttl"
        ));
    }
    result
}

/// After a failure half-way: what this run created that still exists, and
/// how to converge from here.
pub fn print_failure_state(ctx: &Context, command: &str) {
    let created = ctx.created();
    if created.is_empty() {
        eprintln!("meetctl {command} failed before creating anything.");
    } else {
        eprintln!("meetctl {command} failed; this run created and left in place:");
        for item in created {
            eprintln!("  - {item}");
        }
    }
    eprintln!("To converge: fix the cause above and re-run `meetctl {command}`, or run `meetctl down` to remove every billable piece. `meetctl status` shows what exists.");
}

pub fn print_timings(ctx: &Context) {
    let timings: Vec<String> = ctx
        .out
        .timings()
        .iter()
        .map(|t| format!("{} {:.1}s", t.step, t.seconds))
        .collect();
    println!("  timings        {}", timings.join(" · "));
    println!("  AWS API calls  {}", ctx.aws.ledger.total_calls());
}

/// Ends a progress step with the result: its detail on success, the error
/// on failure; the result is passed on.
pub fn finish_step<T>(
    step: crate::output::Step,
    result: Result<T>,
    detail: impl FnOnce(&T) -> String,
) -> Result<T> {
    match &result {
        Ok(v) => step.done(&detail(v)),
        Err(e) => step.failed(&e.to_string()),
    }
    result
}
