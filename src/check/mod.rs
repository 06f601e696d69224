//! `meetctl check`: proves each link a meeting depends on, from the ECS task
//! through the load balancer, the media wiring and DNS to the HTTPS site and
//! its XMPP endpoints. Each check says PASS, WARN, FAIL or SKIP, what it saw,
//! and on a problem the fix. Every network step has a deadline; a check that
//! cannot run is a SKIP with its reason, never a silent pass.

pub mod aws;
pub mod dns;
pub mod http;
pub mod tls;
pub mod turn;
pub mod web;

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use serde::Serialize;

use crate::error::Result;
use crate::Context;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Status {
    Pass,
    Warn,
    Fail,
    Skip,
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Status::Pass => "PASS",
            Status::Warn => "WARN",
            Status::Fail => "FAIL",
            Status::Skip => "SKIP",
        })
    }
}

/// One check's outcome: what it saw and, on WARN or FAIL, how to fix it.
#[derive(Clone, Debug, Serialize)]
pub struct CheckResult {
    pub name: String,
    pub status: Status,
    pub saw: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

impl CheckResult {
    pub fn pass(name: &str, saw: impl Into<String>) -> Self {
        Self::new(name, Status::Pass, saw.into(), None)
    }

    pub fn warn(name: &str, saw: impl Into<String>, fix: impl Into<String>) -> Self {
        Self::new(name, Status::Warn, saw.into(), Some(fix.into()))
    }

    pub fn fail(name: &str, saw: impl Into<String>, fix: impl Into<String>) -> Self {
        Self::new(name, Status::Fail, saw.into(), Some(fix.into()))
    }

    /// A check that could not run; `reason` says why.
    pub fn skip(name: &str, reason: impl Into<String>) -> Self {
        Self::new(name, Status::Skip, reason.into(), None)
    }

    fn new(name: &str, status: Status, saw: String, fix: Option<String>) -> Self {
        CheckResult {
            name: name.to_string(),
            status,
            saw,
            fix,
        }
    }
}

/// Every check of one run.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub domain: String,
    pub checks: Vec<CheckResult>,
}

impl Report {
    pub fn count(&self, status: Status) -> usize {
        self.checks.iter().filter(|c| c.status == status).count()
    }

    /// Any FAIL: `meetctl check` exits 1.
    pub fn failed(&self) -> bool {
        self.count(Status::Fail) > 0
    }

    /// Every check ran and none failed (WARN allowed): what `test-platform` waits for.
    pub fn proven(&self) -> bool {
        self.count(Status::Fail) == 0 && self.count(Status::Skip) == 0
    }

    pub fn summary(&self) -> String {
        [Status::Pass, Status::Warn, Status::Fail, Status::Skip]
            .iter()
            .map(|s| format!("{} {s}", self.count(*s)))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The checks that keep the run from being proven, one line each.
    pub fn open_problems(&self) -> String {
        self.checks
            .iter()
            .filter(|c| matches!(c.status, Status::Fail | Status::Skip))
            .map(|c| format!("{} {}: {}", c.status, c.name, c.saw))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// Runs `step` with a deadline; on expiry the error names the step and the limit.
pub async fn within<T>(
    limit: Duration,
    what: &str,
    step: impl Future<Output = std::result::Result<T, String>>,
) -> std::result::Result<T, String> {
    match tokio::time::timeout(limit, step).await {
        Ok(result) => result,
        Err(_) => Err(format!(
            "{what}: no answer within {}s (check_timeout)",
            limit.as_secs_f64()
        )),
    }
}

/// Runs every check against the configured platform. Errors only on bad
/// configuration (no domain); every other problem is a check result.
pub async fn run(ctx: &Context) -> Result<Report> {
    let domain = ctx.config.require_domain()?.to_string();
    let settings = &ctx.config.check;
    let (mut checks, platform) = Box::pin(aws::run(ctx)).await;

    let resolution = dns::resolve(&domain, settings.resolver, settings.timeout).await;
    checks.push(dns::check(
        &domain,
        &resolution,
        platform.as_ref(),
        ctx.config.hosted_zone_id.as_deref(),
    ));

    let addresses: std::result::Result<(Vec<SocketAddr>, String), String> = match settings.address {
        Some(address) => Ok((vec![address], "check_address".into())),
        None => match &resolution {
            Ok(r) if !r.addresses.is_empty() => Ok((
                r.addresses
                    .iter()
                    .map(|ip| SocketAddr::new(*ip, crate::names::TLS_PORT as u16))
                    .collect(),
                format!("{domain} resolved by {}", r.server),
            )),
            Ok(r) => Err(format!("{domain} has no address (resolver {})", r.server)),
            Err(e) => Err(format!("{domain} does not resolve: {e}")),
        },
    };
    checks.push(Box::pin(turn_check(ctx, &domain, &resolution)).await);
    match addresses {
        Ok((addresses, source)) => checks.extend(
            Box::pin(web::run(&web::Target {
                domain: domain.clone(),
                addresses,
                source,
                ca_file: settings.ca_file.clone(),
                timeout: settings.timeout,
            }))
            .await,
        ),
        Err(why) => checks.extend(web::skipped(&format!(
            "{why}; set check_address to test the site before DNS is in place"
        ))),
    }
    Ok(Report { domain, checks })
}

/// The `turn.allocate` line: a real TURN allocation on the domain's TURN
/// port (or `check_turn_address`) with credentials derived from the secret
/// in SSM. Reading the secret is a read; nothing is written.
async fn turn_check(
    ctx: &Context,
    domain: &str,
    resolution: &std::result::Result<dns::Resolution, String>,
) -> CheckResult {
    let settings = &ctx.config.check;
    let (port, tls) = crate::state::turn_listener(ctx.config.certificate_arn.as_deref());
    let addresses = match settings.turn_address {
        Some(address) => vec![address],
        None => match resolution {
            Ok(r) if !r.addresses.is_empty() => r
                .addresses
                .iter()
                .map(|ip| SocketAddr::new(*ip, port as u16))
                .collect(),
            _ => {
                return CheckResult::skip(
                    turn::CHECK,
                    format!("{domain} has no address; set check_turn_address to test TURN before DNS is in place"),
                )
            }
        },
    };
    let parameter = ctx.names.turn_secret_parameter();
    let secret = match within(
        settings.timeout,
        "reading the TURN secret from SSM",
        async {
            crate::aws::ssm::get_decrypted(&ctx.aws, &parameter)
                .await
                .map_err(|e| e.to_string())
        },
    )
    .await
    {
        Ok(Some(secret)) => secret,
        Ok(None) => {
            return CheckResult::fail(
                turn::CHECK,
                format!("the TURN secret {parameter} does not exist"),
                "run `meetctl up`: its preflight creates the missing secrets",
            )
        }
        Err(e) => return CheckResult::skip(turn::CHECK, format!("cannot read {parameter}: {e}")),
    };
    turn::check(&turn::Target {
        domain: domain.to_string(),
        addresses,
        secret,
        ca_file: settings.ca_file.clone(),
        tls,
        timeout: settings.timeout,
    })
    .await
}

/// The report as text: one line per check, its fix indented below.
pub fn render_text(report: &Report, header: &str) -> String {
    let width = report
        .checks
        .iter()
        .map(|c| c.name.len())
        .max()
        .unwrap_or(0);
    let mut out = format!("{header}\n");
    for c in &report.checks {
        out.push_str(&format!("{}  {:width$}  {}\n", c.status, c.name, c.saw));
        if let Some(fix) = &c.fix {
            out.push_str(&format!("      {:width$}  fix: {fix}\n", ""));
        }
    }
    out.push_str(&format!("summary: {}\n", report.summary()));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(statuses: &[Status]) -> Report {
        Report {
            domain: "meet.example.org".into(),
            checks: statuses
                .iter()
                .enumerate()
                .map(|(i, s)| CheckResult::new(&format!("c{i}"), *s, "seen".into(), None))
                .collect(),
        }
    }

    #[test]
    fn fail_fails_and_skip_is_never_proven() {
        let r = report(&[Status::Pass, Status::Warn]);
        assert!(!r.failed() && r.proven());
        let r = report(&[Status::Pass, Status::Skip]);
        assert!(!r.failed() && !r.proven());
        assert_eq!(r.open_problems(), "SKIP c1: seen");
        let r = report(&[Status::Fail]);
        assert!(r.failed() && !r.proven());
        assert_eq!(r.summary(), "0 PASS, 0 WARN, 1 FAIL, 0 SKIP");
    }

    #[tokio::test]
    async fn a_step_past_its_deadline_says_so() {
        let err = within(Duration::from_millis(20), "reading", async {
            tokio::time::sleep(Duration::from_secs(5)).await;
            Ok::<(), String>(())
        })
        .await
        .unwrap_err();
        assert!(
            err.contains("reading") && err.contains("check_timeout"),
            "{err}"
        );
    }

    #[test]
    fn text_shows_the_fix_under_its_check() {
        let r = Report {
            domain: "d".into(),
            checks: vec![
                CheckResult::pass("ecs.service", "desired 1 = running 1"),
                CheckResult::fail("dns", "elsewhere", "point it at the NLB"),
            ],
        };
        let text = render_text(&r, "head");
        assert!(text.contains("PASS  ecs.service  desired 1"), "{text}");
        assert!(text.contains("FAIL  dns          elsewhere\n"), "{text}");
        assert!(text.contains("fix: point it at the NLB"), "{text}");
    }
}
