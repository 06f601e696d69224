//! `meetctl check`: every link a meeting depends on, PASS / WARN / FAIL /
//! SKIP with what was seen and the fix. Read-only; exits 1 on any FAIL.

use serde::Serialize;

use crate::check::{self, CheckResult, Report, Status};
use crate::error::{exit, Result};
use crate::Context;

#[derive(Serialize)]
struct Json<'a> {
    project: &'a str,
    region: &'a str,
    domain: &'a str,
    /// "pass" when nothing FAILs.
    result: &'static str,
    summary: String,
    checks: &'a [CheckResult],
}

pub fn header(ctx: &Context, report: &Report) -> String {
    format!(
        "meetctl check: https://{}/ (project {}, {})",
        report.domain, ctx.config.project, ctx.config.region
    )
}

pub async fn run(ctx: &Context, json: bool) -> Result<u8> {
    // Nothing here may change the platform: the SDK interceptor refuses writes.
    ctx.aws.ledger.set_read_only(true);
    let step = ctx.out.step("check");
    let report = check::run(ctx).await?;
    let summary = report.summary();
    if report.failed() {
        step.failed(&summary);
    } else {
        step.done(&summary);
    }
    if json {
        let doc = Json {
            project: &ctx.config.project,
            region: &ctx.config.region,
            domain: &report.domain,
            result: if report.failed() { "fail" } else { "pass" },
            summary,
            checks: &report.checks,
        };
        println!(
            "{}",
            serde_json::to_string_pretty(&doc).expect("check report serialises")
        );
    } else {
        print!("{}", check::render_text(&report, &header(ctx, &report)));
        if report.count(Status::Skip) > 0 && !report.failed() {
            println!("note: SKIPped checks did not run (reason shown); they prove nothing");
        }
    }
    Ok(if report.failed() {
        exit::FAILED
    } else {
        exit::OK
    })
}
