//! `meetctl test-platform`: the whole lifecycle as one command — preflight,
//! `up`, `check` until every check passes, `down`, and proof that nothing
//! billable remains. A failure, SIGINT or SIGTERM still leads to `down`
//! (unless `--keep`). Writes report.md and report.json: phase durations,
//! every check's result, the cost of the run.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Instant;

use serde::Serialize;
use time::OffsetDateTime;
use tokio::signal::unix::{signal, Signal, SignalKind};

use crate::check::{self, CheckResult, Report};
use crate::commands::{down, up};
use crate::cost::{self, PriceUnknown, RateLine};
use crate::error::{exit, Error, Result};
use crate::output::human_duration;
use crate::preflight::{self, Base};
use crate::wait::{poll_until, Probe};
use crate::{lifecycle, lock, state, Context};

#[derive(clap::Args, Debug)]
pub struct TestPlatformArgs {
    /// Leave the platform up at the end and after a failure (no `down`)
    #[arg(long)]
    pub keep: bool,
    /// Where to write report.md and report.json [default: ./meetctl-report-<UTC time>]
    #[arg(long, value_name = "DIR")]
    pub report_dir: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Ok,
    Failed,
    Interrupted,
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Outcome::Ok => "ok",
            Outcome::Failed => "failed",
            Outcome::Interrupted => "interrupted",
        })
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct Phase {
    pub name: &'static str,
    pub seconds: f64,
    pub outcome: Outcome,
    pub detail: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct CostOfRun {
    pub usd_per_hour: f64,
    /// From the start of `up` to the end of `down` (or of the run, with --keep).
    pub billable_seconds: f64,
    pub usd: f64,
    pub lines: Vec<RateLine>,
}

#[derive(Clone, Debug, Serialize)]
pub struct RunReport {
    pub project: String,
    pub region: String,
    pub domain: String,
    pub started_at: String,
    pub seconds: f64,
    /// "pass", "fail" or "interrupted".
    pub result: &'static str,
    pub failure: Option<String>,
    pub kept: bool,
    pub phases: Vec<Phase>,
    pub check_attempts: u32,
    /// The last check run's results.
    pub checks: Vec<CheckResult>,
    pub cost: Option<CostOfRun>,
    /// Set when the run created billable pieces in a region without prices.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub price_unknown: Option<PriceUnknown>,
    /// What billable remained after `down` (empty: proven clean; null: not verified).
    pub leftovers: Option<Vec<String>>,
    pub aws_api_calls: u64,
}

/// SIGINT and SIGTERM, as a future to race the phases against.
struct Interrupt {
    int: Signal,
    term: Signal,
}

impl Interrupt {
    fn install() -> Result<Interrupt> {
        let listen = |kind: SignalKind| {
            signal(kind).map_err(|e| Error::Unexpected {
                what: "signal handling".into(),
                problem: e.to_string(),
                fix: "run test-platform on a Unix system".into(),
            })
        };
        Ok(Interrupt {
            int: listen(SignalKind::interrupt())?,
            term: listen(SignalKind::terminate())?,
        })
    }

    async fn recv(&mut self) -> &'static str {
        tokio::select! {
            _ = self.int.recv() => "SIGINT",
            _ = self.term.recv() => "SIGTERM",
        }
    }
}

#[derive(Default)]
struct Run {
    phases: Vec<Phase>,
    failure: Option<(String, u8)>,
    interrupted: Option<&'static str>,
}

impl Run {
    fn record(&mut self, name: &'static str, started: Instant, outcome: Outcome, detail: String) {
        self.phases.push(Phase {
            name,
            seconds: started.elapsed().as_secs_f64(),
            outcome,
            detail,
        });
    }

    fn fail(&mut self, name: &'static str, started: Instant, problem: String, code: u8) {
        self.record(name, started, Outcome::Failed, problem.clone());
        self.failure
            .get_or_insert((format!("{name}: {problem}"), code));
    }

    /// Runs a phase that a signal cancels (nothing after it runs but teardown).
    /// Callers box `work`: `up`, `check` and `down` inline make one future
    /// too large for the main thread's stack in debug builds.
    async fn phase<T>(
        &mut self,
        ctx: &Context,
        interrupt: &mut Interrupt,
        name: &'static str,
        work: impl Future<Output = Result<T>>,
    ) -> Option<T> {
        ctx.out.line(&format!("== test-platform: {name} =="));
        let started = Instant::now();
        let ended = tokio::select! {
            r = work => Ok(r),
            s = interrupt.recv() => Err(s),
        };
        match ended {
            Ok(Ok(value)) => {
                self.record(name, started, Outcome::Ok, String::new());
                Some(value)
            }
            Ok(Err(e)) => {
                self.fail(name, started, e.to_string(), e.exit_code());
                None
            }
            Err(signal) => {
                ctx.out.line(&format!(
                    "test-platform: {signal} during {name}; tearing down"
                ));
                self.record(
                    name,
                    started,
                    Outcome::Interrupted,
                    format!("{signal} received"),
                );
                self.interrupted = Some(signal);
                None
            }
        }
    }

    /// Runs a teardown phase to its end; signals are noted, not obeyed.
    async fn finish<T>(
        &mut self,
        ctx: &Context,
        interrupt: &mut Interrupt,
        name: &'static str,
        work: impl Future<Output = Result<T>>,
    ) -> (Instant, Result<T>) {
        ctx.out.line(&format!("== test-platform: {name} =="));
        let started = Instant::now();
        tokio::pin!(work);
        loop {
            tokio::select! {
                r = &mut work => return (started, r),
                s = interrupt.recv() => {
                    ctx.out.line(&format!("test-platform: {s} ignored: finishing {name} so that nothing billable is left"));
                    self.interrupted.get_or_insert(s);
                }
            }
        }
    }
}

fn default_report_dir(at: OffsetDateTime) -> PathBuf {
    let stamp = at
        .format(time::macros::format_description!(
            "[year][month][day]T[hour][minute][second]Z"
        ))
        .unwrap_or_else(|_| at.unix_timestamp().to_string());
    PathBuf::from(format!("meetctl-report-{stamp}"))
}

/// Preflight plus: the platform must be idle, since the run ends with `down`.
async fn preflight_idle(ctx: &Context, domain: &str, keep: bool) -> Result<Base> {
    let base = preflight::run(ctx, domain).await?;
    let observed = state::observe(ctx).await?;
    if !observed.is_idle() && !keep {
        let verdict = observed
            .assess(
                ctx.config.certificate_arn.as_deref(),
                ctx.config.hosted_zone_id.is_some(),
            )
            .verdict;
        return Err(Error::preflight(
            "platform",
            format!("the platform is {verdict}, not IDLE: the run ends with `meetctl down`, which would end any meeting on it"),
            "run test-platform while `meetctl status` says IDLE (after `meetctl down` if a crashed run left pieces), or pass --keep",
        ));
    }
    Ok(base)
}

/// Runs `check` until every check passes (no FAIL, no SKIP) or check_retry_timeout.
async fn check_until_proven(
    ctx: &Context,
    last: &Mutex<Option<Report>>,
    attempts: &Mutex<u32>,
) -> Result<String> {
    ctx.aws.ledger.set_read_only(true);
    let step = ctx.out.step("check");
    let spec = ctx
        .wait_spec("every check to pass", ctx.config.check.retry_timeout)
        .with_fix("the report lists each failing check with its fix; raise check_retry_timeout if the platform is only slow to become healthy");
    let result = poll_until(
        &spec,
        |seen, _| step.progress(seen),
        || async {
            let report = Box::pin(check::run(ctx)).await?;
            *attempts.lock().expect("attempts") += 1;
            let outcome = if report.proven() {
                Probe::Ready(report.summary())
            } else {
                Probe::Pending(report.open_problems())
            };
            *last.lock().expect("last report") = Some(report);
            Ok(outcome)
        },
    )
    .await;
    ctx.aws.ledger.set_read_only(false);
    match &result {
        Ok(summary) => step.done(summary),
        Err(_) => step.failed("not every check passed"),
    }
    result
}

/// What billable is left once `down` has run, and a service that still runs.
async fn leftovers(ctx: &Context) -> Result<Vec<String>> {
    let mut left = lifecycle::billable_leftovers(ctx).await?;
    let observed = state::observe(ctx).await?;
    if observed.desired() != 0 || !observed.tasks.is_empty() {
        left.push(format!(
            "service {} at desired {} with {} task(s)",
            ctx.config.service,
            observed.desired(),
            observed.tasks.len()
        ));
    }
    Ok(left)
}

pub async fn run(ctx: &Context, args: &TestPlatformArgs) -> Result<u8> {
    let started_at = OffsetDateTime::now_utc();
    let started = Instant::now();
    let domain = ctx.config.require_domain()?.to_string();
    let dir = args
        .report_dir
        .clone()
        .unwrap_or_else(|| default_report_dir(started_at));
    std::fs::create_dir_all(&dir).map_err(|e| {
        Error::config(
            "--report-dir",
            format!("cannot create {}: {e}", dir.display()),
            "pass a writable directory",
        )
    })?;
    let mut interrupt = Interrupt::install()?;
    let mut run = Run::default();
    let last = Mutex::new(None);
    let attempts = Mutex::new(0u32);

    let base = run
        .phase(
            ctx,
            &mut interrupt,
            "preflight",
            Box::pin(preflight_idle(ctx, &domain, args.keep)),
        )
        .await;
    let mut billable_since = None;
    if base.is_some() {
        billable_since = Some(Instant::now());
        let upped = run
            .phase(
                ctx,
                &mut interrupt,
                "up",
                Box::pin(up::run(
                    ctx,
                    &up::UpOptions {
                        dry_run: false,
                        for_seconds: None,
                    },
                )),
            )
            .await;
        if upped.is_some() {
            run.phases.last_mut().expect("up phase").detail =
                format!("{} up", up::site_url(ctx, &domain));
            let checked = run
                .phase(
                    ctx,
                    &mut interrupt,
                    "check",
                    Box::pin(check_until_proven(ctx, &last, &attempts)),
                )
                .await;
            if let Some(summary) = checked {
                run.phases.last_mut().expect("check phase").detail = summary;
            }
        }
    }

    let mut left = None;
    let mut billable_until = None;
    if billable_since.is_some() && !args.keep {
        // An `up` cancelled by a signal never released its lock.
        if run.interrupted.is_some() {
            let _ = lock::release_if_held_by_this_process(&ctx.aws, &ctx.names).await;
        }
        let (at, downed) = run
            .finish(
                ctx,
                &mut interrupt,
                "down",
                Box::pin(down::run(ctx, &down::DownOptions::cli(false))),
            )
            .await;
        billable_until = Some(Instant::now());
        match downed {
            Ok(()) => run.record(
                "down",
                at,
                Outcome::Ok,
                "every billable piece removed".into(),
            ),
            Err(e) => run.fail("down", at, e.to_string(), e.exit_code()),
        }
        let (at, found) = run
            .finish(ctx, &mut interrupt, "verify", Box::pin(leftovers(ctx)))
            .await;
        match &found {
            Ok(found) if found.is_empty() => run.record(
                "verify",
                at,
                Outcome::Ok,
                "nothing billable tagged for the project remains".into(),
            ),
            Ok(found) => run.fail(
                "verify",
                at,
                format!("still billable: {}", found.join(", ")),
                exit::FAILED,
            ),
            Err(e) => run.fail("verify", at, e.to_string(), e.exit_code()),
        }
        left = found.ok();
    }

    let (cost, price_unknown) = match (&base, billable_since) {
        (Some(base), Some(since)) => {
            let until = billable_until.unwrap_or_else(Instant::now);
            let seconds = until.duration_since(since).as_secs_f64();
            match cost::running_rate(&ctx.config, &base.task_size) {
                Ok(lines) => {
                    let rate = cost::total(&lines);
                    let cost = CostOfRun {
                        usd_per_hour: rate,
                        billable_seconds: seconds,
                        usd: rate * seconds / 3600.0,
                        lines,
                    };
                    (Some(cost), None)
                }
                Err(unknown) => (None, Some(unknown)),
            }
        }
        _ => (None, None),
    };
    let result = if run.interrupted.is_some() {
        "interrupted"
    } else if run.failure.is_some() {
        "fail"
    } else {
        "pass"
    };
    let report = RunReport {
        project: ctx.config.project.clone(),
        region: ctx.config.region.clone(),
        domain,
        started_at: started_at
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default(),
        seconds: started.elapsed().as_secs_f64(),
        result,
        failure: run
            .failure
            .as_ref()
            .map(|(f, _)| f.clone())
            .or_else(|| run.interrupted.map(|s| format!("{s} received"))),
        kept: args.keep && billable_since.is_some(),
        phases: run.phases.clone(),
        check_attempts: *attempts.lock().expect("attempts"),
        checks: last
            .lock()
            .expect("last report")
            .take()
            .map(|r| r.checks)
            .unwrap_or_default(),
        cost,
        price_unknown,
        leftovers: left,
        aws_api_calls: ctx.aws.ledger.total_calls(),
    };
    write_report(&dir, &report)?;
    println!(
        "meetctl test-platform: {} in {}; report: {}",
        result.to_uppercase(),
        human_duration(started.elapsed()),
        dir.join("report.md").display()
    );
    if let Some(failure) = &report.failure {
        println!("  {failure}");
    }
    Ok(match (&run.failure, run.interrupted) {
        (None, None) => exit::OK,
        (Some((_, code)), None) => *code,
        (_, Some(_)) => exit::FAILED,
    })
}

fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

pub fn render_markdown(r: &RunReport) -> String {
    let mut md = format!(
        "# meetctl test-platform: {}\n\n- project `{}`, region `{}`, domain `{}`\n- started {}, took {}\n",
        r.result.to_uppercase(),
        r.project,
        r.region,
        r.domain,
        r.started_at,
        human_duration(std::time::Duration::from_secs_f64(r.seconds))
    );
    if let Some(f) = &r.failure {
        md.push_str(&format!("- failure: {}\n", cell(f)));
    }
    match (&r.leftovers, r.kept) {
        (_, true) => md.push_str("- teardown: skipped (--keep): the platform is still up\n"),
        (Some(l), _) if l.is_empty() => {
            md.push_str("- teardown: `down` ran; nothing billable tagged for the project remains\n")
        }
        (Some(l), _) => md.push_str(&format!("- teardown: STILL BILLABLE: {}\n", l.join(", "))),
        (None, _) => md.push_str("- teardown: not needed (nothing was created)\n"),
    }
    match (&r.cost, &r.price_unknown) {
        (Some(c), _) => md.push_str(&format!(
            "- cost of the run: ${:.4} (${:.4}/hour × {} up; AWS bills the load balancer per started hour and Fargate for one minute at least, so a short run's bill is a little higher)\n",
            c.usd,
            c.usd_per_hour,
            human_duration(std::time::Duration::from_secs_f64(c.billable_seconds))
        )),
        (None, Some(unknown)) => md.push_str(&format!("- cost of the run: {}\n", cell(&unknown.to_string()))),
        (None, None) => md.push_str("- cost of the run: $0 (nothing billable was created)\n"),
    }
    md.push_str("\n## Phases\n\n| phase | seconds | outcome | detail |\n|---|---:|---|---|\n");
    for p in &r.phases {
        md.push_str(&format!(
            "| {} | {:.1} | {} | {} |\n",
            p.name,
            p.seconds,
            p.outcome,
            cell(&p.detail)
        ));
    }
    md.push_str(&format!(
        "\n## Checks\n\nThe last of {} attempt(s).\n\n| status | check | saw | fix |\n|---|---|---|---|\n",
        r.check_attempts
    ));
    for c in &r.checks {
        md.push_str(&format!(
            "| {} | {} | {} | {} |\n",
            c.status,
            c.name,
            cell(&c.saw),
            cell(c.fix.as_deref().unwrap_or(""))
        ));
    }
    if let Some(c) = &r.cost {
        md.push_str("\n## Cost per hour while up\n\n| item | USD/hour |\n|---|---:|\n");
        for l in &c.lines {
            md.push_str(&format!("| {} | {:.4} |\n", cell(&l.item), l.usd_per_hour));
        }
    }
    md.push_str(&format!("\nAWS API calls: {}\n", r.aws_api_calls));
    md
}

fn write_report(dir: &Path, report: &RunReport) -> Result<()> {
    let write = |name: &str, text: String| {
        std::fs::write(dir.join(name), text).map_err(|e| Error::Unexpected {
            what: format!("report {}", dir.join(name).display()),
            problem: e.to_string(),
            fix: "pass a writable --report-dir".into(),
        })
    };
    write(
        "report.json",
        serde_json::to_string_pretty(report).expect("report serialises"),
    )?;
    write("report.md", render_markdown(report))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_in_a_region_without_prices_reports_price_unknown_not_zero() {
        let report = RunReport {
            project: "demo".into(),
            region: "eu-west-3".into(),
            domain: "meet.example.org".into(),
            started_at: "2026-12-06T12:00:00Z".into(),
            seconds: 90.0,
            result: "pass",
            failure: None,
            kept: false,
            phases: Vec::new(),
            check_attempts: 1,
            checks: Vec::new(),
            cost: None,
            price_unknown: Some(PriceUnknown {
                problem: "no prices for eu-west-3".into(),
                fix: "add [regions.eu-west-3] to a prices_file".into(),
            }),
            leftovers: Some(Vec::new()),
            aws_api_calls: 0,
        };
        let md = render_markdown(&report);
        assert!(
            md.contains("- cost of the run: price unknown (no prices for eu-west-3); fix: add [regions.eu-west-3] to a prices_file"),
            "{md}"
        );
        assert!(!md.contains("nothing billable was created"), "{md}");
    }
}
